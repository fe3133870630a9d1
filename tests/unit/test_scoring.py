"""Scoring (``spec/scoring.md``): styles, validation of posted scores, tallies and sheets."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from showcase.event.score_sheet import scores_csv, student_sheet
from showcase.event.score_tables import (
    StudentTable,
    by_age,
    by_instructor,
    by_level,
    by_studio,
)
from showcase.event.scoring import (
    ScoreError,
    ScoringSettings,
    Style,
    event_feedback,
    style_for,
    validate,
)
from showcase.event.tallies import (
    COUPLES,
    FOLLOWERS,
    LEADERS,
    Age,
    Dancer,
    EventScores,
    Level,
    ScoreRecord,
    Tally,
)

LEVELS = (Level(1, "Newcomer"), Level(2, "Assoc. Bronze"), Level(3, "Full Bronze"))
AGES = (Age(1, "A", "18-35"), Age(2, "B", "46-54"), Age(3, "C", "66-75"))
ARTHUR = Dancer(10, "Murray, Arthur", "Professional", studio_id=1, studio="One")
KATHRYN = Dancer(11, "Murray, Kathryn", "Professional", studio_id=2, studio="Two")
NOBODY = Dancer(0, "Nobody", "Placeholder", studio_id=0, studio="Event Staff")


STUDIOS = {1: "One", 2: "Two"}


def student(person_id: int, name: str, level: int = 1, age: int = 1, studio: int = 1) -> Dancer:
    return Dancer(person_id, name, "Student", level, age, studio, STUDIOS[studio])


ANN = student(20, "Adams, Ann")
BOB = student(21, "Baker, Bob", level=3, age=1)
CLARA = student(22, "Cole, Clara", level=2, age=3, studio=2)


def score(
    value: str | None,
    lead: Dancer = ARTHUR,
    follow: Dancer = ANN,
    *,
    judge: int = 1,
    heat: int = 100,
    number: float | None = 1.0,
    category: str = "Closed",
    dance: str = "Waltz",
    level: int | None = 1,
    age: int | None = 1,
    good: str | None = None,
    bad: str | None = None,
    comments: str | None = None,
    instructor: Dancer | None = None,
    slot: int | None = None,
) -> ScoreRecord:
    return ScoreRecord(
        judge_id=judge,
        judge=f"Judge, Number {judge}",
        heat_id=heat,
        number=number,
        category=category,
        dance=dance,
        entry_level_id=level,
        entry_age_id=age,
        lead=lead,
        follow=follow,
        instructor=instructor,
        value=value,
        good=good,
        bad=bad,
        comments=comments,
        slot=slot,
    )


def event(*scores: ScoreRecord, strict: bool = False, **settings: Any) -> EventScores:
    return EventScores(scores, LEVELS, AGES, ScoringSettings(**settings), strict_scoring=strict)


def counts(tally: Tally) -> dict[str, int]:
    return {mark.label: n for mark, n in tally.counts}


def only_row(table: StudentTable) -> Tally:
    """The tally of the one student in ``table``."""
    [section] = table.sections
    [group] = section.groups
    [row] = group.rows
    return row.tally


# -- which style applies -------------------------------------------------------------------


def test_solo_heats_take_solo_scoring() -> None:
    """Solo heats take the solo style: one number ("1") or four parts ("4")."""
    assert style_for(ScoringSettings(solo_scoring="1"), "Solo") is Style.SOLO_NUMBER
    assert style_for(ScoringSettings(solo_scoring="4"), "Solo") is Style.SOLO_PARTS


def test_multi_heats_take_multi_scoring() -> None:
    """Multi heats take multi scoring, whatever open and closed say."""
    settings = ScoringSettings(open_scoring="G", closed_scoring="G", multi_scoring="#")
    assert style_for(settings, "Multi") is Style.NUMBER


def test_open_and_closed_heats_take_their_own_styles() -> None:
    """Open heats take open scoring, Closed heats closed scoring."""
    settings = ScoringSettings(open_scoring="&", closed_scoring="G")
    assert style_for(settings, "Open") is Style.RATING_FEEDBACK
    assert style_for(settings, "Closed") is Style.GRADE


def test_closed_same_as_open_gives_closed_heats_the_open_style() -> None:
    """With closed scoring "=", Closed heats take the open style."""
    assert style_for(ScoringSettings(open_scoring="@", closed_scoring="="), "Closed") is (
        Style.GRADE_FEEDBACK
    )


def test_open_and_closed_on_one_floor_share_the_open_style() -> None:
    """When heat_range_cat > 0 Closed heats take the open style."""
    settings = ScoringSettings(open_scoring="+", closed_scoring="G", heat_range_cat=1)
    assert style_for(settings, "Closed") is Style.FEEDBACK


def test_an_events_row_gives_the_settings_and_nulls_the_defaults() -> None:
    """style_for takes the events row itself; NULL columns mean the schema's defaults."""
    row = {"open_scoring": None, "closed_scoring": None, "heat_range_cat": None}
    assert style_for(row, "Open") is Style.PLACEMENT
    assert style_for(row, "Closed") is Style.GRADE
    assert style_for({"open_scoring": "0"}, "Open") is Style.NONE


