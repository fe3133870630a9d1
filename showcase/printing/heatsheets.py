"""Heat sheets: a person's own heats (``people/<id>/heats.pdf``), a studio's people
(``studios/<id>/heats.pdf``) and everyone with heats (``people/heats.pdf``).

Each person starts a new page: their name, back number and studio, then one row per
scheduled heat they dance (as lead, follow, formation member, or instructor of an
amateur couple): number, time, dance, partner, level and age, agenda category and,
when the floor is split, the ballroom.  A heat is one row, so a page break never splits it.
"""

from __future__ import annotations

from typing import Any

from reportlab.platypus import PageBreak, Paragraph, Spacer

from .layout import FAINT, SHADE, Document, escape
from .model import Dict, PrintData, kind_dance, level_age

TITLE = "Heat sheet"


def person(data: PrintData, person_id: int | None) -> bytes | None:
    if person_id is None or person_id not in data.people:
        return None
    return render(data, [data.people[person_id]], TITLE, "No scheduled heats.")


def studio(data: PrintData, studio_id: int | None) -> bytes | None:
    if studio_id is None or studio_id not in data.studios:
        return None
    people = data.people_with_heats(studio_id)
    name = str(data.studios[studio_id].get("name") or "")
    if not people:
        return render(data, [], f"Heat sheets · {name}", f"No one from {name} has heats.")
    return render(data, people, f"Heat sheets · {name}", "")


def everyone(data: PrintData, _item: int | None = None) -> bytes:
    return render(data, data.people_with_heats(), "Heat sheets", "No heats are scheduled yet.")


def render(data: PrintData, people: list[Dict], title: str, empty: str) -> bytes:
    """One page (or more for a long list) per person; ``empty`` when there is nobody."""
    doc = Document(data, title)
    days = {heat.get("day") for _, heat in data.heats()}
    rooms = any(c.get("ballroom") for _, heat in data.heats() for c in heat.get("couples") or ())
    story: list[Any] = []
    for index, someone in enumerate(people):
        if index:
            story.append(PageBreak())
        story += person_story(doc, data, someone, len(days) > 1, rooms, empty)
    if not story:
        story.append(Paragraph(escape(empty), doc.style(11)))
    return doc.build(story)


def person_story(
    doc: Document, data: PrintData, someone: Dict, days: bool, rooms: bool, empty: str
) -> list[Any]:
    facts = [
        f"Back {someone['back']}" if someone.get("back") else "",
        str(someone.get("studio") or ""),
        str(someone.get("type") or ""),
    ]
    story: list[Any] = [
        Paragraph(escape(str(someone.get("name") or "")), doc.style(16, bold=True)),
        Paragraph(escape(" · ".join(f for f in facts if f)), doc.style(9)),
        Spacer(0, 6),
    ]
    heats = data.person_heats(someone["id"])
    if not heats:
        story.append(Paragraph(escape(empty or "No scheduled heats."), doc.style(10)))
        return story
    widths = [34, 56 if days else 40, 92, 0, 90, 84 if rooms else 120]
    header = ["Heat", "Time", "Dance", "Partner", "Level", "Category"]
    if rooms:
        widths.append(34)
        header.append("Room")
    widths[3] = doc.width - sum(widths)
    rows: list[list[Any]] = [header]
    for section, heat, couple, role in heats:
        when = " ".join(t for t in (heat.get("day") if days else "", heat.get("time")) if t)
        row = [
            str(heat.get("label") or ""),
            when,
            doc.cell(kind_dance(heat), widths[2], 9),
            doc.cell(data.partner(couple, someone["id"], role), widths[3], 9),
            doc.cell(level_age(couple), widths[4], 9),
            doc.cell(str(section.get("category") or ""), widths[5], 9),
        ]
        if rooms:
            row.append(str(couple.get("ballroom") or ""))
        rows.append(row)
    commands = [
        ("FONT", (0, 0), (-1, 0), doc.fonts.bold, doc.fonts.size(9)),
        ("BACKGROUND", (0, 0), (-1, 0), SHADE),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, FAINT),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    story.append(doc.table(rows, widths, 9, commands, repeatRows=1))
    return story
