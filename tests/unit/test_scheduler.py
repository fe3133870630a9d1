"""Tests for :mod:`showcase.event.scheduler`: properties on generated events, then examples.

The generated events leave the ``pro_*`` categories and solo category overrides empty, so
a heat's agenda category is simply its dance's category for its kind; the checks below
work it out on their own from the rows, without the scheduler's index.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime
from typing import Any, TypeVar

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from showcase.event.scheduler import (
    CLOSED,
    MULTI,
    NOBODY,
    OPEN,
    SOLO,
    BadData,
    Category,
    Dance,
    Entry,
    EventData,
    Formation,
    Heat,
    Locked,
    NotScheduled,
    Person,
    Placement,
    Schedule,
    Settings,
    Solo,
    conflicts,
    renumber,
    restore,
    schedule,
    schedule_unscheduled,
    scratch,
    start_times,
    undo,
)

T = TypeVar("T")

PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --------------------------------------------------------------------------------------
# generated events


PICK = st.integers(0, 255)
COIN = st.booleans()
SIZES = {n: st.integers(1, n) for n in (3, 4, 8, 10)}
HEAT_COUNT = st.integers(0, 25)
KIND = st.sampled_from([CLOSED, CLOSED, OPEN, OPEN, SOLO, MULTI])
NUMBER = st.sampled_from([0.0, 0.0, 1.0, 2.5, 7.0, -3.0])
WINDOW = st.sampled_from([None, None, None, ">10:03", "<10:05", ">13:35"])
TIME = st.sampled_from([None, "10:00", "13:30"])
CATEGORY_LIMIT = st.sampled_from([None, None, 1, 3])
HEAT_LIMIT = st.sampled_from([None, 1, 2, 4])
LEVEL_RANGE = st.sampled_from([None, 0, 1, 2])
AGE_RANGE = st.sampled_from([None, 0, 1])
CAT_RANGE = st.sampled_from([None, 0, 1])
HEAT_LENGTH = st.sampled_from([None, 60, 120])
SOLO_LENGTH = st.sampled_from([None, 90])
BALLROOMS = st.sampled_from([1, 2])


@st.composite
def events(draw: st.DrawFn) -> EventData:
    """A random small event: people, entries, dances, categories, heats and settings."""

    def pick(items: list[T]) -> T:
        return items[draw(PICK) % len(items)]

    levels = tuple(range(1, draw(SIZES[4]) + 1))
    ages = tuple(range(1, draw(SIZES[3]) + 1))
    n_categories = draw(SIZES[3])
    orders = list(range(1, n_categories + 1))
    random.Random(draw(PICK)).shuffle(orders)
    categories = tuple(
        Category(
            i, f"Category {i}", orders[i - 1], time=draw(TIME), max_heat_size=draw(CATEGORY_LIMIT)
        )
        for i in range(1, n_categories + 1)
    )
    ids = [c.id for c in categories]
    dances = tuple(
        Dance(
            id=i,
            name=f"Dance {i}",
            order=draw(PICK) % 10,
            closed_category_id=pick(ids),
            open_category_id=pick(ids),
            solo_category_id=pick(ids),
            multi_category_id=pick([None, *ids]),
            heat_length=2 if i == 1 else None,
        )
        for i in range(1, draw(SIZES[4]) + 1)
    )
    n_pros = draw(SIZES[3])
    pros = list(range(1, n_pros + 1))
    students = list(range(n_pros + 1, n_pros + draw(SIZES[8]) + 1))
    people = [Person(NOBODY, "Placeholder", name="Nobody")]
    people += [Person(p, "Professional", name=f"Pro, {p}") for p in pros]
    people += [Person(s, "Student", name=f"Student, {s}", available=draw(WINDOW)) for s in students]
    entries = []
    for i in range(1, draw(SIZES[10]) + 1):
        student = pick(students)
        partner = pick([*pros, *students, NOBODY])
        if partner == student:
            partner = pros[0]
        lead, follow = (student, partner) if draw(COIN) else (partner, student)
        instructor = pick([None, *pros]) if partner in students else None
        entries.append(Entry(i, lead, follow, pick(list(levels)), pick(list(ages)), instructor))
    heats, solos, formations = [], [], []
    for i in range(1, draw(HEAT_COUNT) + 1):
        entry = pick(entries)
        kind = draw(KIND)
        heats.append(Heat(i, entry.id, pick(list(dances)).id, kind, draw(NUMBER)))
        if kind == SOLO:
            solos.append(Solo(i, draw(PICK) % 9 * 100 + i))
            dancers = {entry.lead_id, entry.follow_id, entry.instructor_id}
            others = [p for p in students if p not in dancers]
            if draw(COIN) and others:
                formations.append(Formation(i, pick(others)))
    partners = {frozenset((e.lead_id, e.follow_id, e.instructor_id)) for e in entries}
    for solo in formations:
        entry = entries[next(h.entry_id for h in heats if h.id == solo.heat_id) - 1]
        partners.add(
            frozenset((solo.person_id, entry.lead_id, entry.follow_id, entry.instructor_id))
        )
    excluded = []
    for person in people:
        other = pick([None, None, None, *students])
        together = any({person.id, other} <= group for group in partners)
        excluded.append(attrs.evolve(person, exclude_id=None if together else other))
    return EventData(
        settings=Settings(
            max_heat_size=draw(HEAT_LIMIT),
            heat_range_level=draw(LEVEL_RANGE),
            heat_range_age=draw(AGE_RANGE),
            heat_range_cat=draw(CAT_RANGE),
            intermix=draw(COIN),
            heat_length=draw(HEAT_LENGTH),
            solo_length=draw(SOLO_LENGTH),
            ballrooms=draw(BALLROOMS),
            date="2025-03-15",
        ),
        people=tuple(excluded),
        entries=tuple(entries),
        dances=dances,
        categories=categories,
        heats=tuple(heats),
        solos=tuple(solos),
        formations=tuple(formations),
        levels=levels,
        ages=ages,
    )


def shuffled(data: EventData, seed: int) -> EventData:
    """The same event with every collection in another order."""
    rng = random.Random(seed)

    def mix(items: tuple[T, ...]) -> tuple[T, ...]:
        mixed = list(items)
        rng.shuffle(mixed)
        return tuple(mixed)

    return attrs.evolve(
        data,
        people=mix(data.people),
        entries=mix(data.entries),
        dances=mix(data.dances),
        categories=mix(data.categories),
        heats=mix(data.heats),
        solos=mix(data.solos),
        formations=mix(data.formations),
    )


def applied(data: EventData, result: Schedule) -> EventData:
    """The event with the schedule written into its heats."""
    heats = tuple(attrs.evolve(h, number=result.placements[h.id].number) for h in data.heats)
    return attrs.evolve(data, heats=heats)


def floors(data: EventData, result: Schedule) -> dict[float, list[Heat]]:
    """The heat rows on each scheduled number."""
    found: defaultdict[float, list[Heat]] = defaultdict(list)
    for heat in data.heats:
        number = result.placements[heat.id].number
        if number > 0:
            found[number].append(heat)
    return dict(found)


def dancers(data: EventData, heat: Heat) -> list[int]:
    """Everyone a heat row puts on the floor, Nobody left out."""
    entry = next(e for e in data.entries if e.id == heat.entry_id)
    people = [entry.lead_id, entry.follow_id, entry.instructor_id]
    people += [f.person_id for f in data.formations if f.heat_id == heat.id and f.on_floor]
    return [p for p in people if p is not None and p != NOBODY]


def category_of(data: EventData, heat: Heat) -> int | None:
    """The agenda category of a heat row (no pro categories or overrides are generated)."""
    dance = next(d for d in data.dances if d.id == heat.dance_id)
    return {
        CLOSED: dance.closed_category_id,
        OPEN: dance.open_category_id,
        SOLO: dance.solo_category_id,
        MULTI: dance.multi_category_id,
    }[heat.category]


def entry_of(data: EventData, heat: Heat) -> Entry:
    """The entry of a heat row."""
    return next(e for e in data.entries if e.id == heat.entry_id)


# --------------------------------------------------------------------------------------
# properties of generated schedules


@PROPERTY
@given(events())
def test_nobody_is_twice_on_one_floor(data: EventData) -> None:
    """No person (lead, follow, instructor, formation member) dances twice in one heat,
    and people who exclude each other never share one."""
    result = schedule(data)
    exclude = {p.id: p.exclude_id for p in data.people}
    for rows in floors(data, result).values():
        people = [p for heat in rows for p in dancers(data, heat)]
        assert len(people) == len(set(people))
        assert not any(exclude.get(p) in people and exclude.get(p) != p for p in people)


@PROPERTY
@given(events())
def test_heat_sizes_stay_within_the_limit(data: EventData) -> None:
    """A heat holds at most the category's limit, else the event's; a solo dances alone."""
    result = schedule(data)
    limits = {c.id: c.max_heat_size for c in data.categories}
    for rows in floors(data, result).values():
        if any(h.category == SOLO for h in rows):
            assert len(rows) == 1
            continue
        limit = limits.get(category_of(data, rows[0]) or 0) or data.settings.max_heat_size
        assert limit is None or len(rows) <= limit


@PROPERTY
@given(events())
def test_level_and_age_ranges_are_honoured(data: EventData) -> None:
    """Levels (and ages) on one floor are at most heat_range_level (age) apart."""
    result = schedule(data)
    ranges = (data.settings.heat_range_level, data.settings.heat_range_age)
    for rows in floors(data, result).values():
        entries = [entry_of(data, h) for h in rows]
        for limit, values in zip(
            ranges, ([e.level_id for e in entries], [e.age_id for e in entries]), strict=True
        ):
            assert limit is None or max(values) - min(values) <= limit


@PROPERTY
@given(events())
def test_open_and_closed_share_a_floor_only_when_allowed(data: EventData) -> None:
    """Open and Closed heats share a number only with heat_range_cat 1; a floor is one
    dance of one agenda category."""
    result = schedule(data)
    for rows in floors(data, result).values():
        kinds = {h.category for h in rows}
        if data.settings.heat_range_cat != 1:
            assert not {OPEN, CLOSED} <= kinds
        assert len({h.dance_id for h in rows}) == 1
        assert len({category_of(data, h) for h in rows}) == 1


@PROPERTY
@given(events())
def test_solos_keep_their_order(data: EventData) -> None:
    """Within a category, solos run in their manual solos.order."""
    result = schedule(data)
    order = {s.heat_id: s.order or 0 for s in data.solos}
    by_category: defaultdict[int | None, list[tuple[float, int]]] = defaultdict(list)
    for heat in data.heats:
        if heat.category == SOLO and heat.number >= 0:
            number = result.placements[heat.id].number
            by_category[category_of(data, heat)].append((number, order[heat.id]))
    for solos in by_category.values():
        assert [o for _, o in sorted(solos)] == sorted(o for _, o in solos)


@PROPERTY
@given(events(), st.integers(0, 2**32))
def test_same_input_same_schedule(data: EventData, seed: int) -> None:
    """The schedule depends on the data only, not on the order of the rows."""
    first = schedule(data)
    assert schedule(data) == first
    assert schedule(shuffled(data, seed)) == first


@PROPERTY
@given(events())
def test_every_heat_not_scratched_gets_a_number(data: EventData) -> None:
    """Every heat with number >= 0 gets a positive number; scratched ones keep theirs."""
    result = schedule(data)
    for heat in data.heats:
        number = result.placements[heat.id].number
        if heat.number < 0:
            assert result.placements[heat.id] == Placement(heat.number, heat.ballroom)
        else:
            assert number > 0


@PROPERTY
@given(events())
def test_numbers_run_1_to_n_in_agenda_order(data: EventData) -> None:
    """Heat numbers are 1..N without gaps, and categories follow the agenda order."""
    result = schedule(data)
    numbers = sorted(floors(data, result))
    assert numbers == [float(n) for n in range(1, len(numbers) + 1)]
    order = {c.id: c.order or 0 for c in data.categories}
    agenda = [
        (order.get(category_of(data, h) or 0, 999), number)
        for number, rows in floors(data, result).items()
        for h in rows
    ]
    assert [a for a, _ in sorted(agenda, key=lambda item: item[1])] == sorted(a for a, _ in agenda)


@PROPERTY
@given(events())
def test_only_availability_is_left_as_a_conflict(data: EventData) -> None:
    """A generated schedule breaks no rule; at most availability stays unresolved, and
    the conflicts it reports are those of its numbering."""
    result = schedule(data)
    assert {c.kind for c in result.conflicts} <= {"available"}
    assert list(result.conflicts) == conflicts(applied(data, result))


@PROPERTY
@given(events())
def test_renumber_keeps_the_order(data: EventData) -> None:
    """Renumbering gives 1..N in the old order and leaves 0 and scratched heats alone."""
    result = renumber(data)
    old = sorted({h.number for h in data.heats if h.number > 0})
    for heat in data.heats:
        number = result.placements[heat.id].number
        expected = float(old.index(heat.number) + 1) if heat.number > 0 else heat.number
        assert number == expected


@PROPERTY
@given(events())
def test_schedule_unscheduled_moves_only_unscheduled_heats(data: EventData) -> None:
    """Placing the unscheduled heats gives each a positive number, moves no other heat,
    and adds no conflict (availability aside: a new number delays the heats after it)."""
    before = conflicts(data)
    result = schedule_unscheduled(data)
    for heat in data.heats:
        placement = result.placements[heat.id]
        if heat.number == 0:
            assert placement.number > 0
        else:
            assert placement.number == heat.number
    assert [c for c in result.conflicts if c.kind != "available" and c not in before] == []


# --------------------------------------------------------------------------------------
# examples

DATE = "2025-03-15"


def event(
    heats: list[Heat],
    *,
    people: list[Person] | None = None,
    entries: list[Entry] | None = None,
    dances: list[Dance] | None = None,
    categories: list[Category] | None = None,
    **knobs: Any,
) -> EventData:
    """A small event: pros 1 and 2, students 3 to 10, one entry per student (pro 1 or 2 leads),
    Waltz (1), Tango (2) and Rumba (3) in category 1, solos in category 2."""
    base = attrs.evolve(Settings(max_heat_size=4, heat_length=60, date=DATE), **knobs)
    people = people or [
        Person(1, "Professional", name="Murray, Arthur"),
        Person(2, "Professional", name="Murray, Kathryn"),
        *[Person(s, "Student", name=f"Student, S{s}") for s in range(3, 11)],
    ]
    entries = entries or [Entry(s, 1 + s % 2, s, level_id=1, age_id=1) for s in range(3, 11)]
    dances = dances or [
        Dance(d, name, d, closed_category_id=1, open_category_id=1, solo_category_id=2)
        for d, name in ((1, "Waltz"), (2, "Tango"), (3, "Rumba"))
    ]
    categories = categories or [
        Category(1, "Ballroom", 1, time="10:00"),
        Category(2, "Solos", 2),
    ]
    return EventData(
        settings=base,
        people=tuple(people),
        entries=tuple(entries),
        dances=tuple(dances),
        categories=tuple(categories),
        heats=tuple(heats),
        levels=(1, 2, 3, 4),
        ages=(1, 2, 3),
    )


def numbers(result: Schedule) -> dict[int, float]:
    """heat id → number."""
    return {hid: p.number for hid, p in result.placements.items()}


def dance_sequence(data: EventData, result: Schedule) -> list[int]:
    """The dance of each heat number, in running order."""
    return [rows[0].dance_id for _, rows in sorted(floors(data, result).items())]


def test_intermix_interleaves_dances() -> None:
    """With intermix, the floors of each dance spread over the category."""
    heats = [Heat(i, 3 + (i - 1) % 4, 1 + (i - 1) // 4) for i in range(1, 13)]
    data = event(heats, max_heat_size=2, intermix=True)
    assert dance_sequence(data, schedule(data)) == [1, 2, 3, 1, 2, 3]


def test_without_intermix_dances_stay_together() -> None:
    """Without intermix, all floors of one dance come before the next dance, by order."""
    heats = [Heat(i, 3 + (i - 1) % 4, 1 + (i - 1) // 4) for i in range(1, 13)]
    data = event(heats, max_heat_size=2, intermix=False)
    assert dance_sequence(data, schedule(data)) == [1, 1, 2, 2, 3, 3]


def test_floors_are_balanced_and_go_newcomer_to_advanced() -> None:
    """Five couples with a limit of four make floors of three and two, lowest level first."""
    people = [Person(s, "Student") for s in range(3, 8)]
    people += [Person(s + 10, "Professional") for s in range(3, 8)]
    entries = [Entry(s, s + 10, s, level_id=1 + (s > 5), age_id=1) for s in range(3, 8)]
    heats = [Heat(s, s, 1) for s in range(3, 8)]
    data = event(heats, people=people, entries=entries, max_heat_size=4)
    result = schedule(data)
    sizes = [len(rows) for _, rows in sorted(floors(data, result).items())]
    assert sorted(sizes) == [2, 3]
    first = floors(data, result)[1.0]
    assert all(entry_of(data, h).level_id == 1 for h in first)


def test_someone_arriving_late_dances_later_in_the_category() -> None:
    """A floor with someone who arrives after its start moves to a later place."""
    people = [
        Person(1, "Professional"),
        Person(2, "Professional"),
        Person(3, "Student", available=">10:02"),
        *[Person(s, "Student") for s in range(4, 11)],
    ]
    heats = [Heat(i, 3 + (i - 1) % 2, 1 + (i - 1) // 2) for i in range(1, 7)]
    data = event(heats, people=people, max_heat_size=1, intermix=False)
    result = schedule(data)
    assert result.conflicts == ()
    starts = start_times(applied(data, result))
    for heat in data.heats:
        if heat.entry_id == 3:
            start = starts[result.placements[heat.id].number]
            assert isinstance(start, datetime)
            assert start > datetime(2025, 3, 15, 10, 2)


def test_someone_leaving_early_dances_earlier() -> None:
    """A floor with someone who must leave before its start moves to an earlier place."""
    people = [Person(p, "Professional") for p in (1, 2)]
    people += [Person(s, "Student", available="<10:01" if s == 4 else None) for s in range(3, 11)]
    heats = [Heat(i, 3, i) for i in (1, 2, 3)] + [Heat(4, 4, 3)]
    data = event(heats, people=people, max_heat_size=1, intermix=False)
    result = schedule(data)
    assert result.conflicts == ()
    assert result.placements[4].number <= 2


def test_availability_that_cannot_be_met_is_reported() -> None:
    """When no place in the category suits someone, the schedule reports it."""
    people = [Person(p, "Professional") for p in (1, 2)]
    people += [
        Person(s, "Student", name="Late, Lucy", available=">18:00" if s == 3 else None)
        for s in range(3, 11)
    ]
    data = event([Heat(1, 3, 1), Heat(2, 4, 2)], people=people)
    result = schedule(data)
    assert [(c.kind, c.person_ids) for c in result.conflicts] == [("available", (3,))]
    assert "Lucy Late arrives after 18:00" in result.conflicts[0].message


def test_renumber_closes_gaps_and_fractions() -> None:
    """Renumber makes 1..N in order; shared numbers stay shared; 0 and < 0 stay."""
    numbers_in = [1.0, 2.5, 2.5, 4.0, 0.0, -3.0]
    heats = [Heat(i, 3 + i, 1, number=n) for i, n in enumerate(numbers_in, start=1)]
    result = renumber(event(heats))
    assert [numbers(result)[i] for i in range(1, 7)] == [1.0, 2.0, 2.0, 3.0, 0.0, -3.0]


def test_a_locked_agenda_is_never_renumbered() -> None:
    """Renumber and redo refuse a locked agenda."""
    data = event([Heat(1, 3, 1, number=2.5)], locked=True)
    with pytest.raises(Locked):
        renumber(data)
    with pytest.raises(Locked):
        schedule(data)


def test_a_locked_category_keeps_its_heats() -> None:
    """Redo keeps a locked category's floors and order; its new heats stay unscheduled."""
    categories = [Category(1, "Ballroom", 1, locked=True), Category(2, "Solos", 2)]
    heats = [
        Heat(1, 3, 1, number=2.0),
        Heat(2, 4, 1, number=1.0),
        Heat(3, 5, 1, number=1.0),
        Heat(4, 6, 1, number=0.0),
    ]
    result = schedule(event(heats, categories=categories))
    assert numbers(result) == {1: 2.0, 2: 1.0, 3: 1.0, 4: 0.0}


