"""Events: the index page, ``showcases/new``, ``showcases/<id>/edit`` and the progress page.

Saving an event applies it at once (:meth:`IndexContext.apply`) and sends the
browser to ``config/progress``, which follows the user's
``config_update_index_<user>`` stream and opens the event when it is ready.
A change that would rename an event's existing database is refused (422).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from klein import Klein
from twisted.web.server import Request

from showcase.event import forms

from . import fields
from .access import User, require, require_signed_in
from .db import event, events
from .provision import stream_for
from .studio_pages import studios_page

if TYPE_CHECKING:
    from .app import IndexContext

FIELDS = ("year", "key", "name", "date", "location")


def register(app: Klein, ctx: IndexContext) -> None:
    db = ctx.db

    def managed_locations(user: User) -> list[dict[str, Any]]:
        rows = [dict(r) for r in db.query("SELECT * FROM locations ORDER BY name COLLATE NOCASE")]
        return [r for r in rows if user.manages(r["name"])]

    def location_of(location_id: int | None) -> dict[str, Any] | None:
        row = db.one("SELECT * FROM locations WHERE id = ?", [location_id])
        return dict(row) if row is not None else None

    def parse(
        form: forms.Form, showcase_id: int | None, user: User, fixed: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The posted event; a location the user does not manage is refused (403)."""
        if fixed is not None:
            location_id: int | None = int(fixed["id"])
        else:
            all_ids = {int(r["id"]) for r in db.query("SELECT id FROM locations")}
            required = "Choose the location."
            location_id = form.field("location", partial(forms.reference, ids=all_ids), None)
            if location_id is None and "location" not in form.errors:
                form.error("location", required)
        location = location_of(location_id)
        if location is not None:
            require(user.manages(location["name"]), f"You do not manage {location['name']}.")
        values = {
            "year": form.field("year", fields.year, None),
            "key": form.field("key", partial(fields.key, what="key (e.g. showcase)"), ""),
            "name": form.field("name", partial(fields.name, what="event's name"), ""),
            "date": form.field("date", forms.event_date, None),
            "location_id": location_id,
        }
        if form.ok:
            check(form, showcase_id, values, location or {})
        return values

    def check(
        form: forms.Form, showcase_id: int | None, values: dict[str, Any], location: dict[str, Any]
    ) -> None:
        clash = db.value(
            "SELECT id FROM showcases WHERE year = ? AND location_id = ? AND key = ?"
            " AND id IS NOT ?",
            [values["year"], values["location_id"], values["key"], showcase_id],
        )
        if clash is not None:
            form.error("key", f"{location['name']} already has a {values['year']} event so keyed.")
            return
        row = {
            "id": showcase_id if showcase_id is not None else -1,
            "year": values["year"],
            "key": values["key"],
            "location_id": values["location_id"],
            "location_key": location.get("key"),
        }

        def change(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [r for r in rows if r["id"] != showcase_id] + [row]

        moved = ctx.moved(change)
        if moved:
            form.error(
                "key",
                f"Saving this would move an event to a new address and rename its database"
                f" {', '.join(moved)}, leaving its data behind; nothing was saved.",
            )

    def form_page(
        request: Request,
        user: User,
        form: forms.Form,
        showcase_id: int | None,
        status: int = 200,
        fixed: dict[str, Any] | None = None,
    ) -> bytes:
        choices = [(str(r["id"]), r["name"]) for r in managed_locations(user)]
        return ctx.render_for(
            request,
            user,
            "index/showcase_form.html",
            status=status,
            form=form,
            showcase_id=showcase_id,
            locations=choices,
            fixed=fixed,
        )

    def save(
        request: Request, user: User, showcase_id: int | None, fixed: dict[str, Any] | None = None
    ) -> bytes:
        ctx.check_csrf(request)
        form = forms.Form.from_args(request.args)
        values = parse(form, showcase_id, user, fixed)
        if not form.ok:
            return form_page(request, user, form, showcase_id, status=422, fixed=fixed)
        with db.transaction():
            if showcase_id is None:
                showcase_id = db.insert("showcases", **values)
            else:
                db.update("showcases", showcase_id, **values)
        ctx.apply(user, event(db, showcase_id))
        return ctx.redirect(request, "/config/progress")

    def existing(user: User, showcase_id: int) -> dict[str, Any] | None:
        """The showcase row, if the user may change it (403 when not)."""
        require_signed_in(user)
        row = db.one("SELECT * FROM showcases WHERE id = ?", [showcase_id])
        if row is None:
            return None
        location = location_of(row["location_id"]) or {}
        require(user.manages(location.get("name")), f"You do not manage {location.get('name')}.")
        return dict(row)

    @app.route("/", methods=["GET"], endpoint="index_home")
    def home(request: Request) -> bytes:
        user = ctx.user(request)
        if not user.signed_in:
            return studios_page(ctx, request, user)
        mine = [e for e in events(db) if user.manages(e.location_name)]
        return ctx.render_for(request, user, "index/home.html", events=mine)

    @app.route("/showcases/new", methods=["GET"], endpoint="index_showcase_new")
    def new(request: Request) -> bytes:
        user = ctx.user(request)
        require_signed_in(user)
        if not managed_locations(user) and user.admin:
            return ctx.redirect(request, "/locations/new")  # an event needs a location first
        require(bool(managed_locations(user)), "You manage no location.")
        form = forms.Form({"year": str(ctx.today().year), "key": "showcase"})
        args: dict[bytes, list[bytes]] = request.args or {}
        form.values["location"] = (args.get(b"location") or [b""])[0].decode("ascii", "replace")
        return form_page(request, user, form, None)

    @app.route("/showcases/new", methods=["POST"], endpoint="index_showcase_create")
    def create(request: Request) -> bytes:
        user = ctx.user(request)
        require_signed_in(user)
        return save(request, user, None)

    @app.route("/showcases/<int:showcase_id>/edit", methods=["GET"], endpoint="index_showcase_edit")
    def edit(request: Request, showcase_id: int) -> bytes:
        user = ctx.user(request)
        row = existing(user, showcase_id)
        if row is None:
            return ctx.not_found(request, "No such event")
        form = forms.form_of(row, FIELDS[:-1])
        form.values["location"] = str(row["location_id"])
        return form_page(request, user, form, showcase_id)

    @app.route(
        "/showcases/<int:showcase_id>/edit", methods=["POST"], endpoint="index_showcase_update"
    )
    def update(request: Request, showcase_id: int) -> bytes:
        user = ctx.user(request)
        if existing(user, showcase_id) is None:
            return ctx.not_found(request, "No such event")
        return save(request, user, showcase_id)

    @app.route("/config/progress", methods=["GET"], endpoint="index_progress")
    def progress_page(request: Request) -> bytes:
        user = ctx.user(request)
        require_signed_in(user)
        latest = ctx.provisioner.latest.get(stream_for(user.stream_id))
        return ctx.render_for(request, user, "index/progress.html", latest=latest)

    @app.route("/config/progress.json", methods=["GET"], endpoint="index_progress_json")
    def progress_json(request: Request) -> bytes:
        user = ctx.user(request)
        require_signed_in(user)
        latest = ctx.provisioner.latest.get(stream_for(user.stream_id))
        request.setHeader(b"cache-control", b"no-store")
        return ctx.json(request, latest or {"status": "idle", "progress": 0, "message": ""})

    def requested_location(location_key: str) -> dict[str, Any] | None:
        row = db.one("SELECT * FROM locations WHERE key = ?", [location_key])
        return dict(row) if row is not None else None

    @app.route("/studios/<location_key>/request", methods=["GET"], endpoint="index_request")
    def request_form(request: Request, location_key: str) -> bytes:
        """A studio asks for an event; an anonymous visitor is sent to sign in first."""
        user = ctx.user(request)
        location = requested_location(location_key)
        if location is None:
            return ctx.not_found(request, "No such studio")
        if not user.signed_in:
            return ctx.redirect(request, f"/showcases/new?location={location['id']}")
        require(user.manages(location["name"]), f"You do not manage {location['name']}.")
        form = forms.Form({"year": str(ctx.today().year), "key": "showcase"})
        return form_page(request, user, form, None, fixed=location)

    @app.route("/studios/<location_key>/request", methods=["POST"], endpoint="index_request_post")
    def request_event(request: Request, location_key: str) -> bytes:
        user = ctx.user(request)
        require_signed_in(user)
        location = requested_location(location_key)
        if location is None:
            return ctx.not_found(request, "No such studio")
        require(user.manages(location["name"]), f"You do not manage {location['name']}.")
        return save(request, user, None, fixed=location)
