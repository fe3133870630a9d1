"""Parsers for the value formats of the router config: durations, sizes, replacements.

These are pure functions on strings.  They raise :class:`ValueError` with a short message;
the loader turns that into a :class:`~showcase.config.nodes.ConfigError` naming the file,
line and key.
"""

from __future__ import annotations

import os.path
import re
from fractions import Fraction

_DURATION_UNITS: dict[str, Fraction] = {
    "ns": Fraction(1, 10**9),
    "us": Fraction(1, 10**6),
    "\u00b5s": Fraction(1, 10**6),  # micro sign
    "\u03bcs": Fraction(1, 10**6),  # greek mu
    "ms": Fraction(1, 1000),
    "s": Fraction(1),
    "m": Fraction(60),
    "h": Fraction(3600),
    "d": Fraction(86400),
    "w": Fraction(7 * 86400),
    "y": Fraction(365 * 86400),
}
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_UNIT = "|".join(sorted(_DURATION_UNITS, key=len, reverse=True))
_DURATION_PART = re.compile(rf"({_NUMBER})({_UNIT})")
_DURATION = re.compile(rf"(?:{_NUMBER}(?:{_UNIT}))+")


def parse_duration(text: str) -> float:
    """Seconds in a duration such as ``300ms``, ``30s``, ``5m``, ``1h30m``, ``1.5d``, ``1y``.

    Go's ``time.ParseDuration`` syntax (units ``ns us ms s m h``) plus ``d``, ``w`` and ``y``
    (365 days), which may also be combined (``1d12h``).  ``0`` is the only bare number
    allowed; negative durations are rejected.
    """
    text = text.strip()
    if text == "0":
        return 0.0
    if not _DURATION.fullmatch(text):
        if re.fullmatch(_NUMBER, text):
            raise ValueError(f"{text!r} needs a unit (ms, s, m, h, d, w, y), e.g. '{text}s'")
        raise ValueError(f"{text!r} is not a duration (e.g. 300ms, 30s, 5m, 1h30m, 2d, 1w)")
    total = sum(
        (Fraction(number) * _DURATION_UNITS[unit] for number, unit in _DURATION_PART.findall(text)),
        Fraction(0),
    )
    return float(total)


_SIZE_PREFIXES = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5}
_SIZE = re.compile(
    rf"(?P<number>{_NUMBER})\s*(?:(?P<prefix>[kmgtp])(?:i?b)?|(?P<bytes>b))?",
    re.IGNORECASE,
)


def parse_size(text: str) -> int:
    """Bytes in a size such as ``512K``, ``768M``, ``1.5G``, ``2048MB``, ``1GiB`` or ``4096``.

    Case-insensitive; K, M, G, T and P are powers of 1024 with or without ``B``/``iB``.
    A number without a unit is bytes and must be whole.
    """
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a size (e.g. 512K, 768M, 1G, 1.5G, 2048MB, 1GiB)")
    number = Fraction(match["number"])
    prefix = (match["prefix"] or "").lower()
    if not prefix and number.denominator != 1:
        raise ValueError(f"{text!r}: a size in bytes must be a whole number")
    return int(number * 1024 ** _SIZE_PREFIXES[prefix])


def _is_name_char(char: str) -> bool:
    # Go's unicode.IsLetter / unicode.IsDigit (category L* / Nd) or '_'.
    return char.isalpha() or char.isdecimal() or char == "_"


def _extract(text: str) -> tuple[str, str] | None:
    """Go's ``regexp.extract``: the group name at the start of *text* and the rest."""
    brace = text.startswith("{")
    start = 1 if brace else 0
    end = start
    while end < len(text) and _is_name_char(text[end]):
        end += 1
    if end == start:
        return None
    name = text[start:end]
    if brace:
        if end >= len(text) or text[end] != "}":
            return None
        end += 1
    return name, text[end:]


def _group_text(name: str, match: re.Match[str]) -> str:
    is_number = name.isascii() and name.isdigit() and (name == "0" or not name.startswith("0"))
    if is_number and len(name) <= 8:
        index = int(name)
        if index > (match.re.groups):
            return ""
        return match.group(index) or ""
    index_by_name = match.re.groupindex.get(name)
    if index_by_name is None:
        return ""
    return match.group(index_by_name) or ""


def expand_replacement(template: str, match: re.Match[str]) -> str:
    """*template* with ``$1``, ``${1}``, ``$name``, ``${name}`` and ``$$`` filled from *match*.

    The semantics of Go's ``Regexp.Expand``: ``$name`` takes the longest run of letters,
    digits and ``_`` (so ``$1x`` is the group named ``1x``); a group that does not exist or
    did not take part in the match gives ``""``; a ``$`` not followed by a name, or ``${``
    without its ``}``, is kept as a literal ``$``.
    """
    out: list[str] = []
    rest = template
    while True:
        before, dollar, after = rest.partition("$")
        out.append(before)
        if not dollar:
            return "".join(out)
        if after.startswith("$"):
            out.append("$")
            rest = after[1:]
            continue
        extracted = _extract(after)
        if extracted is None:
            out.append("$")
            rest = after
            continue
        name, rest = extracted
        out.append(_group_text(name, match))


_LISTEN_PORT = re.compile(r"\d{1,5}")


def normalize_listen(value: str) -> str:
    """An endpoint string for ``server.listen``: a port number ``N`` becomes ``tcp:N``."""
    value = value.strip()
    if _LISTEN_PORT.fullmatch(value):
        port = int(value)
        if port > 65535:
            raise ValueError(f"port {port} is out of range (0-65535)")
        return f"tcp:{port}"
    if ":" not in value:
        raise ValueError(f"{value!r} is neither a port number nor an endpoint like tcp:9999")
    return value


def normalize_root_path(value: str) -> str:
    """``server.root_path`` as ``""`` or ``/prefix`` without a trailing slash."""
    if value and not value.startswith("/"):
        raise ValueError(f"{value!r} must start with '/' (or be empty)")
    return value.rstrip("/")


def normalize_extension(value: str) -> str:
    """An ``allowed_extensions`` entry: lower case, without the leading dot."""
    extension = value.strip().lstrip(".").lower()
    if not extension or "/" in extension:
        raise ValueError(f"{value!r} is not a file extension")
    return extension


def resolve_path(base_dir: str, path: str) -> str:
    """*path* made relative to *base_dir* (the config file's directory) unless absolute."""
    return os.path.normpath(os.path.join(base_dir, path))


def url_path(value: str) -> str:
    """A URL path, which must start with ``/``."""
    if not value.startswith("/"):
        raise ValueError(f"{value!r} must start with '/'")
    return value
