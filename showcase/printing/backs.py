"""Back numbers (``people/backs.pdf``): one landscape page per back number, never two.

Every person with a back number, in number order: the number as large as the page
allows, the dancer's name and studio under it, the event's header above.
"""

from __future__ import annotations

from typing import Any

from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import landscape, letter
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import PageBreak, Paragraph, Spacer

from .layout import Document, escape
from .model import PrintData

BIGGEST = 260  # points: a three-digit number fills most of the page's width


def backs(data: PrintData, _item: int | None = None) -> bytes:
    doc = Document(data, "Back numbers", pagesize=landscape(letter))
    people = sorted(
        (p for p in data.people.values() if _back(p) is not None),
        key=lambda p: (_back(p), p["id"]),
    )
    story: list[Any] = []
    for someone in people:
        if story:
            story.append(PageBreak())
        number = str(_back(someone))
        size = min(BIGGEST, doc.width * 0.9 / max(1.0, _width(doc, number)))
        big = doc.style(11, bold=True, alignment=TA_CENTER)
        story += [
            Spacer(0, 12),
            Paragraph(number, big.clone("back", fontSize=size, leading=size * 1.05)),
            Spacer(0, 24),
            Paragraph(
                escape(str(someone.get("name") or "")), doc.style(30, True, alignment=TA_CENTER)
            ),
            Spacer(0, 6),
            Paragraph(escape(str(someone.get("studio") or "")), doc.style(16, alignment=TA_CENTER)),
        ]
    if not story:
        story.append(Paragraph("No one has a back number yet.", doc.style(11)))
    return doc.build(story)


def _back(person: dict[str, Any]) -> int | None:
    try:
        back = int(person.get("back") or 0)
    except (TypeError, ValueError):
        return None
    return back if back > 0 else None


def _width(doc: Document, text: str) -> float:
    """The width of ``text`` in the bold font at one point."""
    return float(stringWidth(text, doc.fonts.bold, 1))
