"""Event tenants forked from the preloaded spawner, with the real router and real processes.

Most tests run ``twistd -n showcase`` (:class:`~tests.integration.routerproc.Router`)
with event-app tenants, each on its own SQLite file under the test's directory,
and read what happened from the router's log: ``spawner ready: pid N``,
``tenant NAME started: pid N, ... (ready line, preload|spawn)`` and the
access lines.  The last test drives a :class:`Preloader` on the test's reactor
with ``tests/support/preload_app.py`` as the preloaded app.  Every router is
stopped and every process seen is checked gone (killed as a last resort).
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import pytest_twisted
from twisted.internet import reactor as _reactor
from twisted.internet.defer import Deferred
from twisted.internet.protocol import ProcessProtocol
from twisted.internet.task import deferLater
from twisted.python.failure import Failure

from showcase.tenants.forked import ForkedProcess
from showcase.tenants.preload import Preloader
from showcase.tenants.spawn import signal_group

from .routerproc import Router, alive, kill_leftovers, wait_for

pytestmark = pytest.mark.integration

reactor: Any = _reactor
SUPPORT = str(Path(__file__).resolve().parent.parent / "support")
SPAWNER_READY = re.compile(r"spawner ready: pid (\d+)")


def config(tmp: Path, names: list[str], preload: bool = True, timeout: str = "5m") -> str:
    (tmp / "public").mkdir(exist_ok=True)
    tenants = "".join(
        f"    - path: /{name}/\n"
        "      env:\n"
        f"        SHOWCASE_DB: {tmp / name}.sqlite3\n"
        f"        SHOWCASE_SCOPE: {name}\n"
        for name in names
    )
    return (
        "server:\n"
        "  listen: 0\n"
        "  static:\n"
        f"    public_dir: {tmp / 'public'}\n"
        "applications:\n"
        f"  preload: {'true' if preload else 'false'}\n"
        "  pools:\n"
        f"    timeout: {timeout}\n"
        "    stop_timeout: 2s\n"
        "    start_port: 24700\n"
        "  startup_timeout: 10s\n"
        "  tenants:\n"
        f"{tenants}"
        "cable:\n"
        "  enabled: false\n"
    )


class Seen:
    """The routers a test started and every pid it learned; all gone afterwards."""

    def __init__(self) -> None:
        self.routers: list[Router] = []
        self.pids: set[int] = set()

    def router(self, tmp: Path, text: str, spawners: int = 1) -> Router:
        """A router on ``text``, once ``spawners`` spawners have said they are ready."""
        router = Router(tmp, text)
        self.routers.append(router)
        if spawners:
            wait_for(lambda: len(self.spawners(router)) >= spawners, 20, "the spawner")
        return router

    def spawners(self, router: Router) -> list[int]:
        pids = [int(pid) for pid in SPAWNER_READY.findall(router.log())]
        self.pids.update(pids)
        return pids

    def start(self, router: Router, name: str) -> tuple[int, str]:
        """GET the event's home page (it must answer); the pid and start of its latest child."""
        status, _, body = router.get(f"/{name}/")
        assert status == 200, body
        assert b"<html" in body.lower()
        found = re.findall(
            rf"tenant {name} started: pid (\d+), .*\(ready line, (\w+)\)", router.log()
        )
        assert found, router.log()
        pid, via = int(found[-1][0]), found[-1][1]
        self.pids.add(pid)
        return pid, via


@pytest.fixture
def seen() -> Iterator[Seen]:
    s = Seen()
    yield s
    for router in s.routers:
        router.stop()
    try:
        wait_for(lambda: not any(alive(pid) for pid in s.pids), 15, "every process to end")
    finally:
        kill_leftovers(sorted(s.pids))


def parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def open_files(pid: int) -> set[str]:
    names = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            names.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
    return names


def access_line(router: Router, uri: str) -> dict[str, Any]:
    """The access line of the one request for ``uri`` (written in batches: waits for it)."""

    def found() -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in router.log().splitlines() if line.startswith("{")]
        return [line for line in lines if line["uri"] == uri]

    lines = cast(list[dict[str, Any]], wait_for(found, 5, f"the access line of {uri}"))
    assert len(lines) == 1, lines
    return lines[0]


