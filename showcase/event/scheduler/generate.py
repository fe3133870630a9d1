"""Generate the heats ("Redo"): every heat that is not scratched gets a number.

Steps: group each agenda category (:mod:`.grouping`); keep locked categories as they are;
number the floors 1..N in agenda order (categories by ``order``, uncategorised heats last);
move floors within their category so that people are there when they dance; assign
ballrooms.  Scratched heats (number < 0) keep their numbers.

Availability: within a category, a floor with someone away at its start trades places
with another floor (a swap, else a move that shifts the ones between) when that lowers
the number of people away; the nearest such place wins.  Only floors that last equally
long trade places, so no other start time changes; solos keep their manual order.  What
cannot be fixed this way is reported in :attr:`Schedule.conflicts`.

Locked categories (``categories.locked``) keep their floors and their order (their heats'
numbers follow from the position of the category); their unscheduled heats stay at 0.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

import attrs

from showcase.event.scheduler.conflicts import find_conflicts
from showcase.event.scheduler.grouping import order_category
from showcase.event.scheduler.index import Index, Row
from showcase.event.scheduler.model import SOLO, EventData, Locked, Placement, Schedule
from showcase.event.scheduler.times import slots, timeline, windows


@attrs.define
class _Block:
    """The floors of one category, in order."""

    category_id: int | None
    floors: list[list[Row]]
    locked: bool


def schedule(data: EventData) -> Schedule:
    """Generate (or redo) the heats of the event; see the module docstring.

    Raises :class:`Locked` when the agenda is locked.
    """
    if data.settings.locked:
        raise Locked("the agenda is locked: unlock it before redoing the heats")
    index = Index(data)
    by_category: defaultdict[int | None, list[Row]] = defaultdict(list)
    for row in index.rows:
        if row.heat.number >= 0:
            by_category[row.category_id].append(row)
    blocks = []
    for category_id in [c.id for c in index.agenda] + [None]:
        rows = by_category.get(category_id)
        if not rows:
            continue
        category = index.categories.get(category_id) if category_id is not None else None
        if category is not None and category.locked:
            blocks.append(_Block(category_id, _kept(rows), locked=True))
        else:
            blocks.append(_Block(category_id, order_category(index, category_id, rows), False))
    _fix_availability(index, blocks)
    placements = {r.heat.id: Placement(r.heat.number, r.heat.ballroom) for r in index.rows}
    number = 0
    for block in blocks:
        for floor in block.floors:
            number += 1
            for row in floor:
                ballroom = row.heat.ballroom if block.locked else index.ballroom(row)
                placements[row.heat.id] = Placement(float(number), ballroom)
    return finish(data, placements)


def finish(data: EventData, placements: dict[int, Placement]) -> Schedule:
    """The schedule, with the conflicts of its numbering."""
    heats = tuple(
        attrs.evolve(h, number=placements[h.id].number, ballroom=placements[h.id].ballroom)
        for h in data.heats
    )
    found = find_conflicts(Index(attrs.evolve(data, heats=heats)))
    return Schedule(placements=placements, conflicts=tuple(found))


def _kept(rows: list[Row]) -> list[list[Row]]:
    floors: defaultdict[float, list[Row]] = defaultdict(list)
    for row in rows:
        if row.heat.number > 0:
            floors[row.heat.number].append(row)
    return [floors[number] for number in sorted(floors)]


def _fix_availability(index: Index, blocks: list[_Block]) -> None:
    away = windows(index)
    floors = [floor for block in blocks for floor in block.floors]
    line = timeline(index, slots(index, floors))
    if not away or all(start is None for start in line.starts):
        return

    def cost(floor: Sequence[Row], position: int) -> int:
        start = line.starts[position]
        people = {p for row in floor for p in row.people if p in away}
        return sum(1 for p in people if start is not None and line.misses(away[p], start))

    first = 0
    for block in blocks:
        if not block.locked:
            for begin, end in _sections(index, block.floors):
                positions = range(first + begin, first + end)
                if all(line.starts[p] is not None for p in positions):
                    block.floors[begin:end] = _improve(block.floors[begin:end], positions, cost)
        first += len(block.floors)


def _sections(index: Index, floors: list[list[Row]]) -> list[tuple[int, int]]:
    """Runs of neighbouring non-solo floors that last equally long: they may trade places."""
    found = []
    begin = 0
    for i in range(1, len(floors) + 1):
        if (
            i == len(floors)
            or floors[i][0].kind == SOLO
            or floors[begin][0].kind == SOLO
            or index.duration(floors[i]) != index.duration(floors[begin])
        ):
            if floors[begin][0].kind != SOLO and i - begin > 1:
                found.append((begin, i))
            begin = i
    return found


def _improve(
    floors: list[list[Row]],
    positions: range,
    cost: Callable[[Sequence[Row], int], int],
) -> list[list[Row]]:
    table = [[cost(floor, p) for p in positions] for floor in floors]
    order = list(range(len(floors)))  # order[i]: which floor sits at place i

    def total(arrangement: list[int], low: int, high: int) -> int:
        return sum(table[arrangement[i]][i] for i in range(low, high + 1))

    improved = True
    while improved:
        improved = False
        for i, floor in enumerate(order):
            if table[floor][i] == 0:
                continue
            for j in sorted(range(len(order)), key=lambda j: (abs(j - i), j)):
                low, high = min(i, j), max(i, j)
                swapped = list(order)
                swapped[i], swapped[j] = swapped[j], swapped[i]
                moved = list(order)
                moved.insert(j, moved.pop(i))
                before = total(order, low, high)
                better = next((o for o in (swapped, moved) if total(o, low, high) < before), None)
                if better is not None:
                    order = better
                    improved = True
                    break
            if improved:
                break
    return [floors[i] for i in order]
