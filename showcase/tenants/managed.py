"""Managed processes (``managed_processes[]``): started with the router, stopped after it.

Each process runs ``command args…`` through :func:`~showcase.tenants.spawn.spawn`
with env = ``base_env`` + its ``env``, in ``working_dir``; its output goes to
:class:`ChildOutput` with source = its name.  Every fresh start honours
``start_delay``.  With ``auto_restart`` a process that exits (any status) while
not being stopped is started again after a backoff of 1 s, doubling to 60 s,
back to 1 s once a run lasted 60 s.  Without it, an exit is only logged.  Stop
is SIGTERM to the process group, SIGKILL after ``stop_timeout``, and once the
leader is gone one SIGKILL to the group for stragglers that ignored SIGTERM.
:meth:`ManagedProcesses.update` applies a reload by name: removed processes are
stopped, new ones started, changed definitions stopped and started again.

Why not ``twisted.runner.procmon.ProcessMonitor``: it calls
``reactor.spawnProcess`` itself (no launcher, so no own process group and no
death with the router), signals only the leader's pid, restarts every process
on every exit (no per-process ``auto_restart``), backs off only runs shorter
than one second, has no ``start_delay``, and its ``stopService`` does not wait
for the processes to exit.  Each of those would need overriding, so a small
state machine per process (:class:`_Managed`) is simpler:

    waiting --(delay elapsed)--> running --(exit)--> waiting (auto_restart)
                                                 \\-> exited
    any --(stop)--> stopping --(exit)--> stopped      (waiting/exited: stopped at once)
"""

from __future__ import annotations

import enum
import signal
from collections.abc import Callable, Mapping, Sequence

from twisted.application.service import Service
from twisted.internet.defer import Deferred, DeferredList, succeed
from twisted.internet.interfaces import (
    IDelayedCall,
    IProcessTransport,
    IReactorProcess,
    IReactorTime,
)
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import Logger
from twisted.python.failure import Failure

from showcase.config.model import ManagedProcess
from showcase.tenants.childlog import ChildOutput
from showcase.tenants.hooks import Kill, describe_exit
from showcase.tenants.spawn import signal_group, spawn

MIN_BACKOFF = 1.0
MAX_BACKOFF = 60.0
STABLE_AFTER = 60.0
"""A run at least this long resets the backoff to :data:`MIN_BACKOFF`."""

log = Logger()


class State(enum.Enum):
    WAITING = "waiting"  # a start is scheduled (start_delay or backoff)
    RUNNING = "running"
    EXITED = "exited"  # ended on its own, no restart
    STOPPING = "stopping"  # SIGTERM sent, waiting for the exit
    STOPPED = "stopped"


class _Protocol(ProcessProtocol):
    def __init__(self, owner: _Managed) -> None:
        self.owner = owner

    def outReceived(self, data: bytes) -> None:
        self.owner.output.feed(self.owner.name, "stdout", data)

    def errReceived(self, data: bytes) -> None:
        self.owner.output.feed(self.owner.name, "stderr", data)

    def processEnded(self, reason: Failure) -> None:
        self.owner.output.flush(self.owner.name)
        self.owner.ended(self, reason)