@pytest.mark.parametrize(
    ("settings", "category", "setting"),
    [
        (ScoringSettings(open_scoring="X"), "Open", "open_scoring"),
        (ScoringSettings(closed_scoring="+"), "Closed", "closed_scoring"),
        (ScoringSettings(multi_scoring="&"), "Multi", "multi_scoring"),
        (ScoringSettings(solo_scoring="2"), "Solo", "solo_scoring"),
    ],
)
def test_a_code_outside_its_set_is_an_error_naming_the_setting(
    settings: ScoringSettings, category: str, setting: str
) -> None:
    """A settings code outside its set raises ValueError naming the setting."""
    with pytest.raises(ValueError, match=setting):
        style_for(settings, category)


# -- validation ----------------------------------------------------------------------------

ACCEPTED = [
    (Style.PLACEMENT, "1", "1"),
    (Style.PLACEMENT, " f ", "F"),
    (Style.GRADE, "GH", "GH"),
    (Style.GRADE, "s", "S"),
    (Style.NUMBER, "87", "87"),
    (Style.NUMBER, " 087 ", "87"),
    (Style.NUMBER, 100, "100"),
    (Style.NUMBER, 0.0, "0"),
    (Style.RATING_FEEDBACK, "5", "5"),
    (Style.GRADE_FEEDBACK, "b", "B"),
    (Style.SOLO_NUMBER, "95", "95"),
    (Style.SOLO_PARTS, '{"Technique": 20, "execution": "22", "poise": 21, "showmanship": 23}',
     '{"execution":22,"poise":21,"showmanship":23,"technique":20}'),
    (Style.SOLO_PARTS, {"technique": 7, "poise": ""}, '{"technique":7}'),
]  # fmt: skip


@pytest.mark.parametrize(("style", "posted", "stored"), ACCEPTED)
def test_a_value_in_the_styles_set_is_stored_in_canonical_form(
    style: Style, posted: object, stored: str
) -> None:
    """Values in the style's set are accepted: stripped, upper-cased, numbers as digits, JSON
    with sorted keys."""
    assert validate(style, posted, None, None, None).value == stored


REFUSED = [
    (Style.PLACEMENT, "4", "is not a placement: use 1, 2, 3 or F"),
    (Style.PLACEMENT, "GH", "is not a placement"),
    (Style.GRADE, "A", "is not a grade: use GH, G, S or B"),
    (Style.GRADE, "1", "is not a grade"),
    (Style.NUMBER, "101", "is not a whole number from 0 to 100"),
    (Style.NUMBER, "-1", "is not a whole number"),
    (Style.NUMBER, "87.5", "is not a whole number"),
    (Style.NUMBER, "1e2", "is not a whole number"),
    (Style.NUMBER, True, "score must be text"),
    (Style.FEEDBACK, "3", "this heat takes feedback only, not a score"),
    (Style.RATING_FEEDBACK, "6", "is not a score from 1 to 5"),
    (Style.RATING_FEEDBACK, "0", "is not a score from 1 to 5"),
    (Style.GRADE_FEEDBACK, "2", "is not a grade"),
    (Style.NONE, "GH", "this heat takes no score"),
    (Style.SOLO_NUMBER, "100.5", "is not a whole number from 0 to 100"),
    (Style.SOLO_PARTS, '{"technique": 26}', "technique must be a whole number from 0 to 25"),
    (Style.SOLO_PARTS, '{"grace": 20}', "is not a solo part"),
    (Style.SOLO_PARTS, '{"poise": 1, "Poise": 2}', "poise is given twice"),
    (Style.SOLO_PARTS, "90", "a solo score is an object of technique"),
    (Style.SOLO_PARTS, "{", "a solo score is an object"),
    (Style.SOLO_PARTS, '{"technique": true}', "technique must be a whole number"),
]


