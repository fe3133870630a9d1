"""Studios: ``<scope>/studios`` (list), new, edit, delete.

Studio 0 "Event Staff" is built in: it is listed but neither edited nor
deleted.  A studio that still has people is not deleted (409 with a message):
its people would be left without a studio.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from klein import Klein
from twisted.web.server import Request

from . import forms
from .context import Context
from .record_pages import submit

FIELDS = ("name", "email", "ballroom")
BALLROOMS = ("A", "B", "C", "D")


def register(app: Klein, ctx: Context) -> None:
    db = ctx.db

    def studio(studio_id: int) -> dict[str, Any] | None:
        """An editable studio (not Event Staff)."""
        if studio_id == 0:
            return None
        row = db.one("SELECT * FROM studios WHERE id = ?", [studio_id])
        return dict(row) if row is not None else None

    def parse(form: forms.Form, studio_id: int | None) -> dict[str, Any]:
        values = {
            "name": form.field(
                "name", partial(forms.text, required="Enter the studio's name."), ""
            ),
            "email": form.field("email", forms.email, None),
            "ballroom": form.field(
                "ballroom",
                lambda raw: forms.choice(raw, BALLROOMS) if raw.strip() else None,
                None,
            ),
        }
        clash = db.value(
            "SELECT id FROM studios WHERE name = ? COLLATE NOCASE AND id IS NOT ?",
            [values["name"], studio_id],
        )
        if values["name"] and clash is not None:
            form.error("name", "There is already a studio of that name.")
        return values

    def form_page(
        request: Request,
        form: forms.Form,
        studio_id: int | None,
        status: int = 200,
        problem: str = "",
    ) -> bytes:
        people = 0
        if studio_id is not None:
            people = int(db.value("SELECT count(*) FROM people WHERE studio_id = ?", [studio_id]))
        return ctx.render(
            request,
            "organizer/studio_form.html",
            status=status,
            form=form,
            studio_id=studio_id,
            people=people,
            problem=problem,
            ballrooms=[(b, b) for b in BALLROOMS],
        )

    @app.route("/studios", methods=["GET"], endpoint="organizer_studios")
    def index(request: Request) -> bytes:
        studios = db.query(
            "SELECT s.id, s.name, s.email, s.ballroom,"
            " (SELECT count(*) FROM people p WHERE p.studio_id = s.id AND p.id > 0) AS people"
            " FROM studios s ORDER BY s.id > 0, s.name COLLATE NOCASE"
        )
        return ctx.render(request, "organizer/studios.html", studios=studios)

    @app.route("/studios/new", methods=["GET"], endpoint="organizer_studio_new")
    def new(request: Request) -> bytes:
        return form_page(request, forms.Form(), None)

    @app.route("/studios/new", methods=["POST"], endpoint="organizer_studio_create")
    def create(request: Request) -> bytes:
        return submit(
            ctx, request, None, parse, form_page, lambda v: db.insert("studios", **v), "/studios"
        )

    @app.route("/studios/<int:studio_id>/edit", methods=["GET"], endpoint="organizer_studio_edit")
    def edit(request: Request, studio_id: int) -> bytes:
        row = studio(studio_id)
        if row is None:
            return ctx.not_found(request, "No such studio (Event Staff is built in)")
        return form_page(request, forms.form_of(row, FIELDS), studio_id)

    @app.route(
        "/studios/<int:studio_id>/edit", methods=["POST"], endpoint="organizer_studio_update"
    )
    def update(request: Request, studio_id: int) -> bytes:
        ctx.check_csrf(request)
        if studio(studio_id) is None:
            return ctx.not_found(request, "No such studio (Event Staff is built in)")
        return submit(
            ctx,
            request,
            studio_id,
            parse,
            form_page,
            lambda v: db.update("studios", studio_id, **v),
            "/studios",
            csrf_checked=True,
        )

    @app.route(
        "/studios/<int:studio_id>/delete", methods=["POST"], endpoint="organizer_studio_delete"
    )
    def delete(request: Request, studio_id: int) -> bytes:
        ctx.check_csrf(request)
        row = studio(studio_id)
        if row is None:
            return ctx.not_found(request, "No such studio (Event Staff is built in)")
        people = int(db.value("SELECT count(*) FROM people WHERE studio_id = ?", [studio_id]))
        if people:
            problem = (
                f"{row['name']} still has {people} "
                f"{'person' if people == 1 else 'people'}: move or delete them first."
            )
            form = forms.form_of(row, FIELDS)
            return form_page(request, form, studio_id, status=409, problem=problem)
        with db.transaction():
            db.execute("DELETE FROM studios WHERE id = ?", [studio_id])
        return ctx.redirect(request, "/studios")
