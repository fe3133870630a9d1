"""The event app's HTTP surface: one Klein app per process, mounted under the event's prefix.

Each area of the app (home, organizer pages, judging, results, public pages)
is a module with ``register(app, ctx)`` adding its routes to the Klein
instance made here; nothing is module-level state.
"""

from __future__ import annotations

from collections.abc import Callable

from klein import Klein
from twisted.python.failure import Failure
from twisted.web.iweb import IRequest
from twisted.web.resource import Resource
from twisted.web.server import Request
from twisted.web.static import File

from . import home, judging, organizer, printing_pages, public, results
from .context import Context, Forbidden
from .paths import STATIC

Register = Callable[[Klein, Context], None]
AREAS: list[Register] = [
    home.register,
    organizer.register,
    judging.register,
    results.register,
    public.register,
    printing_pages.register,
]


def build_app(ctx: Context, areas: list[Register] | None = None) -> Klein:
    app = Klein()
    for register in areas if areas is not None else AREAS:
        register(app, ctx)

    @app.route("/static/", branch=True)
    def static(request: Request) -> File:
        request.setHeader(b"cache-control", b"public, max-age=3600")
        return File(STATIC)

    @app.handle_errors(Forbidden)
    def forbidden(request: IRequest, failure: Failure) -> bytes:
        request.setResponseCode(403)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return f"Forbidden: {failure.value}\n".encode()

    return app


def mount(app: Klein, prefix: str) -> Resource:
    """The resource tree that serves ``app`` under the URL ``prefix`` ("" = at the root)."""
    resource: Resource = app.resource()
    for segment in reversed([s for s in prefix.split("/") if s]):
        parent = Resource()
        parent.putChild(segment.encode("utf-8"), resource)
        resource = parent
    return resource