def test_undo_goes_back_to_prev_number() -> None:
    """Undo restores prev_number where there is one and leaves other heats alone."""
    heats = [Heat(1, 3, 1, number=1.0, prev_number=4.0), Heat(2, 4, 1, number=2.0)]
    assert numbers(undo(event(heats))) == {1: 4.0, 2: 2.0}


def test_scratch_and_restore_negate() -> None:
    """Scratch negates a heat's number, restore undoes it; both are idempotent."""
    heat = Heat(1, 3, 1, number=12.5, ballroom="A")
    assert scratch(heat) == Placement(-12.5, "A")
    assert restore(attrs.evolve(heat, number=-12.5)) == Placement(12.5, "A")
    assert scratch(attrs.evolve(heat, number=-12.5)) == Placement(-12.5, "A")
    assert restore(heat) == Placement(12.5, "A")
    with pytest.raises(NotScheduled):
        scratch(attrs.evolve(heat, number=0.0))


def test_schedule_unscheduled_joins_a_heat_with_room() -> None:
    """A new couple joins a heat of its dance with room, without moving other heats."""
    heats = [Heat(1, 3, 1, number=1.0), Heat(2, 5, 2, number=2.0), Heat(3, 4, 1)]
    assert numbers(schedule_unscheduled(event(heats))) == {1: 1.0, 2: 2.0, 3: 1.0}


