"""Which region owns which database, read from ``showcases.yml`` (spec/cli.md).

``showcases.yml`` maps year → location key → ``{name, region, …}`` plus either
``date`` (one event: the database is ``<year>-<location>.sqlite3``) or
``events`` → event key → ``{name, date?}`` (one database
``<year>-<location>-<event>.sqlite3`` each).  Every database of a location
belongs to the location's ``region``; a location without a region belongs to
nobody.  ``index.sqlite3`` (the admin app's) is not in the file: it belongs to
the region given as ``index_region``, or to nobody.  Other files in the
database directory (``demo.sqlite3``, snapshots) belong to nobody: nobody
pushes them and no peer may write them.

A database name claimed by two regions (``2025-a-b`` as location ``a`` event
``b`` and as location ``a-b``) counts as owned by both, so each side keeps its
own and refuses the other's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import yaml

SHOWCASES_FILE = "showcases.yml"
INDEX_DB = "index.sqlite3"
SUFFIX = ".sqlite3"
KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
"""Year, location and event keys: safe as file names and as rsync filter patterns."""

Regions = Mapping[str, frozenset[str]]
"""Database file name → the regions that own it."""


class ShowcasesError(ValueError):
    """showcases.yml is not the shape spec/cli.md gives; the message says where."""


def read_showcases(path: str) -> dict[str, frozenset[str]]:
    """The owners of every database named in the showcases.yml at ``path``.

    Raises :class:`OSError` when the file cannot be read and
    :class:`ShowcasesError` when it is not valid.
    """
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ShowcasesError(f"{path}: not YAML: {e}") from e
    return database_regions(data, path)


def database_regions(data: object, source: str = SHOWCASES_FILE) -> dict[str, frozenset[str]]:
    """Database file name → owning regions, from the parsed showcases.yml ``data``."""
    if data is None:
        return {}
    found: dict[str, set[str]] = {}
    for year, locations in _mapping(data, source).items():
        year_key = _key(year, source, "year")
        if not year_key.isdigit():
            raise ShowcasesError(f"{source}: year {year_key!r} is not a number")
        for location, info in _mapping(locations, f"{source}: {year_key}").items():
            where = f"{source}: {year_key}.{location}"
            location_key = _key(location, where, "location")
            details = _mapping(info, where)
            region = details.get("region")
            if region is not None and not isinstance(region, str):
                raise ShowcasesError(f"{where}.region: expected text, got {region!r}")
            for name in _names(year_key, location_key, details, where):
                owners = found.setdefault(name, set())
                if region:
                    owners.add(region)
    return {name: frozenset(owners) for name, owners in found.items()}


def _names(year: str, location: str, details: Mapping[object, object], where: str) -> list[str]:
    if "events" not in details:
        return [f"{year}-{location}{SUFFIX}"]
    events = details["events"]
    if events is None:
        return []
    return [
        f"{year}-{location}-{_key(event, where, 'event')}{SUFFIX}"
        for event in _mapping(events, f"{where}.events")
    ]


def _mapping(value: object, where: str) -> Mapping[object, object]:
    if not isinstance(value, Mapping):
        raise ShowcasesError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def _key(value: object, where: str, what: str) -> str:
    text = str(value)
    if isinstance(value, bool) or not isinstance(value, str | int) or not KEY.fullmatch(text):
        raise ShowcasesError(f"{where}: {what} key {value!r} is not a valid name")
    return text


def owned_by(regions: Regions, region: str, index_region: str | None = None) -> frozenset[str]:
    """The database names ``region`` owns (``index.sqlite3`` when it is ``index_region``)."""
    names = {name for name, owners in regions.items() if region in owners}
    if index_region == region:
        names.add(INDEX_DB)
    return frozenset(names)


def owned_elsewhere(
    regions: Regions, region: str, index_region: str | None = None
) -> frozenset[str]:
    """The database names only other regions own: what their peers may push to ``region``."""
    names = {name for name, owners in regions.items() if owners and region not in owners}
    if index_region is not None and index_region != region:
        names.add(INDEX_DB)
    return frozenset(names)


def database_name(value: str) -> str:
    """The database file name in ``value``: a name (``2026-boston``), file name or path."""
    name = value.rstrip("/").rsplit("/", 1)[-1]
    return name if name.endswith(SUFFIX) else name + SUFFIX
