"""The index database (index.sqlite3) and the names its events get.

The index app opens it like the event app opens an event's database
(:class:`showcase.event.db.EventDB`: one connection, explicit transactions);
a missing file is created atomically with ``schema.sql`` beside this module.

Events are named exactly as the generator names them (it reads the same rows
with :func:`showcase.index.gen_catalog.read_catalog`): a database
``<year>-<location>.sqlite3`` when the location has that one event that year
and its key is ``showcase``, else ``<year>-<location>-<key>.sqlite3``; a tenant
path ``<year>/<location>/`` or ``<year>/<location>/<key>/`` below the root
path; the location's region as the generator picks it.  :func:`renamed` applies
the same naming rule to rows a form is about to save.
"""

from __future__ import annotations

import os
import sqlite3
from collections import Counter
from collections.abc import Iterable
from typing import Any

import attrs

from showcase.event.db import EventDB, create

from .gen_catalog import SINGLE_EVENT_KEY, read_catalog

SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schema.sql")
TABLES = ("locations", "showcases", "users", "regions")


def open_index(path: str) -> EventDB:
    """The index database at ``path``, created empty (with the schema) if missing."""
    create(path, schema=SCHEMA)
    return EventDB(path)


def missing_tables(conn: sqlite3.Connection) -> list[str]:
    """The index tables that ``conn``'s database lacks."""
    found = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    return [name for name in TABLES if name not in found]


@attrs.frozen
class EventName:
    """Where one showcase lives: its database name and its path below the root."""

    showcase_id: int
    year: int
    location_key: str
    key: str | None  # None: the location's only event that year, keyed "showcase"
    name: str
    date: str | None
    location_name: str
    region: str | None

    @property
    def scope(self) -> str:
        """``2025/boston`` or ``2025/boston/spring``."""
        return "/".join([str(self.year), self.location_key] + ([self.key] if self.key else []))

    @property
    def db(self) -> str:
        """``2025-boston`` or ``2025-boston-spring``."""
        return self.scope.replace("/", "-")

    @property
    def path(self) -> str:
        """``2025/boston/`` (relative to the root path)."""
        return self.scope + "/"


def _ignore(message: str) -> None:
    """Rows the generator skips are reported by the generator itself."""


def events(db: EventDB) -> list[EventName]:
    """The servable showcases of the index, as the generator names them."""
    ids: dict[tuple[int, str, str], int] = {}
    for row in db.query(
        "SELECT s.id, s.year, s.key, l.key AS location_key FROM showcases s"
        " JOIN locations l ON l.id = s.location_id ORDER BY s.id DESC"
    ):
        ids[(row["year"], row["location_key"], row["key"])] = int(row["id"])
    found = []
    for e in read_catalog(db.conn, _ignore).events:
        showcase_id = ids.get((e.year, e.location.key, e.key or SINGLE_EVENT_KEY))
        if showcase_id is None:
            continue
        found.append(
            EventName(
                showcase_id=showcase_id,
                year=e.year,
                location_key=e.location.key,
                key=e.key,
                name=e.name,
                date=e.date,
                location_name=e.location.name,
                region=e.location.region,
            )
        )
    return found


def event(db: EventDB, showcase_id: int) -> EventName | None:
    for found in events(db):
        if found.showcase_id == showcase_id:
            return found
    return None


# -- what a change would rename ---------------------------------------------------------

EVENT_ROWS_SQL = (
    "SELECT s.id, s.year, s.key, s.location_id, l.key AS location_key"
    " FROM showcases s JOIN locations l ON l.id = s.location_id"
)


def event_rows(db: EventDB) -> list[dict[str, Any]]:
    """``{id, year, key, location_id, location_key}`` of every showcase, to change and name."""
    return [dict(r) for r in db.query(EVENT_ROWS_SQL)]


def db_names(rows: Iterable[dict[str, Any]]) -> dict[int, str]:
    """Showcase id → database name, by the generator's rule."""
    rows = list(rows)
    per_year = Counter((r["year"], r["location_id"]) for r in rows)
    names = {}
    for r in rows:
        single = per_year[(r["year"], r["location_id"])] == 1 and r["key"] == SINGLE_EVENT_KEY
        parts = [str(r["year"]), str(r["location_key"])] + ([] if single else [str(r["key"])])
        names[int(r["id"])] = "-".join(parts)
    return names


def renamed(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[str]:
    """The database names of ``before`` that ``after`` gives another name."""
    old, new = db_names(before), db_names(after)
    return sorted(name for ident, name in old.items() if ident in new and new[ident] != name)
