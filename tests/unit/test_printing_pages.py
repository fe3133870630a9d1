"""The event app's PDFs, print page and print.json, through StubTreq (EventClient).

The PDFs are rendered in the reactor's thread pool, as in production: those tests run
on the real reactor and flush StubTreq until the answer is there."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from klein import Klein
from treq.testing import StubTreq
from twisted.internet import reactor
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.task import deferLater
from twisted.logger import capturedLogs
from twisted.web.client import ResponseNeverReceived

from showcase.event import judging, printing_pages
from showcase.event.context import Context
from showcase.event.db import insert_row
from showcase.event.defaults import populate_new_event
from showcase.event.web import build_app, mount
from showcase.printing.paths import ENDPOINTS
from tests.eventsupport import PREFIX, EventClient

TOKEN_ENV = ("SHOWCASE_PRINT_TOKEN", "SHOWCASE_PRINT_TOKEN_FILE")


def populate(conn: sqlite3.Connection) -> None:
    """A small event: a studio with a professional and two students with back numbers, a
    judge, two closed heats (one scored), a scratched heat and a solo."""
    populate_new_event(conn, "Spring Showcase", "2026-04-18")
    studio = insert_row(conn, "studios", name="Starlight")
    level = conn.execute("SELECT min(id) FROM levels").fetchone()[0]
    age = conn.execute("SELECT min(id) FROM ages").fetchone()[0]
    person = partial(insert_row, conn, "people", studio_id=studio)
    pro = person(name="Ortega, Sam", type="Professional", role="Leader", back=101)
    students = [
        person(name=name, type="Student", role="Follower", back=back, level_id=level, age_id=age)
        for name, back in (("Keller, Helen", 201), ("Bennett, Chloe", 202))
    ]
    judge = insert_row(conn, "people", name="Adams, Ann", type="Judge", studio_id=0)
    insert_row(conn, "judges", person_id=judge)
    waltz, tango = (
        conn.execute("SELECT id FROM dances WHERE name = ?", [n]).fetchone()[0]
        for n in ("Waltz", "Tango")
    )
    for number, (student, dance, category) in enumerate(
        [
            (students[0], waltz, "Closed"),
            (students[1], tango, "Closed"),
            (students[0], tango, "Solo"),
            (students[1], waltz, "Closed"),
        ],
        start=1,
    ):
        entry = insert_row(
            conn, "entries", lead_id=pro, follow_id=student, level_id=level, age_id=age
        )
        heat = insert_row(
            conn,
            "heats",
            number=-4.0 if number == 4 else float(number),
            category=category,
            dance_id=dance,
            entry_id=entry,
        )
        if category == "Solo":
            insert_row(conn, "solos", heat_id=heat, order=1, song="Moon River")
        if number == 1:
            insert_row(conn, "scores", judge_id=judge, heat_id=heat, value="GH")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EventClient]:
    event = EventClient(tmp_path_factory.mktemp("printing-pages"), populate)
    yield event
    event.db.close()


@pytest.fixture
def no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in TOKEN_ENV:
        monkeypatch.delenv(name, raising=False)


async def fetch(client: EventClient, path: str, **kwargs: Any) -> tuple[int, Any, bytes]:
    """GET ``path``; flush StubTreq until the (threaded) answer is in, within 30 s."""
    done: list[Any] = []
    failed: list[Any] = []
    d = client.treq.get(client.url(path), **kwargs)
    d.addCallbacks(done.append, failed.append)
    deadline = reactor.seconds() + 30
    while not done and not failed:
        assert reactor.seconds() < deadline, f"{path} did not answer"
        client.treq.flush()
        await deferLater(reactor, 0.01)
    if failed:
        failed[0].raiseException()
    response = done[0]
    body: list[bytes] = []
    response.content().addCallback(body.append)
    client.treq.flush()
    return response.code, response.headers, body[0]


def ids(client: EventClient) -> dict[str, int]:
    one = client.db.value
    return {
        "people": one("SELECT id FROM people WHERE type = 'Student' ORDER BY id LIMIT 1"),
        "studios": one("SELECT id FROM studios WHERE id > 0 ORDER BY id LIMIT 1"),
        "scores": one("SELECT id FROM people WHERE type = 'Judge' ORDER BY id LIMIT 1"),
    }


@pytest.mark.parametrize("pattern", [e.pattern for e in ENDPOINTS])
@pytest_twisted.ensureDeferred
async def test_every_pdf_endpoint_answers_a_pdf(client: EventClient, pattern: str) -> None:
    """Each PDF endpoint answers 200, application/pdf, inline with a file name, %PDF bytes."""
    endpoint = next(e for e in ENDPOINTS if e.pattern == pattern)
    path = endpoint.path(ids(client)[pattern.split("/")[0]] if endpoint.has_id else None)
    code, headers, body = await fetch(client, path)
    assert code == 200
    assert headers.getRawHeaders("content-type") == ["application/pdf"]
    disposition = headers.getRawHeaders("content-disposition")[0]
    assert disposition.startswith("inline; filename=") and disposition.endswith('.pdf"')
    assert body.startswith(b"%PDF")


@pytest_twisted.ensureDeferred
async def test_unknown_ids_are_404(client: EventClient) -> None:
    """A PDF for a person, studio or judge the event does not have is a 404 page."""
    missing = int(client.db.value("SELECT max(id) FROM people")) + 100
    for path in (f"people/{missing}/heats.pdf", f"studios/{missing}/heats.pdf"):
        code, _headers, _ = await fetch(client, path)
        assert code == 404, path
    student = ids(client)["people"]
    code, _, _ = await fetch(client, f"scores/{student}/sheets.pdf")
    assert code == 404


@pytest_twisted.ensureDeferred
async def test_logo_is_found_under_the_public_directory(
    client: EventClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SHOWCASE_LOGO (relative to the site's public directory, SHOWCASE_PUBLIC_DIR) is drawn
    on the PDFs, and print.json carries it relative, for an appliance's own public dir."""
    from PIL import Image

    (tmp_path / "images").mkdir()
    Image.new("RGB", (40, 20), (200, 30, 30)).save(tmp_path / "images" / "logo.png")
    monkeypatch.setenv("SHOWCASE_LOGO", "images/logo.png")
    monkeypatch.setenv("SHOWCASE_PUBLIC_DIR", str(tmp_path))
    monkeypatch.setenv("SHOWCASE_PRINT_TOKEN", "right-token")
    code, _, body = await fetch(client, "people/backs.pdf")
    assert code == 200
    (tmp_path / "backs.pdf").write_bytes(body)
    listing = subprocess.run(
        ["pdfimages", "-list", str(tmp_path / "backs.pdf")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()[2:]
    assert listing, "no logo image in the PDF"
    code, _, body = await fetch(
        client, "print.json", headers={"Authorization": "Bearer right-token"}
    )
    assert code == 200 and json.loads(body)["event"]["logo"] == "images/logo.png"


def test_print_json_is_404_without_a_token(client: EventClient, no_token: None) -> None:
    """With no print token configured, print.json does not exist, whatever is sent."""
    code, _ = client.get("print.json", headers={"Authorization": "Bearer anything"})
    assert code == 404


def test_print_json_refuses_a_wrong_or_missing_token(
    client: EventClient, no_token: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a token configured, a request without it, or with another one, gets 401."""
    monkeypatch.setenv("SHOWCASE_PRINT_TOKEN", "right-token")
    for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": "right-token"}):
        code, body = client.get("print.json", headers=headers)
        assert code == 401, headers
        assert "version" not in body


@pytest_twisted.ensureDeferred
async def test_print_json_with_the_token(
    client: EventClient, no_token: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The right Bearer token gets the print data: version 1, the event, every scheduled
    heat number."""
    monkeypatch.setenv("SHOWCASE_PRINT_TOKEN", "right-token")
    code, headers, body = await fetch(
        client, "print.json", headers={"Authorization": "Bearer right-token"}
    )
    assert code == 200
    assert headers.getRawHeaders("content-type") == ["application/json"]
    data = json.loads(body)
    assert data["version"] == 1
    assert data["event"]["name"] == client.db.value("SELECT name FROM events")
    numbers = {h["number"] for s in data["sections"] for h in s["heats"]}
    expected = {r[0] for r in client.db.query("SELECT DISTINCT number FROM heats WHERE number > 0")}
    assert numbers == expected


@pytest_twisted.ensureDeferred
async def test_print_json_token_from_a_file_follows_changes(
    client: EventClient, no_token: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The token can come from the file SHOWCASE_PRINT_TOKEN_FILE names; a new token written
    there replaces the old one."""
    path = tmp_path / "print-token"
    path.write_text("first-token\n")
    monkeypatch.setenv("SHOWCASE_PRINT_TOKEN_FILE", str(path))
    first = {"Authorization": "Bearer first-token"}
    assert (await fetch(client, "print.json", headers=first))[0] == 200
    path.write_text("second-token-longer\n")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert (await fetch(client, "print.json", headers=first))[0] == 401
    second = {"Authorization": "Bearer second-token-longer"}
    assert (await fetch(client, "print.json", headers=second))[0] == 200


def test_print_page_links_the_pdfs(client: EventClient) -> None:
    """The print page links the heat book, heat sheets, back numbers and each judge's
    sheets; the home page links the print page."""
    code, body = client.get("print")
    assert code == 200
    for path in ("heats.pdf", "people/heats.pdf", "people/backs.pdf"):
        assert f'href="{client.url(path).removeprefix("http://event.test")}"' in body
    for (judge,) in client.db.query("SELECT id FROM people WHERE type = 'Judge'"):
        assert f"/scores/{judge}/sheets.pdf" in body
    code, home = client.get("/")
    assert 'href="' + client.url("print").removeprefix("http://event.test") + '"' in home


# -- renders off the reactor thread ---------------------------------------------------------------


class GatedRenders:
    """The production runner (one render at a time in the reactor's thread pool), each
    render held at its start until :attr:`release` is set; :attr:`started` is set then."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.queue = printing_pages.thread_runner(reactor)

    def __call__(self, work: Callable[[], bytes | None]) -> Deferred[bytes | None]:
        def held() -> bytes | None:
            self.started.set()
            if not self.release.wait(30):
                raise TimeoutError("never released")
            return work()

        return self.queue(held)


def app_with(client: EventClient, run_in_thread: Any) -> Any:
    """A StubTreq over the judging and printing routes of ``client``'s event, the PDFs
    rendered by ``run_in_thread``."""

    def printing(app: Klein, ctx: Context) -> None:
        printing_pages.register(app, ctx, run_in_thread=run_in_thread)

    return StubTreq(mount(build_app(client.ctx, [judging.register, printing]), PREFIX))


async def until(condition: Callable[[], bool], what: str, flush: Any = None) -> None:
    """Wait on the reactor (StubTreq flushed) until ``condition()``, within 30 s."""
    deadline = reactor.seconds() + 30
    while not condition():
        assert reactor.seconds() < deadline, f"no {what}"
        if flush is not None:
            flush()
        await deferLater(reactor, 0.01)


async def post_score_while_held(
    client: EventClient, path: str, heat_number: int, score: str, **kwargs: Any
) -> tuple[list[str], bytes]:
    """GET ``path`` with its worker held at its start; post ``score`` for the judge on heat
    ``heat_number`` meanwhile; then let the worker go.  The order the answers came in and
    the body of ``path``'s answer."""
    renders = GatedRenders()
    treq = app_with(client, renders)
    order: list[str] = []
    bodies: list[bytes] = []

    def got(response: Any) -> Any:
        order.append(f"get {response.code}")
        return response.content().addCallback(bodies.append)

    treq.get(client.url(path), **kwargs).addCallback(got)
    try:
        await until(renders.started.is_set, "worker started")
        judge = ids(client)["scores"]
        heat = client.db.value("SELECT id FROM heats WHERE number = ?", [heat_number])
        posted = treq.post(
            client.url(f"scores/{judge}/post"),
            data=json.dumps({"heat": heat, "score": score}).encode(),
            headers={b"content-type": [b"application/json"]},
        )
        posted.addCallback(lambda response: order.append(f"score {response.code}"))
        await until(lambda: len(order) == 1, "answer to the score post", treq.flush)
    finally:
        renders.release.set()
    await until(lambda: bool(bodies), f"answer to {path}", treq.flush)
    return order, bodies[0]


@pytest_twisted.ensureDeferred
async def test_a_score_post_is_answered_while_a_heat_book_renders(client: EventClient) -> None:
    """A judge's score posted while the heat book is being made (held in its worker
    thread) is saved and answered first; the heat book follows once done."""
    order, body = await post_score_while_held(client, "heats.pdf", 2, "G")
    assert order == ["score 200", "get 200"]
    assert body.startswith(b"%PDF")
    judge = ids(client)["scores"]
    saved = "SELECT s.value FROM scores s JOIN heats h ON h.id = s.heat_id"
    assert client.db.value(f"{saved} WHERE s.judge_id = ? AND h.number = 2", [judge]) == "G"


@pytest_twisted.ensureDeferred
async def test_a_client_gone_during_a_render_is_no_error(client: EventClient) -> None:
    """A client that goes away while its PDF renders cancels the render's Deferred, and
    nothing is logged as a failure (it is no error of the app's)."""
    pending: list[Deferred[bytes | None]] = []

    def never(_work: Callable[[], bytes | None]) -> Deferred[bytes | None]:
        pending.append(Deferred())
        return pending[-1]

    treq = app_with(client, never)
    asked = treq.get(client.url("people/heats.pdf"))
    asked.addErrback(lambda failure: failure.trap(CancelledError, ResponseNeverReceived))
    treq.flush()
    assert len(pending) == 1
    with capturedLogs() as events:
        asked.cancel()
        treq.flush()
    assert pending[0].called  # the cancel reached the render
    assert [e for e in events if e.get("log_failure") is not None] == []


@pytest_twisted.ensureDeferred
async def test_print_data_is_read_off_the_reactor_at_the_renders_turn(
    client: EventClient,
) -> None:
    """A PDF's data is read in its worker thread, not on the reactor before: a score
    posted (and answered) while a student's results wait for their turn is in them."""
    student = client.db.value(
        "SELECT e.follow_id FROM heats h JOIN entries e ON e.id = h.entry_id WHERE h.number = 2"
    )
    order, body = await post_score_while_held(client, f"people/{student}/scores.pdf", 2, "S")
    assert order == ["score 200", "get 200"]
    done = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=body, capture_output=True, check=True
    )
    heat_two = next(r for r in map(str.split, done.stdout.decode().splitlines()) if r[:1] == ["2"])
    assert heat_two[:3] == ["2", "Closed", "Tango"] and "S" in heat_two[3:]


@pytest_twisted.ensureDeferred
async def test_print_json_is_made_off_the_reactor(
    client: EventClient, no_token: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """print.json (what the appliance fetches) is read and encoded in a worker thread: a
    score posted meanwhile is answered first, and is in the data."""
    monkeypatch.setenv("SHOWCASE_PRINT_TOKEN", "right-token")
    order, body = await post_score_while_held(
        client, "print.json", 2, "B", headers={"Authorization": "Bearer right-token"}
    )
    assert order == ["score 200", "get 200"]
    judge = ids(client)["scores"]
    assert any(s["judge_id"] == judge and s["mark"] == "B" for s in json.loads(body)["scores"])
