"""HookRunner on a fake process reactor, and the reload_config decision (Navigator §7, §2.13)."""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from processfakes import FakeProcessReactor, KillLog
from twisted.internet.defer import Deferred
from twisted.logger import capturedLogs, formatEvent

from showcase.config.model import Hook
from showcase.tenants.childlog import ChildOutput
from showcase.tenants.hooks import KILL_AFTER, PIPE_GRACE, HookRunner, reload_requested
from showcase.tenants.spawn import LAUNCHER

# --- fixtures --------------------------------------------------------------------------------


class Setup:
    def __init__(self, base_env: Mapping[str, str] | None = None) -> None:
        self.reactor = FakeProcessReactor()
        self.lines: list[str] = []
        self.kills = KillLog()
        output = ChildOutput("text", None, self.lines.append, self.reactor.seconds)
        self.runner = HookRunner(
            self.reactor,
            output,
            base_env if base_env is not None else {"PATH": "/bin"},
            kill=self.kills,
        )

    def result(self, d: Deferred[bool]) -> bool | None:
        """The result of ``d`` if it has fired (without consuming it), else None."""
        results: list[bool] = []

        def keep(value: bool) -> bool:
            results.append(value)
            return value

        d.addCallback(keep)
        return results[0] if results else None


@pytest.fixture
def s() -> Setup:
    return Setup()


def messages(events: Sequence[Mapping[str, object]]) -> list[str]:
    return [formatEvent(dict(event)) for event in events]


# --- running ---------------------------------------------------------------------------------


def test_an_empty_list_succeeds_without_spawning(s: Setup) -> None:
    """No hooks: the result is True at once and nothing is started."""
    assert s.result(s.runner.run([], "server.start")) is True
    assert s.reactor.processes == []


def test_hooks_run_one_after_another(s: Setup) -> None:
    """The next hook starts only after the previous one ended; all succeeding gives True."""
    d = s.runner.run([Hook("first"), Hook("second", ("a", "b"))], "server.ready")
    assert [p.argv for p in s.reactor.processes] == [["first"]]
    s.reactor.processes[0].finish(0)
    assert [p.argv for p in s.reactor.processes] == [["first"], ["second", "a", "b"]]
    assert s.result(d) is None
    s.reactor.processes[1].finish(0)
    assert s.result(d) is True


def test_a_list_stops_at_the_first_failure(s: Setup) -> None:
    """A failing hook ends the list: later hooks do not run and the result is False."""
    d = s.runner.run([Hook("ok"), Hook("bad"), Hook("never")], "tenant.stop")
    s.reactor.processes[0].finish(0)
    with capturedLogs() as events:
        s.reactor.processes[1].finish(3)
    assert s.result(d) is False
    assert [p.argv for p in s.reactor.processes] == [["ok"], ["bad"]]
    assert any("exit code 3" in m and "bad" in m for m in messages(events))


def test_a_hook_killed_by_a_signal_fails_and_names_the_signal(s: Setup) -> None:
    """Death by signal is a failure, logged with the signal number."""
    d = s.runner.run([Hook("victim")], "server.idle")
    with capturedLogs() as events:
        s.reactor.processes[0].finish(sig=signal.SIGSEGV)
    assert s.result(d) is False
    assert any(f"signal {int(signal.SIGSEGV)}" in m for m in messages(events))


def test_hooks_run_directly_under_the_launcher_with_cwd_and_closed_stdin(s: Setup) -> None:
    """Each hook runs as ``command args…`` (no shell) under spawn()'s launcher, in ``cwd``,
    with stdin closed."""
    s.runner.run([Hook("/usr/bin/rsync", ("-a", "$HOME", "x y"))], "tenant.stop", cwd="/srv/t")
    process = s.reactor.processes[0]
    assert process.args[3] == LAUNCHER
    assert process.argv == ["/usr/bin/rsync", "-a", "$HOME", "x y"]
    assert process.path == "/srv/t"
    assert process.stdin_closed


def test_env_is_base_then_caller_then_hook() -> None:
    """The environment is base_env, overridden by the caller's env, overridden by hook.env."""
    setup = Setup({"A": "base", "B": "base", "C": "base"})
    hook = Hook("env", env=(("C", "hook"), ("D", "hook")))
    setup.runner.run([hook], "tenant.start", env={"B": "call", "C": "call"})
    assert setup.reactor.processes[0].env == {"A": "base", "B": "call", "C": "hook", "D": "hook"}


def test_output_is_logged_with_source_hook_label(s: Setup) -> None:
    """stdout/stderr lines go to ChildOutput as source ``hook:<label>``, partial ones at the end."""
    s.runner.run([Hook("talk")], "server.start")
    process = s.reactor.processes[0]
    process.output(1, b"out line\n")
    process.output(2, b"no newline")
    process.finish(0)
    assert s.lines == [
        "[hook:server.start.stdout] out line",
        "[hook:server.start.stderr] no newline",
    ]