def test_cold_event_answers_through_a_preloaded_child(tmp_path: Path, seen: Seen) -> None:
    """The first request starts the event by a fork of the spawner; the access line says so."""
    router = seen.router(tmp_path, config(tmp_path, ["e1"]))
    (spawner,) = seen.spawners(router)
    pid, via = seen.start(router, "e1")
    assert via == "preload"
    assert parent(pid) == spawner
    cold = access_line(router, "/e1/")
    assert cold["started_via"] == "preload"
    assert 0 < cold["start_ms"] < 5000


def test_children_have_their_own_databases(tmp_path: Path, seen: Seen) -> None:
    """Two events forked from one spawner are two processes, each with its own database."""
    router = seen.router(tmp_path, config(tmp_path, ["e1", "e2"]))
    (spawner,) = seen.spawners(router)
    one, _ = seen.start(router, "e1")
    two, _ = seen.start(router, "e2")
    assert one != two and parent(one) == parent(two) == spawner
    first, second = str(tmp_path / "e1.sqlite3"), str(tmp_path / "e2.sqlite3")
    assert first in open_files(one) and second not in open_files(one)
    assert second in open_files(two) and first not in open_files(two)


def test_a_killed_child_is_seen_at_once_and_restarted(tmp_path: Path, seen: Seen) -> None:
    """SIGKILL to a forked event is logged as a crash at once; the next request restarts it."""
    router = seen.router(tmp_path, config(tmp_path, ["e1"]))
    pid, _ = seen.start(router, "e1")
    os.kill(pid, signal.SIGKILL)
    crashed = f"tenant e1 crashed: pid {pid}, killed by SIGKILL"
    wait_for(lambda: crashed in router.log(), 2, "the crash to be logged")
    again, via = seen.start(router, "e1")
    assert again != pid and via == "preload"


def test_an_idle_preloaded_event_is_stopped_like_any_other(tmp_path: Path, seen: Seen) -> None:
    """After ``pools.timeout`` it gets SIGTERM, exits 0 (reported by the spawner), and is gone."""
    router = seen.router(tmp_path, config(tmp_path, ["e1"], timeout="1s"))
    pid, _ = seen.start(router, "e1")
    stopped = f"tenant e1 stopped (idle): pid {pid}, exit status 0"
    wait_for(lambda: stopped in router.log(), 5, "the idle stop")
    assert not alive(pid)


def test_router_sigkill_leaves_no_spawner_nor_children(tmp_path: Path, seen: Seen) -> None:
    """When the router dies without a clean stop, the spawner and its children end on their own."""
    router = seen.router(tmp_path, config(tmp_path, ["e1", "e2"]))
    (spawner,) = seen.spawners(router)
    children = [seen.start(router, name)[0] for name in ("e1", "e2")]
    router.signal(signal.SIGKILL)
    router.proc.wait()
    wait_for(lambda: not any(alive(p) for p in [spawner, *children]), 10, "them to end")


def test_killed_spawner_falls_back_to_direct_starts_and_comes_back(
    tmp_path: Path, seen: Seen
) -> None:
    """Its running child survives; new starts are direct until a new spawner is ready.

    The survivor's later exit is still noticed (through its pidfd), and the
    event restarts on the next request.
    """
    router = seen.router(tmp_path, config(tmp_path, ["e1", "e2", "e3"]))
    (spawner,) = seen.spawners(router)
    survivor, _ = seen.start(router, "e1")
    os.kill(spawner, signal.SIGKILL)
    wait_for(lambda: f"spawner pid {spawner} died" in router.log(), 5, "the death to be seen")
    if len(seen.spawners(router)) == 1:  # the restart is not due yet: a direct start
        direct, via = seen.start(router, "e2")
        assert via == "spawn" and parent(direct) == router.proc.pid
    assert seen.start(router, "e1")[0] == survivor
    wait_for(lambda: len(seen.spawners(router)) == 2, 20, "a new spawner")
    renewed = seen.spawners(router)[-1]
    forked, via = seen.start(router, "e3")
    assert via == "preload" and parent(forked) == renewed
    os.kill(survivor, signal.SIGKILL)
    gone = f"tenant e1 crashed: pid {survivor}, exited (status unknown"
    wait_for(lambda: gone in router.log(), 2, "the survivor's exit to be seen")
    assert seen.start(router, "e1")[0] != survivor


