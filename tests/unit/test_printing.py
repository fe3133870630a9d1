"""The printed outputs (showcase.printing) rendered from the demo's print data, read back
with poppler's pdftotext / pdfinfo / pdffonts / pdfimages."""

from __future__ import annotations

import copy
import re
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from hypothesis import given, settings
from hypothesis import strategies as st

from showcase.event.context import display_name
from showcase.event.db import EventDB, create
from showcase.event.demo import populate_demo
from showcase.event.print_data import print_data
from showcase.printing import render_path, split_pdf_path
from showcase.printing.paths import ENDPOINTS

HEAT_START = re.compile(r"^(\d+(?:\.\d+)?)\s+\d{1,2}:\d{2}\s")


class Demo:
    """The demo event with some heats scratched or unscheduled, and its print data."""

    def __init__(self, path: Path) -> None:
        create(str(path), populate_demo)
        self.sql = sqlite3.connect(path)
        self.sql.row_factory = sqlite3.Row
        numbers = [
            r[0]
            for r in self.sql.execute(
                "SELECT number FROM heats WHERE number > 0 AND category != 'Solo'"
                " GROUP BY number HAVING count(*) >= 3 ORDER BY number"
            )
        ]
        # A whole heat scratched, a whole heat unscheduled, one couple of each kind.
        self.scratched_heat, self.unscheduled_heat = numbers[1], numbers[2]
        self.sql.execute("UPDATE heats SET number = -number WHERE number = ?", [numbers[1]])
        self.sql.execute("UPDATE heats SET number = 0 WHERE number = ?", [numbers[2]])
        self.thinned = numbers[3:5]
        self.removed: list[int] = []
        for number, value in zip(self.thinned, ("-number", "0"), strict=True):
            row = self.sql.execute(
                "SELECT max(id) FROM heats WHERE number = ?", [number]
            ).fetchone()[0]
            self.sql.execute(f"UPDATE heats SET number = {value} WHERE id = ?", [row])
            self.removed.append(row)
        self.sql.commit()
        db = EventDB(str(path))
        self.data = print_data(db)
        db.close()

    def couples(self, where: str = "h.number > 0") -> list[sqlite3.Row]:
        """Each couple's heat row with the names of lead and follow ("Last, First")."""
        return self.sql.execute(
            "SELECT h.id, h.number, h.category, l.name AS lead, f.name AS follow,"
            " l.id AS lead_id, f.id AS follow_id"
            " FROM heats h JOIN entries e ON e.id = h.entry_id"
            " JOIN people l ON l.id = e.lead_id JOIN people f ON f.id = e.follow_id"
            f" WHERE {where} ORDER BY h.number, h.id"
        ).fetchall()

    def people_with_heats(self) -> set[int]:
        rows = self.sql.execute(
            "SELECT e.lead_id, e.follow_id, e.instructor_id, f.person_id FROM heats h"
            " JOIN entries e ON e.id = h.entry_id LEFT JOIN solos s ON s.heat_id = h.id"
            " LEFT JOIN formations f ON f.solo_id = s.id WHERE h.number > 0"
        )
        return {pid for row in rows for pid in row if pid}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    event = Demo(tmp_path_factory.mktemp("printing") / "demo.sqlite3")
    yield event
    event.sql.close()


class Pdf:
    """A rendered PDF on disk, read back page by page."""

    def __init__(self, body: bytes | None, path: Path) -> None:
        assert body is not None and body.startswith(b"%PDF")
        path.write_bytes(body)
        self.path = path
        info = self.tool("pdfinfo")
        self.pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M)[1])  # type: ignore[index]
        text = self.tool("pdftotext", "-layout", str(path), "-")
        self.page_texts = text.split("\f")[: self.pages]
        self._pages: dict[int, str] = {}
        self._segments: dict[str, list[tuple[int, str]]] | None = None

    def tool(self, name: str, *args: str) -> str:
        argv = [name, *args] if args else [name, str(self.path)]
        return subprocess.run(argv, check=True, capture_output=True, text=True).stdout

    def page(self, number: int) -> str:
        """The text of one page (1-based), read on its own with ``-f N -l N``."""
        if number not in self._pages:
            first_last = ("-f", str(number), "-l", str(number))
            self._pages[number] = self.tool(
                "pdftotext", "-layout", *first_last, str(self.path), "-"
            )
        return self._pages[number]

    @property
    def text(self) -> str:
        return "\n".join(self.page_texts)


