"""A new event behind an EventClient, and rows the organizer tests put in with SQL."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

from markupsafe import escape

from showcase.event.db import create, insert_row
from showcase.event.defaults import populate_new_event
from tests.eventsupport import EventClient

_TEMPLATE = tempfile.TemporaryDirectory(prefix="organizer-tests-")
_populate = partial(populate_new_event, name="Spring Showcase")


def new_event(tmp_path: Path) -> EventClient:
    """An event app over a fresh database with a new event's defaults.

    The database is made once per test run and copied (creating one runs the
    schema statement by statement, each synced to disk: about a second).
    """
    template = Path(_TEMPLATE.name) / "new-event.sqlite3"
    if not template.exists():
        create(str(template), _populate)
    shutil.copyfile(template, tmp_path / "event.sqlite3")
    return EventClient(tmp_path, _populate)


def dump(client: EventClient) -> str:
    """The whole database as SQL, to compare before and after a refused post."""
    return "\n".join(client.db.conn.iterdump())


def insert(client: EventClient, table: str, **values: Any) -> int:
    """A row put in directly (outside any request)."""
    conn: sqlite3.Connection = client.db.conn
    return insert_row(conn, table, **values)


def studio(client: EventClient, name: str = "Harborview") -> int:
    return insert(client, "studios", name=name)


def person(
    client: EventClient,
    name: str,
    type: str = "Student",
    role: str = "Follower",
    studio_id: int = 0,
    **values: Any,
) -> int:
    if type == "Student":
        values.setdefault("level_id", 1)
        values.setdefault("age_id", 2)
    return insert(client, "people", name=name, type=type, role=role, studio_id=studio_id, **values)


def dance_id(client: EventClient, name: str) -> int:
    return int(client.db.value("SELECT id FROM dances WHERE name = ?", [name]))


def heats(client: EventClient, entry_id: int) -> list[tuple[int, str, float]]:
    """(dance id, category, number) of an entry's heats, in id order."""
    rows = client.db.query(
        "SELECT dance_id, category, number FROM heats WHERE entry_id = ? ORDER BY id", [entry_id]
    )
    return [(int(r[0]), str(r[1]), float(r[2])) for r in rows]


class Couple:
    """A studio with a professional leader and a student follower (both Leader/Follower)."""

    def __init__(self, client: EventClient) -> None:
        self.studio = studio(client)
        self.pro = person(client, "Murray, Arthur", "Professional", "Leader", self.studio)
        self.student = person(client, "Doe, Jane", "Student", "Follower", self.studio)
        self._client = client

    def entry(self, level_id: int = 3, age_id: int = 2) -> int:
        """An entry of this couple (the pro leads)."""
        return insert(
            self._client,
            "entries",
            lead_id=self.pro,
            follow_id=self.student,
            level_id=level_id,
            age_id=age_id,
        )


def refused(client: EventClient, path: str, data: dict[str, str], message: str) -> str:
    """Post ``data``; check the answer is 422 with ``message`` and that nothing changed."""
    before = dump(client)
    code, body, _ = client.post_form(path, data)
    assert code == 422, body
    assert str(escape(message)) in body, body
    assert dump(client) == before
    return body


def saved(client: EventClient, path: str, data: dict[str, str], to: str) -> None:
    """Post ``data``; check the answer is a 303 redirect to ``to`` (within the event)."""
    code, body, location = client.post_form(path, data)
    assert code == 303, body
    assert location == "/showcase/2026/demo" + to
