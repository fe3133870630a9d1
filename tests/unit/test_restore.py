"""``showcase restore``: a checked snapshot replaces the live database, the tenant stopped first.

Real SQLite files under ``tmp_path``; the router is a recording stand-in passed as the
``stop`` function (the real endpoint is tested in tests/integration/test_restore_real.py),
and the router's tenant-stop endpoint is checked here at the dispatcher, the
supervisor's ``stop`` on the fake-process harness of test_supervisor.py.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from routerfakes import bare_exchange, load, request
from test_supervisor import harness, make_config

from showcase.event.db import connect, create, insert_row
from showcase.event.defaults import populate_new_event
from showcase.ops.restore import HOLD_SECONDS, CannotStop, run_restore
from showcase.ops.snapshot import configure_restore, integrity_problems, read_uri, run_snapshot
from showcase.router.auth import Authenticator
from showcase.router.dispatch import Dispatcher, ToTenantStop
from showcase.router.message import Reply

NOW = datetime(2026, 5, 16, 10, 15, 2)
DB = "2026-boston"


class FakeRouter:
    """Records each stop request and what the live file held at that moment."""

    def __init__(self, live: Path, running: bool = True, answers: bool = True) -> None:
        self.live = live
        self.running = running
        self.answers = answers
        self.calls: list[tuple[str, str, int, str | None]] = []

    def __call__(self, router: str, db: str, hold: int) -> bool:
        self.calls.append((router, db, hold, event_name(self.live)))
        if not self.answers:
            raise CannotStop(f"the router at {router} does not answer (refused)")
        was, self.running = self.running, False
        return was


def event_name(path: Path) -> str | None:
    """The event's name, read without writing anything (no checkpoint of a -wal)."""
    if not path.exists():
        return None
    conn = sqlite3.connect(read_uri(path), uri=True)
    try:
        return str(conn.execute("SELECT name FROM events").fetchone()[0])
    finally:
        conn.close()


