"""The public studios index (``studios/``): upcoming events by year and city.

Anyone may read it (it is also the index page of an anonymous visitor).  An
event is upcoming when its last day is today or later; one without a date when
its year is this year or later.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from itertools import groupby
from typing import TYPE_CHECKING, Any

from klein import Klein
from twisted.web.server import Request

from .access import User
from .db import EventName, events

if TYPE_CHECKING:
    from .app import IndexContext


def last_day(value: str | None) -> date | None:
    """The last day of ``2025-04-12`` or ``2025-04-12 - 2025-04-13``; None if unreadable."""
    if not value:
        return None
    try:
        return date.fromisoformat(value.split(" - ")[-1].strip())
    except ValueError:
        return None


def upcoming(found: Iterable[EventName], today: date) -> list[EventName]:
    def ahead(e: EventName) -> bool:
        end = last_day(e.date)
        return end >= today if end is not None else e.year >= today.year

    return [e for e in found if ahead(e)]


def by_year_and_city(found: list[EventName]) -> list[tuple[int, list[tuple[str, list[Any]]]]]:
    """``[(year, [(city, [event, ...]), ...]), ...]`` in year, city and date order."""
    ordered = sorted(found, key=lambda e: (e.year, e.location_name.lower(), e.date or "", e.name))
    return [
        (year, [(city, list(inner)) for city, inner in groupby(group, lambda e: e.location_name)])
        for year, group in groupby(ordered, lambda e: e.year)
    ]


def studios_page(ctx: IndexContext, request: Request, user: User) -> bytes:
    listed = by_year_and_city(upcoming(events(ctx.db), ctx.today()))
    locations = [
        dict(r)
        for r in ctx.db.query("SELECT key, name FROM locations ORDER BY name COLLATE NOCASE")
    ]
    requestable = [loc for loc in locations if user.signed_in and user.manages(loc["name"])]
    return ctx.render_for(
        request, user, "index/studios.html", years=listed, requestable=requestable
    )


def register(app: Klein, ctx: IndexContext) -> None:
    @app.route("/studios/", methods=["GET"], endpoint="index_studios")
    def studios(request: Request) -> bytes:
        return studios_page(ctx, request, ctx.user(request))