def test_schedule_unscheduled_adds_a_fractional_heat_after_its_category() -> None:
    """With no heat to join, a new number goes right after the category's last heat."""
    categories = [Category(1, "Smooth", 1), Category(2, "Solos", 2), Category(3, "Latin", 3)]
    dances = [
        Dance(1, "Waltz", 1, closed_category_id=1, solo_category_id=2),
        Dance(3, "Rumba", 3, closed_category_id=3),
    ]
    heats = [
        Heat(1, 3, 1, number=1.0),
        Heat(2, 4, 1, number=2.0),
        Heat(3, 5, 3, number=3.0),
        Heat(4, 3, 1),  # student 3 already dances the only Waltz heat with room
    ]
    data = event(heats, categories=categories, dances=dances, max_heat_size=1)
    assert numbers(schedule_unscheduled(data))[4] == 2.5
    solo = attrs.evolve(data, heats=(*heats[:3], Heat(4, 6, 1, SOLO)))
    assert numbers(schedule_unscheduled(solo))[4] == 2.5
    last = attrs.evolve(data, heats=(*heats[:3], Heat(4, 6, 3)))
    assert numbers(schedule_unscheduled(last))[4] == 4.0


def test_schedule_unscheduled_never_joins_a_scored_heat() -> None:
    """A heat already scored gets no new couples."""
    data = attrs.evolve(
        event([Heat(1, 3, 1, number=1.0), Heat(2, 4, 1)]), scored_heat_ids=frozenset({1})
    )
    assert numbers(schedule_unscheduled(data))[2] == 2.0


