"""Live provisioning through a real router (``twistd -n showcase``) and its own redis-server.

The router runs the config the real generator writes for an index database built here
(one location, an admin with ``sites: index`` in htpasswd).  The admin creates an event
with the form (Basic auth, CSRF cookie and token); the test follows the progress on the
index's cable stream over a WebSocket, then opens the new event: it answers within 10 s
of the post, and the router was reloaded, never restarted.
"""

from __future__ import annotations

import base64
import re
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .indexsite import PASSWORD, build_index, serve
from .routerproc import Router
from .wsclient import WebSocket

pytestmark = pytest.mark.integration

AUTH = "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
CSRF_COOKIE = re.compile(r"showcase_csrf=([^;]+)")
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


@pytest.fixture
def site() -> Iterator[Path]:
    """A short directory (the embedded redis-server's socket path is at most 107 bytes)."""
    with tempfile.TemporaryDirectory(prefix="prov-", dir="/tmp") as name:
        yield Path(name)


def test_an_event_created_in_the_admin_app_answers_within_ten_seconds(
    site: Path, started: list[Router]
) -> None:
    """POST showcases/new → progress over <root>/cable → completed → the event's page 200,
    all within 10 s of the post, with the router's pid unchanged (reloaded, not restarted)."""
    admin_id = build_index(site)
    router = serve(site, started)
    pid = router.proc.pid

    status, headers, body = router.get("/showcase/showcases/new", headers={"Authorization": AUTH})
    assert status == 200, body[:500]
    cookie = CSRF_COOKIE.search(headers["set-cookie"])
    token = CSRF_META.search(body.decode())
    assert cookie is not None and token is not None

    stream = f"config_update_index_{admin_id}"
    cable = WebSocket(router.port, "/showcase/cable", AUTH)
    try:
        cable.send({"type": "subscribe", "stream": stream})
        assert cable.receive(10) == {"type": "subscribed", "stream": stream}

        form = {
            "authenticity_token": token.group(1),
            "year": "2025",
            "key": "showcase",
            "name": "Boston Spring",
            "date": "2025-04-12",
            "location": "1",
        }
        posted = time.monotonic()
        status, headers, body = router.get(
            "/showcase/showcases/new",
            method="POST",
            body=urllib.parse.urlencode(form).encode(),
            headers={
                "Authorization": AUTH,
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"showcase_csrf={cookie.group(1)}",
            },
        )
        assert status == 303, body[:800]
        assert headers["location"] == "/showcase/config/progress"

        progress: list[Any] = []
        while not progress or progress[-1]["status"] == "processing":
            try:
                message = cable.receive(max(0.1, 10 - (time.monotonic() - posted)))
            except TimeoutError:
                raise AssertionError(f"progress stopped at {progress}:\n{router.log()}") from None
            if message.get("type") == "message":
                assert message["stream"] == stream
                progress.append(message["data"])
    finally:
        cable.close()

    assert progress[-1]["status"] == "completed", progress
    assert progress[-1]["url"] == "/showcase/2025/boston/"
    assert [p["progress"] for p in progress] == sorted(p["progress"] for p in progress)

    status, _, page = router.get("/showcase/2025/boston/", headers={"Authorization": AUTH})
    elapsed = time.monotonic() - posted
    assert status == 200, page[:500]
    assert b"Boston Spring" in page
    assert elapsed < 10.0, f"the event answered {elapsed:.1f} s after the post"
    assert router.proc.pid == pid and router.proc.poll() is None
    assert int((site / "config" / "twistd.pid").read_text()) == pid
    assert (site / "db" / "2025-boston.sqlite3").exists()
