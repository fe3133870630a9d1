"""The print data of an event: everything its PDFs show, as one JSON-able dict.

:mod:`showcase.printing` renders PDFs from this dict alone (never from a
database), so the same code renders in the event app and in a router acting
as a PDF appliance, which fetches the dict as ``<scope>/print.json``.  It is
read with the modules the pages use: :func:`heatdata.floor_entries` and
:func:`heatdata.agenda_sections` (the agenda), :func:`heatdata.heat_starts`
(times), :func:`scorebook.heat_style` (each heat's scale), :func:`scorebook.solo_songs`,
:func:`scorebook.feedback_codes` and :func:`scoring.read_value` (marks as printed).

Shape (``version`` 1; names are shown as "First Last"; ids are ``people.id``)::

    {"version": 1,
     "event": {"name", "date", "location", "font_family", "font_size",
               "logo": path or None,        # a file; the renderer skips it when missing
               "judge_comments": bool,
               "feedback": [[abbr, name], ...]},
     "studios": [{"id", "name"}],            # by name
     "people": [{"id", "name", "back", "type", "role", "studio_id", "studio"}],
                                             # by name; Nobody (id 0) left out
     "judges": [{"id", "name", "ballroom", "review_solos"}],  # people of type Judge
     "sections": [                           # the agenda: scheduled heats only (number > 0)
        {"category", "title", "continued", "day", "time",
         "heats": [
           {"number": 12.0, "label": "12", "dance", "kind", "day", "time",
            "style": "G" or None,            # scoring.Style value; None: broken settings
            "marks": ["GH", "G", "S", "B"],  # the scale a judge picks from ([] for numbers)
            "value": bool, "feedback": bool, # takes a number / feedback codes
            "couples": [
              {"heat_id", "back", "lead", "follow", "instructor", "formation": [ids],
               "level", "age", "studio", "ballroom",
               "solo": {"order", "song", "artist"} or None,
               "assigned": [judge ids]}]}]}],  # [] unless events.assign_judges > 0
     "scores": [{"heat_id", "judge_id", "slot", "value", "mark", "points",
                 "good", "bad", "comments"}]}  # scheduled heats, rows with something in them

``mark`` is the value as printed (the scale's own letters GH/G/S/B or 1/2/3/F,
a number, or a four-part solo's total); ``points`` what it is worth (None when
off the scale).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .context import display_name
from .db import EventDB
from .heatdata import (
    FloorEntry,
    FloorHeat,
    Start,
    agenda_sections,
    floor_entries,
    group_heats,
    heat_starts,
    scheduler_data,
)
from .scorebook import feedback_codes, heat_style, solo_songs
from .scoring import ScoreError, Style, read_value, solo_parts

VERSION = 1


def print_data(db: EventDB, logo: str | None = None) -> dict[str, Any]:
    """The print data of the event in ``db`` (shape in the module docstring).

    ``logo`` names the event's logo file (a path, relative to the working directory
    when not absolute); it is passed on as it is, and the renderer skips it if missing.
    """
    event = dict(db.one("SELECT * FROM events ORDER BY id LIMIT 1") or {})
    entries = floor_entries(db, "h.number > 0")
    heats = group_heats(entries)
    starts = heat_starts(scheduler_data(db))
    songs = solo_songs(db, [e.heat_id for e in entries if e.kind == "Solo"])
    score_rows = _score_rows(db)
    assigned = _assignments(score_rows) if int(event.get("assign_judges") or 0) > 0 else {}
    styles: dict[str, Style | None] = {}

    def style(kind: str) -> Style | None:
        if kind not in styles:
            try:
                styles[kind] = heat_style(event, kind.split("/")[0])
            except ScoreError:
                styles[kind] = None
        return styles[kind]

    def heat(h: FloorHeat, start: Start) -> dict[str, Any]:
        found = style(h.kind)
        return {
            "number": h.number,
            "label": h.label,
            "dance": h.dance,
            "kind": h.kind,
            "day": start.day,
            "time": start.clock,
            "style": found.value if found else None,
            "marks": list(found.marks) if found else [],
            "value": bool(found and found.takes_value and not found.marks),
            "feedback": bool(found and found.takes_feedback),
            "couples": [_couple(e, songs, assigned) for e in h.entries],
        }

    return {
        "version": VERSION,
        "event": {
            "name": event.get("name") or "",
            "date": event.get("date") or "",
            "location": event.get("location") or "",
            "font_family": event.get("font_family") or "",
            "font_size": event.get("font_size") or "",
            "logo": _logo_path(logo),
            "judge_comments": bool(event.get("judge_comments")),
            "feedback": [list(code) for code in feedback_codes(db)],
        },
        "studios": [
            {"id": r["id"], "name": r["name"] or ""}
            for r in db.query("SELECT id, name FROM studios ORDER BY name, id")
        ],
        "people": _people(db),
        "judges": [
            {
                "id": r["id"],
                "name": display_name(r["name"]),
                "ballroom": r["ballroom"] or "Both",
                "review_solos": r["review_solos"] or "All",
            }
            for r in db.query(
                "SELECT p.id, p.name, j.ballroom, j.review_solos FROM people p"
                " LEFT JOIN judges j ON j.person_id = p.id"
                " WHERE p.type = 'Judge' GROUP BY p.id ORDER BY p.name, p.id"
            )
        ],
        "sections": [
            {
                "category": s.name,
                "title": s.title,
                "continued": s.continued,
                "day": s.start.day,
                "time": s.start.clock,
                "heats": [heat(h, start) for h, start in s.timed],
            }
            for s in agenda_sections(db, heats, starts)
        ],
        "scores": _scores(score_rows, style),
    }


def _logo_path(logo: str | None) -> str | None:
    return logo.strip() if logo and logo.strip() else None


def _people(db: EventDB) -> list[dict[str, Any]]:
    rows = db.query(
        "SELECT p.id, p.name, p.back, p.type, p.role, p.studio_id, s.name AS studio"
        " FROM people p LEFT JOIN studios s ON s.id = p.studio_id WHERE p.id > 0"
    )
    people = [
        {
            "id": r["id"],
            "name": display_name(r["name"]),
            "back": r["back"],
            "type": r["type"] or "",
            "role": r["role"] or "",
            "studio_id": r["studio_id"],
            "studio": r["studio"] or "",
        }
        for r in rows
    ]
    people.sort(key=lambda p: ((p["name"] or "").casefold(), p["id"]))
    return people


def _couple(
    entry: FloorEntry, songs: dict[int, dict[str, str]], assigned: dict[int, list[int]]
) -> dict[str, Any]:
    solo = None
    if entry.kind == "Solo":
        song = songs.get(entry.heat_id, {})
        solo = {
            "order": entry.solo_order,
            "song": song.get("song", ""),
            "artist": song.get("artist", ""),
        }
    return {
        "heat_id": entry.heat_id,
        "back": entry.back,
        "lead": entry.lead.id,
        "follow": entry.follow.id,
        "instructor": entry.instructor.id if entry.instructor else None,
        "formation": [p.id for p in entry.formation],
        "level": entry.level,
        "age": entry.age,
        "studio": entry.studio,
        "ballroom": entry.ballroom,
        "solo": solo,
        "assigned": assigned.get(entry.heat_id, []),
    }


def _score_rows(db: EventDB) -> list[Any]:
    """Every ``scores`` row on a scheduled couple's heat row, in heat order.

    A plain read rather than :func:`heatdata.score_records`: the print data needs none of
    the people those records carry, and this is most of its time on a big event.
    """
    return db.query(
        "SELECT s.heat_id, s.judge_id, s.slot, s.value, s.good, s.bad, s.comments, h.category"
        " FROM scores s JOIN heats h ON h.id = s.heat_id"
        " WHERE s.heat_id > 0 AND h.number > 0 ORDER BY h.number, s.heat_id, s.judge_id, s.slot"
    )


def _assignments(rows: Iterable[Any]) -> dict[int, list[int]]:
    """The judges assigned to each couple's heat row (a scores row, empty or not)."""
    found: dict[int, list[int]] = {}
    for r in rows:
        judges = found.setdefault(r["heat_id"], [])
        if r["judge_id"] not in judges:
            judges.append(r["judge_id"])
    return found


