"""A student's entry grid: counts make unscheduled heats, extras are scratched, couples checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from organizer_support import Couple, dance_id, heats, insert, new_event, person, refused, saved

from tests.eventsupport import EventClient


def grid(couple: Couple, **cells: str) -> dict[str, str]:
    data = {"partner": str(couple.pro), "instructor": "", "level": "3", "age": "2"}
    data.update(cells)
    return data


def entry_of(client: EventClient, couple: Couple) -> int:
    return int(client.db.value("SELECT id FROM entries WHERE follow_id = ?", [couple.student]))


def test_counts_make_unscheduled_heats(tmp_path: Path) -> None:
    """A new partner's grid makes the entry (pro leads, student follows) and number-0 heats."""
    client = new_event(tmp_path)
    couple = Couple(client)
    waltz, rumba = dance_id(client, "Waltz"), dance_id(client, "Rumba")
    path = f"/people/{couple.student}/entries"
    code, body, location = client.post_form(
        path, grid(couple, **{f"closed_{waltz}": "2", f"open_{rumba}": "1"})
    )
    assert code == 303, body
    entry = client.db.one("SELECT * FROM entries")
    assert location.endswith(f"{path}?entry={entry['id']}")
    assert (entry["lead_id"], entry["follow_id"], entry["instructor_id"]) == (
        couple.pro,
        couple.student,
        None,
    )
    assert (entry["level_id"], entry["age_id"]) == (3, 2)
    assert heats(client, entry["id"]) == [
        (waltz, "Closed", 0),
        (waltz, "Closed", 0),
        (rumba, "Open", 0),
    ]


def test_grid_shows_the_counts(tmp_path: Path) -> None:
    """The grid of an entry shows its counts in the cells."""
    client = new_event(tmp_path)
    couple = Couple(client)
    waltz = dance_id(client, "Waltz")
    path = f"/people/{couple.student}/entries"
    saved(client, path, grid(couple, **{f"closed_{waltz}": "2"}), f"{path}?entry=1")
    _, body = client.get(f"{path}?entry=1")
    assert f'name="closed_{waltz}" value="2"' in body
    assert "Arthur Murray" in body


def test_solo_count_makes_a_solo(tmp_path: Path) -> None:
    """A Solo count makes a Solo heat with its solos row at the end of the running order."""
    client = new_event(tmp_path)
    couple = Couple(client)
    tango = dance_id(client, "Tango")
    path = f"/people/{couple.student}/entries"
    saved(client, path, grid(couple, **{f"solo_{tango}": "1"}), f"{path}?entry=1")
    heat = client.db.one("SELECT id, category, number FROM heats")
    assert (heat["category"], heat["number"]) == ("Solo", 0)
    assert client.db.value('SELECT "order" FROM solos WHERE heat_id = ?', [heat["id"]]) == 1


def test_extras_scratched_not_deleted(tmp_path: Path) -> None:
    """Lowering a count deletes unscheduled heats and scratches scheduled ones, scores kept."""
    client = new_event(tmp_path)
    couple = Couple(client)
    waltz = dance_id(client, "Waltz")
    entry = couple.entry()
    scheduled = insert(client, "heats", number=5, category="Closed", dance_id=waltz, entry_id=entry)
    insert(client, "heats", number=0, category="Closed", dance_id=waltz, entry_id=entry)
    insert(client, "scores", judge_id=1, heat_id=scheduled, value="G")
    path = f"/people/{couple.student}/entries"
    saved(
        client,
        path,
        grid(couple, entry=str(entry), **{f"closed_{waltz}": "0"}),
        f"{path}?entry={entry}",
    )
    assert heats(client, entry) == [(waltz, "Closed", -5)]
    assert client.db.value("SELECT count(*) FROM scores") == 1
    _, body = client.get(f"{path}?entry={entry}")
    assert "1 scratched" in body


def test_raising_a_count_restores_scratched_heats(tmp_path: Path) -> None:
    """Raising a count restores scratched heats to their number before making new ones."""
    client = new_event(tmp_path)
    couple = Couple(client)
    waltz = dance_id(client, "Waltz")
    entry = couple.entry()
    insert(client, "heats", number=-5, category="Closed", dance_id=waltz, entry_id=entry)
    path = f"/people/{couple.student}/entries"
    saved(
        client,
        path,
        grid(couple, entry=str(entry), **{f"closed_{waltz}": "2"}),
        f"{path}?entry={entry}",
    )
    assert heats(client, entry) == [(waltz, "Closed", 5), (waltz, "Closed", 0)]


def test_entry_without_heats_is_removed(tmp_path: Path) -> None:
    """Setting every count of an unscheduled entry to zero removes the entry."""
    client = new_event(tmp_path)
    couple = Couple(client)
    waltz = dance_id(client, "Waltz")
    entry = couple.entry()
    insert(client, "heats", number=0, category="Closed", dance_id=waltz, entry_id=entry)
    path = f"/people/{couple.student}/entries"
    saved(client, path, grid(couple, entry=str(entry)), path)
    assert client.db.value("SELECT count(*) FROM entries") == 0


def test_empty_grid_for_a_new_partner_makes_nothing(tmp_path: Path) -> None:
    """A new partner with no heats makes no entry."""
    client = new_event(tmp_path)
    couple = Couple(client)
    path = f"/people/{couple.student}/entries"
    saved(client, path, grid(couple), path)
    assert client.db.value("SELECT count(*) FROM entries") == 0


