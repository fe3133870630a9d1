"""The index database read into what config generation needs: events and login users.

:func:`read_catalog` runs a handful of queries on an open ``sqlite3.Connection`` and
returns a frozen :class:`Catalog`, sorted so that everything built from it is
deterministic.  Rows that cannot be served are left out with a warning (``warn``), never
an exception: a bad key (one that cannot be a URL segment and a file name), a showcase
whose location is gone, a duplicate.  A missing table or column is an ``sqlite3.Error``
for the caller.

A location's region is its ``region`` column when that names a known region (or the
``regions`` table is empty); otherwise the known region nearest to its coordinates, as
the original's ``select_region_for_location`` does.
"""

from __future__ import annotations

import math
import re
import sqlite3
import unicodedata
from collections.abc import Callable, Mapping

import attrs

from showcase.router.htpasswd import verifier_for

Warn = Callable[[str], None]

SINGLE_EVENT_KEY = "showcase"
"""A location's only event of a year with this key lives at ``<year>/<location>/``."""

LOCATION_KEY = re.compile(r"[a-z0-9][a-z0-9_]*")
EVENT_KEY = re.compile(r"[a-z0-9][a-z0-9_-]*")
DEFAULT_LOCALES = ("en_US", "en-US")


@attrs.frozen
class Location:
    key: str
    name: str
    region: str | None
    logo: str | None = None
    locale: str | None = None  # None when it is the default (en_US)


@attrs.frozen
class Event:
    """One showcase: ``key`` None is a location's single ``showcase`` event of the year."""

    year: int
    location: Location
    key: str | None
    name: str
    date: str | None

    @property
    def scope(self) -> str:
        """``2025/boston`` or ``2025/boston/spring``."""
        parts = [str(self.year), self.location.key] + ([self.key] if self.key else [])
        return "/".join(parts)

    @property
    def db_name(self) -> str:
        """``2025-boston`` or ``2025-boston-spring`` (the database file without .sqlite3)."""
        return self.scope.replace("/", "-")


def display_text(value: object) -> str:
    """A name as text for YAML and env: control characters and line/paragraph separators
    (which YAML folds into spaces on reading) become spaces."""
    if not value:
        return ""
    text = str(value)
    return "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)


@attrs.frozen
class User:
    userid: str
    hash: str
    sites: frozenset[str] = frozenset()  # location names, or "index" for every location

    def may_use(self, location_name: str) -> bool:
        """May this user open the (non-public) pages of an event of ``location_name``?"""
        return "index" in self.sites or location_name in self.sites


def sites(value: str | None) -> frozenset[str]:
    """A user's ``sites`` column (comma-separated location names, or ``index``) as a set."""
    return frozenset(part.strip() for part in (value or "").split(",") if part.strip())


@attrs.frozen
class Region:
    code: str
    kind: str | None  # the ``type`` column: "fly", "kamal" or None


@attrs.frozen
class Catalog:
    events: tuple[Event, ...]  # by year, location key, event order
    users: tuple[User, ...]  # by userid
    regions: tuple[Region, ...] = ()  # by code, each code once


def read_catalog(conn: sqlite3.Connection, warn: Warn) -> Catalog:
    rows = conn.execute("SELECT code, latitude, longitude, type FROM regions ORDER BY code, id")
    places: dict[str, tuple[float | None, float | None]] = {}
    kinds: dict[str, str | None] = {}
    for code, lat, lon, kind in rows:
        if code:
            places[code], kinds[code] = (lat, lon), str(kind) if kind else None
    locations = _locations(conn, places, warn)
    return Catalog(
        events=_events(conn, locations, warn),
        users=_users(conn, warn),
        regions=tuple(Region(code, kind) for code, kind in kinds.items()),
    )


