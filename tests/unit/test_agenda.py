"""The heats page and the organizer's scheduling actions (redo, undo, renumber, ...)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from showcase.event import scheduler
from showcase.event.db import insert_row
from showcase.event.defaults import populate_new_event
from showcase.event.demo import populate_demo
from showcase.event.heatdata import floor_entries, scheduler_data
from showcase.event.scheduler.index import Index
from tests.eventsupport import EventClient

STUDENTS = (
    ("Keller, Helen", 201),
    ("Bennett, Chloe", 202),
    ("Finch, Priya", 203),
    ("Young, Katya", 204),
)


def dance_id(conn: sqlite3.Connection, name: str) -> int:
    return int(conn.execute("SELECT id FROM dances WHERE name = ?", (name,)).fetchone()[0])


def populate(conn: sqlite3.Connection) -> None:
    """Four students with two professionals, each dancing Closed Waltz and Closed Rumba,
    all unscheduled (number 0); the agenda starts at 10:00 on the event's date."""
    populate_new_event(conn, "Spring Showcase", "2026-04-18")
    conn.execute("UPDATE categories SET time = '10:00' WHERE \"order\" = 1")
    studio = insert_row(conn, "studios", name="Starlight")
    level = conn.execute("SELECT min(id) FROM levels").fetchone()[0]
    age = conn.execute("SELECT min(id) FROM ages").fetchone()[0]
    pros = [
        insert_row(
            conn,
            "people",
            name=name,
            type="Professional",
            role="Leader",
            studio_id=studio,
            back=back,
        )
        for name, back in (("Ortega, Sam", 101), ("Hale, Colin", 102))
    ]
    waltz, rumba = dance_id(conn, "Waltz"), dance_id(conn, "Rumba")
    for i, (name, back) in enumerate(STUDENTS):
        student = insert_row(
            conn,
            "people",
            name=name,
            type="Student",
            role="Follower",
            studio_id=studio,
            back=back,
            level_id=level,
            age_id=age,
        )
        entry = insert_row(
            conn, "entries", lead_id=pros[i % 2], follow_id=student, level_id=level, age_id=age
        )
        for dance in (waltz, rumba):
            insert_row(conn, "heats", number=0.0, category="Closed", dance_id=dance, entry_id=entry)


@pytest.fixture
def client(tmp_path: Path) -> EventClient:
    return EventClient(tmp_path, populate)


def numbers(client: EventClient) -> dict[int, float]:
    """heats.id -> heats.number."""
    return {r["id"]: r["number"] for r in client.db.query("SELECT id, number FROM heats")}


def set_numbers(client: EventClient, values: dict[int, float]) -> None:
    with client.db.transaction():
        for heat_id, number in values.items():
            client.db.execute("UPDATE heats SET number = ? WHERE id = ?", (number, heat_id))


def expected(schedule: scheduler.Schedule) -> dict[int, float]:
    return {heat_id: p.number for heat_id, p in schedule.placements.items()}


def redo(client: EventClient) -> None:
    code, _, location = client.post_form("heats/redo", {})
    assert code == 303, location


def test_unscheduled_heats_are_listed_apart(client: EventClient) -> None:
    """Before any scheduling the page lists every heat as unscheduled and none on the agenda."""
    code, body = client.get("heats")
    assert code == 200
    assert "0 heats scheduled · 8 unscheduled · 0 scratched" in body
    assert "Unscheduled (8)" in body
    assert "No heats are scheduled yet." in body


def test_redo_numbers_heats_as_the_scheduler_says(client: EventClient) -> None:
    """Redo writes the scheduler's numbers and redirects 303 back to the heats page."""
    want = expected(scheduler.schedule(scheduler_data(client.db)))
    code, _, location = client.post_form("heats/redo", {})
    assert code == 303
    assert location == "/showcase/2026/demo/heats?notice=redone"
    assert numbers(client) == want
    assert all(n > 0 for n in want.values())


def test_redo_keeps_the_old_numbers_for_undo(client: EventClient) -> None:
    """Redo saves the numbers it replaces in prev_number; Undo puts them back."""
    redo(client)
    scheduled = numbers(client)
    assert {r[0] for r in client.db.query("SELECT prev_number FROM heats")} == {0.0}
    with client.db.transaction():
        client.db.execute("UPDATE heats SET prev_number = number")
    set_numbers(client, {heat_id: number + 100 for heat_id, number in scheduled.items()})
    code, _, location = client.post_form("heats/undo", {})
    assert code == 303 and location.endswith("/heats?notice=undone")
    assert numbers(client) == scheduled


def test_heats_page_shows_the_agenda(client: EventClient) -> None:
    """After redo: category headings, heat numbers, start times, couples with backs and studio."""
    redo(client)
    _, body = client.get("heats")
    assert "4 heats scheduled · 0 unscheduled" in body  # Sam Ortega dances each dance twice
    assert "<h2>Closed American Smooth <small" in body
    assert "<h2>Closed American Rhythm <small" in body
    assert "Saturday 10:00" in body
    assert 'id="heat-1"' in body and 'id="heat-2"' in body
    assert "Closed Waltz" in body and "Closed Rumba" in body
    assert '<td class="back">101</td>' in body  # the lead's back number
    assert "Sam Ortega &amp; Helen Keller" in body
    assert "<td>Starlight</td>" in body
    assert "10:01" in body  # the second heat, 90 s later


def test_renumber_makes_numbers_one_to_n(client: EventClient) -> None:
    """Renumber turns 2, 2.5 and 7 into 1, 2 and 3, couples sharing a number keep sharing."""
    ids = sorted(numbers(client))
    set_numbers(client, dict(zip(ids, [2, 2, 2.5, 2.5, 7, 7, 7, 0], strict=True)))
    want = expected(scheduler.renumber(scheduler_data(client.db)))
    code, _, location = client.post_form("heats/renumber", {})
    assert code == 303 and location.endswith("/heats?notice=renumbered")
    assert numbers(client) == want
    assert [numbers(client)[i] for i in ids] == [1, 1, 2, 2, 3, 3, 3, 0]


