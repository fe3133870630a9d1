"""Validators, conditional requests and byte ranges for static files.

Pure functions over a :class:`~showcase.router.message.RequestHead` and a
file's size and modification time: no I/O.  The rules follow RFC 9110:

* ``If-None-Match`` (weak comparison, ``*`` and lists) decides alone when
  present; otherwise ``If-Modified-Since`` at one-second resolution.
* ``Range`` takes one ``bytes=`` range (``a-b``, ``a-``, ``-n``); several
  ranges, another unit or bad syntax mean "send the whole file".
* ``If-Range`` keeps the range only when it names the current entity tag
  (strong comparison) or exactly the current ``Last-Modified`` date.
"""

from __future__ import annotations

import enum
import functools
import math
from email.utils import formatdate, parsedate_to_datetime

import attrs

from showcase.router.message import RequestHead


@attrs.frozen
class ByteRange:
    """The part of the file a 206 sends: ``length`` bytes from ``start``."""

    start: int
    length: int

    def content_range(self, size: int) -> bytes:
        """The ``Content-Range`` value for this range of a ``size``-byte file."""
        return b"bytes %d-%d/%d" % (self.start, self.start + self.length - 1, size)


class Unsatisfiable(enum.Enum):
    """A single range that lies wholly beyond the end of the file (416)."""

    RANGE = "unsatisfiable"


UNSATISFIABLE = Unsatisfiable.RANGE


def entity_tag(size: int, mtime_ns: int) -> bytes:
    """A strong entity tag from a file's size and modification time."""
    return b'"%x-%x"' % (size, mtime_ns)


@functools.lru_cache(maxsize=4096)
def http_date(seconds: int) -> bytes:
    """``seconds`` since the epoch as an IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``)."""
    return formatdate(seconds, usegmt=True).encode("ascii")


def parse_http_date(value: bytes) -> int | None:
    """Seconds since the epoch for an HTTP date, or None when it is not one."""
    try:
        parsed = parsedate_to_datetime(value.decode("latin-1"))
        stamp = parsed.timestamp()
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None or not math.isfinite(stamp):
        return None
    return math.floor(stamp)


def _opaque(tag: bytes) -> bytes:
    """An entity tag without its weakness marker, for weak comparison."""
    tag = tag.strip()
    return tag[2:] if tag.startswith(b"W/") else tag


def not_modified(head: RequestHead, etag: bytes, mtime: int) -> bool:
    """Whether the client's cached copy is current, so a 304 answers."""
    if_none_match = head.header(b"if-none-match")
    if if_none_match is not None:
        wanted = _opaque(etag)
        tags = [tag.strip() for tag in if_none_match.split(b",")]
        return any(tag == b"*" or _opaque(tag) == wanted for tag in tags)
    if_modified_since = head.header(b"if-modified-since")
    if if_modified_since is None:
        return False
    since = parse_http_date(if_modified_since)
    return since is not None and since >= mtime


def _if_range_holds(head: RequestHead, etag: bytes, mtime: int) -> bool:
    """Whether ``If-Range`` (if any) still names the current file."""
    if_range = head.header(b"if-range")
    if if_range is None:
        return True
    if_range = if_range.strip()
    if if_range.startswith((b'"', b"W/")):
        return if_range == etag  # strong comparison: a weak tag never matches
    return parse_http_date(if_range) == mtime


def _number(text: bytes) -> int | None:
    """A non-negative decimal made of ASCII digits only, else None."""
    return int(text) if text.isdigit() else None


def parse_range(value: bytes, size: int) -> ByteRange | Unsatisfiable | None:
    """The single byte range ``value`` asks of a ``size``-byte file.

    None means "ignore the header and send the whole file" (not ``bytes``,
    bad syntax, or several ranges, which RFC 9110 lets a server refuse).
    """
    unit, sep, spec = value.partition(b"=")
    if not sep or unit.strip().lower() != b"bytes" or b"," in spec:
        return None
    first_text, dash, last_text = spec.strip().partition(b"-")
    if not dash:
        return None
    first, last = _number(first_text), _number(last_text)
    if first is None:
        if last is None:
            return None
        if last == 0 or size == 0:
            return UNSATISFIABLE
        suffix = min(last, size)
        return ByteRange(size - suffix, suffix)
    if last_text and (last is None or last < first):
        return None
    if first >= size:
        return UNSATISFIABLE
    end = size - 1 if last is None else min(last, size - 1)
    return ByteRange(first, end - first + 1)


def requested_range(
    head: RequestHead, etag: bytes, mtime: int, size: int
) -> ByteRange | Unsatisfiable | None:
    """The range to send for ``head`` (None: the whole file with 200)."""
    value = head.header(b"range")
    if value is None or not _if_range_holds(head, etag, mtime):
        return None
    return parse_range(value, size)