@pytest.mark.parametrize(("style", "posted", "message"), REFUSED)
def test_a_value_outside_the_styles_set_is_refused_with_a_message(
    style: Style, posted: object, message: str
) -> None:
    """Values outside the style's set raise ScoreError whose message says what is wanted."""
    with pytest.raises(ScoreError, match=message):
        validate(style, posted, None, None, None)


@pytest.mark.parametrize("style", [Style.FEEDBACK, Style.RATING_FEEDBACK, Style.GRADE_FEEDBACK])
def test_feedback_styles_take_known_codes_sorted_and_without_repeats(style: Style) -> None:
    """Feedback codes are matched case-insensitively, de-duplicated and sorted."""
    stored = validate(style, None, " t f fw F ", ["LF", "P"], None)
    assert (stored.good, stored.bad) == ("F FW T", "LF P")


def test_an_unknown_feedback_code_is_refused() -> None:
    """A code that is not one of the event's feedback buttons is refused."""
    with pytest.raises(ScoreError, match='"X" is not a feedback code: use F, P, FW, LF, T, S'):
        validate(Style.FEEDBACK, None, "F X", None, None)


def test_a_code_both_good_and_needs_work_is_refused() -> None:
    """The same code cannot be in good and in bad."""
    with pytest.raises(ScoreError, match="F cannot be both good and needs work"):
        validate(Style.GRADE_FEEDBACK, "G", "F", "f", None)


@pytest.mark.parametrize(
    "style", [Style.PLACEMENT, Style.GRADE, Style.NUMBER, Style.SOLO_NUMBER, Style.NONE]
)
def test_styles_without_feedback_refuse_it(style: Style) -> None:
    """Feedback codes on a heat whose style has no feedback buttons are refused."""
    with pytest.raises(ScoreError, match="this heat takes no feedback"):
        validate(style, None, "F", None, None)


def test_the_feedbacks_table_replaces_the_default_codes() -> None:
    """Rows of the feedbacks table are the codes; an empty table means the defaults."""
    codes = (("R", "Rise and fall"), ("  ", "blank row"))
    assert validate(Style.FEEDBACK, None, "r", None, None, codes).good == "R"
    with pytest.raises(ScoreError, match=r"use R$"):
        validate(Style.FEEDBACK, None, "F", None, None, codes)
    assert event_feedback([]) == event_feedback([(None, None)])
    assert validate(Style.FEEDBACK, None, "LF", None, None, ()).good == "LF"


def test_nothing_posted_is_empty_and_comments_alone_are_not() -> None:
    """No value, no feedback and no comments is "empty" (delete the row); comments keep it."""
    assert validate(Style.GRADE, " ", "", None, "  ").empty
    assert validate(Style.SOLO_PARTS, "{}", None, None, None).empty
    kept = validate(Style.NONE, None, None, None, "  lovely frame \n")
    assert not kept.empty
    assert kept.comments == "lovely frame"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=10,
)
posted_values = st.text() | json_values | st.sampled_from(["{", '{"technique": 1e999}', "[" * 5000])