def _scores(rows: Iterable[Any], style: Any) -> list[dict[str, Any]]:
    """The rows with something in them, each with its mark as printed and its points."""
    found = []
    read: dict[tuple[str, str | None], tuple[str, int | None]] = {}  # few distinct values
    for r in rows:
        if not _has_content((r["value"], r["good"], r["bad"], r["comments"])):
            continue
        key = (r["category"] or "Closed", r["value"])
        if key not in read:
            kind: Style | None = style(key[0])
            reading = read_value(kind, r["value"]) if kind is not None else None
            mark = _mark(kind, r["value"], reading.mark if reading else None)
            read[key] = (mark, reading.points if reading else None)
        mark, points = read[key]
        found.append(
            {
                "heat_id": r["heat_id"],
                "judge_id": r["judge_id"],
                "slot": r["slot"],
                "value": r["value"],
                "mark": mark,
                "points": points,
                "good": r["good"] or "",
                "bad": r["bad"] or "",
                "comments": r["comments"] or "",
            }
        )
    return found


def _mark(style: Style | None, value: str | None, letter: str | None) -> str:
    """A stored value as printed: the scale's letter, the number, a four-part solo's total."""
    if letter is not None:
        return letter
    if style is Style.SOLO_PARTS:
        parts = solo_parts(value)
        return str(sum(points for _, points in parts)) if parts else ""
    return (value or "").strip()


def _has_content(texts: Iterable[str | None]) -> bool:
    return any(text is not None and text.strip() for text in texts)
