"""Appliance mode (spec/fly-replay.md): PDFs of events held in other regions.

The dispatch step (:class:`Printing`) on real YAML configs; the fetch-and-render
(:class:`Printer`) against an in-memory event app through ``treq``'s ``StubTreq``
and a memory clock; the whole path through a real router on fake wires.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from routerfakes import RouterHarness, bare_exchange, load, request
from treq.testing import StubTreq
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import LogEvent, capturedLogs
from twisted.web.resource import Resource
from twisted.web.server import Request

from showcase.config.model import Config
from showcase.router.appliance import FETCH_TIMEOUT, Printer, PrintJob
from showcase.router.auth import Authenticator
from showcase.router.dispatch import Decision, Dispatcher, ToTenant
from showcase.router.message import Reply
from showcase.router.replay import FlyHere

TOKEN = "s3cret-print-token"
BOSTON_DATA: dict[str, Any] = {"version": 1, "event": {"name": "Boston Dance Showcase"}}
APPLIANCE = """
applications:
  tenants:
    - path: /2025/local/
cable:
  enabled: false
appliance:
  token_file: token
routes:
  fly:
    internal: "http://{region}.showcase.internal:3000"
    internal_hosts: {bos: "127.0.0.1:9101"}
    replay:
      - {path: "\\\\.pdf$", app: showcase-printer}
      - {path: "^/2025/boston/", region: bos}
      - {path: "^/2025/chicago/", region: ord}
"""
PRINTER = FlyHere(app="showcase-printer", region="iad", port=3000)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    (tmp_path / "token").write_text(TOKEN + "\n")
    return load(tmp_path, APPLIANCE)


def decide(
    config: Config, target: str, method: bytes = b"GET", here: FlyHere = PRINTER
) -> Decision:
    dispatcher = Dispatcher(config, Authenticator(config.auth, None), here)
    return dispatcher.decide(bare_exchange(request(target, method)))


def job_for(tmp_path: Path, relative: str = "heats.pdf") -> PrintJob:
    (tmp_path / "token").write_text(TOKEN + "\n")
    url = "http://127.0.0.1:9101/2025/boston/print.json"
    public = str(tmp_path / "public")
    return PrintJob("/2025/boston/", relative, "bos", url, str(tmp_path / "token"), public)


# -- which requests the appliance renders ---------------------------------------------------------


def test_a_pdf_of_an_event_held_elsewhere_is_a_print_job(config: Config, tmp_path: Path) -> None:
    """A PDF of the Boston event becomes a job: the owner's region from its region rule, the
    data at that region's internal address (``internal_hosts`` here), the token file."""
    decision = decide(config, "/2025/boston/people/12/heats.pdf")
    assert decision == PrintJob(
        "/2025/boston/",
        "people/12/heats.pdf",
        "bos",
        "http://127.0.0.1:9101/2025/boston/print.json",
        str(tmp_path / "token"),
        str(tmp_path / "public"),
    )


def test_the_owners_address_comes_from_the_template(config: Config) -> None:
    """Without an ``internal_hosts`` entry the region's address is the ``internal`` template."""
    decision = decide(config, "/2025/chicago/heats.pdf")
    assert isinstance(decision, PrintJob)
    assert decision.data_url == "http://ord.showcase.internal:3000/2025/chicago/print.json"


def test_the_appliance_never_replays_a_pdf_to_itself(config: Config) -> None:
    """On Fly, as the appliance app, the ``.pdf`` rule is not applied: the PDF is rendered."""
    assert isinstance(decide(config, "/2025/boston/heats.pdf"), PrintJob)


def test_a_pdf_of_no_known_event_is_404(config: Config) -> None:
    """A PDF path that no region rule gives to an owner is answered 404 here."""
    answer = decide(config, "/2024/nowhere/heats.pdf")
    assert isinstance(answer, Reply) and answer.status == 404


def test_a_pdf_of_an_event_held_here_goes_to_its_tenant(config: Config) -> None:
    """The appliance's own events are served by their tenant, as on any router."""
    decision = decide(config, "/2025/local/heats.pdf")
    assert isinstance(decision, ToTenant) and decision.tenant.path == "/2025/local/"


@pytest.mark.parametrize(
    ("target", "method"),
    [("/2025/boston/heats.pdf", b"POST"), ("/2025/boston/poster.pdf", b"GET")],
)
def test_other_requests_are_not_print_jobs(config: Config, target: str, method: bytes) -> None:
    """Only GET/HEAD of a known PDF endpoint is rendered; the rest follows the rules."""
    assert not isinstance(decide(config, target, method), PrintJob)


