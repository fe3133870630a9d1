"""A student's score sheet and the CSV export of every score.

Pure, over the records of :mod:`showcase.event.tallies`.  Both show the scheduled heats
only (scratched and unscheduled heats never count) and leave out rows with nothing in them
(a judge's assignment that was never scored).
"""

from __future__ import annotations

import csv
import io

import attrs

from showcase.event.scoring import Style, read_value, solo_parts, style_for
from showcase.event.tallies import Dancer, EventScores, ScoreRecord, display_name

CSV_COLUMNS = (
    "heat",
    "dance",
    "category",
    "lead",
    "follow",
    "judge",
    "value",
    "good",
    "bad",
    "comments",
)


@attrs.frozen
class JudgeMark:
    """One judge's score of one heat (one slot of a multi-dance)."""

    judge_id: int
    judge: str  # "First Last"
    slot: int | None
    value: str | None
    good: str | None
    bad: str | None
    comments: str | None
    points: int | None  # what the value is worth (None: empty or off the style's set)
    parts: tuple[tuple[str, int], ...]  # four-part solos: (part, points) in SOLO_PARTS order


@attrs.frozen
class SheetHeat:
    heat_id: int
    number: float
    category: str
    dance: str
    lead: Dancer
    follow: Dancer
    partner: Dancer  # the other one of lead and follow
    marks: tuple[JudgeMark, ...]  # by judge name, then slot


@attrs.frozen
class StudentSheet:
    person: Dancer | None  # None when the person has no scored heat
    heats: tuple[SheetHeat, ...]  # by heat number, then dance


def student_sheet(event: EventScores, person_id: int) -> StudentSheet:
    """Every scored heat in which ``person_id`` leads or follows, with each judge's mark."""
    person = None
    heats: dict[int, list[ScoreRecord]] = {}
    for record in event.scores:
        if not record.scheduled or not _has_content(record):
            continue
        if person_id in (record.lead.id, record.follow.id):
            heats.setdefault(record.heat_id, []).append(record)
            candidate = record.lead if record.lead.id == person_id else record.follow
            person = candidate if person is None else min(person, candidate, key=repr)
    rows = [_sheet_heat(event, person_id, records) for records in heats.values()]
    rows.sort(key=lambda h: (h.number, h.dance.casefold(), h.dance, h.heat_id))
    return StudentSheet(person, tuple(rows))


def _sheet_heat(event: EventScores, person_id: int, records: list[ScoreRecord]) -> SheetHeat:
    first = min(records, key=lambda r: (r.judge_id, r.slot or 0, repr(r)))
    style = style_for(event.settings, first.category)
    marks = sorted(
        (_mark(style, record) for record in records),
        key=lambda m: (m.judge.casefold(), m.judge_id, m.slot or 0, repr(m)),
    )
    partner = first.follow if first.lead.id == person_id else first.lead
    assert first.number is not None  # scheduled
    return SheetHeat(
        heat_id=first.heat_id,
        number=first.number,
        category=first.category,
        dance=first.dance,
        lead=first.lead,
        follow=first.follow,
        partner=partner,
        marks=tuple(marks),
    )


def _mark(style: Style, record: ScoreRecord) -> JudgeMark:
    reading = read_value(style, record.value)
    return JudgeMark(
        judge_id=record.judge_id,
        judge=display_name(record.judge),
        slot=record.slot,
        value=record.value,
        good=record.good,
        bad=record.bad,
        comments=record.comments,
        points=reading.points if reading else None,
        parts=solo_parts(record.value) if style is Style.SOLO_PARTS else (),
    )


def scores_csv(event: EventScores) -> str:
    """Every score as CSV with a header row (CSV_COLUMNS), in heat order; names "First Last"."""
    records = [r for r in event.scores if r.scheduled and _has_content(r)]
    rows = sorted((_csv_order(r), _csv_row(r)) for r in records)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(row for _, row in rows)
    return out.getvalue()


def _csv_row(r: ScoreRecord) -> tuple[str, ...]:
    return (
        heat_label(r.number),
        r.dance,
        r.category,
        r.lead.display_name,
        r.follow.display_name,
        display_name(r.judge),
        r.value or "",
        r.good or "",
        r.bad or "",
        r.comments or "",
    )


def _csv_order(r: ScoreRecord) -> tuple[float, int, str, str, str, str, int, int]:
    return (
        r.number or 0.0,
        r.slot or 0,
        r.dance.casefold(),
        r.lead.name.casefold(),
        r.follow.name.casefold(),
        r.judge.casefold(),
        r.judge_id,
        r.heat_id,
    )


def heat_label(number: float | None) -> str:
    """A heat number as shown: 12 for 12.0, 12.5 as it is."""
    if number is None:
        return ""
    return str(int(number)) if float(number).is_integer() else str(number)


def _has_content(record: ScoreRecord) -> bool:
    return any(
        text is not None and text.strip()
        for text in (record.value, record.good, record.bad, record.comments)
    )
