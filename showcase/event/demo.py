"""The demo event: a believable showcase in the middle of its day (``showcase demo``).

Built on a new event's defaults, from ``random.Random(2026)`` and the fixed lists in
:mod:`showcase.event.demo_names`, so every build holds the same rows (timestamps aside).
Four studios each bring four professionals and ten students (one amateur couple each,
one married pair who never share a floor); three judges and an emcee are event staff.
Each student dances 15-28 heats with a professional of their studio, in the styles that
professional teaches: about 950 heat rows on about 300 heat numbers, numbered in agenda
order by :mod:`showcase.event.demo_floors`, from 9 a.m. to about half past five with a
lunch break.  The heat on the floor is the one at 3 p.m., and every heat before it has
been marked by the judges.
"""

from __future__ import annotations

import math
import random
import sqlite3
from collections.abc import Iterable

from attrs import evolve, frozen

from showcase.event import demo_names as names
from showcase.event.db import insert_row, now
from showcase.event.defaults import (
    COUNTRY,
    DANCES,
    HEAT_LENGTH,
    MULTI,
    NIGHTCLUB,
    RHYTHM,
    SMOOTH,
    SOLO_LENGTH,
    SOLOS,
    populate_new_event,
)
from showcase.event.demo_floors import HEAT_SIZE, Row, marks, number_rows

SEED = 2026
NAME = "Demo Showcase"
DATE = "2026-05-16"
DAY = "Saturday"
LOCATION = "Harborview Hotel, Grand Ballroom"
START, NOW = 9 * 60, 15 * 60  # minutes after midnight: first heat, the heat on the floor
LUNCH, LUNCH_MINUTES = "Lunch", 45
AGENDA = (  # about half the heat numbers before lunch
    *(f"{kind} {style}" for style in (RHYTHM, COUNTRY) for kind in ("Closed", "Open")),
    LUNCH,
    SOLOS,
    *(f"{kind} {style}" for style in (SMOOTH, NIGHTCLUB) for kind in ("Closed", "Open")),
    MULTI,
)
STYLE_WEIGHTS = {SMOOTH: 4, RHYTHM: 4, NIGHTCLUB: 3, COUNTRY: 1}
LEVEL_WEIGHTS = (4, 4, 3, 3, 2, 1, 1)
AGE_WEIGHTS = (1, 6, 8, 8, 6, 4, 2, 1)
OPEN_SHARE = 0.4
STYLES_EACH, REPEATS = 2, 4  # styles drawn for a teacher or couple; times per dance
STUDENT_HEATS, COUPLE_HEATS = (15, 28), (6, 10)  # heats a pro-am student, a couple dance


@frozen
class Dancer:
    id: int
    studio: int
    role: str
    level: int = 0  # professionals: 0, so an entry takes the student's level and age
    age: int = 0
    exclude: int = 0


