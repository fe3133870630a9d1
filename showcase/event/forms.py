"""Form parsing and validation for the organizer pages.

Each parser takes the text of one field and returns the value to store, or
raises :class:`Invalid` with the message shown beside the field.  No input
makes a parser raise anything else (a hypothesis property checks it), so a
page can parse every field, collect the messages, and write nothing when
there is one.  :class:`Form` holds a post's fields as text (to redisplay
them) and the messages by field name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date
from typing import TypeVar

T = TypeVar("T")

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAK = re.compile(r"[\r\n\t]")
_INTEGER = re.compile(r"-?[0-9]{1,9}", re.ASCII)
_CLOCK = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])", re.ASCII)
_AVAILABLE = re.compile(r"([<>])\s*(\S+)")
_COLOR = re.compile(r"#[0-9a-fA-F]{6}", re.ASCII)
_ISO_DAY = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_EVENT_DATE = re.compile(rf"({_ISO_DAY})(?:\s+-\s+({_ISO_DAY}))?", re.ASCII)
_FONT = re.compile(r"[A-Za-z0-9 ,\-]+", re.ASCII)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_AND = re.compile(r"(^|\s)and(\s|$)", re.IGNORECASE)


class Invalid(ValueError):
    """One field's input refused; the message is shown beside the field."""


