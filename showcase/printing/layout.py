"""What every printed page shares: paper, fonts, the header and footer, the logo, table cells.

Imports reportlab (only :mod:`showcase.printing.render` imports this module, when a
PDF is asked for).  Text is set in reportlab's standard fonts, so it is selectable and
extractable.  The event's ``font_family`` picks the family (its first name that maps
to Helvetica, Times or Courier; else Helvetica) and ``font_size`` (``100%``, ``14px``,
``11pt``) scales every size.  The header shows the event's logo (when its file can be
read), name, date and location, and the document's title; the footer the page number.
A header text too long for its room is set smaller, then cut short with "…".

The standard fonts cover Latin-1 (and cp1252: é, ñ, ü, Š, Œ, €); reportlab sets Greek
in its Symbol font and any other character (Chinese, Cyrillic, emoji, Ł) as a black box
"■", so such a name prints and extracts with a box per character, never failing the
PDF.  No TrueType font is registered: the fonts a machine happens to have installed
would change the output from one machine (or the appliance) to another.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Sequence
from typing import Any

import attrs
from reportlab.lib import colors
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Paragraph
from reportlab.platypus.tables import CellStyle, Table, TableStyle
from twisted.logger import Logger

from .model import PrintData

log = Logger()

MARGIN = 0.5 * inch
HEADER = 0.75 * inch  # the band the header takes at the top of every page
FOOTER = 0.5 * inch
PADDING = 3  # points left and right of a table cell's text
GRID = colors.HexColor("#888888")
RULE = colors.HexColor("#BBBBBB")
SHADE = colors.HexColor("#EEEEEE")
LINE = colors.HexColor("#999999")
FAINT = colors.HexColor("#CCCCCC")

_FAMILIES = {
    "helvetica": ("Helvetica", "Helvetica-Bold"),
    "arial": ("Helvetica", "Helvetica-Bold"),
    "sans-serif": ("Helvetica", "Helvetica-Bold"),
    "verdana": ("Helvetica", "Helvetica-Bold"),
    "times": ("Times-Roman", "Times-Bold"),
    "times new roman": ("Times-Roman", "Times-Bold"),
    "georgia": ("Times-Roman", "Times-Bold"),
    "serif": ("Times-Roman", "Times-Bold"),
    "courier": ("Courier", "Courier-Bold"),
    "courier new": ("Courier", "Courier-Bold"),
    "monospace": ("Courier", "Courier-Bold"),
}
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(%|px|pt|em|rem)?\s*", re.ASCII | re.IGNORECASE)
_PER_UNIT = {"%": 0.01, "px": 1 / 16, "pt": 1 / 12, "em": 1.0, "rem": 1.0, "": 0.01}


@attrs.frozen
class Fonts:
    regular: str = "Helvetica"
    bold: str = "Helvetica-Bold"
    scale: float = 1.0

    def size(self, points: float) -> float:
        return round(points * self.scale, 2)


def event_fonts(event: dict[str, Any]) -> Fonts:
    """The standard fonts for the event's ``font_family`` and the scale of its ``font_size``."""
    regular, bold = "Helvetica", "Helvetica-Bold"
    for name in str(event.get("font_family") or "").split(","):
        found = _FAMILIES.get(name.strip().strip("'\"").lower())
        if found:
            regular, bold = found
            break
    return Fonts(regular, bold, font_scale(str(event.get("font_size") or "")))


def font_scale(text: str) -> float:
    """``100%`` → 1.0, ``20px`` → 1.25, ``9pt`` → 0.75; kept within 0.6-1.6; 1.0 when unreadable."""
    found = _SIZE.fullmatch(text)
    if not found:
        return 1.0
    scale = float(found[1]) * _PER_UNIT[(found[2] or "").lower()]
    return min(1.6, max(0.6, scale)) if scale > 0 else 1.0


def load_logo(path: str | None) -> ImageReader | None:
    """The logo image, or None when there is none or its file cannot be read."""
    if not path or not os.path.isfile(path):
        return None
    try:
        image = ImageReader(path)
        image.getSize()
    except Exception:
        log.info("logo {path} could not be read; printing without it", path=path)
        return None
    return image


