"""Judging: the judge's heat list and heat pages, the score API, the emcee and start_heat."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from showcase.event.context import CSRF_COOKIE
from showcase.event.db import SCHEMA as SHOWCASE_DDL
from showcase.event.db import create, insert_row
from tests import judgingevent as ev
from tests.eventsupport import EventClient

SCHEMA = Path(SHOWCASE_DDL)  # the showcase schema (spec/event-schema.sql), as the package ships it


Make = Callable[..., EventClient]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small judging event built once (creating a database costs most of a second)."""
    path = tmp_path_factory.mktemp("template") / "event.sqlite3"
    create(str(path), ev.populate)
    return path


@pytest.fixture
def make(tmp_path: Path, template: Path) -> Make:
    """A factory: an EventClient over a copy of the small event, ``settings`` in its events row."""
    made = 0

    def event(**settings: Any) -> EventClient:
        nonlocal made
        made += 1
        where = tmp_path / f"event{made}"
        where.mkdir()
        shutil.copy(template, where / "event.sqlite3")
        if settings:
            conn = sqlite3.connect(where / "event.sqlite3")
            sets = ", ".join(f'"{name}" = ?' for name in settings)
            conn.execute(f"UPDATE events SET {sets}", list(settings.values()))
            conn.commit()
            conn.close()
        return EventClient(where, lambda conn: None)

    return event


def scores(client: EventClient) -> list[dict[str, Any]]:
    rows = client.db.query(
        "SELECT judge_id, heat_id, slot, value, good, bad, comments FROM scores ORDER BY id"
    )
    return [dict(r) for r in rows]


def couple(body: str, heat_id: int) -> str:
    """The part of a heat page that belongs to one couple's heat row."""
    found = re.search(rf'<tbody[^>]*data-heat-id="{heat_id}".*?</tbody>', body, re.S)
    assert found, f"no couple with heat id {heat_id} on the page"
    return found.group(0)


def row_class(body: str, number: str) -> str:
    """The class attribute of a heat's row on the judge's heat list."""
    found = re.search(rf'<tr class="([^"]*)"\s+data-number="{re.escape(number)}"', body)
    assert found, f"heat {number} is not listed"
    return found.group(1)


def pressed(html: str) -> list[str]:
    """The values of the pressed score buttons in ``html``."""
    return re.findall(r'data-value="([^"]*)" aria-pressed="true"', html)


def post_as(client: EventClient, path: str, value: Any, user: str) -> tuple[int, Any]:
    """POST JSON with the router's ``X-Remote-User`` header."""
    response = client._wait(
        client.treq.post(
            client.url(path),
            data=json.dumps(value).encode(),
            headers={b"content-type": [b"application/json"], b"x-remote-user": [user.encode()]},
        )
    )
    return response.code, json.loads(client._wait(response.content()))


def judge_post(client: EventClient, item: dict[str, Any], judge: int = ev.JUDY) -> Any:
    return client.post_json(f"/scores/{judge}/post", item)


# -- the heat list ----------------------------------------------------------------------------


def test_heatlist_lists_every_scheduled_heat_in_order(make: Make) -> None:
    """The heat list shows heats 1, 2, 3, 4, 4.5 in order (solos included, not 0 or scratched)."""
    client = make()
    code, body = client.get(f"/scores/{ev.JUDY}/heatlist")
    assert code == 200
    numbers = re.findall(r'data-number="([^"]+)"', body)
    assert numbers == ["1", "2", "3", "4", "4.5"]
    assert "Solo Tango" in body and "Closed Waltz" in body and "Multi All Around" in body
    assert "Closed Tango" not in body  # only the scratched and the unscheduled heat dance it


def test_heatlist_shows_couples_with_back_numbers_and_names(make: Make) -> None:
    """Each heat lists its couples: back number and "First Last" names."""
    client = make()
    _, body = client.get(f"/scores/{ev.JUDY}/heatlist")
    assert "<b>101</b> Arthur Murray &amp; Kathryn Murray" in body
    assert "<b>201</b> Jack Jones &amp; Bea Baker" in body
    assert "Murray, Arthur" not in body


def test_heatlist_links_each_heat_to_its_page(make: Make) -> None:
    """Every listed heat links to the judge's heat page for its number."""
    client = make()
    _, body = client.get(f"/scores/{ev.JUDY}/heatlist")
    assert f'href="/showcase/2026/demo/scores/{ev.JUDY}/heat/4.5"' in body