def text(raw: str, *, required: str = "", max_length: int = 200, multiline: bool = False) -> str:
    """Text with surrounding space removed; ``required`` is the message when it is empty."""
    value = raw.strip()
    if required and not value:
        raise Invalid(required)
    if len(value) > max_length:
        raise Invalid(f"At most {max_length} characters.")
    if _CONTROL.search(value) or (not multiline and _LINE_BREAK.search(value)):
        raise Invalid("Control characters are not allowed.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid("Not valid text.") from None
    return value


def optional_text(raw: str, *, max_length: int = 200, multiline: bool = False) -> str | None:
    """Text, or None when empty."""
    return text(raw, max_length=max_length, multiline=multiline) or None


def integer(
    raw: str, *, minimum: int = 0, maximum: int = 999_999, required: str = ""
) -> int | None:
    """A whole number within [minimum, maximum]; None when empty and not ``required``."""
    value = raw.strip()
    if not value:
        if required:
            raise Invalid(required)
        return None
    if not _INTEGER.fullmatch(value):
        raise Invalid("Enter a whole number.")
    number = int(value)
    if not minimum <= number <= maximum:
        raise Invalid(f"Enter a number from {minimum} to {maximum}.")
    return number


def whole(raw: str, *, minimum: int, maximum: int, required: str) -> int:
    """A whole number that must be given, within [minimum, maximum]."""
    number = integer(raw, minimum=minimum, maximum=maximum, required=required)
    if number is None:  # integer() raised for an empty required field already
        raise Invalid(required)
    return number


def count(raw: str, maximum: int = 20) -> int:
    """How many heats of one kind (empty is none)."""
    return integer(raw, minimum=0, maximum=maximum) or 0


def checkbox(raw: str) -> int:
    """A ticked box sends a value; an unticked one sends nothing.  Stored 0/1."""
    return 1 if raw.strip() else 0


def choice(raw: str, choices: Collection[str], *, required: str = "Choose one.") -> str:
    """One of ``choices`` exactly."""
    value = raw.strip()
    if value not in choices:
        raise Invalid(required if not value else "Not one of the choices.")
    return value


def reference(raw: str, ids: Collection[int], *, required: str = "") -> int | None:
    """The id of one of the rows a select offered; None when empty and not ``required``."""
    number = integer(raw, minimum=-1, maximum=2**31, required=required)
    if number is None:
        return None
    if number not in ids:
        raise Invalid("Not one of the choices.")
    return number


def clock(raw: str) -> str | None:
    """A time of day as HH:MM (24 hours), or None when empty."""
    value = raw.strip()
    if not value:
        return None
    match = _CLOCK.fullmatch(value)
    if not match:
        raise Invalid("Enter a time as HH:MM (24 hours).")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def available(raw: str) -> str | None:
    """``<HH:MM`` (must leave before) or ``>HH:MM`` (arrives after), or None when empty."""
    value = raw.strip()
    if not value:
        return None
    match = _AVAILABLE.fullmatch(value)
    if not match:
        raise Invalid("Enter <HH:MM (leaves before) or >HH:MM (arrives after), or leave empty.")
    try:
        time = clock(match.group(2))
    except Invalid:
        raise Invalid("Enter <HH:MM (leaves before) or >HH:MM (arrives after).") from None
    return f"{match.group(1)}{time}"


def color(raw: str) -> str:
    """A colour as #RRGGBB, stored in capitals."""
    value = raw.strip()
    if not _COLOR.fullmatch(value):
        raise Invalid("Enter a colour as #RRGGBB.")
    return value.upper()


def event_date(raw: str) -> str | None:
    """``YYYY-MM-DD`` or ``YYYY-MM-DD - YYYY-MM-DD`` (a real date; a range in order)."""
    value = raw.strip()
    if not value:
        return None
    match = _EVENT_DATE.fullmatch(value)
    if not match:
        raise Invalid("Enter a date as YYYY-MM-DD, or a range as YYYY-MM-DD - YYYY-MM-DD.")
    try:
        days = [date.fromisoformat(d) for d in match.groups() if d]
    except ValueError:
        raise Invalid("There is no such date.") from None
    if len(days) == 2 and days[1] < days[0]:
        raise Invalid("The range ends before it starts.")
    return " - ".join(d.isoformat() for d in days)


def font_family(raw: str) -> str:
    """A CSS font list: names, spaces, commas and hyphens only."""
    value = text(raw, required="Enter a font, e.g. Helvetica, Arial.", max_length=100)
    if not _FONT.fullmatch(value):
        raise Invalid("Use font names separated by commas (letters, digits, spaces, hyphens).")
    return value


def email(raw: str) -> str | None:
    """An e-mail address, or None when empty."""
    value = text(raw, max_length=254)
    if not value:
        return None
    if not _EMAIL.fullmatch(value):
        raise Invalid("Enter an e-mail address like name@example.com.")
    return value


def person_name(raw: str) -> str:
    """A person's name as stored: "Last, First".

    Entered as "First Last" (the last word is the last name) or "Last, First";
    spaces are collapsed; one word stays as it is.  "&" and " and " are
    refused: a person is one person, a couple is an entry.
    """
    value = " ".join(text(raw, required="Enter a name.", max_length=100).split())
    if "&" in value or _AND.search(value):
        raise Invalid('A name may not contain "&" or " and ": enter each person on their own.')
    if "," in value:
        last, _, first = (part.strip() for part in value.partition(","))
        if not last or not first or "," in first:
            raise Invalid('Enter the name as "First Last" or "Last, First".')
        return f"{last}, {first}"
    words = value.split(" ")
    if len(words) == 1:
        return value
    return f"{words[-1]}, {' '.join(words[:-1])}"


class Form:
    """A post's fields as text, and the message for each field that was refused."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self.values: dict[str, str] = dict(values or {})
        self.errors: dict[str, str] = {}

    @classmethod
    def from_args(cls, args: Mapping[bytes, Sequence[bytes]] | None) -> Form:
        """A form from ``request.args`` (first value of each field; bad UTF-8 replaced)."""
        values = {}
        for key, items in (args or {}).items():
            if not items:
                continue
            name = key.decode("utf-8", "replace")
            values[name] = items[0].decode("utf-8", "replace")
        return cls(values)

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def field(self, name: str, parse: Callable[[str], T], fallback: T) -> T:
        """``parse`` the field; on :class:`Invalid` note the message and give ``fallback``."""
        try:
            return parse(self.get(name))
        except Invalid as refused:
            self.error(name, str(refused))
            return fallback

    def error(self, name: str, message: str) -> None:
        """Note a message beside ``name`` (the first one for a field is kept)."""
        self.errors.setdefault(name, message)

    @property
    def ok(self) -> bool:
        return not self.errors


def text_of(value: object) -> str:
    """A stored value as a form shows it (None is empty)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def form_of(row: Mapping[str, object], names: Collection[str]) -> Form:
    """A form showing the stored values of ``row`` for ``names``."""
    return Form({name: text_of(row.get(name)) for name in names})
