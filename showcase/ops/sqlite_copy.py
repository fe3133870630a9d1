"""A consistent copy of a live SQLite database, through SQLite's online backup API.

The source may be written while it is copied (an event tenant saving scores
in WAL mode): the backup runs in one step inside one read transaction, so the
copy is the database as of one commit, never a mix.  The source is opened
read-only (``mode=ro``: a missing source is an error, never a new empty file).
The copy is built as a temporary file in the destination's directory, switched
to ``journal_mode=DELETE`` (so it is one self-contained file, no ``-wal`` or
``-shm`` beside it), synced, and moved into place with :func:`os.replace`: the
destination is the old file or the complete copy, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import urllib.parse

from showcase.ops.atomic import new_file_mode, sync_directory

BUSY_TIMEOUT_MS = 10_000
"""How long the copy waits for a writer's lock (rollback-journal sources)."""


def consistent_copy(src_path: str, dest_path: str) -> None:
    """Copy the database at ``src_path`` to ``dest_path`` atomically and consistently.

    Raises :class:`sqlite3.Error` when the source cannot be read as a database
    (missing, not SQLite, corrupt); ``dest_path`` is then left as it was.
    """
    directory = os.path.dirname(os.path.abspath(dest_path))
    fd, tmp = tempfile.mkstemp(prefix=".copy-", suffix=".sqlite3", dir=directory)
    os.close(fd)
    try:
        os.chmod(tmp, new_file_mode())
        _backup(src_path, tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, dest_path)
    except BaseException:
        for leftover in (tmp, tmp + "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(leftover)
        raise
    sync_directory(directory)


def _backup(src_path: str, tmp: str) -> None:
    uri = "file:" + urllib.parse.quote(os.path.abspath(src_path)) + "?mode=ro"
    src = sqlite3.connect(uri, uri=True, isolation_level=None)
    try:
        src.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        dest = sqlite3.connect(tmp, isolation_level=None)
        try:
            src.backup(dest)  # pages=-1: everything in one step, one snapshot
            dest.execute("PRAGMA journal_mode=DELETE").fetchone()
        finally:
            dest.close()
    finally:
        src.close()
