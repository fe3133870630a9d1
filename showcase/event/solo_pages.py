"""Solos: ``<scope>/solos`` (the running order), new, edit.

A solo is a heat of category Solo (unscheduled when made) with a ``solos``
row (running order, song, artist); formation members are ``formations``
rows, each on the floor or credited only.  The couple is found or made as on
the entry grid, so a solo shares its entry with the couple's other heats.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from klein import Klein
from twisted.web.server import Request

from . import couples, forms
from .context import Context

MAX_MEMBERS = 30
FIELDS = ("dance", "song", "artist", "order")


def register(app: Klein, ctx: Context) -> None:
    db = ctx.db

    def solo(solo_id: int) -> dict[str, Any] | None:
        row = db.one(
            "SELECT so.*, h.dance_id, h.entry_id, h.number FROM solos so"
            " JOIN heats h ON h.id = so.heat_id WHERE so.id = ?",
            [solo_id],
        )
        return dict(row) if row is not None else None

    def dancer_ids() -> set[int]:
        rows = db.query(
            "SELECT id FROM people WHERE id > 0 AND type IN ('Student', 'Professional')"
        )
        return {int(r["id"]) for r in rows}

    def dance_options() -> list[tuple[str, str]]:
        rows = db.query(
            'SELECT id, name FROM dances WHERE "order" > 0 AND heat_length IS NULL ORDER BY "order"'
        )
        return [(str(r["id"]), r["name"]) for r in rows]

    def initial(row: dict[str, Any] | None) -> forms.Form:
        if row is None:
            return forms.Form({"order": str(couples.next_solo_order(db)), "on_floor_1": "1"})
        entry = dict(db.one("SELECT * FROM entries WHERE id = ?", [row["entry_id"]]) or {})
        types = {
            int(r["id"]): r["type"]
            for r in db.query(
                "SELECT id, type FROM people WHERE id IN (?, ?)",
                [entry["lead_id"], entry["follow_id"]],
            )
        }
        follow_is_subject = entry["lead_id"] == 0 or (
            types.get(entry["lead_id"]) == "Professional"
            and types.get(entry["follow_id"]) == "Student"
        )
        subject = entry["follow_id"] if follow_is_subject else entry["lead_id"]
        form = couples.couple_form(db, {"id": subject}, entry)
        form.values["person"] = str(subject)
        form.values.update(
            dance=str(row["dance_id"]),
            song=forms.text_of(row["song"]),
            artist=forms.text_of(row["artist"]),
            order=forms.text_of(row["order"]),
        )
        members = db.query(
            "SELECT person_id, on_floor FROM formations WHERE solo_id = ? ORDER BY id", [row["id"]]
        )
        for i, member in enumerate(members, start=1):
            form.values[f"member_{i}"] = str(member["person_id"])
            form.values[f"on_floor_{i}"] = "1" if member["on_floor"] else ""
        return form

    def parse(form: forms.Form, row: dict[str, Any] | None) -> dict[str, Any] | None:
        f = form.field
        dancers = dancer_ids()
        person_id = f(
            "person", partial(forms.reference, ids=dancers, required="Choose the dancer."), None
        )
        dances = {int(value) for value, _ in dance_options()}
        values: dict[str, Any] = {
            "dance": f(
                "dance", partial(forms.reference, ids=dances, required="Choose a dance."), None
            ),
            "song": f("song", forms.optional_text, None),
            "artist": f("artist", forms.optional_text, None),
            "order": f(
                "order",
                partial(forms.whole, minimum=1, maximum=99999, required="Enter its place."),
                0,
            ),
        }
        taken = db.value(
            'SELECT count(*) FROM solos WHERE "order" = ? AND id IS NOT ?',
            [values["order"], row["id"] if row else None],
        )
        if values["order"] and taken:
            form.error("order", "Another solo has that place in the running order.")
        couple = None
        if person_id is not None:
            person = dict(db.one("SELECT * FROM people WHERE id = ?", [person_id]) or {})
            event = ctx.event()
            couple = couples.parse_couple(
                db, form, person, True, bool(event.get("pro_heats")), ask_side=True
            )
        in_couple = {couple.lead_id, couple.follow_id, couple.instructor_id} if couple else set()
        members: list[tuple[int, int]] = []
        for i in range(1, MAX_MEMBERS + 1):
            name = f"member_{i}"
            member = f(name, partial(forms.reference, ids=dancers), None)
            if member is None:
                continue
            if member in in_couple:
                form.error(name, "Already dancing in the couple.")
            elif member in {m for m, _ in members}:
                form.error(name, "Already listed.")
            members.append((member, forms.checkbox(form.get(f"on_floor_{i}"))))
        if couple is None or not form.ok:
            return None
        return {**values, "couple": couple, "members": members}

    def form_page(
        request: Request, form: forms.Form, row: dict[str, Any] | None, status: int = 200
    ) -> bytes:
        filled = [i for i in range(1, MAX_MEMBERS + 1) if form.get(f"member_{i}")]
        slots = min(MAX_MEMBERS, max(3, (filled[-1] if filled else 0) + 2))
        options = couples.couple_options(db, None, True)
        return ctx.render(
            request,
            "organizer/solo_form.html",
            status=status,
            form=form,
            solo=row,
            dances=dance_options(),
            slots=range(1, slots + 1),
            people=[(v, t) for v, t in options["partners"] if v != "0"],
            **options,
        )

    def save(values: dict[str, Any], row: dict[str, Any] | None) -> None:
        entry_id = couples.find_or_create_entry(db, values["couple"])
        if row is None:
            heat_id = db.insert(
                "heats", number=0, category="Solo", dance_id=values["dance"], entry_id=entry_id
            )
            solo_id = db.insert(
                "solos",
                heat_id=heat_id,
                order=values["order"],
                song=values["song"],
                artist=values["artist"],
            )
        else:
            solo_id = row["id"]
            db.update("heats", row["heat_id"], dance_id=values["dance"], entry_id=entry_id)
            if row["entry_id"] != entry_id:
                couples.drop_if_empty(db, row["entry_id"])
            db.update(
                "solos",
                solo_id,
                order=values["order"],
                song=values["song"],
                artist=values["artist"],
            )
            db.execute("DELETE FROM formations WHERE solo_id = ?", [solo_id])
        for person_id, on_floor in values["members"]:
            db.insert("formations", solo_id=solo_id, person_id=person_id, on_floor=on_floor)

    @app.route("/solos", methods=["GET"], endpoint="organizer_solos")
    def index(request: Request) -> bytes:
        solos = [
            dict(r)
            for r in db.query(
                'SELECT so.id, so."order", so.song, so.artist, h.number, d.name AS dance,'
                " l.name AS lead, f.name AS follow, st.name AS studio FROM solos so"
                " JOIN heats h ON h.id = so.heat_id JOIN dances d ON d.id = h.dance_id"
                " JOIN entries e ON e.id = h.entry_id JOIN people l ON l.id = e.lead_id"
                " JOIN people f ON f.id = e.follow_id"
                " LEFT JOIN studios st ON st.id = CASE WHEN e.lead_id = 0 OR (l.type ="
                " 'Professional' AND f.type = 'Student') THEN f.studio_id ELSE l.studio_id END"
                ' ORDER BY so."order", so.id'
            )
        ]
        members: dict[int, list[Any]] = {}
        for m in db.query(
            "SELECT fo.solo_id, fo.on_floor, p.name FROM formations fo"
            " JOIN people p ON p.id = fo.person_id ORDER BY fo.id"
        ):
            members.setdefault(int(m["solo_id"]), []).append(m)
        return ctx.render(request, "organizer/solos.html", solos=solos, members=members)

    @app.route("/solos/new", methods=["GET"], endpoint="organizer_solo_new")
    def new(request: Request) -> bytes:
        form = initial(None)
        person = forms.Form.from_args(request.args).get("person")
        if person:
            form.values["person"] = person
        return form_page(request, form, None)

    @app.route("/solos/new", methods=["POST"], endpoint="organizer_solo_create")
    def create(request: Request) -> bytes:
        ctx.check_csrf(request)
        form = forms.Form.from_args(request.args)
        values = parse(form, None)
        if values is None:
            return form_page(request, form, None, status=422)
        with db.transaction():
            save(values, None)
        return ctx.redirect(request, "/solos")

    @app.route("/solos/<int:solo_id>/edit", methods=["GET"], endpoint="organizer_solo_edit")
    def edit(request: Request, solo_id: int) -> bytes:
        row = solo(solo_id)
        if row is None:
            return ctx.not_found(request, "No such solo")
        return form_page(request, initial(row), row)

    @app.route("/solos/<int:solo_id>/edit", methods=["POST"], endpoint="organizer_solo_update")
    def update(request: Request, solo_id: int) -> bytes:
        ctx.check_csrf(request)
        row = solo(solo_id)
        if row is None:
            return ctx.not_found(request, "No such solo")
        form = forms.Form.from_args(request.args)
        values = parse(form, row)
        if values is None:
            return form_page(request, form, row, status=422)
        with db.transaction():
            save(values, row)
        return ctx.redirect(request, "/solos")
