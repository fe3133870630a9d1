"""When heats start, and who is there then.

The agenda runs category after category in ``order``.  A category with a ``time`` starts
then (on its ``day``; a blank day keeps the previous one); one without follows on.  Each
heat number lasts ``heat_length`` seconds (solo numbers ``solo_length``, multi-dances one
``heat_length`` per dance), and a category lasts at least its ``duration`` minutes, also one
with no heats (a break).  Without ``heat_length`` there are no times.

Days: a ``YYYY-MM-DD`` day is that date; a weekday name is the first such day on or after
the current one; any other label is the next day.  The calendar starts at the event's
``date`` (or the first ``YYYY-MM-DD`` day); without one the times are "nominal": they order
correctly but have no real date, and are shown as text.

``available`` is ``<HH:MM`` (must leave before) or ``>HH:MM`` (arrives after), compared with
a heat's start time on the first day of the agenda; ``<YYYY-MM-DD HH:MM`` (or ``T``) names the
day as well when the calendar is real.  Anything else is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta

import attrs

from showcase.event.scheduler.index import Index, Row
from showcase.event.scheduler.model import NOBODY, Category, EventData

NOMINAL = date(2000, 1, 3)
"""A Monday: the first day of a calendar whose real date is unknown."""

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

_TIME = re.compile(r"^\s*(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?\s*([ap]\.?m\.?)?\s*$", re.I)


def parse_time(text: str | None) -> time | None:
    """``HH:MM[:SS]`` (24 h) or ``h[:MM] AM/PM``; ``None`` for anything else."""
    match = _TIME.match(text or "")
    if not match:
        return None
    hour, minute, second = (int(g) if g else 0 for g in match.group(1, 2, 3))
    meridiem = (match.group(4) or "").lower().replace(".", "")
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    elif match.group(2) is None:
        return None
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second)


def parse_date(text: str | None) -> date | None:
    """The first ``YYYY-MM-DD`` of ``text`` (so a range gives its first day)."""
    try:
        return date.fromisoformat((text or "").strip()[:10])
    except ValueError:
        return None


@attrs.frozen
class Window:
    """A person's availability: leaves before, or arrives after, a moment."""

    before: bool  #: ``<``: must leave before ``at``; else arrives after it
    at: time
    on: date | None = None  #: the day, when ``available`` names one

    @classmethod
    def parse(cls, text: str | None) -> Window | None:
        """``<HH:MM``, ``>HH:MM``, optionally with ``YYYY-MM-DD`` before the time."""
        text = (text or "").strip()
        if len(text) < 2 or text[0] not in "<>":
            return None
        rest = text[1:].strip()
        on = parse_date(rest)
        if on is not None:
            rest = rest[10:].lstrip(" T")
        at = parse_time(rest)
        return None if at is None else cls(before=text[0] == "<", at=at, on=on)

    def describe(self) -> str:
        """For messages: "leaves before 14:00", "arrives after 2025-03-15 18:30"."""
        day = f"{self.on.isoformat()} " if self.on else ""
        moment = f"{day}{self.at.strftime('%H:%M')}"
        return f"leaves before {moment}" if self.before else f"arrives after {moment}"


@attrs.frozen
class Slot:
    """One heat number on the agenda: its category and how long it lasts."""

    category_id: int | None
    seconds: int | None


@attrs.frozen
class Timeline:
    """Start of each slot (``None``: unknown), and how to show it."""

    starts: tuple[datetime | None, ...]
    labels: tuple[str | None, ...]  #: the day label in force at each slot
    real: bool  #: the calendar has real dates
    first_day: date | None  #: the day of the first known start
    windows: Mapping[int, Window]  #: everyone's availability, by person id

    def shown(self, i: int) -> datetime | str | None:
        """A real start as a datetime; a nominal one as "Friday 10:15" or "10:15"."""
        start = self.starts[i]
        if start is None or self.real:
            return start
        label = self.labels[i]
        clock = start.strftime("%H:%M")
        return f"{label} {clock}" if label else clock

    def misses(self, window: Window, start: datetime) -> bool:
        """Whether someone with ``window`` is away at ``start``."""
        day = window.on if window.on is not None and self.real else self.first_day
        limit = datetime.combine(day or start.date(), window.at)
        return not start < limit if window.before else not start > limit

    def away(self, people: Iterable[int], start: datetime) -> list[int]:
        """Those of ``people`` who are not there at ``start`` (sorted)."""
        return sorted(
            p for p in set(people) if p in self.windows and self.misses(self.windows[p], start)
        )


