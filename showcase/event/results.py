"""Results pages: points tallies by level, age, studio and instructor, a student's sheet, CSV.

The numbers come from :mod:`showcase.event.score_tables` and
:mod:`showcase.event.score_sheet` over the records :func:`heatdata.event_scores`
reads; this module only routes and renders.  ``register`` also adds the heats
page (:mod:`showcase.event.agenda`), so ``web.py`` keeps its list of areas.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from klein import Klein
from twisted.web.server import Request

from . import agenda
from .context import Context, display_name
from .heatdata import event_scores, format_number
from .lazy import lazy_import

if TYPE_CHECKING:
    from . import score_sheet, score_tables
    from .tallies import Tally
else:  # loaded when results are first shown, not at start-up
    score_sheet = lazy_import("showcase.event.score_sheet")
    score_tables = lazy_import("showcase.event.score_tables")

VIEWS = (
    ("by-level", "By level"),
    ("by-age", "By age"),
    ("by-studio", "By studio"),
    ("instructor", "By instructor"),
)


def has_feedback(tallies: Iterable[Tally]) -> bool:
    """Whether any tally counted feedback codes (then the tables show them)."""
    return any(t.good or t.bad for t in tallies)


def _student_tallies(table: score_tables.StudentTable) -> list[Tally]:
    return [row.tally for s in table.sections for g in s.groups for row in g.rows]


def register(app: Klein, ctx: Context) -> None:
    """Add the results pages, and the heats page, to ``app``."""
    agenda.register(app, ctx)

    def page(request: Request, template: str, view: str, **values: Any) -> bytes:
        return ctx.render(
            request,
            template,
            views=VIEWS,
            view=view,
            format_number=format_number,
            **values,
        )

    def students(request: Request, view: str, title: str, by_level: bool) -> bytes:
        scores = event_scores(ctx.db)
        table = score_tables.by_level(scores) if by_level else score_tables.by_age(scores)
        return page(
            request,
            "results/students.html",
            view,
            title=title,
            table=table,
            feedback=has_feedback(_student_tallies(table)),
        )

    @app.route("/scores/by-level", methods=["GET"], endpoint="results_by_level")
    def by_level(request: Request) -> bytes:
        return students(request, "by-level", "Scores by level", by_level=True)

    @app.route("/scores/by-age", methods=["GET"], endpoint="results_by_age")
    def by_age(request: Request) -> bytes:
        return students(request, "by-age", "Scores by age", by_level=False)

    @app.route("/scores/by-studio", methods=["GET"], endpoint="results_by_studio")
    def by_studio(request: Request) -> bytes:
        table = score_tables.by_studio(event_scores(ctx.db))
        tallies = [row.tally for row in table.total]
        return page(
            request,
            "results/by_studio.html",
            "by-studio",
            title="Scores by studio",
            table=table,
            feedback=has_feedback(tallies),
        )

    @app.route("/scores/instructor", methods=["GET"], endpoint="results_by_instructor")
    def by_instructor(request: Request) -> bytes:
        table = score_tables.by_instructor(event_scores(ctx.db))
        tallies = [row.tally for row in table.instructors]
        return page(
            request,
            "results/instructor.html",
            "instructor",
            title="Scores by instructor",
            table=table,
            feedback=has_feedback(tallies),
        )

    @app.route("/people/<int:person_id>/scores", methods=["GET"], endpoint="results_student_scores")
    def student_scores(request: Request, person_id: int) -> bytes:
        person = ctx.db.one("SELECT id, name, type FROM people WHERE id = ?", (person_id,))
        if person is None:
            return ctx.not_found(request, f"No person {person_id}")
        sheet = score_sheet.student_sheet(event_scores(ctx.db), person_id)
        total = sum(m.points or 0 for h in sheet.heats for m in h.marks)
        return page(
            request,
            "results/student.html",
            "",
            title=f"Scores of {display_name(person['name'])}",
            person=person,
            sheet=sheet,
            total=total,
        )

    @app.route("/scores.csv", methods=["GET"], endpoint="results_scores_csv")
    def scores_csv(request: Request) -> bytes:
        body = score_sheet.scores_csv(event_scores(ctx.db))
        request.setHeader(b"content-type", b"text/csv; charset=utf-8")
        filename = f"{ctx.db.name}-scores.csv".replace('"', "")
        request.setHeader(b"content-disposition", f'attachment; filename="{filename}"'.encode())
        return body.encode("utf-8")
