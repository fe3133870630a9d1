"""Routes of the event app: judges scoring heats, the emcee starting them (spec/scoring.md).

Judge (``<judge_id>`` is a person of type Judge, else 404):

- ``GET /scores/<judge_id>/heatlist``: every scheduled heat, the judge's scored ones greyed,
  the heat on the floor marked.
- ``GET /scores/<judge_id>/heat/<number>``: the couples on the floor with the inputs of the
  heat's style and this judge's marks; the ``heat`` Stimulus controller saves each click.
- ``POST /scores/<judge_id>/post``: one mark as JSON ``{heat, slot?, score?, comments?, good?,
  bad?}``; answers the stored row, ``{"deleted": true, ...}`` when nothing is left, 422
  ``{"error"}`` for a value outside the style, 404 for an unknown heat.
- ``POST /scores/<judge_id>/batch``: ``{scores: [...]}`` from the offline queue, each item
  applied as a single post; answers ``{succeeded: [{heat_id, slot}], failed: [{heat_id, slot,
  error}]}``.

A judge can only post as themselves: the router passes its Basic-auth user on as the
``X-Remote-User`` header when it has one.  When that user names a judge (their "First Last"
name, with or without spaces, any case) and ``<judge_id>`` is not that judge, a post or batch
is refused with 403.  A user who is no judge (an organizer's login) may post for any judge,
and a request without the header (the app run standalone, without auth) is not checked; the
router must drop an ``X-Remote-User`` sent by the browser itself.

Emcee: ``GET /emcee`` (the heat on the floor) and ``GET /emcee/heat/<number>``: the heat page
without inputs, with a "Start heat" button.  ``POST /event/start_heat`` (JSON or a form with
the CSRF token) with ``heat`` sets ``events.current_heat``; Space or Enter on any heat page
sends it.  Saving a mark publishes ``live-scores-<db>``; starting a heat ``current-heat-<db>``.
"""

from __future__ import annotations

import json
import math
from typing import Any

from klein import Klein
from twisted.logger import Logger
from twisted.web.server import Request

from . import scorebook
from .context import Context
from .heatdata import FloorHeat, agenda_names, agenda_sections, format_number, scheduled_heats
from .heatdata import heat_on_floor as floor_heat
from .public import publish_current_heat, publish_score_update
from .scoring import SOLO_PARTS, ScoreError, Style, solo_parts

log = Logger()
AHEAD = 3  # heat pages a judge's browser keeps ready for when the network drops


class BadRequest(Exception):
    """A body that is not the JSON object a route takes."""


