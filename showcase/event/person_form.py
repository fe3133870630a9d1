"""A person's form: the fields, their rules, and saving them (with a Judge's ``judges`` row)."""

from __future__ import annotations

from functools import partial
from typing import Any

from . import forms
from .context import display_name
from .db import EventDB

TYPES = ("Student", "Professional", "Guest", "Judge", "Emcee", "DJ", "Official", "Organizer")
STAFF = ("Judge", "Emcee", "DJ", "Official", "Organizer")
DANCERS = ("Student", "Professional")
ROLES = ("Leader", "Follower", "Both")
JUDGE_BALLROOMS = ("Both", "A", "B", "C", "D")
JUDGE_SORTS = ("back", "level")

PERSON_FIELDS = (
    "name",
    "type",
    "role",
    "studio_id",
    "level_id",
    "age_id",
    "back",
    "exclude_id",
    "available",
)
JUDGE_FIELDS = ("present", "ballroom", "sort")


def types_for(current: str | None) -> tuple[str, ...]:
    """The types offered: ours, plus a person's own type from an imported database."""
    if current and current not in TYPES and current != "Placeholder":
        return (*TYPES, current)
    return TYPES


def initial_form(db: EventDB, person: dict[str, Any]) -> forms.Form:
    """The form showing a stored person (and their judge settings)."""
    form = forms.form_of(person, PERSON_FIELDS)
    judge = db.one("SELECT * FROM judges WHERE person_id = ?", [person["id"]])
    judge_values = dict(judge) if judge is not None else {"present": 1, "ballroom": "Both"}
    for name in JUDGE_FIELDS:
        form.values[f"judge_{name}"] = forms.text_of(judge_values.get(name))
    return form


def options(db: EventDB, person_id: int | None, current_type: str | None) -> dict[str, Any]:
    """The choices the person form offers."""
    people = db.query(
        "SELECT id, name, type FROM people WHERE id > 0 AND id IS NOT ?"
        " ORDER BY name COLLATE NOCASE",
        [person_id],
    )
    return {
        "types": [(t, t) for t in types_for(current_type)],
        "roles": [(r, r) for r in ROLES],
        "studios": [
            (str(r["id"]), r["name"])
            for r in db.query("SELECT id, name FROM studios ORDER BY id > 0, name COLLATE NOCASE")
        ],
        "levels": [
            (str(r["id"]), r["name"]) for r in db.query("SELECT id, name FROM levels ORDER BY id")
        ],
        "ages": [
            (str(r["id"]), f"{r['category']} ({r['description']})")
            for r in db.query("SELECT id, category, description FROM ages ORDER BY id")
        ],
        "excludes": [(str(r["id"]), f"{display_name(r['name'])} ({r['type']})") for r in people],
        "judge_ballrooms": [(b, b) for b in JUDGE_BALLROOMS],
        "judge_sorts": [(s, s) for s in JUDGE_SORTS],
    }


def _ids(db: EventDB, sql: str) -> set[int]:
    return {int(row[0]) for row in db.query(sql)}


def parse(db: EventDB, form: forms.Form, person: dict[str, Any] | None) -> dict[str, Any]:
    """The ``people`` columns (and ``judge_*`` settings) from a post; messages on ``form``."""
    person_id = person["id"] if person else None
    f = form.field
    kind = f(
        "type",
        partial(forms.choice, choices=types_for(person["type"] if person else None)),
        "",
    )
    dancer = kind in DANCERS
    event = db.one("SELECT track_ages FROM events ORDER BY id LIMIT 1")
    track_ages = bool(event["track_ages"]) if event is not None else True
    studios = _ids(db, "SELECT id FROM studios")

    def role(raw: str) -> str | None:
        if not raw.strip() and not dancer:
            return None
        return forms.choice(raw, ROLES, required="Choose Leader, Follower or Both.")

    def studio(raw: str) -> int | None:
        if kind in STAFF:
            return 0  # event staff belong to studio 0
        chosen = forms.reference(raw, studios, required="Choose a studio.")
        if dancer and chosen == 0:
            raise forms.Invalid("Students and professionals belong to a studio, not Event Staff.")
        return chosen

    values: dict[str, Any] = {
        "name": f("name", forms.person_name, ""),
        "type": kind,
        "role": f("role", role, None),
        "studio_id": f("studio_id", studio, None),
        "level_id": f(
            "level_id",
            partial(
                forms.reference,
                ids=_ids(db, "SELECT id FROM levels"),
                required="Choose the student's level." if kind == "Student" else "",
            ),
            None,
        ),
        "age_id": f(
            "age_id",
            partial(
                forms.reference,
                ids=_ids(db, "SELECT id FROM ages"),
                required="Choose the student's age group."
                if kind == "Student" and track_ages
                else "",
            ),
            None,
        ),
        "back": f("back", partial(forms.integer, minimum=1, maximum=99999), None),
        "exclude_id": f(
            "exclude_id",
            partial(
                forms.reference,
                ids=_ids(db, "SELECT id FROM people WHERE id > 0") - {person_id or -1},
            ),
            None,
        ),
        "available": f("available", forms.available, None),
    }
    judge = {
        "present": forms.checkbox(form.get("judge_present")),
        "ballroom": f(
            "judge_ballroom",
            lambda raw: forms.choice(raw, JUDGE_BALLROOMS) if raw.strip() else "Both",
            "Both",
        ),
        "sort": f(
            "judge_sort",
            lambda raw: forms.choice(raw, JUDGE_SORTS) if raw.strip() else None,
            None,
        ),
    }
    _check_unique(db, form, values, person_id)
    if person and person["type"] == "Judge" and kind != "Judge" and kind:
        scored = db.value("SELECT count(*) FROM scores WHERE judge_id = ?", [person_id])
        if scored:
            form.error("type", "This judge has scores: the type stays Judge.")
    values["_judge"] = judge
    return values


