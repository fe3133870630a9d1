"""The organizer's other scheduling actions: renumber, undo, scratch/restore, and
"Schedule" for heats entered after the heats were generated.

None of these changes any heat other than the ones it is about.
"""

from __future__ import annotations

import math

from showcase.event.scheduler.floor import Floor
from showcase.event.scheduler.generate import finish
from showcase.event.scheduler.index import Index, Row
from showcase.event.scheduler.model import (
    SOLO,
    EventData,
    Heat,
    Locked,
    NotScheduled,
    Placement,
    Schedule,
)
from showcase.event.scheduler.times import slots, timeline


def _unchanged(data: EventData) -> dict[int, Placement]:
    return {h.id: Placement(h.number, h.ballroom) for h in data.heats}


def renumber(data: EventData) -> Schedule:
    """Scheduled heats (number > 0) numbered 1..N in their current order.

    Fractional numbers disappear; rows sharing a number keep sharing one.  Unscheduled (0)
    and scratched (< 0) heats keep their numbers, so a scratched heat restored afterwards
    goes back to its old number, not to its old floor.  Raises :class:`Locked` when the
    agenda is locked.
    """
    if data.settings.locked:
        raise Locked("the agenda is locked: unlock it before renumbering")
    numbers = sorted({h.number for h in data.heats if h.number > 0})
    new = {number: float(i) for i, number in enumerate(numbers, start=1)}
    placements = _unchanged(data)
    for heat in data.heats:
        if heat.number > 0:
            placements[heat.id] = Placement(new[heat.number], heat.ballroom)
    return finish(data, placements)


def undo(data: EventData) -> Schedule:
    """Every heat with a ``prev_number`` goes back to it; the others stay.

    Allowed on a locked agenda: ``prev_number`` is the numbering saved when it was locked
    (or before the last redo), so undo only ever returns to a numbering people have seen.
    """
    placements = _unchanged(data)
    for heat in data.heats:
        if heat.prev_number is not None:
            placements[heat.id] = Placement(heat.prev_number, heat.ballroom)
    return finish(data, placements)


def scratch(heat: Heat) -> Placement:
    """The heat taken off the floor: its number negated (already scratched: unchanged).

    Raises :class:`NotScheduled` for an unscheduled heat (number 0): delete it instead.
    """
    if heat.number == 0:
        raise NotScheduled(f"heat {heat.id} is not scheduled: delete it rather than scratch")
    return Placement(-abs(heat.number), heat.ballroom)


def restore(heat: Heat) -> Placement:
    """A scratched heat back on the floor at its old number (not scratched: unchanged)."""
    return Placement(abs(heat.number), heat.ballroom)


def schedule_unscheduled(data: EventData) -> Schedule:
    """Place every unscheduled heat (number 0) without renumbering any other heat.

    A heat joins an existing heat number when one has the same category, dance and floor
    class, no scores yet, room under the limit, no conflict with the people on it, levels
    and ages within range, and a start time (as it was before this call) at which its
    people are there; the one
    closest in mean level wins (then the smaller, then the earlier).  Otherwise it gets a
    new number just after the last heat of its category (after the heats of the earlier
    categories when it has none): halfway to the next number, e.g. 12.5 between 12 and 13,
    or the next whole number after the last heat.  Solos always get a number of their
    own.  Allowed on a locked agenda: that is what it is for.
    """
    index = Index(data)
    placements = _unchanged(data)
    numbers = dict(index.numbers())
    line = timeline(index, slots(index, list(numbers.values())))
    starts = dict(zip(numbers, line.starts, strict=True))
    scored = {
        number
        for number, rows in numbers.items()
        if any(r.heat.id in data.scored_heat_ids for r in rows)
    }
    waiting = [r for r in index.rows if r.heat.number == 0]
    waiting.sort(
        key=lambda r: (
            index.position[r.category_id],
            r.solo_order if r.kind == SOLO and r.solo_order is not None else 0,
            index.dance_rank[r.dance.id],
            index.floor_class(r),
            r.level,
            r.age,
            r.heat.id,
        )
    )
    for row in waiting:
        limit = index.limit(row.category_id, row.kind)
        best: tuple[float, int, float] | None = None
        for number, rows in numbers.items():
            if number in scored or not _same_run(index, rows, row):
                continue
            floor = Floor(index, limit, rows)
            start = starts.get(number)
            if not floor.fits(row) or (start is not None and line.away(row.people, start)):
                continue
            key = (abs(floor.level_centre() - row.level), len(floor), number)
            best = key if best is None else min(best, key)
        number = best[2] if best is not None else _new_number(index, numbers, row)
        numbers.setdefault(number, []).append(row)
        placements[row.heat.id] = Placement(number, index.ballroom(row))
    return finish(data, placements)


def _same_run(index: Index, rows: list[Row], row: Row) -> bool:
    return row.kind != SOLO and all(
        r.kind != SOLO
        and r.category_id == row.category_id
        and r.dance.id == row.dance.id
        and index.floor_class(r) == index.floor_class(row)
        for r in rows
    )


def _new_number(index: Index, numbers: dict[float, list[Row]], row: Row) -> float:
    mine = index.position[row.category_id]
    ours = [n for n, rows in numbers.items() if rows[0].category_id == row.category_id]
    earlier = [n for n, rows in numbers.items() if index.position[rows[0].category_id] < mine]
    last = max(ours or earlier, default=0.0)
    following = [n for n in numbers if n > last]
    if following:
        return (last + min(following)) / 2
    return float(math.floor(last) + 1)