def test_heatlist_greys_heats_this_judge_scored(make: Make) -> None:
    """A heat in which this judge marked a couple is greyed; another judge's marks do not count."""
    client = make()
    judge_post(client, {"heat": ev.H2_JACK, "score": "2"})
    judge_post(client, {"heat": ev.H3_SOLO, "score": "80"}, judge=ev.SAM)
    _, body = client.get(f"/scores/{ev.JUDY}/heatlist")
    assert "scored" in row_class(body, "2").split()
    assert "scored" not in row_class(body, "3").split()
    assert "scored" not in row_class(body, "1").split()


def test_heatlist_marks_the_current_heat(make: Make) -> None:
    """The heat on the floor (events.current_heat) is marked current on the list."""
    client = make(current_heat=3)
    _, body = client.get(f"/scores/{ev.JUDY}/heatlist")
    assert "current" in row_class(body, "3").split()
    assert "current" not in row_class(body, "1").split()


@pytest.mark.parametrize("judge_id", [ev.JACK, ev.EMCEE, 999])
def test_heatlist_of_someone_who_is_not_a_judge_is_404(make: Make, judge_id: int) -> None:
    """Only a person of type Judge has a heat list."""
    client = make()
    code, _ = client.get(f"/scores/{judge_id}/heatlist")
    assert code == 404


# -- the heat page ----------------------------------------------------------------------------


def test_heat_page_shows_the_couples_on_the_floor(make: Make) -> None:
    """A heat page lists each couple's back number, lead, follow and studio."""
    client = make()
    code, body = client.get(f"/scores/{ev.JUDY}/heat/1")
    assert code == 200
    assert "Heat 1: Closed Waltz" in body
    first = couple(body, ev.H1_ARTHUR)
    assert "101" in first and "Arthur Murray" in first and "Kathryn Murray" in first
    assert "Alpha Studio" in first
    second = couple(body, ev.H1_JACK)
    assert "201" in second and "Jack Jones" in second and "Bea Baker" in second
    assert "Beta Studio" in second


STYLE_CASES: list[tuple[str, dict[str, Any], str, list[str], list[str]]] = [
    # (why, settings, heat, must appear, must not appear)
    (
        "closed G: grade buttons",
        {},
        "1",
        ['data-value="GH"', 'data-value="G"', 'data-value="S"', 'data-value="B"'],
        ['data-value="1"', 'type="number"', 'data-field="good"', "<textarea"],
    ),
    (
        "open 1: placement buttons",
        {},
        "2",
        ['data-value="1"', 'data-value="2"', 'data-value="3"', 'data-value="F"'],
        ['data-value="GH"', 'data-field="good"'],
    ),
    (
        "open #: a number 0-100",
        {"open_scoring": "#"},
        "2",
        ['type="number"', 'max="100"', 'data-field="score"'],
        ['data-value="1"', 'data-field="good"'],
    ),
    (
        "open +: good and needs-work buttons only",
        {"open_scoring": "+"},
        "2",
        ['data-field="good" data-code="F"', 'data-field="bad" data-code="FW"', "Needs work"],
        ['data-field="score"'],
    ),
    (
        "open &: 1-5 and feedback",
        {"open_scoring": "&"},
        "2",
        ['data-value="1"', 'data-value="5"', 'data-field="good" data-code="LF"'],
        ['data-value="F"', 'data-value="GH"'],
    ),
    (
        "open @: grades and feedback",
        {"open_scoring": "@"},
        "2",
        ['data-value="GH"', 'data-field="bad" data-code="T"'],
        ['data-value="1"'],
    ),
    (
        "open 0: nothing to score",
        {"open_scoring": "0"},
        "2",
        ["No score for this heat"],
        ['data-field="score"', 'data-field="good"'],
    ),
    (
        "closed = open: closed heats take the open style",
        {"closed_scoring": "=", "open_scoring": "#"},
        "1",
        ['type="number"'],
        ['data-value="GH"'],
    ),
    (
        "multi #",
        {},
        "4",
        ['type="number"', 'max="100"'],
        ['data-value="GH"'],
    ),
    (
        "solo 1: one number, comments always",
        {},
        "3",
        ['type="number"', 'max="100"', "<textarea"],
        ["data-part"],
    ),
    (
        "solo 4: four parts 0-25",
        {"solo_scoring": "4"},
        "3",
        [
            'data-part="technique"',
            'data-part="execution"',
            'data-part="poise"',
            'data-part="showmanship"',
            'max="25"',
        ],
        ['max="100"'],
    ),
    (
        "judge_comments on: a comments box on any heat",
        {"judge_comments": 1},
        "1",
        ['<textarea rows="2" data-field="comments"'],
        [],
    ),
]


