"""The logger's browse page: one day's lines newest first, filtered, a page at a time.

Query: ``day`` (``YYYY-MM-DD``, default today in UTC), ``tenant`` (exact),
``level`` (this level or worse: ``debug`` < ``info`` < ``warn`` < ``error`` <
``critical``), ``q`` (text, any case), ``request_id`` (follow one request
across lines: every line that carries the id), ``machine`` (the sender),
``before`` (a byte offset: the next, older page), ``limit`` (≤ :data:`MAX_LIMIT`).

A page reads the day file backwards from ``before`` and stops after ``limit``
matching lines or :data:`MAX_SCAN` bytes, whichever comes first; a line's
level is its ``level`` or ``severity``, or, for an access-log line, its status
(5xx error, 4xx warn).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

import attrs
import jinja2

from showcase.event.paths import TEMPLATES
from showcase.router.message import Reply

from .logstore import DayFiles, lines_backward, utc_day

LEVELS = ("debug", "info", "warn", "error", "critical")
_ALIASES = {"warning": "warn", "fatal": "critical", "err": "error", "trace": "debug"}
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
DEFAULT_LIMIT = 200
MAX_LIMIT = 1000
MAX_SCAN = 16 * 1024 * 1024
FIELD_LIMIT = 256
HTML = ((b"content-type", b"text/html; charset=utf-8"), (b"cache-control", b"no-store"))


def line_level(record: Mapping[str, Any]) -> str:
    """The level of a stored line (``info`` when it says nothing)."""
    value = record.get("level") or record.get("severity")
    if isinstance(value, str):
        name = value.lower()
        name = _ALIASES.get(name, name)
        if name in LEVELS:
            return name
    status = record.get("status")
    if isinstance(status, int):
        return "error" if status >= 500 else "warn" if status >= 400 else "info"
    return "info"


def _field(query: Mapping[str, str], name: str) -> str:
    return query.get(name, "").strip()[:FIELD_LIMIT]


@attrs.frozen
class LineFilter:
    tenant: str = ""
    level: str = ""
    q: str = ""
    request_id: str = ""
    machine: str = ""

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> LineFilter:
        level = _field(query, "level").lower()
        return cls(
            tenant=_field(query, "tenant"),
            level=_ALIASES.get(level, level) if _ALIASES.get(level, level) in LEVELS else "",
            q=_field(query, "q"),
            request_id=_field(query, "request_id"),
            machine=_field(query, "machine"),
        )

    def params(self) -> dict[str, str]:
        """The set filters, as query parameters."""
        return {k: v for k, v in attrs.asdict(self).items() if v}

    def match(self, raw: bytes) -> dict[str, Any] | None:
        """The parsed line if ``raw`` passes every filter, else None."""
        if self.request_id and self.request_id.encode() not in raw:
            return None
        if self.machine and self.machine.encode() not in raw:
            return None
        try:
            record = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(record, dict):
            return None
        if self.tenant and record.get("tenant") != self.tenant:
            return None
        if self.machine and record.get("machine") != self.machine:
            return None
        if self.level and LEVELS.index(line_level(record)) < LEVELS.index(self.level):
            return None
        if self.q:
            needle = self.q.lower()
            text = str(record.get("message", "")) + " " + raw.decode("utf-8", "replace")
            if needle not in text.lower():
                return None
        return record


def summary(record: Mapping[str, Any]) -> str:
    """What a row shows: the message, or ``METHOD uri → status`` for an access-log line."""
    if "message" in record:
        return str(record["message"])
    if "uri" in record:
        took = record.get("request_time", "")
        return f"{record.get('method', '')} {record['uri']} → {record.get('status', '')} ({took}s)"
    return json.dumps(record, ensure_ascii=False)


def row(record: Mapping[str, Any]) -> dict[str, str]:
    return {
        "time": str(record.get("@timestamp", "")),
        "machine": str(record.get("machine", "")),
        "level": line_level(record),
        "tenant": str(record.get("tenant") or ""),
        "request_id": str(record.get("request_id") or ""),
        "text": summary(record),
    }


class Browser:
    """Renders pages of one :class:`DayFiles`."""

    def __init__(self, files: DayFiles, templates: str = TEMPLATES) -> None:
        self.files = files
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(templates),
            autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def page(self, query_string: bytes, now: float) -> Reply:
        query = dict(parse_qsl(query_string.decode("latin-1"), encoding="utf-8"))
        day = query.get("day", "")
        if not DAY.fullmatch(day):
            day = utc_day(now)
        found = LineFilter.from_query(query)
        limit = _number(query.get("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT)
        rows, older = self.read(day, found, _number(query.get("before"), -1, 0, None), limit)
        params = found.params()
        next_url = None
        if older is not None:
            next_url = "?" + urlencode({"day": day, **params, "before": older})
        body = self.env.get_template("logs/browse.html").render(
            day=day,
            days=self.files.days(),
            today=utc_day(now),
            filter=found,
            levels=LEVELS,
            rows=rows,
            next_url=next_url,
            tail_query=urlencode(params),
            day_query=lambda d: "?" + urlencode({"day": d, **params}),
            follow=lambda rid: "?" + urlencode({"day": day, "request_id": rid}),
        )
        return Reply(200, HTML, body.encode("utf-8"), kind="logs")

    def read(
        self, day: str, found: LineFilter, before: int, limit: int
    ) -> tuple[list[dict[str, str]], int | None]:
        """Up to ``limit`` matching rows of ``day`` before offset ``before`` (-1: the end),
        newest first, and the offset to continue from (None: nothing older)."""
        rows: list[dict[str, str]] = []
        try:
            f = open(self.files.path(day), "rb")  # noqa: SIM115 (closed below)
        except FileNotFoundError:
            return rows, None
        with f:
            end = f.seek(0, 2)
            start = end if before < 0 else min(before, end)
            offset = start
            for offset, raw in lines_backward(f, start):
                record = found.match(raw)
                if record is not None:
                    rows.append(row(record))
                if len(rows) >= limit or start - offset >= MAX_SCAN:
                    break
            else:
                return rows, None
        return rows, (offset if offset > 0 else None)


def _number(text: str | None, default: int, low: int, high: int | None) -> int:
    if text is None or not text.isdigit():
        return default
    value = max(low, int(text))
    return value if high is None else min(high, value)
