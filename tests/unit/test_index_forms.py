"""The admin forms: refused input is shown again (422) with its message and saves nothing;
passwords are stored as bcrypt hashes; a change that would orphan an event database is
refused; a saved change (a rename too) is applied again."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from showcase.event.db import create, insert_row
from showcase.router.htpasswd import verifier_for
from tests.indexsupport import IndexClient, fast_directory


@pytest.fixture
def index_dir() -> Iterator[Path]:
    """Where this test's index and event databases live (in memory when possible)."""
    yield from fast_directory()


ADMIN = "admin"


@pytest.fixture
def c(index_dir: Path) -> IndexClient:
    return IndexClient(index_dir)


def boston_event(c: IndexClient, key: str = "showcase", year: int = 2025) -> int:
    with c.db.transaction():
        return insert_row(
            c.db.conn, "showcases", year=year, key=key, name="Boston", location_id=c.ids["boston"]
        )


def local_database(c: IndexClient, name: str) -> str:
    path = os.path.join(c.settings.db_dir, name + ".sqlite3")
    create(path)
    return path


REFUSED = [
    (
        "/showcases/new",
        {"year": "2025", "key": "Spring!", "name": "S", "location": "{boston}"},
        "lower-case letters",
    ),
    (
        "/showcases/new",
        {"year": "25", "key": "s", "name": "S", "location": "{boston}"},
        "from 2000 to 2100",
    ),
    (
        "/showcases/new",
        {"year": "2025", "key": "s", "name": "", "location": "{boston}"},
        "Enter the event&#39;s name",
    ),
    (
        "/showcases/new",
        {"year": "2025", "key": "s", "name": "S", "date": "2025-02-30", "location": "{boston}"},
        "no such date",
    ),
    ("/showcases/new", {"year": "2025", "key": "s", "name": "S"}, "Choose the location"),
    (
        "/showcases/new",
        {"year": "2025", "key": "s", "name": "S", "location": "999"},
        "Not one of the choices",
    ),
    ("/locations/new", {"name": "Boston", "key": "boston2"}, "already a location with that name"),
    ("/locations/new", {"name": "A, B", "key": "ab"}, "may not contain a comma"),
    (
        "/locations/new",
        {"name": "Austin", "key": "austin", "region": "xyz"},
        "Not one of the choices",
    ),
    ("/users/new", {"userid": "carol"}, "Enter a password"),
    (
        "/users/new",
        {"userid": "carol", "password": "short", "password_confirmation": "short"},
        "At least 8",
    ),
    (
        "/users/new",
        {"userid": "carol", "password": "long enough", "password_confirmation": "other one"},
        "two passwords differ",
    ),
    (
        "/users/new",
        {"userid": "a:b", "password": "long enough", "password_confirmation": "long enough"},
        "no spaces or colons",
    ),
    (
        "/users/new",
        {"userid": "admin", "password": "long enough", "password_confirmation": "long enough"},
        "already a user",
    ),
    (
        "/users/new",
        {
            "userid": "carol",
            "sites": "Boston,Atlantis",
            "password": "long enough",
            "password_confirmation": "long enough",
        },
        "No location called Atlantis",
    ),
    ("/users/{admin}/edit", {"userid": "admin", "sites": "Boston"}, "Keep index in your own sites"),
    ("/regions/new", {"code": "iad", "type": "fly"}, "already a region"),
    ("/regions/new", {"code": "syd", "type": "ship"}, "Not one of the choices"),
]


@pytest.mark.parametrize(("path", "data", "message"), REFUSED)
def test_refused_input_is_shown_again_and_nothing_saved(
    c: IndexClient, path: str, data: dict[str, str], message: str
) -> None:
    """Refused input answers 422 with the form, its message, and nothing written or applied."""
    before = {t: c.count(t) for t in ("showcases", "locations", "users", "regions")}
    sites = c.db.value("SELECT sites FROM users WHERE userid = 'admin'")
    fields = {k: v.format(**c.ids) for k, v in data.items()}
    status, body, _ = c.post_form(path.format(**c.ids), fields, ADMIN)
    assert status == 422
    assert message in body
    assert "Nothing was saved" in body
    assert {t: c.count(t) for t in before} == before
    assert c.db.value("SELECT sites FROM users WHERE userid = 'admin'") == sites
    assert c.generated == [] and c.published == []


