"""People: ``<scope>/people`` (filter by type and studio), new, edit, delete, back numbers.

Person 0 "Nobody" is never listed, edited or deleted.  A person with
entries, formation places or scores is not deleted (409 with a message):
deleting would take judges' scores with it, while scratching their heats on
the entry grid keeps the record and can be undone.
"""

from __future__ import annotations

from typing import Any

from klein import Klein
from twisted.web.server import Request

from . import forms, person_form
from .context import Context


def register(app: Klein, ctx: Context) -> None:
    db = ctx.db

    def person(person_id: int) -> dict[str, Any] | None:
        if person_id == 0:
            return None
        row = db.one("SELECT * FROM people WHERE id = ?", [person_id])
        return dict(row) if row is not None else None

    def form_page(
        request: Request,
        form: forms.Form,
        current: dict[str, Any] | None,
        status: int = 200,
        problem: str = "",
    ) -> bytes:
        person_id = current["id"] if current else None
        return ctx.render(
            request,
            "organizer/person_form.html",
            status=status,
            form=form,
            person_id=person_id,
            problem=problem,
            staff=person_form.STAFF,
            **person_form.options(db, person_id, current["type"] if current else None),
        )

    @app.route("/people", methods=["GET"], endpoint="organizer_people")
    def index(request: Request) -> bytes:
        query = forms.Form.from_args(request.args)
        kind = query.get("type")
        studio = query.field("studio", forms.integer, None)
        where: list[str] = ["p.id > 0"]
        params: list[object] = []
        if kind in person_form.TYPES:
            where.append("p.type = ?")
            params.append(kind)
        if studio is not None:
            where.append("p.studio_id = ?")
            params.append(studio)
        people = db.query(
            "SELECT p.*, s.name AS studio, l.name AS level, a.category AS age,"
            " x.name AS exclude_name,"
            " (SELECT count(*) FROM entries e WHERE p.id IN (e.lead_id, e.follow_id)) AS entries"
            " FROM people p LEFT JOIN studios s ON s.id = p.studio_id"
            " LEFT JOIN levels l ON l.id = p.level_id LEFT JOIN ages a ON a.id = p.age_id"
            " LEFT JOIN people x ON x.id = p.exclude_id"
            f" WHERE {' AND '.join(where)} ORDER BY p.name COLLATE NOCASE",
            params,
        )
        studios = db.query("SELECT id, name FROM studios ORDER BY id > 0, name COLLATE NOCASE")
        return ctx.render(
            request,
            "organizer/people.html",
            people=people,
            types=person_form.TYPES,
            studios=studios,
            selected_type=kind,
            selected_studio=studio,
            assigned=query.field("assigned", forms.integer, None),
        )

    @app.route("/people/new", methods=["GET"], endpoint="organizer_person_new")
    def new(request: Request) -> bytes:
        query = forms.Form.from_args(request.args)
        kind = query.get("type") if query.get("type") in person_form.TYPES else "Student"
        form = forms.Form(
            {
                "type": kind,
                "studio_id": query.get("studio") or ("0" if kind in person_form.STAFF else ""),
                "judge_present": "1",
                "judge_ballroom": "Both",
            }
        )
        return form_page(request, form, None)

    @app.route("/people/new", methods=["POST"], endpoint="organizer_person_create")
    def create(request: Request) -> bytes:
        ctx.check_csrf(request)
        form = forms.Form.from_args(request.args)
        values = person_form.parse(db, form, None)
        if not form.ok:
            return form_page(request, form, None, status=422)
        with db.transaction():
            person_form.save(db, values, None)
        return ctx.redirect(request, "/people")

    @app.route("/people/<int:person_id>/edit", methods=["GET"], endpoint="organizer_person_edit")
    def edit(request: Request, person_id: int) -> bytes:
        current = person(person_id)
        if current is None:
            return ctx.not_found(request, "No such person")
        return form_page(request, person_form.initial_form(db, current), current)

    @app.route("/people/<int:person_id>/edit", methods=["POST"], endpoint="organizer_person_update")
    def update(request: Request, person_id: int) -> bytes:
        ctx.check_csrf(request)
        current = person(person_id)
        if current is None:
            return ctx.not_found(request, "No such person")
        form = forms.Form.from_args(request.args)
        values = person_form.parse(db, form, current)
        if not form.ok:
            return form_page(request, form, current, status=422)
        with db.transaction():
            person_form.save(db, values, person_id)
        return ctx.redirect(request, "/people")

    @app.route(
        "/people/<int:person_id>/delete", methods=["POST"], endpoint="organizer_person_delete"
    )
    def delete(request: Request, person_id: int) -> bytes:
        ctx.check_csrf(request)
        current = person(person_id)
        if current is None:
            return ctx.not_found(request, "No such person")
        problem = person_form.refusal_to_delete(db, person_id)
        if problem:
            form = person_form.initial_form(db, current)
            return form_page(request, form, current, status=409, problem=problem)
        with db.transaction():
            person_form.delete(db, person_id)
        return ctx.redirect(request, "/people")

    @app.route("/people/backs", methods=["POST"], endpoint="organizer_people_backs")
    def backs(request: Request) -> bytes:
        ctx.check_csrf(request)
        with db.transaction():
            assigned = person_form.assign_backs(db)
        return ctx.redirect(request, f"/people?assigned={assigned}")
