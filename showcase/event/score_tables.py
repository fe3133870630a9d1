"""The results pages' tables: by level, by age, by studio and by instructor.

Pure: each view takes the :class:`~showcase.event.tallies.EventScores` and returns frozen
data, sorted (people and studios by name, levels and ages in the event's order), for a
template to render.  What counts and what it is worth is :mod:`showcase.event.tallies`.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from showcase.event.tallies import (
    GROUPS,
    Competitor,
    Dancer,
    EventScores,
    Mark,
    ScoreRecord,
    Sum,
    Tally,
    counted,
    sums,
    table_marks,
)


@attrs.frozen
class StudentRow:
    competitor: Competitor
    tally: Tally


@attrs.frozen
class GroupRows:
    group: str  # FOLLOWERS, LEADERS or COUPLES
    rows: tuple[StudentRow, ...]  # by name


@attrs.frozen
class Section:
    """One level (or age group); ``id`` None for students without one."""

    id: int | None
    name: str
    description: str
    groups: tuple[GroupRows, ...]  # the non-empty groups, in GROUPS order


@attrs.frozen
class StudentTable:
    marks: tuple[Mark, ...]
    sections: tuple[Section, ...]  # in the event's order of levels (ages); unknown, then none last


def by_level(event: EventScores) -> StudentTable:
    """Per level: Followers, Leaders and Couples, each student with their tally."""
    names = {level.id: (level.name, "") for level in event.levels}
    return _student_table(event, lambda c: c.level_id, names, [lv.id for lv in event.levels])


def by_age(event: EventScores) -> StudentTable:
    """Per age group: Followers, Leaders and Couples, each student with their tally."""
    names = {age.id: (age.category, age.description) for age in event.ages}
    return _student_table(event, lambda c: c.age_id, names, [age.id for age in event.ages])


def _student_table(
    event: EventScores,
    section_of: Callable[[Competitor], int | None],
    names: dict[int, tuple[str, str]],
    order: list[int],
) -> StudentTable:
    marks = table_marks(event.settings)
    rows = _rows(sums((item.competitor, item) for item in counted(event)), marks)
    position = {item: index for index, item in enumerate(order)}
    sections = []
    for key in sorted({section_of(row.competitor) for row in rows}, key=_section_key(position)):
        mine = [row for row in rows if section_of(row.competitor) == key]
        groups = tuple(
            GroupRows(group, in_group)
            for group in GROUPS
            if (in_group := tuple(row for row in mine if row.competitor.group == group))
        )
        name, description = names.get(key, ("", "")) if key is not None else ("", "")
        sections.append(Section(key, name, description, groups))
    return StudentTable(marks, tuple(sections))


def _rows(sums: dict[Competitor, Sum], marks: tuple[Mark, ...]) -> tuple[StudentRow, ...]:
    ordered = sorted(sums, key=Competitor.sort_key)
    return tuple(StudentRow(competitor, sums[competitor].tally(marks)) for competitor in ordered)


def _section_key(position: dict[int, int]) -> Callable[[int | None], tuple[int, int]]:
    def key(item: int | None) -> tuple[int, int]:
        if item is None:
            return (2, 0)
        return (0, position[item]) if item in position else (1, item)

    return key


@attrs.frozen
class StudioRow:
    id: int | None
    name: str
    tally: Tally  # tally.average is the by-studio average


@attrs.frozen
class StudioSection:
    id: int | None  # the level
    name: str
    studios: tuple[StudioRow, ...]  # by name


@attrs.frozen
class StudioTable:
    marks: tuple[Mark, ...]
    sections: tuple[StudioSection, ...]  # per level, in the event's order
    total: tuple[StudioRow, ...]  # per studio over all levels


def by_studio(event: EventScores) -> StudioTable:
    """Per level and in total, per studio: points, scores, average and counts.

    A score counts once for each studio among its students (once for a couple of one studio).
    """
    marks = table_marks(event.settings)
    items = counted(event)
    studios = {item: {(s.studio_id, s.studio) for s in item.competitor.students} for item in items}
    per_level = sums(
        ((item.competitor.level_id, studio), item) for item in items for studio in studios[item]
    )
    total = sums((studio, item) for item in items for studio in studios[item])
    names = {level.id: level.name for level in event.levels}
    position = {level.id: index for index, level in enumerate(event.levels)}
    sections = []
    for level_id in sorted({level for level, _ in per_level}, key=_section_key(position)):
        rows = {studio: s for (level, studio), s in per_level.items() if level == level_id}
        name = names.get(level_id, "") if level_id is not None else ""
        sections.append(StudioSection(level_id, name, _studio_rows(rows, marks)))
    return StudioTable(marks, tuple(sections), _studio_rows(total, marks))


def _studio_rows(
    sums: dict[tuple[int | None, str], Sum], marks: tuple[Mark, ...]
) -> tuple[StudioRow, ...]:
    ordered = sorted(sums, key=lambda s: (s[1].casefold(), s[1], -1 if s[0] is None else s[0]))
    return tuple(
        StudioRow(studio_id, name, sums[(studio_id, name)].tally(marks))
        for studio_id, name in ordered
    )


@attrs.frozen
class InstructorRow:
    instructor: Dancer
    tally: Tally  # all their students' counted scores
    students: tuple[StudentRow, ...]  # by name


@attrs.frozen
class InstructorTable:
    marks: tuple[Mark, ...]
    instructors: tuple[InstructorRow, ...]  # by name


def by_instructor(event: EventScores) -> InstructorTable:
    """Per professional on the students' entries (partner or instructor): their students."""
    marks = table_marks(event.settings)
    items = [(pro, item) for item in counted(event) for pro in _professionals(item.record)]
    totals = sums(items)
    per_student = sums(((pro, item.competitor), item) for pro, item in items)
    rows = []
    for pro in sorted(totals, key=lambda p: (p.name.casefold(), p.id, repr(p))):
        mine = {c: s for (p, c), s in per_student.items() if p == pro}
        rows.append(InstructorRow(pro, totals[pro].tally(marks), _rows(mine, marks)))
    return InstructorTable(marks, tuple(rows))


def _professionals(record: ScoreRecord) -> tuple[Dancer, ...]:
    found: dict[int, Dancer] = {}
    for person in (record.lead, record.follow, record.instructor):
        if person is not None and person.type == "Professional":
            found.setdefault(person.id, person)
    return tuple(found.values())
