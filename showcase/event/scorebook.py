"""A judge's scores in the event database: who judges, what they marked, saving one mark.

The rules of a mark (which style a heat takes, which values it accepts) are
:mod:`showcase.event.scoring`'s; this module reads and writes ``scores`` rows
(spec/event-data.md): one row per (judge, heat, slot), ``judge_id`` the judge's
``people.id``, ``heat_id`` one couple's ``heats.id``.  :func:`save` applies one
posted mark in one transaction; the offline queue's batch applies each of its
items the same way, so sending an item twice leaves the same single row.

Only the columns named here are written: other columns of ``scores`` (and
other tables) that an older or newer showcase database has are left as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from .context import display_name
from .db import EventDB, now
from .scoring import ScoreError, Style, event_feedback, style_for, validate

FIELDS = ("value", "good", "bad", "comments")  # the columns a judge's post sets
# The posted key of each column (a post says "score" for the value).
POSTED = {"value": "score", "good": "good", "bad": "bad", "comments": "comments"}
ROW_COLUMNS = ("id", "judge_id", "heat_id", "slot", *FIELDS, "created_at", "updated_at")


class NotFound(Exception):
    """No such judge or scheduled heat; the message says which."""


@attrs.frozen
class Judge:
    id: int
    name: str  # "First Last"


@attrs.frozen
class Saved:
    """What one post did: the stored row (None when there is none left) and whether it changed."""

    judge_id: int
    heat_id: int
    slot: int | None
    number: float  # the heat number, for the live-scores message
    row: dict[str, Any] | None
    changed: bool
    at: str

    def answer(self) -> dict[str, Any]:
        """The JSON a post answers: the stored row, or ``{"deleted": true, ...}``."""
        if self.row is None:
            return {
                "deleted": True,
                "judge_id": self.judge_id,
                "heat_id": self.heat_id,
                "slot": self.slot,
            }
        return {**self.row, "deleted": False}


# -- reading ---------------------------------------------------------------------------


def judge(db: EventDB, judge_id: int) -> Judge | None:
    """The person ``judge_id`` if their type is Judge."""
    row = db.one("SELECT id, name FROM people WHERE id = ? AND type = 'Judge'", [judge_id])
    return None if row is None else Judge(id=row["id"], name=display_name(row["name"]))


def _login(name: str) -> set[str]:
    shown = name.strip().casefold()
    return {shown, "".join(shown.split())} - {""}


def judges_for_user(db: EventDB, user: str) -> set[int]:
    """The judges a login name stands for: "First Last", with or without spaces, any case."""
    wanted = _login(user)
    return {
        row["id"]
        for row in db.query("SELECT id, name FROM people WHERE type = 'Judge'")
        if wanted & _login(display_name(row["name"]))
    }


def heat_numbers(db: EventDB) -> list[float]:
    """Every scheduled heat number (> 0), in order."""
    return [
        float(r[0])
        for r in db.query("SELECT DISTINCT number FROM heats WHERE number > 0 ORDER BY 1")
    ]


def neighbours(numbers: list[float], number: float) -> tuple[float | None, float | None]:
    """The heat numbers before and after ``number`` among ``numbers`` (None at either end)."""
    before = [n for n in numbers if n < number]
    after = [n for n in numbers if n > number]
    return (before[-1] if before else None, after[0] if after else None)


_HAS_MARK = (
    "(coalesce(s.value, '') != '' OR coalesce(s.good, '') != ''"
    " OR coalesce(s.bad, '') != '' OR coalesce(s.comments, '') != '')"
)


def scored_numbers(db: EventDB, judge_id: int) -> set[float]:
    """The heat numbers in which this judge has marked at least one couple."""
    rows = db.query(
        "SELECT DISTINCT h.number FROM scores s JOIN heats h ON h.id = s.heat_id"
        f" WHERE s.judge_id = ? AND h.number > 0 AND {_HAS_MARK}",
        [judge_id],
    )
    return {float(r[0]) for r in rows}


def marks(
    db: EventDB, judge_id: int, heat_ids: Iterable[int]
) -> dict[tuple[int, int | None], dict[str, Any]]:
    """This judge's rows for the given heat rows, by (heat id, slot)."""
    ids = list(heat_ids)
    if not ids:
        return {}
    places = ", ".join("?" for _ in ids)
    columns = ", ".join(f'"{c}"' for c in ROW_COLUMNS)
    rows = db.query(
        f"SELECT {columns} FROM scores WHERE judge_id = ? AND heat_id IN ({places}) ORDER BY id",
        [judge_id, *ids],
    )
    found: dict[tuple[int, int | None], dict[str, Any]] = {}
    for row in rows:
        found.setdefault((row["heat_id"], row["slot"]), dict(row))
    return found


def feedback_codes(db: EventDB) -> tuple[tuple[str, str], ...]:
    """The event's feedback buttons (abbr, name): the ``feedbacks`` table, else the defaults."""
    rows = db.query('SELECT abbr, value FROM feedbacks ORDER BY "order", id')
    return event_feedback((r["abbr"], r["value"]) for r in rows)


def settings(db: EventDB) -> dict[str, Any]:
    row = db.one("SELECT * FROM events ORDER BY id LIMIT 1")
    return dict(row) if row is not None else {}