def render(demo: Demo, relative: str, tmp: Path, data: dict[str, Any] | None = None) -> Pdf:
    return Pdf(render_path(relative, data or demo.data), tmp / relative.replace("/", "-"))


@pytest.fixture(scope="module")
def book(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Pdf:
    return render(demo, "heats.pdf", tmp_path_factory.mktemp("book"))


def heat_segments(pdf: Pdf) -> dict[str, list[tuple[int, str]]]:
    """Each heat number's text from its first line to the next heat's (or the page end),
    per page it starts on, read page by page."""
    if pdf._segments is not None:
        return pdf._segments
    found: dict[str, list[tuple[int, str]]] = {}
    for number in range(1, pdf.pages + 1):
        lines = pdf.page(number).splitlines()
        starts = [(i, m[1]) for i, line in enumerate(lines) if (m := HEAT_START.match(line))]
        for index, (line, label) in enumerate(starts):
            end = starts[index + 1][0] if index + 1 < len(starts) else len(lines)
            found.setdefault(label, []).append((number, "\n".join(lines[line:end])))
    pdf._segments = found
    return found


def label(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


# -- paths ---------------------------------------------------------------------------------

SEGMENT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12)


def test_split_examples() -> None:
    """A URL path splits into its event prefix and the relative PDF path, root included."""
    assert split_pdf_path("/showcase/2025/boston/people/12/heats.pdf") == (
        "/showcase/2025/boston/",
        "people/12/heats.pdf",
    )
    assert split_pdf_path("/heats.pdf") == ("/", "heats.pdf")
    assert split_pdf_path("/showcase/2025/boston/people/heats.pdf") == (
        "/showcase/2025/boston/",
        "people/heats.pdf",
    )
    assert split_pdf_path("/showcase/2025/boston/invoice.pdf") is None
    assert split_pdf_path("/showcase/../heats.pdf") is None
    assert split_pdf_path("heats.pdf") is None


@settings(deadline=None)  # pure and fast; a loaded CI machine must not make it flaky
@given(
    prefix=st.lists(SEGMENT, max_size=5),
    endpoint=st.sampled_from(ENDPOINTS),
    item=st.integers(min_value=0, max_value=10**9 - 1),
)
def test_split_property(prefix: list[str], endpoint: Any, item: int) -> None:
    """Any plain prefix followed by any endpoint splits back into exactly those two parts."""
    head = "/" + "".join(f"{s}/" for s in prefix)
    relative = endpoint.path(item)
    assert split_pdf_path(head + relative) == (head, relative)


@settings(deadline=None)
@given(path=st.text(max_size=60))
def test_split_rejects_other_paths(path: str) -> None:
    """A path that does not end with a known endpoint never splits."""
    if not any(path.endswith(e.pattern.split("<id>")[-1]) for e in ENDPOINTS):
        assert split_pdf_path(path) is None


def test_unknown_paths_and_ids_render_nothing(demo: Demo) -> None:
    """An unknown endpoint, or an id the data does not hold, renders None (a 404)."""
    assert render_path("invoices.pdf", demo.data) is None
    missing = max(p["id"] for p in demo.data["people"]) + 1000
    for endpoint in ENDPOINTS:
        if endpoint.has_id:
            assert render_path(endpoint.path(missing), demo.data) is None, endpoint.pattern
    student = next(p["id"] for p in demo.data["people"] if p["type"] == "Student")
    assert render_path(f"scores/{student}/sheets.pdf", demo.data) is None  # not a judge


def test_import_does_not_load_reportlab() -> None:
    """Importing showcase.printing (what the router does) does not import reportlab."""
    code = (
        "import sys, showcase.printing; print(any(m.startswith('reportlab') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "False"


# -- heat book -----------------------------------------------------------------------------


def test_heat_book_lists_every_scheduled_heat_and_couple(demo: Demo, book: Pdf) -> None:
    """Every scheduled heat starts once in the heat book, with each couple's names in it."""
    segments = heat_segments(book)
    expected: dict[str, list[sqlite3.Row]] = {}
    for row in demo.couples():
        expected.setdefault(label(row["number"]), []).append(row)
    assert set(segments) == set(expected)
    for number, rows in expected.items():
        assert len(segments[number]) == 1, f"heat {number} starts more than once"
        _page, text = segments[number][0]
        for row in rows:
            assert display_name(row["lead"]) in text, (number, row["lead"])
            assert display_name(row["follow"]) in text, (number, row["follow"])


def test_heat_book_leaves_out_scratched_and_unscheduled(demo: Demo, book: Pdf) -> None:
    """Scratched (< 0) and unscheduled (0) heats and couples are not in the heat book."""
    segments = heat_segments(book)
    assert label(demo.scratched_heat) not in segments
    assert label(demo.unscheduled_heat) not in segments
    for number, row_id in zip(demo.thinned, demo.removed, strict=True):
        gone = demo.couples(f"h.id = {row_id}")[0]
        assert gone["number"] <= 0
        ((_page, text),) = segments[label(number)]
        assert display_name(gone["lead"]) not in text
        assert display_name(gone["follow"]) not in text


def test_heat_book_never_splits_a_heat(demo: Demo, book: Pdf) -> None:
    """Each heat's couples are all on the page its number is on (read page by page), and
    every page's first row is an agenda header or a heat's first couple, never a couple
    whose heat began on the page before."""
    assert book.pages > 5
    by_number: dict[str, list[str]] = {}
    for row in demo.couples():
        by_number.setdefault(label(row["number"]), []).append(display_name(row["lead"]))
    for number, [(page, text)] in heat_segments(book).items():
        assert all(name in text for name in by_number[number]), f"heat {number} split at {page}"
    titles = {section["title"] for section in demo.data["sections"]}
    for page_number in range(1, book.pages + 1):
        lines = [line.strip() for line in book.page(page_number).splitlines() if line.strip()]
        first = lines[lines.index(next(ln for ln in lines if ln.startswith("Heat "))) + 1]
        assert HEAT_START.match(first) or any(first.startswith(t) for t in titles), first


def test_heat_book_has_agenda_headers_and_the_event_on_each_page(demo: Demo, book: Pdf) -> None:
    """Agenda categories are headed, and every page carries the event's name."""
    for section in demo.data["sections"]:
        assert section["title"] in book.text
    for text in book.page_texts:
        assert demo.data["event"]["name"] in text


def test_font_family_maps_to_a_standard_font(demo: Demo, tmp_path: Path) -> None:
    """The event's font family picks reportlab's standard font (Georgia → Times), embedded
    as text; an unknown family falls back to Helvetica."""
    data = copy.deepcopy(demo.data)
    data["event"]["font_family"] = "Georgia, serif"
    fonts = render(demo, "people/backs.pdf", tmp_path, data).tool("pdffonts")
    assert "Times-Bold" in fonts and "Helvetica" not in fonts
    data["event"]["font_family"] = "Comic Neue"
    fonts = render(demo, "people/backs.pdf", tmp_path, data).tool("pdffonts")
    assert "Helvetica-Bold" in fonts and "Times" not in fonts


def test_logo_on_every_page_and_skipped_when_missing(demo: Demo, tmp_path: Path) -> None:
    """A logo file in the data is drawn on every page; a missing file is left out quietly."""
    from PIL import Image

    logo = tmp_path / "logo.png"
    Image.new("RGB", (40, 20), (200, 30, 30)).save(logo)
    data = copy.deepcopy(demo.data)
    data["event"]["logo"] = str(logo)
    pdf = render(demo, "people/backs.pdf", tmp_path, data)
    images = pdf.tool("pdfimages", "-list", str(pdf.path)).splitlines()[2:]
    assert sorted({int(line.split()[0]) for line in images}) == list(range(1, pdf.pages + 1))
    data["event"]["logo"] = str(tmp_path / "missing.png")
    pdf = render(demo, "people/backs.pdf", tmp_path, data)
    assert pdf.tool("pdfimages", "-list", str(pdf.path)).splitlines()[2:] == []


# -- back numbers and heat sheets ----------------------------------------------------------


def test_back_numbers_one_page_each(demo: Demo, tmp_path: Path) -> None:
    """One page per person with a back number, in number order, never two numbers on a page."""
    people = demo.sql.execute(
        "SELECT back, name FROM people WHERE back > 0 ORDER BY back, id"
    ).fetchall()
    pdf = render(demo, "people/backs.pdf", tmp_path)
    assert pdf.pages == len(people)
    backs = {str(p["back"]) for p in people}
    for (back, name), text in zip(people, pdf.page_texts, strict=True):
        assert display_name(name) in text
        numbers = set(re.findall(r"\b\d{2,4}\b", text.split("Page")[0])) & backs
        assert numbers == {str(back)}


def test_everyones_heat_sheets_one_person_per_page(demo: Demo, tmp_path: Path) -> None:
    """Everyone with heats gets their own page(s): each person's name heads a page, and
    only long lists take more pages than people."""
    expected = demo.people_with_heats()
    names = {pid: display_name(n) for pid, n in demo.sql.execute("SELECT id, name FROM people")}
    pdf = render(demo, "people/heats.pdf", tmp_path)
    assert pdf.pages >= len(expected)
    heads = []
    for text in pdf.page_texts:
        body = [line.strip() for line in text.splitlines()[2:] if line.strip()]
        heads.append(body[0])
    people = sorted(h for h in heads if not h.startswith("Heat "))
    assert people == sorted(names[p] for p in expected)


def test_person_heat_sheet_lists_their_own_heats(demo: Demo, tmp_path: Path) -> None:
    """A student's heat sheet has exactly their scheduled heats, each with the partner."""
    student = demo.sql.execute(
        "SELECT id, name FROM people WHERE type = 'Student' ORDER BY id LIMIT 1"
    ).fetchone()
    pdf = render(demo, f"people/{student['id']}/heats.pdf", tmp_path)
    rows = demo.couples(f"h.number > 0 AND {student['id']} IN (e.lead_id, e.follow_id)")
    listed = {}
    for line in pdf.text.splitlines():
        found = re.match(r"^(\d+(?:\.\d+)?)\s+\d{1,2}:\d{2}\s+(.*)$", line)
        if found:
            listed[found[1]] = found[2]
    assert set(listed) == {label(r["number"]) for r in rows}
    for row in rows:
        partner = row["follow"] if row["lead_id"] == student["id"] else row["lead"]
        assert display_name(partner) in listed[label(row["number"])]


def test_studio_heat_sheets_hold_only_its_people(demo: Demo, tmp_path: Path) -> None:
    """A studio's heat sheets head a page with each of its people who has heats, no one else."""
    studio = demo.data["studios"][1]
    mine = {p["name"] for p in demo.data["people"] if p["studio_id"] == studio["id"]}
    everyone = {p["name"] for p in demo.data["people"]}
    pdf = render(demo, f"studios/{studio['id']}/heats.pdf", tmp_path)
    heads = {next(ln.strip() for ln in t.splitlines()[2:] if ln.strip()) for t in pdf.page_texts}
    assert heads & everyone and heads & everyone <= mine


# -- judges and results --------------------------------------------------------------------


def judge_sheet_heats(pdf: Pdf) -> list[str]:
    return re.findall(r"^Heat (\d+(?:\.\d+)?) ", pdf.text, re.M)


def test_judge_sheet_lists_every_heat_the_judge_scores(demo: Demo, tmp_path: Path) -> None:
    """A judge who scores everything gets a sheet for every scheduled heat, in order, with
    empty columns in each heat's own scale letters."""
    judge = demo.data["judges"][0]
    pdf = render(demo, f"scores/{judge['id']}/sheets.pdf", tmp_path)
    numbers = sorted({r["number"] for r in demo.couples()})
    assert judge_sheet_heats(pdf) == [label(n) for n in numbers]
    headings = [line.split() for line in pdf.text.splitlines() if line.startswith("Back")]
    assert any(h[-5:-1] == ["GH", "G", "S", "B"] for h in headings)
    assert any(h[-5:-1] == ["1", "2", "3", "F"] for h in headings)


def test_judge_sheet_follows_the_judges_solo_review(demo: Demo, tmp_path: Path) -> None:
    """A judge who reviews no solos gets no solo heats; "Odd" gets only odd-numbered solos."""
    data = copy.deepcopy(demo.data)
    at = next(i for i, s in enumerate(data["sections"]) if s["heats"][0]["kind"] == "Solo")
    data["sections"] = data["sections"][at - 1 : at + 1]  # the solos and the category before
    heats = [h for section in data["sections"] for h in section["heats"]]
    solos = {h["label"] for h in heats if h["kind"] == "Solo"}
    others = {h["label"] for h in heats} - solos
    assert solos and others
    judge = data["judges"][0]
    judge["review_solos"] = "None"
    pdf = render(demo, f"scores/{judge['id']}/sheets.pdf", tmp_path, data)
    assert set(judge_sheet_heats(pdf)) == others
    judge["review_solos"] = "Odd"
    pdf = render(demo, f"scores/{judge['id']}/sheets.pdf", tmp_path, data)
    odd = {s for s in solos if int(float(s)) % 2 == 1}
    assert odd != solos and set(judge_sheet_heats(pdf)) == others | odd


def test_judge_sheet_keeps_to_the_judges_ballroom(demo: Demo, tmp_path: Path) -> None:
    """A judge kept to ballroom A gets the heats with couples in A, not those all in B."""
    data = copy.deepcopy(demo.data)
    data["sections"] = data["sections"][:1]
    heats = data["sections"][0]["heats"][:10]
    data["sections"][0]["heats"] = heats
    for index, heat in enumerate(heats):
        for couple in heat["couples"]:
            couple["ballroom"] = "A" if index % 2 else "B"
    judge = data["judges"][0]
    judge["ballroom"] = "A"
    pdf = render(demo, f"scores/{judge['id']}/sheets.pdf", tmp_path, data)
    assert judge_sheet_heats(pdf) == [h["label"] for i, h in enumerate(heats) if i % 2]


def test_student_results_print_marks_in_the_scale_letters(demo: Demo, tmp_path: Path) -> None:
    """A student's results list each scored heat with every judge's mark as stored (GH/G/S/B
    or 1/2/3/F), and leave out scratched heats."""
    student = demo.sql.execute(
        "SELECT e.follow_id FROM heats h JOIN entries e ON e.id = h.entry_id"
        " JOIN people p ON p.id = e.follow_id WHERE h.number = ? AND p.type = 'Student'",
        [-demo.scratched_heat],
    ).fetchone()[0]
    scores = demo.sql.execute(
        "SELECT h.number, s.value FROM scores s JOIN heats h ON h.id = s.heat_id"
        " JOIN entries e ON e.id = h.entry_id"
        " WHERE h.number > 0 AND ? IN (e.lead_id, e.follow_id) AND s.value IS NOT NULL",
        [student],
    ).fetchall()
    assert scores
    pdf = render(demo, f"people/{student}/scores.pdf", tmp_path)
    rows = {}
    for line in pdf.text.splitlines():
        found = re.match(r"^(\d+(?:\.\d+)?)\s+(.*)$", line)
        if found:
            rows[found[1]] = found[2].split()
    expected: dict[str, Counter[str]] = {}
    for number, value in scores:
        expected.setdefault(label(number), Counter())[value] += 1
    assert set(rows) == set(expected)
    assert label(demo.scratched_heat) not in rows
    letters = set()
    for number, marks in expected.items():
        assert not marks - Counter(rows[number]), (number, marks, rows[number])
        letters |= set(marks)
    assert letters & {"GH", "G", "S", "B"} or letters & {"1", "2", "3", "F"}


def test_renders_in_threads_at_once_match(demo: Demo) -> None:
    """Renders running in several threads at once give the same bytes as one alone."""
    person = next(p["id"] for p in demo.data["people"] if p["type"] == "Professional")
    relative = f"people/{person}/heats.pdf"
    alone = render_path(relative, demo.data)
    results: list[bytes | None] = []
    threads = [
        threading.Thread(target=lambda: results.append(render_path(relative, demo.data)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [alone] * 4


# -- hard input: long and non-Latin names ---------------------------------------------------


def words_on_page_one(pdf: Pdf) -> list[tuple[str, float, float, float, float]]:
    """Each word of page 1 with its box (xMin, yMin, xMax, yMax) in points, from pdftotext."""
    html = pdf.tool("pdftotext", "-bbox", "-f", "1", "-l", "1", str(pdf.path), "-")
    box = re.compile(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
    )
    return [(w, float(a), float(b), float(c), float(d)) for a, b, c, d, w in box.findall(html)]


def test_a_long_event_name_never_runs_into_the_title(demo: Demo, tmp_path: Path) -> None:
    """A long event name and location are set smaller and cut short with "…" to stay left
    of the document's title and inside the page; the title is printed whole."""
    data = copy.deepcopy(demo.data)
    data["sections"] = data["sections"][:1]
    data["event"]["name"] = "Harborview Holiday Dance Showcase and Grand Ballroom Gala " * 3
    data["event"]["location"] = "Harborview Hotel, Grand Ballroom, Level 3, " * 6
    judge = data["judges"][0]
    pdf = render(demo, f"scores/{judge['id']}/sheets.pdf", tmp_path, data)
    words = words_on_page_one(pdf)
    assert all(w[3] <= 612 - 36 + 0.5 for w in words)  # inside the right margin
    title = f"Score sheets · {judge['name']}".split()
    start = [w[0] for w in words].index(title[0])
    title_words = words[start : start + len(title)]
    assert [w[0] for w in title_words] == title
    title_left = min(w[1] for w in title_words)
    name_words = [w for w in words if w[2] < title_words[0][4] and w not in title_words]
    place_words = [w for w in words if title_words[0][4] <= w[2] < 80]  # under it, above the rule
    assert name_words[0][0] == "Harborview" and name_words[-1][0].endswith("…")
    assert all(w[3] < title_left for w in name_words)
    assert place_words[0][0] == data["event"]["date"] and place_words[-1][0].endswith("…")


def test_names_outside_latin_1_print_with_a_box_not_a_failure(demo: Demo, tmp_path: Path) -> None:
    """Names in Chinese, Cyrillic or with emoji (outside the standard fonts' Latin-1) do not
    fail any PDF: their Latin-1 letters print as they are (ë, Å), the rest as "■"."""
    data = copy.deepcopy(demo.data)
    data["event"]["name"] = "舞蹈 Showcase 🎉"
    dancer = next(p for p in data["people"] if p["back"] and p["type"] == "Student")
    dancer["name"] = "Zoë 王小明 Ångström 💃"
    judge = data["judges"][0]
    judge["name"] = "Иван Петров"
    first = data["sections"][0]["heats"][0]
    first["couples"][0]["lead"] = dancer["id"]
    data["sections"] = data["sections"][:1]
    data["scores"] = [dict(s, comments="很好 👍") for s in data["scores"]]
    for relative in (
        "heats.pdf",
        "people/backs.pdf",
        f"people/{dancer['id']}/heats.pdf",
        f"people/{dancer['id']}/scores.pdf",
        f"scores/{judge['id']}/sheets.pdf",
    ):
        pdf = render(demo, relative, tmp_path, data)
        assert "■■ Showcase ■" in pdf.text, relative
    sheet = render(demo, f"people/{dancer['id']}/heats.pdf", tmp_path, data)
    assert "Zoë ■■■ Ångström ■" in sheet.text


# -- the render queue -------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_renders_queue_on_the_reactor_not_in_pool_threads() -> None:
    """More renders than the reactor's pool has threads, asked at once, run one at a time
    in the order asked; those waiting hold no pool thread, so other work (a host name
    lookup) still gets one at once."""
    from twisted.internet import reactor as installed
    from twisted.internet.task import deferLater
    from twisted.internet.threads import deferToThreadPool

    from showcase.printing.render import RenderQueue

    reactor: Any = installed
    pool = reactor.getThreadPool()
    count = pool.max + 1
    release = [threading.Event() for _ in range(count)]
    started: list[int] = []

    def work(index: int) -> Callable[[], int]:
        def run() -> int:
            started.append(index)
            release[index].wait(30)
            return index

        return run

    queue = RenderQueue(reactor)
    try:
        asked = [queue.run(work(i)) for i in range(count)]
        deadline = reactor.seconds() + 30
        while not started:
            assert reactor.seconds() < deadline, "no render started"
            await deferLater(reactor, 0.01)
        assert await deferToThreadPool(reactor, pool, lambda: "looked up") == "looked up"
        assert started == [0]
        for event in release:
            event.set()
        assert [await d for d in asked] == list(range(count))
        assert started == list(range(count))
    finally:
        for event in release:
            event.set()