def test_conflicts_name_what_is_wrong() -> None:
    """The heats page conflicts: size, twice, exclude, Open with Closed, level and age
    spread, availability; each names the heat, the people and the rows."""
    people = [
        Person(1, "Professional", name="Murray, Arthur"),
        Person(2, "Professional", name="Murray, Kathryn", exclude_id=3),
        Person(3, "Student", name="Doe, Jane", available=">11:00"),
        Person(4, "Student", name="Roe, Rick"),
    ]
    entries = [
        Entry(1, 1, 3, level_id=1, age_id=1),
        Entry(2, 1, 4, level_id=4, age_id=1),
        Entry(3, 2, 4, level_id=1, age_id=3),
    ]
    heats = [
        Heat(1, 1, 1, CLOSED, number=1.0),
        Heat(2, 2, 1, OPEN, number=1.0),
        Heat(3, 3, 1, CLOSED, number=1.0),
    ]
    data = event(
        heats,
        people=people,
        entries=entries,
        max_heat_size=2,
        heat_range_level=1,
        heat_range_age=1,
        heat_range_cat=0,
    )
    found = {(c.kind, c.person_ids): c for c in conflicts(data)}
    assert set(found) == {
        ("size", (1, 2, 3, 4)),
        ("twice", (1,)),
        ("twice", (4,)),
        ("exclude", (2, 3)),
        ("kinds", (1, 2, 3, 4)),
        ("level", (1, 2, 3, 4)),
        ("age", (1, 2, 3, 4)),
        ("available", (3,)),
    }
    assert found[("twice", (1,))].message == "Heat 1: Arthur Murray is on the floor 2 times"
    assert found[("twice", (1,))].heat_ids == (1, 2)
    assert "Kathryn Murray and Jane Doe must not be on the floor together" in (
        found[("exclude", (2, 3))].message
    )
    assert found[("available", (3,))].message == (
        "Heat 1 starts 2025-03-15 10:00: Jane Doe arrives after 11:00"
    )


