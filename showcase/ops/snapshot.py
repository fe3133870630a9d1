"""Daily snapshots of every database: ``showcase snapshot`` (and the ``restore`` command's options).

``<backup-dir>/<date>/<db>.sqlite3`` is a consistent copy (SQLite's online
backup API through :func:`~showcase.ops.sqlite_copy.consistent_copy`, so a
database in use by its tenant is copied as of one transaction, as one
self-contained file) of every ``<db-dir>/*.sqlite3``.  A copy whose bytes equal the
most recent earlier snapshot of the same database is replaced by a hard link
to that file: a database that did not change costs no space.  The backup API
writes an unchanged database byte for byte the same (checkpointed or not), so
comparing bytes is enough; a database that changed and changed back counts as
changed, which costs a copy, never a lost day.

Every copy is checked with ``PRAGMA integrity_check`` before it is put in
place; a copy that fails is not kept, is reported, and the command exits 1.
Files appear atomically (temporary name in the same directory, then
``os.replace``) and are made read-only: the linked files are shared between days.
Running it again on the same day replaces that day's copy only when the
database changed since (idempotent).
"""

from __future__ import annotations

import argparse
import contextlib
import filecmp
import os
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import TextIO

import attrs

from showcase.ops import progress as progress_bar
from showcase.ops.atomic import sync_directory
from showcase.ops.progress import Progress
from showcase.ops.sqlite_copy import consistent_copy

SNAPSHOT_MODE = 0o444
DAY_FORMAT = "%Y-%m-%d"

Clock = Callable[[], datetime]


def read_uri(path: str | Path, immutable: bool = False) -> str:
    """A read-only SQLite URI for ``path``; ``immutable`` for files nothing writes (snapshots):
    no locks, and no ``-wal``/``-shm`` files are made beside them."""
    uri = Path(path).absolute().as_uri() + "?mode=ro"
    return uri + "&immutable=1" if immutable else uri


def integrity_problems(path: str | Path, immutable: bool = True) -> list[str]:
    """What ``PRAGMA integrity_check`` finds wrong with ``path`` (empty when it is sound)."""
    try:
        conn = sqlite3.connect(read_uri(path, immutable), uri=True)
    except sqlite3.Error as e:
        return [str(e)]
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.Error as e:
        return [str(e)]
    finally:
        conn.close()
    found = [str(row[0]) for row in rows]
    return [] if found == ["ok"] else found


def parse_day(text: str) -> str:
    """``YYYY-MM-DD`` (an argparse type)."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is None or day.isoformat() != text:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-05-16")
    return text


def databases(db_dir: Path) -> list[Path]:
    """The databases in ``db_dir`` (not its subdirectories, not hidden temporary files)."""
    return sorted(p for p in db_dir.glob("*.sqlite3") if not p.name.startswith("."))


def previous_snapshot(backup_dir: Path, day: str, name: str) -> Path | None:
    """The most recent snapshot of ``name`` taken on a day before ``day``."""
    if not backup_dir.is_dir():
        return None
    days = sorted((d.name for d in backup_dir.iterdir() if _is_day(d.name)), reverse=True)
    for earlier in days:
        if earlier < day and (backup_dir / earlier / name).is_file():
            return backup_dir / earlier / name
    return None


def _is_day(name: str) -> bool:
    try:
        return date.fromisoformat(name).isoformat() == name
    except ValueError:
        return False


@contextlib.contextmanager
def _temporary(directory: Path, name: str) -> Iterator[Path]:
    """A fresh temporary path in ``directory``, removed afterwards unless it was moved."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    os.close(fd)
    os.unlink(tmp)  # the backup API and os.link want to make the file themselves
    try:
        yield Path(tmp)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


@attrs.frozen
class Outcome:
    name: str
    result: str  # "linked", "copied", "kept" (today's copy is still current) or "failed"
    reason: str = ""


