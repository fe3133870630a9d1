"""One tenant's lifecycle: start on demand, idle stop, crash bookkeeping, reload.

A :class:`TenantController` owns a :class:`~showcase.tenants.state.Lifecycle`
and at most one :class:`~showcase.tenants.instance.TenantProcess` at a time.
What all tenants share (reactor, current config, port pool, hooks runner, ...)
is a :class:`Shared`, owned by the :class:`~showcase.tenants.supervisor.Supervisor`,
which also decides what concerns several tenants (eviction, reload, shutdown).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
from twisted.internet.defer import Deferred, fail, succeed
from twisted.logger import Logger

from showcase.config.model import Config, Hook, Tenant
from showcase.tenants.instance import Kill, Launch, TenantProcess, tenant_env
from showcase.tenants.ports import NoFreePort, PortAllocator
from showcase.tenants.readiness import DelayedCall, Output, Probe, cancel_call
from showcase.tenants.spawn import spawn
from showcase.tenants.state import CRASH_LIMIT, Lifecycle, State

RunHooks = Callable[[Sequence[Hook], str, Mapping[str, str] | None, str | None], "Deferred[bool]"]
"""``run_hooks(hooks, label, env, cwd)`` runs hooks in order and fires True on success."""

HOST = "127.0.0.1"

log = Logger()


class TenantUnavailable(Exception):
    """A tenant cannot serve now; ``message`` is for the page shown to the visitor."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@attrs.define(eq=False)
class Shared:
    """What every tenant controller uses; ``config`` is replaced on reload."""

    reactor: Any
    config: Config
    ports: PortAllocator
    run_hooks: RunHooks
    output: Output
    probe: Probe
    kill: Kill
    base_env: Mapping[str, str]
    before_start: Callable[[TenantController], None]  # make room (pools.max_size)
    forget: Callable[[TenantController], None]  # a removed tenant has stopped
    shutting_down: bool = False
    launch_for: Callable[[Tenant], Launch] = lambda tenant: spawn  # preloaded or direct


