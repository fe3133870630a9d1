"""Printed outputs in the event app: the PDFs, the print page, and ``print.json``.

Every endpoint of :data:`showcase.printing.paths.ENDPOINTS` (``heats.pdf``,
``people/<id>/heats.pdf``, ``studios/<id>/heats.pdf``, ``people/heats.pdf``,
``scores/<judge_id>/sheets.pdf``, ``people/backs.pdf``, ``people/<id>/scores.pdf``)
is answered ``application/pdf``, shown inline.  The print data is read and the PDF
rendered in a worker thread (the data on a database connection of its own, in one
read transaction), so a judge's score post is not held up behind a heat book.  An
id the data does not hold is a 404.

``GET <scope>/print`` lists the PDFs.  ``GET <scope>/print.json`` is the print data
for a router acting as a PDF appliance (spec/fly-replay.md), served only to
``Authorization: Bearer <token>``: the token is ``SHOWCASE_PRINT_TOKEN``, else the
contents of the file ``SHOWCASE_PRINT_TOKEN_FILE`` names (read again when the file
changes).  With no token configured it is a 404; a missing or wrong token a 401.
``SHOWCASE_LOGO`` names the location's logo (spec/cli.md: a URL, or a path under the
site's public directory, ``SHOWCASE_PUBLIC_DIR``, default ``public``); the PDFs show it
when it is a file they can read.  ``print.json`` carries it relative, so an appliance
finds it under its own public directory.
"""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import Callable, Mapping
from typing import Any

from klein import Klein
from twisted.internet.defer import CancelledError, Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.server import Request

from showcase.printing import render_path, with_logo_file
from showcase.printing.paths import ENDPOINTS, Endpoint
from showcase.printing.render import RenderQueue

from .context import Context
from .db import EventDB
from .print_data import print_data

log = Logger()

Render = Callable[[], "bytes | None"]
RunInThread = Callable[[Render], "Deferred[bytes | None]"]


def thread_runner(reactor: Any = None) -> RunInThread:
    """Run renders in ``reactor``'s thread pool (the running reactor's when None), one at
    a time (:class:`~showcase.printing.render.RenderQueue`)."""
    queue: RenderQueue | None = None

    def run(work: Render) -> Deferred[bytes | None]:
        nonlocal queue
        if queue is None:  # made on the first PDF: the reactor is only chosen at start-up
            chosen = reactor
            if chosen is None:
                from twisted.internet import reactor as chosen
            queue = RenderQueue(chosen)
        return queue.run(work)

    return run


