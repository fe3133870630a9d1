"""The heat book (``heats.pdf``): the whole agenda, every scheduled heat with its couples.

Agenda categories are headed with their day and start time; each heat shows its number,
time, dance, and per couple the back number, lead, follow, studio, level and age, and
the ballroom when the floor is split.  A heat is one table kept on one page.
"""

from __future__ import annotations

from typing import Any

from reportlab.platypus import KeepTogether, Paragraph, Table

from .layout import LINE, SHADE, Document, escape
from .model import Dict, PrintData, kind_dance, level_age

FIXED = (("Heat", 30), ("Time", 34), ("Dance", 84), ("Back", 28))


def columns(rooms: bool) -> list[tuple[str, float]]:
    """The heat book's columns (label, width in points) for a 540-point wide page."""
    if rooms:
        rest = [("Lead", 92), ("Follow", 92), ("Studio", 80), ("Level", 66), ("Room", 34)]
    else:
        rest = [("Lead", 104), ("Follow", 104), ("Studio", 82), ("Level", 74)]
    return [*FIXED, *rest]


def heatbook(data: PrintData, _item: int | None = None) -> bytes:
    rooms = any(c.get("ballroom") for _, heat in data.heats() for c in heat.get("couples") or ())
    cols = columns(rooms)
    doc = Document(data, "Heat book", columns=cols)
    widths = [w for _, w in cols]
    story: list[Any] = []
    for section in data.sections:
        heats = section.get("heats") or []
        if not heats:
            continue
        header = section_header(doc, section)
        for index, heat in enumerate(heats):
            table = heat_table(doc, data, heat, widths, rooms)
            story.append(KeepTogether([header, table] if index == 0 else [table]))
    if not story:
        story.append(Paragraph("No heats are scheduled yet.", doc.style(11)))
    return doc.build(story)


def section_header(doc: Document, section: Dict) -> Table:
    """An agenda category's title, with its day and start time at the right."""
    when = " ".join(t for t in (section.get("day"), section.get("time")) if t)
    return doc.table(
        [[str(section.get("title") or ""), when]],
        [doc.width * 0.7, doc.width * 0.3],
        11,
        [
            ("FONT", (0, 0), (-1, -1), doc.fonts.bold, doc.fonts.size(11)),
            ("ALIGN", (1, 0), (1, 0), "RIGHT"),
            ("BACKGROUND", (0, 0), (-1, -1), SHADE),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ],
        spaceBefore=8,
    )


def heat_table(
    doc: Document, data: PrintData, heat: Dict, widths: list[float], rooms: bool
) -> Table:
    """One heat: a row per couple (a solo adds its song), the heat's cells on the first."""
    rows: list[list[Any]] = []
    spans: list[tuple[Any, ...]] = []
    couples = heat.get("couples") or []
    for index, couple in enumerate(couples):
        first = index == 0
        follow = data.name(couple.get("follow"))
        formation = [data.name(p) for p in couple.get("formation") or ()]
        if formation:
            follow = " & ".join(n for n in (follow, *formation) if n)
        studio = str(couple.get("studio") or "")
        if couple.get("instructor"):
            studio = f"{studio}, instr. {data.name(couple['instructor'])}".lstrip(", ")
        row = [
            str(heat.get("label") or "") if first else "",
            str(heat.get("time") or "") if first else "",
            doc.cell(kind_dance(heat), widths[2]) if first else "",
            str(couple.get("back") or ""),
            doc.cell(data.name(couple.get("lead")), widths[4]),
            doc.cell(follow, widths[5]),
            doc.cell(studio, widths[6]),
            doc.cell(level_age(couple), widths[7]),
        ]
        if rooms:
            row.append(str(couple.get("ballroom") or ""))
        rows.append(row)
        solo = couple.get("solo")
        if solo and (solo.get("song") or solo.get("artist")):
            song = " - ".join(t for t in (solo.get("song"), solo.get("artist")) if t)
            rows.append(["", "", "", "", Paragraph(escape(f"Song: {song}"), doc.style(8))])
            spans.append(("SPAN", (4, len(rows) - 1), (-1, len(rows) - 1)))
    if not rows:
        rows.append([str(heat.get("label") or ""), str(heat.get("time") or ""), kind_dance(heat)])
        rows[0] += [""] * (len(widths) - 3)
    return doc.table(
        rows,
        widths,
        8.5,
        [
            ("FONT", (0, 0), (0, 0), doc.fonts.bold, doc.fonts.size(8.5)),
            ("LINEABOVE", (0, 0), (-1, 0), 0.4, LINE),
            *spans,
        ],
    )
