"""A new event's defaults, and `showcase event new`."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from showcase.cli import main
from showcase.event.db import EventDB, create
from showcase.event.defaults import populate_new_event

DANCES = [
    "Waltz", "Fox Trot", "Tango", "V. Waltz", "Quickstep", "Peabody", "Arg. Tango", "Salsa",
    "Rumba", "Cha Cha", "Merengue", "Samba", "Bolero", "Paso Doble", "Mambo", "WCS", "Bachata",
    "ECS", "Hustle", "CW Swing", "Lindy Hop", "CW Waltz", "CW Cha Cha", "NC2", "CW Two Step",
    "CW Three Step", "CW Shuffle", "Swing", "4 Count", "Polka",
]  # fmt: skip


@pytest.fixture
def db(tmp_path: Path) -> Iterator[EventDB]:
    path = str(tmp_path / "2026-boston.sqlite3")
    assert create(path, lambda conn: populate_new_event(conn, "Boston Showcase", "2026-05-16"))
    db = EventDB(path)
    yield db
    db.close()


def test_one_event_row(db: EventDB) -> None:
    """A new database has exactly one events row, with the given name and date."""
    rows = db.query("SELECT name, date, location FROM events")
    assert [tuple(r) for r in rows] == [("Boston Showcase", "2026-05-16", None)]


def test_event_settings(db: EventDB) -> None:
    """The event row has the schema's defaults plus heat lengths, size and ranges."""
    row = db.one("SELECT * FROM events")
    assert row is not None
    assert (row["heat_length"], row["solo_length"], row["max_heat_size"]) == (90, 180, 8)
    assert (row["heat_range_cat"], row["heat_range_level"], row["heat_range_age"]) == (0, 3, 7)
    assert (row["open_scoring"], row["closed_scoring"], row["solo_scoring"]) == ("1", "G", "1")
    assert row["created_at"] and row["updated_at"]


def test_levels_in_order(db: EventDB) -> None:
    """The seven levels are ordered by id, Newcomer to Full Gold."""
    names = [r[0] for r in db.query("SELECT name FROM levels ORDER BY id")]
    assert names == [
        "Newcomer",
        "Assoc. Bronze",
        "Full Bronze",
        "Assoc. Silver",
        "Full Silver",
        "Assoc. Gold",
        "Full Gold",
    ]


def test_ages_in_order(db: EventDB) -> None:
    """The eight age groups are ordered by id, J "< 17" to D "86+"."""
    ages = [tuple(r) for r in db.query("SELECT category, description FROM ages ORDER BY id")]
    assert ages == [
        ("J", "< 17"),
        ("A", "18-35"),
        ("A1", "36-45"),
        ("B", "46-54"),
        ("B1", "55-65"),
        ("C", "66-75"),
        ("C1", "76-85"),
        ("D", "86+"),
    ]


def test_dances_in_order(db: EventDB) -> None:
    """The 30 dances are in the seed's order, `order` 1..30 (ids too)."""
    rows = db.query('SELECT id, name, "order" FROM dances ORDER BY "order"')
    assert [r["name"] for r in rows] == DANCES
    assert [r["order"] for r in rows] == list(range(1, 31))
    assert [r["id"] for r in rows] == list(range(1, 31))


def test_every_dance_has_a_category(db: EventDB) -> None:
    """Each dance names an existing agenda category for Closed, Open, Solo and Multi heats."""
    categories = {r["id"]: r["name"] for r in db.query("SELECT id, name FROM categories")}
    for dance in db.query("SELECT * FROM dances"):
        closed = categories[dance["closed_category_id"]]
        opened = categories[dance["open_category_id"]]
        assert closed.startswith("Closed ") and opened.startswith("Open ")
        assert closed.removeprefix("Closed ") == opened.removeprefix("Open ")
        assert categories[dance["solo_category_id"]] == "Solos"
        assert categories[dance["multi_category_id"]] == "Multi-Dance"


def test_agenda_order(db: EventDB) -> None:
    """Categories have distinct orders 1..N, Closed before Open of each style, Solos near last."""
    names = [r[0] for r in db.query('SELECT name FROM categories ORDER BY "order"')]
    orders = [r[0] for r in db.query('SELECT "order" FROM categories ORDER BY "order"')]
    assert orders == list(range(1, len(names) + 1))
    assert names[:2] == ["Closed American Smooth", "Open American Smooth"]
    assert names[-2:] == ["Solos", "Multi-Dance"]


