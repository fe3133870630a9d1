"""Machine idle (server.idle): hooks, the machines API call, resume gating."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock
from twisted.logger import capturedLogs
from twisted.web import resource, server

from showcase.config.model import Hook, Idle
from showcase.idle import MachineIdle, MachinesAPI

IDLE_HOOK = (Hook(command="idle-hook"),)
RESUME_HOOK = (Hook(command="resume-hook"),)


class Recorder:
    """Fake hook runner and machines API that record their calls in one list."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.pending: dict[str, Deferred[bool]] = {}
        self.hold: set[str] = set()

    def run_hooks(self, hooks: tuple[Hook, ...], label: str) -> Deferred[bool]:
        self.calls.append(label)
        if label in self.hold:
            d: Deferred[bool] = Deferred()
            self.pending[label] = d
            return d
        return succeed(True)

    def call_api(self, action: str) -> Deferred[bool]:
        self.calls.append(f"api:{action}")
        return succeed(True)


def make(
    action: str | None = "suspend", timeout: float = 60.0
) -> tuple[MachineIdle, Clock, Recorder]:
    clock = Clock()
    rec = Recorder()
    idle = MachineIdle(
        clock,
        Idle(action=action, timeout=timeout),
        lambda: (IDLE_HOOK, RESUME_HOOK),
        rec.run_hooks,
        rec.call_api,
    )
    return idle, clock, rec


def test_idle_after_timeout_runs_hooks_then_calls_api() -> None:
    """With no request for the timeout, the idle hooks run and then the API is asked to suspend."""
    idle, clock, rec = make()
    clock.advance(59.9)
    assert rec.calls == []
    clock.advance(0.2)
    assert rec.calls == ["server.idle", "api:suspend"]
    assert idle.state == "idle"


def test_stop_action_is_passed_to_the_api() -> None:
    """action: stop asks the API to stop the machine."""
    _, clock, rec = make(action="stop", timeout=5)
    clock.advance(5)
    assert rec.calls == ["server.idle", "api:stop"]


def test_disabled_never_fires() -> None:
    """Without an action the machine never goes idle."""
    _, clock, rec = make(action=None)
    clock.advance(10_000)
    assert rec.calls == []


def test_a_request_in_flight_keeps_the_machine_up() -> None:
    """A long request holds off idling; the timeout counts from when it ends."""
    idle, clock, rec = make(timeout=10)
    idle.started()
    clock.advance(100)
    assert rec.calls == []
    idle.finished()
    clock.advance(9)
    assert rec.calls == []
    clock.advance(1)
    assert rec.calls == ["server.idle", "api:suspend"]


def test_request_during_idle_hooks_cancels_the_action() -> None:
    """A request that arrives while the idle hooks run stops the API call."""
    idle, clock, rec = make(timeout=10)
    rec.hold.add("server.idle")
    clock.advance(10)
    idle.started()
    rec.pending["server.idle"].callback(True)
    assert rec.calls == ["server.idle"]
    assert idle.state == "active"
    idle.finished()
    rec.hold.clear()
    clock.advance(10)
    assert rec.calls == ["server.idle", "server.idle", "api:suspend"]


def test_a_request_answered_during_idle_hooks_still_cancels_the_action() -> None:
    """A request that comes and is answered while the idle hooks run (a health check
    during a long backup hook) keeps the machine up: no API call; the timeout starts
    again from that request."""
    idle, clock, rec = make(timeout=10)
    rec.hold.add("server.idle")
    clock.advance(10)
    idle.started()
    idle.finished()
    rec.pending["server.idle"].callback(True)
    assert rec.calls == ["server.idle"]
    assert idle.state == "active"
    rec.hold.clear()
    clock.advance(10)
    assert rec.calls == ["server.idle", "server.idle", "api:suspend"]