def windows(index: Index) -> dict[int, Window]:
    """Everyone with a parseable ``available``, by person id (never Nobody)."""
    found = {p.id: Window.parse(p.available) for p in index.people.values() if p.id != NOBODY}
    return {pid: window for pid, window in found.items() if window is not None}


def slots(index: Index, groups: Sequence[Sequence[Row]]) -> list[Slot]:
    """One slot per heat number: the category of its first row, and its duration."""
    return [Slot(group[0].category_id, index.duration(group)) for group in groups]


def start_times(data: EventData) -> dict[float, datetime | str]:
    """Start of every scheduled heat number, for the agenda.

    A real calendar gives datetimes (naive, the event's local time); a nominal one (no
    event date) gives text such as ``"Friday 10:15"``.  Numbers whose start is unknown
    (no ``heat_length``, no category time yet) are left out.
    """
    index = Index(data)
    numbers = index.numbers()
    line = timeline(index, slots(index, [rows for _, rows in numbers]))
    shown = {number: line.shown(i) for i, (number, _) in enumerate(numbers)}
    return {number: at for number, at in shown.items() if at is not None}


def _resolve_day(label: str, current: date, first: bool) -> date:
    iso = parse_date(label)
    if iso is not None and len(label.strip()) == 10:
        return iso
    word = label.strip().lower()
    for weekday, name in enumerate(WEEKDAYS):
        if len(word) >= 3 and name.startswith(word):
            return current + timedelta(days=(weekday - current.weekday()) % 7)
    return current if first else current + timedelta(days=1)


class _Clock:
    def __init__(self, anchor: date) -> None:
        self.day = anchor
        self.label: str | None = None
        self.now: datetime | None = None
        self.started: dict[int, datetime | None] = {}
        self.left: set[int] = set()

    def enter(self, category: Category) -> None:
        if category.id in self.started:
            return
        label = (category.day or "").strip() or None
        moved = label is not None and label != self.label
        if label is not None and moved:
            self.day = _resolve_day(label, self.day, self.label is None)
            self.label = label
        at = parse_time(category.time)
        if at is not None:
            self.now = datetime.combine(self.day, at)
        elif moved:
            self.now = None
        self.started[category.id] = self.now

    def leave(self, category: Category) -> None:
        if category.id in self.left:
            return
        self.left.add(category.id)
        start = self.started.get(category.id)
        if category.duration and start is not None and self.now is not None:
            self.now = max(self.now, start + timedelta(minutes=category.duration))


def timeline(index: Index, slots: Sequence[Slot]) -> Timeline:
    """The start of every slot, walking the agenda (empty categories count too)."""
    unknown: tuple[None, ...] = (None,) * len(slots)
    if index.settings.heat_length is None:
        return Timeline(unknown, unknown, False, None, {})
    anchor = parse_date(index.settings.date)
    if anchor is None:
        days = (parse_date(c.day) for c in index.agenda if c.day and len(c.day.strip()) == 10)
        anchor = next((d for d in days if d is not None), None)
    clock = _Clock(anchor or NOMINAL)
    used = {slot.category_id for slot in slots}
    starts: list[datetime | None] = []
    labels: list[str | None] = []
    position = 0
    current: Category | None = None
    for slot in slots:
        category = None if slot.category_id is None else index.categories[slot.category_id]
        if category is not current:
            if current is not None:
                clock.leave(current)
            target = index.position[slot.category_id]
            for between in index.agenda[position:target]:
                if between.id not in used:
                    clock.enter(between)
                    clock.leave(between)
            position = max(position, target + 1)
            if category is not None:
                clock.enter(category)
            current = category
        starts.append(clock.now)
        labels.append(clock.label)
        if clock.now is not None and slot.seconds is not None:
            clock.now += timedelta(seconds=slot.seconds)
        elif slot.seconds is None:
            clock.now = None
    first = next((s.date() for s in starts if s is not None), None)
    return Timeline(tuple(starts), tuple(labels), anchor is not None, first, windows(index))