class _Managed:
    """One definition's process across its restarts."""

    def __init__(
        self,
        definition: ManagedProcess,
        reactor: IReactorProcess,
        output: ChildOutput,
        base_env: Mapping[str, str],
        kill: Kill,
        stop_timeout: float,
        restart_allowed: Callable[[], bool],
    ) -> None:
        self.definition = definition
        self.name = definition.name
        self.output = output
        self._reactor = reactor
        self._clock = IReactorTime(reactor)
        self._env = {**base_env, **dict(definition.env)}
        self._kill = kill
        self._stop_timeout = stop_timeout
        self._restart_allowed = restart_allowed
        self.state = State.STOPPED
        self.pid: int | None = None
        self._protocol: _Protocol | None = None
        self._started_at = 0.0
        self._backoff = MIN_BACKOFF
        self._timer: IDelayedCall | None = None
        self._stopped: list[Deferred[None]] = []

    def start(self, delay: float) -> None:
        """Start after ``delay`` seconds (at once, synchronously, for 0)."""
        if delay > 0:
            self._wait(delay)
        else:
            self._spawn()

    def stop(self) -> Deferred[None]:
        """Stop: fires once the process has exited (at once if none runs)."""
        if self.state in (State.RUNNING, State.STOPPING):
            stopped: Deferred[None] = Deferred()
            self._stopped.append(stopped)
            if self.state is State.RUNNING:
                self._cancel_timer()
                self.state = State.STOPPING
                assert self.pid is not None
                log.info(
                    "stopping managed process {name} (pid {pid})", name=self.name, pid=self.pid
                )
                self._kill(self.pid, signal.SIGTERM)
                self._timer = self._clock.callLater(self._stop_timeout, self._force, self.pid)
            return stopped
        self._cancel_timer()
        self.state = State.STOPPED
        return succeed(None)

    def ended(self, protocol: _Protocol, reason: Failure) -> None:
        """The process of ``protocol`` has exited and its pipes are closed."""
        if protocol is not self._protocol:
            return
        pid, self.pid, self._protocol = self.pid, None, None
        self._cancel_timer()
        self._after_exit(pid, describe_exit(reason))

    def _after_exit(self, pid: int | None, status: str) -> None:
        if self.state is State.STOPPING:
            assert pid is not None
            log.info(
                "managed process {name} (pid {pid}) stopped: {status}",
                name=self.name,
                pid=pid,
                status=status,
            )
            self._kill(pid, signal.SIGKILL)  # stragglers in its group that ignored SIGTERM
            self.state = State.STOPPED
            waiting, self._stopped = self._stopped, []
            for stopped in waiting:
                stopped.callback(None)
            return
        ran = self._clock.seconds() - self._started_at
        delay: float | None = None
        if self.definition.auto_restart and self._restart_allowed():
            if ran >= STABLE_AFTER:
                self._backoff = MIN_BACKOFF
            delay = self._backoff
            self._backoff = min(self._backoff * 2, MAX_BACKOFF)
        log.warn(
            "managed process {name} (pid {pid}) ended with {status} after {ran:.1f}s"
            + ("" if delay is None else "; restarting in {delay:g}s"),
            name=self.name,
            pid=pid,
            status=status,
            ran=ran,
            delay=delay,
        )
        if delay is None:
            self.state = State.EXITED
        else:
            self._wait(delay)

    def _wait(self, delay: float) -> None:
        self.state = State.WAITING
        self._timer = self._clock.callLater(delay, self._spawn)

    def _spawn(self) -> None:
        self._timer = None
        definition = self.definition
        argv = [definition.command, *definition.args]
        protocol = _Protocol(self)
        self._protocol = protocol
        self.state = State.RUNNING
        self._started_at = self._clock.seconds()
        try:
            transport: IProcessTransport = spawn(
                self._reactor, protocol, argv, self._env, definition.working_dir
            )
        except Exception as e:
            log.error(
                "managed process {name} {argv}: cannot start: {error}",
                name=self.name,
                argv=argv,
                error=e,
            )
            self._protocol = None
            self._after_exit(None, "start failure")
            return
        transport.closeStdin()
        self.pid = transport.pid
        log.info("started managed process {name} (pid {pid})", name=self.name, pid=self.pid)

    def _force(self, pid: int) -> None:
        self._timer = None
        log.warn(
            "managed process {name} (pid {pid}) still running {timeout:g}s after SIGTERM; "
            "killing it",
            name=self.name,
            pid=pid,
            timeout=self._stop_timeout,
        )
        self._kill(pid, signal.SIGKILL)

    def _cancel_timer(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None


class ManagedProcesses(Service):
    """The ``managed_processes`` of the current config, as a service.

    ``reactor`` must also provide ``IReactorTime`` (every real reactor does).
    """

    def __init__(
        self,
        reactor: IReactorProcess,
        processes: Sequence[ManagedProcess],
        output: ChildOutput,
        base_env: Mapping[str, str],
        stop_timeout: float = 10.0,
        *,
        kill: Kill = signal_group,
    ) -> None:
        self._reactor = reactor
        self._definitions = tuple(processes)
        self._output = output
        self._base_env = dict(base_env)
        self._stop_timeout = stop_timeout
        self._kill = kill
        self._current: dict[str, _Managed] = {}
        self._retiring: dict[_Managed, Deferred[None]] = {}
        self._is_ready = False
        self._ready_waiters: list[Deferred[None]] = []

    def startService(self) -> None:
        """Start every process (those with ``start_delay`` later)."""
        super().startService()
        self._current = {}
        for definition in self._definitions:
            self._start(definition, definition.start_delay)
        self._is_ready = True
        waiters, self._ready_waiters = self._ready_waiters, []
        for waiter in waiters:
            waiter.callback(None)

    def stopService(self) -> Deferred[None]:
        """Stop every process; fires once all have exited."""
        super().stopService()
        self._is_ready = False
        stopping = [entry.stop() for entry in self._current.values()]
        stopping.extend(self._retiring.values())
        done: Deferred[None] = DeferredList(stopping).addCallback(lambda _: None)
        return done

    def update(self, processes: Sequence[ManagedProcess]) -> None:
        """Apply a reloaded list: stop removed, start new, restart changed (by name)."""
        self._definitions = tuple(processes)
        if not self.running:
            return
        wanted = {definition.name: definition for definition in self._definitions}
        for name, entry in list(self._current.items()):
            if wanted.get(name) != entry.definition:
                del self._current[name]
                self._retire(entry)
        for definition in self._definitions:
            if definition.name in self._current:
                continue
            predecessor = next((old for old in self._retiring if old.name == definition.name), None)
            if predecessor is None:
                self._start(definition, definition.start_delay)
            else:
                log.info(
                    "managed process {name}: new definition starts once the old one stopped",
                    name=definition.name,
                )
                entry = self._start(definition, None)
                self._retiring[predecessor].addCallback(self._start_after_predecessor, entry)

    def pid(self, name: str) -> int | None:
        """The pid of process ``name``, if it is running.

        (Not ``running(name)``: ``Service.running`` is the started flag.)
        """
        entry = self._current.get(name)
        return entry.pid if entry is not None else None

    def state(self, name: str) -> State | None:
        """The lifecycle state of process ``name`` (None if not configured)."""
        entry = self._current.get(name)
        return entry.state if entry is not None else None

    def ready(self) -> Deferred[None]:
        """Fires once every process without ``start_delay`` has been spawned."""
        if self._is_ready:
            return succeed(None)
        waiter: Deferred[None] = Deferred()
        self._ready_waiters.append(waiter)
        return waiter

    def _start(self, definition: ManagedProcess, delay: float | None) -> _Managed:
        entry = _Managed(
            definition,
            self._reactor,
            self._output,
            self._base_env,
            self._kill,
            self._stop_timeout,
            restart_allowed=lambda: bool(self.running),
        )
        self._current[definition.name] = entry
        if delay is not None:
            entry.start(delay)
        return entry

    def _start_after_predecessor(self, _: object, entry: _Managed) -> None:
        if self.running and self._current.get(entry.name) is entry and entry.state is State.STOPPED:
            entry.start(entry.definition.start_delay)

    def _retire(self, entry: _Managed) -> None:
        stopped = entry.stop()
        if stopped.called:
            return
        self._retiring[entry] = stopped

        def forget(_: None) -> None:
            self._retiring.pop(entry, None)

        stopped.addCallback(forget)
