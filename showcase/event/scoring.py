"""Scoring styles and the checking of one judge's score (``spec/scoring.md``).

Pure: no I/O.  :func:`style_for` says which style an event's settings give a heat;
:func:`validate` turns what a judge posted into the row to store, or refuses it with a
:class:`ScoreError` whose message the app answers with (422); :func:`read_value` reads a
stored value back for the tallies in :mod:`showcase.event.tallies`.

Four-part solo scores are stored as the showcase application stores them, a JSON object
with the lower-case keys ``technique``, ``execution``, ``poise`` and ``showmanship``, so
an event database from that application reads the same.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable, Mapping, Sequence

import attrs

PLACEMENTS = ("1", "2", "3", "F")
GRADES = ("GH", "G", "S", "B")
RATINGS = ("5", "4", "3", "2", "1")  # the "&" overall mark, best first like the others
WEIGHTS = (5, 3, 2, 1)  # points for the four positions of PLACEMENTS and GRADES
SOLO_PARTS = ("technique", "execution", "poise", "showmanship")
NUMBER_MAX = 100
SOLO_PART_MAX = 25
DEFAULT_FEEDBACK: tuple[tuple[str, str], ...] = (
    ("F", "Frame"),
    ("P", "Posture"),
    ("FW", "Footwork"),
    ("LF", "Lead/Follow"),
    ("T", "Timing"),
    ("S", "Styling"),
)


class ScoreError(ValueError):
    """A posted score outside its style's set; the message is shown to the judge."""


class Style(enum.Enum):
    """The kind of input a heat takes; the value is the settings code (``solo 1``/``solo 4``)."""

    PLACEMENT = "1"  # 1, 2, 3 or F
    GRADE = "G"  # GH, G, S or B
    NUMBER = "#"  # a whole number 0-100
    FEEDBACK = "+"  # good / needs-work codes only
    RATING_FEEDBACK = "&"  # 1-5 and feedback
    GRADE_FEEDBACK = "@"  # GH, G, S or B and feedback
    NONE = "0"  # nothing to score
    SOLO_NUMBER = "solo 1"  # a whole number 0-100
    SOLO_PARTS = "solo 4"  # four parts 0-25

    @property
    def marks(self) -> tuple[str, ...]:
        """The values a judge picks from, best first; () when the input is not a pick."""
        if self is Style.PLACEMENT:
            return PLACEMENTS
        if self in (Style.GRADE, Style.GRADE_FEEDBACK):
            return GRADES
        if self is Style.RATING_FEEDBACK:
            return RATINGS
        return ()

    @property
    def scale(self) -> str | None:
        """The name of the marks' scale ("placement", "grade", "rating"), shared by G and @."""
        return _SCALES.get(self.marks)

    @property
    def takes_value(self) -> bool:
        return self not in (Style.FEEDBACK, Style.NONE)

    @property
    def takes_feedback(self) -> bool:
        return self in (Style.FEEDBACK, Style.RATING_FEEDBACK, Style.GRADE_FEEDBACK)


_SCALES = {PLACEMENTS: "placement", GRADES: "grade", RATINGS: "rating"}
_OPEN = {
    style.value: style
    for style in (
        Style.PLACEMENT,
        Style.GRADE,
        Style.NUMBER,
        Style.FEEDBACK,
        Style.RATING_FEEDBACK,
        Style.GRADE_FEEDBACK,
        Style.NONE,
    )
}
_CLOSED = {"1": Style.PLACEMENT, "G": Style.GRADE, "#": Style.NUMBER}
_SOLO = {"1": Style.SOLO_NUMBER, "4": Style.SOLO_PARTS}


@attrs.frozen
class ScoringSettings:
    """The event settings that choose a heat's style (``events`` columns of the same names)."""

    open_scoring: str = "1"
    closed_scoring: str = "G"
    multi_scoring: str = "1"
    solo_scoring: str = "1"
    heat_range_cat: int = 0

    @classmethod
    def from_event(cls, row: Mapping[str, object]) -> ScoringSettings:
        """From the ``events`` row; NULL or missing columns take the schema's defaults."""

        def code(name: str, default: str) -> str:
            value = row.get(name)
            return default if value is None or value == "" else str(value).strip()

        raw = row.get("heat_range_cat")
        try:
            cat = int(raw) if isinstance(raw, int | float | str) else 0
        except (ValueError, OverflowError):
            cat = 0
        return cls(
            open_scoring=code("open_scoring", "1"),
            closed_scoring=code("closed_scoring", "G"),
            multi_scoring=code("multi_scoring", "1"),
            solo_scoring=code("solo_scoring", "1"),
            heat_range_cat=cat,
        )


