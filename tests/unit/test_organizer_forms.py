"""The organizer's form parsers: what they accept, what they refuse, and that they never crash."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from showcase.event import couples, forms, settings_pages

PARSERS: list[Callable[[str], Any]] = [
    forms.text,
    partial(forms.text, required="Enter it.", multiline=True),
    forms.optional_text,
    forms.integer,
    partial(forms.integer, minimum=-5, maximum=5, required="Enter it."),
    partial(forms.whole, minimum=1, maximum=4, required="Pick one."),
    forms.count,
    forms.checkbox,
    partial(forms.choice, choices=("Leader", "Follower")),
    partial(forms.reference, ids={0, 1, 2}),
    partial(forms.reference, ids={3}, required="Choose."),
    forms.clock,
    forms.available,
    forms.color,
    forms.event_date,
    forms.font_family,
    forms.email,
    forms.person_name,
]

field_text = st.one_of(
    st.text(),
    st.text(alphabet="0123456789:-<> ,#&aAnd\t\n"),
    st.from_regex(r"[<>]?\s?[0-9]{1,3}:[0-9]{1,3}", fullmatch=True),
    st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}( - [0-9]{4}-[0-9]{2}-[0-9]{2})?", fullmatch=True),
)


@settings(max_examples=500)
@given(parse=st.sampled_from(PARSERS), raw=field_text)
def test_parsers_raise_only_validation_errors(parse: Callable[[str], Any], raw: str) -> None:
    """No input makes a form parser raise anything but a validation error (Invalid)."""
    try:
        parse(raw)
    except forms.Invalid as refused:
        assert str(refused)


@given(args=st.dictionaries(st.binary(max_size=12), st.lists(st.binary(max_size=40), max_size=3)))
def test_form_from_any_request_args(args: dict[bytes, list[bytes]]) -> None:
    """Any request arguments, even bad UTF-8, make a Form whose fields all parse or are refused."""
    form = forms.Form.from_args(args)
    for name in form.values:
        form.field(name, forms.person_name, "")
        form.field(name, forms.integer, None)
    assert set(form.errors) <= set(form.values)


@given(
    values=st.dictionaries(st.sampled_from(settings_pages.FIELDS), field_text),
    levels=st.integers(0, 10),
    ages=st.integers(0, 10),
)
def test_settings_parser_only_collects_messages(
    values: dict[str, str], levels: int, ages: int
) -> None:
    """Any settings post parses to messages beside known fields, never an exception."""
    form = forms.Form(values)
    parsed = settings_pages.parse_settings(form, levels, ages)
    assert set(form.errors) <= set(settings_pages.FIELDS)
    assert set(parsed) == set(settings_pages.FIELDS)


@given(raw=st.text(max_size=60))
def test_stored_names_are_stable(raw: str) -> None:
    """A stored "Last, First" name parses back to itself."""
    try:
        stored = forms.person_name(raw)
    except forms.Invalid:
        return
    assert forms.person_name(stored) == stored


@pytest.mark.parametrize(
    ("entered", "stored"),
    [
        ("Jane Doe", "Doe, Jane"),
        ("  Mary   Ann  Smith ", "Smith, Mary Ann"),
        ("Doe, Jane", "Doe, Jane"),
        ("Van Der Berg ,  Jan", "Van Der Berg, Jan"),
        ("Cher", "Cher"),
        ("Alexander Anderson", "Anderson, Alexander"),
    ],
)
def test_names_are_stored_last_first(entered: str, stored: str) -> None:
    """Names entered "First Last" or "Last, First" are stored "Last, First", spaces collapsed."""
    assert forms.person_name(entered) == stored


@pytest.mark.parametrize("entered", ["Jane & John Doe", "Jane and John", "", "Doe, ", "a, b, c"])
def test_names_refused(entered: str) -> None:
    """A couple's name ("&", " and "), an empty name or a misplaced comma is refused."""
    with pytest.raises(forms.Invalid):
        forms.person_name(entered)


@pytest.mark.parametrize(
    ("entered", "stored"), [("<9:05", "<09:05"), ("> 21:30", ">21:30"), ("", None)]
)
def test_available_normalised(entered: str, stored: str | None) -> None:
    """Availability is "<HH:MM" or ">HH:MM" (zero-padded), or nothing."""
    assert forms.available(entered) == stored


@pytest.mark.parametrize("entered", ["9:05", "<24:00", ">12:60", "after 5", "<", "<12"])
def test_available_refused(entered: str) -> None:
    """Availability without a direction or with an impossible time is refused."""
    with pytest.raises(forms.Invalid):
        forms.available(entered)


def test_event_dates() -> None:
    """A date or an ordered range of real ISO dates is accepted; anything else is refused."""
    assert forms.event_date("2026-03-05") == "2026-03-05"
    assert forms.event_date("2026-03-05  -  2026-03-07") == "2026-03-05 - 2026-03-07"
    for bad in ("2026-02-30", "March 5", "2026-03-07 - 2026-03-05", "20260305"):
        with pytest.raises(forms.Invalid):
            forms.event_date(bad)


def test_numbers_are_ascii_digits_in_range() -> None:
    """Whole numbers are plain digits within the range; other digits and forms are refused."""
    assert forms.integer(" 12 ") == 12
    assert forms.integer("") is None
    for bad in ("١٢", "1_000", "1.5", "1e3", "-1", "1000000"):
        with pytest.raises(forms.Invalid):
            forms.integer(bad)


def test_colours() -> None:
    """Colours are #RRGGBB, stored in capitals."""
    assert forms.color("#00ff7f") == "#00FF7F"
    for bad in ("#fff", "red", "#GGGGGG", ""):
        with pytest.raises(forms.Invalid):
            forms.color(bad)


@pytest.mark.parametrize(
    ("types", "pro_heats", "ok"),
    [
        (("Professional", "Student", None), False, True),
        (("Student", "Student", "Professional"), False, True),
        (("Student", "Student", None), False, False),
        (("Professional", "Student", "Professional"), False, False),
        (("Professional", "Professional", None), False, False),
        (("Professional", "Professional", None), True, True),
        (("Student", "Student", "Student"), False, False),
    ],
)
def test_one_professional_per_couple(
    types: tuple[str, str, str | None], pro_heats: bool, ok: bool
) -> None:
    """Exactly one of lead, follow and instructor is a Professional, two with pro heats."""
    assert (couples.couple_problem(*types, pro_heats) == "") is ok


def test_plan_restores_scratched_before_creating() -> None:
    """Raising a count restores scratched heats first, then makes unscheduled ones."""
    heats = [couples.HeatState(1, 4, False), couples.HeatState(2, -7, True)]
    plan = couples.plan_count(heats, 3)
    assert (plan.restore, plan.create, plan.delete, plan.scratch) == ([2], 1, [], [])


def test_plan_deletes_unscheduled_then_scratches_scheduled() -> None:
    """Lowering a count deletes unscored unscheduled heats, then scratches the latest scheduled."""
    heats = [
        couples.HeatState(1, 4, True),
        couples.HeatState(2, 9, False),
        couples.HeatState(3, 0, False),
    ]
    plan = couples.plan_count(heats, 0)
    assert (plan.delete, plan.scratch) == ([3], [2, 1])


def test_plan_never_deletes_a_scored_heat() -> None:
    """An unscheduled heat with scores can't be scratched or deleted: a validation error."""
    with pytest.raises(forms.Invalid):
        couples.plan_count([couples.HeatState(1, 0, True)], 0)
