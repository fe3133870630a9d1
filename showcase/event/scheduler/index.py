"""Lookups derived once from :class:`EventData`: every heat row resolved to a :class:`Row`.

Everything is sorted by id here, so nothing downstream depends on the order of the input.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable

import attrs

from showcase.event.scheduler.model import (
    CLOSED,
    KINDS,
    MULTI,
    NOBODY,
    OPEN,
    SOLO,
    BadData,
    Category,
    Dance,
    Entry,
    EventData,
    Heat,
    Person,
    Solo,
)

FloorClass = tuple[bool, str]
"""Heats share a floor only within one class: (pro, kind), kind "Open/Closed" when combined."""

COMBINED = "Open/Closed"


@attrs.frozen
class Row:
    """One heat row with what it takes to place it."""

    heat: Heat
    entry: Entry
    dance: Dance
    kind: str  #: Closed, Open, Solo or Multi
    pro: bool  #: the entry's student side is not a Student
    category_id: int | None  #: its agenda category (``None``: the dance names none)
    level: int  #: level index
    age: int  #: age index
    people: tuple[int, ...]  #: everyone on the floor for it, Nobody left out
    solo_order: int | None  #: ``solos.order`` of a solo


def _category_for(dance: Dance, kind: str, pro: bool) -> int | None:
    regular = {
        CLOSED: dance.closed_category_id,
        OPEN: dance.open_category_id,
        SOLO: dance.solo_category_id,
        MULTI: dance.multi_category_id,
    }[kind]
    if not pro:
        return regular
    special = {
        CLOSED: dance.pro_closed_category_id,
        OPEN: dance.pro_open_category_id,
        SOLO: dance.pro_solo_category_id,
        MULTI: dance.pro_multi_category_id,
    }[kind]
    return special if special is not None else regular


def _rank(ids: list[int], value: int) -> int:
    return bisect_left(ids, value) if ids else value


class Index:
    """The event's rows by id, the agenda in order, and the rules that need lookups."""

    def __init__(self, data: EventData) -> None:
        self.settings = data.settings
        self.people: dict[int, Person] = {p.id: p for p in sorted(data.people, key=_id)}
        self.entries: dict[int, Entry] = {e.id: e for e in sorted(data.entries, key=_id)}
        self.dances: dict[int, Dance] = {d.id: d for d in sorted(data.dances, key=_id)}
        self.categories: dict[int, Category] = {c.id: c for c in sorted(data.categories, key=_id)}
        self.agenda: tuple[Category, ...] = tuple(
            sorted(data.categories, key=lambda c: (c.order is None, c.order or 0, c.id))
        )
        self.position: dict[int | None, int] = {c.id: i for i, c in enumerate(self.agenda)}
        self.position[None] = len(self.agenda)
        self.excludes = self._excludes()
        canonical: dict[str, int] = {}
        for dance in self.dances.values():
            order = dance.order or 0
            canonical[dance.name] = max(order, canonical.get(dance.name, order))
        #: dances sort by their canonical order (split copies with the original), then id
        self.dance_rank = {d.id: (canonical[d.name], d.id) for d in self.dances.values()}
        self._levels = sorted(set(data.levels))
        self._ages = sorted(set(data.ages))
        self._solos: dict[int, Solo] = {}
        for solo in sorted(data.solos, key=lambda s: (s.order is None, s.order or 0, s.heat_id)):
            self._solos.setdefault(solo.heat_id, solo)
        self._formations: defaultdict[int, set[int]] = defaultdict(set)
        for formation in data.formations:
            if formation.on_floor:
                self._formations[formation.heat_id].add(formation.person_id)
        self.rows = tuple(self._row(h) for h in sorted(data.heats, key=_id))

    def _excludes(self) -> dict[int, frozenset[int]]:
        pairs: defaultdict[int, set[int]] = defaultdict(set)
        for person in self.people.values():
            other = person.exclude_id
            if other is not None and NOBODY not in (other, person.id) and other != person.id:
                pairs[person.id].add(other)
                pairs[other].add(person.id)
        return {pid: frozenset(others) for pid, others in pairs.items()}

    def _row(self, heat: Heat) -> Row:
        entry = self.entries.get(heat.entry_id)
        if entry is None:
            raise BadData(f"heat {heat.id} names entry {heat.entry_id}, which is not there")
        dance = self.dances.get(heat.dance_id)
        if dance is None:
            raise BadData(f"heat {heat.id} names dance {heat.dance_id}, which is not there")
        kind = heat.category if heat.category in KINDS else CLOSED
        pro = self.is_pro(entry)
        solo = self._solos.get(heat.id) if kind == SOLO else None
        category_id = _category_for(dance, kind, pro)
        if solo is not None and solo.category_override_id is not None:
            category_id = solo.category_override_id
        people = {entry.lead_id, entry.follow_id}
        if entry.instructor_id is not None:
            people.add(entry.instructor_id)
        people.update(self._formations.get(heat.id, ()))
        people.discard(NOBODY)
        return Row(
            heat=heat,
            entry=entry,
            dance=dance,
            kind=kind,
            pro=pro,
            category_id=category_id if category_id in self.categories else None,
            level=_rank(self._levels, entry.level_id),
            age=_rank(self._ages, entry.age_id),
            people=tuple(sorted(people)),
            solo_order=solo.order if solo is not None else None,
        )

    def numbers(self) -> list[tuple[float, list[Row]]]:
        """The scheduled heat numbers (> 0) in order, each with its rows by heat id."""
        found: defaultdict[float, list[Row]] = defaultdict(list)
        for row in self.rows:
            if row.heat.number > 0:
                found[row.heat.number].append(row)
        return sorted(found.items())

    def type_of(self, person_id: int) -> str | None:
        """``people.type`` (``None`` for Nobody or someone not in the data)."""
        person = self.people.get(person_id)
        return None if person is None or person_id == NOBODY else person.type

    def is_pro(self, entry: Entry) -> bool:
        """The entry's subject (follow if the lead is a pro or Nobody, else lead) is no Student."""
        lead_is_pro = self.type_of(entry.lead_id) == "Professional"
        subject = entry.follow_id if lead_is_pro or entry.lead_id == NOBODY else entry.lead_id
        return subject != NOBODY and self.type_of(subject) not in (None, "Student")

    def floor_class(self, row: Row) -> FloorClass:
        """Rows of different classes never share a floor."""
        combined = self.settings.heat_range_cat == 1 and row.kind in (OPEN, CLOSED)
        return (row.pro, COMBINED if combined else row.kind)

    def limit(self, category_id: int | None, kind: str) -> int | None:
        """Most rows on one heat number: 1 for solos, else the category's or event's limit."""
        if kind == SOLO:
            return 1
        category = self.categories.get(category_id) if category_id is not None else None
        if category is not None and category.max_heat_size:
            return category.max_heat_size
        return self.settings.max_heat_size or None

    def rooms(self, category_id: int | None) -> int:
        """Number of ballrooms for a category (its override, else the event's)."""
        category = self.categories.get(category_id) if category_id is not None else None
        if category is not None and category.ballrooms:
            return category.ballrooms
        return self.settings.ballrooms or 1

    def ballroom(self, row: Row) -> str | None:
        """Split floors: A for a student follow led by a professional, B for everyone else.

        Solos and one-room events get no ballroom.  Rotating rooms (3 or more) are not
        implemented: they get the same A/B split.
        """
        if row.kind == SOLO or self.rooms(row.category_id) < 2:
            return None
        student_follow = self.type_of(row.entry.follow_id) == "Student"
        pro_lead = self.type_of(row.entry.lead_id) == "Professional"
        return "A" if student_follow and pro_lead else "B"

    def duration(self, rows: Iterable[Row]) -> int | None:
        """Seconds a heat number lasts: solo_length for solos, heat_length per dance of a multi."""
        length = self.settings.heat_length
        rows = list(rows)
        if length is None:
            return None
        if rows and all(r.kind == SOLO for r in rows):
            return self.settings.solo_length or length
        dances = [r.dance.heat_length or 1 for r in rows if r.kind == MULTI]
        return length * max(dances, default=1)

    def name(self, person_id: int) -> str:
        """A person as shown: "First Last" from "Last, First"."""
        person = self.people.get(person_id)
        if person is None or not person.name:
            return f"person {person_id}"
        last, comma, first = person.name.partition(",")
        return f"{first.strip()} {last.strip()}" if comma else person.name.strip()


def _id(item: Person | Entry | Dance | Category | Heat) -> int:
    return item.id