def style_for(settings: ScoringSettings | Mapping[str, object], category: str) -> Style:
    """The style of a heat of ``category`` (Closed, Open, Solo or Multi) under ``settings``.

    Solo heats take solo scoring, Multi heats multi scoring; Open heats, and Closed heats
    when closed scoring is ``=`` or Open and Closed share the floor (``heat_range_cat`` > 0),
    take open scoring; any other heat takes closed scoring.  A settings code outside its
    set raises :class:`ValueError` naming the setting.
    """
    if not isinstance(settings, ScoringSettings):
        settings = ScoringSettings.from_event(settings)
    if category == "Solo":
        return _setting("solo_scoring", settings.solo_scoring, _SOLO)
    if category == "Multi":
        return _setting("multi_scoring", settings.multi_scoring, _CLOSED)
    closed = settings.closed_scoring
    if category == "Open" or closed == "=" or settings.heat_range_cat > 0:
        return _setting("open_scoring", settings.open_scoring, _OPEN)
    return _setting("closed_scoring", closed, _CLOSED)


def _setting(name: str, code: str, allowed: Mapping[str, Style]) -> Style:
    try:
        return allowed[code]
    except KeyError:
        choices = ", ".join(allowed) + (", =" if name == "closed_scoring" else "")
        raise ValueError(f"{name} {code!r} is not one of {choices}") from None


# -- validation -------------------------------------------------------------------------


@attrs.frozen
class Normalized:
    """A score as it is stored: canonical text, or None for an empty column."""

    value: str | None = None
    good: str | None = None
    bad: str | None = None
    comments: str | None = None

    @property
    def empty(self) -> bool:
        """Nothing in it: the row is deleted, unless judges are assigned (the caller's rule)."""
        return (self.value, self.good, self.bad, self.comments) == (None, None, None, None)


def event_feedback(rows: Iterable[tuple[str | None, str | None]]) -> tuple[tuple[str, str], ...]:
    """The event's feedback buttons as (abbr, name): the ``feedbacks`` rows, or the defaults."""
    codes = tuple(
        (abbr.strip(), (name or "").strip()) for abbr, name in rows if abbr and abbr.strip()
    )
    return codes or DEFAULT_FEEDBACK


def validate(
    style: Style,
    score: object,
    good: object,
    bad: object,
    comments: object,
    feedback_codes: Sequence[tuple[str, str]] = DEFAULT_FEEDBACK,
) -> Normalized:
    """Check and normalise one posted score for a heat of ``style``.

    ``score`` is the posted text (a JSON number, and for four-part solos a JSON object,
    are taken too); ``good`` and ``bad`` are space-separated feedback codes (or a list of
    them) from ``feedback_codes``, (abbr, name) pairs, the defaults when empty.  Anything
    outside the style's set raises :class:`ScoreError`; nothing else is raised.
    """
    known = event_feedback(feedback_codes)
    value = _value(style, score)
    good_codes = _codes("good", good, known)
    bad_codes = _codes("bad", bad, known)
    if (good_codes or bad_codes) and not style.takes_feedback:
        raise ScoreError("this heat takes no feedback")
    for code in good_codes:
        if code in bad_codes:
            raise ScoreError(f"{code} cannot be both good and needs work")
    return Normalized(
        value=value,
        good=" ".join(good_codes) or None,
        bad=" ".join(bad_codes) or None,
        comments=_text("comments", comments),
    )


def _value(style: Style, score: object) -> str | None:
    if style is Style.SOLO_PARTS:
        parts = _solo_parts(score)
        return json.dumps(dict(parts), sort_keys=True, separators=(",", ":")) if parts else None
    text = _text("score", score)
    if text is None:
        return None
    if not style.takes_value:
        raise ScoreError(
            "this heat takes feedback only, not a score"
            if style.takes_feedback
            else "this heat takes no score"
        )
    if style.marks:
        mark = text.upper()
        if mark not in style.marks:
            raise ScoreError(f"{_shown(text)} is not {_MARK_NAMES[style.marks]}")
        return mark
    number = whole_number(text, NUMBER_MAX)
    if number is None:
        raise ScoreError(f"{_shown(text)} is not a whole number from 0 to {NUMBER_MAX}")
    return str(number)


_MARK_NAMES = {
    PLACEMENTS: "a placement: use 1, 2, 3 or F",
    GRADES: "a grade: use GH, G, S or B",
    RATINGS: "a score from 1 to 5",
}


