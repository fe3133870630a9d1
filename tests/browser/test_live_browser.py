"""Live updates in real Chromium, through a real router, its cable hub and a real Redis.

``twistd -n showcase`` (tests/integration/routerproc.py) runs with the cable on and
``redis.url`` pointing at a redis-server this test starts; its one tenant is the
event app (the default framework) over a demo database, and gets ``SHOWCASE_REDIS``
from the router.  Pages talk to the hub at ``<scope>/cable``.  Every wait is
Playwright's (``wait_for_function`` / ``wait_for_selector`` with timeouts) or a
poll of the router's log; nothing sleeps to synchronise.  Skipped without
Playwright or Chromium.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from showcase.event.db import create
from showcase.event.demo import populate_demo
from tests.browser.support import launch
from tests.integration.appproc import app_process
from tests.integration.redisproc import RedisServer
from tests.integration.routerproc import Router, wait_for

SCOPE = "/showcase/2026/live"
DB = "2026-live"
TIMEOUT = 15000  # ms, for each wait in the browser

try:
    from playwright.sync_api import Error, Page, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    pytest.skip("the playwright package is not installed", allow_module_level=True)

pytestmark = pytest.mark.browser


def config(directory: Path, database: Path, redis_url: str) -> str:
    """One event tenant (the default framework) with the cable on and a given Redis."""
    (directory / "public").mkdir()
    return (
        "server:\n"
        "  listen: 0\n"
        "  static:\n"
        f"    public_dir: {directory / 'public'}\n"
        "applications:\n"
        "  pools:\n"
        "    stop_timeout: 5s\n"
        "    start_port: 24650\n"
        "  tenants:\n"
        f"    - path: {SCOPE}/\n"
        "      env:\n"
        f"        SHOWCASE_DB: '{database}'\n"
        f"        SHOWCASE_SCOPE: '{SCOPE}'\n"
        "cable:\n"
        "  enabled: true\n"
        f"redis:\n  url: '{redis_url}'\n"
    )


@pytest.fixture
def site(tmp_path: Path, redis: RedisServer) -> Iterator[tuple[str, Path]]:
    """The router serving the demo event at SCOPE; its base URL and the database path."""
    database = tmp_path / f"{DB}.sqlite3"
    create(str(database), populate_demo)
    directory = tmp_path / "router"
    directory.mkdir()
    router = Router(directory, config(directory, database, redis.url))
    try:
        wait_for(lambda: "cable bus connected to " in router.log(), 20, "the router's bus")
        yield f"http://127.0.0.1:{router.port}{SCOPE}", database
    finally:
        router.stop()


@pytest.fixture
def standalone(tmp_path: Path) -> Iterator[str]:
    """The event app alone (no router, so no hub at <scope>/cable); its base URL."""
    database = tmp_path / f"{DB}.sqlite3"
    create(str(database), populate_demo)
    env = {"SHOWCASE_DB": str(database), "SHOWCASE_SCOPE": SCOPE}
    with app_process("showcase.event", tmp_path, env) as port:
        yield f"http://127.0.0.1:{port}{SCOPE}"


def subscribed(page: Page) -> None:
    """Wait until the page's cable element has every stream confirmed by the hub."""
    page.wait_for_selector(
        '[data-controller~="cable"][data-cable-state="subscribed"]',
        state="attached",
        timeout=TIMEOUT,
    )


def mark(page: Page) -> None:
    """Leave a mark in the window: it survives anything but a reload."""
    page.evaluate("window.liveTestMark = true")


def not_reloaded(page: Page) -> bool:
    return bool(page.evaluate("window.liveTestMark === true"))


def unscored_pro_am_heat(database: Path) -> tuple[int, int, int]:
    """A heat row on or after the heat on the floor, a student with a professional:
    (heat number, heat id, the student's person id)."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        row = conn.execute(
            "SELECT h.number, h.id, CASE WHEN pl.type = 'Student' THEN pl.id ELSE pf.id END"
            " FROM heats h JOIN entries e ON e.id = h.entry_id"
            " JOIN people pl ON pl.id = e.lead_id JOIN people pf ON pf.id = e.follow_id"
            " WHERE h.number >= (SELECT current_heat FROM events) AND h.category = 'Open'"
            " AND (pl.type = 'Student') != (pf.type = 'Student')"
            " AND NOT EXISTS (SELECT 1 FROM scores s WHERE s.heat_id = h.id)"
            " ORDER BY h.number, h.id LIMIT 1"
        ).fetchone()
    finally:
        conn.close()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def first_judge(database: Path) -> int:
    """The person id of the event's first judge."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT min(person_id) FROM judges").fetchone()[0])
    finally:
        conn.close()