def test_changing_level_updates_the_entry(tmp_path: Path) -> None:
    """Changing an entry's level on its grid updates the entry; its heats stay with it."""
    client = new_event(tmp_path)
    couple = Couple(client)
    waltz = dance_id(client, "Waltz")
    entry = couple.entry()
    insert(client, "heats", number=4, category="Closed", dance_id=waltz, entry_id=entry)
    path = f"/people/{couple.student}/entries"
    data = grid(couple, entry=str(entry), level="5", **{f"closed_{waltz}": "1"})
    saved(client, path, data, f"{path}?entry={entry}")
    assert client.db.value("SELECT level_id FROM entries WHERE id = ?", [entry]) == 5
    assert heats(client, entry) == [(waltz, "Closed", 4)]


def test_amateur_couple_with_instructor(tmp_path: Path) -> None:
    """Two students with a professional instructor make a valid entry (the student leads)."""
    client = new_event(tmp_path)
    couple = Couple(client)
    partner = person(client, "Roe, Rick", "Student", "Leader", couple.studio)
    waltz = dance_id(client, "Waltz")
    path = f"/people/{partner}/entries"
    data = {
        "partner": str(couple.student),
        "instructor": str(couple.pro),
        "level": "1",
        "age": "2",
        f"closed_{waltz}": "1",
    }
    saved(client, path, data, f"{path}?entry=1")
    entry = client.db.one("SELECT lead_id, follow_id, instructor_id FROM entries")
    assert tuple(entry) == (partner, couple.student, couple.pro)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("two students", "Exactly one of lead, follow and instructor must be a Professional."),
        (
            "pro and instructor",
            "Exactly one of lead, follow and instructor must be a Professional.",
        ),
        ("no partner", "Choose a partner."),
        ("nobody", "Not one of the choices."),
        ("no level", "Choose a level."),
        ("bad count", "Enter a whole number."),
        ("too many", "Enter a number from 0 to 20."),
        ("instructor is partner", "The instructor can't also be the partner."),
    ],
)
def test_grid_refused(tmp_path: Path, case: str, message: str) -> None:
    """Each rule of the grid answers 422 with its message and changes nothing."""
    client = new_event(tmp_path)
    couple = Couple(client)
    other = person(client, "Roe, Rick", "Student", "Leader", couple.studio)
    second_pro = person(client, "Lee, Lou", "Professional", "Leader", couple.studio)
    waltz = dance_id(client, "Waltz")
    data = grid(couple, **{f"closed_{waltz}": "1"})
    data.update(
        {
            "two students": {"partner": str(other)},
            "pro and instructor": {"instructor": str(second_pro)},
            "no partner": {"partner": ""},
            "nobody": {"partner": "0"},
            "no level": {"level": ""},
            "bad count": {f"closed_{waltz}": "two"},
            "too many": {f"closed_{waltz}": "21"},
            "instructor is partner": {"instructor": str(couple.pro)},
        }[case]
    )
    refused(client, f"/people/{couple.student}/entries", data, message)


def test_partnerless_entries_allow_nobody(tmp_path: Path) -> None:
    """With partnerless entries allowed, Nobody may be the partner (with an instructor)."""
    client = new_event(tmp_path)
    couple = Couple(client)
    client.db.conn.execute("UPDATE events SET partnerless_entries = 1")
    waltz = dance_id(client, "Waltz")
    path = f"/people/{couple.student}/entries"
    data = grid(couple, partner="0", instructor=str(couple.pro), **{f"closed_{waltz}": "1"})
    saved(client, path, data, f"{path}?entry=1")
    assert tuple(client.db.one("SELECT lead_id, follow_id FROM entries")) == (0, couple.student)


def test_role_both_must_choose_a_side(tmp_path: Path) -> None:
    """A student whose role is Both must say whether they lead or follow in this couple."""
    client = new_event(tmp_path)
    couple = Couple(client)
    both = person(client, "Roe, Rita", "Student", "Both", couple.studio)
    waltz = dance_id(client, "Waltz")
    path = f"/people/{both}/entries"
    refused(client, path, grid(couple, **{f"closed_{waltz}": "1"}), "Does Rita Roe lead or follow?")
    saved(client, path, grid(couple, side="Leader", **{f"closed_{waltz}": "1"}), f"{path}?entry=1")
    assert tuple(client.db.one("SELECT lead_id, follow_id FROM entries")) == (both, couple.pro)


def test_same_couple_not_entered_twice(tmp_path: Path) -> None:
    """A new partner grid for a couple that already has an entry is refused (422)."""
    client = new_event(tmp_path)
    couple = Couple(client)
    couple.entry()
    waltz = dance_id(client, "Waltz")
    refused(
        client,
        f"/people/{couple.student}/entries",
        grid(couple, **{f"closed_{waltz}": "1"}),
        "This couple already has an entry at this level and age",
    )


def test_entry_of_someone_else_refused(tmp_path: Path) -> None:
    """Posting another student's entry id to a grid is refused (422)."""
    client = new_event(tmp_path)
    couple = Couple(client)
    other = person(client, "Roe, Rita", "Student", "Follower", couple.studio)
    theirs = insert(client, "entries", lead_id=couple.pro, follow_id=other, level_id=3, age_id=2)
    refused(
        client,
        f"/people/{couple.student}/entries",
        grid(couple, entry=str(theirs)),
        "Not one of the choices.",
    )
