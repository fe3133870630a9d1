"""``showcase restore`` against a running router with a real event tenant.

``twistd -n showcase`` (:class:`~tests.integration.routerproc.Router`) serves one event
app tenant over its own SQLite file under the test's directory; the home page shows the
event's name, which tells which database the tenant has open.  The router's loopback
endpoint ``POST /_showcase/tenants/stop?db=…&hold=…`` stops the tenant (answering once
it is reaped) and keeps it from starting while the file is swapped.  One router serves
the module's tests; it is stopped and every tenant seen is checked gone.
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from showcase.cli import main
from showcase.event.db import connect, create
from showcase.event.defaults import populate_new_event
from showcase.ops.snapshot import run_snapshot

from .routerproc import Router, alive, kill_leftovers, wait_for

pytestmark = pytest.mark.integration

DB = "2026-boston"
DAY = "2026-05-14"


def config(tmp: Path) -> str:
    (tmp / "public").mkdir(exist_ok=True)
    return (
        "server:\n"
        "  listen: 0\n"
        "  static:\n"
        f"    public_dir: {tmp / 'public'}\n"
        "applications:\n"
        "  preload: false\n"
        "  pools:\n"
        "    timeout: 5m\n"
        "    stop_timeout: 2s\n"
        "    start_port: 24900\n"
        "  startup_timeout: 10s\n"
        "  tenants:\n"
        "    - path: /ev/\n"
        "      env:\n"
        f"        SHOWCASE_DB: {tmp / 'db' / DB}.sqlite3\n"
        "        SHOWCASE_SCOPE: ev\n"
        "cable:\n"
        "  enabled: false\n"
    )


class Served:
    """The router (one for this module), its event's database directory, the tenants seen."""

    def __init__(self, tmp: Path) -> None:
        self.db_dir = tmp / "db"
        path = self.db_dir / f"{DB}.sqlite3"
        assert create(str(path), lambda conn: populate_new_event(conn, "Before Restore"))
        args = argparse.Namespace(db_dir=str(self.db_dir), backup_dir=None, date=DAY)
        assert run_snapshot(args) == 0
        conn = connect(str(path))
        conn.execute("UPDATE events SET name = 'After The Snapshot'")
        conn.close()
        self.pids: set[int] = set()
        self.router = Router(tmp, config(tmp))

    def home(self) -> tuple[str, int]:
        """The event name on the home page, and the pid of the tenant that answered."""
        status, _, body = self.router.get("/ev/")
        assert status == 200, body
        found = re.search(rb"<h1>([^<]*)</h1>", body)
        assert found, body
        pids = re.findall(r"tenant \S+ started: pid (\d+)", self.router.log())
        assert pids, self.router.log()
        self.pids.update(int(p) for p in pids)
        return found.group(1).decode(), int(pids[-1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A router serving the event whose database has a snapshot of DAY ("Before Restore")
    and was renamed since ("After The Snapshot")."""
    s = Served(tmp_path_factory.mktemp("restore"))
    yield s
    s.router.stop()
    pids = [s.router.proc.pid, *s.pids]
    try:
        wait_for(lambda: not any(alive(pid) for pid in pids), 15, "every process to end")
    finally:
        kill_leftovers(sorted(pids))


def stop(router: Router, query: str) -> tuple[int, dict[str, object]]:
    status, _, body = router.get(f"/_showcase/tenants/stop?{query}", method="POST", body=b"")
    return status, json.loads(body) if status == 200 else {}


def test_restore_stops_the_running_tenant_and_the_next_request_sees_the_snapshot(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    """With the router running, restore stops the event's tenant before swapping the file;
    the next request starts a new process on the restored database."""
    router, db_dir = served.router, served.db_dir
    name, pid = served.home()
    assert name == "After The Snapshot"
    argv = ["restore", DB, "--date", DAY, "--db-dir", str(db_dir), "--yes"]
    assert main([*argv, "--router", f"http://127.0.0.1:{router.port}"]) == 0
    out = capsys.readouterr().out
    assert "the tenant was stopped first" in out
    assert not alive(pid)  # the endpoint answered only once the process was reaped
    assert "stopped (asked to stop)" in router.log()
    name, new_pid = served.home()
    assert (name, new_pid != pid) == ("Before Restore", True)
    kept = next(db_dir.glob(f"{DB}.sqlite3.replaced-*"))
    conn = sqlite3.connect(kept)
    assert conn.execute("SELECT name FROM events").fetchone()[0] == "After The Snapshot"
    conn.close()


def test_a_held_tenant_is_not_started_until_released(served: Served) -> None:
    """While held, requests for the tenant get the 503 page and start nothing; once released
    (hold=0) the next request starts it again."""
    router = served.router
    _, pid = served.home()
    starts = len(re.findall(r"tenant \S+ started: pid", router.log()))
    assert stop(router, f"db={DB}&hold=30") == (200, {"stopped": True, "tenants": ["ev"]})
    assert not alive(pid)
    status, _, _ = router.get("/ev/")
    assert status == 503
    assert len(re.findall(r"tenant \S+ started: pid", router.log())) == starts
    assert stop(router, f"db={DB}&hold=0") == (200, {"stopped": False, "tenants": ["ev"]})
    _, new_pid = served.home()
    assert new_pid != pid
    assert stop(router, "db=nobody") == (200, {"stopped": False, "tenants": []})