class TenantController:
    """The state of one tenant and the decisions about its process."""

    def __init__(self, shared: Shared, definition: Tenant) -> None:
        self._shared = shared
        self.definition = definition
        self.life = Lifecycle()
        self.pending: Tenant | None = None  # definition to use once the process stopped
        self.removed = False  # gone from the config: forget it once stopped
        self.process: TenantProcess | None = None
        self.last: TenantProcess | None = None  # the latest process, for describe()
        self.in_flight = 0
        self.websockets = 0
        self.last_used = 0.0
        self.stop_reason: str | None = None
        self._waiters: list[Deferred[tuple[str, int]]] = []
        self._stop_waiters: list[Deferred[None]] = []
        self._spawn_call: DelayedCall | None = None  # start_delay pending
        self._idle_call: DelayedCall | None = None
        self._idle_at: float | None = None  # when the idle timer is due (moved lazily)

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def busy(self) -> bool:
        """In-flight requests, or open WebSockets when the tenant tracks them."""
        return self.in_flight > 0 or (self.definition.track_websockets and self.websockets > 0)

    @property
    def address(self) -> tuple[str, int] | None:
        if self.life.state is State.READY and self.process is not None:
            return (HOST, self.process.port)
        return None

    def _now(self) -> float:
        return float(self._shared.reactor.seconds())

    # -- the router's side ------------------------------------------------------

    def ready(self) -> Deferred[tuple[str, int]]:
        """See :meth:`Supervisor.ready <showcase.tenants.supervisor.Supervisor.ready>`."""
        self.last_used = now = self._now()
        address = self.address
        if address is not None:
            return succeed(address)
        if self._shared.shutting_down:
            return fail(TenantUnavailable(503, "The server is shutting down."))
        if self.life.state is State.STOPPED and self.life.crash_looping(now):
            return fail(crash_loop_error())
        d: Deferred[tuple[str, int]] = Deferred(self._drop_waiter)
        self._waiters.append(d)
        self._touch()
        if self.life.state is State.STOPPED:
            self._start()
        return d

    def activity(self, requests: int = 0, websockets: int = 0) -> None:
        """Requests or WebSockets began (+1) or ended (-1); an idle tenant gets its timer."""
        self.in_flight = max(0, self.in_flight + requests)
        self.websockets = max(0, self.websockets + websockets)
        self._touch()
        self.check_idle()

    def fail_waiters(self, error: TenantUnavailable) -> None:
        waiters, self._waiters = self._waiters, []
        for d in waiters:
            d.errback(error)

    def stop(self, reason: str) -> Deferred[None]:
        """Stop hooks first, then SIGTERM (SIGKILL after ``stop_timeout``); fires once reaped."""
        if self.life.state is State.STOPPED:
            return succeed(None)
        d: Deferred[None] = Deferred()
        self._stop_waiters.append(d)
        if self.life.state is State.DRAINING:
            return d
        self.life.stop()
        self.stop_reason = reason
        self._touch()
        cancel_call(self._idle_call)
        self._idle_call = None
        process = self.process
        if process is None:  # still in start_delay: nothing to stop
            cancel_call(self._spawn_call)
            self._spawn_call = None
            self.life.exited(self._now())
            self._finish_stop()
            return d
        log.info(
            "tenant {tenant} stopping ({reason}): pid {pid}",
            tenant=self.name,
            reason=reason,
            pid=process.pid,
        )
        config = self._shared.config
        done = self._hooks(config.hooks.tenant.stop + self.definition.hooks.stop, "stop", process)
        done.addCallback(lambda _: process.terminate(config.applications.pools.stop_timeout))
        return d

    def check_idle(self) -> None:
        """If nobody uses or waits for it: stop now for a reload/removal, else arm the idle timer.

        A tenant still starting that nobody waits for any more (its requests gave
        up) is idle too, so one that never becomes ready does not live forever.
        """
        if not self._idle():
            return
        if self.removed or self.pending is not None:
            self.stop("removed" if self.removed else "reload")
            return
        self._touch()
        timeout = self._shared.config.applications.pools.timeout
        self._idle_at = self.last_used + timeout
        # One timer, moved lazily: a busy tenant costs no callLater/cancel per request.
        call = self._idle_call
        if call is None or not call.active():
            self._idle_call = self._shared.reactor.callLater(timeout, self._idle_timeout)
        elif call.getTime() > self._idle_at:
            call.reset(timeout)

    # -- starting ---------------------------------------------------------------

    def _start(self) -> None:
        if self.life.crash_looping(self._now()):
            self.fail_waiters(crash_loop_error())
            return
        self._shared.before_start(self)
        self.life.start()
        delay = self.definition.start_delay
        if delay > 0:
            self._spawn_call = self._shared.reactor.callLater(delay, self._spawn)
        else:
            self._spawn()

    def _spawn(self) -> None:
        self._spawn_call = None
        shared, tenant = self._shared, self.definition
        try:
            port = shared.ports.allocate()
        except NoFreePort as e:
            log.error("tenant {tenant} cannot start: {error}", tenant=tenant.name, error=e)
            self._abort_start()
            return
        env = tenant_env(shared.base_env, tenant, port)
        process = TenantProcess(
            shared.reactor,
            tenant,
            port,
            env,
            shared.output,
            shared.probe,
            shared.kill,
            lambda via: self._became_ready(process),
            lambda status: self._exited(process, status),
            shared.launch_for(tenant),
        )
        self.process = self.last = process
        try:
            process.spawn()
        except Exception:
            log.failure(
                "tenant {tenant} cannot start: {argv}", tenant=tenant.name, argv=process.argv
            )
            self.process = None
            shared.ports.release(port)
            self._abort_start()
            return
        log.info(
            "tenant {tenant} starting ({how}): pid {pid}, port {port}",
            tenant=tenant.name,
            how=process.started_via,
            pid=process.pid or "to come",
            port=port,
        )
        self._hooks(shared.config.hooks.tenant.start + tenant.hooks.start, "start", process)

    def _abort_start(self) -> None:
        self.life.abort()
        message = "This event could not be started; it will be retried on the next request."
        self.fail_waiters(TenantUnavailable(503, message))

    def _became_ready(self, process: TenantProcess) -> None:
        if self.process is not process or self.life.state is not State.STARTING:
            return
        self.life.ready()
        log.info(
            "tenant {tenant} started: pid {pid}, port {port}, ready in {ms:.0f} ms ({via}, {how})",
            tenant=self.name,
            pid=process.pid,
            port=process.port,
            ms=process.ready_ms,
            via=process.ready_via,
            how=process.started_via,
        )
        waiters, self._waiters = self._waiters, []
        for d in waiters:
            d.callback((HOST, process.port))
        self.check_idle()

    # -- stopping ---------------------------------------------------------------

    def _idle(self) -> bool:
        running = self.life.state in (State.STARTING, State.READY)
        return running and not self.busy and not self._waiters

    def _idle_timeout(self) -> None:
        self._idle_call = None
        if self._idle_at is None:
            return
        left = self._idle_at - self._now()
        if left > 0:
            self._idle_call = self._shared.reactor.callLater(left, self._idle_timeout)
            return
        if self._idle():
            self.stop("idle" if self.life.state is State.READY else "idle, never ready")

    def _exited(self, process: TenantProcess, status: str) -> None:
        if self.process is not process:
            return
        self.process = None
        self._shared.ports.release(process.port)
        self._touch()
        was_starting = self.life.state is State.STARTING
        if self.life.exited(self._now()):
            self.stop_reason = f"crashed: {status}"
            log.error(
                "tenant {tenant} crashed: pid {pid}, {status}",
                tenant=self.name,
                pid=process.pid,
                status=status,
            )
            if was_starting:
                message = f"This event stopped while starting ({status}); it will be retried."
                self.fail_waiters(TenantUnavailable(503, message))
        else:
            log.info(
                "tenant {tenant} stopped ({reason}): pid {pid}, {status}",
                tenant=self.name,
                reason=self.stop_reason,
                pid=process.pid,
                status=status,
            )
        self._finish_stop()

    def _finish_stop(self) -> None:
        stop_waiters, self._stop_waiters = self._stop_waiters, []
        for d in stop_waiters:
            d.callback(None)
        if self.pending is not None:
            self.definition, self.pending = self.pending, None
        if self.removed:
            self._shared.forget(self)
        elif self._waiters and not self._shared.shutting_down and self.life.state is State.STOPPED:
            self._start()

    # -- helpers ----------------------------------------------------------------

    def _touch(self) -> None:
        self.last_used = self._now()
        self._idle_at = None  # the timer, if any, finds nothing due and ends

    def _hooks(self, hooks: Sequence[Hook], which: str, process: TenantProcess) -> Deferred[None]:
        """Run tenant hooks with the tenant's env in its root; failures are only logged."""
        if not hooks:
            return succeed(None)
        label = f"tenant.{which} {self.name}"
        try:
            d = self._shared.run_hooks(hooks, label, process.env, self.definition.root)
        except Exception:
            d = fail()
        d.addErrback(lambda f: log.failure("{label} hooks failed", f, label=label))
        return d.addCallback(lambda _: None)

    def _drop_waiter(self, d: Deferred[tuple[str, int]]) -> None:
        if d in self._waiters:
            self._waiters.remove(d)
            self.check_idle()


def crash_loop_error() -> TenantUnavailable:
    message = (
        f"This event crashed {CRASH_LIMIT} times in the last minute; it will be retried shortly."
    )
    return TenantUnavailable(503, message)