def dump(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def write(path: Path, sql: str, *params: object) -> None:
    conn = connect(str(path))
    try:
        conn.execute(sql, params)
    finally:
        conn.close()


@pytest.fixture
def db_dir(tmp_path: Path) -> Path:
    """A database directory with a snapshot of 2026-05-14, the live database changed since."""
    directory = tmp_path / "db"
    assert create(str(directory / f"{DB}.sqlite3"), lambda c: populate_new_event(c, "Snapshot"))
    args = argparse.Namespace(db_dir=str(directory), backup_dir=None, date="2026-05-14")
    assert run_snapshot(args) == 0
    live = directory / f"{DB}.sqlite3"
    write(live, "UPDATE events SET name = ?", "Live")
    conn = connect(str(live))
    insert_row(conn, "studios", name="Added after the snapshot")
    conn.close()
    return directory


def restore(
    capsys: pytest.CaptureFixture[str], stop: FakeRouter, *argv: str
) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    configure_restore(parser)
    code = run_restore(parser.parse_args(list(argv)), lambda: NOW, stop)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_restore_puts_the_snapshot_back(db_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """After a restore the live database holds exactly the snapshot's rows and is sound."""
    live = db_dir / f"{DB}.sqlite3"
    snapshot = db_dir / "backup" / "2026-05-14" / f"{DB}.sqlite3"
    code, out, _ = restore(
        capsys, FakeRouter(live), DB, "--date", "2026-05-14", "--db-dir", str(db_dir), "--yes"
    )
    assert code == 0
    assert dump(live) == dump(snapshot)
    assert integrity_problems(live, immutable=False) == []
    assert out.startswith(f"restored {live} from the snapshot of 2026-05-14")


def test_the_replaced_database_is_kept_and_described(
    db_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The replaced file stays as ``<db>.sqlite3.replaced-<timestamp>`` with its rows, and
    the output says what it held."""
    live = db_dir / f"{DB}.sqlite3"
    before = dump(live)
    code, out, _ = restore(
        capsys, FakeRouter(live), DB, "--date", "2026-05-14", "--db-dir", str(db_dir), "--yes"
    )
    assert code == 0
    kept = db_dir / f"{DB}.sqlite3.replaced-20260516T101502"
    assert dump(kept) == before
    rows = sum(line.startswith("INSERT INTO") and "sqlite_sequence" not in line for line in before)
    assert f"replaced {rows:,} rows, " in out
    assert f"kept as {kept}" in out


def test_the_tenant_is_stopped_before_the_file_changes_and_released_after(
    db_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The router is asked to stop and hold the tenant while the old file is still live, then
    to release it (hold 0) once the restored file is in place."""
    live = db_dir / f"{DB}.sqlite3"
    router = FakeRouter(live)
    code, out, _ = restore(
        capsys, router, DB, "--date", "2026-05-14", "--db-dir", str(db_dir), "--yes",
        "--router", "http://127.0.0.1:7777",
    )  # fmt: skip
    assert code == 0
    assert router.calls == [
        ("http://127.0.0.1:7777", DB, HOLD_SECONDS, "Live"),
        ("http://127.0.0.1:7777", DB, 0, "Snapshot"),
    ]
    assert "the tenant was stopped first" in out


def test_a_corrupt_snapshot_is_refused_and_nothing_changes(
    db_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A snapshot failing its integrity check is refused (exit 1): the live file keeps its
    bytes, no tenant is stopped, no replaced file appears."""
    live = db_dir / f"{DB}.sqlite3"
    snapshot = db_dir / "backup" / "2026-05-14" / f"{DB}.sqlite3"
    conn = sqlite3.connect(snapshot)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'events'").fetchone()[0]
    conn.close()
    os.chmod(snapshot, 0o644)
    with open(snapshot, "r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\xff" * 64)
    live_bytes = live.read_bytes()
    router = FakeRouter(live)
    code, _, err = restore(
        capsys, router, DB, "--date", "2026-05-14", "--db-dir", str(db_dir), "--yes"
    )
    assert code == 1
    assert "fails its integrity check" in err
    assert "nothing was changed" in err
    assert live.read_bytes() == live_bytes
    assert router.calls == []
    assert sorted(p.name for p in db_dir.iterdir()) == ["2026-boston.sqlite3", "backup"]


def test_no_router_and_wal_data_refuses(db_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """When the router does not answer and the live -wal holds data (an app may be writing),
    the restore is refused and the live database is left as it was."""
    live = db_dir / f"{DB}.sqlite3"
    script = (
        "import os, sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('PRAGMA journal_mode=WAL'); c.execute('PRAGMA wal_autocheckpoint=0')\n"
        "c.execute(\"UPDATE events SET name = 'Unsaved elsewhere'\")\n"
        "os._exit(0)\n"
    )  # a writer that dies without checking its WAL in, as a killed tenant does
    subprocess.run([sys.executable, "-c", script, str(live)], check=True)
    wal = db_dir / f"{DB}.sqlite3-wal"
    assert wal.stat().st_size > 0
    files = {
        p.name: p.read_bytes() for p in db_dir.glob("*.sqlite3*") if p.suffix != ".sqlite3-shm"
    }
    code, _, err = restore(
        capsys,
        FakeRouter(live, answers=False),
        DB,
        "--date",
        "2026-05-14",
        "--db-dir",
        str(db_dir),
        "--yes",
    )
    assert code == 1
    assert "does not answer" in err and f"{wal} holds" in err
    after = {
        p.name: p.read_bytes() for p in db_dir.glob("*.sqlite3*") if p.suffix != ".sqlite3-shm"
    }
    assert after == files  # (-shm is only an index a reader may touch)


def test_no_router_and_no_wal_data_goes_on(
    db_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """When the router does not answer but no -wal data exists, the restore goes on."""
    live = db_dir / f"{DB}.sqlite3"
    code, out, _ = restore(
        capsys,
        FakeRouter(live, answers=False),
        DB,
        "--date",
        "2026-05-14",
        "--db-dir",
        str(db_dir),
        "--yes",
    )
    assert code == 0
    assert event_name(live) == "Snapshot"
    assert "no -wal data" in out


@pytest.fixture
def held_open(db_dir: Path) -> Iterator[Path]:
    """Another process with the live database open (idle: its -wal empty), as a tenant of
    another router is; it ends when the test does."""
    live = db_dir / f"{DB}.sqlite3"
    script = (
        "import sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1])\n"
        "c.execute('PRAGMA wal_checkpoint(TRUNCATE)').fetchall()\n"
        "c.execute('SELECT name FROM events').fetchall()\n"
        "print('open', flush=True)\n"
        "sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(live)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        yield live
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(10)


def test_no_router_and_the_database_open_elsewhere_refuses(
    held_open: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """When the router does not answer and another process has the database open (with no
    -wal data), the restore is refused: that process would write to the replaced file."""
    wal = held_open.with_name(held_open.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    code, _, err = restore(
        capsys,
        FakeRouter(held_open, answers=False),
        DB,
        "--date",
        "2026-05-14",
        "--db-dir",
        str(held_open.parent),
        "--yes",
    )
    assert code == 1
    assert "open in another process" in err and "nothing was changed" in err
    assert event_name(held_open) == "Live"
    assert not list(held_open.parent.glob("*.replaced-*"))


def test_a_router_without_the_tenant_and_the_database_open_elsewhere_refuses(
    held_open: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """When the router answers but the database is still open in another process (served
    by another router, say), the restore is refused and the router's hold released."""
    router = FakeRouter(held_open, running=False)
    code, _, err = restore(
        capsys, router, DB, "--date", "2026-05-14", "--db-dir", str(held_open.parent), "--yes"
    )
    assert code == 1
    assert "still open in another process" in err
    assert [hold for _, _, hold, _ in router.calls] == [HOLD_SECONDS, 0]
    assert event_name(held_open) == "Live"
    assert not list(held_open.parent.glob("*.replaced-*"))


def test_the_last_writes_in_a_wal_stay_with_the_replaced_file(
    db_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Writes a stopped tenant left only in its -wal end up in the kept replaced file, and
    no -wal of the old database is left beside the restored one."""
    live = db_dir / f"{DB}.sqlite3"
    script = (
        "import os, sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('PRAGMA journal_mode=WAL'); c.execute('PRAGMA wal_autocheckpoint=0')\n"
        "c.execute(\"UPDATE events SET name = 'Only in the WAL'\")\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(live)], check=True)
    code, _, _ = restore(
        capsys, FakeRouter(live), DB, "--date", "2026-05-14", "--db-dir", str(db_dir), "--yes"
    )
    assert code == 0
    assert sorted(db_dir.glob("*-wal")) == []  # checked into the kept file, none left over
    kept = db_dir / f"{DB}.sqlite3.replaced-20260516T101502"
    assert event_name(kept) == "Only in the WAL"
    assert event_name(live) == "Snapshot"


def test_without_yes_and_no_terminal_nothing_changes(
    db_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not on a terminal and no --yes: nobody can confirm, so exit 1 and nothing changes."""
    monkeypatch.setattr(sys, "stdin", open(os.devnull))  # noqa: SIM115
    live = db_dir / f"{DB}.sqlite3"
    live_bytes = live.read_bytes()
    router = FakeRouter(live)
    code, _, err = restore(capsys, router, DB, "--date", "2026-05-14", "--db-dir", str(db_dir))
    sys.stdin.close()
    assert code == 1
    assert "give --yes" in err
    assert live.read_bytes() == live_bytes and router.calls == []


def test_a_missing_snapshot_names_the_days_there_are(
    db_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Asking for a day without a snapshot of the database fails and lists the days held."""
    live = db_dir / f"{DB}.sqlite3"
    code, _, err = restore(
        capsys, FakeRouter(live), DB, "--date", "2026-05-15", "--db-dir", str(db_dir), "--yes"
    )
    assert code == 1
    assert "no snapshot" in err and "2026-05-14" in err


def test_a_database_that_is_gone_is_recreated(
    db_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A live database that no longer exists is put back from the snapshot."""
    live = db_dir / f"{DB}.sqlite3"
    live.unlink()
    code, _, _ = restore(
        capsys, FakeRouter(live), f"{DB}.sqlite3", "--date", "2026-05-14",
        "--db-dir", str(db_dir), "--yes",
    )  # fmt: skip
    assert code == 0
    assert event_name(live) == "Snapshot"


def test_a_path_is_not_a_database_name(db_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A DB argument with a slash is bad usage (exit 2)."""
    live = db_dir / f"{DB}.sqlite3"
    code, _, err = restore(
        capsys, FakeRouter(live), "../2026-boston", "--date", "2026-05-14",
        "--db-dir", str(db_dir), "--yes",
    )  # fmt: skip
    assert code == 2
    assert "not a database name" in err


# -- the router's tenant-stop endpoint ---------------------------------------------------

TENANTS = """
applications:
  tenants:
    - path: /2026/boston/
      name: boston
      env: {SHOWCASE_DB: /data/db/2026-boston.sqlite3}
    - path: /2026/raleigh/
      env: {SHOWCASE_DB: /data/db/2026-raleigh.sqlite3}
auth:
  enabled: true
  htpasswd: htpasswd
cable:
  enabled: false
"""


def decide(tmp_path: Path, target: str, method: bytes = b"POST", ip: str = "127.0.0.1") -> object:
    (tmp_path / "htpasswd").write_text("")
    config = load(tmp_path, TENANTS)
    dispatcher = Dispatcher(config, Authenticator(config.auth, None))
    return dispatcher.decide(bare_exchange(request(target, method=method, client_ip=ip)))


def test_the_stop_endpoint_names_the_tenants_of_the_db(tmp_path: Path) -> None:
    """A loopback POST names the tenants whose SHOWCASE_DB base name is ``db``, with the hold;
    it is not challenged by auth."""
    decision = decide(tmp_path, "/_showcase/tenants/stop?db=2026-boston&hold=30")
    assert decision == ToTenantStop("2026-boston", ("boston",), 30.0)
    assert decide(tmp_path, "/_showcase/tenants/stop?db=nobody") == ToTenantStop("nobody", (), 0)


def test_the_stop_endpoint_is_for_loopback_posts_only(tmp_path: Path) -> None:
    """From another host it is 403; another method is 405 (Allow: POST); a missing db or a
    bad hold is 400."""
    target = "/_showcase/tenants/stop?db=2026-boston"
    answers = [
        decide(tmp_path, target, ip="198.51.100.4"),
        decide(tmp_path, target, method=b"GET"),
        decide(tmp_path, "/_showcase/tenants/stop"),
        decide(tmp_path, target + "&hold=forever"),
        decide(tmp_path, target + "&hold=100000"),
    ]
    assert all(isinstance(a, Reply) for a in answers)
    assert [a.status for a in answers if isinstance(a, Reply)] == [403, 405, 400, 400, 400]


def test_the_supervisor_stops_a_running_tenant_on_request() -> None:
    """``Supervisor.stop`` sends SIGTERM and fires True once the process has ended."""
    h = harness(make_config())
    process = h.start_ready()
    done = h.supervisor.stop("a", "asked to stop")
    assert h.kills() == [(process.pid, signal.SIGTERM)] and not done.called
    process.end(0)
    assert done.result is True
    assert h.supervisor.state("a") == "stopped"


def test_the_supervisor_stop_fails_waiting_requests_and_does_not_restart() -> None:
    """Stopping a tenant that is starting fails the waiting requests with a 503 (rather than
    starting it again for them); stopping a stopped tenant fires False at once."""
    h = harness(make_config())
    waiting = h.supervisor.ready("a")
    process = h.process
    done = h.supervisor.stop("a", "asked to stop")
    errors: list[object] = []
    waiting.addErrback(lambda f: errors.append(f.value.status))
    assert errors == [503]
    process.end(0)
    assert done.result is True
    assert h.supervisor.state("a") == "stopped" and len(h.reactor.processes) == 1
    assert h.supervisor.stop("a", "again").result is False