def snapshot_one(src: Path, day_dir: Path, previous: Path | None) -> Outcome:
    """Snapshot the database ``src`` into ``day_dir`` (see the module docstring)."""
    name = src.name
    final = day_dir / name
    with _temporary(day_dir, name) as copy:
        try:
            consistent_copy(str(src), str(copy))
        except sqlite3.Error as e:
            return Outcome(name, "failed", f"cannot copy: {e}")
        problems = integrity_problems(copy)
        if problems:
            return Outcome(name, "failed", "integrity_check: " + "; ".join(problems[:3]))
        if final.is_file() and filecmp.cmp(copy, final, shallow=False):
            return Outcome(name, "kept")
        if previous is not None and filecmp.cmp(copy, previous, shallow=False):
            with _temporary(day_dir, name) as link:
                os.link(previous, link)
                os.replace(link, final)
            return Outcome(name, "linked")
        os.chmod(copy, SNAPSHOT_MODE)
        os.replace(copy, final)
        return Outcome(name, "copied")


def take_snapshot(db_dir: Path, backup_dir: Path, day: str, progress: Progress) -> list[Outcome]:
    """Snapshot every database of ``db_dir`` for ``day``; one outcome per database."""
    day_dir = backup_dir / day
    day_dir.mkdir(parents=True, exist_ok=True)
    found = databases(db_dir)
    outcomes = []
    for index, src in enumerate(found):
        progress(index, len(found), src.name)
        outcomes.append(snapshot_one(src, day_dir, previous_snapshot(backup_dir, day, src.name)))
    progress(len(found), len(found), "")
    sync_directory(day_dir)
    return outcomes


def summary(outcomes: list[Outcome]) -> str:
    """``12 databases: 10 linked, 2 copied, 0 failed`` (plus ``N already taken`` when some were)."""
    count = {kind: sum(o.result == kind for o in outcomes) for kind in ("linked", "copied", "kept")}
    failed = sum(o.result == "failed" for o in outcomes)
    kept = f", {count['kept']} already taken today" if count["kept"] else ""
    noun = "database" if len(outcomes) == 1 else "databases"
    return (
        f"{len(outcomes)} {noun}: {count['linked']} linked, {count['copied']} copied{kept},"
        f" {failed} failed"
    )


def terminal_progress(stream: TextIO) -> Progress:
    """A one-line progress display on ``stream`` when it is a terminal; else nothing."""
    if not stream.isatty():
        return lambda done, total, name: None

    def show(done: int, total: int, name: str) -> None:
        if done >= total:
            progress_bar.clear(stream)
        else:
            progress_bar.draw(stream, done, total, name)

    return show


def run_snapshot(args: argparse.Namespace, clock: Clock = datetime.now) -> int:
    db_dir = Path(args.db_dir)
    if not db_dir.is_dir():
        print(f"showcase snapshot: no database directory {db_dir}", file=sys.stderr)
        return 1
    backup_dir = Path(args.backup_dir) if args.backup_dir else db_dir / "backup"
    day = args.date or clock().strftime(DAY_FORMAT)
    try:
        outcomes = take_snapshot(db_dir, backup_dir, day, terminal_progress(sys.stderr))
    except OSError as e:
        print(f"showcase snapshot: {e.filename or backup_dir}: {e.strerror}", file=sys.stderr)
        return 1
    for outcome in outcomes:
        if outcome.result == "failed":
            print(f"showcase snapshot: {outcome.name}: {outcome.reason}", file=sys.stderr)
    print(f"{summary(outcomes)} ({backup_dir / day})")
    return 1 if any(o.result == "failed" for o in outcomes) else 0


def _locations(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db-dir", default="db", help="where the databases live (default: db)")
    parser.add_argument(
        "--backup-dir",
        help="where snapshots live, one directory per day (default: <db-dir>/backup)",
    )


def configure_snapshot(parser: argparse.ArgumentParser) -> None:
    _locations(parser)
    parser.add_argument(
        "--date", type=parse_day, help="the day to file the snapshot under (default: today)"
    )
    parser.set_defaults(run=run_snapshot)


def configure_restore(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("db", metavar="DB", help="the database, e.g. 2026-boston")
    parser.add_argument(
        "--date", type=parse_day, required=True, help="the day of the snapshot to restore"
    )
    _locations(parser)
    parser.add_argument("--yes", action="store_true", help="do not ask before replacing")
    parser.add_argument(
        "--router",
        default="http://127.0.0.1:9999",
        help="the running router, asked to stop the tenant first (default: http://127.0.0.1:9999)",
    )

    def run(args: argparse.Namespace) -> int:
        from showcase.ops.restore import run_restore

        return run_restore(args)

    parser.set_defaults(run=run)
