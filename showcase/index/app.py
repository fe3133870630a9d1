"""The admin (index) app: one Klein app over index.sqlite3, built like the event app.

:class:`IndexContext` is the event app's :class:`~showcase.event.context.Context`
(templates, CSRF double submit, render/json/redirect, publish) over the index
database, plus the signed-in user and the :class:`~.provision.Provisioner`
that applies a saved change.  Each area is a module with ``register(app, ctx)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date
from typing import Any

from klein import Klein
from twisted.python.failure import Failure
from twisted.web.iweb import IRequest
from twisted.web.server import Request

from showcase.event.common_routes import add_static_and_errors
from showcase.event.context import Context, Publish
from showcase.event.db import EventDB
from showcase.event.paths import TEMPLATES

from . import location_pages, region_pages, showcase_pages, studio_pages, update_pages, user_pages
from .access import Denied, User, current_user
from .db import EventName, event_rows, renamed
from .provision import Provisioner, stream_for

Register = Callable[[Klein, "IndexContext"], None]
AREAS: list[Register] = [
    showcase_pages.register,
    studio_pages.register,
    location_pages.register,
    user_pages.register,
    region_pages.register,
    update_pages.register,
]
TITLE = "Showcase"


class IndexContext(Context):
    """What every admin page needs."""

    def __init__(
        self,
        db: EventDB,
        prefix: str,
        provisioner: Provisioner,
        publish: Publish | None = None,
        *,
        today: Callable[[], date] = date.today,
        bcrypt_rounds: int = 12,
        templates: str = TEMPLATES,
    ) -> None:
        super().__init__(db, prefix, publish, templates)
        self.provisioner = provisioner
        self.today = today
        self.bcrypt_rounds = bcrypt_rounds
        self.env.globals["event_url"] = self.event_url

    def event(self) -> dict[str, Any]:
        """The layout's title: the index has no event row."""
        return {"name": TITLE}

    def user(self, request: IRequest) -> User:
        return current_user(self.db, request)

    def render_for(self, request: Request, user: User, template: str, **values: Any) -> bytes:
        """``render`` with the user and their progress stream available to the page."""
        values.setdefault("user", user)
        values.setdefault("progress_stream", stream_for(user.stream_id))
        return self.render(request, template, **values)

    def event_url(self, event: EventName) -> str:
        return self.provisioner.settings.url(event)

    def moved(self, change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> list[str]:
        """The databases on this machine that ``change`` (to the event rows) would rename.

        A change that would rename an existing database is refused: the event would
        come back empty under its new name, its data left behind.
        """
        rows = event_rows(self.db)
        directory = self.provisioner.settings.db_dir
        return [
            name + ".sqlite3"
            for name in renamed(rows, change([dict(r) for r in rows]))
            if os.path.exists(os.path.join(directory, name + ".sqlite3"))
        ]

    def apply(self, user: User, event: EventName | None = None) -> None:
        """Apply the saved change off the request; progress goes to the user's stream."""
        self.provisioner.provision(stream_for(user.stream_id), event)


def build_app(ctx: IndexContext, areas: list[Register] | None = None) -> Klein:
    app = Klein()
    for register in areas if areas is not None else AREAS:
        register(app, ctx)
    add_static_and_errors(app)

    @app.handle_errors(Denied)
    def denied(request: IRequest, failure: Failure) -> bytes:
        assert isinstance(request, Request)
        return ctx.render(request, "index/denied.html", status=403, why=str(failure.value))

    return app
