"""The demo's heats on the floor: grouping couples into numbered heats, and judges' marks.

A stand-in for the scheduler, enough for believable demo data: per agenda category and
dance, couples in level order fill floors of at most six (nobody twice on a floor, no
``exclude_id`` partners together, levels at most ``heat_range_level`` apart); a
category's dances are interleaved; solos keep their running order, one to a number.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from showcase.event.defaults import HEAT_RANGE_LEVEL

HEAT_SIZE = 6
GRADES, GRADE_WEIGHTS = ("GH", "G", "S", "B"), (2, 4, 3, 1)
PLACES = ("1", "2", "3")


@dataclass
class Row:
    """One couple dancing one dance: a heat row before it is written."""

    entry: int
    dance: int
    kind: str  # Closed, Open or Solo
    category: int
    level: int
    people: frozenset[int]
    excluded: frozenset[int] = frozenset()
    number: int = 0
    id: int = 0


@dataclass
class Floor:
    """Rows that will share one heat number, with who is on it and who may not join."""

    rows: list[Row] = field(default_factory=list)
    on: set[int] = field(default_factory=set)
    barred: set[int] = field(default_factory=set)
    levels: list[int] = field(default_factory=list)

    def takes(self, row: Row) -> bool:
        levels = [*self.levels, row.level]
        return (
            len(self.rows) < HEAT_SIZE
            and row.people.isdisjoint(self.on)
            and row.people.isdisjoint(self.barred)
            and row.excluded.isdisjoint(self.on)
            and max(levels) - min(levels) <= HEAT_RANGE_LEVEL
        )

    def add(self, row: Row) -> None:
        self.rows.append(row)
        self.on |= row.people
        self.barred |= row.excluded
        self.levels.append(row.level)


def floors_for(rows: Sequence[Row]) -> list[Floor]:
    """Greedy floors for one dance's rows, lowest level first."""
    floors: list[Floor] = []
    for row in sorted(rows, key=lambda r: (r.level, r.entry)):
        floor = next((f for f in floors if f.takes(row)), None)
        if floor is None:
            floor = Floor()
            floors.append(floor)
        floor.add(row)
    return floors


def number_rows(
    rows: Sequence[Row], agenda: Sequence[int], solos: int, dance_order: dict[int, int]
) -> None:
    """Set ``number`` 1..N on every row, category by category in ``agenda`` order.

    ``solos`` is the solo category (rows keep their order there, one to a number);
    ``dance_order`` ranks dance ids.
    """
    number = 0
    for category in agenda:
        mine = [r for r in rows if r.category == category]
        if category == solos:
            for row in mine:
                number += 1
                row.number = number
            continue
        dances = sorted({r.dance for r in mine}, key=dance_order.__getitem__)
        per_dance = [floors_for([r for r in mine if r.dance == d]) for d in dances]
        for turn in range(max((len(f) for f in per_dance), default=0)):
            for floors in per_dance:
                if turn < len(floors):
                    number += 1
                    for row in floors[turn].rows:
                        row.number = number


def marks(rng: random.Random, floor: Sequence[Row]) -> dict[int, str]:
    """One judge's marks for one heat number, by row id.

    Open heats are placed 1, 2, 3 then F (style ``1``); Closed heats graded GH/G/S/B
    (style ``G``); solos get a number (style ``1``: 0-100).
    """
    placed = {r.id: i for i, r in enumerate(rng.sample(list(floor), len(floor)))}
    values = {}
    for row in floor:
        if row.kind == "Solo":
            values[row.id] = str(rng.randint(78, 97))
        elif row.kind == "Open":
            place = placed[row.id]
            values[row.id] = PLACES[place] if place < len(PLACES) else "F"
        else:
            values[row.id] = rng.choices(GRADES, GRADE_WEIGHTS)[0]
    return values
