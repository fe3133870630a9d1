"""The event database: one SQLite file, opened once per process.

WAL mode and ``synchronous=FULL``: a score acknowledged to a judge survives a
crash or a power cut.  Every request's writes go in one transaction
(:meth:`EventDB.transaction`).  A missing file is created atomically (built
as a temporary file beside it, then linked into place) with the schema and a
populate step (a new event's defaults, or the demo).  Tables and columns we
do not know are left alone.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schema.sql")

Populate = Callable[[sqlite3.Connection], None]


def now() -> str:
    """A timestamp as the schema stores them (UTC text with microseconds)."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def connect(path: str) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), rows by name."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


def create(path: str, populate: Populate | None = None, schema: str = SCHEMA) -> bool:
    """Create the database at ``path`` (tables from ``schema``) unless it exists; False if it did.

    The file appears complete or not at all: it is built under a temporary
    name in the same directory and linked into place (never over an existing
    file, so two processes racing to create it cannot clobber each other).
    """
    if os.path.exists(path):
        return False
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".new-", suffix=".sqlite3", dir=directory)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # as an ordinary new file would be, not mkstemp's 0600
    try:
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            # Nobody sees this file until it is linked into place: build it in
            # one transaction without a sync per statement, then sync it once.
            conn.execute("PRAGMA synchronous=OFF")
            with open(schema) as f:
                conn.executescript("BEGIN;\n" + f.read())
            if populate is not None:
                populate(conn)
            conn.execute("COMMIT")
        finally:
            conn.close()
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return True
    finally:
        os.unlink(tmp)


def insert_row(conn: sqlite3.Connection, table: str, **values: Any) -> int:
    """Insert a row into ``table`` with ``created_at``/``updated_at`` filled in; its id."""
    stamp = now()
    values.setdefault("created_at", stamp)
    values.setdefault("updated_at", stamp)
    names = ", ".join(f'"{k}"' for k in values)
    marks = ", ".join("?" for _ in values)
    sql = f'INSERT INTO "{table}" ({names}) VALUES ({marks})'
    return int(conn.execute(sql, list(values.values())).lastrowid or 0)


class EventDB:
    """The open event database and the few ways this app talks to it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.conn = connect(path)
        self.name = os.path.splitext(os.path.basename(path))[0]

    def close(self) -> None:
        self.conn.close()

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()

    def one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.conn.execute(sql, params).fetchone()
        return row

    def value(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Cursor:
        """Run a write; call inside :meth:`transaction`."""
        if not self.conn.in_transaction:
            raise RuntimeError("writes go inside EventDB.transaction()")
        return self.conn.execute(sql, params)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[EventDB]:
        """All writes inside commit together, or none do."""
        if self.conn.in_transaction:
            yield self  # nested: part of the outer transaction
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def insert(self, table: str, **values: Any) -> int:
        """Insert a row (timestamps filled in); its id.  Call inside :meth:`transaction`."""
        if not self.conn.in_transaction:
            raise RuntimeError("writes go inside EventDB.transaction()")
        return insert_row(self.conn, table, **values)

    def update(self, table: str, row_id: int, **values: Any) -> None:
        """Update columns of one row (``updated_at`` refreshed)."""
        values.setdefault("updated_at", now())
        sets = ", ".join(f'"{k}" = ?' for k in values)
        self.execute(f'UPDATE "{table}" SET {sets} WHERE id = ?', [*values.values(), row_id])