@pytest.mark.parametrize(
    ("why", "settings", "heat", "present", "absent"), STYLE_CASES, ids=[c[0] for c in STYLE_CASES]
)
def test_heat_page_renders_the_inputs_of_the_heats_style(
    make: Make,
    why: str,
    settings: dict[str, Any],
    heat: str,
    present: list[str],
    absent: list[str],
) -> None:
    """The heat page shows the inputs of the style the event settings give the heat."""
    client = make(**settings)
    code, body = client.get(f"/scores/{ev.JUDY}/heat/{heat}")
    assert code == 200
    for text in present:
        assert text in body, f"{why}: {text!r} missing"
    for text in absent:
        assert text not in body, f"{why}: {text!r} should not be there"


def test_feedback_buttons_come_from_the_feedbacks_table(tmp_path: Path) -> None:
    """When the event has feedbacks rows, their abbreviations replace the default buttons."""

    def populate(conn: sqlite3.Connection) -> None:
        ev.populate(conn, open_scoring="+")
        insert_row(conn, "feedbacks", abbr="DF", value="Dance Frame", order=1)
        insert_row(conn, "feedbacks", abbr="MU", value="Musicality", order=2)

    client = EventClient(tmp_path, populate)
    _, body = client.get(f"/scores/{ev.JUDY}/heat/2")
    assert 'data-code="DF"' in body and 'data-code="MU"' in body
    assert 'data-code="FW"' not in body


def test_heat_page_without_judge_comments_has_no_comments_box(make: Make) -> None:
    """With judge_comments off, a non-solo heat has no comments box."""
    client = make()
    _, body = client.get(f"/scores/{ev.JUDY}/heat/1")
    assert "<textarea" not in body


def test_heat_page_fills_in_this_judges_marks(make: Make) -> None:
    """This judge's stored marks show pressed; another judge's marks do not."""
    client = make(open_scoring="@", judge_comments=1)
    judge_post(client, {"heat": ev.H2_ARTHUR, "score": "S", "good": "F T", "comments": "Nice"})
    judge_post(client, {"heat": ev.H2_JACK, "score": "GH"}, judge=ev.SAM)
    _, body = client.get(f"/scores/{ev.JUDY}/heat/2")
    mine = couple(body, ev.H2_ARTHUR)
    assert pressed(mine) == ["S"]
    assert re.findall(r'data-field="good" data-code="([^"]+)"[^>]*aria-pressed="true"', mine) == [
        "F",
        "T",
    ]
    assert ">Nice</textarea>" in mine
    assert 'data-state="saved"' in mine
    assert pressed(couple(body, ev.H2_JACK)) == [""]  # only the "no score" button


def test_heat_page_fills_in_number_and_solo_parts(make: Make) -> None:
    """A stored number and the four stored solo parts appear in their inputs."""
    client = make(solo_scoring="4")
    parts = {"technique": 20, "execution": "18", "poise": 25, "showmanship": 0}
    assert judge_post(client, {"heat": ev.H3_SOLO, "score": parts})[0] == 200
    judge_post(client, {"heat": ev.H4_MULTI, "score": 77})
    _, solo = client.get(f"/scores/{ev.JUDY}/heat/3")
    assert re.search(r'data-part="execution"[^\n]*value="18"', solo)
    assert re.search(r'data-part="showmanship"[^\n]*value="0"', solo)
    _, multi = client.get(f"/scores/{ev.JUDY}/heat/4")
    assert 'value="77"' in couple(multi, ev.H4_MULTI)


def test_heat_page_links_previous_and_next_heats(make: Make) -> None:
    """Previous and next walk the scheduled numbers, fractional ones included."""
    client = make()
    _, body = client.get(f"/scores/{ev.JUDY}/heat/4")
    base = f"/showcase/2026/demo/scores/{ev.JUDY}/heat"
    assert f'rel="prev" href="{base}/3"' in body
    assert f'rel="next" href="{base}/4.5"' in body
    _, first = client.get(f"/scores/{ev.JUDY}/heat/1")
    assert 'rel="prev"' not in first
    _, last = client.get(f"/scores/{ev.JUDY}/heat/4.5")
    assert 'rel="next"' not in last


def test_heat_page_carries_what_the_controller_needs(make: Make) -> None:
    """The page names the post, batch and start URLs and the heats to fetch ahead."""
    client = make()
    _, body = client.get(f"/scores/{ev.JUDY}/heat/2")
    base = f"/showcase/2026/demo/scores/{ev.JUDY}"
    assert 'data-controller="heat"' in body
    assert f'data-heat-post-url-value="{base}/post"' in body
    assert f'data-heat-batch-url-value="{base}/batch"' in body
    assert 'data-heat-start-url-value="/showcase/2026/demo/event/start_heat"' in body
    ahead = re.search(r"data-heat-ahead-value='([^']*)'", body)
    assert ahead and json.loads(ahead.group(1)) == [
        f"{base}/heat/3",
        f"{base}/heat/4",
        f"{base}/heat/4.5",
    ]


