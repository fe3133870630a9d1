"""Generate the heats ("Redo"): every heat that is not scratched gets a number.

Steps: group each agenda category (:mod:`.grouping`); keep locked categories as they are;
number the floors 1..N in agenda order (categories by ``order``, uncategorised heats last);
move floors within their category so that people are there when they dance; assign
ballrooms.  Scratched heats (number < 0) keep their numbers.

Availability: within a category, floors with someone away at their start move to places
where everyone is there, as many as can be (a matching, see :func:`_improve`), moving as
few others as it takes.  Only floors that last equally long trade places, so no other
start time changes; solos keep their manual order.  What cannot be fixed this way (e.g. a
category that is over before someone arrives) is reported in :attr:`Schedule.conflicts`.

Locked categories (``categories.locked``) keep their floors and their order (their heats'
numbers follow from the position of the category); their unscheduled heats stay at 0.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Sequence

import attrs

from showcase.event.scheduler.conflicts import find_conflicts
from showcase.event.scheduler.grouping import order_category
from showcase.event.scheduler.index import Index, Row
from showcase.event.scheduler.model import SOLO, EventData, Locked, Placement, Schedule
from showcase.event.scheduler.times import slots, timeline


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
    floors = [floor for block in blocks for floor in block.floors]
    line = timeline(index, slots(index, floors))
    if not line.windows or all(start is None for start in line.starts):
        return

    def cost(floor: Sequence[Row], position: int) -> int:
        start = line.starts[position]
        return 0 if start is None else len(line.away((p for r in floor for p in r.people), start))

    first = 0
    for block in blocks:
        if not block.locked:
            for begin, end in _sections(index, block.floors):
                positions = range(first + begin, first + end)
                section = block.floors[begin:end]
                known = all(line.starts[p] is not None for p in positions)
                if known and any(cost(f, p) for f, p in zip(section, positions, strict=True)):
                    block.floors[begin:end] = _improve(section, positions, cost)
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
    """Floors to places so that as many floors as possible have everyone there.

    A matching of floors to the places that suit them, started from the current order
    (a floor that suits its place keeps it) and grown one floor at a time along the
    shortest chain of moves (Kuhn's augmenting paths, found breadth-first, nearest places
    first): the most floors that can be suited are.  Floors suited nowhere take the
    places left, in their old order.
    """
    size = len(floors)
    suits = [
        [place for place in sorted(range(size), key=lambda p: (abs(p - f), p)) if not costs[place]]
        for f, costs in enumerate([[cost(floor, p) for p in positions] for floor in floors])
    ]
    owner = [place if place in suits[place] else -1 for place in range(size)]
    for floor in range(size):
        if floor not in owner:
            _augment(floor, suits, owner)
    left = iter(f for f in range(size) if f not in owner)
    return [floors[f if f != -1 else next(left)] for f in owner]


def _augment(start: int, suits: list[list[int]], owner: list[int]) -> None:
    """Give ``start`` a place, moving others along the shortest chain (if there is one)."""
    came_from: dict[int, tuple[int, int | None]] = {}  # place → (floor put there, its old place)
    queue: deque[tuple[int, int | None]] = deque([(start, None)])
    seen: set[int] = set()
    while queue:
        floor, old = queue.popleft()
        for place in suits[floor]:
            if place in seen:
                continue
            seen.add(place)
            came_from[place] = (floor, old)
            if owner[place] == -1:
                step: int | None = place
                while step is not None:
                    mover, previous = came_from[step]
                    owner[step] = mover
                    step = previous
                return
            queue.append((owner[place], place))
