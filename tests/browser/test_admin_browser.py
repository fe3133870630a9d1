"""An administrator creates an event in real Chromium and lands on it once it is live.

``twistd -n showcase`` (tests/integration/routerproc.py) runs the config the real
generator writes for an index built here (tests/integration/indexsite.py), with the
embedded Redis and the cable on.  The browser signs in with Basic auth, fills the
admin app's new-event form and submits it; the progress page
(static/controllers/config_update_controller.js) follows the admin's
``config_update_index_<user>`` stream and goes to the event when it is served.  What
the progress page shows is recorded as it changes by an init script reporting to the
test.  A second test runs the index app alone with a scripted cable (Playwright's
``route_web_socket``) to put the catch-up answer and the socket's messages in the
order that once moved the bar back.  Every wait is Playwright's with a timeout, or a
poll of a process's output; nothing sleeps.  Skipped without Playwright or Chromium.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.support import launch
from tests.integration.appproc import app_process
from tests.integration.indexsite import PASSWORD, build_index, serve
from tests.integration.routerproc import Router

ROOT = "/showcase"
EVENT = f"{ROOT}/2025/boston/"
STREAM = "config_update_index_1"  # the admin is the index's first user
LIVE_WITHIN = 10_000  # ms from the submit to the new event's page

try:
    from playwright.sync_api import Browser, BrowserContext, WebSocketRoute, expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    pytest.skip("the playwright package is not installed", allow_module_level=True)

pytestmark = pytest.mark.browser

# Reports the progress section's state (status, bar, message) each time it changes,
# from the first render on, numbered in the page; it runs before the page's own scripts.
WATCH_PROGRESS = """
(() => {
  let last = null
  let seq = 0
  const report = () => {
    const section = document.querySelector('[data-controller="config-update"]')
    if (!section) return
    const bar = section.querySelector("progress")
    const message = section.querySelector('[role="status"]')
    const state = {
      status: section.dataset.status,
      progress: bar ? Number(bar.value) : null,
      message: message ? message.textContent : null,
    }
    const key = JSON.stringify(state)
    if (key !== last) {
      last = key
      window.progressShown({ ...state, seq: ++seq })
    }
  }
  new MutationObserver(report).observe(document, {
    subtree: true, childList: true, attributes: true, characterData: true,
  })
})()
"""


def watched(browser: Browser, shown: list[dict[str, Any]], **options: Any) -> BrowserContext:
    """A browser context whose progress pages report each state they show to ``shown``."""
    context = browser.new_context(**options)
    context.expose_function("progressShown", lambda state: shown.append(state))
    context.add_init_script(WATCH_PROGRESS)
    return context


def bars(shown: list[dict[str, Any]]) -> list[int]:
    """The progress values shown, in the page's order."""
    return [state["progress"] for state in sorted(shown, key=lambda state: state["seq"])]


@pytest.fixture
def router(short_dir: Path) -> Iterator[Router]:
    """The router on the generated config of an index with an admin and a Cambridge user."""
    build_index(short_dir, site_users={"cambridge": "Cambridge"})
    started: list[Router] = []
    try:
        yield serve(short_dir, started)
    finally:
        for process in started:
            process.stop()


@pytest.fixture
def index_app(tmp_path: Path) -> Iterator[str]:
    """The index app alone (no router, no Redis) over an index with an admin; its root URL."""
    build_index(tmp_path)
    env = {
        "SHOWCASE_DB": str(tmp_path / "db" / "index.sqlite3"),
        "SHOWCASE_DB_DIR": str(tmp_path / "db"),
        "SHOWCASE_CONFIG_OUT": str(tmp_path / "config"),
        "SHOWCASE_ROOT_PATH": ROOT,
    }
    with app_process("showcase.index", tmp_path, env) as port:
        yield f"http://127.0.0.1:{port}{ROOT}"


