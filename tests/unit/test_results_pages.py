"""Results pages: tallies by level, age, studio and instructor, a student's sheet, the CSV."""

from __future__ import annotations

import csv
import io
import sqlite3
from html.parser import HTMLParser
from pathlib import Path

import pytest

from showcase.event.db import insert_row
from showcase.event.defaults import populate_new_event
from showcase.event.demo import populate_demo
from tests.eventsupport import EventClient

GRADES = ("GH", "G", "S", "B")


def populate(conn: sqlite3.Connection) -> None:
    """The worked example of spec/scoring.md: closed scoring G, one student follower
    (Helen Keller, Full Bronze, age B) with her professional, three judges marking
    heat 1 GH, G, G.  A scratched heat carries a fourth score that must not count."""
    populate_new_event(conn, "Spring Showcase", "2026-04-18")
    conn.execute("UPDATE events SET closed_scoring = 'G'")
    studio = insert_row(conn, "studios", name="Starlight")
    level = conn.execute("SELECT id FROM levels WHERE name = 'Full Bronze'").fetchone()[0]
    age = conn.execute("SELECT id FROM ages WHERE category = 'B'").fetchone()[0]
    pro = insert_row(
        conn,
        "people",
        name="Ortega, Sam",
        type="Professional",
        role="Leader",
        studio_id=studio,
        back=101,
    )
    student = insert_row(
        conn,
        "people",
        name="Keller, Helen",
        type="Student",
        role="Follower",
        studio_id=studio,
        back=201,
        level_id=level,
        age_id=age,
    )
    judges = [
        insert_row(conn, "people", name=name, type="Judge", studio_id=0)
        for name in ("Adams, Ann", "Brown, Bea", "Clark, Cy")
    ]
    for judge in judges:
        insert_row(conn, "judges", person_id=judge)
    entry = insert_row(conn, "entries", lead_id=pro, follow_id=student, level_id=level, age_id=age)
    waltz = conn.execute("SELECT id FROM dances WHERE name = 'Waltz'").fetchone()[0]
    heat = insert_row(conn, "heats", number=1.0, category="Closed", dance_id=waltz, entry_id=entry)
    for judge, value in zip(judges, ("GH", "G", "G"), strict=True):
        insert_row(conn, "scores", judge_id=judge, heat_id=heat, value=value)
    scratched = insert_row(
        conn, "heats", number=-2.0, category="Closed", dance_id=waltz, entry_id=entry
    )
    insert_row(conn, "scores", judge_id=judges[0], heat_id=scratched, value="GH")


@pytest.fixture
def client(tmp_path: Path) -> EventClient:
    return EventClient(tmp_path, populate)


class Rows(HTMLParser):
    """The text of each table row's cells."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None and self.rows:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def table_rows(body: str) -> list[list[str]]:
    parser = Rows()
    parser.feed(body)
    return parser.rows


def row_of(body: str, first_cell: str) -> dict[str, str]:
    """The row whose first cell is ``first_cell``, keyed by the header row before it."""
    header: list[str] = []
    for row in table_rows(body):
        if row and row[0] in ("Student", "Studio"):
            header = row
        elif row and row[0] == first_cell:
            return dict(zip(header, row, strict=False))
    raise AssertionError(f"no row {first_cell!r}")


def assert_worked_example(row: dict[str, str]) -> None:
    assert row["Points"] == "11"
    assert [row[g] for g in GRADES] == ["1", "2", "0", "0"]


def test_by_level_shows_the_worked_example(client: EventClient) -> None:
    """By level: the follower under Full Bronze / Followers, 11 points, GH 1 G 2 S 0 B 0."""
    code, body = client.get("scores/by-level")
    assert code == 200
    assert "<h2>Full Bronze" in body
    assert "<caption>Followers</caption>" in body
    assert_worked_example(row_of(body, "Helen Keller"))


def test_by_age_shows_the_worked_example(client: EventClient) -> None:
    """By age: the same tally under age group B (46-54)."""
    code, body = client.get("scores/by-age")
    assert code == 200
    assert "<h2>B <small" in body and "46-54" in body
    assert_worked_example(row_of(body, "Helen Keller"))


def test_by_studio_shows_the_worked_example(client: EventClient) -> None:
    """By studio: the studio's total and its average points per score (11 / 3)."""
    code, body = client.get("scores/by-studio")
    assert code == 200
    row = row_of(body, "Starlight")
    assert_worked_example(row)
    assert row["Scores"] == "3"
    assert row["Average"] == "3.7"


