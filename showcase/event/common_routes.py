"""Routes every Klein app of ours has: the package's static files and the 403 page."""

from __future__ import annotations

from klein import Klein
from twisted.python.failure import Failure
from twisted.web.iweb import IRequest
from twisted.web.server import Request
from twisted.web.static import File

from .context import Forbidden
from .paths import STATIC


def add_static_and_errors(app: Klein) -> None:
    """``/static/`` from the package's static files, and 403 for :class:`Forbidden`."""

    @app.route("/static/", branch=True)
    def static(request: Request) -> File:
        request.setHeader(b"cache-control", b"public, max-age=3600")
        return File(STATIC)

    @app.handle_errors(Forbidden)
    def forbidden(request: IRequest, failure: Failure) -> bytes:
        request.setResponseCode(403)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return f"Forbidden: {failure.value}\n".encode()
