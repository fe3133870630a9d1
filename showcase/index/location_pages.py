"""Locations (studios): ``locations`` (list), ``locations/new``, ``locations/<id>/edit``.

Administrators see and change everything.  A site user sees their own
locations and may change their logo and locale only: the name, key and region
decide routing and who may do what.  A key change that would rename an
existing event database is refused.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from klein import Klein
from twisted.web.server import Request

from showcase.event import forms

from . import fields
from .access import User, require, require_admin, require_signed_in

if TYPE_CHECKING:
    from .app import IndexContext

FIELDS = ("name", "key", "region", "logo", "locale")
ADMIN_FIELDS = ("name", "key", "region")


def register(app: Klein, ctx: IndexContext) -> None:
    db = ctx.db

    def regions() -> list[str]:
        return [str(r["code"]) for r in db.query("SELECT code FROM regions ORDER BY code")]

    def parse(form: forms.Form, location_id: int | None, user: User) -> dict[str, Any]:
        values: dict[str, Any] = {
            "logo": form.field("logo", fields.logo, None),
            "locale": form.field("locale", fields.locale, "en_US"),
        }
        if not user.admin:
            return values  # a site user's post of name, key or region is ignored
        codes = regions()
        values["name"] = form.field("name", partial(fields.name, what="location's name"), "")
        values["key"] = form.field("key", partial(fields.key, what="key (e.g. boston)"), "")
        values["region"] = form.field(
            "region", lambda raw: forms.choice(raw, codes) if raw.strip() else None, None
        )
        for column in ("name", "key"):
            clash = db.value(
                f"SELECT id FROM locations WHERE {column} = ? COLLATE NOCASE AND id IS NOT ?",
                [values[column], location_id],
            )
            if values[column] and clash is not None:
                form.error(column, f"There is already a location with that {column}.")
        if form.ok and location_id is not None:
            moved = ctx.moved(partial(rekey, location_id, values["key"]))
            if moved:
                form.error(
                    "key",
                    f"A new key would move this location's events and rename the database"
                    f" {', '.join(moved)}, leaving its data behind; nothing was saved.",
                )
        return values

    def form_page(
        request: Request, user: User, form: forms.Form, location_id: int | None, status: int = 200
    ) -> bytes:
        return ctx.render_for(
            request,
            user,
            "index/location_form.html",
            status=status,
            form=form,
            location_id=location_id,
            regions=[(code, code) for code in regions()],
        )

    def editable(user: User, location_id: int) -> dict[str, Any] | None:
        require_signed_in(user)
        row = db.one("SELECT * FROM locations WHERE id = ?", [location_id])
        if row is None:
            return None
        require(user.manages(row["name"]), f"You do not manage {row['name']}.")
        return dict(row)

    def save(request: Request, user: User, location_id: int | None) -> bytes:
        ctx.check_csrf(request)
        form = forms.Form.from_args(request.args)
        values = parse(form, location_id, user)
        if not form.ok:
            if not user.admin and location_id is not None:
                row = editable(user, location_id) or {}
                form.values.update({k: forms.text_of(row.get(k)) for k in ADMIN_FIELDS})
            return form_page(request, user, form, location_id, status=422)
        with db.transaction():
            if location_id is None:
                db.insert("locations", **values)
            else:
                db.update("locations", location_id, **values)
        ctx.apply(user)
        return ctx.redirect(request, "/locations")

    @app.route("/locations", methods=["GET"], endpoint="index_locations")
    def index(request: Request) -> bytes:
        user = ctx.user(request)
        require_signed_in(user)
        rows = [dict(r) for r in db.query("SELECT * FROM locations ORDER BY name COLLATE NOCASE")]
        mine = [r for r in rows if user.manages(r["name"])]
        require(bool(mine) or user.admin, "You manage no location.")
        return ctx.render_for(request, user, "index/locations.html", locations=mine)

    @app.route("/locations/new", methods=["GET"], endpoint="index_location_new")
    def new(request: Request) -> bytes:
        user = ctx.user(request)
        require_admin(user)
        return form_page(request, user, forms.Form({"locale": "en_US"}), None)

    @app.route("/locations/new", methods=["POST"], endpoint="index_location_create")
    def create(request: Request) -> bytes:
        user = ctx.user(request)
        require_admin(user)
        return save(request, user, None)

    @app.route("/locations/<int:location_id>/edit", methods=["GET"], endpoint="index_location_edit")
    def edit(request: Request, location_id: int) -> bytes:
        user = ctx.user(request)
        row = editable(user, location_id)
        if row is None:
            return ctx.not_found(request, "No such location")
        return form_page(request, user, forms.form_of(row, FIELDS), location_id)

    @app.route(
        "/locations/<int:location_id>/edit", methods=["POST"], endpoint="index_location_update"
    )
    def update(request: Request, location_id: int) -> bytes:
        user = ctx.user(request)
        if editable(user, location_id) is None:
            return ctx.not_found(request, "No such location")
        return save(request, user, location_id)


def rekey(location_id: int, key: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The event rows with location ``location_id``'s key changed to ``key``."""
    return [{**r, "location_key": key} if r["location_id"] == location_id else r for r in rows]
