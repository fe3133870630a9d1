"""Run hook commands (``hooks.server.*``, ``hooks.tenant.*``) and decide on ``reload_config``.

A hook list runs sequentially and stops at the first failure (Navigator's code,
``ref/navigator.md`` §7).  Each hook runs ``command args…`` without a shell,
through :func:`~showcase.tenants.spawn.spawn` (own process group, dies with
the router), with env = ``base_env`` + the caller's env + the hook's ``env``
(later wins), and its output goes to :class:`ChildOutput` as source
``hook:<label>`` line by line as it arrives.

A hook fails when it exits non-zero, is killed by a signal, cannot be
executed (the launcher exits 127 after printing why), or outlives its
``timeout``: then its group gets SIGTERM and, :data:`KILL_AFTER` seconds later,
SIGKILL.  A hook that exits but leaves background processes holding its
output pipes open is judged on its own exit status after
:data:`PIPE_GRACE` seconds; those processes are left alone.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Mapping, Sequence

from twisted.internet.defer import Deferred
from twisted.internet.error import ProcessDone, ProcessTerminated
from twisted.internet.interfaces import IDelayedCall, IReactorProcess, IReactorTime
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import Logger
from twisted.python.failure import Failure

from showcase.config.model import Hook
from showcase.tenants.childlog import ChildOutput
from showcase.tenants.spawn import signal_group, spawn

KILL_AFTER = 5.0
"""Seconds between SIGTERM and SIGKILL for a hook that timed out."""

PIPE_GRACE = 1.0
"""Seconds to wait for a hook's pipes to close after the hook itself exited."""

Kill = Callable[[int, int], bool]

log = Logger()


def describe_exit(reason: Failure) -> str:
    """``exit code N`` / ``signal N`` for a process-ended ``reason``."""
    value = reason.value
    if isinstance(value, ProcessDone):
        return "exit code 0"
    if isinstance(value, ProcessTerminated):
        if value.signal is not None:
            return f"signal {value.signal}"
        return f"exit code {value.exitCode}"
    return str(value)


def reload_requested(
    hook: Hook, config_path: str, loaded_at: float, *, succeeded: bool = True
) -> str | None:
    """The config file to load after ``hook`` ran, or None (Navigator §2.13).

    Reload iff the hook succeeded and its ``reload_config`` names another file
    that exists, or names the current file (``config_path``) and that file was
    modified after ``loaded_at`` (when the current config was loaded; not when
    the hook started, so changes made while suspended count).
    """
    target = hook.reload_config
    if not succeeded or not target:
        return None
    try:
        mtime = os.stat(target).st_mtime
    except OSError:
        return None
    if os.path.abspath(target) != os.path.abspath(config_path):
        return target
    return target if mtime > loaded_at else None


class _RunningHook(ProcessProtocol):
    """One hook process: feeds its output, enforces its timeout, fires ``done`` once.

    ``reason`` (how it ended) and ``timed_out`` are set when ``done`` fires.
    """

    def __init__(
        self,
        hook: Hook,
        name: str,
        source: str,
        output: ChildOutput,
        clock: IReactorTime,
        kill: Kill,
        kill_after: float,
        pipe_grace: float,
    ) -> None:
        self.hook = hook
        self.name = name  # "<label>[<index>] <argv>" for log lines
        self.source = source
        self.done: Deferred[None] = Deferred()
        self.reason: Failure | None = None
        self.timed_out = False
        self._output = output
        self._clock = clock
        self._kill = kill
        self._kill_after = kill_after
        self._pipe_grace = pipe_grace
        self._pid: int | None = None
        self._timers: list[IDelayedCall] = []

    def started(self, pid: int) -> None:
        self._pid = pid
        if self.hook.timeout:
            self._timers.append(self._clock.callLater(self.hook.timeout, self._terminate))

    def outReceived(self, data: bytes) -> None:
        self._output.feed(self.source, "stdout", data)

    def errReceived(self, data: bytes) -> None:
        self._output.feed(self.source, "stderr", data)

    def processExited(self, reason: Failure) -> None:
        # The leader is reaped and its pid may be reused: no more signals to it,
        # except one SIGKILL at once to stragglers in the group of a timed-out hook.
        self._cancel_timers()
        if self.timed_out and self._pid is not None:
            self._kill(self._pid, signal.SIGKILL)
        if self.reason is None:
            self._timers.append(self._clock.callLater(self._pipe_grace, self._give_up, reason))

    def processEnded(self, reason: Failure) -> None:
        self._finish(reason)

    def _terminate(self) -> None:
        assert self._pid is not None
        self.timed_out = True
        log.error(
            "hook {name}: timed out after {timeout}s; stopping it",
            name=self.name,
            timeout=self.hook.timeout,
        )
        self._kill(self._pid, signal.SIGTERM)
        self._timers.append(
            self._clock.callLater(self._kill_after, self._kill, self._pid, signal.SIGKILL)
        )

    def _give_up(self, reason: Failure) -> None:
        log.warn(
            "hook {name}: exited but its output is still open (background processes?); "
            "not waiting for them",
            name=self.name,
        )
        self._finish(reason)

    def _finish(self, reason: Failure) -> None:
        self._output.flush(self.source)
        if self.reason is None:
            self._cancel_timers()
            self.reason = reason
            self.done.callback(None)

    def _cancel_timers(self) -> None:
        for timer in self._timers:
            if timer.active():
                timer.cancel()
        self._timers = []


