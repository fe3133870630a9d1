"""Who may open and change what in the admin app: every route as an administrator
(``sites: index``), as Boston's site user and anonymously.

A refused request answers 403 and leaves every table as it was; an allowed post
changes something and answers 303.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from showcase.event.db import insert_row
from tests.indexsupport import IndexClient, fast_directory


@pytest.fixture
def index_dir() -> Iterator[Path]:
    """Where this test's index and event databases live (in memory when possible)."""
    yield from fast_directory()


ADMIN, SITE, ANON = "admin", "bostonian", None


def client(index_dir: Path) -> IndexClient:
    """An index with a 2025 event in Boston (iad) and one in Raleigh (ord)."""
    c = IndexClient(index_dir)
    with c.db.transaction():
        for city in ("boston", "raleigh"):
            c.ids[f"{city}-2025"] = insert_row(
                c.db.conn,
                "showcases",
                year=2025,
                key="showcase",
                name=f"{city.title()} 2025",
                location_id=c.ids[city],
            )
    return c


def path_of(c: IndexClient, template: str) -> str:
    return template.format(**c.ids)


def snapshot(c: IndexClient) -> dict[str, list[tuple[Any, ...]]]:
    tables = ("locations", "showcases", "users", "regions")
    return {t: [tuple(r) for r in c.db.query(f"SELECT * FROM {t} ORDER BY id")] for t in tables}


# -- pages ---------------------------------------------------------------------------------

GETS = [
    # path, admin, Boston's user, anonymous
    ("/", 200, 200, 200),
    ("/studios/", 200, 200, 200),
    ("/showcases/new", 200, 200, 403),
    ("/showcases/{boston-2025}/edit", 200, 200, 403),
    ("/showcases/{raleigh-2025}/edit", 200, 403, 403),
    ("/studios/boston/request", 200, 200, 303),
    ("/studios/raleigh/request", 200, 403, 303),
    ("/locations", 200, 200, 403),
    ("/locations/new", 200, 403, 403),
    ("/locations/{boston}/edit", 200, 200, 403),
    ("/locations/{raleigh}/edit", 200, 403, 403),
    ("/users", 200, 403, 403),
    ("/users/new", 200, 403, 403),
    ("/users/{bostonian}/edit", 200, 200, 403),
    ("/users/{admin}/edit", 200, 403, 403),
    ("/regions", 200, 403, 403),
    ("/regions/new", 200, 403, 403),
    ("/regions/{iad}/edit", 200, 403, 403),
    ("/config/progress", 200, 200, 403),
    ("/config/progress.json", 200, 200, 403),
]


@pytest.fixture(scope="module")
def shared() -> Iterator[IndexClient]:
    """One index for the GET matrix (reading pages changes nothing)."""
    for directory in fast_directory():
        yield client(directory)


@pytest.mark.parametrize(("path", "admin", "site", "anonymous"), GETS)
@pytest.mark.parametrize("who", ["admin", "site", "anonymous"])
def test_page_access(
    shared: IndexClient, path: str, admin: int, site: int, anonymous: int, who: str
) -> None:
    """Each admin page answers the user by the rule of showcase/index/access.py."""
    c = shared
    user = {"admin": ADMIN, "site": SITE, "anonymous": ANON}[who]
    expected = {"admin": admin, "site": site, "anonymous": anonymous}[who]
    status, body, _ = c.get(path_of(c, path), user)
    assert status == expected, body[:500]


def test_anonymous_request_link_leads_to_the_sign_in_protected_form(index_dir: Path) -> None:
    """An anonymous studio's "request an event" link goes to showcases/new for that location."""
    c = client(index_dir)
    status, _, location = c.get("/studios/boston/request")
    assert (status, location) == (303, f"/showcase/showcases/new?location={c.ids['boston']}")
    status, body, _ = c.get(location.removeprefix("/showcase"), SITE)
    assert status == 200
    assert f'<option value="{c.ids["boston"]}" selected>' in body


def test_site_user_is_offered_only_their_locations(index_dir: Path) -> None:
    """The location select of a site user lists the locations in their sites only."""
    c = client(index_dir)
    _, body, _ = c.get("/showcases/new", SITE)
    assert "Boston" in body and "Raleigh" not in body


def test_user_without_sites_may_not_create_events(index_dir: Path) -> None:
    """A signed-in user whose sites name no location gets 403 on showcases/new."""
    c = client(index_dir)
    assert c.get("/showcases/new", "nobody")[0] == 403


def test_unknown_user_is_treated_as_having_no_sites(index_dir: Path) -> None:
    """A forwarded user name without a users row may open no admin page."""
    c = client(index_dir)
    assert c.get("/locations", "stranger")[0] == 403


# -- posts ---------------------------------------------------------------------------------