@pytest.mark.parametrize("target", ["/2025/boston/heats/book.pdf", "/2025/boston/poster.pdf"])
def test_a_pdf_we_do_not_make_of_an_event_held_elsewhere_is_404(
    tmp_path: Path, target: str
) -> None:
    """As generated (region rules only, no ``.pdf`` rule naming itself), the appliance
    answers an unknown PDF of another region's event (the original app's
    ``heats/book.pdf``) with 404, not a replay to a region its app has no machine in."""
    (tmp_path / "token").write_text(TOKEN + "\n")
    config = load(
        tmp_path, APPLIANCE.replace('      - {path: "\\\\.pdf$", app: showcase-printer}\n', "")
    )
    assert len(config.routes.fly.replay) == 2
    answer = decide(config, target)
    assert isinstance(answer, Reply)
    assert (answer.status, answer.kind) == (404, "appliance")


def test_without_appliance_a_pdf_is_replayed(tmp_path: Path) -> None:
    """A router without ``appliance`` replays PDFs to the appliance app as its rule says."""
    config = load(tmp_path, APPLIANCE.replace("appliance:\n  token_file: token\n", ""))
    here = FlyHere(app="showcase", region="ord", port=3000)
    decision = decide(config, "/2025/boston/heats.pdf", here=here)
    assert isinstance(decision, Reply) and json.loads(decision.body) == {"app": "showcase-printer"}


# -- fetching the data and rendering --------------------------------------------------------------


class PrintJson(Resource):
    """The event app's ``print.json``: the data to the right token only."""

    isLeaf = True

    def __init__(self, data: dict[str, dict[str, Any]], status: int = 200) -> None:
        super().__init__()
        self.data = data
        self.status = status
        self.seen: list[tuple[str, str | None]] = []

    def render_GET(self, request: Request) -> bytes:
        path = request.path.decode()
        auth = request.getHeader("authorization")
        self.seen.append((path, auth))
        if auth != f"Bearer {TOKEN}":
            request.setResponseCode(401)
            return b"no"
        if self.status != 200 or path not in self.data:
            request.setResponseCode(self.status if self.status != 200 else 404)
            return b"no"
        request.setHeader("content-type", "application/json")
        return json.dumps(self.data[path]).encode()


class Renders:
    """A renderer double: records what it was asked, answers a tiny PDF (or None)."""

    def __init__(self, result: bytes | None = b"%PDF-1.4 fake") -> None:
        self.result = result
        self.calls: list[tuple[str, Any]] = []

    def __call__(self, relative: str, data: Any) -> Deferred[bytes | None]:
        self.calls.append((relative, data))
        return succeed(self.result)


@pytest.fixture
def logged() -> Iterator[Sequence[LogEvent]]:
    with capturedLogs() as events:
        yield events


def result(d: Deferred[Reply]) -> Reply:
    answers: list[Reply] = []
    d.addCallback(answers.append)
    assert answers, "the print job did not finish"
    return answers[0]


def test_the_data_is_fetched_with_the_token_and_rendered(tmp_path: Path) -> None:
    """The owner's print.json is fetched with ``Authorization: Bearer <token>``; the
    renderer gets the relative path and the data; the answer is the PDF."""
    app = PrintJson({"/2025/boston/print.json": BOSTON_DATA})
    renders = Renders()
    printer = Printer(MemoryReactorClock(), StubTreq(app), renders)
    answer = result(printer.print(job_for(tmp_path, "people/12/heats.pdf")))
    assert (answer.status, answer.body, answer.kind) == (200, b"%PDF-1.4 fake", "appliance")
    assert (b"content-type", b"application/pdf") in answer.headers
    assert app.seen == [("/2025/boston/print.json", f"Bearer {TOKEN}")]
    assert renders.calls == [("people/12/heats.pdf", BOSTON_DATA)]


def test_the_logo_is_found_under_the_appliances_public_directory(tmp_path: Path) -> None:
    """The print data's relative logo (``images/…``) is rendered from the appliance's own
    public directory; an absolute one or a URL is passed on unchanged."""
    data = {**BOSTON_DATA, "event": {**BOSTON_DATA["event"], "logo": "images/boston.png"}}
    renders = Renders()
    app = PrintJson({"/2025/boston/print.json": data})
    printer = Printer(MemoryReactorClock(), StubTreq(app), renders)
    assert result(printer.print(job_for(tmp_path))).status == 200
    [(_, rendered)] = renders.calls
    assert rendered["event"]["logo"] == str(tmp_path / "public" / "images" / "boston.png")


def test_an_unknown_pdf_is_404(tmp_path: Path) -> None:
    """A path the renderer does not know (e.g. a person not in the data) is 404."""
    app = PrintJson({"/2025/boston/print.json": BOSTON_DATA})
    printer = Printer(MemoryReactorClock(), StubTreq(app), Renders(None))
    assert result(printer.print(job_for(tmp_path))).status == 404


