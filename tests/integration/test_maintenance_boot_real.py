"""The maintenance boot with the real router: ``twistd showcase`` on the generated
maintenance config answers tenant paths with the 503 page while its ``server.ready`` hook
runs ``showcase config generate``, then switches (same process) to the full config.

To hold the router in maintenance for as long as the test looks, the test keeps an
exclusive lock on the index database: the hook's read waits for it (the generator's busy
timeout), and goes on the moment the test commits.
"""

from __future__ import annotations

import base64
import re
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import bcrypt
import pytest

from showcase import cli
from showcase.index.gen_text import PACKAGED_MAINTENANCE_PAGE

from .routerproc import Router, alive, kill_leftovers, wait_for

pytestmark = pytest.mark.integration

SCHEMA = Path(cli.__file__).parent / "index" / "schema.sql"
NOW = "2025-01-01 00:00:00"
EVENT = "/showcase/2025/boston/"
PASSWORD = b"judge-pw"
AUTH = {"Authorization": "Basic " + base64.b64encode(b"judge:" + PASSWORD).decode()}
STARTED = re.compile(r"\bpid (\d+)")  # tenants, the spawner, redis-server


def build_site(tmp: Path, *, broken: bool = False) -> None:
    """db/index.sqlite3 (one location, one single ``showcase`` event, one user), the event's
    database made by ``showcase event new``, public/ with the 503 page.  ``broken``: the
    index has no ``showcases`` table."""
    (tmp / "db").mkdir()
    conn = sqlite3.connect(tmp / "db" / "index.sqlite3")
    conn.executescript(SCHEMA.read_text())
    conn.execute(
        "INSERT INTO locations (id, key, name, created_at, updated_at)"
        " VALUES (1, 'boston', 'Boston', ?, ?)",
        (NOW, NOW),
    )
    conn.execute(
        "INSERT INTO showcases (year, key, name, date, location_id, created_at, updated_at)"
        " VALUES (2025, 'showcase', 'Boston Showcase', '2025-04-12', 1, ?, ?)",
        (NOW, NOW),
    )
    hashed = bcrypt.hashpw(PASSWORD, bcrypt.gensalt(4)).decode()
    conn.execute(
        "INSERT INTO users (userid, password, sites, created_at, updated_at)"
        " VALUES ('judge', ?, 'index', ?, ?)",
        (hashed, NOW, NOW),
    )
    if broken:
        conn.execute("DROP TABLE showcases")
    conn.commit()
    conn.close()
    assert cli.main(["event", "new", "2025-boston", "--db-dir", str(tmp / "db")]) == 0
    (tmp / "public").mkdir()
    shutil.copy(PACKAGED_MAINTENANCE_PAGE, tmp / "public" / "503.html")


def maintenance_config(tmp: Path) -> str:
    """``<tmp>/config/maintenance.yml`` as ``showcase config generate --maintenance-only``
    writes it (every event served here: no region)."""
    args = ["config", "generate", "--maintenance-only", "--region", ""]
    args += ["--db-dir", str(tmp / "db"), "--out", str(tmp / "config")]
    args += ["--public-dir", str(tmp / "public"), "--listen", "tcp:0:interface=127.0.0.1"]
    assert cli.main(args) == 0
    return (tmp / "config" / "maintenance.yml").read_text()


class Boots:
    """The routers a test started; each stopped, and every child it logged gone, after."""

    def __init__(self) -> None:
        self.routers: list[Router] = []

    def start(self, tmp: Path) -> Router:
        run = tmp / "run"
        run.mkdir()
        router = Router(run, maintenance_config(tmp))
        self.routers.append(router)
        return router


@pytest.fixture
def boots() -> Iterator[Boots]:
    found = Boots()
    yield found
    pids: list[int] = []
    for router in found.routers:
        router.stop()
        pids += [int(pid) for pid in STARTED.findall(router.log())]
    try:
        wait_for(lambda: not any(alive(pid) for pid in pids), 15, "every child to end")
    finally:
        kill_leftovers(pids)


def test_boot_shows_the_503_page_then_switches_to_the_full_config(
    tmp_path: Path, boots: Boots
) -> None:
    """While the ready hook generates, an event path answers the maintenance page (503, never
    a 502 or 404); then the same router process runs the full config and the event answers."""
    build_site(tmp_path)
    page = Path(PACKAGED_MAINTENANCE_PAGE).read_bytes()
    gate = sqlite3.connect(tmp_path / "db" / "index.sqlite3", isolation_level=None)
    gate.execute("BEGIN EXCLUSIVE")
    try:
        router = boots.start(tmp_path)
        status, headers, body = router.get(EVENT, headers=AUTH)
        assert (status, body) == (503, page)
        assert "no-cache" in headers["cache-control"]
        assert router.get("/up")[0] == 200
    finally:
        gate.execute("COMMIT")
        gate.close()

    statuses: list[int] = []

    def event_answers() -> bool:
        status, _, _ = router.get(EVENT, headers=AUTH)
        statuses.append(status)
        return status == 200

    wait_for(event_answers, 30, "the event to answer after the switch")
    assert set(statuses) <= {200, 503}, statuses
    assert f"reloaded {tmp_path / 'config' / 'showcase.yml'}" in router.log()
    assert router.proc.poll() is None
    assert int((tmp_path / "run" / "twistd.pid").read_text()) == router.proc.pid
    assert router.get(EVENT)[0] == 401  # the full config's auth is on


def test_a_failed_generation_keeps_the_maintenance_page(tmp_path: Path, boots: Boots) -> None:
    """With an index the generator refuses, the hook fails, nothing is written, and the router
    stays in maintenance: the event path keeps answering 503."""
    build_site(tmp_path, broken=True)
    router = boots.start(tmp_path)
    wait_for(lambda: "server.ready[0]" in router.log() and "failed" in router.log(), 30, "hook")
    assert "no such table: showcases" in router.log()
    assert router.get(EVENT, headers=AUTH)[0] == 503
    assert sorted(p.name for p in (tmp_path / "config").iterdir()) == ["maintenance.yml"]
    assert "reloaded" not in router.log()
