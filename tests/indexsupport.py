"""The admin (index) app over a fresh index database, driven through StubTreq (no sockets).

Provisioning runs with fakes: the generator, the router's pid (signals recorded),
HTTP (a router that answers, peers) and the clock (``MemoryReactorClock``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jinja2
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock

from showcase.event.db import EventDB, insert_row
from showcase.event.web import mount
from showcase.index.access import hash_password
from showcase.index.app import IndexContext, build_app
from showcase.index.db import open_index
from showcase.index.provision import Provisioner, Settings
from tests.eventsupport import StubClient, location

PREFIX = "/showcase"
ROUTER_PID = 4242
TODAY = "2025-03-01"
PASSWORD = "correct horse"


class _SharedBytecode(jinja2.BytecodeCache):
    """Compiled templates shared by every client of a test session (each client has its
    own Jinja environment; compiling every template again would cost ~0.25 s a test)."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


SHARED_BYTECODE = _SharedBytecode()


def seed(db: EventDB) -> dict[str, int]:
    """Two regions, two locations, three users; their ids by name."""
    ids: dict[str, int] = {}
    with db.transaction():
        conn = db.conn
        ids["iad"] = insert_row(conn, "regions", code="iad", type="fly", location="Ashburn")
        ids["ord"] = insert_row(conn, "regions", code="ord", type="fly", location="Chicago")
        ids["boston"] = insert_row(conn, "locations", name="Boston", key="boston", region="iad")
        ids["raleigh"] = insert_row(conn, "locations", name="Raleigh", key="raleigh", region="ord")
        hashed = hash_password(PASSWORD, rounds=4)
        for login, sites in (("admin", "index"), ("bostonian", "Boston"), ("nobody", "")):
            ids[login] = insert_row(conn, "users", userid=login, password=hashed, sites=sites)
    return ids


def fast_directory() -> Iterator[Path]:
    """A temporary directory in memory (/dev/shm) when there is one: every save fsyncs
    (synchronous=FULL), which on a busy disk costs more than the rest of a test."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    path = tempfile.mkdtemp(prefix="index-test-", dir=base)
    try:
        yield Path(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)


class FakeHttp:
    """The router (status of a URL) and the peers (POSTs), as fakes that record calls."""

    def __init__(self) -> None:
        self.statuses: list[int] = []  # answers to status() in turn; then 200
        self.checked: list[str] = []
        self.posts: list[tuple[str, bytes, dict[bytes, list[bytes]]]] = []
        self.peer: Callable[[str, bytes, dict[bytes, list[bytes]]], Deferred[Any]] | None = None

    def status(self, url: str) -> Deferred[int]:
        self.checked.append(url)
        return succeed(self.statuses.pop(0) if self.statuses else 200)

    def post(self, url: str, body: bytes, headers: dict[bytes, list[bytes]]) -> Deferred[Any]:
        self.posts.append((url, body, headers))
        if self.peer is None:
            return fail(ConnectionRefusedError("no peer"))
        return self.peer(url, body, headers)


class IndexClient(StubClient):
    """An IndexContext with fakes and a StubTreq over its app."""

    def __init__(
        self,
        tmp_path: Path,
        *,
        region: str | None = "iad",
        peers: tuple[str, ...] = (),
        token: str | None = None,
        router_pid: int | None = ROUTER_PID,
        name: str = "index",
        generate: Callable[[], object] | None = None,
    ) -> None:
        self.dir = tmp_path / name
        (self.dir / "db").mkdir(parents=True)
        self.db = open_index(str(self.dir / "db" / "index.sqlite3"))
        self.ids = seed(self.db)
        self.clock = Clock()
        self.generated: list[str] = []
        self.signals: list[tuple[int, int]] = []
        self.published: list[tuple[str, Any]] = []
        self.steps: list[str] = []  # generate / kill / publish, in the order they happened
        self.http = FakeHttp()
        self.settings = Settings(
            db_dir=str(self.dir / "db"),
            region=region,
            root_path=PREFIX,
            router_pid=router_pid,
            router_url="http://router.test",
            peers=peers,
            token=token,
        )
        self.provisioner = Provisioner(
            self.clock,
            self.settings,
            self.db,
            generate or self._generate,
            self._publish,
            self.http,
            kill=self._kill,
        )
        from datetime import date

        self.ctx = IndexContext(
            self.db,
            PREFIX,
            self.provisioner,
            self._publish,
            today=lambda: date.fromisoformat(TODAY),
            bcrypt_rounds=4,
        )
        self.ctx.env.bytecode_cache = SHARED_BYTECODE
        super().__init__(mount(build_app(self.ctx), PREFIX), "http://index.test" + PREFIX)

    def _generate(self) -> None:
        self.steps.append("generate")
        self.generated.append(str(len(self.db.query("SELECT id FROM showcases"))))

    def _kill(self, pid: int, signum: int) -> None:
        self.steps.append("kill")
        self.signals.append((pid, signum))

    def _publish(self, stream: str, data: object) -> None:
        self.steps.append("publish")
        self.published.append((stream, data))

    # -- requests ----------------------------------------------------------------------------

    @staticmethod
    def _headers(user: str | None) -> dict[bytes, list[bytes]]:
        return {b"x-remote-user": [user.encode()]} if user else {}

    def get(self, path: str, user: str | None = None) -> tuple[int, str, str]:
        """GET ``path`` as ``user``; status, body and Location."""
        response = self._wait(
            self.treq.get(self.url(path), headers=self._headers(user), allow_redirects=False)
        )
        body = self._wait(response.content())
        return response.code, body.decode("utf-8"), location(response)

    def post_form(
        self, path: str, data: dict[str, str], user: str | None = None, csrf: bool = True
    ) -> tuple[int, str, str]:
        """POST a form as ``user`` (with the CSRF cookie and token); status, body, Location."""
        return self._post_form(path, data, csrf, self._headers(user))

    # -- what happened -------------------------------------------------------------------------

    def messages(self, user: str) -> list[dict[str, Any]]:
        """What was published on ``user``'s progress stream."""
        stream = f"config_update_index_{self.ids[user]}"
        return [data for s, data in self.published if s == stream]

    def count(self, table: str) -> int:
        return int(self.db.value(f"SELECT count(*) FROM {table}"))
