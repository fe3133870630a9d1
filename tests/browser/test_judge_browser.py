"""A judge in real Chromium against a real event process: keyboard scoring, then offline.

The event runs as ``python -m showcase.event`` over a database this test fills; the
browser is the Debian Chromium driven by Playwright's sync API.  Skipped when either is
missing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from showcase.event.db import create
from tests import judgingevent as ev
from tests.browser.support import launch
from tests.integration.appproc import app_process
from tests.integration.routerproc import wait_for

SCOPE = "/showcase/2026/browser"

try:
    from playwright.sync_api import Page, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    pytest.skip("the playwright package is not installed", allow_module_level=True)

pytestmark = pytest.mark.browser


@pytest.fixture
def event_process(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The event app on a free port over a fresh database; its base URL and database path."""
    db = tmp_path / "2026-browser.sqlite3"
    create(str(db), lambda conn: ev.populate(conn, open_scoring="G"))
    env = {"SHOWCASE_DB": str(db), "SHOWCASE_SCOPE": SCOPE}
    with app_process("showcase.event", tmp_path, env) as port:
        yield f"http://127.0.0.1:{port}{SCOPE}", db


def judy_scores(db: Path) -> list[tuple[int, str, int]]:
    """Judy's marks in the database: (heat id, value, rows for that heat id)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT heat_id, max(value), count(*) FROM scores WHERE judge_id = ?"
            " GROUP BY heat_id ORDER BY heat_id",
            [ev.JUDY],
        ).fetchall()
    finally:
        conn.close()
    return [tuple(r) for r in rows]


def controller_ready(page: Page, heading: str) -> None:
    """Wait until the page shows ``heading`` and its heat controller is connected."""
    page.wait_for_function(
        """(heading) => {
            const el = document.querySelector('[data-controller="heat"]')
            const h1 = document.querySelector("h1")
            return el && h1 && h1.textContent.startsWith(heading) && window.Stimulus &&
                window.Stimulus.getControllerForElementAndIdentifier(el, "heat")
        }""",
        arg=heading,
    )


def couple(heat_id: int) -> str:
    return f'tbody[data-heat-id="{heat_id}"]'


def test_judge_scores_with_the_keyboard_then_offline(event_process: tuple[str, Path]) -> None:
    """Keyboard scoring saves at once; marks entered offline queue, then land exactly once."""
    base, db = event_process
    judge = f"{base}/scores/{ev.JUDY}"
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            context = browser.new_context()
            page = context.new_page()
            # Heat 1 fetches heats 2, 3 and 4 ahead, one after another.
            with page.expect_response(lambda r: r.url.endswith("/heat/4")):
                page.goto(f"{judge}/heat/1")
                controller_ready(page, "Heat 1")

            # Tab to the G of the first couple and press Space: saved at once.
            target = f'{couple(ev.H1_ARTHUR)} button[data-value="G"]'
            for _ in range(30):
                if page.evaluate(f"document.activeElement.matches('{target}')"):
                    break
                page.keyboard.press("Tab")
            else:
                raise AssertionError("Tab never reached the G button")
            page.keyboard.press("Space")
            page.wait_for_selector(f'{couple(ev.H1_ARTHUR)}[data-state="saved"]')
            assert page.get_attribute(target, "aria-pressed") == "true"
            assert judy_scores(db) == [(ev.H1_ARTHUR, "G", 1)]

            # Escape leaves the button; Space then starts the heat.
            page.keyboard.press("Escape")
            page.keyboard.press("Space")
            page.wait_for_selector('[data-heat-target="current"]:not([hidden])')
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            assert conn.execute("SELECT current_heat FROM events").fetchone()[0] == 1
            conn.close()

            # → goes to heat 2.
            page.keyboard.press("ArrowRight")
            page.wait_for_url(f"{judge}/heat/2")
            controller_ready(page, "Heat 2")

            # The network drops: heat 2 and heat 3 (fetched ahead) are scored anyway.
            context.set_offline(True)
            page.click(f'{couple(ev.H2_ARTHUR)} button[data-value="G"]')
            page.wait_for_selector(f'{couple(ev.H2_ARTHUR)}[data-state="pending"]')
            page.keyboard.press("ArrowRight")
            controller_ready(page, "Heat 3")
            page.click(f"{couple(ev.H3_SOLO)} input[data-field=score]")
            page.keyboard.type("88")
            page.keyboard.press("Enter")
            page.wait_for_selector(f'{couple(ev.H3_SOLO)}[data-state="pending"]')
            pending = page.locator('[data-heat-target="pending"]')
            pending.filter(has_text="2 pending").wait_for(state="visible")
            assert judy_scores(db) == [(ev.H1_ARTHUR, "G", 1)]

            # Back online: the queue is sent, each mark stored exactly once.
            context.set_offline(False)
            expected = [(ev.H1_ARTHUR, "G", 1), (ev.H2_ARTHUR, "G", 1), (ev.H3_SOLO, "88", 1)]
            wait_for(lambda: judy_scores(db) == expected, 30, "the queued marks in the database")
            page.wait_for_selector('[data-heat-target="pending"][hidden]', state="attached")
            page.wait_for_selector(f'{couple(ev.H3_SOLO)}[data-state="saved"]')
        finally:
            browser.close()


def test_emcee_starts_a_heat_and_a_judge_gives_feedback(event_process: tuple[str, Path]) -> None:
    """The emcee's button starts the heat; feedback buttons and comments save as clicked."""
    base, db = event_process
    conn = sqlite3.connect(db)
    conn.execute("UPDATE events SET open_scoring = '@', judge_comments = 1")
    conn.commit()
    conn.close()
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page()
            page.goto(f"{base}/emcee")
            page.wait_for_url(f"{base}/emcee/heat/1")
            controller_ready(page, "Heat 1")
            page.click("text=Start heat")
            page.wait_for_selector('form[data-heat-target="start"][hidden]', state="attached")
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            assert conn.execute("SELECT current_heat FROM events").fetchone()[0] == 1
            conn.close()

            page.goto(f"{base}/scores/{ev.JUDY}/heat/2")
            controller_ready(page, "Heat 2")
            row = couple(ev.H2_JACK)
            page.click(f'{row} button[data-field="good"][data-code="F"]')
            page.click(f'{row} button[data-field="good"][data-code="T"]')
            page.click(f'{row} button[data-field="bad"][data-code="F"]')
            page.click(f'{row} button[data-value="GH"]')
            page.fill(f"{row} textarea", "Nice frame")
            page.keyboard.press("Tab")

            def stored() -> Any:
                conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
                try:
                    return conn.execute(
                        "SELECT value, good, bad, comments FROM scores WHERE heat_id = ?",
                        [ev.H2_JACK],
                    ).fetchall()
                finally:
                    conn.close()

            wait_for(lambda: stored() == [("GH", "T", "F", "Nice frame")], 30, "the feedback row")
            page.wait_for_selector(f'{row}[data-state="saved"]')
            assert (
                page.get_attribute(
                    f'{row} button[data-field="good"][data-code="F"]', "aria-pressed"
                )
                == "false"
            )
        finally:
            browser.close()
