"""Live updates in the event app's pages: which streams each page follows, what is published.

The pages name their streams (``<kind>-<db>``, db = the database's base name,
here ``event``) and the cable URL (``<prefix>/cable``) for cable_controller.js;
the published data are the turbo-streams spec/cable.md describes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from showcase.event.db import create
from showcase.event.paths import STATIC
from showcase.event.public import counter_layout
from tests import judgingevent as ev
from tests.eventsupport import PREFIX, EventClient

CABLE = f"{PREFIX}/cable"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small judging event, built once."""
    path = tmp_path_factory.mktemp("template") / "event.sqlite3"
    create(str(path), ev.populate)
    return path


@pytest.fixture
def client(tmp_path: Path, template: Path) -> EventClient:
    """An event app over a copy of the small judging event."""
    shutil.copy(template, tmp_path / "event.sqlite3")
    return EventClient(tmp_path, lambda conn: None)


def followed(body: str) -> list[tuple[str, str, list[str]]]:
    """(controllers, cable URL, streams) of each element following cable streams."""
    found = re.findall(
        r'data-controller="([^"]*cable[^"]*)" data-cable-url-value="([^"]*)"'
        r" data-cable-streams-value='([^']*)'",
        body,
    )
    return [(controllers, url, json.loads(streams)) for controllers, url, streams in found]


@pytest.mark.parametrize(
    "path", ["public/counter", "public/heats", "emcee/heat/1", f"scores/{ev.JUDY}/heat/1"]
)
def test_pages_showing_the_heat_on_the_floor_follow_current_heat(
    client: EventClient, path: str
) -> None:
    """Counter, heat list and heat pages follow current-heat-<db> on the event's cable."""
    code, body = client.get(path)
    assert code == 200
    assert followed(body) == [("cable", CABLE, ["current-heat-event"])]
    assert body.count('id="current-heat"') == 1


@pytest.mark.parametrize(
    "path",
    [
        "scores/by-level",
        "scores/by-age",
        "scores/by-studio",
        "scores/instructor",
        f"people/{ev.JACK}/scores",
    ],
)
def test_results_pages_follow_live_scores(client: EventClient, path: str) -> None:
    """Every results page follows live-scores-<db> and holds the #last-score-update it replaces."""
    code, body = client.get(path)
    assert code == 200
    assert followed(body) == [("cable live-scores", CABLE, ["live-scores-event"])]
    assert body.count('id="last-score-update"') == 1


def test_the_emcee_page_holds_a_hidden_target_for_the_current_heat(client: EventClient) -> None:
    """The heat page keeps a hidden #current-heat inside its floor target for the stream."""
    _, body = client.get("emcee/heat/1")
    assert re.search(
        r'<div data-heat-target="floor" hidden><span id="current-heat"></span></div>', body
    )


@pytest.mark.parametrize(
    ("asked", "layout"),
    [("", 0), ("1", 1), ("4", 4), ("5", 0), ("0", 0), ("list", 4), ("Dance", 2), ("x", 0)],
)
def test_counter_layout_from_the_query(asked: str, layout: int) -> None:
    """?layout= takes 1..4 or a layout's name; anything else asks for none."""
    assert counter_layout(asked) == layout


def test_the_counter_renders_the_layout_asked_for(client: EventClient) -> None:
    """``?layout=3`` renders the couples layout; without it the number alone, until JS says."""
    _, body = client.get("public/counter?layout=3")
    assert 'data-layout="couples" data-counter-layout-value="3"' in body
    _, body = client.get("public/counter")
    assert 'data-layout="number" data-counter-layout-value="0"' in body
    assert 'data-counter-layouts-value=\'["number", "dance", "couples", "list"]\'' in body
    assert "keydown@window->counter#key" in body


@pytest.mark.parametrize(
    "name",
    [
        "counter.css",
        "controllers/cable.js",
        "controllers/cable_controller.js",
        "controllers/live_scores_controller.js",
    ],
)
def test_the_live_update_assets_ship_with_the_app(name: str) -> None:
    """The counter's stylesheet and the cable client modules are in the served static folder."""
    assert os.path.isfile(os.path.join(STATIC, name))


def test_starting_a_heat_publishes_it_with_its_couples(client: EventClient) -> None:
    """start_heat publishes a turbo-stream replacing #current-heat: number, dance, category,
    couples with back numbers and names."""
    code, _ = client.post_json("event/start_heat", {"heat": 1})
    assert code == 200
    [(stream, data)] = client.published
    assert stream == "current-heat-event"
    assert isinstance(data, str)
    assert data.startswith('<turbo-stream action="replace" target="current-heat"><template>')
    assert data.endswith("</template></turbo-stream>")
    assert 'data-number="1"' in data
    assert '<div class="counter-number">1</div>' in data
    assert '<div class="counter-dance">Waltz</div>' in data
    assert '<span class="counter-back">101</span>' in data
    assert "Arthur Murray &amp; Kathryn Murray" in data


def test_a_manually_inserted_heat_keeps_its_fraction(client: EventClient) -> None:
    """Starting heat 4.5 publishes 4.5 (not heat 4) and the counter shows it."""
    client.post_json("event/start_heat", {"heat": 4.5})
    [(_, data)] = client.published
    assert isinstance(data, str)
    assert 'data-number="4.5"' in data and '<div class="counter-number">4.5</div>' in data
    assert "Cha Cha" in data
    _, body = client.get("public/counter")
    assert '<div class="counter-number">4.5</div>' in body


def test_saving_and_removing_a_score_publish_live_scores(client: EventClient) -> None:
    """A saved score and its removal each publish the #last-score-update turbo-stream."""
    for score in ("G", ""):
        code, _ = client.post_json(f"scores/{ev.JUDY}/post", {"heat": ev.H1_ARTHUR, "score": score})
        assert code == 200
    assert [stream for stream, _ in client.published] == ["live-scores-event"] * 2
    for _, data in client.published:
        assert isinstance(data, str)
        assert re.fullmatch(
            r'<turbo-stream action="replace" target="last-score-update"><template>'
            r'<time id="last-score-update" datetime="([^"]+)" data-heat="1"'
            r' data-judge="10">\1</time></template></turbo-stream>',
            data,
        ), data


def test_a_post_that_changes_nothing_publishes_nothing(client: EventClient) -> None:
    """Clearing a score that was never there is no change: results pages are not disturbed."""
    client.post_json(f"scores/{ev.JUDY}/post", {"heat": ev.H1_ARTHUR, "score": ""})
    assert client.published == []