class Demo:
    """Builds the demo on one connection; :func:`populate_demo` is the way in."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.rng = random.Random(SEED)
        self.pros: dict[int, list[Dancer]] = {}
        self.students: list[Dancer] = []
        self.entries: dict[int, tuple[int, ...]] = {}  # entry id -> people on the floor
        self.rows: list[Row] = []
        self.formation: list[Dancer] = []
        query = (
            "SELECT id, name, closed_category_id, open_category_id, solo_category_id"
            ' FROM dances ORDER BY "order"'
        )
        self.dances = {r[1]: r for r in conn.execute(query)}
        self.category = {n: i for i, n in conn.execute("SELECT id, name FROM categories")}

    def sql(self, statement: str, *params: object) -> None:
        self.conn.execute(statement, params)

    def ids(self, table: str) -> list[int]:
        return [r[0] for r in self.conn.execute(f'SELECT id FROM "{table}" ORDER BY id')]

    def build(self) -> None:
        self.agenda()
        self.cast()
        self.plan()
        number_rows(
            self.rows,
            [self.category[name] for name in AGENDA],
            self.category[SOLOS],
            {row[0]: order for order, row in enumerate(self.dances.values())},
        )
        self.write_heats()
        self.score(self.timetable())

    def agenda(self) -> None:
        """The default categories in the demo's order, with a lunch break (no dances)."""
        self.category[LUNCH] = insert_row(
            self.conn, "categories", name=LUNCH, duration=LUNCH_MINUTES
        )
        for order, name in enumerate(AGENDA, start=1):
            self.sql('UPDATE categories SET "order" = ? WHERE id = ?', order, self.category[name])

    def cast(self) -> None:
        """Studios with their professionals and students, the event staff, back numbers."""
        rng, conn = self.rng, self.conn
        leaders, followers = list(names.LEADER_FIRST), list(names.FOLLOWER_FIRST)
        last = list(names.LAST)
        for pool in (leaders, followers, last):
            rng.shuffle(pool)
        levels, ages = self.ids("levels"), self.ids("ages")

        def person(role: str, **values: object) -> int:
            first = leaders.pop() if role == "Leader" else followers.pop()
            return insert_row(conn, "people", name=f"{last.pop()}, {first}", role=role, **values)

        for studio_name in names.STUDIOS:
            studio = insert_row(conn, "studios", name=studio_name)
            self.pros[studio] = [
                Dancer(person(role, type="Professional", studio_id=studio), studio, role)
                for role in ("Leader", "Leader", "Follower", "Follower")
            ]
            for role in ("Leader",) * 4 + ("Follower",) * 6:
                level = rng.choices(levels, LEVEL_WEIGHTS)[0]
                age = rng.choices(ages, AGE_WEIGHTS)[0]
                values = {"type": "Student", "studio_id": studio, "level_id": level, "age_id": age}
                self.students.append(Dancer(person(role, **values), studio, role, level, age))
        # A married pair (second studio) dance with professionals, never on one floor.
        husband, wife = self.students[11], self.students[14]
        self.students[11] = evolve(husband, exclude=wife.id)
        self.students[14] = evolve(wife, exclude=husband.id)
        self.sql("UPDATE people SET exclude_id = ? WHERE id = ?", wife.id, husband.id)
        self.sql("UPDATE people SET exclude_id = ? WHERE id = ?", husband.id, wife.id)
        for judge in names.JUDGES:
            pid = insert_row(conn, "people", name=judge, type="Judge", studio_id=0)
            insert_row(conn, "judges", person_id=pid, sort="back")
        insert_row(conn, "people", name=names.EMCEE, type="Emcee", studio_id=0)
        dancers = [d for pros in self.pros.values() for d in pros] + self.students
        leads = sorted(d.id for d in dancers if d.role == "Leader")
        follows = sorted(d.id for d in self.students if d.role == "Follower")
        for back, pid in [*enumerate(leads, start=101), *enumerate(follows, start=201)]:
            self.sql("UPDATE people SET back = ? WHERE id = ?", back, pid)

    def entry(self, lead: Dancer, follow: Dancer, instructor: Dancer | None = None) -> int:
        """A couple at the higher of their levels and ages."""
        entry_id = insert_row(
            self.conn,
            "entries",
            lead_id=lead.id,
            follow_id=follow.id,
            instructor_id=instructor.id if instructor else None,
            level_id=max(lead.level, follow.level),
            age_id=max(lead.age, follow.age),
        )
        self.entries[entry_id] = (lead.id, follow.id, *([instructor.id] if instructor else []))
        return entry_id

    def add(self, entry: int, dance: str, kind: str, level: int, excluded: Iterable[int]) -> None:
        row = self.dances[dance]
        category = {"Closed": row[2], "Open": row[3], "Solo": row[4]}[kind]
        people = frozenset(self.entries[entry])
        self.rows.append(Row(entry, row[0], kind, category, level, people, frozenset(excluded)))

    def styles(self) -> set[str]:
        """One or two styles (a teacher's, a couple's), the popular ones likelier."""
        styles = list(STYLE_WEIGHTS)
        return set(self.rng.choices(styles, [STYLE_WEIGHTS[s] for s in styles], k=STYLES_EACH))

    def pick_dances(self, count: int, styles: set[str]) -> list[tuple[str, str]]:
        """``count`` (dance, Closed/Open) in ``styles``, none more than ``REPEATS`` times."""
        rng = self.rng
        pool = [d for d, s in DANCES if s in styles]
        weights = [names.POPULAR.get(d, 1) for d in pool]
        count = min(count, 2 * REPEATS * len(pool))
        picks: list[tuple[str, str]] = []
        while len(picks) < count:
            dance = rng.choices(pool, weights)[0]
            kind = "Open" if rng.random() < OPEN_SHARE else "Closed"
            if picks.count((dance, kind)) < REPEATS:
                picks.append((dance, kind))
        return picks

    def plan(self) -> None:
        """Entries and their heats: pro-am for every student, a couple per studio, solos."""
        rng = self.rng
        by_student: dict[int, int] = {}
        taught = {p.id: 0 for pros in self.pros.values() for p in pros}  # heats so far
        teaches = {p.id: self.styles() for pros in self.pros.values() for p in pros}
        for s in self.students:
            count = rng.randint(*STUDENT_HEATS)
            pros = [p for p in self.pros[s.studio] if p.role != s.role]
            pro = min(pros, key=lambda p: taught[p.id])  # the one teaching fewest heats
            taught[pro.id] += count
            lead, follow = (s, pro) if s.role == "Leader" else (pro, s)
            by_student[s.id] = entry = self.entry(lead, follow)
            for dance, kind in self.pick_dances(count, teaches[pro.id]):
                self.add(entry, dance, kind, s.level, [s.exclude] if s.exclude else [])
        for studio, pros in self.pros.items():
            mine = [s for s in self.students if s.studio == studio and not s.exclude]
            lead = next(s for s in mine if s.role == "Leader")
            follow = next(s for s in mine if s.role == "Follower")
            entry = self.entry(lead, follow, rng.choice(pros))
            for dance, kind in self.pick_dances(rng.randint(*COUPLE_HEATS), self.styles()):
                self.add(entry, dance, kind, max(lead.level, follow.level), [])
        soloists = rng.sample(self.students, len(names.SOLOS) + 1)
        for s, (dance, _song, _artist) in zip(soloists, names.SOLOS, strict=False):
            self.add(by_student[s.id], dance, "Solo", s.level, [s.exclude] if s.exclude else [])
        lead = soloists[-1]
        self.formation = [s for s in self.students if s.studio == lead.studio and s != lead][:3]
        entry = by_student[lead.id]
        self.entries[entry] += tuple(s.id for s in self.formation)
        self.add(entry, names.FORMATION[0], "Solo", lead.level, [])

    def write_heats(self) -> None:
        """Heat rows in number order; solos (and the formation, last) with their songs."""
        self.rows.sort(key=lambda r: (r.number, r.level, r.entry))
        routines = [*names.SOLOS, names.FORMATION]
        order = 0
        for row in self.rows:
            row.id = insert_row(
                self.conn,
                "heats",
                number=float(row.number),
                category=row.kind,
                dance_id=row.dance,
                entry_id=row.entry,
            )
            if row.kind != "Solo":
                continue
            _dance, song, artist = routines[order]
            order += 1
            solo = insert_row(
                self.conn, "solos", heat_id=row.id, order=order, song=song, artist=artist
            )
            if order == len(routines):
                for member in self.formation:
                    insert_row(self.conn, "formations", solo_id=solo, person_id=member.id)

    def timetable(self) -> int:
        """Each category's day and start time; the event settings; the heat on the floor.

        A category starts on the whole minute after the one before it ends (lunch lasts
        ``LUNCH_MINUTES``); its numbers run ``heat_length`` apart (solos ``solo_length``).
        """
        numbers: dict[int, set[int]] = {}
        for row in self.rows:
            numbers.setdefault(row.category, set()).add(row.number)
        minutes: float = START
        current = 0
        for name in AGENDA:
            start = math.ceil(minutes)
            self.sql(
                "UPDATE categories SET day = ?, time = ? WHERE id = ?",
                DAY,
                f"{start // 60:02d}:{start % 60:02d}",
                self.category[name],
            )
            minutes = start
            for number in sorted(numbers.get(self.category[name], ())):
                if not current and minutes >= NOW:
                    current = number
                minutes += (SOLO_LENGTH if name == SOLOS else HEAT_LENGTH) / 60
            if name == LUNCH:
                minutes += LUNCH_MINUTES
        self.sql(
            "UPDATE events SET current_heat = ?, max_heat_size = ?, judge_comments = 1",
            current,
            HEAT_SIZE,
        )
        return current

    def score(self, current: int) -> None:
        """Every judge has marked every heat before ``current`` (the last judge missed a few)."""
        rng = self.rng
        judges = [r[0] for r in self.conn.execute("SELECT person_id FROM judges ORDER BY id")]
        floors: dict[int, list[Row]] = {}
        for row in self.rows:
            floors.setdefault(row.number, []).append(row)
        stamp = now()
        scores = []
        for number in range(1, current):
            floor = floors[number]
            for judge in judges:
                if judge == judges[-1] and rng.random() < 0.03:
                    continue
                for heat, value in marks(rng, floor).items():
                    solo = floor[0].kind == "Solo"
                    comments = rng.choice(names.SOLO_COMMENTS) if solo else None
                    scores.append((judge, heat, value, comments, stamp, stamp))
        self.conn.executemany(
            "INSERT INTO scores (judge_id, heat_id, value, comments, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            scores,
        )


def populate_demo(conn: sqlite3.Connection) -> None:
    """Fill an empty event database with the demo event (in the caller's transaction)."""
    populate_new_event(conn, NAME, DATE, LOCATION)
    Demo(conn).build()
