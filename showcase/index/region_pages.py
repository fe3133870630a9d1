"""Regions: ``regions`` (list), ``regions/new``, ``regions/<id>/edit``; administrators only.

A region is where machines run: ``code`` (a Fly region such as ``iad``, or a
Kamal host's name), ``type`` (``fly`` or ``kamal``) and a ``location`` (the
city, shown to people).  Locations pick their region from this list.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from klein import Klein
from twisted.web.server import Request

from showcase.event import forms

from . import fields
from .access import User, require_admin

if TYPE_CHECKING:
    from .app import IndexContext

FIELDS = ("code", "type", "location")


def register(app: Klein, ctx: IndexContext) -> None:
    db = ctx.db

    def parse(form: forms.Form, region_id: int | None) -> dict[str, Any]:
        values = {
            "code": form.field("code", fields.region_code, ""),
            "type": form.field("type", partial(forms.choice, choices=fields.REGION_TYPES), ""),
            "location": form.field("location", forms.optional_text, None),
        }
        clash = db.value(
            "SELECT id FROM regions WHERE code = ? AND id IS NOT ?", [values["code"], region_id]
        )
        if values["code"] and clash is not None:
            form.error("code", "There is already a region with that code.")
        return values

    def form_page(
        request: Request, user: User, form: forms.Form, region_id: int | None, status: int = 200
    ) -> bytes:
        return ctx.render_for(
            request,
            user,
            "index/region_form.html",
            status=status,
            form=form,
            region_id=region_id,
            types=[(t, t) for t in fields.REGION_TYPES],
        )

    def save(request: Request, user: User, region_id: int | None) -> bytes:
        ctx.check_csrf(request)
        form = forms.Form.from_args(request.args)
        values = parse(form, region_id)
        if not form.ok:
            return form_page(request, user, form, region_id, status=422)
        with db.transaction():
            if region_id is None:
                db.insert("regions", **values)
            else:
                db.update("regions", region_id, **values)
        ctx.apply(user)
        return ctx.redirect(request, "/regions")

    def admin(request: Request) -> User:
        user = ctx.user(request)
        require_admin(user)
        return user

    def exists(region_id: int) -> bool:
        return db.value("SELECT id FROM regions WHERE id = ?", [region_id]) is not None

    @app.route("/regions", methods=["GET"], endpoint="index_regions")
    def index(request: Request) -> bytes:
        user = admin(request)
        rows = db.query("SELECT * FROM regions ORDER BY code")
        return ctx.render_for(request, user, "index/regions.html", regions=rows)

    @app.route("/regions/new", methods=["GET"], endpoint="index_region_new")
    def new(request: Request) -> bytes:
        return form_page(request, admin(request), forms.Form({"type": "fly"}), None)

    @app.route("/regions/new", methods=["POST"], endpoint="index_region_create")
    def create(request: Request) -> bytes:
        return save(request, admin(request), None)

    @app.route("/regions/<int:region_id>/edit", methods=["GET"], endpoint="index_region_edit")
    def edit(request: Request, region_id: int) -> bytes:
        user = admin(request)
        row = db.one("SELECT * FROM regions WHERE id = ?", [region_id])
        if row is None:
            return ctx.not_found(request, "No such region")
        return form_page(request, user, forms.form_of(dict(row), FIELDS), region_id)

    @app.route("/regions/<int:region_id>/edit", methods=["POST"], endpoint="index_region_update")
    def update(request: Request, region_id: int) -> bytes:
        user = admin(request)
        if not exists(region_id):
            return ctx.not_found(request, "No such region")
        return save(request, user, region_id)
