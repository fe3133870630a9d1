"""The public pages of an event: heat list, counter and current.json (no auth, no forms)."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from showcase.event.db import insert_row
from showcase.event.defaults import populate_new_event
from showcase.event.public import publish_current_heat
from tests.eventsupport import EventClient


def dance_id(conn: sqlite3.Connection, name: str) -> int:
    return int(conn.execute("SELECT id FROM dances WHERE name = ?", (name,)).fetchone()[0])


def populate(conn: sqlite3.Connection) -> None:
    """Two couples in heat 1 (Waltz), one in heat 2 (Tango), a solo in heat 3, one heat
    unscheduled (0) and one scratched (-4); heat 2 on the floor; a gold counter colour."""
    populate_new_event(conn, "Spring Showcase", "2026-04-18")
    conn.execute("UPDATE events SET current_heat = 2, counter_color = '#FFD700'")
    studio = insert_row(conn, "studios", name="Starlight")
    pro = insert_row(
        conn,
        "people",
        name="Ortega, Sam",
        type="Professional",
        role="Leader",
        studio_id=studio,
        back=101,
    )
    level = conn.execute("SELECT min(id) FROM levels").fetchone()[0]
    age = conn.execute("SELECT min(id) FROM ages").fetchone()[0]
    students = []
    for name, back in (("Keller, Helen", 201), ("Bennett, Chloe", 202), ("<b>Bold</b>, Eve", 203)):
        students.append(
            insert_row(
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
        )
    other_pro = insert_row(
        conn,
        "people",
        name="Hale, Colin",
        type="Professional",
        role="Leader",
        studio_id=studio,
        back=102,
    )
    entries = [
        insert_row(conn, "entries", lead_id=pro, follow_id=students[0], level_id=level, age_id=age),
        insert_row(
            conn, "entries", lead_id=other_pro, follow_id=students[1], level_id=level, age_id=age
        ),
        insert_row(
            conn, "entries", lead_id=other_pro, follow_id=students[2], level_id=level, age_id=age
        ),
    ]
    waltz, tango, rumba = (dance_id(conn, d) for d in ("Waltz", "Tango", "Rumba"))
    rows = [
        (1.0, "Closed", waltz, entries[0]),
        (1.0, "Closed", waltz, entries[1]),
        (2.0, "Closed", tango, entries[0]),
        (3.0, "Solo", rumba, entries[2]),
        (0.0, "Closed", rumba, entries[1]),
        (-4.0, "Closed", tango, entries[1]),
    ]
    for number, kind, dance, entry in rows:
        heat = insert_row(
            conn, "heats", number=number, category=kind, dance_id=dance, entry_id=entry
        )
        if kind == "Solo":
            insert_row(conn, "solos", heat_id=heat, order=1, song="Sway", artist="Buble")


@pytest.fixture
def client(tmp_path: Path) -> EventClient:
    return EventClient(tmp_path, populate)


def heat_numbers(body: str) -> list[str]:
    return re.findall(r'data-heatlist-target="heat" data-number="([^"]+)"', body)


def test_heat_list_shows_only_scheduled_heats(client: EventClient) -> None:
    """The public heat list shows every heat numbered above 0, solos included, in order."""
    code, body = client.get("public/heats")
    assert code == 200
    assert heat_numbers(body) == ["1", "2", "3"]
    assert "Helen Keller" in body and "Chloe Bennett" in body
    assert "Sam Ortega" in body
    assert "-4" not in heat_numbers(body) and "0" not in heat_numbers(body)


def test_heat_list_needs_no_cookie_or_token(client: EventClient) -> None:
    """A browser with no cookies (no session, no CSRF token) gets the public pages."""
    for path in ("public/heats", "public/counter", "public/current.json"):
        code, _ = client.get(path, cookies={})
        assert code == 200, path


def test_heat_list_marks_the_current_heat(client: EventClient) -> None:
    """The heat on the floor carries id="current-heat" (and only that one)."""
    _, body = client.get("public/heats")
    assert body.count('id="current-heat"') == 1
    row = re.search(r'<article class="heat current" id="current-heat"[^>]*>', body)
    assert row is not None
    assert 'data-number="2"' in row.group(0)


def test_heat_list_keeps_a_target_when_no_heat_is_current(client: EventClient) -> None:
    """With no current heat, a hidden #current-heat placeholder is there for the stream."""
    with client.db.transaction():
        client.db.execute("UPDATE events SET current_heat = 0")
    _, body = client.get("public/heats")
    assert body.count('id="current-heat"') == 1
    assert "data-heatlist-placeholder" in body


