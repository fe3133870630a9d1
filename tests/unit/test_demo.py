"""The demo event database, and `showcase demo`."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from showcase.cli import main
from showcase.event.db import EventDB, create
from showcase.event.demo import populate_demo
from showcase.event.heatdata import scheduler_data
from showcase.event.scheduler.times import start_times

PLACES = {"1", "2", "3", "F"}
GRADES = {"GH", "G", "S", "B"}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EventDB]:
    path = str(tmp_path_factory.mktemp("demo") / "demo.sqlite3")
    assert create(path, populate_demo)
    db = EventDB(path)
    yield db
    db.close()


def dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows in id order, without the timestamp columns."""
    conn = sqlite3.connect(path)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    out = {}
    for table in tables:
        columns = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
        keep = ", ".join(f'"{c}"' for c in columns if c not in ("created_at", "updated_at"))
        out[table] = conn.execute(f'SELECT {keep} FROM "{table}" ORDER BY rowid').fetchall()
    conn.close()
    return out


def on_floor(db: EventDB) -> dict[float, list[int]]:
    """Heat number -> every person dancing in it (leads, follows, instructors, formations)."""
    people: dict[float, list[int]] = defaultdict(list)
    for row in db.query(
        "SELECT h.id, h.number, e.lead_id, e.follow_id, e.instructor_id FROM heats h"
        " JOIN entries e ON e.id = h.entry_id WHERE h.number > 0"
    ):
        people[row["number"]] += [row["lead_id"], row["follow_id"]]
        if row["instructor_id"] is not None:
            people[row["number"]].append(row["instructor_id"])
        for member in db.query(
            "SELECT f.person_id FROM formations f JOIN solos s ON s.id = f.solo_id"
            " WHERE s.heat_id = ? AND f.on_floor",
            [row["id"]],
        ):
            people[row["number"]].append(member[0])
    return {n: [p for p in ps if p != 0] for n, ps in people.items()}


def style_of(event: sqlite3.Row, kind: str) -> str:
    """The scoring style for a heat of this kind (spec/scoring.md, "Which applies")."""
    if kind == "Solo":
        return str(event["solo_scoring"])
    if kind == "Multi":
        return str(event["multi_scoring"])
    if kind == "Open" or event["closed_scoring"] == "=" or (event["heat_range_cat"] or 0) > 0:
        return str(event["open_scoring"])
    return str(event["closed_scoring"])


def valid(style: str, value: str) -> bool:
    """Whether ``value`` is a mark the style allows."""
    if style == "1":
        return value in PLACES
    if style == "G":
        return value in GRADES
    if style == "#":
        return value.isdigit() and 0 <= int(value) <= 100
    if style == "4":
        parts = json.loads(value)
        return all(0 <= int(v) <= 25 for v in parts.values())
    return False


def solo_valid(style: str, value: str) -> bool:
    """Solo style ``1`` is one number 0-100; ``4`` four parts of 0-25."""
    if style == "1":
        return value.isdigit() and 0 <= int(value) <= 100
    return valid(style, value)


def test_event_settings(db: EventDB) -> None:
    """The demo event is "Demo Showcase" on a fixed date, one events row, mid-event."""
    rows = db.query("SELECT name, date, current_heat FROM events")
    assert len(rows) == 1
    assert (rows[0]["name"], rows[0]["date"]) == ("Demo Showcase", "2026-05-16")
    last = db.value("SELECT MAX(number) FROM heats")
    assert 1 < rows[0]["current_heat"] < last


def test_studios(db: EventDB) -> None:
    """There are four studios besides Event Staff (id 0)."""
    rows = db.query("SELECT id, name FROM studios ORDER BY id")
    assert tuple(rows[0]) == (0, "Event Staff")
    assert len(rows) == 5


def test_people(db: EventDB) -> None:
    """55-65 people (Nobody aside), names "Last, First" and unique, backs unique."""
    people = db.query("SELECT * FROM people WHERE id > 0")
    assert 55 <= len(people) <= 65
    assert all(", " in p["name"] for p in people)
    assert len({p["name"] for p in people}) == len(people)
    backs = [p["back"] for p in people if p["back"] is not None]
    assert len(backs) == len(set(backs)) and 0 not in backs
    types = {p["type"] for p in people}
    assert {"Student", "Professional", "Judge", "Emcee"} <= types
    students = [p for p in people if p["type"] == "Student"]
    assert all(p["level_id"] and p["age_id"] and p["back"] for p in students)
    assert all(p["back"] for p in people if p["role"] == "Leader")