def test_refused_form_keeps_what_was_typed(c: IndexClient) -> None:
    """The redisplayed form holds the posted values (so nothing has to be typed again)."""
    status, body, _ = c.post_form(
        "/showcases/new",
        {"year": "2025", "key": "BAD", "name": "Fall Ball", "location": str(c.ids["boston"])},
        ADMIN,
    )
    assert status == 422
    assert 'value="Fall Ball"' in body and 'value="BAD"' in body


def test_password_is_stored_as_bcrypt_and_verifies(c: IndexClient) -> None:
    """A new user's password is stored as a $2y$ bcrypt hash that checks, never as text."""
    status, _, _ = c.post_form(
        "/users/new",
        {
            "userid": "carol",
            "password": "tango time",
            "password_confirmation": "tango time",
            "sites": "Boston",
        },
        ADMIN,
    )
    assert status == 303
    stored = c.db.value("SELECT password FROM users WHERE userid = 'carol'")
    assert stored.startswith("$2y$")
    verify = verifier_for(stored)  # as the router checks the generated htpasswd
    assert verify is not None and verify(b"tango time")
    assert not verify(b"tango tim")


def test_password_is_never_echoed_on_a_refused_form(c: IndexClient) -> None:
    """A 422 user form does not carry the password typed."""
    _, body, _ = c.post_form(
        "/users/new",
        {"userid": "a b", "password": "secret pass", "password_confirmation": "secret pass"},
        ADMIN,
    )
    assert "secret pass" not in body


def test_empty_password_on_edit_keeps_the_old_one(c: IndexClient) -> None:
    """Editing a user with the password left empty keeps the stored hash."""
    uid = c.ids["bostonian"]
    before = c.db.value("SELECT password FROM users WHERE id = ?", [uid])
    status, _, _ = c.post_form(f"/users/{uid}/edit", {"email": "b@example.com"}, "bostonian")
    assert status == 303
    assert c.db.value("SELECT password FROM users WHERE id = ?", [uid]) == before
    assert c.db.value("SELECT email FROM users WHERE id = ?", [uid]) == "b@example.com"


def test_user_may_change_their_own_password(c: IndexClient) -> None:
    """A site user's new password replaces the hash and verifies."""
    uid = c.ids["bostonian"]
    status, _, _ = c.post_form(
        f"/users/{uid}/edit",
        {"password": "new password", "password_confirmation": "new password"},
        "bostonian",
    )
    assert status == 303
    verify = verifier_for(c.db.value("SELECT password FROM users WHERE id = ?", [uid]))
    assert verify is not None and verify(b"new password")


def test_duplicate_event_key_is_refused(c: IndexClient) -> None:
    """A second event of the same location, year and key is refused with a message."""
    boston_event(c, key="spring")
    status, body, _ = c.post_form(
        "/showcases/new",
        {"year": "2025", "key": "spring", "name": "Again", "location": str(c.ids["boston"])},
        ADMIN,
    )
    assert status == 422
    assert "already has a 2025 event so keyed" in body
    assert c.count("showcases") == 1


def test_rename_of_an_event_with_a_database_is_refused(c: IndexClient) -> None:
    """Changing the key of an event whose database exists here is refused: its data stays."""
    sid = boston_event(c)
    local_database(c, "2025-boston")
    status, body, _ = c.post_form(
        f"/showcases/{sid}/edit",
        {"year": "2025", "key": "fall", "name": "Boston", "location": str(c.ids["boston"])},
        ADMIN,
    )
    assert status == 422
    assert "2025-boston.sqlite3" in body
    assert c.db.value("SELECT key FROM showcases WHERE id = ?", [sid]) == "showcase"