def test_a_timeout_sends_sigterm_then_sigkill_and_fails(s: Setup) -> None:
    """Past its timeout a hook's group gets SIGTERM, SIGKILL 5 s later; the hook fails."""
    d = s.runner.run([Hook("slow", timeout=30.0), Hook("never")], "server.ready")
    pid = s.reactor.processes[0].pid
    s.reactor.advance(29.9)
    assert s.kills.sent == []
    s.reactor.advance(0.1)
    assert s.kills.sent == [(pid, signal.SIGTERM)]
    s.reactor.advance(KILL_AFTER)
    assert s.kills.sent == [(pid, signal.SIGTERM), (pid, signal.SIGKILL)]
    s.reactor.processes[0].finish(sig=signal.SIGKILL)
    assert s.result(d) is False
    assert len(s.reactor.processes) == 1


def test_a_timed_out_hook_fails_even_if_it_exits_zero_on_sigterm(s: Setup) -> None:
    """A hook that handles SIGTERM and exits 0 still counts as failed; stragglers get SIGKILL."""
    d = s.runner.run([Hook("slow", timeout=1.0)], "server.ready")
    pid = s.reactor.processes[0].pid
    s.reactor.advance(1.0)
    s.reactor.processes[0].finish(0)
    assert s.result(d) is False
    assert s.kills.sent == [(pid, signal.SIGTERM), (pid, signal.SIGKILL)]
    assert s.reactor.getDelayedCalls() == []


def test_a_hook_within_its_timeout_is_not_signalled(s: Setup) -> None:
    """A hook that ends before its timeout succeeds, and no timer is left behind."""
    d = s.runner.run([Hook("quick", timeout=30.0)], "server.ready")
    s.reactor.advance(10)
    s.reactor.processes[0].finish(0)
    assert s.result(d) is True
    assert s.kills.sent == []
    assert s.reactor.getDelayedCalls() == []


def test_no_timeout_means_no_limit(s: Setup) -> None:
    """Without ``timeout`` (or with 0) a hook may run for ever."""
    d = s.runner.run([Hook("forever", timeout=0.0)], "server.ready")
    s.reactor.advance(86400)
    assert s.kills.sent == []
    assert s.result(d) is None


def test_a_command_that_cannot_start_fails_with_a_log_line(s: Setup) -> None:
    """spawnProcess refusing the command is a failure, logged as "cannot start"."""
    s.reactor.refuse = OSError("fork failed")
    with capturedLogs() as events:
        d = s.runner.run([Hook("x"), Hook("never")], "server.start")
    assert s.result(d) is False
    assert any("cannot start" in m and "fork failed" in m for m in messages(events))


def test_exit_127_is_explained_as_command_not_found(s: Setup) -> None:
    """The launcher exits 127 when exec fails; the log line says the command was not found."""
    d = s.runner.run([Hook("no-such-command")], "server.start")
    with capturedLogs() as events:
        s.reactor.processes[0].finish(127)
    assert s.result(d) is False
    assert any("exit code 127" in m and "not found" in m for m in messages(events))


def test_background_children_holding_the_pipes_do_not_block(s: Setup) -> None:
    """A hook that exited is judged on its own status once its pipes stay open for PIPE_GRACE."""
    d = s.runner.run([Hook("daemonize")], "server.start")
    process = s.reactor.processes[0]
    process.exit(0)
    assert s.result(d) is None
    s.reactor.advance(PIPE_GRACE)
    assert s.result(d) is True
    process.end(0)  # the background child closes the pipe much later: ignored
    assert s.kills.sent == []


# --- reload decision -------------------------------------------------------------------------

LOADED_AT = 1_700_000_000.0


@pytest.mark.parametrize(
    ("succeeded", "target", "exists", "mtime", "reload"),
    [
        (True, None, True, LOADED_AT + 10, False),  # no reload_config
        (False, "other", True, LOADED_AT + 10, False),  # hook failed
        (True, "other", True, LOADED_AT - 10, True),  # other file exists: age does not matter
        (True, "other", False, None, False),  # other file missing
        (True, "current", True, LOADED_AT + 10, True),  # same file changed since load
        (True, "current", True, LOADED_AT, False),  # same file, not newer
        (True, "current", True, LOADED_AT - 10, False),  # same file, older
        (False, "current", True, LOADED_AT + 10, False),  # same file changed, hook failed
    ],
)
def test_reload_decision(
    tmp_path: Path,
    succeeded: bool,
    target: str | None,
    exists: bool,
    mtime: float | None,
    reload: bool,
) -> None:
    """Reload iff the hook succeeded and reload_config is another existing file or the current
    file modified after the config was loaded."""
    current = tmp_path / "current"
    current.write_text("current: config")
    os.utime(current, (LOADED_AT, LOADED_AT))
    path = None if target is None else str(tmp_path / target)
    if path is not None and exists:
        Path(path).write_text("x")
        assert mtime is not None
        os.utime(path, (mtime, mtime))
    hook = Hook("true", reload_config=path)
    decision = reload_requested(hook, str(current), LOADED_AT, succeeded=succeeded)
    assert decision == (path if reload else None)


def test_reload_compares_paths_not_spellings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative reload_config naming the current file is the current file (mtime rule applies)."""
    current = tmp_path / "navigator.yml"
    current.write_text("x")
    os.utime(current, (LOADED_AT, LOADED_AT))
    monkeypatch.chdir(tmp_path)
    hook = Hook("true", reload_config="./navigator.yml")
    assert reload_requested(hook, str(current), LOADED_AT) is None
    os.utime(current, (LOADED_AT + 1, LOADED_AT + 1))
    assert reload_requested(hook, str(current), LOADED_AT) == "./navigator.yml"
