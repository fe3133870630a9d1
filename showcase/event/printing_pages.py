"""Printed outputs in the event app: the PDFs, the print page, and ``print.json``.

Every endpoint of :data:`showcase.printing.paths.ENDPOINTS` (``heats.pdf``,
``people/<id>/heats.pdf``, ``studios/<id>/heats.pdf``, ``people/heats.pdf``,
``scores/<judge_id>/sheets.pdf``, ``people/backs.pdf``, ``people/<id>/scores.pdf``)
is answered ``application/pdf``, shown inline.  The print data is read on the
reactor thread (where the database connection lives); the PDF is rendered in a
worker thread, so a judge's score post is not held up behind a heat book.  An id
the data does not hold is a 404.

``GET <scope>/print`` lists the PDFs.  ``GET <scope>/print.json`` is the print data
for a router acting as a PDF appliance (spec/fly-replay.md), served only to
``Authorization: Bearer <token>``: the token is ``SHOWCASE_PRINT_TOKEN``, else the
contents of the file ``SHOWCASE_PRINT_TOKEN_FILE`` names (read again when the file
changes).  With no token configured it is a 404; a missing or wrong token a 401.
``SHOWCASE_LOGO`` names the location's logo (spec/cli.md: a URL, or a path under the
site's ``public/``); the PDFs show it when it is a file they can read.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable, Mapping
from typing import Any

from klein import Klein
from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.server import Request

from showcase.printing import render_path
from showcase.printing.paths import ENDPOINTS, Endpoint

from .context import Context
from .print_data import print_data

log = Logger()

Render = Callable[[], "bytes | None"]
RunInThread = Callable[[Render], "Deferred[bytes | None]"]


def thread_runner(reactor: Any = None) -> RunInThread:
    """Run a render in ``reactor``'s thread pool (the running reactor's when None)."""

    def run(work: Render) -> Deferred[bytes | None]:
        from twisted.internet.threads import deferToThreadPool

        chosen = reactor
        if chosen is None:
            from twisted.internet import reactor as chosen
        result: Deferred[bytes | None] = deferToThreadPool(chosen, chosen.getThreadPool(), work)
        return result

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
        return print_data(ctx.db, logo=logo_file(environ.get("SHOWCASE_LOGO", "")))

    def pdf(request: Request, endpoint: Endpoint, item_id: int | None) -> Deferred[bytes]:
        relative = endpoint.path(item_id)
        printable = data()
        rendering = run(lambda: render_path(relative, printable))

        def answer(body: bytes | None) -> bytes:
            if body is None:
                return ctx.not_found(request, f"Nothing to print at {relative}")
            filename = f"{ctx.db.name}-{relative.replace('/', '-')}".replace('"', "")
            request.setHeader(b"content-type", b"application/pdf")
            request.setHeader(b"content-disposition", f'inline; filename="{filename}"'.encode())
            request.setHeader(b"cache-control", b"no-cache")
            return body

        def failed(failure: Failure) -> bytes:
            log.failure("rendering {relative}", failure, relative=relative)
            request.setResponseCode(500)
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return b"The PDF could not be made.\n"

        result: Deferred[bytes] = rendering.addCallbacks(answer, failed)
        return result

    for endpoint in ENDPOINTS:
        add_pdf_route(app, endpoint, pdf)

    @app.route("/print", methods=["GET"], endpoint="printing_index")
    def index(request: Request) -> bytes:
        return ctx.render(request, "printing/index.html", **page_values(ctx))

    @app.route("/print.json", methods=["GET"], endpoint="printing_data")
    def data_json(request: Request) -> bytes:
        expected = token.current()
        if expected is None:
            return ctx.not_found(request)
        if not token.allows(expected, request.getHeader(b"authorization")):
            request.setResponseCode(401)
            request.setHeader(b"www-authenticate", b'Bearer realm="print"')
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return b"A valid print token is needed.\n"
        request.setHeader(b"cache-control", b"no-store")
        return ctx.json(request, data())


def logo_file(value: str, public: str = "public") -> str | None:
    """The file of a ``SHOWCASE_LOGO`` value: a relative path is under the site's ``public/``
    (kept relative, so an appliance with the same layout finds it too); a URL has none."""
    value = value.strip()
    if not value or "://" in value:
        return None
    if os.path.isabs(value) and os.path.isfile(value):
        return value
    return os.path.join(public, value.lstrip("/"))


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