def test_reload_replaces_the_spawner(tmp_path: Path, seen: Seen) -> None:
    """After a reload new children come from a new spawner; the old one leaves with its last."""
    text = config(tmp_path, ["e1", "e2"])
    router = seen.router(tmp_path, text)
    (old,) = seen.spawners(router)
    first, _ = seen.start(router, "e1")
    router.reload(text)
    wait_for(lambda: len(seen.spawners(router)) == 2, 20, "the new spawner")
    new = seen.spawners(router)[-1]
    second, via = seen.start(router, "e2")
    assert via == "preload" and parent(second) == new
    assert alive(old) and seen.start(router, "e1")[0] == first
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: not alive(old), 5, "the old spawner to leave")


def test_preload_off_spawns_event_tenants_directly(tmp_path: Path, seen: Seen) -> None:
    """``applications.preload: false``: no spawner; the event is the router's own child."""
    router = seen.router(tmp_path, config(tmp_path, ["e1"], preload=False), spawners=0)
    pid, via = seen.start(router, "e1")
    assert via == "spawn" and parent(pid) == router.proc.pid
    assert seen.spawners(router) == []
    assert access_line(router, "/e1/")["started_via"] == "spawn"


class ReadyLine(ProcessProtocol):
    """Fires ``line`` with the child's first stdout line (parsed), ``ended`` with its end."""

    def __init__(self) -> None:
        self.line: Deferred[dict[str, Any]] = Deferred()
        self.ended: Deferred[BaseException] = Deferred()
        self._buffer = b""

    def outReceived(self, data: bytes) -> None:
        self._buffer += data
        if b"\n" in self._buffer and not self.line.called:
            self.line.callback(json.loads(self._buffer.split(b"\n", 1)[0]))

    def processEnded(self, reason: Failure) -> None:
        self.ended.callback(reason.value)


async def until(condition: Any, timeout: float = 20.0) -> None:
    """Poll ``condition`` every 20 ms on the reactor; fail after ``timeout`` seconds."""
    deadline = reactor.seconds() + timeout
    while not condition():
        assert reactor.seconds() < deadline, "condition not met in time"
        await deferLater(reactor, 0.02, lambda: None)


@pytest_twisted.ensureDeferred
async def test_children_of_one_spawner_have_different_random_state(tmp_path: Path) -> None:
    """Each fork reseeds ``random`` and gets its own environment (here, its database name)."""
    output: list[tuple[str, str, bytes]] = []
    preloader = Preloader(
        reactor,
        lambda *args: output.append(args),
        {**os.environ, "PYTHONPATH": SUPPORT},
        argv=[sys.executable, "-m", "showcase.tenants.spawner", "--app", "preload_app"],
    )
    preloader.start()
    children: list[tuple[ForkedProcess, ReadyLine]] = []
    try:
        await until(lambda: preloader.current is not None)
        assert preloader.current is not None
        spawner = preloader.current.pid
        for db in ("one.sqlite3", "two.sqlite3"):
            protocol = ReadyLine()
            argv = [sys.executable, "-m", "preload_app"]
            child = preloader.launch(reactor, protocol, argv, {"SHOWCASE_DB": db}, str(tmp_path))
            assert isinstance(child, ForkedProcess)
            children.append((child, protocol))
        one, two = [await protocol.line.addTimeout(20, reactor) for _, protocol in children]
        assert one["pid"] != two["pid"] and one["random"] != two["random"]
        assert (one["db"], two["db"]) == ("one.sqlite3", "two.sqlite3")
        assert parent(one["pid"]) == parent(two["pid"]) == spawner
    finally:
        for child, _ in children:
            # The child's ready line can arrive before the spawner's "forked"
            # message tells the router its pid: wait for the pid, then stop it.
            await until(lambda c=child: c.pid is not None)
            assert child.pid is not None
            signal_group(child.pid, signal.SIGTERM)
        for _, protocol in children:
            await protocol.ended.addTimeout(20, reactor)
        await preloader.stop()
    assert not any(alive(pid) for pid in [spawner, one["pid"], two["pid"]])