@pytest.mark.parametrize("number", ["0", "-6", "7", "abc", "nan", "inf"])
def test_heat_page_for_a_heat_not_on_the_schedule_is_404(make: Make, number: str) -> None:
    """Unscheduled, scratched, missing and malformed heat numbers answer 404."""
    client = make()
    code, _ = client.get(f"/scores/{ev.JUDY}/heat/{number}")
    assert code == 404


def test_heat_page_of_a_non_judge_is_404(make: Make) -> None:
    """Only a judge has heat pages."""
    client = make()
    code, _ = client.get(f"/scores/{ev.JACK}/heat/1")
    assert code == 404


# -- posting a mark ---------------------------------------------------------------------------


def test_post_creates_a_row_and_answers_it(make: Make) -> None:
    """A first post creates the judge's row for the heat and answers the stored row."""
    client = make()
    code, answer = judge_post(client, {"heat": ev.H1_ARTHUR, "score": "g"})
    assert code == 200
    assert answer["value"] == "G" and answer["heat_id"] == ev.H1_ARTHUR
    assert answer["judge_id"] == ev.JUDY and answer["deleted"] is False
    assert scores(client) == [
        {
            "judge_id": ev.JUDY,
            "heat_id": ev.H1_ARTHUR,
            "slot": None,
            "value": "G",
            "good": None,
            "bad": None,
            "comments": None,
        }
    ]


def test_post_again_updates_the_same_row(make: Make) -> None:
    """A second post for the same (judge, heat, slot) updates the row rather than adding one."""
    client = make()
    judge_post(client, {"heat": ev.H1_ARTHUR, "score": "G"})
    code, answer = judge_post(client, {"heat": ev.H1_ARTHUR, "score": "S"})
    assert code == 200 and answer["value"] == "S"
    assert [r["value"] for r in scores(client)] == ["S"]


def test_post_changes_only_the_fields_it_carries(make: Make) -> None:
    """Posting comments keeps the value, and posting a value keeps the comments."""
    client = make(judge_comments=1)
    judge_post(client, {"heat": ev.H1_ARTHUR, "score": "B"})
    judge_post(client, {"heat": ev.H1_ARTHUR, "comments": "Watch the frame"})
    judge_post(client, {"heat": ev.H1_ARTHUR, "score": "S"})
    (row,) = scores(client)
    assert (row["value"], row["comments"]) == ("S", "Watch the frame")


def test_slots_are_separate_rows(make: Make) -> None:
    """The same heat with different slots keeps one row per slot."""
    client = make()
    judge_post(client, {"heat": ev.H4_MULTI, "slot": 1, "score": "70"})
    judge_post(client, {"heat": ev.H4_MULTI, "slot": 2, "score": "80"})
    judge_post(client, {"heat": ev.H4_MULTI, "slot": 1, "score": "75"})
    assert sorted((r["slot"], r["value"]) for r in scores(client)) == [(1, "75"), (2, "80")]


def test_feedback_given_as_good_leaves_needs_work(make: Make) -> None:
    """Marking a code good removes it from the row's needs-work codes (and vice versa)."""
    client = make(open_scoring="+")
    judge_post(client, {"heat": ev.H2_JACK, "bad": "F P"})
    code, answer = judge_post(client, {"heat": ev.H2_JACK, "good": "F"})
    assert code == 200
    assert (answer["good"], answer["bad"]) == ("F", "P")


def test_a_row_left_empty_is_deleted(make: Make) -> None:
    """Clearing the only thing in a row deletes it, and the answer says so."""
    client = make()
    judge_post(client, {"heat": ev.H1_ARTHUR, "score": "G"})
    code, answer = judge_post(client, {"heat": ev.H1_ARTHUR, "score": ""})
    assert code == 200
    assert answer == {"deleted": True, "judge_id": ev.JUDY, "heat_id": ev.H1_ARTHUR, "slot": None}
    assert scores(client) == []


def test_an_empty_row_stays_when_judges_are_assigned(make: Make) -> None:
    """With assign_judges on, the empty row is the assignment: it is kept, emptied."""
    client = make(assign_judges=1)
    judge_post(client, {"heat": ev.H1_ARTHUR, "score": "G"})
    code, answer = judge_post(client, {"heat": ev.H1_ARTHUR, "score": None})
    assert code == 200 and answer["deleted"] is False and answer["value"] is None
    assert len(scores(client)) == 1


