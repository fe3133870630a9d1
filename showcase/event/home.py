"""The event's home page: what there is, linked."""

from __future__ import annotations

from klein import Klein
from twisted.web.server import Request

from .context import Context


def register(app: Klein, ctx: Context) -> None:
    @app.route("/", methods=["GET"], endpoint="home")
    def home(request: Request) -> bytes:
        judges = ctx.db.query("SELECT id, name FROM people WHERE type = 'Judge' ORDER BY name")
        counts = ctx.db.one(
            "SELECT (SELECT count(*) FROM people WHERE id > 0) AS people,"
            " (SELECT count(*) FROM studios WHERE id > 0) AS studios,"
            " (SELECT count(DISTINCT number) FROM heats WHERE number > 0) AS heats"
        )
        return ctx.render(request, "home.html", judges=judges, counts=counts)