class PrintToken:
    """The bearer token ``print.json`` is served to, from the environment or a file."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self._file: tuple[str, int, int] | None = None  # path, mtime, size of what was read
        self._token: str | None = None

    def current(self) -> str | None:
        """The configured token; None when there is none."""
        token = self.env.get("SHOWCASE_PRINT_TOKEN", "").strip()
        if token:
            return token
        path = self.env.get("SHOWCASE_PRINT_TOKEN_FILE", "").strip()
        if not path:
            return None
        try:
            stat = os.stat(path)
            key = (path, stat.st_mtime_ns, stat.st_size)
            if key != self._file:
                with open(path, encoding="utf-8") as f:
                    self._token = f.read().strip() or None
                self._file = key
        except (OSError, UnicodeDecodeError) as error:
            log.warn("print token file {path}: {error}", path=path, error=error)
            self._file, self._token = None, None
        return self._token

    def allows(self, token: str, authorization: bytes | None) -> bool:
        """Whether an ``Authorization`` header carries ``token`` as a Bearer token."""
        scheme, _, sent = (authorization or b"").partition(b" ")
        if scheme.lower() != b"bearer":
            return False
        return hmac.compare_digest(sent.strip(), token.encode("utf-8"))


def register(
    app: Klein,
    ctx: Context,
    run_in_thread: RunInThread | None = None,
    env: Mapping[str, str] | None = None,
) -> None:
    """Add the PDFs, the print page and ``print.json`` to ``app``."""
    run = run_in_thread or thread_runner()
    environ: Mapping[str, str] = os.environ if env is None else env
    token = PrintToken(environ)

    def data() -> dict[str, Any]:
        """The print data, read in a worker thread on a connection of its own."""
        db = EventDB(ctx.db.path)
        try:
            db.conn.execute("BEGIN")  # every query sees the same snapshot
            return print_data(db, logo=logo_path(environ.get("SHOWCASE_LOGO", "")))
        finally:
            db.close()

    def failed(request: Request, what: str, failure: Failure) -> bytes:
        if failure.check(CancelledError):  # the client went away: nothing to answer
            return b""
        log.failure("{what}", failure, what=what)
        request.setResponseCode(500)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return f"{what} failed.\n".encode()

    def pdf(request: Request, endpoint: Endpoint, item_id: int | None) -> Deferred[bytes]:
        relative = endpoint.path(item_id)
        public_dir = environ.get("SHOWCASE_PUBLIC_DIR", "public")
        rendering = run(lambda: render_path(relative, with_logo_file(data(), public_dir)))

        def answer(body: bytes | None) -> bytes:
            if body is None:
                return ctx.not_found(request, f"Nothing to print at {relative}")
            filename = f"{ctx.db.name}-{relative.replace('/', '-')}".replace('"', "")
            request.setHeader(b"content-type", b"application/pdf")
            request.setHeader(b"content-disposition", f'inline; filename="{filename}"'.encode())
            request.setHeader(b"cache-control", b"no-cache")
            return body

        result: Deferred[bytes] = rendering.addCallbacks(
            answer, lambda f: failed(request, f"Rendering {relative}", f)
        )
        return result

    for endpoint in ENDPOINTS:
        add_pdf_route(app, endpoint, pdf)

    @app.route("/print", methods=["GET"], endpoint="printing_index")
    def index(request: Request) -> bytes:
        return ctx.render(request, "printing/index.html", **page_values(ctx))

    @app.route("/print.json", methods=["GET"], endpoint="printing_data")
    def data_json(request: Request) -> bytes | Deferred[bytes]:
        expected = token.current()
        if expected is None:
            return ctx.not_found(request)
        if not token.allows(expected, request.getHeader(b"authorization")):
            request.setResponseCode(401)
            request.setHeader(b"www-authenticate", b'Bearer realm="print"')
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return b"A valid print token is needed.\n"
        reading = run(lambda: json.dumps(data(), separators=(",", ":"), default=str).encode())

        def answer(body: bytes | None) -> bytes:
            request.setHeader(b"content-type", b"application/json")
            request.setHeader(b"cache-control", b"no-store")
            return body or b""

        result: Deferred[bytes] = reading.addCallbacks(
            answer, lambda f: failed(request, "Reading the print data", f)
        )
        return result


def logo_path(value: str) -> str | None:
    """The logo as print data carries it: ``SHOWCASE_LOGO`` (a path under the site's public
    directory, or an absolute path); a URL prints no logo."""
    value = value.strip()
    return None if not value or "://" in value else value


def add_pdf_route(
    app: Klein,
    endpoint: Endpoint,
    pdf: Callable[[Request, Endpoint, int | None], Deferred[bytes]],
) -> None:
    """One Klein route for one PDF endpoint."""
    name = "printing_" + endpoint.pattern.replace("<id>", "id").replace("/", "_")

    if endpoint.has_id:

        @app.route(endpoint.route, methods=["GET"], endpoint=name)
        def with_id(request: Request, item_id: int) -> Deferred[bytes]:
            return pdf(request, endpoint, item_id)

    else:

        @app.route(endpoint.route, methods=["GET"], endpoint=name)
        def without_id(request: Request) -> Deferred[bytes]:
            return pdf(request, endpoint, None)


def page_values(ctx: Context) -> dict[str, Any]:
    """What the print page lists: the event-wide PDFs, judges, studios, people with heats."""
    people = ctx.db.query(
        "SELECT p.id, p.name, p.type, p.back, s.name AS studio FROM people p"
        " LEFT JOIN studios s ON s.id = p.studio_id"
        " WHERE p.id > 0 AND p.id IN (SELECT e.lead_id FROM entries e JOIN heats h"
        " ON h.entry_id = e.id WHERE h.number > 0 UNION SELECT e.follow_id FROM entries e"
        " JOIN heats h ON h.entry_id = e.id WHERE h.number > 0)"
        " ORDER BY p.name, p.id"
    )
    return {
        "judges": ctx.db.query("SELECT id, name FROM people WHERE type = 'Judge' ORDER BY name"),
        "studios": ctx.db.query("SELECT id, name FROM studios WHERE id > 0 ORDER BY name"),
        "people": people,
    }
