"""A new event's defaults (spec/event-data.md): settings, levels, ages, dances, agenda.

The levels, ages, 30 dances and the heat ranges (Open and Closed apart, levels within 3,
any ages together) are those of the showcase application's seed
(``db/seeds/generic.yaml``).  The agenda is ours: a Closed and an Open category for
each of four styles, then Solos and Multi-Dance, so every dance has somewhere to go.
Studio 0 "Event Staff" and person 0 "Nobody" are inserted with their explicit ids.
"""

from __future__ import annotations

import sqlite3

from showcase.event.db import insert_row

LEVELS = (
    "Newcomer",
    "Assoc. Bronze",
    "Full Bronze",
    "Assoc. Silver",
    "Full Silver",
    "Assoc. Gold",
    "Full Gold",
)

AGES = (
    ("J", "< 17"),
    ("A", "18-35"),
    ("A1", "36-45"),
    ("B", "46-54"),
    ("B1", "55-65"),
    ("C", "66-75"),
    ("C1", "76-85"),
    ("D", "86+"),
)

SMOOTH = "American Smooth"
RHYTHM = "American Rhythm"
NIGHTCLUB = "Nightclub"
COUNTRY = "Country Western"
STYLES = (SMOOTH, RHYTHM, NIGHTCLUB, COUNTRY)

# The 30 dances in the seed's order, each with the style whose agenda categories it joins.
DANCES = (
    ("Waltz", SMOOTH),
    ("Fox Trot", SMOOTH),
    ("Tango", SMOOTH),
    ("V. Waltz", SMOOTH),
    ("Quickstep", SMOOTH),
    ("Peabody", SMOOTH),
    ("Arg. Tango", NIGHTCLUB),
    ("Salsa", NIGHTCLUB),
    ("Rumba", RHYTHM),
    ("Cha Cha", RHYTHM),
    ("Merengue", RHYTHM),
    ("Samba", RHYTHM),
    ("Bolero", RHYTHM),
    ("Paso Doble", RHYTHM),
    ("Mambo", RHYTHM),
    ("WCS", NIGHTCLUB),
    ("Bachata", NIGHTCLUB),
    ("ECS", RHYTHM),
    ("Hustle", NIGHTCLUB),
    ("CW Swing", COUNTRY),
    ("Lindy Hop", NIGHTCLUB),
    ("CW Waltz", COUNTRY),
    ("CW Cha Cha", COUNTRY),
    ("NC2", NIGHTCLUB),
    ("CW Two Step", COUNTRY),
    ("CW Three Step", COUNTRY),
    ("CW Shuffle", COUNTRY),
    ("Swing", RHYTHM),
    ("4 Count", NIGHTCLUB),
    ("Polka", COUNTRY),
)

SOLOS = "Solos"
MULTI = "Multi-Dance"

FEEDBACKS = (
    ("F", "Frame"),
    ("P", "Posture"),
    ("FW", "Footwork"),
    ("LF", "Lead/Follow"),
    ("T", "Timing"),
    ("S", "Styling"),
)

# Event settings beyond the schema's column defaults.
HEAT_LENGTH = 90  # seconds from one heat's start to the next
SOLO_LENGTH = 180
MAX_HEAT_SIZE = 8
HEAT_RANGE_CAT = 0  # Open and Closed never share a floor
HEAT_RANGE_LEVEL = 3  # levels on one floor at most 3 apart
HEAT_RANGE_AGE = 7  # any two of the 8 age groups may share a floor


def agenda_names() -> list[str]:
    """The default agenda in order: Closed and Open per style, then Solos and Multi-Dance."""
    names = []
    for style in STYLES:
        names.append(f"Closed {style}")
        names.append(f"Open {style}")
    return [*names, SOLOS, MULTI]


def populate_new_event(
    conn: sqlite3.Connection, name: str, date: str | None = None, location: str | None = None
) -> None:
    """Fill an empty event database with a new event's defaults (in the caller's transaction)."""
    insert_row(
        conn,
        "events",
        name=name,
        date=date,
        location=location,
        heat_length=HEAT_LENGTH,
        solo_length=SOLO_LENGTH,
        max_heat_size=MAX_HEAT_SIZE,
        heat_range_cat=HEAT_RANGE_CAT,
        heat_range_level=HEAT_RANGE_LEVEL,
        heat_range_age=HEAT_RANGE_AGE,
    )
    insert_row(conn, "studios", id=0, name="Event Staff")
    insert_row(
        conn, "people", id=0, name="Nobody", type="Placeholder", role="Both", back=0, studio_id=0
    )
    for level in LEVELS:
        insert_row(conn, "levels", name=level)
    for category, description in AGES:
        insert_row(conn, "ages", category=category, description=description)
    for order, (abbr, value) in enumerate(FEEDBACKS, start=1):
        insert_row(conn, "feedbacks", order=order, abbr=abbr, value=value)

    categories = {
        category: insert_row(conn, "categories", name=category, order=order)
        for order, category in enumerate(agenda_names(), start=1)
    }
    for order, (dance, style) in enumerate(DANCES, start=1):
        insert_row(
            conn,
            "dances",
            name=dance,
            order=order,
            closed_category_id=categories[f"Closed {style}"],
            open_category_id=categories[f"Open {style}"],
            solo_category_id=categories[SOLOS],
            multi_category_id=categories[MULTI],
        )