def _locations(
    conn: sqlite3.Connection,
    regions: dict[str, tuple[float | None, float | None]],
    warn: Warn,
) -> dict[int, Location]:
    found: dict[int, Location] = {}
    keys: set[str] = set()
    rows = conn.execute(
        "SELECT id, key, name, region, logo, locale, latitude, longitude FROM locations ORDER BY id"
    )
    for ident, key, name, region, logo, locale, lat, lon in rows:
        if not isinstance(key, str) or not LOCATION_KEY.fullmatch(key):
            warn(f"location {ident}: key {key!r} is not lower-case letters, digits and _; skipped")
            continue
        if key in keys:
            warn(f"location {ident}: key {key!r} is used by another location; skipped")
            continue
        keys.add(key)
        chosen = choose_region(region or None, lat, lon, regions)
        if region and chosen != region:
            warn(f"location {key!r}: region {region!r} is not in the regions table; using {chosen}")
        found[ident] = Location(
            key=key,
            name=display_text(name) or key,
            region=chosen,
            logo=str(logo) if logo else None,
            locale=None if not locale or locale in DEFAULT_LOCALES else str(locale),
        )
    return found


def choose_region(
    region: str | None,
    latitude: float | None,
    longitude: float | None,
    regions: Mapping[str, tuple[float | None, float | None]],
) -> str | None:
    """The region that owns a location (see the module docstring)."""
    if region and (not regions or region in regions):
        return region
    if latitude is None or longitude is None:
        return region
    best: tuple[float, str] | None = None
    for code, (lat, lon) in regions.items():
        if lat is None or lon is None:
            continue
        distance = haversine((latitude, longitude), (lat, lon))
        if best is None or (distance, code) < best:
            best = (distance, code)
    return best[1] if best is not None else region


def haversine(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in km between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 6371.0 * 2 * math.asin(min(1.0, math.sqrt(h)))


def _events(
    conn: sqlite3.Connection, locations: dict[int, Location], warn: Warn
) -> tuple[Event, ...]:
    groups: dict[tuple[int, str], list[tuple[str, str, str | None]]] = {}
    rows = conn.execute(
        'SELECT id, year, key, name, date, location_id FROM showcases ORDER BY year, "order"'
        ' IS NULL, "order", key, id'
    )
    for ident, year, key, name, date, location_id in rows:
        location = locations.get(location_id)
        if location is None:
            warn(f"showcase {ident}: no usable location {location_id}; skipped")
            continue
        if not isinstance(year, int) or not 1000 <= year <= 9999:
            warn(f"showcase {ident}: year {year!r} is not a 4-digit year; skipped")
            continue
        if not isinstance(key, str) or not EVENT_KEY.fullmatch(key):
            warn(
                f"showcase {ident}: key {key!r} is not lower-case letters, digits, _ and -; skipped"
            )
            continue
        group = groups.setdefault((year, location.key), [])
        if any(k == key for k, _, _ in group):
            warn(f"showcase {ident}: {year}/{location.key}/{key} exists already; skipped")
            continue
        group.append((key, display_text(name) or key, str(date) if date else None))
    by_key = {location.key: location for location in locations.values()}
    events: list[Event] = []
    for (year, location_key), group in sorted(groups.items()):
        location = by_key[location_key]
        single = len(group) == 1 and group[0][0] == SINGLE_EVENT_KEY
        for key, name, date in group:
            events.append(Event(year, location, None if single else key, name, date))
    return tuple(events)


def _users(conn: sqlite3.Connection, warn: Warn) -> tuple[User, ...]:
    users: dict[str, User] = {}
    rows = conn.execute("SELECT id, userid, password, sites FROM users ORDER BY id")
    for ident, userid, password, sites_column in rows:
        if not userid or not password:
            continue
        if (
            not isinstance(userid, str)
            or any(c in userid for c in ":\r\n")
            or userid.strip() != userid
        ):
            warn(f"user {ident}: user id {userid!r} cannot be an htpasswd name; left out")
            continue
        hashed = str(password).strip()
        if any(c.isspace() for c in hashed) or verifier_for(hashed) is None:
            warn(
                f"user {userid!r}: password is not a recognised hash (bcrypt, $apr1$, {{SHA}},"
                " $5$, $6$); left out of htpasswd"
            )
            continue
        if userid in users:
            warn(f"user {ident}: user id {userid!r} is used by another user; left out")
            continue
        users[userid] = User(userid, hashed, sites(str(sites_column or "")))
    return tuple(users[userid] for userid in sorted(users))