EVENT = {"year": "2026", "key": "spring", "name": "Spring", "date": "2026-04-01"}
POSTS: list[tuple[str, dict[str, str], int, int, int]] = [
    ("/showcases/new", {**EVENT, "location": "{boston}"}, 303, 303, 403),
    ("/showcases/new", {**EVENT, "location": "{raleigh}"}, 303, 403, 403),
    (
        "/showcases/{boston-2025}/edit",
        {"year": "2025", "key": "showcase", "name": "Renamed", "location": "{boston}"},
        303,
        303,
        403,
    ),
    (
        "/showcases/{raleigh-2025}/edit",
        {"year": "2025", "key": "showcase", "name": "Renamed", "location": "{raleigh}"},
        303,
        403,
        403,
    ),
    (
        "/showcases/{boston-2025}/edit",
        {"year": "2025", "key": "moved", "name": "Moved", "location": "{raleigh}"},
        303,
        403,
        403,
    ),
    ("/studios/boston/request", EVENT, 303, 303, 403),
    ("/studios/raleigh/request", EVENT, 303, 403, 403),
    ("/locations/new", {"name": "Austin", "key": "austin", "region": "iad"}, 303, 403, 403),
    (
        "/locations/{boston}/edit",
        {"name": "Boston", "key": "boston", "region": "iad", "logo": "b.png"},
        303,
        303,
        403,
    ),
    (
        "/locations/{raleigh}/edit",
        {"name": "Raleigh", "key": "raleigh", "region": "ord", "logo": "r.png"},
        303,
        403,
        403,
    ),
    (
        "/users/new",
        {"userid": "carol", "password": "p" * 8, "password_confirmation": "p" * 8},
        303,
        403,
        403,
    ),
    (
        "/users/{bostonian}/edit",
        {"email": "b@example.com", "userid": "bostonian", "sites": "Boston"},
        303,
        303,
        403,
    ),
    (
        "/users/{admin}/edit",
        {"email": "a@example.com", "userid": "admin", "sites": "index"},
        303,
        403,
        403,
    ),
    ("/regions/new", {"code": "syd", "type": "fly", "location": "Sydney"}, 303, 403, 403),
    ("/regions/{iad}/edit", {"code": "iad", "type": "kamal", "location": "Ashburn"}, 303, 403, 403),
]


@pytest.mark.parametrize(("path", "data", "admin", "site", "anonymous"), POSTS)
@pytest.mark.parametrize("who", ["admin", "site", "anonymous"])
def test_post_access(
    index_dir: Path,
    path: str,
    data: dict[str, str],
    admin: int,
    site: int,
    anonymous: int,
    who: str,
) -> None:
    """A post the user may make saves (303); any other is 403 and changes nothing."""
    c = client(index_dir)
    user = {"admin": ADMIN, "site": SITE, "anonymous": ANON}[who]
    expected = {"admin": admin, "site": site, "anonymous": anonymous}[who]
    before = snapshot(c)
    fields = {k: v.format(**c.ids) for k, v in data.items()}
    status, body, _ = c.post_form(path_of(c, path), fields, user)
    assert status == expected, body[:800]
    if expected == 303:
        assert snapshot(c) != before
    else:
        assert snapshot(c) == before
        assert c.generated == [] and c.signals == []


def test_site_user_cannot_rename_or_move_their_location(index_dir: Path) -> None:
    """A site user's post of a location's name, key or region is ignored (logo still saved)."""
    c = client(index_dir)
    status, _, _ = c.post_form(
        f"/locations/{c.ids['boston']}/edit",
        {"name": "Hacked", "key": "hacked", "region": "ord", "logo": "b.png", "locale": "en_US"},
        SITE,
    )
    assert status == 303
    row = c.db.one("SELECT name, key, region, logo FROM locations WHERE id = ?", [c.ids["boston"]])
    assert row is not None and tuple(row) == ("Boston", "boston", "iad", "b.png")


def test_site_user_cannot_give_themselves_sites(index_dir: Path) -> None:
    """A site user's post of their own login name or sites is ignored."""
    c = client(index_dir)
    status, _, _ = c.post_form(
        f"/users/{c.ids['bostonian']}/edit",
        {"userid": "root", "sites": "index", "email": "b@example.com"},
        SITE,
    )
    assert status == 303
    row = c.db.one("SELECT userid, sites FROM users WHERE id = ?", [c.ids["bostonian"]])
    assert row is not None and tuple(row) == ("bostonian", "Boston")


def test_post_without_csrf_token_is_refused(index_dir: Path) -> None:
    """A form post without the CSRF cookie and token is 403 and saves nothing."""
    c = client(index_dir)
    before = snapshot(c)
    status, _, _ = c.post_form("/regions/new", {"code": "syd", "type": "fly"}, ADMIN, csrf=False)
    assert status == 403
    assert snapshot(c) == before


def test_snapshot_sees_every_table(index_dir: Path) -> None:
    """(The matrix's "nothing changed" check would notice a change in any index table.)"""
    c = client(index_dir)
    before = snapshot(c)
    with c.db.transaction():
        c.db.execute("UPDATE regions SET location = 'x'")
    assert snapshot(c) != before
    assert isinstance(c.db.conn, sqlite3.Connection)


def test_administrator_without_locations_is_sent_to_add_one(index_dir: Path) -> None:
    """On an index with no location yet, an administrator's "new event" leads to the new
    location form (an event needs a location) instead of a 403."""
    c = IndexClient(index_dir)
    with c.db.transaction():
        c.db.execute("DELETE FROM locations")
    status, _, location = c.get("/showcases/new", ADMIN)
    assert (status, location) == (303, "/showcase/locations/new")
