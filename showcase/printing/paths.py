"""The PDF endpoints, relative to an event's URL prefix, and splitting a path into both.

Pure and import-light: the router's appliance mode calls :func:`split_pdf_path` on
every ``.pdf`` request.  An endpoint's pattern names its id as ``<id>`` (a person,
studio or judge: ``people.id`` or ``studios.id``).
"""

from __future__ import annotations

import re
from typing import NamedTuple


class Endpoint(NamedTuple):
    pattern: str  # "people/<id>/heats.pdf"
    module: str  # the module of showcase.printing that renders it
    function: str  # its function: (PrintData, id or None) -> bytes | None
    title: str  # what the print page calls it

    @property
    def has_id(self) -> bool:
        return "<id>" in self.pattern

    @property
    def route(self) -> str:
        """The pattern as a Klein route (``/people/<int:item_id>/heats.pdf``)."""
        return "/" + self.pattern.replace("<id>", "<int:item_id>")

    def path(self, item_id: int | None = None) -> str:
        """The relative path of this endpoint (for ``item_id`` when it takes one)."""
        return self.pattern.replace("<id>", str(item_id)) if self.has_id else self.pattern


# Most specific first: "people/heats.pdf" must not be read as "heats.pdf" under ".../people/".
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("people/<id>/heats.pdf", "heatsheets", "person", "Heat sheet"),
    Endpoint("people/<id>/scores.pdf", "results", "student", "Results"),
    Endpoint("studios/<id>/heats.pdf", "heatsheets", "studio", "Studio heat sheets"),
    Endpoint("scores/<id>/sheets.pdf", "judgesheets", "judge", "Judge score sheets"),
    Endpoint("people/heats.pdf", "heatsheets", "everyone", "Heat sheets"),
    Endpoint("people/backs.pdf", "backs", "backs", "Back numbers"),
    Endpoint("heats.pdf", "heatbook", "heatbook", "Heat book"),
)

_ID = r"(?P<id>[0-9]{1,9})"
_PATTERNS = tuple(
    (endpoint, re.escape(endpoint.pattern).replace(re.escape("<id>"), _ID))
    for endpoint in ENDPOINTS
)
_EXACT = tuple((endpoint, re.compile(text)) for endpoint, text in _PATTERNS)
_TAIL = tuple((endpoint, re.compile(f"(?<=/){text}\\Z")) for endpoint, text in _PATTERNS)
_SEGMENT = re.compile(r"[^/]+")


def match(relative: str) -> tuple[Endpoint, int | None] | None:
    """The endpoint a relative PDF path names, with its id; None when it names none."""
    for endpoint, regex in _EXACT:
        found = regex.fullmatch(relative)
        if found is not None:
            return endpoint, int(found["id"]) if endpoint.has_id else None
    return None


def split_pdf_path(path: str) -> tuple[str, str] | None:
    """Split a URL path into (event prefix ending in "/", relative PDF path).

    ``/showcase/2025/boston/people/12/heats.pdf`` → (``/showcase/2025/boston/``,
    ``people/12/heats.pdf``); ``/heats.pdf`` → (``/``, ``heats.pdf``).  None when the
    path does not end with a known endpoint, or its prefix is not a plain absolute
    path (empty, ``.`` or ``..`` segments).
    """
    if not path.startswith("/"):
        return None
    for _endpoint, regex in _TAIL:
        found = regex.search(path)
        if found is None:
            continue
        prefix, relative = path[: found.start()], path[found.start() :]
        if not prefix.endswith("/") or not _plain(prefix):
            continue
        return prefix, relative
    return None


def _plain(prefix: str) -> bool:
    segments = prefix.split("/")[1:-1]
    return all(_SEGMENT.fullmatch(s) and s not in (".", "..") for s in segments)