def errors_of(name: str, errors: list[str]) -> Callable[[Error], None]:
    """A pageerror listener adding the errors of page ``name`` to ``errors``."""
    return lambda error: errors.append(f"{name}: {error}")


def test_the_emcee_starts_a_heat_and_a_judge_scores_live_everywhere(
    site: tuple[str, Path],
) -> None:
    """The emcee starts heat 5: the counter, the heat list and a second emcee page follow
    without reloading; a judge's score then refreshes an open results page in place."""
    base, database = site
    number, heat_id, student = unscored_pro_am_heat(database)
    judge = first_judge(database)
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            context = browser.new_context()
            pages = {}
            for name, path in (
                ("counter", "/public/counter?layout=3"),
                ("heats", "/public/heats"),
                ("results", "/scores/by-level"),
                ("watcher", "/emcee/heat/5"),
                ("emcee", "/emcee/heat/5"),
            ):
                page = context.new_page()
                page.on("pageerror", errors_of(name, errors))
                page.goto(base + path)
                subscribed(page)
                mark(page)
                pages[name] = page
            counter, heats, results = pages["counter"], pages["heats"], pages["results"]
            watcher, emcee = pages["watcher"], pages["emcee"]
            assert counter.get_attribute(".counter", "data-layout") == "couples"
            assert counter.text_content(".counter-number") != "5"
            assert watcher.is_visible("button.score-start-button")

            # The emcee starts heat 5 from one page ...
            emcee.click("button.score-start-button")
            # ... and the counter shows it, with its couples, without a reload.
            counter.wait_for_function(
                "document.querySelector('.counter-number').textContent.trim() === '5'",
                timeout=TIMEOUT,
            )
            assert counter.locator(".counter-couple").count() == 6
            assert not_reloaded(counter)
            # The heat list marks heat 5 as the one on the floor.
            heats.wait_for_selector(
                'article.heat.current#current-heat[data-number="5"]', timeout=TIMEOUT
            )
            assert not_reloaded(heats)
            # The other emcee page on heat 5 hides its "Start heat" and says it is on the floor.
            watcher.wait_for_selector("form.score-start", state="hidden", timeout=TIMEOUT)
            assert watcher.is_visible('[data-heat-target="current"]')
            assert not_reloaded(watcher)

            # ← / → switch the counter's layout; the URL remembers it.
            counter.keyboard.press("ArrowRight")
            assert counter.get_attribute(".counter", "data-layout") == "list"
            assert counter.url.endswith("layout=4")

            # A judge scores a heat: the open results page refreshes in place.
            points = f'tr:has(a[href$="/people/{student}/scores"]) td.points'
            before = int(results.locator(points).first.text_content() or "0")
            scorer = context.new_page()
            scorer.goto(f"{base}/scores/{judge}/heat/{number}")
            scorer.click(f'tbody[data-heat-id="{heat_id}"] button[data-value="1"]')
            scorer.wait_for_selector(
                f'tbody[data-heat-id="{heat_id}"][data-state="saved"]', timeout=TIMEOUT
            )
            results.wait_for_function(
                """([selector, points]) => {
                    const cell = document.querySelector(selector)
                    return cell !== null && Number(cell.textContent) === points
                }""",
                arg=[points, before + 5],
                timeout=TIMEOUT,
            )
            assert not_reloaded(results)
        finally:
            browser.close()
    assert errors == []


def test_without_the_router_the_counter_polls_quietly(standalone: str) -> None:
    """Served standalone there is no hub: the counter raises no error, keeps trying the
    cable, and still follows the heat on the floor through its polling fallback."""
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page()
            page.on("pageerror", errors_of("counter", errors))
            page.goto(f"{standalone}/public/counter")
            page.wait_for_selector(
                '[data-controller~="cable"][data-cable-state="connecting"]', state="attached"
            )
            mark(page)
            answer = page.request.post(f"{standalone}/event/start_heat", data={"heat": 7})
            assert answer.status == 200
            page.wait_for_function(
                "document.querySelector('.counter-number').textContent.trim() === '7'",
                timeout=TIMEOUT + 10000,  # the fallback polls every 10 s
            )
            assert not_reloaded(page)
            assert page.get_attribute('[data-controller~="cable"]', "data-cable-state") == (
                "connecting"
            )
        finally:
            browser.close()
    assert errors == []