def test_renumber_is_refused_when_locked(client: EventClient) -> None:
    """With the agenda locked, renumber changes nothing and the page says why."""
    ids = sorted(numbers(client))
    set_numbers(client, {ids[0]: 2.5, ids[1]: 7})
    with client.db.transaction():
        client.db.execute("UPDATE events SET locked = 1")
    before = numbers(client)
    code, _, location = client.post_form("heats/renumber", {})
    assert code == 303
    assert location.endswith("/heats?notice=refused-locked")
    assert numbers(client) == before
    _, body = client.get(location.split("/demo/", 1)[1])
    assert "The agenda is locked: unlock it before renumbering" in body


def test_lock_toggles_and_saves_numbers(client: EventClient) -> None:
    """Lock sets events.locked and snapshots prev_number; posting again unlocks."""
    redo(client)
    code, _, location = client.post_form("heats/lock", {})
    assert code == 303 and location.endswith("notice=locked")
    assert client.db.value("SELECT locked FROM events") == 1
    rows = client.db.query("SELECT number, prev_number FROM heats")
    assert all(r["number"] == r["prev_number"] for r in rows)
    _, body = client.get("heats")
    assert "Unlock agenda" in body and "agenda locked" in body
    client.post_form("heats/lock", {})
    assert client.db.value("SELECT locked FROM events") == 0


def test_schedule_unscheduled_places_new_heats(client: EventClient) -> None:
    """A heat entered after redo gets the number the scheduler picks; others stay put."""
    redo(client)
    before = numbers(client)
    entry = client.db.value("SELECT min(id) FROM entries")
    dance = client.db.value("SELECT id FROM dances WHERE name = 'Tango'")
    with client.db.transaction():
        new = client.db.insert(
            "heats", number=0.0, category="Closed", dance_id=dance, entry_id=entry
        )
    want = expected(scheduler.schedule_unscheduled(scheduler_data(client.db)))
    code, _, location = client.post_form("heats/schedule-unscheduled", {})
    assert code == 303 and location.endswith("notice=placed")
    after = numbers(client)
    assert after == want
    assert after[new] > 0
    assert {k: v for k, v in after.items() if k != new} == before


def test_scratch_and_restore(client: EventClient) -> None:
    """Scratch negates one couple's heat number, listing it as scratched; restore undoes it."""
    redo(client)
    heat_id = min(numbers(client))
    number = numbers(client)[heat_id]
    code, _, location = client.post_form(f"heats/{heat_id}/scratch", {})
    assert code == 303 and location.endswith("notice=scratched")
    assert numbers(client)[heat_id] == -number
    _, body = client.get("heats")
    assert "<summary>Scratched (1)</summary>" in body
    assert f'heats/{heat_id}/restore"' in body
    code, _, _ = client.post_form(f"heats/{heat_id}/restore", {})
    assert code == 303
    assert numbers(client)[heat_id] == number


def test_scratching_an_unscheduled_heat_is_refused(client: EventClient) -> None:
    """An unscheduled heat cannot be scratched: nothing changes, the page says so."""
    heat_id = min(numbers(client))
    _, _, location = client.post_form(f"heats/{heat_id}/scratch", {})
    assert location.endswith("notice=refused-unscheduled")
    assert numbers(client)[heat_id] == 0


def test_unknown_heat_is_not_found(client: EventClient) -> None:
    """Scratching a heat id that does not exist answers 404."""
    code, _, _ = client.post_form("heats/9999/scratch", {})
    assert code == 404


def test_actions_need_the_csrf_token(client: EventClient) -> None:
    """A post without the token is refused (403) and changes nothing."""
    for path in ("heats/redo", "heats/renumber", "heats/lock", "heats/1/scratch"):
        code, _, _ = client.post_form(path, {}, csrf=False)
        assert code == 403, path
    assert set(numbers(client).values()) == {0}
    assert client.db.value("SELECT locked FROM events") == 0


def test_conflicts_are_flagged(client: EventClient) -> None:
    """A person twice in one heat is listed among the conflicts and the heat is marked."""
    ids = sorted(numbers(client))
    # Sam Ortega leads the first and third students: put both their waltzes in heat 1.
    set_numbers(client, {ids[0]: 1, ids[4]: 1, ids[2]: 2})
    _, body = client.get("heats")
    assert "Conflicts (1)" in body
    assert 'class="heat conflict"' in body
    assert '<a href="#heat-1">Heat 1: Sam Ortega is on the floor 2 times</a>' in body


def test_agenda_change_during_the_event_is_published(client: EventClient) -> None:
    """With a current heat set, a change of numbers publishes current-heat-<db>."""
    redo(client)
    assert client.published == []
    with client.db.transaction():
        client.db.execute("UPDATE events SET current_heat = 1")
    client.post_form("heats/renumber", {})  # nothing moves: nothing published
    assert client.published == []
    client.post_form(f"heats/{min(numbers(client))}/scratch", {})
    assert [stream for stream, _ in client.published] == ["current-heat-event"]


def test_agenda_categories_match_the_scheduler(tmp_path: Path) -> None:
    """On the demo, every heat row is shown under the agenda category the scheduler uses."""
    demo = EventClient(tmp_path, populate_demo)
    index = Index(scheduler_data(demo.db))
    theirs = {row.heat.id: row.category_id for row in index.rows}
    ours = {entry.heat_id: entry.agenda_id for entry in floor_entries(demo.db)}
    assert ours == theirs
