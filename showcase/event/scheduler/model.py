"""What the scheduler takes and gives: frozen attrs classes, built by the caller from rows.

Each input field names the column it comes from (``table.column``).  A NULL column is
``None`` unless the field says otherwise.  Collections are tuples; their order does not
matter (the scheduler sorts everything by id, so the result never depends on row order).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs

CLOSED = "Closed"
OPEN = "Open"
SOLO = "Solo"
MULTI = "Multi"
KINDS = (CLOSED, OPEN, SOLO, MULTI)
"""The values of ``heats.category``; anything else is treated as Closed."""

NOBODY = 0
"""``people.id`` of the placeholder partner: never a conflict, never counted."""


class SchedulerError(ValueError):
    """A scheduling action that cannot be done on this data."""


class Locked(SchedulerError):
    """The agenda is locked (``events.locked``): it is never renumbered or regenerated."""


class NotScheduled(SchedulerError):
    """A heat with number 0 cannot be scratched (negating 0 changes nothing): delete it."""


class BadData(SchedulerError):
    """A row names a row that is not in the data (a heat's entry or dance)."""


@attrs.frozen
class Settings:
    """The scheduling knobs of the one ``events`` row."""

    #: ``events.max_heat_size``: couples per heat; ``None`` = no limit.
    max_heat_size: int | None = None
    #: ``events.heat_range_level``: most level-index distance on one floor; ``None`` = any.
    heat_range_level: int | None = None
    #: ``events.heat_range_age``: most age-index distance on one floor; ``None`` = any.
    heat_range_age: int | None = None
    #: ``events.heat_range_cat``: 1 = Open and Closed may share a floor; 0/``None`` = never.
    heat_range_cat: int | None = None
    #: ``events.intermix``: interleave the dances of a category.
    intermix: bool = True
    #: ``events.heat_length``: seconds between heat starts; ``None`` = no times at all.
    heat_length: int | None = None
    #: ``events.solo_length``: seconds for a solo heat; ``None`` = ``heat_length``.
    solo_length: int | None = None
    #: ``events.ballrooms``: 1 = one floor; 2 or more = split A/B (see ``Index.ballroom``).
    ballrooms: int | None = 1
    #: ``events.pro_heats``: pro-pro entries allowed.  Informational: pro entries (whose
    #: student side is not a Student) always get floors of their own and the ``pro_*``
    #: categories of their dance, whatever this says.
    pro_heats: bool = False
    #: ``events.locked``: the agenda went to print; redo and renumber raise :class:`Locked`.
    locked: bool = False
    #: ``events.date``: ``YYYY-MM-DD`` or ``YYYY-MM-DD - YYYY-MM-DD`` (first day used).
    date: str | None = None
    #: ``events.heat_order``: only ``L`` (newcomer → advanced) is implemented; every other
    #: code (``R`` random, ``A`` availability, ``B`` block, ``D`` packing) falls back to ``L``.
    heat_order: str = "L"


@attrs.frozen
class Person:
    """One ``people`` row (only what scheduling needs)."""

    id: int  #: ``people.id``
    type: str | None = "Student"  #: ``people.type``: Student, Professional, ...
    studio_id: int | None = None  #: ``people.studio_id`` (not used for scheduling yet)
    level_id: int | None = None  #: ``people.level_id`` (ranges use the entry's level)
    age_id: int | None = None  #: ``people.age_id`` (ranges use the entry's age)
    exclude_id: int | None = None  #: ``people.exclude_id``: never on the floor together
    available: str | None = None  #: ``people.available``: ``<HH:MM`` or ``>HH:MM``
    name: str | None = None  #: ``people.name`` ("Last, First"), only for messages


@attrs.frozen
class Entry:
    """One ``entries`` row: a couple at a level and age."""

    id: int  #: ``entries.id``
    lead_id: int  #: ``entries.lead_id``
    follow_id: int  #: ``entries.follow_id``
    level_id: int  #: ``entries.level_id``
    age_id: int  #: ``entries.age_id``
    instructor_id: int | None = None  #: ``entries.instructor_id`` (on the floor too)
    studio_id: int | None = None  #: ``entries.studio_id``


@attrs.frozen
class Dance:
    """One ``dances`` row: its order and the agenda category of each kind of heat."""

    id: int  #: ``dances.id``
    name: str = ""  #: ``dances.name`` (split copies share the name)
    order: int | None = None  #: ``dances.order`` (negative for split copies)
    closed_category_id: int | None = None  #: ``dances.closed_category_id``
    open_category_id: int | None = None  #: ``dances.open_category_id``
    solo_category_id: int | None = None  #: ``dances.solo_category_id``
    multi_category_id: int | None = None  #: ``dances.multi_category_id``
    pro_closed_category_id: int | None = None  #: ``dances.pro_closed_category_id``
    pro_open_category_id: int | None = None  #: ``dances.pro_open_category_id``
    pro_solo_category_id: int | None = None  #: ``dances.pro_solo_category_id``
    pro_multi_category_id: int | None = None  #: ``dances.pro_multi_category_id``
    #: ``dances.heat_length``: number of dances of a multi-dance (its heat lasts that many
    #: ``heat_length``); ``None`` for a single dance.
    heat_length: int | None = None


@attrs.frozen
class Category:
    """One ``categories`` row: an agenda item."""

    id: int  #: ``categories.id``
    name: str = ""  #: ``categories.name``
    order: int | None = None  #: ``categories.order``: agenda order
    day: str | None = None  #: ``categories.day``: ``YYYY-MM-DD``, a weekday or a label
    time: str | None = None  #: ``categories.time``: ``HH:MM`` (or ``h:MM AM``); blank = follows
    duration: int | None = None  #: ``categories.duration``: minimum minutes
    max_heat_size: int | None = None  #: ``categories.max_heat_size`` (overrides the event's)
    ballrooms: int | None = None  #: ``categories.ballrooms`` (overrides the event's)
    locked: bool = False  #: ``categories.locked``: redo keeps its heats as they are


@attrs.frozen
class Heat:
    """One ``heats`` row: one entry dancing one dance."""

    id: int  #: ``heats.id``
    entry_id: int  #: ``heats.entry_id``
    dance_id: int  #: ``heats.dance_id``
    category: str = CLOSED  #: ``heats.category``: Closed, Open, Solo or Multi
    number: float = 0.0  #: ``heats.number`` (NULL → 0): 0 unscheduled, < 0 scratched
    prev_number: float | None = None  #: ``heats.prev_number``
    ballroom: str | None = None  #: ``heats.ballroom``


@attrs.frozen
class Solo:
    """One ``solos`` row."""

    heat_id: int  #: ``solos.heat_id``
    order: int | None = None  #: ``solos.order``: the manual running order
    category_override_id: int | None = None  #: ``solos.category_override_id``


@attrs.frozen
class Formation:
    """One ``formations`` row joined to its solo: ``solos.heat_id`` and ``formations.person_id``."""

    heat_id: int  #: ``solos.heat_id`` of ``formations.solo_id``
    person_id: int  #: ``formations.person_id``
    on_floor: bool = True  #: ``formations.on_floor``; credit-only members never conflict


@attrs.frozen
class EventData:
    """Everything the scheduler reads, for one event."""

    settings: Settings
    people: tuple[Person, ...] = ()
    entries: tuple[Entry, ...] = ()
    dances: tuple[Dance, ...] = ()
    categories: tuple[Category, ...] = ()
    heats: tuple[Heat, ...] = ()
    solos: tuple[Solo, ...] = ()
    formations: tuple[Formation, ...] = ()
    #: ``levels.id`` of every level; the index in id order is the level used for ranges.
    #: Empty: the ids themselves are compared.
    levels: tuple[int, ...] = ()
    #: ``ages.id`` of every age group, as for ``levels``.
    ages: tuple[int, ...] = ()
    #: ``scores.heat_id`` values (positive ones): heats already scored, which
    #: :func:`schedule_unscheduled` never joins.
    scored_heat_ids: frozenset[int] = frozenset()


@attrs.frozen
class Placement:
    """Where one heat row goes: its ``heats.number`` and ``heats.ballroom``."""

    number: float
    ballroom: str | None = None


@attrs.frozen
class Conflict:
    """One problem on one heat number, for the heats page."""

    number: float  #: the heat number
    #: ``twice``, ``exclude``, ``available``, ``size``, ``level``, ``age`` or ``kinds``
    kind: str
    person_ids: tuple[int, ...]  #: the people concerned (sorted)
    heat_ids: tuple[int, ...]  #: the heat rows concerned (sorted)
    message: str  #: for people: "Heat 12: Jane Doe dances twice"


@attrs.frozen
class Schedule:
    """The outcome of an action: a placement for every heat row of the input, by heat id."""

    placements: Mapping[int, Placement]
    #: what is still wrong with the new numbering (see :func:`conflicts`)
    conflicts: tuple[Conflict, ...] = ()

    def changes(self, heats: Iterable[Heat]) -> dict[int, Placement]:
        """The placements that differ from these rows: what the caller must write."""
        changed = {}
        for heat in heats:
            placement = self.placements.get(heat.id)
            if placement is not None and placement != Placement(heat.number, heat.ballroom):
                changed[heat.id] = placement
        return changed