def test_second_event_that_would_move_the_first_is_refused(c: IndexClient) -> None:
    """A second event at a location whose single event's database exists would move it: 422."""
    boston_event(c)
    local_database(c, "2025-boston")
    status, body, _ = c.post_form(
        "/showcases/new",
        {"year": "2025", "key": "fall", "name": "Fall", "location": str(c.ids["boston"])},
        ADMIN,
    )
    assert status == 422
    assert "2025-boston.sqlite3" in body
    assert c.count("showcases") == 1


def test_location_key_change_that_would_orphan_databases_is_refused(c: IndexClient) -> None:
    """A new location key that would rename an existing event database is refused."""
    boston_event(c)
    local_database(c, "2025-boston")
    status, body, _ = c.post_form(
        f"/locations/{c.ids['boston']}/edit",
        {"name": "Boston", "key": "beantown", "region": "iad"},
        ADMIN,
    )
    assert status == 422
    assert "2025-boston.sqlite3" in body


def test_rename_without_a_database_is_allowed(c: IndexClient) -> None:
    """Without a database here the key may change (nothing is left behind)."""
    sid = boston_event(c, key="spring")
    status, _, _ = c.post_form(
        f"/showcases/{sid}/edit",
        {"year": "2025", "key": "fall", "name": "Fall", "location": str(c.ids["boston"])},
        ADMIN,
    )
    assert status == 303
    assert c.db.value("SELECT key FROM showcases WHERE id = ?", [sid]) == "fall"


def test_renaming_an_event_regenerates_the_configuration(c: IndexClient) -> None:
    """Saving a new name for an event runs the generator and reloads the router again."""
    sid = boston_event(c)
    local_database(c, "2025-boston")
    status, _, location = c.post_form(
        f"/showcases/{sid}/edit",
        {
            "year": "2025",
            "key": "showcase",
            "name": "Boston Gala",
            "location": str(c.ids["boston"]),
        },
        ADMIN,
    )
    assert (status, location) == (303, "/showcase/config/progress")
    assert c.db.value("SELECT name FROM showcases WHERE id = ?", [sid]) == "Boston Gala"
    assert len(c.generated) == 1 and len(c.signals) == 1
    assert c.messages(ADMIN)[-1]["status"] == "completed"


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/users/new", {"userid": "dave", "password": "p" * 8, "password_confirmation": "p" * 8}),
        ("/locations/new", {"name": "Austin", "key": "austin", "region": "iad"}),
        ("/regions/new", {"code": "syd", "type": "fly"}),
    ],
)
def test_other_changes_are_applied_too(c: IndexClient, path: str, data: dict[str, str]) -> None:
    """A saved user, location or region regenerates (htpasswd, routes) and reloads."""
    status, _, _ = c.post_form(path, data, ADMIN)
    assert status == 303
    assert len(c.generated) == 1 and len(c.signals) == 1
    assert c.messages(ADMIN)[-1] == {
        "status": "completed",
        "progress": 100,
        "message": "Saved and applied.",
    }


def test_studios_index_lists_upcoming_events_by_year_and_city(c: IndexClient) -> None:
    """The public studios index shows events from today on, grouped by year then city."""
    with c.db.transaction():
        for year, key, name, date, city in (
            (2024, "old", "Long Ago", "2024-05-01", "boston"),
            (2025, "past", "Last Month", "2025-02-01", "boston"),
            (2025, "spring", "Boston Spring", "2025-04-01", "boston"),
            (2025, "fall", "Raleigh Fall", None, "raleigh"),
            (2026, "gala", "Boston Gala", "2026-01-10 - 2026-01-11", "boston"),
        ):
            insert_row(
                c.db.conn,
                "showcases",
                year=year,
                key=key,
                name=name,
                date=date,
                location_id=c.ids[city],
            )
    status, body, _ = c.get("/studios/")
    assert status == 200
    assert "Long Ago" not in body and "Last Month" not in body
    order = [
        body.index(s) for s in ("2025", "Boston Spring", "Raleigh Fall", "2026", "Boston Gala")
    ]
    assert order == sorted(order)
    assert 'href="/showcase/2025/boston/spring/"' in body