def test_an_empty_post_without_a_row_stores_nothing(make: Make) -> None:
    """Posting nothing for a couple without a row creates no row and publishes nothing."""
    client = make()
    code, answer = judge_post(client, {"heat": ev.H1_ARTHUR, "score": ""})
    assert code == 200 and answer["deleted"] is True
    assert scores(client) == [] and client.published == []


BAD_VALUES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({}, {"heat": ev.H1_ARTHUR, "score": "1"}),  # closed G takes grades
    ({}, {"heat": ev.H2_ARTHUR, "score": "GH"}),  # open 1 takes placements
    ({"open_scoring": "#"}, {"heat": ev.H2_ARTHUR, "score": "101"}),
    ({"open_scoring": "#"}, {"heat": ev.H2_ARTHUR, "score": "7.5"}),
    ({"open_scoring": "&"}, {"heat": ev.H2_ARTHUR, "score": "6"}),
    ({"open_scoring": "+"}, {"heat": ev.H2_ARTHUR, "score": "G"}),
    ({"open_scoring": "+"}, {"heat": ev.H2_ARTHUR, "good": "XX"}),
    ({"open_scoring": "+"}, {"heat": ev.H2_ARTHUR, "good": "F", "bad": "F"}),
    ({}, {"heat": ev.H1_ARTHUR, "good": "F"}),  # G takes no feedback
    ({"solo_scoring": "4"}, {"heat": ev.H3_SOLO, "score": {"technique": 26}}),
    ({"solo_scoring": "4"}, {"heat": ev.H3_SOLO, "score": {"grace": 5}}),
    ({}, {"heat": ev.H3_SOLO, "score": "-1"}),
    ({}, {"heat": "one", "score": "G"}),
]


@pytest.mark.parametrize(("settings", "item"), BAD_VALUES)
def test_a_value_outside_the_style_is_422_and_changes_nothing(
    make: Make, settings: dict[str, Any], item: dict[str, Any]
) -> None:
    """A refused value answers 422 with a message; the stored rows are as they were."""
    client = make(**settings)
    heat = item["heat"] if isinstance(item["heat"], int) else ev.H1_ARTHUR
    client.db.conn.execute(
        "INSERT INTO scores (judge_id, heat_id, value, comments, created_at, updated_at)"
        " VALUES (?, ?, 'kept', 'kept too', 'then', 'then')",
        [ev.JUDY, heat],
    )
    before = scores(client)
    code, answer = judge_post(client, item)
    assert code == 422
    assert isinstance(answer["error"], str) and answer["error"]
    assert scores(client) == before
    assert client.published == []


def test_post_for_an_unknown_heat_is_404(make: Make) -> None:
    """A heat id that does not exist answers 404; nothing is written."""
    client = make()
    code, answer = judge_post(client, {"heat": 999, "score": "G"})
    assert code == 404 and "error" in answer
    assert scores(client) == []


@pytest.mark.parametrize("heat", [ev.H_UNSCHEDULED, ev.H_SCRATCHED])
def test_post_for_a_heat_off_the_schedule_is_404(make: Make, heat: int) -> None:
    """Unscheduled and scratched heats take no marks."""
    client = make()
    code, _ = judge_post(client, {"heat": heat, "score": "G"})
    assert code == 404
    assert scores(client) == []


@pytest.mark.parametrize("judge_id", [ev.JACK, ev.EMCEE, 0, 999])
def test_post_as_someone_who_is_not_a_judge_is_404(make: Make, judge_id: int) -> None:
    """A judge_id that is not a person of type Judge answers 404 and writes nothing."""
    client = make()
    code, _ = client.post_json(f"/scores/{judge_id}/post", {"heat": ev.H1_ARTHUR, "score": "G"})
    assert code == 404
    code, _ = client.post_json(f"/scores/{judge_id}/batch", {"scores": []})
    assert code == 404
    assert scores(client) == []


def test_post_that_is_not_a_json_object_is_400(make: Make) -> None:
    """A body that is not a JSON object answers 400."""
    client = make()
    assert client.post_json(f"/scores/{ev.JUDY}/post", ["heat", 1])[0] == 400
    assert client.post_json(f"/scores/{ev.JUDY}/batch", {"scores": "all"})[0] == 400


def test_a_form_post_to_the_score_api_needs_the_csrf_token(make: Make) -> None:
    """Only JSON posts skip the CSRF check: a form post without the token is refused."""
    client = make()
    code, _, _ = client.post_form(f"/scores/{ev.JUDY}/post", {"heat": "1"}, csrf=False)
    assert code == 403
    assert scores(client) == []


