"""ManagedProcesses on a fake process reactor: start, backoff restarts, stop escalation, reload."""

from __future__ import annotations

import signal
from collections.abc import Mapping, Sequence

import pytest
from processfakes import FakeProcess, FakeProcessReactor, KillLog
from twisted.internet.defer import Deferred
from twisted.logger import capturedLogs, formatEvent

from showcase.config.model import ManagedProcess
from showcase.tenants.childlog import ChildOutput
from showcase.tenants.managed import ManagedProcesses, State
from showcase.tenants.spawn import LAUNCHER

# --- fixtures --------------------------------------------------------------------------------

STOP_TIMEOUT = 10.0


class Setup:
    def __init__(self, processes: Sequence[ManagedProcess]) -> None:
        self.reactor = FakeProcessReactor()
        self.lines: list[str] = []
        self.kills = KillLog()
        output = ChildOutput("text", None, self.lines.append, self.reactor.seconds)
        self.service = ManagedProcesses(
            self.reactor,
            processes,
            output,
            {"PATH": "/bin", "SHARED": "base"},
            stop_timeout=STOP_TIMEOUT,
            kill=self.kills,
        )

    def spawned(self, name: str) -> list[FakeProcess]:
        """Every process started so far whose command is ``name``."""
        return [p for p in self.reactor.processes if p.argv[0] == name]

    def last(self, name: str) -> FakeProcess:
        return self.spawned(name)[-1]


def fired(d: Deferred[None]) -> bool:
    """Whether ``d`` has fired (without consuming its result)."""
    results: list[None] = []

    def keep(value: None) -> None:
        results.append(value)

    d.addCallback(keep)
    return bool(results)


def messages(events: Sequence[Mapping[str, object]]) -> list[str]:
    return [formatEvent(dict(event)) for event in events]


def proc(
    name: str,
    args: tuple[str, ...] = (),
    auto_restart: bool = False,
    start_delay: float = 0.0,
) -> ManagedProcess:
    """A definition whose command is its name (so tests can tell processes apart)."""
    return ManagedProcess(
        name=name, command=name, args=args, auto_restart=auto_restart, start_delay=start_delay
    )


# --- starting --------------------------------------------------------------------------------


def test_start_spawns_each_process_under_the_launcher() -> None:
    """startService runs ``command args…`` via spawn() with base env + own env, in working_dir."""
    definition = ManagedProcess(
        name="redis",
        command="redis-server",
        args=("--port", "0"),
        working_dir="/var/lib/redis",
        env=(("SHARED", "own"), ("EXTRA", "1")),
    )
    s = Setup([definition])
    s.service.startService()
    (process,) = s.reactor.processes
    assert process.args[3] == LAUNCHER
    assert process.argv == ["redis-server", "--port", "0"]
    assert process.path == "/var/lib/redis"
    assert process.env == {"PATH": "/bin", "SHARED": "own", "EXTRA": "1"}
    assert process.stdin_closed
    assert s.service.pid("redis") == process.pid
    assert s.service.state("redis") is State.RUNNING


def test_start_delay_postpones_the_start() -> None:
    """A process with start_delay is spawned that many seconds after startService."""
    s = Setup([proc("now"), proc("later", start_delay=3.0)])
    s.service.startService()
    assert [p.argv[0] for p in s.reactor.processes] == ["now"]
    assert s.service.state("later") is State.WAITING
    s.reactor.advance(2.9)
    assert s.spawned("later") == []
    s.reactor.advance(0.1)
    assert len(s.spawned("later")) == 1


def test_ready_fires_once_the_undelayed_processes_are_spawned() -> None:
    """ready() fires after startService spawned every process without start_delay."""
    s = Setup([proc("now"), proc("later", start_delay=30.0)])
    ready = s.service.ready()
    assert not fired(ready)
    s.service.startService()
    assert fired(ready)
    assert fired(s.service.ready())


def test_output_goes_to_child_output_with_the_process_name() -> None:
    """A managed process's output is logged with source = its name."""
    s = Setup([proc("worker")])
    s.service.startService()
    s.last("worker").output(1, b"hello\n")
    s.last("worker").output(2, b"partial")
    s.last("worker").finish(0)
    assert s.lines == ["[worker.stdout] hello", "[worker.stderr] partial"]