@given(
    style=st.sampled_from(Style),
    score=posted_values,
    good=posted_values,
    bad=posted_values,
    comments=posted_values,
    codes=st.lists(st.tuples(st.text(), st.text()), max_size=3),
)
def test_validate_raises_nothing_but_score_error(
    style: Style,
    score: object,
    good: object,
    bad: object,
    comments: object,
    codes: list[tuple[str, str]],
) -> None:
    """Whatever is posted, validate returns a normalised score or raises ScoreError."""
    try:
        stored = validate(style, score, good, bad, comments, codes)
    except ScoreError as error:
        assert str(error)
    else:
        if stored.value is not None:
            assert validate(style, stored.value, None, None, None).value == stored.value


# -- tallies -------------------------------------------------------------------------------


def test_the_worked_example_grades_gh_g_g_make_eleven_points() -> None:
    """Style G, three judges, one student follower: GH, G, G are 5 + 3 + 3 = 11 points."""
    tally = only_row(
        by_level(
            event(
                score("GH", judge=1),
                score("G", judge=2),
                score("G", judge=3),
                open_scoring="G",
                multi_scoring="G",
            )
        )
    )
    assert tally.points == 11
    assert counts(tally) == {"GH": 1, "G": 2, "S": 0, "B": 0}


@pytest.mark.parametrize(
    ("settings", "category", "values", "points", "marks"),
    [
        ({"open_scoring": "1"}, "Open", ["1", "2", "3", "F"], 11, {"1": 1, "2": 1, "3": 1, "F": 1}),
        ({"closed_scoring": "G"}, "Closed", ["S", "B", "x"], 3, {"S": 1, "B": 1}),
        ({"open_scoring": "#"}, "Open", ["80", "90"], 170, {}),
        ({"open_scoring": "&"}, "Open", ["4", "5"], 9, {"5": 1, "4": 1}),
        ({"open_scoring": "@"}, "Open", ["GH", "S"], 7, {"GH": 1, "S": 1}),
        ({"solo_scoring": "1"}, "Solo", ["90", "80"], 170, {}),
        ({"solo_scoring": "4"}, "Solo",
         ['{"execution":22,"poise":21,"showmanship":23,"technique":20}', '{"technique":10}'],
         96, {}),
        ({"multi_scoring": "G"}, "Multi", ["GH", "GH"], 10, {"GH": 2}),
    ],
)  # fmt: skip
def test_each_style_tallies_its_points_and_marks(
    settings: dict[str, Any],
    category: str,
    values: list[str],
    points: int,
    marks: dict[str, int],
) -> None:
    """Weights 5/3/2/1 for placements and grades, sums for numbers, solo parts and 1-5; values
    off the style's set count for nothing."""
    scores = [score(v, judge=n, category=category) for n, v in enumerate(values)]
    tally = only_row(by_level(event(*scores, **settings)))
    assert tally.points == points
    assert {k: v for k, v in counts(tally).items() if v} == marks


def test_feedback_only_scores_count_codes_and_no_points() -> None:
    """Style +: good and needs-work codes are counted; there are no points nor scores."""
    scored = event(
        score(None, judge=1, good="F T", bad="P", category="Open"),
        score(None, judge=2, good="F", category="Open"),
        open_scoring="+",
    )
    tally = only_row(by_level(scored))
    assert (tally.points, tally.scores, tally.average) == (0, 0, None)
    assert tally.good == (("F", 2), ("T", 1))
    assert tally.bad == (("P", 1),)


def test_students_are_followers_leaders_or_couples() -> None:
    """A student follow with a pro lead is a Follower, a student lead with a pro follow a
    Leader, two students a Couple; pro-pro heats are nobody's."""
    table = by_level(
        event(
            score("GH", ARTHUR, ANN),
            score("G", ANN, KATHRYN, heat=101),
            score("S", BOB, ANN, heat=102),
            score("B", ARTHUR, KATHRYN, heat=103),
            score("B", NOBODY, CLARA, heat=104),
        )
    )
    found = {
        (section.name, group.group, row.competitor.display_name, row.tally.points)
        for section in table.sections
        for group in section.groups
        for row in group.rows
    }
    assert found == {
        ("Newcomer", FOLLOWERS, "Ann Adams", 5),
        ("Newcomer", LEADERS, "Ann Adams", 3),
        ("Full Bronze", COUPLES, "Bob Baker and Ann Adams", 2),
        ("Assoc. Bronze", FOLLOWERS, "Clara Cole", 1),
    }


