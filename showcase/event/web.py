"""The event app's HTTP surface: one Klein app per process, mounted under the event's prefix.

Each area of the app (home, organizer pages, judging, results, public pages)
is a module with ``register(app, ctx)`` adding its routes to the Klein
instance made here; nothing is module-level state.
"""

from __future__ import annotations

from collections.abc import Callable

from klein import Klein
from twisted.web.resource import Resource

from . import home, judging, organizer, printing_pages, public, results
from .common_routes import add_static_and_errors
from .context import Context

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
    add_static_and_errors(app)
    return app


def mount(app: Klein, prefix: str) -> Resource:
    """The resource tree that serves ``app`` under the URL ``prefix`` ("" = at the root)."""
    resource: Resource = app.resource()
    for segment in reversed([s for s in prefix.split("/") if s]):
        parent = Resource()
        parent.putChild(segment.encode("utf-8"), resource)
        resource = parent
    return resource