def score_update(data: object) -> dict[str, str]:
    """The attributes of the #last-score-update a live-scores turbo-stream puts in place."""
    assert isinstance(data, str)
    assert data.startswith('<turbo-stream action="replace" target="last-score-update"><template>')
    found = re.search(r'<time id="last-score-update"([^>]*)>([^<]*)</time>', data)
    assert found is not None, data
    return {**dict(re.findall(r'([\w-]+)="([^"]*)"', found.group(1))), "text": found.group(2)}


def test_saving_publishes_live_scores(make: Make) -> None:
    """Each saved or removed mark publishes a turbo-stream replacing #last-score-update
    (the time, with the heat and judge) on live-scores-<db>."""
    client = make()
    _, answer = judge_post(client, {"heat": ev.H45, "score": "GH"})
    judge_post(client, {"heat": ev.H45, "score": ""})
    assert [stream for stream, _ in client.published] == ["live-scores-event"] * 2
    first = score_update(client.published[0][1])
    assert first == {
        "datetime": answer["updated_at"],
        "data-heat": "4.5",
        "data-judge": str(ev.JUDY),
        "text": answer["updated_at"],
    }


# -- a judge posts only as themselves -----------------------------------------------------------


def test_a_judge_posting_as_another_judge_is_403(make: Make) -> None:
    """When X-Remote-User names another judge, the post is refused and nothing is written."""
    client = make()
    item = {"heat": ev.H1_ARTHUR, "score": "G"}
    assert post_as(client, f"/scores/{ev.JUDY}/post", item, "Sam Smith")[0] == 403
    assert post_as(client, f"/scores/{ev.JUDY}/batch", {"scores": [item]}, "samsmith")[0] == 403
    assert scores(client) == []


@pytest.mark.parametrize("user", ["Judy Sheindlin", "judysheindlin", "JUDY SHEINDLIN", "admin"])
def test_the_judge_themselves_or_a_non_judge_user_may_post(make: Make, user: str) -> None:
    """The judge's own name (any case, spaces or not) or a user who is no judge may post."""
    client = make()
    code, _ = post_as(client, f"/scores/{ev.JUDY}/post", {"heat": ev.H1_ARTHUR, "score": "G"}, user)
    assert code == 200
    assert len(scores(client)) == 1


# -- the batch (offline queue) ----------------------------------------------------------------


def test_batch_applies_each_item_and_reports_it(make: Make) -> None:
    """A batch saves the good items, reports the bad ones with their error, in one answer."""
    client = make()
    items = [
        {"heat": ev.H1_ARTHUR, "score": "G"},
        {"heat": ev.H2_JACK, "slot": None, "score": "3"},
        {"heat": ev.H1_JACK, "score": "Z"},
        {"heat": 999, "score": "G"},
        "nonsense",
    ]
    code, answer = client.post_json(f"/scores/{ev.JUDY}/batch", {"scores": items})
    assert code == 200
    assert answer["succeeded"] == [
        {"heat_id": ev.H1_ARTHUR, "slot": None},
        {"heat_id": ev.H2_JACK, "slot": None},
    ]
    assert [(f["heat_id"], bool(f["error"])) for f in answer["failed"]] == [
        (ev.H1_JACK, True),
        (999, True),
        (None, True),
    ]
    assert sorted((r["heat_id"], r["value"]) for r in scores(client)) == [
        (ev.H1_ARTHUR, "G"),
        (ev.H2_JACK, "3"),
    ]


def test_batch_is_idempotent(make: Make) -> None:
    """The same item twice in a batch, and the batch sent twice, leave one row with the value."""
    client = make(judge_comments=1)
    item = {"heat": ev.H1_ARTHUR, "slot": None, "score": "S", "comments": "Lovely"}
    for _ in range(2):
        code, answer = client.post_json(f"/scores/{ev.JUDY}/batch", {"scores": [item, item]})
        assert code == 200 and answer["failed"] == []
    assert scores(client) == [
        {
            "judge_id": ev.JUDY,
            "heat_id": ev.H1_ARTHUR,
            "slot": None,
            "value": "S",
            "good": None,
            "bad": None,
            "comments": "Lovely",
        }
    ]


def test_batch_publishes_once_per_heat(make: Make) -> None:
    """A batch publishes live-scores once for each heat it changed."""
    client = make()
    items = [
        {"heat": ev.H1_ARTHUR, "score": "G"},
        {"heat": ev.H1_JACK, "score": "B"},
        {"heat": ev.H2_JACK, "score": "1"},
    ]
    client.post_json(f"/scores/{ev.JUDY}/batch", {"scores": items})
    assert sorted(score_update(data)["data-heat"] for _, data in client.published) == ["1", "2"]


