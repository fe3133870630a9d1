"""What the students' scores count for: the records results are computed from, and tallies.

Pure: the caller reads the rows (scores joined with heats, entries, people and studios) into
:class:`ScoreRecord` values and an :class:`EventScores`; the tables built from them are in
:mod:`showcase.event.score_tables`, the student sheet and the CSV export in
:mod:`showcase.event.score_sheet`.

Rules (``spec/scoring.md``): a score is worth 5, 3, 2, 1 for the four positions of a
placement or grade, the number for ``#`` and solos (four-part solos: the sum of the parts),
1-5 for ``&``; feedback codes are counted; scratched (number < 0) and unscheduled (0) heats
never count.  Students are grouped as Followers (a student follow with a partner who is not
a student, normally the professional), Leaders (the other way round) and Couples (two
students), within the student's own level and age, for a couple the higher of the two; with
``strict_scoring`` only heats entered at that level (and age, when ages are tracked) count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from typing import TypeVar

import attrs

from showcase.event.scoring import ScoringSettings, read_value, style_for

FOLLOWERS, LEADERS, COUPLES = "Followers", "Leaders", "Couples"
GROUPS = (FOLLOWERS, LEADERS, COUPLES)
SCALES = ("placement", "grade", "rating")  # column order of the marks


def display_name(name: str) -> str:
    """A stored name "Last, First" as "First Last"."""
    last, sep, first = name.partition(", ")
    return f"{first} {last}" if sep else name


@attrs.frozen
class Dancer:
    """A person on an entry (``people`` joined with their studio)."""

    id: int
    name: str  # as stored: "Last, First"
    type: str  # Student, Professional, Judge, Placeholder...
    level_id: int | None = None
    age_id: int | None = None
    studio_id: int | None = None
    studio: str = ""  # the studio's name

    @property
    def display_name(self) -> str:
        return display_name(self.name)

    @property
    def is_student(self) -> bool:
        return self.type == "Student"


@attrs.frozen
class ScoreRecord:
    """One ``scores`` row with its heat and entry."""

    judge_id: int  # the judge's people.id
    judge: str  # the judge's name as stored
    heat_id: int
    number: float | None  # heats.number: < 0 scratched, 0 unscheduled
    category: str  # Closed, Open, Solo or Multi
    dance: str
    entry_level_id: int | None
    entry_age_id: int | None
    lead: Dancer
    follow: Dancer
    instructor: Dancer | None = None
    value: str | None = None
    good: str | None = None
    bad: str | None = None
    comments: str | None = None
    slot: int | None = None

    @property
    def scheduled(self) -> bool:
        return self.number is not None and self.number > 0


@attrs.frozen
class Level:
    id: int
    name: str


@attrs.frozen
class Age:
    id: int
    category: str
    description: str = ""


def _scores(items: Iterable[ScoreRecord]) -> tuple[ScoreRecord, ...]:
    return tuple(items)


def _levels(items: Iterable[Level]) -> tuple[Level, ...]:
    return tuple(items)


def _ages(items: Iterable[Age]) -> tuple[Age, ...]:
    return tuple(items)


@attrs.frozen
class EventScores:
    """Everything the results need: the scores, the event's levels and ages (in order), settings."""

    scores: tuple[ScoreRecord, ...] = attrs.field(converter=_scores)
    levels: tuple[Level, ...] = attrs.field(converter=_levels, default=())
    ages: tuple[Age, ...] = attrs.field(converter=_ages, default=())
    settings: ScoringSettings = attrs.field(factory=ScoringSettings)
    strict_scoring: bool = False
    track_ages: bool = True

    @classmethod
    def from_event(
        cls,
        row: Mapping[str, object],
        scores: Iterable[ScoreRecord],
        levels: Iterable[Level] = (),
        ages: Iterable[Age] = (),
    ) -> EventScores:
        """With the settings, ``strict_scoring`` and ``track_ages`` of the ``events`` row."""
        track_ages = row.get("track_ages")
        return cls(
            scores=scores,
            levels=levels,
            ages=ages,
            settings=ScoringSettings.from_event(row),
            strict_scoring=bool(row.get("strict_scoring")),
            track_ages=True if track_ages is None else bool(track_ages),
        )


@attrs.frozen
class Mark:
    """A column of the tables: one value of a scale (GH on "grade", 1 on "placement"...)."""

    scale: str
    label: str


@attrs.frozen
class Competitor:
    """A student, or a couple of two students (lead first), and where they are ranked."""

    group: str  # FOLLOWERS, LEADERS or COUPLES
    students: tuple[Dancer, ...]
    level_id: int | None
    age_id: int | None

    @property
    def display_name(self) -> str:
        return " and ".join(student.display_name for student in self.students)

    def sort_key(self) -> tuple[tuple[str, ...], tuple[int, ...], int, str]:
        """By name, then id and group (a student may lead and follow), then anything else."""
        names = tuple(s.name.casefold() for s in self.students)
        return names, tuple(s.id for s in self.students), GROUPS.index(self.group), repr(self)


