"""Blank score sheets for one judge (``scores/<judge_id>/sheets.pdf``), the paper backup.

Every heat the judge scores, in agenda order, each kept on one page: the couples (back
number, names, studio, level and age) with empty boxes to mark in the heat's own scale
(GH/G/S/B, 1/2/3/F, 1-5), a score box for numbers, the four parts of a four-part solo,
"good" and "needs work" feedback codes to circle, and a comments column when the event
takes comments (always for solos).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from reportlab.platypus import KeepTogether, Paragraph, Table

from .layout import GRID, LINE, SHADE, Document
from .model import Dict, PrintData, kind_dance, level_age

ROW_HEIGHT = 20  # room to write a mark
SOLO_PARTS = ("Technique", "Execution", "Poise", "Showmanship")
ASSIGNED_KINDS = ("Open", "Closed")  # the heats judges are assigned couples in


def judge(data: PrintData, judge_id: int | None) -> bytes | None:
    if judge_id is None or judge_id not in data.judges:
        return None
    who = data.judges[judge_id]
    doc = Document(data, f"Score sheets · {who.get('name') or ''}")
    story: list[Any] = []
    for section, heat, couples in judge_heats(data, who):
        story.append(KeepTogether([heat_table(doc, data, section, heat, couples)]))
    if not story:
        story.append(Paragraph("This judge has no heats to score.", doc.style(11)))
    return doc.build(story)


def judge_heats(data: PrintData, who: Dict) -> Iterator[tuple[Dict, Dict, list[Dict]]]:
    """The heats a judge scores, with the couples they mark.

    Not heats that take no score (open scoring ``0``); solos as the judge reviews them
    (``review_solos``: All, None, or the Even or Odd heat numbers); only couples in the
    judge's ballroom (or in no particular one) when the judge keeps to one; and when
    judges are assigned couples and this judge has any, only their Open and Closed couples.
    """
    room = str(who.get("ballroom") or "Both").strip()
    review = str(who.get("review_solos") or "All").strip().lower()
    judge_id = who["id"]
    assigned = any(
        judge_id in (c.get("assigned") or ())
        for _, heat in data.heats()
        for c in heat.get("couples") or ()
    )
    for section, heat in data.heats():
        kind = str(heat.get("kind") or "")
        if heat.get("style") == "0":
            continue
        if kind == "Solo" and not _reviews(review, float(heat.get("number") or 0)):
            continue
        couples = [c for c in heat.get("couples") or () if _in_room(room, c.get("ballroom"))]
        if assigned and kind in ASSIGNED_KINDS:
            couples = [c for c in couples if judge_id in (c.get("assigned") or ())]
        if couples:
            yield section, heat, couples


def _reviews(review: str, number: float) -> bool:
    if review == "none":
        return False
    if review in ("even", "odd"):
        return int(number) % 2 == (0 if review == "even" else 1)
    return True


def _in_room(room: str, ballroom: str | None) -> bool:
    return room.lower() in ("both", "", "all") or not ballroom or ballroom == room


def mark_columns(heat: Dict) -> list[tuple[str, float]]:
    """The empty columns a judge fills in for ``heat``: (label, width)."""
    style = heat.get("style")
    columns: list[tuple[str, float]] = []
    if heat.get("marks"):
        columns += [(str(mark), 26) for mark in heat["marks"]]
    elif style == "solo 4":
        columns += [(part, 52) for part in SOLO_PARTS]
    elif heat.get("value") or style is None:
        columns.append(("Score", 48))
    if heat.get("feedback"):
        columns += [("Good", 70), ("Needs work", 70)]
    return columns


def heat_table(
    doc: Document, data: PrintData, section: Dict, heat: Dict, couples: list[Dict]
) -> Table:
    marks = mark_columns(heat)
    comments = bool(data.event.get("judge_comments")) or heat.get("kind") == "Solo"
    fixed = [30.0, 0.0, 78.0, 70.0]  # back, couple (the rest), studio, level
    mark_width = sum(w for _, w in marks)
    comment_width = max(90.0, doc.width * 0.22) if comments else 0.0
    fixed[1] = max(90.0, doc.width - sum(fixed) - mark_width - comment_width)
    widths = fixed + [w for _, w in marks] + ([comment_width] if comments else [])
    codes = " ".join(abbr for abbr, _name in data.event.get("feedback") or ())
    when = " ".join(t for t in (heat.get("day"), heat.get("time")) if t)
    title = f"Heat {heat.get('label')}   {kind_dance(heat)}"
    detail = " · ".join(t for t in (str(section.get("category") or ""), when) if t)
    header = ["Back", "Couple", "Studio", "Level", *(label for label, _ in marks)]
    if comments:
        header.append("Comments")
    rows: list[list[Any]] = [[title, "", "", "", detail] + [""] * (len(widths) - 5), header]
    for couple in couples:
        names = data.couple_names(couple)
        solo = couple.get("solo") or {}
        if solo.get("song"):
            names = f"{names} (song: {solo['song']})"
        row: list[Any] = [
            str(couple.get("back") or ""),
            doc.cell(names, widths[1]),
            doc.cell(str(couple.get("studio") or ""), widths[2]),
            doc.cell(level_age(couple), widths[3]),
        ]
        for label, _ in marks:
            row.append(codes if label in ("Good", "Needs work") else "")
        if comments:
            row.append("")
        rows.append(row)
    first_mark, last_mark = 4, 3 + len(marks)
    commands: list[tuple[Any, ...]] = [
        ("SPAN", (0, 0), (3, 0)),
        ("SPAN", (4, 0), (-1, 0)),
        ("FONT", (0, 0), (-1, 1), doc.fonts.bold, doc.fonts.size(8.5)),
        ("FONT", (0, 0), (3, 0), doc.fonts.bold, doc.fonts.size(10)),
        ("BACKGROUND", (0, 0), (-1, 0), SHADE),
        ("ALIGN", (4, 0), (-1, 0), "RIGHT"),
        ("VALIGN", (0, 2), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, GRID),
        ("GRID", (4, 1), (-1, -1), 0.5, GRID),
    ]
    if marks:
        commands.append(("ALIGN", (first_mark, 1), (last_mark, -1), "CENTER"))
        commands.append(
            ("TEXTCOLOR", (first_mark, 2), (last_mark, -1), LINE),
        )
    heights = [0, 0] + [ROW_HEIGHT] * len(couples)
    return doc.table(rows, widths, 8.5, commands, minRowHeights=heights, spaceBefore=8)