def _check_unique(
    db: EventDB, form: forms.Form, values: dict[str, Any], person_id: int | None
) -> None:
    if values["name"] and values["type"]:
        clash = db.value(
            "SELECT id FROM people WHERE name = ? COLLATE NOCASE AND type = ? AND id IS NOT ?",
            [values["name"], values["type"], person_id],
        )
        if clash is not None:
            form.error("name", f"There is already a {values['type']} of that name.")
    if values["back"] is not None:
        holder = db.one(
            "SELECT name FROM people WHERE back = ? AND id IS NOT ?", [values["back"], person_id]
        )
        if holder is not None:
            form.error("back", f"Back number {values['back']} is {display_name(holder['name'])}'s.")


def save(db: EventDB, values: dict[str, Any], person_id: int | None) -> int:
    """Insert or update the person and their ``judges`` row; call inside a transaction."""
    columns = {k: v for k, v in values.items() if not k.startswith("_")}
    if person_id is None:
        person_id = db.insert("people", **columns)
    else:
        db.update("people", person_id, **columns)
    judge_id = db.value("SELECT id FROM judges WHERE person_id = ?", [person_id])
    if values["type"] == "Judge":
        if judge_id is None:
            db.insert("judges", person_id=person_id, **values["_judge"])
        else:
            db.update("judges", judge_id, **values["_judge"])
    elif judge_id is not None:
        db.execute("DELETE FROM judges WHERE id = ?", [judge_id])
    return person_id


def refusal_to_delete(db: EventDB, person_id: int) -> str:
    """Why a person can't be deleted ("" when they can)."""
    reasons = []
    entries = db.value(
        "SELECT count(*) FROM entries WHERE ? IN (lead_id, follow_id, instructor_id)", [person_id]
    )
    if entries:
        reasons.append(f"{entries} {'entry' if entries == 1 else 'entries'}")
    formations = db.value("SELECT count(*) FROM formations WHERE person_id = ?", [person_id])
    if formations:
        reasons.append(f"{formations} formation place{'s' if formations != 1 else ''}")
    scores = db.value(
        "SELECT count(*) FROM scores WHERE judge_id = ? OR person_id = ?", [person_id, person_id]
    )
    if scores:
        reasons.append(f"{scores} score{'s' if scores != 1 else ''}")
    if not reasons:
        return ""
    return (
        f"Not deleted: this person has {', '.join(reasons)}. Scratch their heats on their "
        "entries page instead (a scratch can be undone); a person with no entries, "
        "formations or scores left can be deleted."
    )


def delete(db: EventDB, person_id: int) -> None:
    """Delete a person with nothing to lose; call inside a transaction."""
    db.execute("UPDATE people SET exclude_id = NULL WHERE exclude_id = ?", [person_id])
    db.execute("DELETE FROM judges WHERE person_id = ?", [person_id])
    db.execute("DELETE FROM people WHERE id = ?", [person_id])


def assign_backs(db: EventDB, start: int = 100) -> int:
    """Give each student and leading professional without a back number one; how many.

    Numbers run from ``start`` up in name order, skipping numbers already
    given; existing numbers are kept.  Call inside a transaction.
    """
    used = {int(r[0]) for r in db.query("SELECT back FROM people WHERE back IS NOT NULL")}
    waiting = db.query(
        "SELECT id FROM people WHERE id > 0 AND back IS NULL AND (type = 'Student'"
        " OR (type = 'Professional' AND role IN ('Leader', 'Both')))"
        " ORDER BY name COLLATE NOCASE, id"
    )
    number = start
    for row in waiting:
        while number in used:
            number += 1
        db.update("people", row["id"], back=number)
        used.add(number)
    return len(waiting)
