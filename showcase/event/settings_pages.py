"""Event settings: ``GET/POST <scope>/event/settings``.

Only columns of the ``events`` table are edited (there is no logo column: a
location's logo belongs to the admin app).  ``current_heat`` is not edited
here: it moves with the emcee's "start heat".
"""

from __future__ import annotations

from functools import partial
from typing import Any

from klein import Klein
from twisted.web.server import Request

from . import forms
from .context import Context

OPEN_SCORING = {
    "1": "Placement 1 / 2 / 3 / F",
    "G": "Grade GH / G / S / B",
    "#": "Number 0-100",
    "+": "Feedback only",
    "&": "Number 1-5 and feedback",
    "@": "Grade and feedback",
    "0": "None",
}
CLOSED_SCORING = {
    "1": "Placement 1 / 2 / 3 / F",
    "G": "Grade GH / G / S / B",
    "#": "Number 0-100",
    "=": "Same as Open",
}
MULTI_SCORING = {"1": "Placement 1 / 2 / 3 / F", "G": "Grade GH / G / S / B", "#": "Number 0-100"}
SOLO_SCORING = {"1": "One number 0-100", "4": "Technique, Execution, Poise, Showmanship (0-25)"}
HEAT_RANGE_CAT = {"0": "Open and Closed dance apart", "1": "Open and Closed may share a floor"}
FONTS = ("Helvetica, Arial", "Georgia, serif", "Verdana, sans-serif", "Courier, monospace")

CHECKBOXES = (
    "intermix",
    "pro_heats",
    "partnerless_entries",
    "track_ages",
    "judge_comments",
    "assign_judges",
    "strict_scoring",
    "backnums",
)
FIELDS = (
    "name",
    "theme",
    "date",
    "location",
    "ballrooms",
    "max_heat_size",
    "heat_range_level",
    "heat_range_age",
    "heat_range_cat",
    "heat_length",
    "solo_length",
    "open_scoring",
    "closed_scoring",
    "multi_scoring",
    "solo_scoring",
    "counter_color",
    "font_family",
    *CHECKBOXES,
)


def parse_settings(form: forms.Form, levels: int, ages: int) -> dict[str, Any]:
    """The ``events`` columns from a settings post (messages noted on ``form``)."""
    f = form.field
    number = forms.integer
    values: dict[str, Any] = {
        "name": f("name", partial(forms.text, required="Enter the event's name."), ""),
        "theme": f("theme", forms.optional_text, None),
        "date": f("date", forms.event_date, None),
        "location": f("location", partial(forms.optional_text, multiline=True), None),
        "ballrooms": f(
            "ballrooms", partial(forms.whole, minimum=1, maximum=4, required="Pick 1-4."), 1
        ),
        "max_heat_size": f(
            "max_heat_size",
            partial(
                forms.whole, minimum=1, maximum=100, required="Enter the most couples per heat."
            ),
            8,
        ),
        "heat_range_level": f(
            "heat_range_level",
            partial(forms.whole, minimum=0, maximum=max(levels - 1, 0), required="Choose one."),
            0,
        ),
        "heat_range_age": f(
            "heat_range_age",
            partial(forms.whole, minimum=0, maximum=max(ages - 1, 0), required="Choose one."),
            0,
        ),
        "heat_range_cat": int(
            f("heat_range_cat", partial(forms.choice, choices=HEAT_RANGE_CAT), "0")
        ),
        "heat_length": f("heat_length", partial(number, minimum=1, maximum=3600), None),
        "solo_length": f("solo_length", partial(number, minimum=1, maximum=3600), None),
        "open_scoring": f("open_scoring", partial(forms.choice, choices=OPEN_SCORING), ""),
        "closed_scoring": f("closed_scoring", partial(forms.choice, choices=CLOSED_SCORING), ""),
        "multi_scoring": f("multi_scoring", partial(forms.choice, choices=MULTI_SCORING), ""),
        "solo_scoring": f("solo_scoring", partial(forms.choice, choices=SOLO_SCORING), ""),
        "counter_color": f("counter_color", forms.color, ""),
        "font_family": f("font_family", forms.font_family, ""),
    }
    for name in CHECKBOXES:
        values[name] = forms.checkbox(form.get(name))
    return values


def spread_options(rows: int, zero: str) -> list[tuple[str, str]]:
    """How far apart on one floor: 0 (``zero``) up to every row of the table."""
    return [(str(n), f"{n} ({zero})" if n == 0 else f"{n} apart") for n in range(max(rows, 1))]


def register(app: Klein, ctx: Context) -> None:
    def counts() -> tuple[int, int]:
        levels = int(ctx.db.value("SELECT count(*) FROM levels") or 0)
        ages = int(ctx.db.value("SELECT count(*) FROM ages") or 0)
        return levels, ages

    def page(request: Request, form: forms.Form, status: int = 200) -> bytes:
        levels, ages = counts()
        return ctx.render(
            request,
            "organizer/settings.html",
            status=status,
            form=form,
            level_options=spread_options(levels, "same level only"),
            age_options=spread_options(ages, "same age group only"),
            open_scoring=OPEN_SCORING.items(),
            closed_scoring=CLOSED_SCORING.items(),
            multi_scoring=MULTI_SCORING.items(),
            solo_scoring=SOLO_SCORING.items(),
            heat_range_cat=HEAT_RANGE_CAT.items(),
            fonts=FONTS,
        )

    @app.route("/event/settings", methods=["GET"], endpoint="organizer_settings")
    def show(request: Request) -> bytes:
        return page(request, forms.form_of(ctx.event(), FIELDS))

    @app.route("/event/settings", methods=["POST"], endpoint="organizer_settings_save")
    def save(request: Request) -> bytes:
        ctx.check_csrf(request)
        event = ctx.event()
        if not event:
            return ctx.not_found(request, "This event has no settings row")
        form = forms.Form.from_args(request.args)
        values = parse_settings(form, *counts())
        if not form.ok:
            return page(request, form, status=422)
        with ctx.db.transaction() as db:
            db.update("events", event["id"], **values)
        return ctx.redirect(request, "/event/settings")
