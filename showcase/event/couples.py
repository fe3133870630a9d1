"""Couples (``entries``) and their heats: the rules the entry grid and the solo form share.

A couple is a lead, a follow, an optional instructor, a level and an age.
Exactly one of the three people is a Professional (two may be when the event
allows pro heats).  Heat counts are changed by plans: added heats restore
scratched ones first, then new unscheduled ones (number 0) are made; removed
heats are deleted while unscheduled and unscored, scratched (number made
negative, which "restore" undoes) once scheduled.  A scored heat is never
deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from . import forms
from .context import display_name
from .db import EventDB, now

KINDS = {"closed": "Closed", "open": "Open", "solo": "Solo", "multi": "Multi"}
SIDES = ("Leader", "Follower")


@dataclass(frozen=True)
class Couple:
    lead_id: int
    follow_id: int
    instructor_id: int | None
    level_id: int
    age_id: int


def couple_problem(
    lead_type: str | None, follow_type: str | None, instructor_type: str | None, pro_heats: bool
) -> str:
    """Why these types can't make a couple ("" when they can)."""
    if instructor_type is not None and instructor_type != "Professional":
        return "The instructor must be a Professional."
    pros = [lead_type, follow_type, instructor_type].count("Professional")
    if pros == 1 or (pro_heats and pros == 2):
        return ""
    if pro_heats:
        return "One or two of lead, follow and instructor must be Professionals."
    return "Exactly one of lead, follow and instructor must be a Professional."


@dataclass(frozen=True)
class HeatState:
    id: int
    number: float
    scored: bool


@dataclass
class Plan:
    """What to do to one (entry, dance, kind) to reach a count."""

    restore: list[int] = field(default_factory=list)
    create: int = 0
    delete: list[int] = field(default_factory=list)
    scratch: list[int] = field(default_factory=list)


def plan_count(heats: Sequence[HeatState], target: int) -> Plan:
    """The changes that leave ``target`` heats not scratched; Invalid when it can't be done."""
    active = [h for h in heats if h.number >= 0]
    plan = Plan()
    if target > len(active):
        scratched = sorted((h for h in heats if h.number < 0), key=lambda h: h.id)
        plan.restore = [h.id for h in scratched[: target - len(active)]]
        plan.create = target - len(active) - len(plan.restore)
        return plan
    extra = len(active) - target
    unscheduled = sorted((h for h in active if h.number == 0 and not h.scored), key=lambda h: -h.id)
    scheduled = sorted((h for h in active if h.number > 0), key=lambda h: -h.number)
    plan.delete = [h.id for h in unscheduled[:extra]]
    plan.scratch = [h.id for h in scheduled[: extra - len(plan.delete)]]
    if len(plan.delete) + len(plan.scratch) < extra:
        raise forms.Invalid("A heat with scores has no number yet: schedule it, then scratch it.")
    return plan


def heat_states(db: EventDB, entry_id: int, dance_id: int, category: str) -> list[HeatState]:
    rows = db.query(
        "SELECT h.id, h.number, EXISTS (SELECT 1 FROM scores s WHERE s.heat_id = h.id) AS scored"
        " FROM heats h WHERE h.entry_id = ? AND h.dance_id = ? AND h.category = ?",
        [entry_id, dance_id, category],
    )
    return [HeatState(int(r["id"]), float(r["number"] or 0), bool(r["scored"])) for r in rows]


def apply_plan(db: EventDB, plan: Plan, entry_id: int, dance_id: int, category: str) -> None:
    """Carry out a plan; call inside a transaction."""
    for heat_id in [*plan.restore, *plan.scratch]:
        db.execute(
            "UPDATE heats SET number = -number, updated_at = ? WHERE id = ?",
            [now(), heat_id],
        )
    for heat_id in plan.delete:
        delete_heat(db, heat_id)
    for _ in range(plan.create):
        heat_id = db.insert(
            "heats", number=0, category=category, dance_id=dance_id, entry_id=entry_id
        )
        if category == "Solo":
            db.insert("solos", heat_id=heat_id, order=next_solo_order(db))


def delete_heat(db: EventDB, heat_id: int) -> None:
    """Delete an unscored heat with its solo and formation rows."""
    for solo in db.query("SELECT id FROM solos WHERE heat_id = ?", [heat_id]):
        db.execute("DELETE FROM formations WHERE solo_id = ?", [solo["id"]])
    db.execute("DELETE FROM solos WHERE heat_id = ?", [heat_id])
    db.execute("DELETE FROM heats WHERE id = ?", [heat_id])


def next_solo_order(db: EventDB) -> int:
    return int(db.value('SELECT coalesce(max("order"), 0) FROM solos')) + 1


def find_or_create_entry(db: EventDB, couple: Couple) -> int:
    """The entry for exactly this couple, made when there is none; call inside a transaction."""
    found = db.value(
        "SELECT id FROM entries WHERE lead_id = ? AND follow_id = ? AND instructor_id IS ?"
        " AND level_id = ? AND age_id = ? ORDER BY id LIMIT 1",
        [couple.lead_id, couple.follow_id, couple.instructor_id, couple.level_id, couple.age_id],
    )
    if found is not None:
        return int(found)
    return db.insert("entries", **asdict(couple))