# -- the emcee and the heat on the floor --------------------------------------------------


def test_emcee_heat_page_has_no_inputs_and_a_start_button(make: Make) -> None:
    """The emcee's heat page counts the couples, shows no inputs, and offers "Start heat"."""
    client = make()
    code, body = client.get("/emcee/heat/1")
    assert code == 200
    assert "2 couples on the floor" in body
    assert "Arthur Murray" in body and "Jack Jones" in body
    assert 'data-field="score"' not in body and "data-heat-post-url-value" not in body
    assert re.search(r'<form method="post" action="[^"]*/event/start_heat"[^>]*>', body)
    assert "Start heat" in body
    assert 'rel="next" href="/showcase/2026/demo/emcee/heat/2"' in body


def test_emcee_start_button_is_hidden_for_the_heat_on_the_floor(make: Make) -> None:
    """The heat already on the floor renders its start form hidden."""
    client = make(current_heat=1)
    _, body = client.get("/emcee/heat/1")
    form = re.search(r'<form method="post"[^\n]*', body)
    assert form and " hidden" in form.group(0)
    _, other = client.get("/emcee/heat/2")
    form = re.search(r'<form method="post"[^\n]*', other)
    assert form and " hidden" not in form.group(0)


def test_emcee_solo_page_shows_song_and_artist(make: Make) -> None:
    """A solo on the emcee page shows its song and artist."""
    client = make()
    _, body = client.get("/emcee/heat/3")
    assert "Moon River" in body and "Andy Williams" in body
    assert "1 couple on the floor" in body


def test_emcee_goes_to_the_current_heat(make: Make) -> None:
    """/emcee redirects to the heat on the floor, or to the first heat before the event starts."""
    client = make(current_heat=2)
    response = client._wait(client.treq.get(client.url("/emcee"), allow_redirects=False))
    assert response.code in (302, 303)
    assert response.headers.getRawHeaders(b"location") == [b"/showcase/2026/demo/emcee/heat/2"]
    fresh = make()
    response = fresh._wait(fresh.treq.get(fresh.url("/emcee"), allow_redirects=False))
    assert response.headers.getRawHeaders(b"location") == [b"/showcase/2026/demo/emcee/heat/1"]


def test_start_heat_by_json_sets_the_current_heat_and_publishes(make: Make) -> None:
    """A JSON start_heat sets events.current_heat, publishes current-heat-<db>, answers JSON."""
    client = make()
    code, answer = client.post_json("/event/start_heat", {"heat": 2})
    assert code == 200 and answer == {"current_heat": 2}
    assert client.db.value("SELECT current_heat FROM events") == 2
    streams = [stream for stream, _ in client.published]
    assert streams == ["current-heat-event"]
    data = client.published[0][1]
    assert isinstance(data, str) and 'target="current-heat"' in data and "Rumba" in data


def test_start_heat_keeps_a_fractional_number(make: Make) -> None:
    """Starting heat 4.5 stores 4.5, not the 4 it would be truncated to."""
    client = make()
    code, answer = client.post_json("/event/start_heat", {"heat": "4.5"})
    assert code == 200 and answer == {"current_heat": 4.5}
    assert client.db.value("SELECT current_heat FROM events") == 4.5


def test_start_heat_by_form_with_the_csrf_token_redirects_back(make: Make) -> None:
    """A form start_heat with the token sets the heat and answers 303 to the emcee page."""
    client = make()
    code, _, location = client.post_form("/event/start_heat", {"heat": "3"})
    assert code == 303
    assert location == "/showcase/2026/demo/emcee/heat/3"
    assert client.db.value("SELECT current_heat FROM events") == 3


def test_start_heat_form_goes_back_only_within_the_event(make: Make) -> None:
    """The form's ``next`` is followed only when it is a path inside the event."""
    client = make()
    _, _, location = client.post_form("/event/start_heat", {"heat": "1", "next": "/emcee/heat/1"})
    assert location == "/showcase/2026/demo/emcee/heat/1"
    _, _, location = client.post_form("/event/start_heat", {"heat": "1", "next": "//evil.test/"})
    assert location == "/showcase/2026/demo/emcee/heat/1"


def test_start_heat_by_form_without_the_csrf_token_is_403(make: Make) -> None:
    """A form start_heat without the token is refused; the current heat stays."""
    client = make(current_heat=1)
    code, _, _ = client.post_form("/event/start_heat", {"heat": "3"}, csrf=False)
    assert code == 403
    assert client.db.value("SELECT current_heat FROM events") == 1
    assert client.published == []