class HookRunner:
    """Runs hook lists; see the module docstring for the rules.

    ``reactor`` must also provide ``IReactorTime`` (every real reactor does).
    """

    def __init__(
        self,
        reactor: IReactorProcess,
        output: ChildOutput,
        base_env: Mapping[str, str],
        *,
        kill: Kill = signal_group,
        kill_after: float = KILL_AFTER,
        pipe_grace: float = PIPE_GRACE,
    ) -> None:
        self._reactor = reactor
        self._clock = IReactorTime(reactor)
        self._output = output
        self._base_env = dict(base_env)
        self._kill = kill
        self._kill_after = kill_after
        self._pipe_grace = pipe_grace

    def run(
        self,
        hooks: Sequence[Hook],
        label: str,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> Deferred[bool]:
        """Run ``hooks`` in order; True iff all succeeded (an empty list succeeds)."""
        return Deferred.fromCoroutine(self._run_all(tuple(hooks), label, env or {}, cwd))

    async def _run_all(
        self, hooks: tuple[Hook, ...], label: str, env: Mapping[str, str], cwd: str | None
    ) -> bool:
        for index, hook in enumerate(hooks):
            if not await self._run_one(hook, label, index, env, cwd):
                skipped = len(hooks) - index - 1
                if skipped:
                    log.warn(
                        "hook {label}: skipping {count} later hook(s) after a failure",
                        label=label,
                        count=skipped,
                    )
                return False
        return True

    async def _run_one(
        self, hook: Hook, label: str, index: int, env: Mapping[str, str], cwd: str | None
    ) -> bool:
        argv = [hook.command, *hook.args]
        name = f"{label}[{index}] {argv}"
        running = _RunningHook(
            hook,
            name,
            f"hook:{label}",
            self._output,
            self._clock,
            self._kill,
            self._kill_after,
            self._pipe_grace,
        )
        try:
            transport = spawn(
                self._reactor, running, argv, {**self._base_env, **env, **dict(hook.env)}, cwd
            )
        except Exception as e:
            log.error("hook {name}: cannot start: {error}", name=name, error=e)
            return False
        transport.closeStdin()
        assert transport.pid is not None
        running.started(transport.pid)
        await running.done
        assert running.reason is not None
        return self._judge(running.reason, hook, name, running.timed_out)

    def _judge(self, reason: Failure, hook: Hook, name: str, timed_out: bool) -> bool:
        status = describe_exit(reason)
        if timed_out:
            log.error(
                "hook {name}: failed (timed out after {timeout}s, {status})",
                name=name,
                timeout=hook.timeout,
                status=status,
            )
            return False
        if isinstance(reason.value, ProcessDone):
            log.info("hook {name}: succeeded", name=name)
            return True
        if isinstance(reason.value, ProcessTerminated) and reason.value.exitCode in (126, 127):
            status += " (command not found or not executable)"
        log.error("hook {name}: failed with {status}", name=name, status=status)
        return False
