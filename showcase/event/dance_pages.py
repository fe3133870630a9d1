"""Dances: ``<scope>/dances`` (order, name, where each kind of heat lands), new, edit.

A dance with a negative order is a split copy of a dance (the same dance in
another category); names are unique among the positive orders only, as are
the orders themselves.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from klein import Klein
from twisted.web.server import Request

from . import forms
from .context import Context
from .record_pages import submit

KINDS = ("closed", "open", "solo", "multi")
LINKS = tuple(f"{kind}_category_id" for kind in KINDS) + tuple(
    f"pro_{kind}_category_id" for kind in KINDS
)
FIELDS = ("name", "order", "heat_length", *LINKS)


def register(app: Klein, ctx: Context) -> None:
    db = ctx.db

    def dance(dance_id: int) -> dict[str, Any] | None:
        row = db.one("SELECT * FROM dances WHERE id = ?", [dance_id])
        return dict(row) if row is not None else None

    def categories() -> list[tuple[str, str]]:
        rows = db.query('SELECT id, name FROM categories ORDER BY "order", id')
        return [(str(r["id"]), r["name"]) for r in rows]

    def parse(form: forms.Form, dance_id: int | None) -> dict[str, Any]:
        f = form.field
        category_ids = {int(value) for value, _ in categories()}

        def order(raw: str) -> int:
            number = forms.integer(
                raw, minimum=-9999, maximum=9999, required="Enter the dance's place in the list."
            )
            if not number:
                raise forms.Invalid("The order is a positive number (negative: a split copy).")
            return number

        values: dict[str, Any] = {
            "name": f("name", partial(forms.text, required="Enter the dance's name."), ""),
            "order": f("order", order, 0),
            "heat_length": f("heat_length", partial(forms.integer, minimum=2, maximum=12), None),
        }
        for link in LINKS:
            values[link] = f(link, partial(forms.reference, ids=category_ids), None)
        if values["order"] > 0:
            if values["name"]:
                clash = db.value(
                    'SELECT id FROM dances WHERE name = ? COLLATE NOCASE AND "order" > 0'
                    " AND id IS NOT ?",
                    [values["name"], dance_id],
                )
                if clash is not None:
                    form.error("name", "There is already a dance of that name.")
            taken = db.one(
                'SELECT name FROM dances WHERE "order" = ? AND id IS NOT ?',
                [values["order"], dance_id],
            )
            if taken is not None:
                form.error("order", f"{taken['name']} already has that place.")
        return values

    def form_page(
        request: Request, form: forms.Form, dance_id: int | None, status: int = 200
    ) -> bytes:
        return ctx.render(
            request,
            "organizer/dance_form.html",
            status=status,
            form=form,
            dance_id=dance_id,
            categories=categories(),
            kinds=KINDS,
        )

    @app.route("/dances", methods=["GET"], endpoint="organizer_dances")
    def index(request: Request) -> bytes:
        names = dict(categories())
        rows = db.query('SELECT * FROM dances ORDER BY "order" < 0, abs("order"), id')
        dances = [
            {
                **dict(r),
                "lands": {kind: names.get(str(r[f"{kind}_category_id"]), "") for kind in KINDS},
                "pro_lands": {
                    kind: names.get(str(r[f"pro_{kind}_category_id"]), "") for kind in KINDS
                },
            }
            for r in rows
        ]
        return ctx.render(request, "organizer/dances.html", dances=dances, kinds=KINDS)

    @app.route("/dances/new", methods=["GET"], endpoint="organizer_dance_new")
    def new(request: Request) -> bytes:
        last = db.value('SELECT max("order") FROM dances') or 0
        return form_page(request, forms.Form({"order": str(int(last) + 1)}), None)

    @app.route("/dances/new", methods=["POST"], endpoint="organizer_dance_create")
    def create(request: Request) -> bytes:
        return submit(
            ctx, request, None, parse, form_page, lambda v: db.insert("dances", **v), "/dances"
        )

    @app.route("/dances/<int:dance_id>/edit", methods=["GET"], endpoint="organizer_dance_edit")
    def edit(request: Request, dance_id: int) -> bytes:
        row = dance(dance_id)
        if row is None:
            return ctx.not_found(request, "No such dance")
        return form_page(request, forms.form_of(row, FIELDS), dance_id)

    @app.route("/dances/<int:dance_id>/edit", methods=["POST"], endpoint="organizer_dance_update")
    def update(request: Request, dance_id: int) -> bytes:
        ctx.check_csrf(request)
        if dance(dance_id) is None:
            return ctx.not_found(request, "No such dance")
        return submit(
            ctx,
            request,
            dance_id,
            parse,
            form_page,
            lambda v: db.update("dances", dance_id, **v),
            "/dances",
            csrf_checked=True,
        )