def test_idle_hooks_that_raise_still_lead_to_the_api_call() -> None:
    """Idle hooks whose Deferred fails (not just a failing command) are logged and the
    action is taken, never leaving the machine stuck between states."""
    idle, clock, rec = make(timeout=10)
    rec.hold.add("server.idle")
    clock.advance(10)
    with capturedLogs() as events:
        rec.pending["server.idle"].errback(RuntimeError("hook runner broke"))
    assert rec.calls == ["server.idle", "api:suspend"]
    assert idle.state == "idle"
    assert any(e.get("log_failure") is not None for e in events)


def test_resume_hooks_that_raise_still_let_waiting_requests_through() -> None:
    """Resume hooks whose Deferred fails (e.g. a reload they ask for breaks) are logged;
    the requests waiting for them go on and the machine is active again."""
    idle, clock, rec = make(timeout=10)
    clock.advance(10)
    rec.hold.add("server.resume")
    waiting = idle.gate()
    assert waiting is not None
    fired: list[None] = []
    waiting.addCallback(fired.append)
    with capturedLogs() as events:
        rec.pending["server.resume"].errback(RuntimeError("reload broke"))
    assert fired == [None]
    assert idle.state == "active" and idle.gate() is None
    assert any(e.get("log_failure") is not None for e in events)


def test_first_request_after_idle_runs_resume_hooks_and_others_wait() -> None:
    """After idling, requests wait until the resume hooks finish; the hooks run once."""
    idle, clock, rec = make(timeout=10)
    clock.advance(10)
    rec.hold.add("server.resume")
    first = idle.gate()
    second = idle.gate()
    assert first is not None and second is not None
    fired: list[str] = []
    first.addCallback(lambda _: fired.append("first"))
    second.addCallback(lambda _: fired.append("second"))
    assert fired == [] and rec.calls.count("server.resume") == 1
    rec.pending["server.resume"].callback(True)
    assert fired == ["first", "second"]
    assert idle.gate() is None and idle.state == "active"


def test_idles_again_after_resuming() -> None:
    """After a resume the timer is armed again."""
    idle, clock, rec = make(timeout=10)
    clock.advance(10)
    assert idle.gate() is None  # resume hooks that finish at once leave nothing to wait for
    clock.advance(10)
    assert rec.calls == [
        "server.idle",
        "api:suspend",
        "server.resume",
        "server.idle",
        "api:suspend",
    ]


def test_gate_is_open_while_active() -> None:
    """An active machine lets requests through at once."""
    idle, _, _ = make()
    assert idle.gate() is None


class FakeMachinesAPI(resource.Resource):
    """Fly's machines API, as much of it as the idle path uses."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[tuple[bytes, bytes]] = []

    def render(self, request: Any) -> bytes:
        self.requests.append((request.method, request.uri))
        request.setHeader(b"content-type", b"application/json")
        return json.dumps({"ok": True}).encode()


@pytest_twisted.ensureDeferred
async def test_machines_api_posts_over_the_unix_socket(tmp_path: Path) -> None:
    """The suspend call is a POST over the unix socket naming the app and the machine."""
    fake = FakeMachinesAPI()
    path = str(tmp_path / "api.sock")
    port = reactor.listenUNIX(path, server.Site(fake))  # type: ignore[attr-defined]
    try:
        api = MachinesAPI.from_environ(
            reactor,
            {
                "FLY_APP_NAME": "smooth",
                "FLY_MACHINE_ID": "3d8d1234",
                "SHOWCASE_FLY_API_SOCKET": path,
            },
        )
        assert await api("suspend") is True
    finally:
        await port.stopListening()
    assert fake.requests == [(b"POST", b"/v1/apps/smooth/machines/3d8d1234/suspend")]


@pytest_twisted.ensureDeferred
async def test_machines_api_without_fly_env_refuses() -> None:
    """Off Fly (no machine id) the call is not made and reports failure."""
    api = MachinesAPI.from_environ(reactor, {})
    assert await api("stop") is False


@pytest_twisted.ensureDeferred
async def test_machines_api_unreachable_socket_reports_failure(tmp_path: Path) -> None:
    """A missing API socket is a logged failure, not an exception."""
    api = MachinesAPI(reactor, "smooth", "m1", str(tmp_path / "missing.sock"))
    assert await api("suspend") is False
