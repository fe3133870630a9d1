"""``showcase snapshot``: daily consistent copies, hard-linked when unchanged, each checked.

Real SQLite files under ``tmp_path`` (event databases made by ``showcase.event.db``);
the command runs through its own argparse wiring (:func:`configure_snapshot`), and once
through ``showcase.cli.main``.  Days are given with ``--date`` or by an injected clock.
"""

from __future__ import annotations

import argparse
import io
import os
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from showcase.event.db import connect, create
from showcase.event.defaults import populate_new_event
from showcase.ops.snapshot import (
    configure_snapshot,
    integrity_problems,
    previous_snapshot,
    run_snapshot,
    terminal_progress,
)
from showcase.ops.sqlite_copy import consistent_copy


def make_db(db_dir: Path, key: str, name: str = "Showcase") -> Path:
    path = db_dir / f"{key}.sqlite3"
    assert create(str(path), lambda conn: populate_new_event(conn, name))
    return path


def rename_event(path: Path, name: str) -> None:
    conn = connect(str(path))
    try:
        conn.execute("UPDATE events SET name = ?", (name,))
    finally:
        conn.close()


def snapshot(
    capsys: pytest.CaptureFixture[str], *argv: str, clock: datetime | None = None
) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    configure_snapshot(parser)
    args = parser.parse_args(list(argv))
    code = run_snapshot(args, lambda: clock) if clock is not None else args.run(args)
    out, err = capsys.readouterr()
    return code, out, err


def corrupt(path: Path) -> None:
    """Overwrite the b-tree page header of the ``people`` table's root page."""
    conn = sqlite3.connect(path)
    try:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'people'").fetchone()
    finally:
        conn.close()
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.seek((root[0] - 1) * page_size)
        f.write(b"\xff" * 64)


@pytest.fixture
def db_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "db"
    make_db(directory, "2026-boston")
    make_db(directory, "2026-raleigh-spring")
    return directory