@pytest.mark.parametrize("status", [401, 404, 500])
def test_a_refused_fetch_is_502_and_logged(
    tmp_path: Path, status: int, logged: Sequence[LogEvent]
) -> None:
    """print.json answering 401 (wrong token), 404 (unknown event) or an error: 502 page,
    a log line naming the URL and the status, nothing rendered."""
    renders = Renders()
    printer = Printer(MemoryReactorClock(), StubTreq(PrintJson({}, status)), renders)
    answer = result(printer.print(job_for(tmp_path)))
    assert (answer.status, answer.kind) == (502, "appliance")
    assert renders.calls == []
    lines = [e for e in logged if "print data" in e.get("log_format", "")]
    assert lines and lines[-1]["code"] == status
    assert lines[-1]["url"].endswith("/2025/boston/print.json")


def test_a_wrong_token_is_refused(tmp_path: Path) -> None:
    """With another token in the token file the owner refuses: 502."""
    job = job_for(tmp_path)
    (tmp_path / "token").write_text("not-it\n")
    app = PrintJson({"/2025/boston/print.json": BOSTON_DATA})
    printer = Printer(MemoryReactorClock(), StubTreq(app), Renders())
    assert result(printer.print(job)).status == 502
    assert app.seen == [("/2025/boston/print.json", "Bearer not-it")]


class Unreachable:
    def get(self, url: str, headers: Any = None) -> Deferred[Any]:
        return fail(ConnectionRefusedError("127.0.0.1:9101"))


class Silent:
    """An owner that accepts the request and never answers."""

    def __init__(self) -> None:
        self.cancelled = False

    def get(self, url: str, headers: Any = None) -> Deferred[Any]:
        return Deferred(lambda _: setattr(self, "cancelled", True))


def test_an_unreachable_owner_is_502(tmp_path: Path, logged: Sequence[LogEvent]) -> None:
    """A refused connection to the owner's region: 502 and a log line."""
    printer = Printer(MemoryReactorClock(), Unreachable(), Renders())
    assert result(printer.print(job_for(tmp_path))).status == 502
    assert any("unreachable" in e.get("log_format", "") for e in logged)


def test_a_silent_owner_times_out_with_502(tmp_path: Path) -> None:
    """An owner that does not answer within the timeout: the fetch is cancelled, 502."""
    clock, http = MemoryReactorClock(), Silent()
    printing = Printer(clock, http, Renders()).print(job_for(tmp_path))
    answers: list[Reply] = []
    printing.addCallback(answers.append)
    clock.advance(FETCH_TIMEOUT - 1)
    assert answers == []
    clock.advance(2)
    assert http.cancelled and answers[0].status == 502


def test_a_missing_token_file_is_502(tmp_path: Path, logged: Sequence[LogEvent]) -> None:
    """Without its token file the appliance asks nobody: 502 and a log line naming the file."""
    job = job_for(tmp_path)
    (tmp_path / "token").unlink()
    app = PrintJson({})
    printer = Printer(MemoryReactorClock(), StubTreq(app), Renders())
    assert result(printer.print(job)).status == 502
    assert app.seen == []
    assert any(e.get("path") == job.token_file for e in logged)


def test_data_of_another_version_is_502(tmp_path: Path) -> None:
    """Print data the renderer cannot read (PrintDataError) is a 502, not a crash."""
    from showcase.printing.model import PrintDataError

    def refuse(relative: str, data: Any) -> Deferred[bytes | None]:
        return fail(PrintDataError("version 99"))

    app = PrintJson({"/2025/boston/print.json": BOSTON_DATA})
    printer = Printer(MemoryReactorClock(), StubTreq(app), refuse)
    assert result(printer.print(job_for(tmp_path))).status == 502


# -- through a real router ------------------------------------------------------------------------


def test_router_answers_a_pdf_from_the_owners_data(config: Config) -> None:
    """A GET for a Boston PDF at the appliance is answered application/pdf from Boston's
    data; the access log says ``appliance`` and the owning region."""
    h = RouterHarness(config)
    app = PrintJson({"/2025/boston/print.json": BOSTON_DATA})
    renders = Renders()
    h.router.printer = Printer(h.clock, StubTreq(app), renders)
    client = h.client()
    client.send(b"GET /2025/boston/heats.pdf HTTP/1.1\r\nHost: p.example\r\n\r\n")
    response = client.response()
    assert (response.status, response.body) == (200, b"%PDF-1.4 fake")
    assert response.header(b"content-type") == b"application/pdf"
    assert renders.calls == [("heats.pdf", BOSTON_DATA)]
    line = h.access()[-1]
    assert (line["response_type"], line["destination"]) == ("appliance", "region=bos")


def test_router_drops_the_job_when_the_client_leaves(config: Config) -> None:
    """A client that goes away while the data is fetched cancels the fetch; nothing is
    written and nothing fails later."""
    h = RouterHarness(config)
    http = Silent()
    h.router.printer = Printer(h.clock, http, Renders())
    client = h.client()
    client.send(b"GET /2025/boston/heats.pdf HTTP/1.1\r\nHost: p.example\r\n\r\n")
    client.leave()
    assert http.cancelled
    h.clock.advance(FETCH_TIMEOUT + 1)
    assert client.received() == b""
    assert h.access()[-1]["status"] == 499