def test_judges(db: EventDB) -> None:
    """Three judges, each a Judge person of Event Staff with a judges row."""
    rows = db.query("SELECT p.type, p.studio_id FROM judges j JOIN people p ON p.id = j.person_id")
    assert [tuple(r) for r in rows] == [("Judge", 0)] * 3


def test_scheduled_heats(db: EventDB) -> None:
    """280-320 heat numbers (800-1000 heat rows), none left unscheduled or scratched."""
    assert 280 <= db.value("SELECT COUNT(DISTINCT number) FROM heats WHERE number > 0") <= 320
    assert 800 <= db.value("SELECT COUNT(*) FROM heats WHERE number > 0") <= 1000
    assert db.value("SELECT COUNT(*) FROM heats WHERE number <= 0") == 0


def test_a_day_of_heats(db: EventDB) -> None:
    """From 9:00 to before 18:00, heats 90 s apart (solos 180 s) and a 45-minute lunch;
    the heat on the floor is the one at about 3 p.m."""
    starts = start_times(scheduler_data(db))
    numbers = sorted(starts)
    assert len(numbers) == db.value("SELECT COUNT(DISTINCT number) FROM heats")
    times = [starts[n] for n in numbers]
    assert all(isinstance(at, datetime) for at in times)
    day = [at for at in times if isinstance(at, datetime)]
    assert (day[0].date().isoformat(), day[0].time()) == ("2026-05-16", time(9, 0))
    assert time(16, 30) <= day[-1].time() < time(18, 0)
    gaps = [later - earlier for earlier, later in pairwise(day)]
    breaks = [gap for gap in gaps if gap > timedelta(minutes=4)]
    assert len(breaks) == 1 and timedelta(minutes=45) < breaks[0] < timedelta(minutes=48)
    assert min(gaps) == timedelta(seconds=90)
    current = starts[float(db.value("SELECT current_heat FROM events"))]
    assert isinstance(current, datetime) and time(14, 30) <= current.time() <= time(15, 30)


def test_heat_numbers_run_1_to_n(db: EventDB) -> None:
    """Heat numbers are whole and run 1..N without gaps; floors hold at most six couples."""
    numbers = [r[0] for r in db.query("SELECT DISTINCT number FROM heats ORDER BY number")]
    assert numbers == list(range(1, len(numbers) + 1))
    assert db.value("SELECT MAX(c) FROM (SELECT COUNT(*) c FROM heats GROUP BY number)") <= 6


def test_levels_on_a_floor_in_range(db: EventDB) -> None:
    """The levels on one floor are at most ``heat_range_level`` apart."""
    spread = db.value(
        "SELECT MAX(hi - lo) FROM (SELECT MAX(e.level_id) hi, MIN(e.level_id) lo"
        " FROM heats h JOIN entries e ON e.id = h.entry_id GROUP BY h.number)"
    )
    assert 0 < spread <= db.value("SELECT heat_range_level FROM events")


def test_nobody_twice_in_a_heat(db: EventDB) -> None:
    """No person dances twice in one heat number (formation members included)."""
    for number, people in on_floor(db).items():
        assert len(people) == len(set(people)), number


def test_excluded_partners_apart(db: EventDB) -> None:
    """People with exclude_id are never on the floor with that person."""
    excludes = db.query("SELECT id, exclude_id FROM people WHERE exclude_id IS NOT NULL")
    assert excludes
    for people in on_floor(db).values():
        for row in excludes:
            assert not (row["id"] in people and row["exclude_id"] in people)


def test_entries_have_one_professional(db: EventDB) -> None:
    """Every entry has exactly one professional among lead, follow and instructor."""
    for entry in db.query("SELECT * FROM entries"):
        ids = [entry["lead_id"], entry["follow_id"], entry["instructor_id"]]
        types = [db.value("SELECT type FROM people WHERE id = ?", [i]) for i in ids if i]
        assert types.count("Professional") == 1, entry["id"]