def test_nobody_never_conflicts() -> None:
    """Partnerless entries (Nobody as lead) share a heat without a conflict."""
    entries = [Entry(s, NOBODY, s, level_id=1, age_id=1) for s in (3, 4)]
    data = event([Heat(1, 3, 1), Heat(2, 4, 1)], entries=entries)
    result = schedule(data)
    assert numbers(result) == {1: 1.0, 2: 1.0}
    assert result.conflicts == ()


def test_start_times_follow_the_agenda() -> None:
    """Categories start at their day and time, else after the previous one (and after
    a break's duration); heats take heat_length, solos solo_length."""
    categories = [
        Category(1, "Morning", 1, day="Saturday", time="10:00"),
        Category(4, "Break", 2, duration=30),
        Category(2, "Solos", 3),
        Category(3, "Evening", 4, day="Sunday", time="19:00"),
    ]
    dances = [
        Dance(1, "Waltz", 1, closed_category_id=1, solo_category_id=2),
        Dance(2, "Tango", 2, closed_category_id=3),
    ]
    heats = [
        Heat(1, 3, 1, number=1.0),
        Heat(2, 4, 1, number=2.0),
        Heat(3, 5, 1, SOLO, number=3.0),
        Heat(4, 6, 1, SOLO, number=4.0),
        Heat(5, 7, 2, number=5.0),
    ]
    data = event(heats, categories=categories, dances=dances, solo_length=180)
    assert start_times(data) == {
        1.0: datetime(2025, 3, 15, 10, 0),
        2.0: datetime(2025, 3, 15, 10, 1),
        3.0: datetime(2025, 3, 15, 10, 32),
        4.0: datetime(2025, 3, 15, 10, 35),
        5.0: datetime(2025, 3, 16, 19, 0),
    }
    nominal = attrs.evolve(data, settings=attrs.evolve(data.settings, date=None))
    assert start_times(nominal)[5.0] == "Sunday 19:00"
    untimed = attrs.evolve(data, settings=attrs.evolve(data.settings, heat_length=None))
    assert start_times(untimed) == {}