def test_event_staff_and_nobody(db: EventDB) -> None:
    """Studio 0 is Event Staff; person 0 is Nobody (placeholder, back 0, studio 0)."""
    assert [tuple(r) for r in db.query("SELECT id, name FROM studios")] == [(0, "Event Staff")]
    nobody = db.one("SELECT id, name, back, studio_id FROM people")
    assert nobody is not None and tuple(nobody) == (0, "Nobody", 0, 0)
    assert db.value("SELECT COUNT(*) FROM people") == 1


def test_feedbacks(db: EventDB) -> None:
    """The default feedback buttons are F, P, FW, LF, T, S in that order."""
    rows = db.query('SELECT abbr, value FROM feedbacks ORDER BY "order"')
    assert [tuple(r) for r in rows] == [
        ("F", "Frame"),
        ("P", "Posture"),
        ("FW", "Footwork"),
        ("LF", "Lead/Follow"),
        ("T", "Timing"),
        ("S", "Styling"),
    ]


def test_opens_with_integrity(db: EventDB) -> None:
    """The created database opens with EventDB (WAL) and passes PRAGMA integrity_check."""
    assert db.value("PRAGMA integrity_check") == "ok"
    assert db.value("PRAGMA journal_mode") == "wal"
    assert db.value("SELECT COUNT(*) FROM entries") == 0
    assert db.value("SELECT COUNT(*) FROM heats") == 0


def test_cli_event_new(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`showcase event new 2026-boston --db-dir D` creates D/2026-boston.sqlite3 with defaults."""
    argv = ["event", "new", "2026-boston", "--db-dir", str(tmp_path / "db"), "--name", "Boston"]
    assert main([*argv, "--date", "2026-05-16"]) == 0
    path = tmp_path / "db" / "2026-boston.sqlite3"
    assert str(path) in capsys.readouterr().out
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT name, date FROM events").fetchall() == [("Boston", "2026-05-16")]
    assert conn.execute("SELECT COUNT(*) FROM dances").fetchone() == (30,)
    conn.close()


def test_cli_event_new_refuses_to_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A second `showcase event new` for the same key exits 1, one line, file untouched."""
    argv = ["event", "new", "2026-boston-spring", "--db-dir", str(tmp_path)]
    assert main(argv) == 0
    path = tmp_path / "2026-boston-spring.sqlite3"
    before = path.read_bytes()
    capsys.readouterr()
    assert main([*argv, "--name", "Other"]) == 1
    err = capsys.readouterr().err
    assert "already exists" in err and err.count("\n") == 1
    assert path.read_bytes() == before


@pytest.mark.parametrize("key", ["boston", "26-boston", "2026-Boston", "2026_boston", "2026-"])
def test_cli_event_new_bad_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str
) -> None:
    """A key not shaped YEAR-LOCATION[-EVENT] is bad usage: exit 2, one line, no file."""
    assert main(["event", "new", key, "--db-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_cli_event_new_without_key(tmp_path: Path) -> None:
    """`showcase event new` with no key is an argparse usage error (exit 2)."""
    with pytest.raises(SystemExit) as raised:
        main(["event", "new", "--db-dir", str(tmp_path)])
    assert raised.value.code == 2


def test_the_router_given_prefix_wins_over_scope_and_root() -> None:
    """Under the router SHOWCASE_PREFIX is the served prefix; standalone, root + scope."""
    from showcase.event.__main__ import prefix_from_env

    env = {"SHOWCASE_ROOT": "/showcase", "SHOWCASE_SCOPE": "2026/boston"}
    assert prefix_from_env(env) == "/showcase/2026/boston"
    assert prefix_from_env({**env, "SHOWCASE_PREFIX": "/x/2026/boston/"}) == "/x/2026/boston"
    assert prefix_from_env({"SHOWCASE_PREFIX": ""}) == ""
    assert prefix_from_env({"SHOWCASE_SCOPE": "/full/prefix/"}) == "/full/prefix"
