"""Hooks and managed processes with real child processes on the global reactor."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.logger import capturedLogs, formatEvent

from showcase.config.model import Hook, ManagedProcess
from showcase.tenants.childlog import ChildOutput
from showcase.tenants.hooks import HookRunner
from showcase.tenants.managed import ManagedProcesses

pytestmark = pytest.mark.integration

BASE_ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
SH = "/bin/sh"


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (a dead child waiting to be reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait (on the reactor, polling every 20 ms) until ``predicate()`` is true."""
    deadline = reactor.seconds() + timeout
    while not predicate():
        assert reactor.seconds() < deadline, "condition not reached in time"
        await deferLater(reactor, 0.02, lambda: None)


def collector() -> tuple[ChildOutput, list[str]]:
    lines: list[str] = []
    return ChildOutput("text", None, lines.append, reactor.seconds), lines


@pytest_twisted.ensureDeferred
async def test_a_failing_hook_reports_failure_and_its_output() -> None:
    """A real hook printing "hi" and exiting 3 yields False, its output line and exit code 3."""
    output, lines = collector()
    runner = HookRunner(reactor, output, BASE_ENV)
    with capturedLogs() as events:
        ok = await runner.run([Hook(SH, ("-c", "echo hi; exit 3"))], "server.start")
    assert ok is False
    assert lines == ["[hook:server.start.stdout] hi"]
    assert any("exit code 3" in formatEvent(dict(event)) for event in events)


@pytest_twisted.ensureDeferred
async def test_hook_env_and_cwd_reach_the_command(tmp_path: Path) -> None:
    """A real hook sees the merged environment and runs in the given directory."""
    output, lines = collector()
    runner = HookRunner(reactor, output, {**BASE_ENV, "WHO": "base"})
    hook = Hook(SH, ("-c", 'echo "$WHO $WHAT $(pwd)"'), env=(("WHAT", "hook"),))
    ok = await runner.run([hook], "tenant.start", env={"WHO": "tenant"}, cwd=str(tmp_path))
    assert ok is True
    assert lines == [f"[hook:tenant.start.stdout] tenant hook {tmp_path}"]


@pytest_twisted.ensureDeferred
async def test_a_missing_command_fails_with_a_clear_line() -> None:
    """A hook command that does not exist fails; the launcher's reason is logged."""
    output, lines = collector()
    runner = HookRunner(reactor, output, BASE_ENV)
    ok = await runner.run([Hook("/nonexistent/showcase-hook")], "server.start")
    assert ok is False
    assert any("cannot run" in line and "showcase-hook" in line for line in lines)


@pytest_twisted.ensureDeferred
async def test_a_hook_past_its_timeout_is_killed() -> None:
    """A real ``sleep 60`` hook with a short timeout fails quickly and is gone afterwards."""
    output, lines = collector()
    runner = HookRunner(reactor, output, BASE_ENV)
    hook = Hook(SH, ("-c", "echo $$; exec sleep 60"), timeout=0.3)
    started = reactor.seconds()
    ok = await runner.run([hook], "server.ready")
    assert ok is False
    assert reactor.seconds() - started < 5
    pid = int(lines[0].split()[-1])
    await until(lambda: not alive(pid))


@pytest_twisted.ensureDeferred
async def test_stop_service_ends_the_whole_process_group() -> None:
    """stopService ends a managed shell and the background ``sleep 60`` it started."""
    output, lines = collector()
    script = "sleep 60 & echo $!; wait"
    service = ManagedProcesses(
        reactor, [ManagedProcess("group", SH, ("-c", script))], output, BASE_ENV
    )
    service.startService()
    try:
        shell = service.pid("group")
        assert shell is not None
        await until(lambda: len(lines) == 1)
        sleeper = int(lines[0].split()[-1])
        assert alive(shell) and alive(sleeper)
    finally:
        await service.stopService()
    await until(lambda: not alive(shell) and not alive(sleeper))


@pytest_twisted.ensureDeferred
async def test_stop_escalates_to_sigkill_for_a_group_ignoring_sigterm() -> None:
    """A managed group that ignores SIGTERM is killed after stop_timeout, members included."""
    output, lines = collector()
    script = "trap '' TERM; sleep 60 & echo $!; wait"
    service = ManagedProcesses(
        reactor,
        [ManagedProcess("stubborn", SH, ("-c", script))],
        output,
        BASE_ENV,
        stop_timeout=0.3,
    )
    service.startService()
    try:
        shell = service.pid("stubborn")
        assert shell is not None
        await until(lambda: len(lines) == 1)
        sleeper = int(lines[0].split()[-1])
    finally:
        await service.stopService()
    await until(lambda: not alive(shell) and not alive(sleeper))


@pytest_twisted.ensureDeferred
async def test_an_auto_restart_process_that_exits_is_restarted() -> None:
    """A managed process with auto_restart that exits comes back with a new pid."""
    output, _ = collector()
    definition = ManagedProcess("flappy", SH, ("-c", "sleep 0.1"), auto_restart=True)
    service = ManagedProcesses(reactor, [definition], output, BASE_ENV)
    service.startService()
    try:
        first = service.pid("flappy")
        assert first is not None
        await until(lambda: service.pid("flappy") not in (None, first))
        second = service.pid("flappy")
        assert second is not None
    finally:
        await service.stopService()
    await until(lambda: not alive(first) and not alive(second))