def test_a_couple_is_ranked_at_the_higher_level_and_age_of_the_two() -> None:
    """Ann (Newcomer, A) and Clara (Assoc. Bronze, C) are an Assoc. Bronze couple in age C."""
    records = [score("GH", ANN, CLARA)]
    [level] = by_level(event(*records)).sections
    [age] = by_age(event(*records)).sections
    assert (level.name, age.name, age.description) == ("Assoc. Bronze", "C", "66-75")
    assert level.groups[0].group == COUPLES


def test_strict_scoring_counts_only_heats_at_the_students_own_level_and_age() -> None:
    """With strict_scoring, heats entered at another level or age than the student's do not
    count; without it they all do."""
    records = [
        score("GH", judge=1),
        score("GH", judge=1, heat=101, level=2),
        score("GH", judge=1, heat=102, age=2),
    ]
    assert only_row(by_level(event(*records))).points == 15
    assert only_row(by_level(event(*records, strict=True))).points == 5
    lenient_ages = EventScores(records, LEVELS, AGES, strict_scoring=True, track_ages=False)
    assert only_row(by_level(lenient_ages)).points == 10


def test_strict_scoring_compares_a_couple_with_its_higher_level() -> None:
    """A couple's heats count under strict_scoring when entered at the couple's level/age."""
    records = [score("G", ANN, CLARA, level=2, age=3), score("G", ANN, CLARA, heat=2, level=1)]
    assert only_row(by_level(event(*records, strict=True))).points == 3


@pytest.mark.parametrize("number", [-4.0, 0.0, None])
def test_scratched_and_unscheduled_heats_never_count(number: float | None) -> None:
    """Scores of heats numbered < 0 (scratched), 0 or NULL (unscheduled) are left out."""
    records = [score("GH"), score("GH", heat=101, number=number, judge=2)]
    assert only_row(by_level(event(*records))).points == 5
    assert len(student_sheet(event(*records), ANN.id).heats) == 1
    assert scores_csv(event(*records)).count("\r\n") == 2


def test_by_age_sections_follow_the_events_age_order() -> None:
    """by_age has one section per age group that has students, in the event's order."""
    table = by_age(event(score("G", ARTHUR, CLARA), score("G", heat=2)))
    assert [s.name for s in table.sections] == ["A", "C"]


def test_by_studio_has_points_scores_average_per_level_and_in_total() -> None:
    """by_studio gives per level and in total each studio's points, scores and average; a
    couple from two studios counts for both."""
    table = by_studio(
        event(
            score("80"),
            score("90", judge=2),
            score("70", ARTHUR, CLARA, heat=2),
            score("60", ANN, CLARA, heat=3),
            closed_scoring="#",
        )
    )
    sections = {s.name: {r.name: (r.tally.points, r.tally.scores) for r in s.studios}
                for s in table.sections}  # fmt: skip
    assert sections == {
        "Newcomer": {"One": (170, 2)},
        "Assoc. Bronze": {"One": (60, 1), "Two": (130, 2)},
    }
    total = {r.name: (r.tally.points, r.tally.average) for r in table.total}
    assert total == {"One": (230, 230 / 3), "Two": (130, 65.0)}


def test_by_instructor_credits_the_professional_partner_or_instructor() -> None:
    """Each professional on a student entry (partner or the couple's instructor) gets the
    points, with a row per student."""
    table = by_instructor(
        event(
            score("GH", ARTHUR, ANN),
            score("G", ANN, KATHRYN, heat=2),
            score("S", BOB, ANN, heat=3, instructor=KATHRYN),
            score("B", ARTHUR, KATHRYN, heat=4),
        )
    )
    found = {
        row.instructor.display_name: (
            row.tally.points,
            [(s.competitor.group, s.tally.points) for s in row.students],
        )
        for row in table.instructors
    }
    assert found == {
        "Arthur Murray": (5, [(FOLLOWERS, 5)]),
        "Kathryn Murray": (5, [(LEADERS, 3), (COUPLES, 2)]),
    }