def test_heat_list_query_hides_other_heats(client: EventClient) -> None:
    """?query= (a back number or name) leaves only the heats holding it visible."""
    _, body = client.get("public/heats?query=202")
    visible = re.findall(r'<article class="heat[^"]*"[^>]*data-number="([^"]+)"(?! hidden)>', body)
    hidden = re.findall(r'data-number="([^"]+)" hidden>', body)
    assert visible == ["1"]
    assert sorted(hidden) == ["2", "3"]
    assert 'value="202"' in body


def test_heat_list_escapes_names(client: EventClient) -> None:
    """Names are shown as text, never as markup."""
    _, body = client.get("public/heats")
    assert "<b>Bold</b>" not in body
    assert "Eve &lt;b&gt;Bold&lt;/b&gt;" in body


def test_heat_list_loads_its_controller(client: EventClient) -> None:
    """The list is wired to the heatlist Stimulus controller (filter as you type)."""
    _, body = client.get("public/heats")
    assert 'data-controller="heatlist"' in body
    assert "controllers/heatlist_controller.js" in body
    assert 'data-action="input->heatlist#filter"' in body


def test_counter_shows_the_current_heat(client: EventClient) -> None:
    """The counter shows the current heat's number, dance, category and couples in #current-heat."""
    code, body = client.get("public/counter")
    assert code == 200
    fragment = body[body.index('id="current-heat"') :]
    assert 'data-number="2"' in fragment
    assert '<div class="counter-number">2</div>' in fragment
    assert '<div class="counter-dance">Tango</div>' in fragment
    assert "Closed American Smooth" in fragment
    assert '<span class="counter-back">101</span>' in fragment
    assert "Sam Ortega &amp; Helen Keller" in fragment


def test_counter_uses_the_counter_colour(client: EventClient) -> None:
    """The counter text takes events.counter_color."""
    _, body = client.get("public/counter")
    assert 'style="color: #FFD700"' in body
    assert 'class="counter-page"' in body


def test_counter_refuses_a_colour_that_is_not_one(client: EventClient) -> None:
    """A counter colour that is not a plain CSS colour is replaced by white."""
    with client.db.transaction():
        client.db.execute("UPDATE events SET counter_color = 'red; background: url(x)'")
    _, body = client.get("public/counter")
    assert 'style="color: #FFFFFF"' in body


def test_counter_without_a_current_heat_shows_zero(client: EventClient) -> None:
    """Before the first heat starts the counter shows 0 and no couples."""
    with client.db.transaction():
        client.db.execute("UPDATE events SET current_heat = NULL")
    _, body = client.get("public/counter")
    assert '<div class="counter-number">0</div>' in body
    assert "counter-couple" not in body


def test_current_json(client: EventClient) -> None:
    """current.json answers the current heat number with its dance and couples."""
    code, body = client.get("public/current.json")
    assert code == 200
    info = json.loads(body)
    assert info["current_heat"] == 2
    assert info["dance"] == "Tango"
    assert info["category"] == "Closed American Smooth"
    assert info["couples"] == [
        {"back": 101, "names": "Sam Ortega & Helen Keller", "studio": "Starlight", "ballroom": None}
    ]


def test_solo_is_listed_with_its_dancers(client: EventClient) -> None:
    """A solo heat appears under the Solos category of the agenda."""
    _, body = client.get("public/heats")
    solos = body[body.index("<h2>Solos") :]
    assert 'data-number="3"' in solos
    assert "Colin Hale &amp; Eve &lt;b&gt;" in solos


def test_publish_current_heat_sends_a_turbo_stream(client: EventClient) -> None:
    """publish_current_heat sends a turbo-stream replacing #current-heat on current-heat-<db>."""
    publish_current_heat(client.ctx)
    assert len(client.published) == 1
    stream, data = client.published[0]
    assert stream == "current-heat-event"
    assert isinstance(data, str)
    assert data.startswith('<turbo-stream action="replace" target="current-heat"><template>')
    assert 'id="current-heat"' in data and "Helen Keller" in data