@attrs.frozen
class Tally:
    """Points, how many scores gave them, the count per mark and the feedback codes counted."""

    points: int = 0
    scores: int = 0
    counts: tuple[tuple[Mark, int], ...] = ()  # every column of the table, in its order
    good: tuple[tuple[str, int], ...] = ()  # (code, count) by code
    bad: tuple[tuple[str, int], ...] = ()

    @property
    def average(self) -> float | None:
        """Points per score (for ``#`` the average number); None without scores."""
        return self.points / self.scores if self.scores else None


@attrs.frozen
class Counted:
    """A score that counts, for whom, and what it is worth."""

    competitor: Competitor
    record: ScoreRecord
    mark: Mark | None
    points: int
    valued: bool  # it has a value on the style's set (else feedback only)
    good: tuple[str, ...]
    bad: tuple[str, ...]


def table_marks(settings: ScoringSettings) -> tuple[Mark, ...]:
    """The mark columns for the styles the settings give Closed, Open, Multi and Solo heats."""
    styles = {style_for(settings, category) for category in ("Closed", "Open", "Multi", "Solo")}
    scales = {style.scale: style.marks for style in styles if style.scale}
    return tuple(Mark(scale, label) for scale in SCALES for label in scales.get(scale, ()))


def counted(event: EventScores) -> tuple[Counted, ...]:
    """The scores that count towards the students' tallies, in the input's order."""
    levels = {level.id: index for index, level in enumerate(event.levels)}
    ages = {age.id: index for index, age in enumerate(event.ages)}
    found = []
    for record in event.scores:
        if not record.scheduled:
            continue
        competitor = _competitor(record, levels, ages)
        if competitor is None or (event.strict_scoring and not _at_own(competitor, record, event)):
            continue
        style = style_for(event.settings, record.category)
        reading = read_value(style, record.value)
        good, bad = tuple((record.good or "").split()), tuple((record.bad or "").split())
        if reading is None and not good and not bad:
            continue
        mark = Mark(style.scale, reading.mark) if reading and reading.mark and style.scale else None
        points = reading.points if reading else 0
        found.append(Counted(competitor, record, mark, points, reading is not None, good, bad))
    return tuple(found)


def _competitor(
    record: ScoreRecord, levels: dict[int, int], ages: dict[int, int]
) -> Competitor | None:
    lead, follow = record.lead, record.follow
    students: tuple[Dancer, ...]
    if lead.is_student and follow.is_student:
        students, group = (lead, follow), COUPLES
    elif follow.is_student:
        students, group = (follow,), FOLLOWERS
    elif lead.is_student:
        students, group = (lead,), LEADERS
    else:
        return None
    level = max((s.level_id for s in students), key=lambda i: _higher(levels, i))
    age = max((s.age_id for s in students), key=lambda i: _higher(ages, i))
    return Competitor(group, students, level, age)


def _higher(order: dict[int, int], item: int | None) -> tuple[int, int]:
    """Sort key where a later position is higher; unknown ids above, None below all."""
    if item is None:
        return (0, 0)
    return (1, order[item]) if item in order else (2, item)


def _at_own(competitor: Competitor, record: ScoreRecord, event: EventScores) -> bool:
    if record.entry_level_id != competitor.level_id:
        return False
    return not event.track_ages or record.entry_age_id == competitor.age_id


class Sum:
    """A tally being added up (mutable; :meth:`tally` freezes it)."""

    def __init__(self) -> None:
        self.points = 0
        self.scores = 0
        self.marks: Counter[Mark] = Counter()
        self.good: Counter[str] = Counter()
        self.bad: Counter[str] = Counter()

    def add(self, item: Counted) -> None:
        self.points += item.points
        self.scores += item.valued
        if item.mark is not None:
            self.marks[item.mark] += 1
        self.good.update(item.good)
        self.bad.update(item.bad)

    def tally(self, marks: tuple[Mark, ...]) -> Tally:
        return Tally(
            points=self.points,
            scores=self.scores,
            counts=tuple((mark, self.marks[mark]) for mark in marks),
            good=tuple(sorted(self.good.items())),
            bad=tuple(sorted(self.bad.items())),
        )


K = TypeVar("K", bound=Hashable)


def sums(items: Iterable[tuple[K, Counted]]) -> dict[K, Sum]:
    """The items added up per key."""
    found: dict[K, Sum] = {}
    for key, item in items:
        found.setdefault(key, Sum()).add(item)
    return found
