"""The heats page and the organizer's scheduling actions.

``GET <scope>/heats`` shows the agenda: scheduled heats by agenda category with
their start times, couples, ballrooms and conflicts; the unscheduled heats; the
scratched ones (collapsed).  The actions are form posts (CSRF checked), each one
transaction, answered 303 back to the page with a notice:

* ``/heats/redo`` generates the heats (:func:`scheduler.schedule`), saving the old
  numbers in ``prev_number`` first;
* ``/heats/undo`` goes back to ``prev_number``;
* ``/heats/renumber`` makes the numbers 1..N (refused while the agenda is locked);
* ``/heats/schedule-unscheduled`` places heats entered after the agenda was made;
* ``/heats/<id>/scratch`` and ``/heats/<id>/restore`` for one couple's heat row;
* ``/heats/lock`` locks or unlocks the agenda (locking saves ``prev_number``).

The scheduler decides every number; this module reads its input
(:func:`heatdata.scheduler_data`) and writes what changed.  When the agenda
changes while the event runs (``events.current_heat`` set), the current heat is
published again on ``current-heat-<db>``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from klein import Klein
from twisted.logger import Logger
from twisted.web.server import Request

from .context import Context
from .db import EventDB, now
from .heatdata import (
    FloorEntry,
    agenda_names,
    agenda_sections,
    floor_entries,
    format_number,
    group_heats,
    heat_starts,
    scheduler_data,
)
from .lazy import lazy_import
from .public import current_number, publish_current_heat

if TYPE_CHECKING:
    from . import scheduler
else:  # loaded when the agenda is first shown or changed, not at start-up
    scheduler = lazy_import("showcase.event.scheduler")

log = Logger()

NOTICES = {
    "redone": "The heats were generated again.",
    "undone": "The heats went back to their previous numbers.",
    "renumbered": "The heats are numbered 1 to N.",
    "placed": "The unscheduled heats were placed.",
    "nothing-waiting": "There are no unscheduled heats.",
    "scratched": "The heat was scratched.",
    "restored": "The heat was restored.",
    "locked": "The agenda is locked.",
    "unlocked": "The agenda is unlocked.",
    "refused-locked": "The agenda is locked: unlock it before renumbering or redoing the heats.",
    "refused-unscheduled": "An unscheduled heat cannot be scratched.",
    "refused": "The scheduler refused that change.",
}


def apply(db: EventDB, schedule: scheduler.Schedule, data: scheduler.EventData) -> int:
    """Write the placements that differ from ``data``; how many heat rows changed."""
    changes = schedule.changes(data.heats)
    stamp = now()
    for heat_id, placement in changes.items():
        db.execute(
            "UPDATE heats SET number = ?, ballroom = ?, updated_at = ? WHERE id = ?",
            (placement.number, placement.ballroom, stamp, heat_id),
        )
    return len(changes)


def save_previous(db: EventDB) -> None:
    """Remember every heat's number in ``prev_number`` (what "undo" returns to)."""
    db.execute("UPDATE heats SET prev_number = number")


def redo(db: EventDB) -> int:
    """Generate the heats; the old numbers are kept for undo."""
    data = scheduler_data(db)
    result = scheduler.schedule(data)
    save_previous(db)
    return apply(db, result, data)


def undo(db: EventDB) -> int:
    """Every heat back to its ``prev_number``."""
    data = scheduler_data(db)
    return apply(db, scheduler.undo(data), data)


def renumber(db: EventDB) -> int:
    """Scheduled heats numbered 1..N (the scheduler refuses on a locked agenda)."""
    data = scheduler_data(db)
    return apply(db, scheduler.renumber(data), data)


def schedule_unscheduled(db: EventDB) -> int:
    """Heats at number 0 placed without moving the others."""
    data = scheduler_data(db)
    return apply(db, scheduler.schedule_unscheduled(data), data)


def one_heat_row(
    db: EventDB, heat_id: int, action: Callable[[scheduler.Heat], scheduler.Placement]
) -> int:
    """Apply ``action`` (scratch, restore) to one heat row; 1 if it moved, else 0."""
    row = db.one(
        "SELECT id, entry_id, dance_id, number, ballroom FROM heats WHERE id = ?", (heat_id,)
    )
    if row is None:
        return 0
    heat = scheduler.Heat(
        id=row["id"],
        entry_id=row["entry_id"],
        dance_id=row["dance_id"],
        number=float(row["number"] or 0),
        ballroom=row["ballroom"] or None,
    )
    placement = action(heat)
    if placement == scheduler.Placement(heat.number, heat.ballroom):
        return 0
    db.execute(
        "UPDATE heats SET number = ?, ballroom = ?, updated_at = ? WHERE id = ?",
        (placement.number, placement.ballroom, now(), heat_id),
    )
    return 1


def toggle_lock(db: EventDB) -> bool:
    """Lock an unlocked agenda (saving its numbers for undo) or unlock it; the new state."""
    locked = not bool(db.value("SELECT locked FROM events ORDER BY id LIMIT 1"))
    if locked:
        save_previous(db)
    db.execute("UPDATE events SET locked = ?, updated_at = ?", (int(locked), now()))
    return locked