def heat_number(text: str | bytes | None) -> float | None:
    """A heat number from a URL or a post (``12``, ``12.5``); None unless a positive number."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if isinstance(text, bool) or text is None:
        return None
    try:
        number = float(text)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def _is_json(request: Request) -> bool:
    content_type = request.getHeader(b"content-type") or b""
    return content_type.lower().startswith(b"application/json")


def _body(request: Request) -> dict[str, Any]:
    try:
        raw = request.content.read() if request.content is not None else b""
        value = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body is not JSON") from None
    if not isinstance(value, dict):
        raise BadRequest("the body must be a JSON object")
    return value


def register(app: Klein, ctx: Context) -> None:
    """Add the judging and emcee routes to ``app``."""

    def impostor(request: Request, judge_id: int) -> bool:
        """True when the router's user is a judge other than ``judge_id``."""
        user = request.getHeader(b"x-remote-user")
        if not user:
            return False
        claimed = scorebook.judges_for_user(ctx.db, user.decode("utf-8", "replace"))
        return bool(claimed) and judge_id not in claimed

    def publish_score(saved: scorebook.Saved) -> None:
        try:
            publish_score_update(ctx, saved.at, saved.number, saved.judge_id)
        except Exception:
            log.failure("publishing live-scores for heat {heat}", heat=saved.number)

    def heat_url(prefix: str, number: float | None) -> str:
        return ctx.url(f"{prefix}/heat/{format_number(number)}") if number else ""

    def current_heat() -> float:
        value = ctx.db.value("SELECT current_heat FROM events ORDER BY id LIMIT 1")
        try:
            return float(value or 0)
        except (TypeError, ValueError):
            return 0.0

    def render_heat(
        request: Request, heat: FloorHeat, judge: scorebook.Judge | None, base: str
    ) -> bytes:
        event = ctx.event()
        numbers = scorebook.heat_numbers(ctx.db)
        before, after = scorebook.neighbours(numbers, heat.number)
        ids = [e.heat_id for e in heat.entries]
        marks = scorebook.marks(ctx.db, judge.id, ids) if judge else {}
        style: Style | None = None
        problem = ""
        try:
            style = scorebook.heat_style(event, heat.kind)
        except ScoreError as error:
            problem = str(error)
        songs = scorebook.solo_songs(ctx.db, ids) if heat.kind == "Solo" else {}
        couples = []
        for entry in heat.entries:
            mark = marks.get((entry.heat_id, None), {})
            couples.append(
                {
                    "entry": entry,
                    "mark": mark,
                    "marked": any(mark.get(f) for f in scorebook.FIELDS),
                    "good": set((mark.get("good") or "").split()),
                    "bad": set((mark.get("bad") or "").split()),
                    "parts": dict(solo_parts(mark.get("value"))),
                    "song": songs.get(entry.heat_id),
                }
            )
        later = [n for n in numbers if n > heat.number][:AHEAD]
        return ctx.render(
            request,
            "judging/heat.html",
            heat=heat,
            judge=judge,
            style=style,
            problem=problem,
            couples=couples,
            category=agenda_names(ctx.db).get(heat.agenda_id or 0, ""),
            comments=bool(event.get("judge_comments")) or heat.kind == "Solo",
            feedback=scorebook.feedback_codes(ctx.db),
            solo_parts=SOLO_PARTS,
            is_current=current_heat() == heat.number,
            prev_url=heat_url(base, before),
            next_url=heat_url(base, after),
            ahead=[heat_url(base, n) for n in later],
            list_url=ctx.url(f"{base}/heatlist") if judge else ctx.url("/public/heats"),
            base=ctx.url(base),
        )

    @app.route("/scores/<int:judge_id>/heatlist", methods=["GET"], endpoint="judging_heatlist")
    def heatlist(request: Request, judge_id: int) -> bytes:
        judge = scorebook.judge(ctx.db, judge_id)
        if judge is None:
            return ctx.not_found(request, "No such judge")
        heats = scheduled_heats(ctx.db)
        return ctx.render(
            request,
            "judging/heatlist.html",
            judge=judge,
            sections=agenda_sections(ctx.db, heats),
            scored=scorebook.scored_numbers(ctx.db, judge.id),
            current=current_heat(),
            base=ctx.url(f"/scores/{judge.id}"),
        )

    @app.route("/scores/<int:judge_id>/heat/<number>", methods=["GET"], endpoint="judging_heat")
    def judge_heat(request: Request, judge_id: int, number: str) -> bytes:
        judge = scorebook.judge(ctx.db, judge_id)
        if judge is None:
            return ctx.not_found(request, "No such judge")
        wanted = heat_number(number)
        heat = floor_heat(ctx.db, wanted) if wanted else None
        if heat is None:
            return ctx.not_found(request, f"No heat {number}")
        return render_heat(request, heat, judge, f"/scores/{judge.id}")

    @app.route("/scores/<int:judge_id>/post", methods=["POST"], endpoint="judging_post")
    def post(request: Request, judge_id: int) -> bytes:
        if scorebook.judge(ctx.db, judge_id) is None:
            return ctx.json(request, {"error": "no such judge"}, 404)
        ctx.check_csrf(request)
        if impostor(request, judge_id):
            return ctx.json(request, {"error": "a judge can only post as themselves"}, 403)
        try:
            saved = scorebook.save(ctx.db, judge_id, _body(request))
        except BadRequest as error:
            return ctx.json(request, {"error": str(error)}, 400)
        except scorebook.NotFound as error:
            return ctx.json(request, {"error": str(error)}, 404)
        except ScoreError as error:
            return ctx.json(request, {"error": str(error)}, 422)
        if saved.changed:
            publish_score(saved)
        return ctx.json(request, saved.answer())

    @app.route("/scores/<int:judge_id>/batch", methods=["POST"], endpoint="judging_batch")
    def batch(request: Request, judge_id: int) -> bytes:
        if scorebook.judge(ctx.db, judge_id) is None:
            return ctx.json(request, {"error": "no such judge"}, 404)
        ctx.check_csrf(request)
        if impostor(request, judge_id):
            return ctx.json(request, {"error": "a judge can only post as themselves"}, 403)
        try:
            items = _body(request).get("scores")
        except BadRequest as error:
            return ctx.json(request, {"error": str(error)}, 400)
        if not isinstance(items, list):
            return ctx.json(request, {"error": "scores must be a list"}, 400)
        succeeded: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        published: dict[float, scorebook.Saved] = {}
        for item in items:
            if not isinstance(item, dict):
                failed.append({"heat_id": None, "slot": None, "error": "not a JSON object"})
                continue
            key = {"heat_id": item.get("heat"), "slot": item.get("slot")}
            try:
                saved = scorebook.save(ctx.db, judge_id, item)
            except (scorebook.NotFound, ScoreError) as error:
                failed.append({**key, "error": str(error)})
                continue
            succeeded.append(key)
            if saved.changed:
                published[saved.number] = saved
        for saved in published.values():
            publish_score(saved)
        return ctx.json(request, {"succeeded": succeeded, "failed": failed})

    @app.route("/emcee", methods=["GET"], endpoint="judging_emcee")
    def emcee(request: Request) -> bytes:
        numbers = scorebook.heat_numbers(ctx.db)
        if not numbers:
            return ctx.not_found(request, "No heats are scheduled yet")
        current = current_heat()
        number = current if current in numbers else numbers[0]
        return ctx.redirect(request, f"/emcee/heat/{format_number(number)}")

    @app.route("/emcee/heat/<number>", methods=["GET"], endpoint="judging_emcee_heat")
    def emcee_heat(request: Request, number: str) -> bytes:
        wanted = heat_number(number)
        heat = floor_heat(ctx.db, wanted) if wanted else None
        if heat is None:
            return ctx.not_found(request, f"No heat {number}")
        return render_heat(request, heat, None, "/emcee")

    @app.route("/event/start_heat", methods=["POST"], endpoint="judging_start_heat")
    def start_heat(request: Request) -> bytes:
        as_json = _is_json(request)
        ctx.check_csrf(request)
        args: dict[bytes, list[bytes]] = request.args or {}
        if as_json:
            try:
                raw: Any = _body(request).get("heat")
            except BadRequest as error:
                return ctx.json(request, {"error": str(error)}, 400)
        else:
            raw = (args.get(b"heat") or [b""])[0]
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            raw = str(raw)
        number = heat_number(raw if isinstance(raw, str | bytes) else None)
        if number is None:
            if as_json:
                return ctx.json(request, {"error": "heat must be a heat number"}, 422)
            return ctx.not_found(request, "heat must be a heat number")
        try:
            stored = scorebook.start_heat(ctx.db, number)
        except scorebook.NotFound as error:
            if as_json:
                return ctx.json(request, {"error": str(error)}, 404)
            return ctx.not_found(request, str(error))
        try:
            publish_current_heat(ctx)
        except Exception:
            log.failure("publishing current-heat {number}", number=stored)
        if as_json:
            return ctx.json(request, {"current_heat": stored})
        back = (args.get(b"next") or [b""])[0].decode("utf-8", "replace")
        if not back.startswith("/") or back.startswith("//") or not back.isprintable():
            back = f"/emcee/heat/{format_number(number)}"
        return ctx.redirect(request, back)