def test_two_ballrooms_split_by_role() -> None:
    """With two ballrooms, student follows led by a pro dance in A, everyone else in B;
    solos get no ballroom."""
    entries = [
        Entry(3, 1, 3, level_id=1, age_id=1),
        Entry(4, 4, 2, level_id=1, age_id=1),
        Entry(5, 5, 6, level_id=1, age_id=1),
    ]
    heats = [Heat(1, 3, 1), Heat(2, 4, 1), Heat(3, 5, 1), Heat(4, 3, 1, SOLO)]
    result = schedule(event(heats, entries=entries, ballrooms=2))
    rooms = {hid: p.ballroom for hid, p in result.placements.items()}
    assert rooms == {1: "A", 2: "B", 3: "B", 4: None}


def test_pro_entries_use_pro_categories_and_floors_of_their_own() -> None:
    """A pro-pro entry lands in the dance's pro category and never joins a pro-am floor."""
    people = [Person(p, "Professional") for p in (1, 2, 3)] + [Person(4, "Student")]
    entries = [Entry(1, 1, 2, level_id=1, age_id=1), Entry(2, 3, 4, level_id=1, age_id=1)]
    dances = [Dance(1, "Waltz", 1, closed_category_id=1, pro_closed_category_id=2)]
    data = event([Heat(1, 1, 1), Heat(2, 2, 1)], people=people, entries=entries, dances=dances)
    assert numbers(schedule(data)) == {2: 1.0, 1: 2.0}


