"""What is wrong with the current numbering, heat by heat, for the heats page.

Per scheduled heat number: more couples than the limit (a solo dances alone), a person
on the floor twice, two people who exclude each other on the floor together, levels or
ages spread wider than the event allows, Open and Closed together when they may not be,
and people who are away when the heat starts.  Nobody (person 0) is never a conflict.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from showcase.event.scheduler.index import Index, Row
from showcase.event.scheduler.model import CLOSED, OPEN, SOLO, Conflict, EventData
from showcase.event.scheduler.times import Timeline, slots, timeline

KINDS_ORDER = ("size", "twice", "exclude", "kinds", "level", "age", "available")


def conflicts(data: EventData) -> list[Conflict]:
    """Every conflict of the event's current numbering, by heat number."""
    return find_conflicts(Index(data))


def find_conflicts(index: Index) -> list[Conflict]:
    """:func:`conflicts` over an :class:`Index` already built."""
    numbers = index.numbers()
    line = timeline(index, slots(index, [rows for _, rows in numbers]))
    found: list[Conflict] = []
    for position, (number, rows) in enumerate(numbers):
        found.extend(_size(index, number, rows))
        found.extend(_people(index, number, rows))
        found.extend(_spread(index, number, rows))
        found.extend(_available(index, number, rows, line, position))
    return sorted(
        found, key=lambda c: (c.number, KINDS_ORDER.index(c.kind), c.person_ids, c.heat_ids)
    )


def heat_label(number: float) -> str:
    """12.0 → "12", 12.5 → "12.5"."""
    return str(int(number)) if number == int(number) else str(number)


def _ids(rows: list[Row]) -> tuple[int, ...]:
    return tuple(sorted(r.heat.id for r in rows))


def _size(index: Index, number: float, rows: list[Row]) -> Iterator[Conflict]:
    solo = any(r.kind == SOLO for r in rows)
    limit = 1 if solo else index.limit(rows[0].category_id, rows[0].kind)
    if limit is not None and len(rows) > limit:
        what = "a solo shares the floor" if solo else f"{len(rows)} couples, limit {limit}"
        people = tuple(sorted({p for r in rows for p in r.people}))
        yield Conflict(number, "size", people, _ids(rows), f"Heat {heat_label(number)}: {what}")


def _people(index: Index, number: float, rows: list[Row]) -> Iterator[Conflict]:
    label = heat_label(number)
    counts = Counter(p for r in rows for p in r.people)
    for person, count in sorted(counts.items()):
        if count > 1:
            mine = [r for r in rows if person in r.people]
            message = f"Heat {label}: {index.name(person)} is on the floor {count} times"
            yield Conflict(number, "twice", (person,), _ids(mine), message)
    for person in sorted(counts):
        for other in sorted(index.excludes.get(person, frozenset())):
            if other > person and other in counts:
                pair = (person, other)
                mine = [r for r in rows if not set(pair).isdisjoint(r.people)]
                message = (
                    f"Heat {label}: {index.name(person)} and {index.name(other)} "
                    "must not be on the floor together"
                )
                yield Conflict(number, "exclude", pair, _ids(mine), message)


def _spread(index: Index, number: float, rows: list[Row]) -> Iterator[Conflict]:
    label = heat_label(number)
    settings = index.settings
    kinds = {r.kind for r in rows}
    if settings.heat_range_cat != 1 and {OPEN, CLOSED} <= kinds:
        people = tuple(sorted({p for r in rows for p in r.people}))
        yield Conflict(number, "kinds", people, _ids(rows), f"Heat {label} mixes Open and Closed")
    for kind, limit, value in (
        ("level", settings.heat_range_level, lambda r: r.level),
        ("age", settings.heat_range_age, lambda r: r.age),
    ):
        spread = max(map(value, rows)) - min(map(value, rows))
        if limit is not None and spread > limit:
            ends = [r for r in rows if value(r) in (max(map(value, rows)), min(map(value, rows)))]
            people = tuple(sorted({p for r in ends for p in r.people}))
            message = f"Heat {label}: {kind}s {spread} apart, at most {limit} allowed"
            yield Conflict(number, kind, people, _ids(ends), message)


def _available(
    index: Index, number: float, rows: list[Row], line: Timeline, position: int
) -> Iterator[Conflict]:
    start = line.starts[position]
    if start is None:
        return
    shown = line.shown(position)
    when = shown if isinstance(shown, str) else start.strftime("%Y-%m-%d %H:%M")
    for person in line.away((p for r in rows for p in r.people), start):
        mine = [r for r in rows if person in r.people]
        window = line.windows[person].describe()
        message = f"Heat {heat_label(number)} starts {when}: {index.name(person)} {window}"
        yield Conflict(number, "available", (person,), _ids(mine), message)