# --- exits and restarts ----------------------------------------------------------------------


def test_without_auto_restart_an_exit_is_logged_and_final() -> None:
    """A process without auto_restart that exits stays down; the exit status is logged."""
    s = Setup([proc("once")])
    s.service.startService()
    with capturedLogs() as events:
        s.last("once").finish(2)
    s.reactor.advance(3600)
    assert len(s.spawned("once")) == 1
    assert s.service.pid("once") is None
    assert s.service.state("once") is State.EXITED
    assert any("once" in m and "exit code 2" in m for m in messages(events))


def test_auto_restart_backs_off_exponentially_to_60s() -> None:
    """Quick exits are restarted after 1, 2, 4, 8, 16, 32, 60, 60 s."""
    s = Setup([proc("flappy", auto_restart=True)])
    s.service.startService()
    waits = []
    for _ in range(8):
        s.last("flappy").finish(1)
        count = len(s.spawned("flappy"))
        waited = 0.0
        while len(s.spawned("flappy")) == count:
            s.reactor.advance(0.5)
            waited += 0.5
            assert waited <= 120
        waits.append(waited)
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60]


def test_the_backoff_resets_after_a_60s_run() -> None:
    """A process that ran for 60 s before exiting is restarted after 1 s again."""
    s = Setup([proc("flappy", auto_restart=True)])
    s.service.startService()
    for delay in (1, 2, 4):
        s.last("flappy").finish(1)
        s.reactor.advance(delay)
    assert len(s.spawned("flappy")) == 4
    s.reactor.advance(60)
    s.last("flappy").finish(1)
    s.reactor.advance(1)
    assert len(s.spawned("flappy")) == 5


@pytest.mark.parametrize(("code", "sig"), [(0, None), (1, None), (0, signal.SIGKILL)])
def test_auto_restart_restarts_after_any_exit(code: int, sig: int | None) -> None:
    """With auto_restart a clean exit, an error exit and a signal all lead to a restart."""
    s = Setup([proc("daemon", auto_restart=True)])
    s.service.startService()
    first = s.last("daemon").pid
    s.last("daemon").finish(code, sig)
    assert s.service.pid("daemon") is None
    assert s.service.state("daemon") is State.WAITING
    s.reactor.advance(1)
    assert s.service.pid("daemon") not in (None, first)
    assert s.service.state("daemon") is State.RUNNING


def test_a_process_that_cannot_be_spawned_is_retried_with_backoff() -> None:
    """spawnProcess failing counts as an exit: auto_restart retries it after the backoff."""
    s = Setup([proc("broken", auto_restart=True), proc("plain")])
    s.reactor.refuse = OSError("no fork for you")
    with capturedLogs() as events:
        s.service.startService()
    assert any("cannot start" in m for m in messages(events))
    assert s.service.state("broken") is State.WAITING
    assert s.service.state("plain") is State.EXITED
    s.reactor.refuse = None
    s.reactor.advance(1)
    assert s.service.state("broken") is State.RUNNING
    assert s.service.state("plain") is State.EXITED


# --- stopping --------------------------------------------------------------------------------


def test_stop_sends_sigterm_and_fires_when_all_exited() -> None:
    """stopService signals each group with SIGTERM and fires once every process has exited."""
    s = Setup([proc("a", auto_restart=True), proc("b")])
    s.service.startService()
    a, b = s.last("a"), s.last("b")
    stopped = s.service.stopService()
    assert s.kills.sent == [(a.pid, signal.SIGTERM), (b.pid, signal.SIGTERM)]
    a.finish(sig=signal.SIGTERM)
    assert not fired(stopped)
    b.finish(0)
    assert fired(stopped)
    s.reactor.advance(3600)
    assert len(s.reactor.processes) == 2  # no restart after a stop