def _text(field: str, raw: object) -> str | None:
    """Posted text stripped, None when blank; whole JSON numbers become their digits."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise ScoreError(f"{field} must be text")
    if isinstance(raw, int):
        if abs(raw) >= 10**9:
            raise ScoreError(f"{field} is out of range")
        return str(raw)
    if isinstance(raw, float):
        return _text(field, int(raw)) if raw.is_integer() else repr(raw)
    if not isinstance(raw, str):
        raise ScoreError(f"{field} must be text")
    return raw.strip() or None


def _codes(field: str, raw: object, known: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    if isinstance(raw, list | tuple):
        words = [w for item in raw for w in (_text(field, item) or "").split()]
    else:
        words = (_text(field, raw) or "").split()
    exact = {abbr for abbr, _ in known}
    folded = {abbr.casefold(): abbr for abbr, _ in known}
    codes = set()
    for word in words:
        code = word if word in exact else folded.get(word.casefold())
        if code is None:
            choices = ", ".join(abbr for abbr, _ in known)
            raise ScoreError(f"{_shown(word)} is not a feedback code: use {choices}")
        codes.add(code)
    return tuple(sorted(codes))


def _solo_parts(score: object) -> tuple[tuple[str, int], ...]:
    """The parts given, as (part, points) in SOLO_PARTS order; () when none is."""
    parts = score
    if isinstance(score, str):
        if not score.strip():
            return ()
        try:
            parts = json.loads(score)
        except (ValueError, RecursionError):
            parts = None
    elif score is None:
        return ()
    if not isinstance(parts, dict):
        raise ScoreError(f"a solo score is an object of {', '.join(SOLO_PARTS)}")
    found: dict[str, int] = {}
    seen = set()
    for key, raw in parts.items():
        part = key.strip().lower() if isinstance(key, str) else ""
        if part not in SOLO_PARTS:
            raise ScoreError(f"{_shown(str(key))} is not a solo part: use {', '.join(SOLO_PARTS)}")
        if part in seen:
            raise ScoreError(f"{part} is given twice")
        seen.add(part)
        text = _text(part, raw) if not isinstance(raw, bool) else "x"
        if text is None:
            continue
        points = whole_number(text, SOLO_PART_MAX)
        if points is None:
            raise ScoreError(f"{part} must be a whole number from 0 to {SOLO_PART_MAX}")
        found[part] = points
    return tuple((part, found[part]) for part in SOLO_PARTS if part in found)


def _shown(text: str) -> str:
    return '"' + (text if len(text) <= 24 else text[:24] + "…") + '"'


# -- reading stored values ------------------------------------------------------------------

_DIGITS = re.compile(r"0*[0-9]{1,3}", re.ASCII)


def whole_number(text: str, high: int) -> int | None:
    """``text`` as a whole number from 0 to ``high``, else None."""
    text = text.strip()
    if not _DIGITS.fullmatch(text):
        return None
    number = int(text)
    return number if number <= high else None


def solo_parts(value: str | None) -> tuple[tuple[str, int], ...]:
    """A stored four-part solo score as (part, points) in SOLO_PARTS order; bad parts left out."""
    try:
        parts = json.loads(value) if value else None
    except (ValueError, RecursionError):
        return ()
    if not isinstance(parts, dict):
        return ()
    found = {}
    for key, raw in parts.items():
        part = key.strip().lower() if isinstance(key, str) else ""
        if part in SOLO_PARTS and not isinstance(raw, bool) and isinstance(raw, int | str):
            points = whole_number(str(raw), SOLO_PART_MAX)
            if points is not None:
                found[part] = points
    return tuple((part, found[part]) for part in SOLO_PARTS if part in found)


@attrs.frozen
class Reading:
    """What a stored value is worth: its mark on the style's scale (if any) and points."""

    mark: str | None
    points: int


def read_value(style: Style, value: str | None) -> Reading | None:
    """A stored ``value`` read under ``style``; None when it is empty or off the style's set.

    Points: 5, 3, 2, 1 for the four positions of a placement or grade; the number itself
    for ``#`` and one-number solos; the sum of the parts for four-part solos; 1-5 for ``&``.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if style.marks:
        mark = text.upper()
        if mark not in style.marks:
            return None
        if style is Style.RATING_FEEDBACK:
            return Reading(mark, int(mark))
        return Reading(mark, WEIGHTS[style.marks.index(mark)])
    if style in (Style.NUMBER, Style.SOLO_NUMBER):
        number = whole_number(text, NUMBER_MAX)
        return None if number is None else Reading(None, number)
    if style is Style.SOLO_PARTS:
        parts = solo_parts(text)
        return Reading(None, sum(points for _, points in parts)) if parts else None
    return None
