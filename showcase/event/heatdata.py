"""Heat rows as the pages need them: one SQL read, then plain records.

:func:`floor_entries` reads every couple's heat row (a ``heats`` row joined to its
entry, dance, people, studio, level, age and solo) as a :class:`FloorEntry`;
:func:`group_heats` gathers those sharing a number into :class:`FloorHeat` s,
the "heats with couples on the floor" that the agenda, the public heat list and
the counter show; :func:`agenda_sections` splits them by agenda category with
their start times.  :func:`scheduler_data` and :func:`event_scores` read the
inputs of :mod:`showcase.event.scheduler` and :mod:`showcase.event.tallies`.

The agenda category of a heat (spec/event-data.md) is the dance's category for
the heat's kind (``closed``/``open``/``solo``/``multi``), the ``pro_*`` twin for an
entry whose subject is not a Student, a solo's ``category_override_id`` first,
and the canonical dance's (the same name with a positive order) when a split
copy has none.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from .context import display_name
from .db import EventDB
from .lazy import lazy_import

if TYPE_CHECKING:
    from . import scheduler as sched
    from . import tallies
else:  # loaded by the first page that needs them, not at start-up
    sched = lazy_import("showcase.event.scheduler")
    tallies = lazy_import("showcase.event.tallies")

NOBODY = 0


@attrs.frozen
class Dancer:
    """A person as heat lists show them."""

    id: int
    name: str  # "First Last"
    back: int | None
    type: str
    studio_id: int | None
    studio: str


@attrs.frozen
class FloorEntry:
    """One couple dancing one dance: a ``heats`` row with what it refers to."""

    heat_id: int
    number: float
    prev_number: float | None
    kind: str  # Closed, Open, Solo, Multi
    ballroom: str | None
    dance_id: int
    dance: str
    agenda_id: int | None
    entry_id: int
    lead: Dancer
    follow: Dancer
    instructor: Dancer | None
    formation: tuple[Dancer, ...]
    level_id: int | None
    level: str
    age_id: int | None
    age: str
    pro: bool
    solo_order: int | None
    studio: str

    @property
    def subject(self) -> Dancer:
        """The student of the couple: the follow when the lead is a professional (or Nobody)."""
        return _subject(self.lead, self.follow)

    @property
    def dancers(self) -> tuple[Dancer, ...]:
        """Everybody on the floor for this row (Nobody left out)."""
        people = (self.lead, self.follow, *self.formation)
        return tuple(p for p in people if p.id != NOBODY)

    @property
    def names(self) -> str:
        """ "Lead & Follow" (and formation members), as a heat list shows a couple."""
        return " & ".join(p.name for p in self.dancers)

    @property
    def backs(self) -> tuple[int, ...]:
        """The back numbers on the floor for this row (the lead's first)."""
        return tuple(p.back for p in self.dancers if p.back)

    @property
    def back(self) -> int | None:
        """The couple's back number: the lead's, else the follow's."""
        return self.backs[0] if self.backs else None

    @property
    def search_text(self) -> str:
        """What a search box matches: names, back numbers, studio (lower case)."""
        words = [self.names, self.studio, *(str(b) for b in self.backs)]
        return " ".join(words).lower()


@attrs.frozen
class FloorHeat:
    """All couples sharing one heat number."""

    number: float
    dance: str
    kind: str
    agenda_id: int | None
    entries: tuple[FloorEntry, ...]

    @property
    def label(self) -> str:
        """The heat number as printed: ``12``, or ``12.5`` for a manual insertion."""
        return format_number(self.number)

    @property
    def search_text(self) -> str:
        return " ".join([self.label, self.dance.lower(), *(e.search_text for e in self.entries)])


def format_number(number: float) -> str:
    """``12.0`` as ``12``, ``-12.0`` as ``-12``, ``12.5`` as ``12.5``."""
    return str(int(number)) if float(number).is_integer() else str(float(number))


_SELECT = """
SELECT h.id AS heat_id, h.number, h.prev_number, h.category AS kind, h.ballroom,
       h.dance_id, h.entry_id, e.lead_id, e.follow_id, e.instructor_id,
       e.level_id, e.age_id, e.studio_id AS entry_studio_id,
       lv.name AS level, ag.category AS age,
       s.id AS solo_id, s."order" AS solo_order, s.category_override_id
FROM heats h
JOIN entries e ON e.id = h.entry_id
LEFT JOIN levels lv ON lv.id = e.level_id
LEFT JOIN ages ag ON ag.id = e.age_id
LEFT JOIN solos s ON s.heat_id = h.id
"""


class _Lookup:
    """People, studios, dances and formations of the event, read once per call."""

    def __init__(self, db: EventDB) -> None:
        self.studios = {r["id"]: r["name"] or "" for r in db.query("SELECT id, name FROM studios")}
        self.people: dict[int, Dancer] = {}
        for r in db.query("SELECT id, name, back, type, studio_id FROM people"):
            self.people[r["id"]] = Dancer(
                id=r["id"],
                name=display_name(r["name"]),
                back=r["back"],
                type=r["type"] or "",
                studio_id=r["studio_id"],
                studio=self.studios.get(r["studio_id"], ""),
            )
        self.dances: dict[int, dict[str, Any]] = {
            r["id"]: dict(r) for r in db.query("SELECT * FROM dances")
        }
        self.canonical = {
            r["name"]: r for r in self.dances.values() if r["order"] is not None and r["order"] > 0
        }
        self.formations: dict[int, list[Dancer]] = {}
        for r in db.query(
            "SELECT solo_id, person_id FROM formations WHERE on_floor IS NULL OR on_floor != 0"
            " ORDER BY id"
        ):
            self.formations.setdefault(r["solo_id"], []).append(self.person(r["person_id"]))

    def person(self, person_id: int | None) -> Dancer:
        if person_id is not None and person_id in self.people:
            return self.people[person_id]
        return Dancer(id=person_id or 0, name="", back=None, type="", studio_id=None, studio="")

    def agenda(self, dance_id: int, kind: str, pro: bool, override: int | None) -> int | None:
        if override:
            return override
        column = f"{(kind or 'Closed').lower()}_category_id"
        dance = self.dances.get(dance_id)
        candidates = [dance]
        if dance is not None:
            candidates.append(self.canonical.get(dance["name"]))
        for row in candidates:
            if row is None:
                continue
            found = (row.get(f"pro_{column}") if pro else None) or row.get(column)
            if found:
                return int(found)
        return None


def _subject(lead: Dancer, follow: Dancer) -> Dancer:
    return follow if lead.type == "Professional" or lead.id == NOBODY else lead


def _entry(row: sqlite3.Row, look: _Lookup) -> FloorEntry:
    lead, follow = look.person(row["lead_id"]), look.person(row["follow_id"])
    instructor = look.person(row["instructor_id"]) if row["instructor_id"] else None
    subject = _subject(lead, follow)
    pro = subject.id != NOBODY and subject.type not in ("Student", "")
    if row["entry_studio_id"] is not None:
        studio = look.studios.get(row["entry_studio_id"], "")
    else:
        studio = subject.studio or lead.studio or follow.studio
    if not studio and row["solo_id"] is not None:
        members = look.formations.get(row["solo_id"], [])
        studio = members[0].studio if members else ""
    dance = look.dances.get(row["dance_id"])
    return FloorEntry(
        heat_id=row["heat_id"],
        number=float(row["number"] or 0),
        prev_number=row["prev_number"],
        kind=row["kind"] or "Closed",
        ballroom=row["ballroom"] or None,
        dance_id=row["dance_id"],
        dance=(dance["name"] if dance is not None else "") or "",
        agenda_id=look.agenda(row["dance_id"], row["kind"], pro, row["category_override_id"]),
        entry_id=row["entry_id"],
        lead=lead,
        follow=follow,
        instructor=instructor,
        formation=tuple(look.formations.get(row["solo_id"], ())) if row["solo_id"] else (),
        level_id=row["level_id"],
        level=row["level"] or "",
        age_id=row["age_id"],
        age=row["age"] or "",
        pro=pro,
        solo_order=row["solo_order"],
        studio=studio,
    )


def floor_entries(
    db: EventDB, where: str = "1", params: Iterable[Any] = (), order: str = "h.number, h.id"
) -> list[FloorEntry]:
    """Every couple's heat row matching ``where`` (SQL over ``heats h``), as records."""
    look = _Lookup(db)
    rows = db.query(f"{_SELECT} WHERE {where} ORDER BY {order}", list(params))
    return [_entry(r, look) for r in rows]


def _couple_key(entry: FloorEntry) -> tuple[str, int, str]:
    return (entry.ballroom or "", entry.back if entry.back is not None else 1 << 30, entry.names)


def group_heats(entries: Iterable[FloorEntry]) -> list[FloorHeat]:
    """Entries sharing a number as one heat each, in number order; couples by ballroom, back."""
    by_number: dict[float, list[FloorEntry]] = {}
    for entry in entries:
        by_number.setdefault(entry.number, []).append(entry)
    heats = []
    for number in sorted(by_number):
        couples = sorted(by_number[number], key=_couple_key)
        first = couples[0]
        heats.append(
            FloorHeat(
                number=number,
                dance=first.dance,
                kind="/".join(sorted({e.kind for e in couples})),  # "Closed/Open" when mixed
                agenda_id=first.agenda_id,
                entries=tuple(couples),
            )
        )
    return heats


def scheduled_heats(db: EventDB) -> list[FloorHeat]:
    """Every heat on the agenda (number > 0), solos included, in number order."""
    return group_heats(floor_entries(db, "h.number > 0"))


def heat_on_floor(db: EventDB, number: int | float | None) -> FloorHeat | None:
    """The heat numbered ``number`` with its couples, or None (0 or nothing there)."""
    if not number or number <= 0:
        return None
    heats = group_heats(floor_entries(db, "h.number = ?", [float(number)]))
    return heats[0] if heats else None


def agenda_names(db: EventDB) -> dict[int, str]:
    """Agenda category names by id."""
    return {r["id"]: r["name"] or "" for r in db.query("SELECT id, name FROM categories")}


def last_update(db: EventDB) -> str:
    """When a heat row last changed (pages reload when the agenda changes under them)."""
    return str(db.value("SELECT max(updated_at) FROM heats") or "")


@attrs.frozen
class Start:
    """When a heat starts, as the agenda shows it: the day and the clock time."""

    day: str  # "Saturday" (or the category's day label); "" when unknown
    clock: str  # "10:15"

    def __str__(self) -> str:
        return f"{self.day} {self.clock}".strip()


NO_START = Start("", "")


@attrs.frozen
class Section:
    """A run of consecutive heats of one agenda category, as the agenda shows it."""

    agenda_id: int | None
    name: str
    continued: bool
    heats: tuple[FloorHeat, ...]
    starts: tuple[Start, ...]  # the start of each heat (NO_START when unknown)

    @property
    def title(self) -> str:
        return f"{self.name} (continued)" if self.continued else self.name

    @property
    def timed(self) -> tuple[tuple[FloorHeat, Start], ...]:
        """Each heat with its start."""
        return tuple(zip(self.heats, self.starts, strict=True))

    @property
    def start(self) -> Start:
        """When the section starts: its first heat's start."""
        return self.starts[0] if self.starts else NO_START


def heat_starts(data: sched.EventData) -> dict[float, Start]:
    """The start of every scheduled heat number (those the scheduler can time)."""
    found = {}
    for number, at in sched.start_times(data).items():
        if isinstance(at, datetime):
            found[number] = Start(at.strftime("%A"), at.strftime("%H:%M"))
        else:
            day, _, clock = str(at).rpartition(" ")
            found[number] = Start(day, clock)
    return found


def agenda_sections(
    db: EventDB, heats: Iterable[FloorHeat], starts: Mapping[float, Start] | None = None
) -> list[Section]:
    """Heats grouped by agenda category in number order; a category seen again is continued."""
    names = agenda_names(db)
    starts = starts or {}
    sections: list[Section] = []
    seen: set[int | None] = set()
    run: list[FloorHeat] = []

    def close() -> None:
        if not run:
            return
        agenda_id = run[0].agenda_id
        sections.append(
            Section(
                agenda_id=agenda_id,
                name=names.get(agenda_id or 0, "") or "Uncategorized",
                continued=agenda_id in seen,
                heats=tuple(run),
                starts=tuple(starts.get(h.number, NO_START) for h in run),
            )
        )
        seen.add(agenda_id)
        run.clear()

    for heat in heats:
        if run and heat.agenda_id != run[0].agenda_id:
            close()
        run.append(heat)
    close()
    return sections


# -- scoring input (showcase.event.tallies) ------------------------------------------------


def _score_people(db: EventDB) -> dict[int, tallies.Dancer]:
    rows = db.query(
        "SELECT p.id, p.name, p.type, p.level_id, p.age_id, p.studio_id, s.name AS studio"
        " FROM people p LEFT JOIN studios s ON s.id = p.studio_id"
    )
    return {
        r["id"]: tallies.Dancer(
            id=r["id"],
            name=r["name"] or "",
            type=r["type"] or "",
            level_id=r["level_id"],
            age_id=r["age_id"],
            studio_id=r["studio_id"],
            studio=r["studio"] or "",
        )
        for r in rows
    }


def score_records(
    db: EventDB, where: str = "1", params: Iterable[Any] = ()
) -> list[tallies.ScoreRecord]:
    """Every score on a couple's heat row (``scores.heat_id`` > 0) matching ``where``.

    ``where`` is SQL over ``scores s``, ``heats h`` and ``entries e``.  In heat order,
    then couple, judge name and slot.
    """
    people = _score_people(db)

    def dancer(person_id: int | None) -> tallies.Dancer:
        found = people.get(person_id or 0)
        return found or tallies.Dancer(id=person_id or 0, name="", type="")

    rows = db.query(
        "SELECT s.judge_id, j.name AS judge, s.heat_id, h.number, h.category, d.name AS dance,"
        " e.level_id, e.age_id, e.lead_id, e.follow_id, e.instructor_id,"
        " s.value, s.good, s.bad, s.comments, s.slot"
        " FROM scores s JOIN heats h ON h.id = s.heat_id JOIN entries e ON e.id = h.entry_id"
        " LEFT JOIN dances d ON d.id = h.dance_id LEFT JOIN people j ON j.id = s.judge_id"
        f" WHERE s.heat_id > 0 AND ({where})"
        " ORDER BY abs(h.number), h.number, s.heat_id, j.name, s.judge_id, s.slot, s.id",
        list(params),
    )
    return [
        tallies.ScoreRecord(
            judge_id=r["judge_id"],
            judge=r["judge"] or "",
            heat_id=r["heat_id"],
            number=r["number"],
            category=r["category"] or "Closed",
            dance=r["dance"] or "",
            entry_level_id=r["level_id"],
            entry_age_id=r["age_id"],
            lead=dancer(r["lead_id"]),
            follow=dancer(r["follow_id"]),
            instructor=dancer(r["instructor_id"]) if r["instructor_id"] else None,
            value=r["value"],
            good=r["good"],
            bad=r["bad"],
            comments=r["comments"],
            slot=r["slot"],
        )
        for r in rows
    ]


def event_scores(
    db: EventDB, records: Iterable[tallies.ScoreRecord] | None = None
) -> tallies.EventScores:
    """The scoring input of the whole event: its scores, levels, ages and settings."""
    event = db.one("SELECT * FROM events ORDER BY id LIMIT 1")
    levels = [
        tallies.Level(r["id"], r["name"] or "")
        for r in db.query("SELECT id, name FROM levels ORDER BY id")
    ]
    ages = [
        tallies.Age(r["id"], r["category"] or "", r["description"] or "")
        for r in db.query("SELECT id, category, description FROM ages ORDER BY id")
    ]
    return tallies.EventScores.from_event(
        dict(event) if event is not None else {},
        score_records(db) if records is None else records,
        levels,
        ages,
    )


# -- scheduler input (showcase.event.scheduler) ----------------------------------------------


def _int(value: Any) -> int | None:
    try:
        return None if value is None or value == "" else int(value)
    except (TypeError, ValueError):
        return None


def scheduler_settings(event: dict[str, Any]) -> sched.Settings:
    """The scheduling knobs of the ``events`` row."""
    return sched.Settings(
        max_heat_size=_int(event.get("max_heat_size")),
        heat_range_level=_int(event.get("heat_range_level")),
        heat_range_age=_int(event.get("heat_range_age")),
        heat_range_cat=_int(event.get("heat_range_cat")),
        intermix=bool(event.get("intermix", 1)),
        heat_length=_int(event.get("heat_length")),
        solo_length=_int(event.get("solo_length")),
        ballrooms=_int(event.get("ballrooms")) or 1,
        pro_heats=bool(event.get("pro_heats")),
        locked=bool(event.get("locked")),
        date=event.get("date"),
        heat_order=str(event.get("heat_order") or "L"),
    )


_Record = TypeVar("_Record", bound=attrs.AttrsInstance)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _records(
    db: EventDB, cls: type[_Record], table: str, **convert: Callable[[Any], Any]
) -> tuple[_Record, ...]:
    """Every row of ``table`` as a ``cls``, whose fields are named after the table's columns."""
    names = [field.name for field in attrs.fields(cls)]
    columns = ", ".join(f'"{name}"' for name in names)
    return tuple(
        cls(**{n: convert[n](row[n]) if n in convert else row[n] for n in names})
        for row in db.query(f'SELECT {columns} FROM "{table}" ORDER BY id')
    )


def scheduler_data(db: EventDB) -> sched.EventData:
    """Everything the scheduler reads, from the event's rows."""
    event = db.one("SELECT * FROM events ORDER BY id LIMIT 1")
    formations = tuple(
        sched.Formation(heat_id=r["heat_id"], person_id=r["person_id"], on_floor=r["on_floor"] != 0)
        for r in db.query(
            "SELECT s.heat_id, f.person_id, f.on_floor FROM formations f"
            " JOIN solos s ON s.id = f.solo_id ORDER BY f.id"
        )
    )
    scored = frozenset(
        r[0]
        for r in db.query(
            "SELECT DISTINCT heat_id FROM scores WHERE heat_id > 0 AND ("
            " coalesce(value, '') != '' OR coalesce(good, '') != ''"
            " OR coalesce(bad, '') != '' OR coalesce(comments, '') != '')"
        )
    )
    return sched.EventData(
        settings=scheduler_settings(dict(event) if event is not None else {}),
        people=_records(db, sched.Person, "people"),
        entries=_records(db, sched.Entry, "entries"),
        dances=_records(db, sched.Dance, "dances", name=_text),
        categories=_records(db, sched.Category, "categories", name=_text, locked=bool),
        heats=_records(
            db,
            sched.Heat,
            "heats",
            category=lambda v: v or sched.CLOSED,
            number=lambda v: float(v or 0),
            ballroom=lambda v: v or None,
        ),
        solos=_records(db, sched.Solo, "solos"),
        formations=formations,
        levels=tuple(r[0] for r in db.query("SELECT id FROM levels ORDER BY id")),
        ages=tuple(r[0] for r in db.query("SELECT id FROM ages ORDER BY id")),
        scored_heat_ids=scored,
    )