def test_instructor_shows_the_worked_example(client: EventClient) -> None:
    """By instructor: the professional's student with her tally, and his total."""
    code, body = client.get("scores/instructor")
    assert code == 200
    assert "<h2>Sam Ortega" in body
    assert_worked_example(row_of(body, "Helen Keller"))
    assert_worked_example(row_of(body, "Total"))


def test_student_names_link_to_their_sheet(client: EventClient) -> None:
    """A student's name on the tables links to the per-student sheet."""
    student = client.db.value("SELECT id FROM people WHERE name = 'Keller, Helen'")
    _, body = client.get("scores/by-level")
    assert f'href="/showcase/2026/demo/people/{student}/scores"' in body


def test_student_sheet_lists_each_judge(client: EventClient) -> None:
    """The sheet shows every judge's mark of each scheduled heat, with points and the total."""
    student = client.db.value("SELECT id FROM people WHERE name = 'Keller, Helen'")
    code, body = client.get(f"people/{student}/scores")
    assert code == 200
    assert "<h1>Helen Keller</h1>" in body
    assert "1 scored heats" in body and '<strong class="points">11</strong>' in body
    marks = [r for r in table_rows(body) if len(r) >= 6 and r[-5] in ("GH", "G")]
    judged = sorted((r[-6], r[-5], r[-4]) for r in marks)  # judge, score, points
    assert judged == [("Ann Adams", "GH", "5"), ("Bea Brown", "G", "3"), ("Cy Clark", "G", "3")]
    assert "Sam Ortega" in body


def test_student_sheet_of_unknown_person_is_not_found(client: EventClient) -> None:
    """A person id that does not exist answers 404."""
    code, _ = client.get("people/9999/scores")
    assert code == 404


def test_scratched_heats_never_count(client: EventClient) -> None:
    """Scratching the scored heat takes its points off every view."""
    with client.db.transaction():
        client.db.execute("UPDATE heats SET number = -number WHERE number > 0")
    for path in ("scores/by-level", "scores/by-age", "scores/by-studio", "scores/instructor"):
        code, body = client.get(path)
        assert code == 200
        assert "No scores yet." in body, path


def test_csv_has_a_header_and_a_row_per_score(client: EventClient) -> None:
    """scores.csv is an attachment: a header row, then one row per score of a scheduled heat."""
    response = client._wait(client.treq.get(client.url("scores.csv")))
    body = client._wait(response.content()).decode("utf-8")
    assert response.code == 200
    assert response.headers.getRawHeaders(b"content-type") == [b"text/csv; charset=utf-8"]
    disposition = response.headers.getRawHeaders(b"content-disposition")[0].decode()
    assert disposition == 'attachment; filename="event-scores.csv"'
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:3] == ["heat", "dance", "category"]
    assert len(rows) == 1 + 3
    assert sorted(r[rows[0].index("value")] for r in rows[1:]) == ["G", "G", "GH"]
    assert {r[rows[0].index("follow")] for r in rows[1:]} == {"Helen Keller"}


def test_results_pages_link_to_each_other(client: EventClient) -> None:
    """Every results page links to the four views and the CSV."""
    _, body = client.get("scores/by-studio")
    for path in ("scores/by-level", "scores/by-age", "scores/by-studio", "scores/instructor"):
        assert f'href="/showcase/2026/demo/{path}"' in body
    assert 'href="/showcase/2026/demo/scores.csv"' in body


def test_every_page_renders_on_the_demo(tmp_path: Path) -> None:
    """On the demo event every heats, results and public page answers 200."""
    demo = EventClient(tmp_path, populate_demo)
    student = demo.db.value(
        "SELECT p.id FROM people p JOIN entries e ON e.follow_id = p.id"
        " JOIN heats h ON h.entry_id = e.id JOIN scores s ON s.heat_id = h.id"
        " WHERE p.type = 'Student' AND h.number > 0 LIMIT 1"
    )
    assert student is not None
    paths = [
        "heats",
        "scores/by-level",
        "scores/by-age",
        "scores/by-studio",
        "scores/instructor",
        f"people/{student}/scores",
        "scores.csv",
        "public/heats",
        "public/counter",
        "public/current.json",
    ]
    for path in paths:
        code, body = demo.get(path)
        assert code == 200, path
        assert body, path