def test_start_heat_accepts_the_token_as_a_header(make: Make) -> None:
    """The CSRF token may come as X-CSRF-Token instead of a form field."""
    client = make()
    response = client._wait(
        client.treq.post(
            client.url("/event/start_heat"),
            data={"heat": "2"},
            cookies={CSRF_COOKIE.decode(): "tok"},
            headers={b"x-csrf-token": [b"tok"]},
            allow_redirects=False,
        )
    )
    assert response.code == 303
    assert client.db.value("SELECT current_heat FROM events") == 2


@pytest.mark.parametrize("heat", [7, 0, -6, "x", None])
def test_start_heat_for_a_heat_not_on_the_schedule_is_refused(make: Make, heat: Any) -> None:
    """Starting a heat that is not scheduled answers 404 (or 422 when it is no number)."""
    client = make(current_heat=1)
    code, answer = client.post_json("/event/start_heat", {"heat": heat})
    assert code in (404, 422) and "error" in answer
    assert client.db.value("SELECT current_heat FROM events") == 1


def test_judge_heat_page_marks_the_heat_on_the_floor(make: Make) -> None:
    """A judge's heat page shows "On the floor" only for the current heat."""
    client = make(current_heat=2)
    _, current = client.get(f"/scores/{ev.JUDY}/heat/2")
    assert re.search(r'data-heat-target="current">On the floor', current)
    _, other = client.get(f"/scores/{ev.JUDY}/heat/1")
    assert re.search(r'data-heat-target="current" hidden>On the floor', other)


# -- a database from the showcase application ---------------------------------------------------


def showcase_database(path: Path, fill: Callable[[sqlite3.Connection], None]) -> None:
    """A database built with the showcase DDL, filled, plus a table and a column we don't know."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(SCHEMA.read_text())
    conn.execute("BEGIN")
    fill(conn)
    conn.execute("CREATE TABLE recordings (id integer PRIMARY KEY, judge_id integer, audio blob)")
    conn.execute("INSERT INTO recordings VALUES (1, ?, x'00ff10')", [ev.JUDY])
    conn.execute('ALTER TABLE scores ADD COLUMN "recording_id" integer')
    conn.execute('ALTER TABLE heats ADD COLUMN "note" varchar')
    conn.execute("UPDATE heats SET note = 'keep me' WHERE id = ?", [ev.H1_ARTHUR])
    conn.execute(
        "INSERT INTO scores (judge_id, heat_id, value, recording_id, created_at, updated_at)"
        " VALUES (?, ?, 'B', 1, 'then', 'then')",
        [ev.JUDY, ev.H1_ARTHUR],
    )
    conn.execute("COMMIT")
    conn.close()


def test_a_showcase_database_opens_renders_and_scores_keeping_what_we_do_not_know(
    tmp_path: Path,
) -> None:
    """A showcase DB opens, renders and scores; extra tables and columns keep their data."""
    showcase_database(tmp_path / "event.sqlite3", ev.populate)
    client = EventClient(tmp_path, lambda conn: None)
    assert client.get(f"/scores/{ev.JUDY}/heatlist")[0] == 200
    code, body = client.get(f"/scores/{ev.JUDY}/heat/1")
    assert code == 200 and pressed(couple(body, ev.H1_ARTHUR)) == ["B"]
    assert judge_post(client, {"heat": ev.H1_ARTHUR, "score": "GH"})[0] == 200
    assert judge_post(client, {"heat": ev.H1_JACK, "score": "S"})[0] == 200
    batch = {"scores": [{"heat": ev.H2_JACK, "score": "1"}, {"heat": ev.H1_JACK, "score": "G"}]}
    assert client.post_json(f"/scores/{ev.JUDY}/batch", batch)[0] == 200
    assert client.post_json("/event/start_heat", {"heat": 1})[0] == 200
    rows = client.db.query(
        "SELECT heat_id, value, recording_id FROM scores WHERE judge_id = ? ORDER BY heat_id",
        [ev.JUDY],
    )
    assert [tuple(r) for r in rows] == [
        (ev.H1_ARTHUR, "GH", 1),
        (ev.H1_JACK, "G", None),
        (ev.H2_JACK, "1", None),
    ]
    assert client.db.value("SELECT note FROM heats WHERE id = ?", [ev.H1_ARTHUR]) == "keep me"
    assert tuple(client.db.one("SELECT * FROM recordings") or ()) == (1, ev.JUDY, b"\x00\xff\x10")
