"""Public pages of an event (no auth, no forms): the heat list, the counter, current.json.

``<scope>/public/heats`` lists every scheduled heat (number > 0, solos included),
searchable by name, back number or studio (``?query=``, and as you type with the
``heatlist`` Stimulus controller), the heat on the floor marked ``id="current-heat"``.
``<scope>/public/counter`` shows the current heat large in the event's counter
colour, in one of four layouts (``?layout=1..4``, or ←/→ in the browser); its
``#current-heat`` element is the fragment :func:`current_heat_fragment` renders,
which :func:`publish_current_heat` sends as a turbo-stream on
``current-heat-<db>``.  ``<scope>/public/current.json`` is the counter's polling
fallback.  :func:`publish_score_update` sends results pages the turbo-stream
replacing their ``#last-score-update`` on ``live-scores-<db>``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from klein import Klein
from twisted.web.server import Request

from .context import Context
from .db import now
from .heatdata import (
    FloorHeat,
    agenda_names,
    agenda_sections,
    format_number,
    heat_on_floor,
    heat_starts,
    last_update,
    scheduled_heats,
    scheduler_data,
)

# The counter's layouts, by ?layout= number: the number alone; with the dance; with the
# dance and couples; the couples as a list beside the number.
LAYOUTS = ("number", "dance", "couples", "list")


def register(app: Klein, ctx: Context) -> None:
    """Add the public pages to ``app``."""

    @app.route("/public/heats", methods=["GET"], endpoint="public_heat_list")
    def heat_list(request: Request) -> bytes:
        query = _arg(request, b"query").strip()
        heats = scheduled_heats(ctx.db)
        current = current_number(ctx)
        sections = agenda_sections(ctx.db, heats, heat_starts(scheduler_data(ctx.db)))
        visible = _matches(query)
        return ctx.render(
            request,
            "public/heats.html",
            csrf_token="",
            sections=sections,
            current=current,
            query=query,
            visible=visible,
            section_visible=lambda section: any(visible(h) for h in section.heats),
            last_update=last_update(ctx.db),
        )

    @app.route("/public/counter", methods=["GET"], endpoint="public_counter")
    def counter(request: Request) -> bytes:
        heat = heat_on_floor(ctx.db, current_number(ctx))
        return ctx.render(
            request,
            "public/counter.html",
            csrf_token="",
            fragment=current_heat_fragment(ctx, heat),
            layout=counter_layout(_arg(request, b"layout")),
            layouts=LAYOUTS,
        )

    @app.route("/public/current.json", methods=["GET"], endpoint="public_current_json")
    def current_json(request: Request) -> bytes:
        request.setHeader(b"cache-control", b"no-store")
        return ctx.json(request, current_heat_info(ctx))


def _arg(request: Request, name: bytes) -> str:
    args: dict[bytes, list[bytes]] = request.args or {}
    values = args.get(name) or [b""]
    return values[0].decode("utf-8", "replace")


def _matches(query: str) -> Callable[[FloorHeat], bool]:
    """A test for a heat: does it hold every word of ``query``?"""
    words = query.lower().split()

    def visible(heat: FloorHeat) -> bool:
        text = heat.search_text
        return all(word in text for word in words)

    return visible


def current_number(ctx: Context) -> int | float:
    """``events.current_heat`` (0 when unset); a manually inserted heat keeps its fraction."""
    try:
        number = float(ctx.db.value("SELECT current_heat FROM events ORDER BY id LIMIT 1") or 0)
    except (TypeError, ValueError):
        return 0
    return int(number) if number.is_integer() else number


def counter_layout(text: str) -> int:
    """The counter layout ``?layout=`` asks for: 1..4 or its name; 0 when none or unknown."""
    text = text.strip().lower()
    if text in LAYOUTS:
        return LAYOUTS.index(text) + 1
    return int(text) if text.isdigit() and 1 <= int(text) <= len(LAYOUTS) else 0


def current_heat_info(ctx: Context) -> dict[str, Any]:
    """The heat on the floor as JSON: number, dance, category, couples."""
    number = current_number(ctx)
    heat = heat_on_floor(ctx.db, number)
    info: dict[str, Any] = {
        "current_heat": number,
        "dance": None,
        "kind": None,
        "category": None,
        "couples": [],
        "last_update": last_update(ctx.db),
    }
    if heat is not None:
        info["dance"] = heat.dance
        info["kind"] = heat.kind
        info["category"] = agenda_names(ctx.db).get(heat.agenda_id or 0)
        info["couples"] = [
            {
                "back": e.back,
                "names": e.names,
                "studio": e.studio,
                "ballroom": e.ballroom,
            }
            for e in heat.entries
        ]
    return info


def current_heat_fragment(ctx: Context, heat: FloorHeat | None = None) -> str:
    """The ``#current-heat`` element: number, dance, category and couples of the current heat."""
    number = current_number(ctx)
    if heat is None:
        heat = heat_on_floor(ctx.db, number)
    category = agenda_names(ctx.db).get(heat.agenda_id or 0, "") if heat else ""
    template = ctx.env.get_template("public/_current_heat.html")
    return template.render(
        number=number,
        label=format_number(number) if number else "0",
        heat=heat,
        category=category,
        last_update=last_update(ctx.db),
    )


def current_heat_stream(ctx: Context) -> str:
    """A turbo-stream replacing ``#current-heat`` with the current heat."""
    return (
        '<turbo-stream action="replace" target="current-heat"><template>'
        + current_heat_fragment(ctx)
        + "</template></turbo-stream>"
    )


def publish_current_heat(ctx: Context) -> None:
    """Send the current heat to ``current-heat-<db>`` (counters and heat lists follow it)."""
    ctx.publish(ctx.stream("current-heat"), current_heat_stream(ctx))


def score_update_stream(
    ctx: Context, at: str, heat: float | None = None, judge: int | None = None
) -> str:
    """A turbo-stream replacing ``#last-score-update`` with the time of a score's change."""
    template = ctx.env.get_template("results/_last_score_update.html")
    label = format_number(heat) if heat else ""
    return (
        '<turbo-stream action="replace" target="last-score-update"><template>'
        + template.render(at=at, heat=label, judge=judge or "")
        + "</template></turbo-stream>"
    )


def publish_score_update(
    ctx: Context, at: str | None = None, heat: float | None = None, judge: int | None = None
) -> None:
    """Tell results pages on ``live-scores-<db>`` that a score was saved or removed."""
    ctx.publish(ctx.stream("live-scores"), score_update_stream(ctx, at or now(), heat, judge))