def drop_if_empty(db: EventDB, entry_id: int) -> bool:
    """Delete an entry that has no heats left; whether it was deleted."""
    if db.value("SELECT count(*) FROM heats WHERE entry_id = ?", [entry_id]):
        return False
    db.execute("DELETE FROM entries WHERE id = ?", [entry_id])
    return True


def dancer_label(row: Any) -> str:
    studio = f", {row['studio']}" if row["studio"] else ""
    return f"{display_name(row['name'])} ({row['type']}{studio})"


def couple_options(db: EventDB, person_id: int | None, allow_nobody: bool) -> dict[str, Any]:
    """The choices of a couple form: partners, instructors, levels, ages, sides."""
    dancers = db.query(
        "SELECT p.id, p.name, p.type, s.name AS studio FROM people p"
        " LEFT JOIN studios s ON s.id = p.studio_id"
        " WHERE p.id > 0 AND p.type IN ('Professional', 'Student') AND p.id IS NOT ?"
        " ORDER BY p.type = 'Student', p.name COLLATE NOCASE",
        [person_id],
    )
    partners = [(str(r["id"]), dancer_label(r)) for r in dancers]
    if allow_nobody:
        partners.insert(0, ("0", "Nobody (no partner)"))
    return {
        "partners": partners,
        "instructors": [
            (str(r["id"]), dancer_label(r)) for r in dancers if r["type"] == "Professional"
        ],
        "levels": [
            (str(r["id"]), r["name"]) for r in db.query("SELECT id, name FROM levels ORDER BY id")
        ],
        "ages": [
            (str(r["id"]), f"{r['category']} ({r['description']})")
            for r in db.query("SELECT id, category, description FROM ages ORDER BY id")
        ],
        "sides": [(s, s) for s in SIDES],
    }


def _ids(db: EventDB, sql: str, params: Sequence[Any] = ()) -> set[int]:
    return {int(r[0]) for r in db.query(sql, params)}


def parse_couple(
    db: EventDB,
    form: forms.Form,
    person: dict[str, Any],
    allow_nobody: bool,
    pro_heats: bool,
    ask_side: bool = False,
) -> Couple | None:
    """The couple of ``person`` that a form describes; None (messages on ``form``) if invalid.

    ``person`` leads or follows as their role says; the form's ``side`` decides
    for a person whose role is Both (or for every person when ``ask_side``).
    """
    f = form.field
    dancers = _ids(
        db,
        "SELECT id FROM people WHERE id > 0 AND type IN ('Professional', 'Student') AND id != ?",
        [person["id"]],
    )
    partner = f(
        "partner",
        lambda raw: forms.reference(
            raw, dancers | ({0} if allow_nobody else set()), required="Choose a partner."
        ),
        None,
    )
    pros = _ids(db, "SELECT id FROM people WHERE type = 'Professional' AND id != ?", [person["id"]])
    instructor = f("instructor", lambda raw: forms.reference(raw, pros), None)
    if person["role"] in SIDES and not ask_side:
        side = person["role"]
    else:
        who = display_name(person["name"])
        side = f(
            "side", lambda raw: forms.choice(raw, SIDES, required=f"Does {who} lead or follow?"), ""
        )
    level = f(
        "level",
        lambda raw: forms.reference(
            raw, _ids(db, "SELECT id FROM levels"), required="Choose a level."
        ),
        None,
    )
    age = f(
        "age",
        lambda raw: forms.reference(
            raw, _ids(db, "SELECT id FROM ages"), required="Choose an age group."
        ),
        None,
    )
    if partner is not None and instructor is not None and partner == instructor:
        form.error("instructor", "The instructor can't also be the partner.")
    if partner is None or level is None or age is None or not form.ok:
        return None
    lead, follow = (person["id"], partner) if side == "Leader" else (partner, person["id"])
    types = {
        int(r["id"]): r["type"]
        for r in db.query(
            "SELECT id, type FROM people WHERE id IN (?, ?, ?)", [lead, follow, instructor]
        )
    }
    problem = couple_problem(
        types.get(lead),
        types.get(follow),
        types.get(instructor) if instructor is not None else None,
        pro_heats,
    )
    if problem:
        form.error("instructor", problem)
        return None
    return Couple(lead, follow, instructor, level, age)


def couple_form(db: EventDB, person: dict[str, Any], entry: dict[str, Any] | None) -> forms.Form:
    """A couple form showing ``entry`` from ``person``'s side (or their defaults for a new one)."""
    if entry is None:
        side = person["role"] if person["role"] in SIDES else "Follower"
        return forms.Form(
            {
                "side": side,
                "level": forms.text_of(person["level_id"]),
                "age": forms.text_of(person["age_id"]),
            }
        )
    leads = entry["lead_id"] == person["id"]
    return forms.Form(
        {
            "entry": str(entry["id"]),
            "partner": str(entry["follow_id"] if leads else entry["lead_id"]),
            "instructor": forms.text_of(entry["instructor_id"]),
            "side": "Leader" if leads else "Follower",
            "level": str(entry["level_id"]),
            "age": str(entry["age_id"]),
        }
    )
