"""Routes of the event app: the organizer's pages (settings, studios, people, dances, agenda,
entries, solos), each area in its own module; ``templates/organizer/nav.html`` links them."""

from __future__ import annotations

from klein import Klein

from . import (
    category_pages,
    dance_pages,
    entry_pages,
    people_pages,
    settings_pages,
    solo_pages,
    studio_pages,
)
from .context import Context


def register(app: Klein, ctx: Context) -> None:
    """Add this area's routes to ``app``."""
    for area in (
        settings_pages,
        studio_pages,
        people_pages,
        entry_pages,
        dance_pages,
        category_pages,
        solo_pages,
    ):
        area.register(app, ctx)
