"""A student's entry grid: ``GET/POST <scope>/people/<id>/entries[?entry=<entry id>]``.

One grid is one couple (partner, instructor, level, age): rows are the
dances, columns the kinds of heat, each cell how many heats.  Posting sets
the counts (see :mod:`couples` for how heats are added and taken away) and
makes the ``entries`` row when the couple is new.  A couple that already has
an entry is changed through that entry, never entered twice, so a blank grid
can't scratch heats by accident.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from klein import Klein
from twisted.web.server import Request

from . import couples, forms
from .context import Context

CELL_KINDS = ("closed", "open", "solo")


def kinds_of(dance: Any) -> tuple[str, ...]:
    """The kinds of heat a dance takes: Multi for a multi-dance, else Closed, Open, Solo."""
    return ("multi",) if dance["heat_length"] else CELL_KINDS


def register(app: Klein, ctx: Context) -> None:
    db = ctx.db

    def student(person_id: int) -> dict[str, Any] | None:
        row = db.one("SELECT * FROM people WHERE id = ? AND type = 'Student'", [person_id])
        return dict(row) if row is not None else None

    def entries_of(person_id: int) -> list[dict[str, Any]]:
        rows = db.query(
            "SELECT e.*, CASE WHEN e.lead_id = :p THEN f.name ELSE l.name END AS partner,"
            " i.name AS instructor, lv.name AS level, a.category AS age,"
            " (SELECT count(*) FROM heats h WHERE h.entry_id = e.id AND h.number >= 0) AS heats,"
            " (SELECT count(*) FROM heats h WHERE h.entry_id = e.id AND h.number < 0) AS scratched"
            " FROM entries e JOIN people l ON l.id = e.lead_id JOIN people f ON f.id = e.follow_id"
            " LEFT JOIN people i ON i.id = e.instructor_id"
            " LEFT JOIN levels lv ON lv.id = e.level_id"
            " LEFT JOIN ages a ON a.id = e.age_id"
            " WHERE :p IN (e.lead_id, e.follow_id) ORDER BY e.id",
            {"p": person_id},
        )
        return [dict(r) for r in rows]

    def dances() -> list[Any]:
        return db.query(
            'SELECT id, name, heat_length FROM dances WHERE "order" > 0 ORDER BY "order"'
        )

    def tallies(entry_id: int | None) -> tuple[dict[str, int], dict[str, int]]:
        """Heats not scratched, and scratched, per cell name, for one entry."""
        active: dict[str, int] = {}
        scratched: dict[str, int] = {}
        if entry_id is None:
            return active, scratched
        for row in db.query(
            "SELECT dance_id, category, number < 0 AS gone, count(*) AS n FROM heats"
            " WHERE entry_id = ? GROUP BY dance_id, category, number < 0",
            [entry_id],
        ):
            cell = f"{str(row['category']).lower()}_{row['dance_id']}"
            (scratched if row["gone"] else active)[cell] = int(row["n"])
        return active, scratched

    def event_flags() -> tuple[bool, bool]:
        event = ctx.event()
        return bool(event.get("partnerless_entries")), bool(event.get("pro_heats"))

    def page(
        request: Request,
        person: dict[str, Any],
        form: forms.Form,
        entry_id: int | None,
        status: int = 200,
    ) -> bytes:
        partnerless, _ = event_flags()
        return ctx.render(
            request,
            "organizer/entries.html",
            status=status,
            person=person,
            form=form,
            entry_id=entry_id,
            entries=entries_of(person["id"]),
            dances=[(d, kinds_of(d)) for d in dances()],
            kinds=[*CELL_KINDS, "multi"],
            scratched=tallies(entry_id)[1],
            ask_side=person["role"] not in couples.SIDES,
            **couples.couple_options(db, person["id"], partnerless),
        )

    @app.route("/people/<int:person_id>/entries", methods=["GET"], endpoint="organizer_entries")
    def show(request: Request, person_id: int) -> bytes:
        person = student(person_id)
        if person is None:
            return ctx.not_found(request, "Entries are entered on a student's page")
        chosen = forms.Form.from_args(request.args).field("entry", forms.integer, None)
        entry = next((e for e in entries_of(person_id) if e["id"] == chosen), None)
        form = couples.couple_form(db, person, entry)
        entry_id = entry["id"] if entry else None
        for cell, n in tallies(entry_id)[0].items():
            form.values[cell] = str(n)
        return page(request, person, form, entry_id)

    @app.route(
        "/people/<int:person_id>/entries", methods=["POST"], endpoint="organizer_entries_save"
    )
    def save(request: Request, person_id: int) -> bytes:
        ctx.check_csrf(request)
        person = student(person_id)
        if person is None:
            return ctx.not_found(request, "Entries are entered on a student's page")
        form = forms.Form.from_args(request.args)
        own = {e["id"] for e in entries_of(person_id)}
        entry_id = form.field(
            "entry",
            lambda raw: forms.reference(raw, own),
            None,
        )
        partnerless, pro_heats = event_flags()
        couple = couples.parse_couple(db, form, person, partnerless, pro_heats)
        if couple is not None:
            same = db.value(
                "SELECT id FROM entries WHERE lead_id = ? AND follow_id = ?"
                " AND instructor_id IS ? AND level_id = ? AND age_id = ? AND id IS NOT ?",
                [
                    couple.lead_id,
                    couple.follow_id,
                    couple.instructor_id,
                    couple.level_id,
                    couple.age_id,
                    entry_id,
                ],
            )
            if same is not None:
                form.error(
                    "partner",
                    "This couple already has an entry at this level and age: "
                    "choose it in the list above to change its heats.",
                )
        plans = []
        for dance in dances():
            for kind in kinds_of(dance):
                cell = f"{kind}_{dance['id']}"
                target = form.field(cell, forms.count, 0)
                category = couples.KINDS[kind]
                states = (
                    couples.heat_states(db, entry_id, dance["id"], category) if entry_id else []
                )
                try:
                    plan = couples.plan_count(states, target)
                except forms.Invalid as refused:
                    form.error(cell, str(refused))
                    continue
                plans.append((plan, dance["id"], category))
        if couple is None or not form.ok:
            return page(request, person, form, entry_id, status=422)
        with db.transaction():
            if entry_id is None:
                if not any(plan.create for plan, _, _ in plans):
                    return ctx.redirect(request, f"/people/{person_id}/entries")
                entry_id = couples.find_or_create_entry(db, couple)
            else:
                db.update("entries", entry_id, **asdict(couple))
            for plan, dance_id, category in plans:
                couples.apply_plan(db, plan, entry_id, dance_id, category)
            if couples.drop_if_empty(db, entry_id):
                return ctx.redirect(request, f"/people/{person_id}/entries")
        return ctx.redirect(request, f"/people/{person_id}/entries?entry={entry_id}")
