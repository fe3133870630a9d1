"""Agenda categories: ``<scope>/categories`` (the agenda in order), new, edit, delete, move.

A new category goes to the end of the agenda; "up" and "down" swap it with
its neighbour (orders are first made 1..N, so gaps and ties from an imported
database do no harm).  Deleting a category leaves the dances that landed in
it without a category for that kind, and drops its generated parts.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from klein import Klein
from twisted.web.server import Request

from . import forms
from .context import Context
from .dance_pages import LINKS
from .record_pages import submit

FIELDS = ("name", "day", "time", "duration", "max_heat_size", "ballrooms")
DIRECTIONS = ("up", "down")


def register(app: Klein, ctx: Context) -> None:
    db = ctx.db

    def category(category_id: int) -> dict[str, Any] | None:
        row = db.one("SELECT * FROM categories WHERE id = ?", [category_id])
        return dict(row) if row is not None else None

    def parse(form: forms.Form, category_id: int | None) -> dict[str, Any]:
        f = form.field
        number = forms.integer
        values: dict[str, Any] = {
            "name": f("name", partial(forms.text, required="Enter the category's name."), ""),
            "day": f("day", partial(forms.optional_text, max_length=40), None),
            "time": f("time", forms.clock, None),
            "duration": f("duration", partial(number, minimum=0, maximum=1440), None),
            "max_heat_size": f("max_heat_size", partial(number, minimum=1, maximum=100), None),
            "ballrooms": f("ballrooms", partial(number, minimum=1, maximum=4), None),
        }
        if values["name"]:
            clash = db.value(
                "SELECT id FROM categories WHERE name = ? COLLATE NOCASE AND id IS NOT ?",
                [values["name"], category_id],
            )
            if clash is not None:
                form.error("name", "There is already a category of that name.")
        return values

    def form_page(
        request: Request, form: forms.Form, category_id: int | None, status: int = 200
    ) -> bytes:
        return ctx.render(
            request,
            "organizer/category_form.html",
            status=status,
            form=form,
            category_id=category_id,
        )

    def index_page(request: Request, status: int = 200, problem: str = "") -> bytes:
        lands = " + ".join(
            f'(SELECT count(*) FROM dances d WHERE d.{link} = c.id AND d."order" > 0)'
            for link in LINKS
        )
        rows = db.query(f'SELECT c.*, {lands} AS dances FROM categories c ORDER BY "order", id')
        return ctx.render(
            request, "organizer/categories.html", status=status, categories=rows, problem=problem
        )

    @app.route("/categories", methods=["GET"], endpoint="organizer_categories")
    def index(request: Request) -> bytes:
        return index_page(request)

    @app.route("/categories/new", methods=["GET"], endpoint="organizer_category_new")
    def new(request: Request) -> bytes:
        return form_page(request, forms.Form(), None)

    @app.route("/categories/new", methods=["POST"], endpoint="organizer_category_create")
    def create(request: Request) -> bytes:
        def write(values: dict[str, Any]) -> None:
            last = db.value('SELECT max("order") FROM categories') or 0
            db.insert("categories", order=int(last) + 1, **values)

        return submit(ctx, request, None, parse, form_page, write, "/categories")

    @app.route(
        "/categories/<int:category_id>/edit", methods=["GET"], endpoint="organizer_category_edit"
    )
    def edit(request: Request, category_id: int) -> bytes:
        row = category(category_id)
        if row is None:
            return ctx.not_found(request, "No such category")
        return form_page(request, forms.form_of(row, FIELDS), category_id)

    @app.route(
        "/categories/<int:category_id>/edit",
        methods=["POST"],
        endpoint="organizer_category_update",
    )
    def update(request: Request, category_id: int) -> bytes:
        ctx.check_csrf(request)
        if category(category_id) is None:
            return ctx.not_found(request, "No such category")
        return submit(
            ctx,
            request,
            category_id,
            parse,
            form_page,
            lambda v: db.update("categories", category_id, **v),
            "/categories",
            csrf_checked=True,
        )

    @app.route(
        "/categories/<int:category_id>/delete",
        methods=["POST"],
        endpoint="organizer_category_delete",
    )
    def delete(request: Request, category_id: int) -> bytes:
        ctx.check_csrf(request)
        if category(category_id) is None:
            return ctx.not_found(request, "No such category")
        with db.transaction():
            for link in LINKS:
                db.execute(f"UPDATE dances SET {link} = NULL WHERE {link} = ?", [category_id])
            db.execute(
                "UPDATE solos SET category_override_id = NULL WHERE category_override_id = ?",
                [category_id],
            )
            db.execute("DELETE FROM cat_extensions WHERE category_id = ?", [category_id])
            db.execute("DELETE FROM categories WHERE id = ?", [category_id])
        return ctx.redirect(request, "/categories")

    @app.route(
        "/categories/<int:category_id>/move", methods=["POST"], endpoint="organizer_category_move"
    )
    def move(request: Request, category_id: int) -> bytes:
        ctx.check_csrf(request)
        if category(category_id) is None:
            return ctx.not_found(request, "No such category")
        direction = forms.Form.from_args(request.args).get("direction")
        if direction not in DIRECTIONS:
            return index_page(request, status=422, problem="Move a category up or down.")
        rows = db.query('SELECT id, "order" FROM categories ORDER BY "order", id')
        stored = {int(r["id"]): r["order"] for r in rows}
        ids = list(stored)
        at = ids.index(category_id)
        to = at - 1 if direction == "up" else at + 1
        if 0 <= to < len(ids):
            ids[at], ids[to] = ids[to], ids[at]
        with db.transaction():
            for order, row_id in enumerate(ids, start=1):
                if stored[row_id] != order:
                    db.update("categories", row_id, order=order)
        return ctx.redirect(request, "/categories")