class Document:
    """One PDF: the event's header and footer on every page, flowables in one frame.

    ``columns`` (label, width) pairs are printed as column headings under the header of
    every page (the heat book's tables line up under them).
    """

    def __init__(
        self,
        data: PrintData,
        title: str,
        pagesize: tuple[float, float] = letter,
        columns: Sequence[tuple[str, float]] = (),
    ) -> None:
        self.data = data
        self.title = title
        self.pagesize = pagesize
        self.columns = tuple(columns)
        self.fonts = event_fonts(data.event)
        self.logo = load_logo(data.event.get("logo"))
        self.width = pagesize[0] - 2 * MARGIN
        self._cells: dict[float, type[CellStyle]] = {}
        self._styles: dict[tuple[Any, ...], ParagraphStyle] = {}

    def style(self, size: float = 9, bold: bool = False, **more: Any) -> ParagraphStyle:
        """A paragraph style in the event's font (``size`` before scaling)."""
        key = (size, bold, tuple(sorted(more.items())))
        if key not in self._styles:
            points = self.fonts.size(size)
            self._styles[key] = ParagraphStyle(
                f"s{size}{bold}",
                fontName=self.fonts.bold if bold else self.fonts.regular,
                fontSize=points,
                leading=round(points * 1.2, 2),
                **more,
            )
        return self._styles[key]

    def cell(self, text: str, width: float, size: float = 8.5, bold: bool = False) -> Any:
        """``text`` for a table cell ``width`` wide: plain when it fits, else wrapping."""
        font = self.fonts.bold if bold else self.fonts.regular
        if stringWidth(text, font, self.fonts.size(size)) <= width - 2 * PADDING:
            return text
        return Paragraph(escape(text), self.style(size, bold))

    def table(
        self,
        rows: list[list[Any]],
        widths: Sequence[float],
        size: float = 8.5,
        commands: Sequence[tuple[Any, ...]] = (),
        **options: Any,
    ) -> Table:
        """A table in the event's font at ``size`` (before scaling), cells aligned top.

        Every cell starts from one style class made per size (setting the font and
        padding of every cell with commands costs more than the rest of the table).
        """
        cls = self._cell_class(size)
        styles = [[cls("c") for _ in row] for row in rows]
        table = Table(rows, colWidths=list(widths), cellStyles=styles, **options)
        if commands:
            table.setStyle(TableStyle(list(commands)))
        return table

    def _cell_class(self, size: float) -> type[CellStyle]:
        if size not in self._cells:
            points = self.fonts.size(size)
            self._cells[size] = type(
                "EventCell",
                (CellStyle,),
                {
                    "fontname": self.fonts.regular,
                    "fontsize": points,
                    "leading": round(points * 1.2, 2),
                    "leftPadding": PADDING,
                    "rightPadding": PADDING,
                    "topPadding": 1.5,
                    "bottomPadding": 2,
                    "valign": "TOP",
                    "color": colors.black,
                },
            )
        return self._cells[size]

    def build(self, story: list[Any]) -> bytes:
        out = io.BytesIO()
        heading = self.fonts.size(8) * 1.6 if self.columns else 0
        top = MARGIN + HEADER + heading
        frame = Frame(
            MARGIN,
            FOOTER + 0.2 * inch,
            self.width,
            self.pagesize[1] - top - FOOTER - 0.2 * inch,
            leftPadding=0,
            rightPadding=0,
            topPadding=4,
            bottomPadding=0,
            id="body",
        )
        doc = BaseDocTemplate(
            out,
            pagesize=self.pagesize,
            title=f"{self.title} · {self.data.event.get('name') or 'Showcase'}",
            author=str(self.data.event.get("name") or ""),
            creator="showcase",
            invariant=1,
            initialFontName=self.fonts.regular,
        )
        doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=self._decorate)])
        doc.build(story)
        return out.getvalue()

    def _decorate(self, canvas: Any, doc: Any) -> None:
        width, height = self.pagesize
        fonts, event = self.fonts, self.data.event
        canvas.saveState()
        top = height - MARGIN
        x = MARGIN
        if self.logo is not None:
            w, h = self.logo.getSize()
            box = HEADER - 0.25 * inch
            scale = min(box / h, 1.6 * inch / w) if w and h else 0
            if scale:
                canvas.drawImage(self.logo, x, top - h * scale, w * scale, h * scale, mask="auto")
                x += w * scale + 0.15 * inch
        right = width - MARGIN
        title, size = fit_text(self.title, fonts.bold, fonts.size(11), (right - x) / 2, 8)
        canvas.setFont(fonts.bold, size)
        canvas.drawRightString(right, top - fonts.size(11), title)
        room = right - x - stringWidth(title, fonts.bold, size) - 0.25 * inch
        name = str(event.get("name") or "Showcase")
        name, size = fit_text(name, fonts.bold, fonts.size(14), room, 9)
        canvas.setFont(fonts.bold, size)
        canvas.drawString(x, top - fonts.size(14), name)
        place = " · ".join(str(t) for t in (event.get("date"), event.get("location")) if t)
        place, size = fit_text(place, fonts.regular, fonts.size(8.5), right - x, 6)
        canvas.setFont(fonts.regular, size)
        canvas.drawString(x, top - fonts.size(14) - fonts.size(12), place)
        rule = height - MARGIN - HEADER + 0.1 * inch
        canvas.setStrokeColor(RULE)
        canvas.line(MARGIN, rule, width - MARGIN, rule)
        if self.columns:
            canvas.setFont(fonts.bold, fonts.size(8))
            x = MARGIN
            for label, column in self.columns:
                canvas.drawString(x + PADDING, rule - fonts.size(8) * 1.3, label)
                x += column
        canvas.setFont(fonts.regular, fonts.size(7.5))
        canvas.drawCentredString(width / 2, FOOTER, f"Page {doc.page}")
        canvas.restoreState()


def fit_text(text: str, font: str, size: float, width: float, smallest: float) -> tuple[str, float]:
    """``text`` and a font size at which it fits ``width``: ``size`` when it fits, else
    smaller down to ``smallest``, and cut short with "…" when even that is too wide."""
    full = float(stringWidth(text, font, size))
    if full <= width:
        return text, size
    smaller = max(min(smallest, size), size * width / full)
    if stringWidth(text, font, smaller) <= width:
        return text, smaller
    while text and stringWidth(text.rstrip() + "…", font, smaller) > width:
        text = text[:-1]
    return (text.rstrip() + "…" if text else ""), smaller


def escape(text: str) -> str:
    """Text for a reportlab paragraph (which reads markup)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
