"""Put one database back from a snapshot: ``showcase restore DB --date DAY``.

In this order, and nothing changes until the snapshot has passed its check:

1. ``PRAGMA integrity_check`` on ``<backup-dir>/<day>/<db>.sqlite3``; a snapshot
   that fails is refused (exit 1).
2. The snapshot is copied to a temporary file in the database directory (same
   file system, so the final step is one rename) with the live file's mode.
3. The running router is asked to stop the database's tenant and hold it
   (``POST /_showcase/tenants/stop?db=<db>&hold=30``, loopback only; it answers
   once the process is gone, and requests for it get the maintenance page until
   released or for at most that many seconds).  A router that does not answer
   is taken to mean no tenant runs, unless the live ``-wal`` file holds data:
   then an app may still be writing and the restore is refused.  Either way, a
   database some process still has open (a tenant of another router, an app
   run by hand) is refused: that process would go on writing to the replaced
   file, and a judge's scores would land there.
4. The live file is hard-linked as ``<db>.sqlite3.replaced-<timestamp>`` and
   its ``-wal`` moved beside that name (its last writes stay with it, checked
   into it afterwards; ``-shm`` is removed), then the copy replaces the live
   file with ``os.replace``.  The hold is released (``hold=0``): the tenant
   starts again on its next request, on the restored database.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import attrs

from showcase.ops.atomic import new_file_mode, sync_directory
from showcase.ops.snapshot import Clock, integrity_problems, read_uri

STOP_TIMEOUT = 60.0  # the router answers once the tenant is reaped (grace + stop hooks)
HOLD_SECONDS = 30  # the longest a restore keeps the tenant from starting again

SHM_DMS_BYTE = 128
"""The byte of a WAL database's ``-shm`` file that every SQLite connection to it keeps a
shared lock on while open (the unix VFS's "dead man switch", ``UNIX_SHM_DMS``)."""

Stopper = Callable[[str, str, int], bool]  # (router URL, db name, hold) -> a tenant was stopped


class CannotStop(Exception):
    """The router did not answer, or refused to stop the tenant."""


class Refused(Exception):
    """The restore cannot go on; nothing was changed."""


def stop_tenant(router: str, db: str, hold: int) -> bool:
    """Ask the router at ``router`` to stop the tenant of ``db`` and keep it from starting for
    ``hold`` seconds (0: release a hold); True when a process was running."""
    from showcase.router.dispatch import TENANT_STOP_PATH

    query = urllib.parse.urlencode({"db": db, "hold": hold})
    url = f"{router.rstrip('/')}{TENANT_STOP_PATH}?{query}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
    try:
        with opener.open(urllib.request.Request(url, b"", method="POST"), None, STOP_TIMEOUT) as r:
            answer = json.load(r)
    except urllib.error.HTTPError as e:
        raise CannotStop(f"the router at {router} answered {e.code} {e.reason}") from e
    except urllib.error.URLError as e:
        raise CannotStop(f"the router at {router} does not answer ({e.reason})") from e
    except (OSError, ValueError) as e:
        raise CannotStop(f"the router at {router} does not answer ({e})") from e
    if not isinstance(answer, dict) or not isinstance(answer.get("stopped"), bool):
        raise CannotStop(f"the router at {router} gave an unexpected answer: {answer!r}")
    return answer["stopped"]


@attrs.frozen
class Facts:
    """What a database file holds, to say what was replaced."""

    rows: int | None  # None when it cannot be read
    size: int
    mtime: float

    def describe(self) -> str:
        rows = "rows unknown" if self.rows is None else f"{self.rows:,} rows"
        modified = datetime.fromtimestamp(self.mtime).strftime("%Y-%m-%d %H:%M:%S")
        return f"{rows}, {self.size:,} bytes, modified {modified}"


def count_rows(path: Path, immutable: bool) -> int | None:
    """Rows in all of the database's own tables, or None when it cannot be read."""
    try:
        conn = sqlite3.connect(read_uri(path, immutable), uri=True)
        try:
            tables = conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            ).fetchall()
            quoted = ('"' + str(name).replace('"', '""') + '"' for (name,) in tables)
            return sum(conn.execute(f"SELECT count(*) FROM {q}").fetchone()[0] for q in quoted)
        finally:
            conn.close()
    except sqlite3.Error:
        return None