def test_multis_come_after_solos_in_their_category() -> None:
    """Within a category: couples' heats, then solos by order, then multi-dance heats."""
    dances = [Dance(1, "Waltz", 1, closed_category_id=1, solo_category_id=1, multi_category_id=1)]
    heats = [Heat(1, 3, 1, MULTI), Heat(2, 4, 1, SOLO), Heat(3, 5, 1, SOLO), Heat(4, 6, 1)]
    data = attrs.evolve(event(heats, dances=dances), solos=(Solo(2, 2), Solo(3, 1)))
    assert numbers(schedule(data)) == {4: 1.0, 3: 2.0, 2: 3.0, 1: 4.0}


def test_formation_members_are_on_the_floor() -> None:
    """A formation member counts as dancing: conflicts see them twice in one number."""
    data = attrs.evolve(
        event([Heat(1, 3, 1, SOLO, number=1.0), Heat(2, 4, 1, number=1.0)]),
        formations=(Formation(1, 4),),
    )
    kinds = {(c.kind, c.person_ids) for c in conflicts(data)}
    assert ("twice", (4,)) in kinds


def test_changes_lists_only_what_moved() -> None:
    """Schedule.changes gives the rows whose number or ballroom differs from the data."""
    heats = [Heat(1, 3, 1, number=1.0), Heat(2, 4, 1, number=7.0)]
    data = event(heats)
    assert renumber(data).changes(data.heats) == {2: Placement(2.0)}


