"""Backups between two regions: two data directories, two real routers, two rsync daemons.

Region ``aaa`` owns ``2026-alpha`` and region ``bbb`` owns ``2026-bravo``
(one showcases.yml, the same in both directories).  Each router runs the real
event app for its own event with a ``tenant.stop`` hook ``showcase backup
--only -`` and ``pools.timeout: 1s``, and its own rsync daemon
(``backup.serve`` on a free loopback port) with the other region as its peer.
A score saved through router A reaches B's copy once A's tenant idles; B's own
database is never overwritten by A, neither by ``showcase backup`` nor by a
hand-made rsync push.  Every wait polls a condition with a deadline.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from showcase.event.db import create
from tests import judgingevent as ev

from .routerproc import Router, free_port, wait_for

pytestmark = pytest.mark.integration

SHOWCASES = """\
2026:
  alpha: {name: Alpha, region: aaa, date: "2026-05-01"}
  bravo: {name: Bravo, region: bbb, date: "2026-06-01"}
"""
PASSWORD = "s3cret-peer"


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@attrs.frozen
class Region:
    name: str
    dir: Path
    port: int  # its rsync daemon

    @property
    def db(self) -> Path:
        return self.dir / "db"

    @property
    def url(self) -> str:
        return f"rsync://peer@127.0.0.1:{self.port}/showcase/"


def router_config(here: Region, peer: Region, event: str) -> str:
    """A router config for ``here``: one event tenant with the backup hook, the daemon on."""
    db = here.db / f"2026-{event}.sqlite3"
    hook = [sys.executable, "-m", "showcase.cli", "backup", "--only", "-"]
    hook += ["--config", str(here.dir / "showcase.yml")]
    return f"""
cable: {{enabled: false}}
applications:
  pools: {{timeout: 1s, stop_timeout: 5s}}
  tenants:
    - path: /2026/{event}/
      env: {{SHOWCASE_DB: "{db}"}}
      hooks:
        stop: [{{command: "{hook[0]}", args: {json.dumps(hook[1:])}, timeout: 60s}}]
backup:
  peers: ["{peer.url}"]
  password_file: peer.pass
  db_dir: db
  serve: {{port: {here.port}, users_file: rsync.users, address: 127.0.0.1}}
"""


def prepare(region: Region, own: str, stale: str) -> None:
    """The region's directory: showcases.yml, its own event, a stale copy of the other's."""
    region.db.mkdir(parents=True)
    (region.db / "showcases.yml").write_text(SHOWCASES)
    create(str(region.db / f"2026-{own}.sqlite3"), ev.populate)
    create(str(region.db / f"2026-{stale}.sqlite3"), lambda c: ev.populate(c, name="Stale"))
    (region.dir / "rsync.users").write_text(f"peer:{PASSWORD}\n")
    (region.dir / "peer.pass").write_text(PASSWORD + "\n")
    (region.dir / "peer.pass").chmod(0o600)


@pytest.fixture
def regions(tmp_path: Path) -> Iterator[tuple[Region, Region, Router, Router]]:
    """Regions aaa and bbb, each with its running router; both stopped afterwards."""
    a = Region("aaa", tmp_path / "a", free_port())
    b = Region("bbb", tmp_path / "b", free_port())
    prepare(a, "alpha", "bravo")
    prepare(b, "bravo", "alpha")
    routers: list[Router] = []
    try:
        for here, peer, event in ((a, b, "alpha"), (b, a, "bravo")):
            here.dir.mkdir(exist_ok=True)
            config = router_config(here, peer, event)
            routers.append(Router(here.dir, config, env={"FLY_REGION": here.name}))
        for port in (a.port, b.port):
            wait_for(functools.partial(listening, port), 10, f"the rsync daemon on {port}")
        yield a, b, routers[0], routers[1]
    finally:
        for router in routers:
            router.stop()
    for region in (a, b):
        assert not listening(region.port), f"{region.name}'s rsync daemon outlived its router"


def scores(db: Path) -> list[tuple[int, int, str]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT judge_id, heat_id, value FROM scores ORDER BY id")
        return [tuple(row) for row in rows]
    except sqlite3.Error:
        return []  # not there yet (or not a database yet)
    finally:
        conn.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_score_saved_in_a_reaches_b_and_b_keeps_its_own(
    regions: tuple[Region, Region, Router, Router],
) -> None:
    """A score saved through A's router is in B's copy after A's tenant idles and its
    tenant.stop hook pushed it; B's own database is never overwritten by A."""
    a, b, router_a, _ = regions
    bravo_in_b = b.db / "2026-bravo.sqlite3"
    before = digest(bravo_in_b)
    assert scores(b.db / "2026-alpha.sqlite3") == []

    body = json.dumps({"heat": ev.H1_ARTHUR, "score": "G"}).encode()
    status, _, answer = router_a.get(
        f"/2026/alpha/scores/{ev.JUDY}/post",
        method="POST",
        body=body,
        headers={"Content-Type": "application/json"},
    )
    assert status == 200, answer
    expected = [(ev.JUDY, ev.H1_ARTHUR, "G")]
    assert scores(a.db / "2026-alpha.sqlite3") == expected

    wait_for(
        lambda: scores(b.db / "2026-alpha.sqlite3") == expected,
        30,
        "A's score to reach B after A's tenant idled",
    )
    assert not os.path.exists(str(b.db / "2026-alpha.sqlite3-wal"))

    # A's explicit run: alpha is unchanged since the hook's push, A's stale bravo is not A's.
    run = subprocess.run(
        [sys.executable, "-m", "showcase.cli", "backup", "--config", str(a.dir / "showcase.yml")],
        cwd=a.dir,
        env={**os.environ, "FLY_REGION": "aaa"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().endswith("pushed 0 databases to 1 peer, 1 unchanged, 0 failed")
    assert digest(bravo_in_b) == before

    # A hand-made push of A's stale bravo into B's daemon is refused; B's file stays.
    push = subprocess.run(
        [
            "rsync",
            f"--password-file={a.dir / 'peer.pass'}",
            str(a.db / "2026-bravo.sqlite3"),
            b.url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert push.returncode == 23, push.stderr
    assert 'daemon refused to receive file "2026-bravo.sqlite3"' in push.stderr
    assert digest(bravo_in_b) == before