def test_the_student_sheet_shows_every_scored_heat_with_each_judges_mark() -> None:
    """The sheet lists the student's heats in order with each judge's mark, by judge name."""
    sheet = student_sheet(
        event(
            score("G", number=2.0, heat=7, judge=2, comments="nice"),
            score("GH", number=2.0, heat=7, judge=1),
            score('{"technique":20,"poise":19}', number=1.5, heat=8, category="Solo"),
            score(None, number=3.0, heat=9),
            score("S", ARTHUR, CLARA, number=1.0, heat=10),
            solo_scoring="4",
        ),
        ANN.id,
    )
    assert sheet.person == ANN
    assert [(h.number, h.partner.display_name) for h in sheet.heats] == [
        (1.5, "Arthur Murray"),
        (2.0, "Arthur Murray"),
    ]
    solo, waltz = sheet.heats
    assert [(m.judge, m.value, m.points, m.comments) for m in waltz.marks] == [
        ("Number 1 Judge", "GH", 5, None),
        ("Number 2 Judge", "G", 3, "nice"),
    ]
    assert solo.marks[0].parts == (("technique", 20), ("poise", 19))
    assert solo.marks[0].points == 39
    assert student_sheet(event(), 999).person is None


def test_the_csv_export_has_one_row_per_score() -> None:
    """scores_csv: a header then one row per score in heat order, names shown First Last."""
    text = scores_csv(
        event(
            score("GH", number=12.0, good=None, comments='said "wow", twice'),
            score('{"technique":20}', ANN, CLARA, number=3.5, category="Solo", judge=2),
            score(None, number=4.0),
            solo_scoring="4",
        )
    )
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [
        ["heat", "dance", "category", "lead", "follow", "judge", "value", "good", "bad",
         "comments"],
        ["3.5", "Waltz", "Solo", "Ann Adams", "Clara Cole", "Number 2 Judge",
         '{"technique":20}', "", "", ""],
        ["12", "Waltz", "Closed", "Arthur Murray", "Ann Adams", "Number 1 Judge", "GH", "", "",
         'said "wow", twice'],
    ]  # fmt: skip


# -- order independence ----------------------------------------------------------------------

PEOPLE = (ARTHUR, KATHRYN, NOBODY, ANN, BOB, CLARA)
records = st.builds(
    score,
    st.sampled_from(["1", "2", "3", "F", "GH", "G", "S", "B", "5", "87", None, "x",
                     json.dumps({"technique": 5, "poise": 9})]),
    st.sampled_from(PEOPLE),
    st.sampled_from(PEOPLE),
    judge=st.integers(1, 3),
    heat=st.integers(1, 6),
    number=st.sampled_from([1.0, 2.0, 2.5, 0.0, -1.0]),
    category=st.sampled_from(["Closed", "Open", "Solo", "Multi"]),
    level=st.sampled_from([1, 2, 3, None]),
    age=st.sampled_from([1, 2, 3]),
    good=st.sampled_from([None, "F", "F T"]),
    bad=st.sampled_from([None, "P"]),
    instructor=st.sampled_from([None, KATHRYN]),
)  # fmt: skip


@given(
    scores=st.lists(records, max_size=12),
    data=st.data(),
    strict=st.booleans(),
    settings=st.sampled_from(
        [
            ScoringSettings(),
            ScoringSettings(open_scoring="&", closed_scoring="#", solo_scoring="4"),
            ScoringSettings(open_scoring="@", closed_scoring="=", multi_scoring="G"),
        ]
    ),
)
def test_tallies_do_not_depend_on_the_order_of_the_scores(
    scores: list[ScoreRecord], data: st.DataObject, strict: bool, settings: ScoringSettings
) -> None:
    """Every view gives the same result for the same scores in any order."""
    shuffled = data.draw(st.permutations(scores))

    def views(items: list[ScoreRecord]) -> tuple[object, ...]:
        scored = EventScores(items, LEVELS, AGES, settings, strict_scoring=strict)
        return (
            by_level(scored),
            by_age(scored),
            by_studio(scored),
            by_instructor(scored),
            student_sheet(scored, ANN.id),
            scores_csv(scored),
        )

    assert views(scores) == views(shuffled)