def test_an_unchanged_database_is_hard_linked_to_the_previous_day(
    db_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A database that did not change since yesterday's snapshot shares its inode today."""
    assert snapshot(capsys, "--db-dir", str(db_dir), "--date", "2026-05-01")[0] == 0
    code, out, _ = snapshot(capsys, "--db-dir", str(db_dir), "--date", "2026-05-02")
    assert code == 0
    backup = db_dir / "backup"
    for name in ("2026-boston.sqlite3", "2026-raleigh-spring.sqlite3"):
        before, today = backup / "2026-05-01" / name, backup / "2026-05-02" / name
        assert today.stat().st_ino == before.stat().st_ino
    assert out.startswith("2 databases: 2 linked, 0 copied, 0 failed")


def test_a_changed_database_gets_its_own_copy(
    db_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A database written since yesterday is copied, not linked; the unchanged one is linked."""
    snapshot(capsys, "--db-dir", str(db_dir), "--date", "2026-05-01")
    rename_event(db_dir / "2026-boston.sqlite3", "Boston Spring Fling")
    code, out, _ = snapshot(capsys, "--db-dir", str(db_dir), "--date", "2026-05-02")
    assert code == 0
    backup = db_dir / "backup"
    changed = backup / "2026-05-02" / "2026-boston.sqlite3"
    assert changed.stat().st_ino != (backup / "2026-05-01" / "2026-boston.sqlite3").stat().st_ino
    conn = sqlite3.connect(changed)
    assert conn.execute("SELECT name FROM events").fetchone()[0] == "Boston Spring Fling"
    conn.close()
    same = "2026-raleigh-spring.sqlite3"
    assert (backup / "2026-05-02" / same).stat().st_ino == (
        backup / "2026-05-01" / same
    ).stat().st_ino
    assert out.startswith("2 databases: 1 linked, 1 copied, 0 failed")


def test_the_link_goes_to_the_most_recent_earlier_snapshot(
    db_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Days without a snapshot are skipped; a later day's snapshot is never the reference."""
    snapshot(capsys, "--db-dir", str(db_dir), "--date", "2026-05-01")
    rename_event(db_dir / "2026-boston.sqlite3", "Changed")
    snapshot(capsys, "--db-dir", str(db_dir), "--date", "2026-05-09")
    backup = db_dir / "backup"
    name = "2026-boston.sqlite3"
    assert previous_snapshot(backup, "2026-05-05", name) == backup / "2026-05-01" / name
    assert previous_snapshot(backup, "2026-05-10", name) == backup / "2026-05-09" / name
    assert previous_snapshot(backup, "2026-05-01", name) is None
    snapshot(capsys, "--db-dir", str(db_dir), "--date", "2026-05-10")
    assert (backup / "2026-05-10" / name).stat().st_ino == (
        backup / "2026-05-09" / name
    ).stat().st_ino


def test_running_twice_on_one_day_changes_nothing(
    db_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A second run the same day keeps the day's files (same inodes) and says so."""
    snapshot(capsys, "--db-dir", str(db_dir), "--date", "2026-05-01")
    day = db_dir / "backup" / "2026-05-01"
    inodes = {p.name: p.stat().st_ino for p in day.iterdir()}
    code, out, _ = snapshot(capsys, "--db-dir", str(db_dir), "--date", "2026-05-01")
    assert code == 0
    assert {p.name: p.stat().st_ino for p in day.iterdir()} == inodes
    assert out.startswith("2 databases: 0 linked, 0 copied, 2 already taken today, 0 failed")


def test_a_second_run_after_a_change_replaces_that_days_copy(
    db_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Run again later the same day, a changed database's snapshot is the newer state."""
    snapshot(capsys, "--db-dir", str(db_dir), "--date", "2026-05-01")
    rename_event(db_dir / "2026-boston.sqlite3", "Evening")
    snapshot(capsys, "--db-dir", str(db_dir), "--date", "2026-05-01")
    conn = sqlite3.connect(db_dir / "backup" / "2026-05-01" / "2026-boston.sqlite3")
    assert conn.execute("SELECT name FROM events").fetchone()[0] == "Evening"
    conn.close()


def test_an_unchanged_database_in_use_copies_to_the_same_bytes(tmp_path: Path) -> None:
    """SQLite's backup of a WAL database with unchecked-in frames is byte-identical each time,
    and the same after a checkpoint: comparing bytes finds unchanged databases."""
    path = make_db(tmp_path, "2026-boston")
    writer = connect(str(path))
    try:
        writer.execute("PRAGMA wal_autocheckpoint=0")
        writer.execute("UPDATE events SET name = 'In WAL only'")
        assert (tmp_path / "2026-boston.sqlite3-wal").stat().st_size > 0
        first, second, third = (tmp_path / f"copy{i}.sqlite3" for i in range(3))
        consistent_copy(str(path), str(first))
        consistent_copy(str(path), str(second))
        writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        consistent_copy(str(path), str(third))
    finally:
        writer.close()
    assert first.read_bytes() == second.read_bytes() == third.read_bytes()


def test_a_corrupt_database_is_reported_and_gets_no_snapshot(
    db_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A database whose copy fails ``PRAGMA integrity_check`` is named, exits 1, and leaves
    no file; the other databases are still taken."""
    corrupt(db_dir / "2026-boston.sqlite3")
    code, out, err = snapshot(capsys, "--db-dir", str(db_dir), "--date", "2026-05-01")
    assert code == 1
    assert "2026-boston.sqlite3: " in err
    day = db_dir / "backup" / "2026-05-01"
    assert sorted(p.name for p in day.iterdir()) == ["2026-raleigh-spring.sqlite3"]
    assert out.startswith("2 databases: 0 linked, 1 copied, 1 failed")


def test_snapshots_pass_their_integrity_check_and_are_read_only(
    db_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every snapshot file is a sound, self-contained database that nobody may write."""
    snapshot(capsys, "--db-dir", str(db_dir), "--date", "2026-05-01")
    day = db_dir / "backup" / "2026-05-01"
    files = sorted(day.iterdir())
    assert [p.name for p in files] == ["2026-boston.sqlite3", "2026-raleigh-spring.sqlite3"]
    for path in files:
        assert integrity_problems(path) == []
        assert path.stat().st_mode & 0o222 == 0


def test_only_the_databases_of_the_directory_are_taken(
    db_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Hidden temporary files, kept replaced files and the backup tree itself are skipped."""
    (db_dir / ".new-x.sqlite3").write_bytes(b"")
    (db_dir / "2026-boston.sqlite3.replaced-20260501T101010").write_bytes(b"")
    snapshot(capsys, "--db-dir", str(db_dir), "--date", "2026-05-01")
    code, out, _ = snapshot(capsys, "--db-dir", str(db_dir), "--date", "2026-05-02")
    assert code == 0
    assert out.startswith("2 databases:")
    assert sorted(p.name for p in (db_dir / "backup" / "2026-05-02").iterdir()) == [
        "2026-boston.sqlite3",
        "2026-raleigh-spring.sqlite3",
    ]


def test_the_day_defaults_to_the_clocks_today(
    db_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --date the snapshot is filed under the injected clock's date."""
    code, _, _ = snapshot(capsys, "--db-dir", str(db_dir), clock=datetime(2026, 5, 16, 23, 59))
    assert code == 0
    assert (db_dir / "backup" / "2026-05-16" / "2026-boston.sqlite3").is_file()


def test_a_backup_dir_elsewhere_is_used(
    db_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--backup-dir`` puts the day's directory there instead of ``<db-dir>/backup``."""
    elsewhere = tmp_path / "snapshots"
    args = ("--db-dir", str(db_dir), "--backup-dir", str(elsewhere), "--date", "2026-05-01")
    assert snapshot(capsys, *args)[0] == 0
    assert (elsewhere / "2026-05-01" / "2026-boston.sqlite3").is_file()
    assert not (db_dir / "backup").exists()


@pytest.mark.parametrize("bad", ["2026-5-1", "yesterday", "2026-02-30"])
def test_a_bad_date_is_bad_usage(
    db_dir: Path, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    """``--date`` must be a real YYYY-MM-DD day: anything else exits 2 and takes nothing."""
    with pytest.raises(SystemExit) as exc:
        snapshot(capsys, "--db-dir", str(db_dir), "--date", bad)
    assert exc.value.code == 2
    assert not (db_dir / "backup").exists()


def test_a_missing_database_directory_fails_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No database directory: exit 1 and a one-line reason naming it."""
    code, _, err = snapshot(capsys, "--db-dir", str(tmp_path / "nope"), "--date", "2026-05-01")
    assert code == 1
    assert err.strip() == f"showcase snapshot: no database directory {tmp_path / 'nope'}"


def test_progress_is_shown_on_a_terminal_only() -> None:
    """The progress line is drawn (and cleared) on a terminal; elsewhere nothing is written."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, pipe = Terminal(), io.StringIO()
    for stream in (tty, pipe):
        show = terminal_progress(stream)
        show(0, 2, "2026-boston.sqlite3")
        show(2, 2, "")
    assert "0/2 2026-boston.sqlite3" in tty.getvalue()
    assert tty.getvalue().endswith("\r\033[K")
    assert pipe.getvalue() == ""


def test_the_command_line_runs_it(db_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``showcase snapshot`` is wired into the ``showcase`` command."""
    from showcase.cli import main

    assert main(["snapshot", "--db-dir", str(db_dir), "--date", "2026-05-01"]) == 0
    assert capsys.readouterr().out.startswith("2 databases: 0 linked, 2 copied, 0 failed")