def test_heats_in_their_dance_category(db: EventDB) -> None:
    """Each heat's dance sends its kind to a category that has a day and start time."""
    rows = db.query(
        "SELECT h.category, d.closed_category_id, d.open_category_id, d.solo_category_id"
        " FROM heats h JOIN dances d ON d.id = h.dance_id"
    )
    column = {"Closed": 1, "Open": 2, "Solo": 3}
    timed = {r[0] for r in db.query("SELECT id FROM categories WHERE day > '' AND time > ''")}
    assert {r["category"] for r in rows} == {"Closed", "Open", "Solo"}
    assert all(r[column[r["category"]]] in timed for r in rows)


def test_solos_and_formation(db: EventDB) -> None:
    """Solo heats have solos rows with order, song and artist; one is a formation."""
    solos = db.query("SELECT s.* FROM solos s JOIN heats h ON h.id = s.heat_id")
    assert len(solos) == db.value("SELECT COUNT(*) FROM heats WHERE category = 'Solo'") >= 3
    assert all(s["song"] and s["artist"] and s["order"] for s in solos)
    assert db.value("SELECT COUNT(DISTINCT solo_id) FROM formations") == 1


def test_scores_valid_for_their_style(db: EventDB) -> None:
    """Scores exist, by Judge people, and each value is valid for its heat's scoring style."""
    event = db.one("SELECT * FROM events")
    assert event is not None
    scores = db.query(
        "SELECT s.value, s.judge_id, h.category, h.number FROM scores s"
        " JOIN heats h ON h.id = s.heat_id"
    )
    assert len(scores) > 100
    judges = {r[0] for r in db.query("SELECT person_id FROM judges")}
    kinds = set()
    for score in scores:
        style = style_of(event, score["category"])
        check = solo_valid if score["category"] == "Solo" else valid
        assert check(style, score["value"]), tuple(score)
        assert score["judge_id"] in judges
        assert 0 < score["number"] < event["current_heat"]
        kinds.add(score["category"])
    assert kinds == {"Closed", "Open", "Solo"}


def test_heats_before_current_all_marked(db: EventDB) -> None:
    """Each judge marked every couple of every heat before the current one, but the last
    judge missed a few heat numbers."""
    current = db.value("SELECT current_heat FROM events")
    judges = [r[0] for r in db.query("SELECT person_id FROM judges ORDER BY id")]
    couples = Counter(
        r[0] for r in db.query("SELECT number FROM heats WHERE number < ?", [current])
    )
    marked: dict[int, Counter[float]] = {judge: Counter() for judge in judges}
    for row in db.query(
        "SELECT s.judge_id, h.number FROM scores s JOIN heats h ON h.id = s.heat_id"
    ):
        marked[row[0]][row[1]] += 1
    assert all(marked[judge] == couples for judge in judges[:-1])
    last = marked[judges[-1]]
    assert all(last[number] == couples[number] for number in last)
    assert 0 < len(couples) - len(last) <= len(couples) // 10


def test_open_places_distinct(db: EventDB) -> None:
    """In an Open heat a judge gives 1, 2 and 3 at most once each."""
    rows = db.query(
        "SELECT s.judge_id, h.number, s.value FROM scores s JOIN heats h ON h.id = s.heat_id"
        " WHERE h.category = 'Open' AND s.value != 'F'"
    )
    seen = [(r["judge_id"], r["number"], r["value"]) for r in rows]
    assert len(seen) == len(set(seen))


def test_deterministic(tmp_path: Path) -> None:
    """Two builds of the demo hold identical rows, timestamps aside."""
    first, second = tmp_path / "a.sqlite3", tmp_path / "b.sqlite3"
    assert create(str(first), populate_demo) and create(str(second), populate_demo)
    assert dump(first) == dump(second)


def test_opens_with_integrity(db: EventDB) -> None:
    """The demo database opens with EventDB and passes PRAGMA integrity_check."""
    assert db.value("PRAGMA integrity_check") == "ok"


def test_cli_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`showcase demo --db-dir D` creates D/demo.sqlite3; run again it says so and exits 0."""
    assert main(["demo", "--db-dir", str(tmp_path)]) == 0
    path = tmp_path / "demo.sqlite3"
    assert path.exists() and "created" in capsys.readouterr().out
    before = path.read_bytes()
    assert main(["demo", "--db-dir", str(tmp_path)]) == 0
    assert "already exists" in capsys.readouterr().out
    assert path.read_bytes() == before