def facts(path: Path, immutable: bool = False) -> Facts:
    st = path.stat()
    return Facts(count_rows(path, immutable), st.st_size, st.st_mtime)


def open_elsewhere(live: Path) -> bool:
    """Does some process have the WAL database ``live`` open?  Its connections hold a shared
    lock on one byte of the ``-shm`` file, so ours cannot take it exclusively; a ``-shm``
    we cannot open for writing counts as open (we cannot tell)."""
    shm = live.with_name(live.name + "-shm")
    try:
        fd = os.open(shm, os.O_RDWR)
    except FileNotFoundError:
        return False
    except OSError:
        return True
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, SHM_DMS_BYTE)
    except OSError:
        return True
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, SHM_DMS_BYTE)
        return False
    finally:
        os.close(fd)


def fold_wal(path: Path) -> None:
    """Check a replaced database's ``-wal`` into it, so the kept file stands alone."""
    with contextlib.suppress(sqlite3.Error):
        conn = sqlite3.connect(path)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()


def _free_name(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


def _copy_for(snapshot: Path, live: Path) -> Path:
    """The snapshot copied (and synced) to a temporary file beside ``live``, with its mode."""
    fd, name = tempfile.mkstemp(prefix=f".restore-{live.name}.", dir=live.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        shutil.copyfile(snapshot, tmp)
        if live.exists():
            st = live.stat()
            os.chmod(tmp, st.st_mode & 0o7777)
            if os.geteuid() == 0:
                os.chown(tmp, st.st_uid, st.st_gid)
        else:
            os.chmod(tmp, new_file_mode())
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _move_wal(live: Path, kept: Path) -> None:
    """Move ``live``'s ``-wal`` beside ``kept`` (a new name), drop its ``-shm``."""
    wal = live.with_name(live.name + "-wal")
    if wal.exists():
        os.replace(wal, kept.with_name(kept.name + "-wal"))
    live.with_name(live.name + "-shm").unlink(missing_ok=True)


@attrs.define
class Restore:
    """One restore; :meth:`run` does it and returns the lines to print."""

    db: str  # base name, without .sqlite3
    day: str
    db_dir: Path
    backup_dir: Path
    router: str
    clock: Clock
    stop: Stopper
    confirm: Callable[[str], bool]
    lines: list[str] = attrs.field(factory=list)

    def run(self) -> list[str]:
        name = f"{self.db}.sqlite3"
        snapshot = self.backup_dir / self.day / name
        live = self.db_dir / name
        if not snapshot.is_file():
            raise Refused(f"no snapshot {snapshot}{self._days_available(name)}")
        problems = integrity_problems(snapshot)
        if problems:
            raise Refused(
                f"the snapshot {snapshot} fails its integrity check ({'; '.join(problems[:3])});"
                " nothing was changed"
            )
        restored = facts(snapshot, immutable=True)
        before = facts(live) if live.exists() else None
        question = (
            f"Replace {live} ({before.describe()}) with the snapshot of {self.day}"
            f" ({restored.describe()})?"
            if before is not None
            else f"Create {live} from the snapshot of {self.day} ({restored.describe()})?"
        )
        if not self.confirm(question):
            raise Refused("not confirmed; nothing was changed")
        self.db_dir.mkdir(parents=True, exist_ok=True)
        tmp = _copy_for(snapshot, live)
        try:
            held = self._stop_first(live)
            try:
                kept = self._swap(tmp, live)
            finally:
                if held:
                    self._release()
        finally:
            tmp.unlink(missing_ok=True)
        self.lines.insert(
            0, f"restored {live} from the snapshot of {self.day}: {restored.describe()}"
        )
        if kept is not None and before is not None:
            fold_wal(kept)
            self.lines.append(f"replaced {before.describe()}; kept as {kept}")
        return self.lines

    def _days_available(self, name: str) -> str:
        days = (
            sorted(d.name for d in self.backup_dir.glob("*") if (d / name).is_file())
            if self.backup_dir.is_dir()
            else []
        )
        return (
            f" (snapshots of {name}: {', '.join(days[-7:])})"
            if days
            else f" (no snapshots of {name})"
        )

    def _stop_first(self, live: Path) -> bool:
        """Stop the tenant; False when the router cannot be asked (and that is safe)."""
        try:
            stopped = self.stop(self.router, self.db, HOLD_SECONDS)
        except CannotStop as e:
            wal = live.with_name(live.name + "-wal")
            size = wal.stat().st_size if wal.exists() else 0
            if size:
                raise Refused(
                    f"{e}, and {wal} holds {size:,} bytes: an app may still be writing to"
                    f" {live.name}. Stop it (or start the router, or give --router URL)"
                    " and try again; nothing was changed"
                ) from e
            if open_elsewhere(live):
                raise Refused(
                    f"{e}, and {live.name} is open in another process, which would go on"
                    " writing to the replaced file. Stop it (or start the router, or give"
                    " --router URL) and try again; nothing was changed"
                ) from e
            self.lines.append(f"{e}; no -wal data, so no app is writing: going on")
            return False
        if open_elsewhere(live):
            self._release()
            raise Refused(
                f"{live.name} is still open in another process after the router at"
                f" {self.router} {'stopped its tenant' if stopped else 'found no tenant'}"
                " (is it served by another router? give --router URL); nothing was changed"
            )
        self.lines.append(
            "the tenant was stopped first; it starts again on its next request"
            if stopped
            else "no tenant was running"
        )
        return True

    def _swap(self, tmp: Path, live: Path) -> Path | None:
        """Replace ``live`` by ``tmp``; the replaced file's new name (None if there was none)."""
        if not live.exists():
            for suffix in ("-wal", "-shm"):
                live.with_name(live.name + suffix).unlink(missing_ok=True)
            os.replace(tmp, live)
            sync_directory(live.parent)
            return None
        stamp = self.clock().strftime("%Y%m%dT%H%M%S")
        kept = _free_name(live.with_name(f"{live.name}.replaced-{stamp}"))
        os.link(live, kept)
        try:
            _move_wal(live, kept)
            os.replace(tmp, live)
        except OSError:  # the live file stays as it was, with its -wal
            kept_wal = kept.with_name(kept.name + "-wal")
            if kept_wal.exists():
                os.replace(kept_wal, live.with_name(live.name + "-wal"))
            kept.unlink()
            raise
        sync_directory(live.parent)
        return kept

    def _release(self) -> None:
        try:
            self.stop(self.router, self.db, 0)
        except CannotStop as e:
            self.lines.append(
                f"could not release the tenant ({e}); it starts again within {HOLD_SECONDS} s"
            )


def _confirm_on_terminal(yes: bool) -> Callable[[str], bool]:
    def confirm(question: str) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            raise Refused("not a terminal, so nobody can confirm: give --yes")
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")

    return confirm


def run_restore(
    args: argparse.Namespace, clock: Clock = datetime.now, stop: Stopper = stop_tenant
) -> int:
    db = args.db.removesuffix(".sqlite3")
    if not db or "/" in db or db.startswith("."):
        print(
            f"showcase restore: {args.db!r} is not a database name (e.g. 2026-boston)",
            file=sys.stderr,
        )
        return 2
    db_dir = Path(args.db_dir)
    backup_dir = Path(args.backup_dir) if args.backup_dir else db_dir / "backup"
    restore = Restore(
        db, args.date, db_dir, backup_dir, args.router, clock, stop, _confirm_on_terminal(args.yes)
    )
    try:
        lines = restore.run()
    except Refused as e:
        print(f"showcase restore: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"showcase restore: {e.filename or db_dir}: {e.strerror}", file=sys.stderr)
        return 1
    for line in lines:
        print(line)
    return 0