def heat_style(event: Mapping[str, Any], kind: str) -> Style:
    """The style of a heat of ``kind``; a broken setting is a :class:`ScoreError` (422)."""
    try:
        return style_for(event, kind or "Closed")
    except ValueError as error:
        if isinstance(error, ScoreError):
            raise
        raise ScoreError(f"the event's scoring settings are broken: {error}") from None


def solo_songs(db: EventDB, heat_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    """Song and artist of the solos among the given heat rows, by heat id."""
    ids = list(heat_ids)
    if not ids:
        return {}
    places = ", ".join("?" for _ in ids)
    rows = db.query(f"SELECT heat_id, song, artist FROM solos WHERE heat_id IN ({places})", ids)
    return {r["heat_id"]: {"song": r["song"] or "", "artist": r["artist"] or ""} for r in rows}


# -- writing ----------------------------------------------------------------------------


def _whole(name: str, raw: object, optional: bool) -> int | None:
    if raw is None or raw == "":
        if optional:
            return None
        raise ScoreError(f"{name} is missing")
    if isinstance(raw, bool):
        raise ScoreError(f"{name} must be a whole number")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
        return int(raw.strip())
    raise ScoreError(f"{name} must be a whole number")


def save(db: EventDB, judge_id: int, item: Mapping[str, Any]) -> Saved:
    """Create, update or delete this judge's row for ``item``'s (heat, slot), in one transaction.

    Only the fields present in ``item`` change (``score`` is the value); a field sent
    empty is cleared.  Feedback codes posted as good leave the row's needs-work codes and
    vice versa.  A row left with nothing in it is deleted, unless judges are assigned
    (``events.assign_judges`` > 0), when the empty row is the assignment and stays.
    Raises :class:`NotFound` for an unknown or unscheduled heat and :class:`ScoreError`
    for a value outside the heat's style; either way nothing is written.
    """
    heat_id = _whole("heat", item.get("heat"), optional=False)
    assert heat_id is not None
    slot = _whole("slot", item.get("slot"), optional=True)
    heat = db.one("SELECT id, number, category FROM heats WHERE id = ?", [heat_id])
    if heat is None or heat["number"] is None or heat["number"] <= 0:
        raise NotFound(f"no scheduled heat with id {heat_id}")
    event = settings(db)
    style = heat_style(event, heat["category"])
    posted = {f: item.get(POSTED[f]) for f in FIELDS if POSTED[f] in item}
    checked = validate(
        style,
        posted.get("value"),
        posted.get("good"),
        posted.get("bad"),
        posted.get("comments"),
        feedback_codes(db),
    )
    stamp = now()
    with db.transaction():
        existing = db.one(
            "SELECT id, value, good, bad, comments FROM scores"
            " WHERE judge_id = ? AND heat_id = ? AND slot IS ? ORDER BY id LIMIT 1",
            [judge_id, heat_id, slot],
        )
        old = {f: (existing[f] if existing is not None else None) for f in FIELDS}
        new = dict(old)
        for field in posted:
            new[field] = getattr(checked, field)
        for mine, other in (("good", "bad"), ("bad", "good")):
            if mine in posted and other not in posted and new[other]:
                taken = set((new[mine] or "").split())
                left = [code for code in (new[other] or "").split() if code not in taken]
                new[other] = " ".join(left) or None
        empty = all(v is None or v == "" for v in new.values())
        assigned = int(event.get("assign_judges") or 0) > 0
        row_id: int | None = existing["id"] if existing is not None else None
        changed = True
        if empty and not assigned:
            if row_id is not None:
                db.execute("DELETE FROM scores WHERE id = ?", [row_id])
            else:
                changed = False
            row_id = None
        elif row_id is not None:
            db.update("scores", row_id, updated_at=stamp, **new)
        elif not empty:
            row_id = db.insert(
                "scores",
                judge_id=judge_id,
                heat_id=heat_id,
                slot=slot,
                created_at=stamp,
                updated_at=stamp,
                **new,
            )
        else:
            changed = False  # assigned but never had a row: nothing to keep
        row = None
        if row_id is not None:
            columns = ", ".join(f'"{c}"' for c in ROW_COLUMNS)
            found = db.one(f"SELECT {columns} FROM scores WHERE id = ?", [row_id])
            row = dict(found) if found is not None else None
    return Saved(
        judge_id=judge_id,
        heat_id=heat_id,
        slot=slot,
        number=float(heat["number"]),
        row=row,
        changed=changed,
        at=stamp,
    )


def start_heat(db: EventDB, number: float) -> int | float:
    """Make ``number`` the heat on the floor (``events.current_heat``); the number stored.

    Raises :class:`NotFound` when no scheduled heat has that number.  A whole number is
    stored as an integer; a manually inserted heat (12.5) keeps its fraction rather
    than being truncated onto the heat before it.
    """
    if number <= 0 or db.value("SELECT 1 FROM heats WHERE number = ? LIMIT 1", [number]) is None:
        raise NotFound(f"no scheduled heat {number:g}")
    stored: int | float = int(number) if float(number).is_integer() else float(number)
    with db.transaction():
        event_id = db.value("SELECT id FROM events ORDER BY id LIMIT 1")
        if event_id is None:
            raise NotFound("this database has no event row")
        db.update("events", event_id, current_heat=stored)
    return stored
