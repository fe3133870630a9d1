"""Machine idle with a real router and a fake Fly machines API on a unix socket."""

from __future__ import annotations

import http.server
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from .routerproc import Router, wait_for

pytestmark = pytest.mark.integration


class _Handler(http.server.BaseHTTPRequestHandler):
    server: FakeMachinesAPI

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        self.server.seen.append((self.path, self.server.hook_file.exists()))
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class FakeMachinesAPI(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """Records each POST's path and whether the idle hook had run by then."""

    daemon_threads = True

    def __init__(self, path: str, hook_file: Path) -> None:
        super().__init__(path, _Handler)
        self.seen: list[tuple[str, bool]] = []
        self.hook_file = hook_file


@pytest.fixture
def machines_api(tmp_path: Path) -> Iterator[FakeMachinesAPI]:
    api = FakeMachinesAPI(str(tmp_path / "fly-api.sock"), tmp_path / "idle-hook-ran")
    thread = threading.Thread(target=api.serve_forever, daemon=True)
    thread.start()
    yield api
    api.shutdown()
    api.server_close()
    thread.join(5)


CONFIG = """\
server:
  idle:
    action: suspend
    timeout: 1s
  health_check:
    path: /up
    response: {{status: 200, body: OK}}
hooks:
  server:
    idle:
      - command: /bin/sh
        args: ["-c", "touch {dir}/idle-hook-ran"]
    resume:
      - command: /bin/sh
        args: ["-c", "sleep 0.3; touch {dir}/resume-hook-ran"]
cable:
  enabled: false
"""


def test_idle_machine_runs_hook_then_suspends_and_resumes(
    tmp_path: Path, machines_api: FakeMachinesAPI
) -> None:
    """No request for the timeout: the idle hook runs, then the machines API is asked to suspend
    this machine (app and machine id from the environment); the next request waits for the
    resume hook before it is answered."""
    router = Router(
        tmp_path,
        CONFIG.format(dir=tmp_path),
        env={
            "FLY_APP_NAME": "smooth",
            "FLY_MACHINE_ID": "3d8d1234",
            "SHOWCASE_FLY_API_SOCKET": machines_api.server_address,  # type: ignore[dict-item]
        },
    )
    try:
        assert router.get("/up")[0] == 200
        wait_for(lambda: machines_api.seen, 15, "the suspend call")
        assert machines_api.seen == [("/v1/apps/smooth/machines/3d8d1234/suspend", True)]
        assert not (tmp_path / "resume-hook-ran").exists()
        status, _, body = router.get("/up")
        assert (status, body) == (200, b"OK")
        # The request was held until the resume hook had finished.
        assert (tmp_path / "resume-hook-ran").exists()
    finally:
        assert router.stop() == 0
