"""Solos: a Solo heat with its solos row and formation members, in running order."""

from __future__ import annotations

from pathlib import Path

import pytest
from organizer_support import Couple, dance_id, insert, new_event, person, refused, saved

from tests.eventsupport import EventClient


def solo_form(client: EventClient, couple: Couple, **changes: str) -> dict[str, str]:
    data = {
        "person": str(couple.student),
        "side": "Follower",
        "partner": str(couple.pro),
        "instructor": "",
        "level": "3",
        "age": "2",
        "dance": str(dance_id(client, "Rumba")),
        "song": "Moon River",
        "artist": "Henry Mancini",
        "order": "1",
    }
    data.update(changes)
    return data


def test_new_solo_saved(tmp_path: Path) -> None:
    """A new solo makes an unscheduled Solo heat, its solos row and its formation members."""
    client = new_event(tmp_path)
    couple = Couple(client)
    member = person(client, "Roe, Rita", "Student", "Follower", couple.studio)
    credit = person(client, "Lee, Lou", "Professional", "Leader", couple.studio)
    data = solo_form(
        client,
        couple,
        member_1=str(member),
        on_floor_1="1",
        member_2=str(credit),
    )
    saved(client, "/solos/new", data, "/solos")
    heat = client.db.one("SELECT * FROM heats")
    assert (heat["category"], heat["number"], heat["dance_id"]) == (
        "Solo",
        0,
        dance_id(client, "Rumba"),
    )
    entry = client.db.one(
        "SELECT lead_id, follow_id, level_id FROM entries WHERE id = ?", [heat["entry_id"]]
    )
    assert tuple(entry) == (couple.pro, couple.student, 3)
    solo = client.db.one(
        'SELECT id, "order", song, artist FROM solos WHERE heat_id = ?', [heat["id"]]
    )
    assert tuple(solo)[1:] == (1, "Moon River", "Henry Mancini")
    members = client.db.query(
        "SELECT person_id, on_floor FROM formations WHERE solo_id = ? ORDER BY id", [solo["id"]]
    )
    assert [tuple(m) for m in members] == [(member, 1), (credit, 0)]
    _, body = client.get("/solos")
    assert "Moon River" in body and "Rita Roe" in body and "(credit)" in body


def test_solo_edited(tmp_path: Path) -> None:
    """Editing a solo changes its dance, song and order and replaces its members."""
    client = new_event(tmp_path)
    couple = Couple(client)
    member = person(client, "Roe, Rita", "Student", "Follower", couple.studio)
    entry = couple.entry()
    heat = insert(client, "heats", number=7, category="Solo", dance_id=1, entry_id=entry)
    solo = insert(client, "solos", heat_id=heat, order=1, song="Old")
    insert(client, "formations", solo_id=solo, person_id=member, on_floor=1)
    _, page = client.get(f"/solos/{solo}/edit")
    assert f'<option value="{couple.student}" selected>' in page
    tango = dance_id(client, "Tango")
    data = solo_form(client, couple, dance=str(tango), song="New", order="4")
    saved(client, f"/solos/{solo}/edit", data, "/solos")
    assert tuple(client.db.one("SELECT dance_id, number, entry_id FROM heats")) == (tango, 7, entry)
    assert tuple(client.db.one('SELECT "order", song FROM solos')) == (4, "New")
    assert client.db.value("SELECT count(*) FROM formations") == 0


def test_solo_with_a_new_couple_moves_to_its_entry(tmp_path: Path) -> None:
    """A solo given another partner moves to that couple's entry; the emptied entry goes."""
    client = new_event(tmp_path)
    couple = Couple(client)
    other_pro = person(client, "Lee, Lou", "Professional", "Leader", couple.studio)
    entry = couple.entry()
    heat = insert(client, "heats", number=0, category="Solo", dance_id=1, entry_id=entry)
    solo = insert(client, "solos", heat_id=heat, order=1)
    saved(
        client, f"/solos/{solo}/edit", solo_form(client, couple, partner=str(other_pro)), "/solos"
    )
    moved = client.db.one(
        "SELECT lead_id, follow_id FROM entries e JOIN heats h ON h.entry_id = e.id"
    )
    assert tuple(moved) == (other_pro, couple.student)
    assert client.db.value("SELECT count(*) FROM entries WHERE id = ?", [entry]) == 0


def test_solos_listed_in_running_order(tmp_path: Path) -> None:
    """The solo list follows the running order, not the order of making."""
    client = new_event(tmp_path)
    couple = Couple(client)
    saved(client, "/solos/new", solo_form(client, couple, song="Second", order="2"), "/solos")
    saved(client, "/solos/new", solo_form(client, couple, song="First", order="1"), "/solos")
    _, body = client.get("/solos")
    assert body.index("First") < body.index("Second")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"person": ""}, "Choose the dancer."),
        ({"dance": ""}, "Choose a dance."),
        ({"order": ""}, "Enter its place."),
        ({"order": "1"}, "Another solo has that place in the running order."),
        ({"side": ""}, "Does Jane Doe lead or follow?"),
        (
            {"partner": "{student2}"},
            "Exactly one of lead, follow and instructor must be a Professional.",
        ),
        ({"member_1": "{pro}"}, "Already dancing in the couple."),
        ({"member_1": "{student2}", "member_2": "{student2}"}, "Already listed."),
        ({"member_1": "0"}, "Not one of the choices."),
        ({"song": "x" * 201}, "At most 200 characters."),
    ],
)
def test_solo_refused(tmp_path: Path, changes: dict[str, str], message: str) -> None:
    """Each rule of the solo form answers 422 with its message and changes nothing."""
    client = new_event(tmp_path)
    couple = Couple(client)
    student2 = person(client, "Roe, Rick", "Student", "Leader", couple.studio)
    entry = couple.entry()
    heat = insert(client, "heats", number=0, category="Solo", dance_id=1, entry_id=entry)
    insert(client, "solos", heat_id=heat, order=1)
    filled = {k: v.format(pro=couple.pro, student2=student2) for k, v in changes.items()}
    data = solo_form(client, couple, order="2")
    data.update(filled)
    refused(client, "/solos/new", data, message)
