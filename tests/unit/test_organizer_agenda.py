"""Dances and agenda categories: edit where each kind of heat lands; new, edit, delete, reorder."""

from __future__ import annotations

from pathlib import Path

import pytest
from organizer_support import dance_id, insert, new_event, refused, saved

from tests.eventsupport import EventClient


def category_id(client: EventClient, name: str) -> int:
    return int(client.db.value("SELECT id FROM categories WHERE name = ?", [name]))


def agenda(client: EventClient) -> list[str]:
    return [r[0] for r in client.db.query('SELECT name FROM categories ORDER BY "order"')]


def dance_form(client: EventClient, **changes: str) -> dict[str, str]:
    data = {
        "name": "Waltz",
        "order": "1",
        "heat_length": "",
        "closed_category_id": str(category_id(client, "Closed American Smooth")),
        "open_category_id": str(category_id(client, "Open American Smooth")),
        "solo_category_id": str(category_id(client, "Solos")),
        "multi_category_id": "",
    }
    data.update(changes)
    return data


def test_dances_list_where_heats_land(tmp_path: Path) -> None:
    """The dance list shows, for each dance, the category each kind of heat lands in."""
    client = new_event(tmp_path)
    _, body = client.get("/dances")
    row = body[body.index("<td>Rumba") :].split("</tr>")[0]
    assert "Closed American Rhythm" in row and "Open American Rhythm" in row and "Solos" in row


def test_dance_edited(tmp_path: Path) -> None:
    """Editing a dance moves its Open heats to another category and renames it."""
    client = new_event(tmp_path)
    waltz = dance_id(client, "Waltz")
    solos = str(category_id(client, "Solos"))
    saved(
        client,
        f"/dances/{waltz}/edit",
        dance_form(client, name="Slow Waltz", open_category_id=solos),
        "/dances",
    )
    row = client.db.one("SELECT name, open_category_id FROM dances WHERE id = ?", [waltz])
    assert tuple(row) == ("Slow Waltz", int(solos))


def test_new_multi_dance(tmp_path: Path) -> None:
    """A new multi-dance is saved with its number of dances."""
    client = new_event(tmp_path)
    multi = str(category_id(client, "Multi-Dance"))
    data = dance_form(client, name="All Around Smooth", order="31", heat_length="3")
    data.update(closed_category_id="", open_category_id="", multi_category_id=multi)
    saved(client, "/dances/new", data, "/dances")
    row = client.db.one(
        "SELECT heat_length, multi_category_id FROM dances WHERE name = ?", ["All Around Smooth"]
    )
    assert tuple(row) == (3, int(multi))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "Tango"}, "There is already a dance of that name."),
        ({"order": "3"}, "Tango already has that place."),
        ({"order": "0"}, "The order is a positive number"),
        ({"name": ""}, "Enter the dance's name."),
        ({"open_category_id": "999"}, "Not one of the choices."),
        ({"heat_length": "1"}, "Enter a number from 2 to 12."),
    ],
)
def test_dance_refused(tmp_path: Path, changes: dict[str, str], message: str) -> None:
    """Each rule on a dance answers 422 with its message and saves nothing."""
    client = new_event(tmp_path)
    waltz = dance_id(client, "Waltz")
    refused(client, f"/dances/{waltz}/edit", dance_form(client, **changes), message)


def test_new_category_goes_last(tmp_path: Path) -> None:
    """A new category is saved with its day, time and limits at the end of the agenda."""
    client = new_event(tmp_path)
    data = {
        "name": "Showcase Finale",
        "day": "Saturday",
        "time": "9:05",
        "duration": "30",
        "max_heat_size": "4",
        "ballrooms": "1",
    }
    saved(client, "/categories/new", data, "/categories")
    assert agenda(client)[-1] == "Showcase Finale"
    row = client.db.one(
        "SELECT day, time, duration, max_heat_size, ballrooms FROM categories WHERE name = ?",
        ["Showcase Finale"],
    )
    assert tuple(row) == ("Saturday", "09:05", 30, 4, 1)


def test_category_edited(tmp_path: Path) -> None:
    """Editing a category saves its new name and clears emptied fields."""
    client = new_event(tmp_path)
    solos = category_id(client, "Solos")
    saved(
        client, f"/categories/{solos}/edit", {"name": "Solo Spotlight", "time": ""}, "/categories"
    )
    assert tuple(client.db.one("SELECT name, time FROM categories WHERE id = ?", [solos])) == (
        "Solo Spotlight",
        None,
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "Solos"}, "There is already a category of that name."),
        ({"name": ""}, "Enter the category's name."),
        ({"time": "7pm"}, "Enter a time as HH:MM (24 hours)."),
        ({"duration": "-5"}, "Enter a number from 0 to 1440."),
        ({"max_heat_size": "0"}, "Enter a number from 1 to 100."),
        ({"ballrooms": "5"}, "Enter a number from 1 to 4."),
    ],
)
def test_category_refused(tmp_path: Path, changes: dict[str, str], message: str) -> None:
    """Each rule on a category answers 422 with its message and saves nothing."""
    client = new_event(tmp_path)
    refused(client, "/categories/new", {"name": "Finale", **changes}, message)


def test_category_moves_up_and_down(tmp_path: Path) -> None:
    """Up swaps a category with the one before, down with the one after; the ends stay put."""
    client = new_event(tmp_path)
    names = agenda(client)
    second = category_id(client, names[1])
    saved(client, f"/categories/{second}/move", {"direction": "up"}, "/categories")
    assert agenda(client)[:2] == [names[1], names[0]]
    saved(client, f"/categories/{second}/move", {"direction": "up"}, "/categories")
    assert agenda(client)[:2] == [names[1], names[0]]
    saved(client, f"/categories/{second}/move", {"direction": "down"}, "/categories")
    assert agenda(client) == names


def test_move_needs_a_direction(tmp_path: Path) -> None:
    """A move that is neither up nor down answers 422 and changes nothing."""
    client = new_event(tmp_path)
    refused(client, "/categories/1/move", {"direction": "sideways"}, "Move a category up or down.")


def test_category_deleted_dances_unlinked(tmp_path: Path) -> None:
    """Deleting a category removes it and leaves its dances without a category for that kind."""
    client = new_event(tmp_path)
    smooth = category_id(client, "Closed American Smooth")
    insert(client, "cat_extensions", category_id=smooth, part=2)
    saved(client, f"/categories/{smooth}/delete", {}, "/categories")
    assert "Closed American Smooth" not in agenda(client)
    assert client.db.value("SELECT closed_category_id FROM dances WHERE name = 'Waltz'") is None
    assert client.db.value("SELECT count(*) FROM cat_extensions") == 0