def test_a_heat_naming_a_missing_entry_is_bad_data() -> None:
    """Rows that point nowhere are reported, not guessed around."""
    with pytest.raises(BadData):
        schedule(event([Heat(1, 99, 1)]))


def test_open_and_closed_combine_when_allowed() -> None:
    """With heat_range_cat 1, Open and Closed couples of one dance and category share a floor."""
    heats = [Heat(1, 3, 1, CLOSED), Heat(2, 4, 1, OPEN)]
    assert numbers(schedule(event(heats, heat_range_cat=1))) == {1: 1.0, 2: 1.0}
    assert numbers(schedule(event(heats, heat_range_cat=0))) == {1: 1.0, 2: 2.0}


def test_times_may_be_written_am_pm() -> None:
    """A category time of "1:30 PM" starts at 13:30."""
    categories = [Category(1, "Afternoon", 1, time="1:30 PM"), Category(2, "Solos", 2)]
    data = event([Heat(1, 3, 1, number=1.0)], categories=categories)
    assert start_times(data) == {1.0: datetime(2025, 3, 15, 13, 30)}


def test_availability_may_name_the_day() -> None:
    """``>YYYY-MM-DD HH:MM`` is an arrival on that day: heats the day before are missed."""
    people = [Person(p, "Professional") for p in (1, 2)]
    people += [Person(3, "Student", available=">2025-03-16 09:00"), Person(4, "Student")]
    data = event([Heat(1, 3, 1, number=1.0), Heat(2, 4, 2, number=2.0)], people=people)
    assert [(c.number, c.kind) for c in conflicts(data)] == [(1.0, "available")]
    later = attrs.evolve(people[2], available=">2025-03-15 09:00")
    assert conflicts(attrs.evolve(data, people=(*people[:2], later, people[3]))) == []