def _lock(db: EventDB) -> int:
    """Toggle the lock; no heat moves."""
    toggle_lock(db)
    return 0


def page_values(db: EventDB) -> dict[str, Any]:
    """What the heats page shows."""
    data = scheduler_data(db)
    entries = floor_entries(db)
    scheduled = group_heats(e for e in entries if e.number > 0)
    found = scheduler.conflicts(data)
    by_number: dict[float, list[scheduler.Conflict]] = {}
    for conflict in found:
        by_number.setdefault(conflict.number, []).append(conflict)
    unscheduled = [e for e in entries if e.number == 0]
    scratched = sorted((e for e in entries if e.number < 0), key=lambda e: (-e.number, e.heat_id))
    return {
        "sections": agenda_sections(db, scheduled, heat_starts(data)),
        "heat_count": len(scheduled),
        "unscheduled": sorted(unscheduled, key=_waiting_order(db)),
        "scratched": scratched,
        "conflicts": found,
        "conflicts_at": by_number,
        "categories": agenda_names(db),
        "ballrooms": any(e.ballroom for e in entries),
        "locked": data.settings.locked,
        "format_number": format_number,
    }


def _waiting_order(db: EventDB) -> Callable[[FloorEntry], tuple[int, int, str, int]]:
    order = {r["id"]: r["order"] or 0 for r in db.query('SELECT id, "order" FROM categories')}

    def key(entry: FloorEntry) -> tuple[int, int, str, int]:
        return (
            order.get(entry.agenda_id or 0, 1 << 30),
            entry.dance_id,
            entry.names,
            entry.heat_id,
        )

    return key


def register(app: Klein, ctx: Context) -> None:
    """Add the heats page and its actions to ``app``."""

    @app.route("/heats", methods=["GET"], endpoint="agenda_heats_page")
    def heats_page(request: Request) -> bytes:
        args: dict[bytes, list[bytes]] = request.args or {}
        code = (args.get(b"notice") or [b""])[0].decode("ascii", "replace")
        return ctx.render(
            request, "heats/index.html", notice=NOTICES.get(code), **page_values(ctx.db)
        )

    def act(request: Request, action: Callable[[EventDB], int], notice: str) -> bytes:
        """Run ``action`` in one transaction, publish if heats moved, redirect with a notice.

        ``action`` answers how many heat rows it changed.
        """
        try:
            with ctx.db.transaction():
                changed = action(ctx.db)
        except scheduler.Locked:
            changed, notice = 0, "refused-locked"
        except scheduler.NotScheduled:
            changed, notice = 0, "refused-unscheduled"
        except scheduler.SchedulerError:
            changed, notice = 0, "refused"
        if changed and current_number(ctx) > 0:
            try:
                publish_current_heat(ctx)
            except Exception:
                log.failure("publishing current-heat after {notice}", notice=notice)
        return ctx.redirect(request, f"heats?notice={notice}")

    @app.route("/heats/redo", methods=["POST"], endpoint="agenda_redo_heats")
    def redo_heats(request: Request) -> bytes:
        ctx.check_csrf(request)
        return act(request, redo, "redone")

    @app.route("/heats/undo", methods=["POST"], endpoint="agenda_undo_heats")
    def undo_heats(request: Request) -> bytes:
        ctx.check_csrf(request)
        return act(request, undo, "undone")

    @app.route("/heats/renumber", methods=["POST"], endpoint="agenda_renumber_heats")
    def renumber_heats(request: Request) -> bytes:
        ctx.check_csrf(request)
        return act(request, renumber, "renumbered")

    @app.route("/heats/schedule-unscheduled", methods=["POST"], endpoint="agenda_place_heats")
    def place_heats(request: Request) -> bytes:
        ctx.check_csrf(request)
        waiting = ctx.db.value("SELECT count(*) FROM heats WHERE number = 0 OR number IS NULL")
        return act(request, schedule_unscheduled, "placed" if waiting else "nothing-waiting")

    @app.route("/heats/lock", methods=["POST"], endpoint="agenda_lock_heats")
    def lock_heats(request: Request) -> bytes:
        ctx.check_csrf(request)
        locked = bool(ctx.db.value("SELECT locked FROM events ORDER BY id LIMIT 1"))
        return act(request, _lock, "unlocked" if locked else "locked")

    def one_heat(
        request: Request,
        heat_id: int,
        action: Callable[[scheduler.Heat], scheduler.Placement],
        notice: str,
    ) -> bytes:
        ctx.check_csrf(request)
        if ctx.db.value("SELECT 1 FROM heats WHERE id = ?", (heat_id,)) is None:
            return ctx.not_found(request, f"No heat {heat_id}")
        return act(request, lambda db: one_heat_row(db, heat_id, action), notice)

    @app.route("/heats/<int:heat_id>/scratch", methods=["POST"], endpoint="agenda_scratch_heat")
    def scratch_heat(request: Request, heat_id: int) -> bytes:
        return one_heat(request, heat_id, scheduler.scratch, "scratched")

    @app.route("/heats/<int:heat_id>/restore", methods=["POST"], endpoint="agenda_restore_heat")
    def restore_heat(request: Request, heat_id: int) -> bytes:
        return one_heat(request, heat_id, scheduler.restore, "restored")