def test_the_admin_creates_an_event_and_the_browser_lands_on_it(
    router: Router, short_dir: Path
) -> None:
    """Saving the new-event form shows the progress page, which follows the change as it
    is applied and opens the new event (its name on the page) within 10 s of the submit;
    the router was reloaded, not restarted; a Cambridge user gets 403 on its pages."""
    pid = router.proc.pid
    base = f"http://127.0.0.1:{router.port}"
    shown: list[dict[str, Any]] = []
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            credentials = {"username": "admin", "password": PASSWORD}
            page = watched(browser, shown, http_credentials=credentials).new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{base}{ROOT}/showcases/new")
            page.fill('input[name="year"]', "2025")
            page.select_option('select[name="location"]', label="Boston")
            page.fill('input[name="name"]', "Boston Spring")
            page.fill('input[name="key"]', "showcase")
            page.fill('input[name="date"]', "2025-04-12")

            submitted = time.monotonic()
            page.click('button[type="submit"]')
            page.wait_for_url(f"{base}{EVENT}", timeout=LIVE_WITHIN)
            left = LIVE_WITHIN - int((time.monotonic() - submitted) * 1000)
            expect(page.get_by_text("Boston Spring").first).to_be_visible(timeout=max(1, left))
            elapsed = time.monotonic() - submitted

            cambridge = browser.new_context(
                http_credentials={"username": "cambridge", "password": PASSWORD}
            )
            other = cambridge.new_page()
            answer = other.goto(f"{base}{EVENT}people")
            assert answer is not None and answer.status == 403
            expect(other.locator("h1")).to_have_text("Forbidden")
            expect(other.locator("body")).to_contain_text("You may not open this event's pages")
        finally:
            browser.close()

    assert elapsed < LIVE_WITHIN / 1000, f"the event opened {elapsed:.1f} s after the submit"
    # The progress page showed the change being applied, never going back, then completed.
    shown.sort(key=lambda state: state["seq"])
    assert "processing" in [state["status"] for state in shown], shown
    assert shown[-1]["status"] == "completed", shown
    assert shown[-1]["progress"] == 100 and "Boston Spring" in shown[-1]["message"], shown
    assert bars(shown) == sorted(bars(shown)), shown
    assert errors == []
    assert router.proc.pid == pid and router.proc.poll() is None
    assert (short_dir / "db" / "2025-boston.sqlite3").exists()


def test_a_message_behind_the_catch_up_answer_does_not_move_the_bar_back(
    index_app: str,
) -> None:
    """The catch-up answer (85 %) can arrive before older messages on the socket (55 %):
    the page skips those, keeps 85 %, and still follows the "completed" that comes next."""
    shown: list[dict[str, Any]] = []
    sockets: list[WebSocketRoute] = []

    def cable(socket: WebSocketRoute) -> None:
        """A hub that confirms every subscription and sends nothing else by itself."""

        def received(text: str | bytes) -> None:
            message = json.loads(text)
            if message.get("type") == "subscribe":
                socket.send(json.dumps({"type": "subscribed", "stream": message["stream"]}))

        socket.on_message(received)
        sockets.append(socket)

    def progress(status: str, percent: int, message: str, **more: str) -> str:
        data = {"status": status, "progress": percent, "message": message, **more}
        return json.dumps({"type": "message", "stream": STREAM, "data": data})

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            # Without the router, the index app takes the signed-in user from this header.
            context = watched(browser, shown, extra_http_headers={"X-Remote-User": "admin"})
            page = context.new_page()
            page.route_web_socket(f"**{ROOT}/cable", cable)
            page.route(
                f"**{ROOT}/config/progress.json",
                lambda route: route.fulfill(
                    json={"status": "processing", "progress": 85, "message": "Starting…"}
                ),
            )
            page.goto(f"{index_app}/config/progress")
            expect(page.locator("progress")).to_have_attribute("value", "85")
            assert len(sockets) == 1
            sockets[0].send(progress("processing", 55, "The router is reloading."))
            sockets[0].send(progress("completed", 100, "Ready.", url=f"{ROOT}/"))
            page.wait_for_url(f"{index_app}/")
        finally:
            browser.close()

    assert bars(shown) == [0, 85, 100], shown
    assert all("reloading" not in (state["message"] or "") for state in shown), shown
