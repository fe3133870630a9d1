"""A small event for the judging tests, built with plain SQL inserts (not the demo).

Heats on the schedule: 1 Closed Waltz (two couples), 2 Open Rumba (two couples), 3 Solo
Tango, 4 Multi All Around, 4.5 Closed Cha Cha (a manual insertion); one heat is
unscheduled (number 0) and one scratched (-6).  Closed scoring is G, open 1, multi #,
solo one number.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from showcase.event.db import insert_row

JUDY = 10  # judge "Judy Sheindlin"
SAM = 11  # judge "Sam Smith"
EMCEE = 12
ARTHUR = 20  # professional, back 101
BEA = 21  # professional, back 102
KATHRYN = 30  # student, Alpha Studio
JACK = 31  # student, back 201, Beta Studio
LUCY = 32  # student, Beta Studio

# heats.id of each couple's heat row
H1_ARTHUR, H1_JACK = 1, 2  # heat 1, Closed Waltz
H2_ARTHUR, H2_JACK = 3, 4  # heat 2, Open Rumba
H3_SOLO = 5  # heat 3, Solo Tango (Jack & Bea)
H4_MULTI = 6  # heat 4, Multi All Around (Jack & Lucy)
H45 = 7  # heat 4.5, Closed Cha Cha (Arthur & Kathryn)
H_UNSCHEDULED = 8  # number 0
H_SCRATCHED = 9  # number -6


def populate(conn: sqlite3.Connection, **settings: Any) -> None:
    """Fill an empty event database; ``settings`` override columns of the events row."""

    def add(table: str, **values: Any) -> int:
        return insert_row(conn, table, **values)

    event = {
        "name": "Judging Test",
        "date": "2026-05-01",
        "open_scoring": "1",
        "closed_scoring": "G",
        "multi_scoring": "#",
        "solo_scoring": "1",
        "judge_comments": 0,
        "assign_judges": 0,
        "heat_range_cat": 0,
        "ballrooms": 1,
    }
    event.update(settings)
    add("events", id=1, **event)
    add("studios", id=0, name="Event Staff")
    add("studios", id=1, name="Alpha Studio")
    add("studios", id=2, name="Beta Studio")
    add("levels", id=1, name="Full Silver")
    add("ages", id=1, category="C", description="66-75")
    add("people", id=0, name="Nobody", type="Placeholder", studio_id=0)
    for pid, name, kind in (
        (JUDY, "Sheindlin, Judy", "Judge"),
        (SAM, "Smith, Sam", "Judge"),
        (EMCEE, "Doe, Emily", "Emcee"),
    ):
        add("people", id=pid, name=name, type=kind, studio_id=0)
    add("judges", person_id=JUDY)
    add("judges", person_id=SAM)
    people = (
        (ARTHUR, "Murray, Arthur", "Professional", "Leader", 101, 1),
        (BEA, "Baker, Bea", "Professional", "Follower", 102, 2),
        (KATHRYN, "Murray, Kathryn", "Student", "Follower", None, 1),
        (JACK, "Jones, Jack", "Student", "Leader", 201, 2),
        (LUCY, "Lee, Lucy", "Student", "Follower", None, 2),
    )
    for pid, name, kind, role, back, studio in people:
        add(
            "people",
            id=pid,
            name=name,
            type=kind,
            role=role,
            back=back,
            studio_id=studio,
            level_id=1,
            age_id=1,
        )
    for cid, name, order in (
        (1, "Closed Smooth", 1),
        (2, "Open Rhythm", 2),
        (3, "Solos", 3),
        (4, "Multi-Dance", 4),
    ):
        add("categories", id=cid, name=name, order=order)
    for did, name in ((1, "Waltz"), (2, "Rumba"), (3, "Tango"), (4, "Cha Cha"), (5, "All Around")):
        add(
            "dances",
            id=did,
            name=name,
            order=did,
            closed_category_id=1,
            open_category_id=2,
            solo_category_id=3,
            multi_category_id=4,
        )
    add("entries", id=1, lead_id=ARTHUR, follow_id=KATHRYN, level_id=1, age_id=1)
    add("entries", id=2, lead_id=JACK, follow_id=BEA, level_id=1, age_id=1)
    add("entries", id=3, lead_id=JACK, follow_id=LUCY, level_id=1, age_id=1)
    heats = (
        (H1_ARTHUR, 1, "Closed", 1, 1),
        (H1_JACK, 1, "Closed", 1, 2),
        (H2_ARTHUR, 2, "Open", 2, 1),
        (H2_JACK, 2, "Open", 2, 3),
        (H3_SOLO, 3, "Solo", 3, 2),
        (H4_MULTI, 4, "Multi", 5, 3),
        (H45, 4.5, "Closed", 4, 1),
        (H_UNSCHEDULED, 0, "Closed", 4, 2),
        (H_SCRATCHED, -6, "Closed", 3, 1),
    )
    for hid, number, kind, dance, entry in heats:
        add("heats", id=hid, number=number, category=kind, dance_id=dance, entry_id=entry)
    add("solos", heat_id=H3_SOLO, order=1, song="Moon River", artist="Andy Williams")
