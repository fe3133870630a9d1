"""Event settings: the form saves the events row's columns, and refuses what scoring.md forbids."""

from __future__ import annotations

from pathlib import Path

import pytest
from organizer_support import new_event, refused, saved

GOOD = {
    "name": "Autumn Showcase",
    "theme": "Under the stars",
    "date": "2026-10-02 - 2026-10-03",
    "location": "Grand Hall\nBoston",
    "ballrooms": "2",
    "max_heat_size": "6",
    "heat_range_level": "2",
    "heat_range_age": "3",
    "heat_range_cat": "1",
    "intermix": "1",
    "heat_length": "75",
    "solo_length": "150",
    "open_scoring": "&",
    "closed_scoring": "=",
    "multi_scoring": "#",
    "solo_scoring": "4",
    "judge_comments": "1",
    "assign_judges": "1",
    "counter_color": "#112233",
    "font_family": "Georgia, serif",
    "backnums": "1",
}


def test_settings_save_and_redirect(tmp_path: Path) -> None:
    """A valid settings post stores every field and redirects back to the settings page."""
    client = new_event(tmp_path)
    saved(client, "/event/settings", GOOD, "/event/settings")
    event = dict(client.db.one("SELECT * FROM events"))
    assert event["name"] == "Autumn Showcase"
    assert event["date"] == "2026-10-02 - 2026-10-03"
    assert event["location"] == "Grand Hall\nBoston"
    assert (event["ballrooms"], event["max_heat_size"]) == (2, 6)
    assert (event["heat_range_level"], event["heat_range_age"], event["heat_range_cat"]) == (
        2,
        3,
        1,
    )
    assert (event["heat_length"], event["solo_length"]) == (75, 150)
    assert [event[f"{k}_scoring"] for k in ("open", "closed", "multi", "solo")] == [
        "&",
        "=",
        "#",
        "4",
    ]
    assert (event["judge_comments"], event["assign_judges"], event["strict_scoring"]) == (1, 1, 0)
    assert event["counter_color"] == "#112233"
    assert event["font_family"] == "Georgia, serif"
    assert event["theme"] == "Under the stars"


def test_settings_leave_current_heat_alone(tmp_path: Path) -> None:
    """Saving settings never changes the current heat."""
    client = new_event(tmp_path)
    client.db.conn.execute("UPDATE events SET current_heat = 12")
    saved(client, "/event/settings", {**GOOD, "current_heat": "3"}, "/event/settings")
    assert client.db.value("SELECT current_heat FROM events") == 12


def test_unticked_boxes_are_stored_off(tmp_path: Path) -> None:
    """A checkbox left out of the post is stored 0."""
    client = new_event(tmp_path)
    data = {k: v for k, v in GOOD.items() if k not in ("intermix", "backnums")}
    saved(client, "/event/settings", data, "/event/settings")
    assert client.db.one("SELECT intermix, backnums FROM events")[:] == (0, 0)


def test_settings_page_shows_stored_values(tmp_path: Path) -> None:
    """The settings page shows the stored values selected."""
    client = new_event(tmp_path)
    saved(client, "/event/settings", GOOD, "/event/settings")
    _, body = client.get("/event/settings")
    assert 'value="Autumn Showcase"' in body
    assert '<option value="&amp;" selected>' in body


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", " ", "Enter the event's name."),
        ("date", "next Friday", "Enter a date as YYYY-MM-DD"),
        ("date", "2026-02-30", "There is no such date."),
        ("ballrooms", "5", "Enter a number from 1 to 4."),
        ("max_heat_size", "0", "Enter a number from 1 to 100."),
        ("max_heat_size", "", "Enter the most couples per heat."),
        ("heat_range_level", "7", "Enter a number from 0 to 6."),
        ("heat_range_cat", "2", "Not one of the choices."),
        ("heat_length", "ninety", "Enter a whole number."),
        ("open_scoring", "4", "Not one of the choices."),
        ("closed_scoring", "+", "Not one of the choices."),
        ("multi_scoring", "&", "Not one of the choices."),
        ("solo_scoring", "G", "Not one of the choices."),
        ("counter_color", "white", "Enter a colour as #RRGGBB."),
        ("font_family", "x; color: red", "Use font names separated by commas"),
    ],
)
def test_settings_refused(tmp_path: Path, field: str, value: str, message: str) -> None:
    """An invalid setting answers 422 with its message and saves nothing (not even valid fields)."""
    client = new_event(tmp_path)
    body = refused(client, "/event/settings", {**GOOD, field: value}, message)
    assert f'id="{field}-error"' in body
    if field != "name":
        assert 'value="Autumn Showcase"' in body  # what was typed is shown again
