"""One heat number being filled: who may join the couples already on the floor."""

from __future__ import annotations

from collections.abc import Iterable

from showcase.event.scheduler.index import Index, Row


class Floor:
    """The rows of one heat and the people they put on the floor.

    A row fits when the heat has room, none of its people is already on the floor (or is
    excluded by someone who is), and the floor's spread of levels and ages stays within
    the event's ranges.
    """

    def __init__(self, index: Index, limit: int | None, rows: Iterable[Row] = ()) -> None:
        self.index = index
        self.limit = limit
        self.rows: list[Row] = []
        for row in rows:
            self.add(row)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def people(self) -> set[int]:
        """Everyone on the floor."""
        return {p for row in self.rows for p in row.people}

    def fits(self, row: Row) -> bool:
        """Whether ``row`` may join without breaking a rule."""
        if self.limit is not None and len(self.rows) >= self.limit:
            return False
        on_floor = self.people
        if any(p in on_floor for p in row.people):
            return False
        excluded = self.index.excludes
        if any(not excluded.get(p, frozenset()).isdisjoint(on_floor) for p in row.people):
            return False
        return self.within_ranges(row)

    def within_ranges(self, row: Row) -> bool:
        """Whether levels and ages stay within the ranges with ``row`` added."""
        settings = self.index.settings
        return _within([r.level for r in self.rows] + [row.level], settings.heat_range_level) and (
            _within([r.age for r in self.rows] + [row.age], settings.heat_range_age)
        )

    def add(self, row: Row) -> None:
        """Put ``row`` on the floor (no checks)."""
        self.rows.append(row)

    def remove(self, row: Row) -> None:
        """Take ``row`` off the floor."""
        self.rows.remove(row)

    def key(self) -> tuple[int, int, int]:
        """Order of floors within a dance: lowest level, then age, then first heat id."""
        return (
            min(r.level for r in self.rows),
            min(r.age for r in self.rows),
            min(r.heat.id for r in self.rows),
        )

    def level_centre(self) -> float:
        """The mean level index on the floor."""
        return sum(r.level for r in self.rows) / len(self.rows)


def _within(values: list[int], limit: int | None) -> bool:
    return limit is None or max(values) - min(values) <= limit
