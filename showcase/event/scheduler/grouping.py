"""Heats of one agenda category: couples grouped into floors, floors put in order.

A *run* is every row of one category with the same dance and floor class (pro or not;
Closed, Open or Multi, with Open and Closed combined when ``heat_range_cat`` is 1).  A run
is filled first-fit in level order (newcomer → advanced, then age, then ids), so floors
hold neighbouring levels; then floors are evened out (sizes differ by at most one where
the rules allow moving a couple).  A solo is a floor of its own.

Order within a category: the Closed/Open floors (dance by dance, or interleaved when
``intermix``), then the solos by ``solos.order``, then the multi-dance floors.  Within a
dance, floors go newcomer → advanced.  Runs go amateur before pro; with Open and Closed
apart (``heat_range_cat`` 0), all Closed dances come before all Open ones.
"""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction

from showcase.event.scheduler.floor import Floor
from showcase.event.scheduler.index import COMBINED, Index, Row
from showcase.event.scheduler.model import CLOSED, MULTI, OPEN, SOLO

KIND_ORDER = {CLOSED: 0, COMBINED: 0, OPEN: 1, SOLO: 2, MULTI: 3}


def fill(index: Index, rows: list[Row], limit: int | None) -> list[Floor]:
    """The rows of one run on as few floors as first-fit finds, evened out."""
    floors: list[Floor] = []
    for row in sorted(rows, key=lambda r: (r.level, r.age, r.entry.id, r.heat.id)):
        home = next((floor for floor in floors if floor.fits(row)), None)
        if home is None:
            floors.append(Floor(index, limit, [row]))
        else:
            home.add(row)
    even_out(floors)
    return sorted(floors, key=Floor.key)


def even_out(floors: list[Floor]) -> None:
    """Move couples from bigger floors to smaller ones (by two or more) while one fits.

    Each move lowers the sum of squared sizes, so this ends.  The couple moved is the one
    nearest in level to the floor it joins.
    """
    while True:
        by_size = sorted(floors, key=lambda f: (-len(f), f.key()))
        if not any(_move_one(source, by_size) for source in by_size):
            return


def _move_one(source: Floor, by_size: list[Floor]) -> bool:
    for target in reversed(by_size):
        if len(source) - len(target) < 2:
            return False
        centre = target.level_centre()
        candidates = sorted(source.rows, key=lambda r: (abs(r.level - centre), r.age, r.heat.id))
        for row in candidates:
            if target.fits(row):
                source.remove(row)
                target.add(row)
                return True
    return False


def order_category(index: Index, category_id: int | None, rows: list[Row]) -> list[list[Row]]:
    """The floors of one category, in running order."""
    runs: defaultdict[tuple[bool, str, int], list[Row]] = defaultdict(list)
    solos = []
    for row in rows:
        if row.kind == SOLO:
            solos.append(row)
        else:
            pro, kind = index.floor_class(row)
            runs[(pro, kind, row.dance.id)].append(row)

    def run_key(run: tuple[bool, str, int]) -> tuple[object, ...]:
        pro, kind, dance_id = run
        dance = index.dance_rank[dance_id]
        if index.settings.heat_range_cat == 1:
            return (pro, dance, KIND_ORDER[kind])
        return (pro, KIND_ORDER[kind], dance)

    regular: list[tuple[Fraction, tuple[object, ...], list[Row]]] = []
    multis: list[list[Row]] = []
    for run in sorted(runs, key=run_key):
        limit = index.limit(category_id, run[1])
        floors = fill(index, runs[run], limit)
        if run[1] == MULTI:
            multis.extend(floor.rows for floor in floors)
            continue
        for i, floor in enumerate(floors):
            slot = Fraction(i + 1, len(floors) + 1) if index.settings.intermix else Fraction(0)
            regular.append((slot, run_key(run), floor.rows))
    regular.sort(key=lambda item: item[:2])  # stable: same slot and run keeps level order
    solos.sort(key=lambda r: (r.solo_order is None, r.solo_order or 0, r.heat.id))
    return [rows for *_, rows in regular] + [[solo] for solo in solos] + multis