def test_stop_sweeps_the_group_with_sigkill_after_the_leader_exits() -> None:
    """Once a stopped leader is gone its group gets SIGKILL, for members that ignored SIGTERM."""
    s = Setup([proc("a")])
    s.service.startService()
    a = s.last("a")
    s.service.stopService()
    a.finish(sig=signal.SIGTERM)
    assert s.kills.sent == [(a.pid, signal.SIGTERM), (a.pid, signal.SIGKILL)]
    assert s.reactor.getDelayedCalls() == []


def test_stop_escalates_to_sigkill_after_the_timeout() -> None:
    """A process still running stop_timeout after SIGTERM gets SIGKILL."""
    s = Setup([proc("stubborn")])
    s.service.startService()
    p = s.last("stubborn")
    stopped = s.service.stopService()
    s.reactor.advance(STOP_TIMEOUT - 0.1)
    assert s.kills.sent == [(p.pid, signal.SIGTERM)]
    s.reactor.advance(0.1)
    assert s.kills.sent == [(p.pid, signal.SIGTERM), (p.pid, signal.SIGKILL)]
    assert not fired(stopped)
    p.finish(sig=signal.SIGKILL)
    assert fired(stopped)


def test_stop_cancels_pending_starts_and_restarts() -> None:
    """stopService during a start_delay or a restart backoff starts nothing more."""
    s = Setup([proc("delayed", start_delay=5.0), proc("flappy", auto_restart=True)])
    s.service.startService()
    s.last("flappy").finish(1)
    stopped = s.service.stopService()
    assert fired(stopped)
    s.reactor.advance(3600)
    assert [p.argv[0] for p in s.reactor.processes] == ["flappy"]
    assert s.service.state("delayed") is State.STOPPED


# --- reload ----------------------------------------------------------------------------------


def test_update_stops_removed_starts_new_and_keeps_unchanged() -> None:
    """update() stops processes no longer listed, starts new ones, leaves unchanged ones alone."""
    s = Setup([proc("keep"), proc("gone")])
    s.service.startService()
    keep, gone = s.last("keep"), s.last("gone")
    s.service.update([proc("keep"), proc("new")])
    assert s.kills.sent == [(gone.pid, signal.SIGTERM)]
    assert s.service.pid("keep") == keep.pid
    assert s.service.pid("gone") is None
    assert s.service.pid("new") == s.last("new").pid
    gone.finish(sig=signal.SIGTERM)
    assert len(s.spawned("keep")) == 1


def test_update_restarts_a_changed_definition_after_the_old_one_exited() -> None:
    """A changed definition stops the old process and starts the new one once it has exited."""
    s = Setup([proc("web", args=("--old",))])
    s.service.startService()
    old = s.last("web")
    s.service.update([proc("web", args=("--new",))])
    assert s.kills.sent == [(old.pid, signal.SIGTERM)]
    assert len(s.spawned("web")) == 1
    old.finish(sig=signal.SIGTERM)
    new = s.last("web")
    assert new.argv == ["web", "--new"]
    assert s.service.pid("web") == new.pid


def test_stop_during_a_changed_restart_waits_for_the_old_process() -> None:
    """stopService while a replaced process is still stopping waits for it, starts nothing new."""
    s = Setup([proc("web", args=("--old",))])
    s.service.startService()
    old = s.last("web")
    s.service.update([proc("web", args=("--new",))])
    stopped = s.service.stopService()
    assert not fired(stopped)
    old.finish(sig=signal.SIGTERM)
    assert fired(stopped)
    assert len(s.spawned("web")) == 1


def test_two_quick_changes_start_only_the_last_definition() -> None:
    """Changing a definition twice before the old process exited starts only the newest one."""
    s = Setup([proc("web", args=("1",))])
    s.service.startService()
    old = s.last("web")
    s.service.update([proc("web", args=("2",))])
    s.service.update([proc("web", args=("3",))])
    old.finish(sig=signal.SIGTERM)
    assert [p.argv for p in s.spawned("web")] == [["web", "1"], ["web", "3"]]


def test_update_before_start_only_replaces_the_definitions() -> None:
    """update() on a service not yet started spawns nothing; startService uses the new list."""
    s = Setup([proc("a")])
    s.service.update([proc("b")])
    assert s.reactor.processes == []
    s.service.startService()
    assert [p.argv[0] for p in s.reactor.processes] == ["b"]
