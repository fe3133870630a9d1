"""The tenant supervisor: starts tenants on demand, stops them when idle, restarts crashes.

Each tenant has a :class:`~showcase.tenants.controller.TenantController`
(lifecycle, idle timer, crash bookkeeping); each of its processes is a
:class:`~showcase.tenants.instance.TenantProcess`.  Everything is asynchronous
on the reactor: a request waiting for one tenant never holds up another.
Decisions worth knowing:

* A request for a tenant that is draining waits for the stop to finish, then a
  fresh process is started for it.
* ``pools.max_size``: before a start, when as many tenants are starting or ready
  as the limit allows, the least recently used *idle* ones (ready, no in-flight
  request, no tracked WebSocket) are stopped.  If none is idle the new tenant is
  started anyway and a warning is logged: refusing a request is worse than a
  brief excess.  Draining tenants do not count (they are on their way out).
* A changed definition (reload) is applied by stopping the running process as
  soon as it is idle; the next request starts the new one.  A tenant still
  starting is stopped at once and its waiters get the new process.  Removed
  tenants are stopped once idle; requests waiting for them get a 503.
* An exit that was not asked for is a crash; 3 crashes within 60 s refuse
  starts until 60 s after the last one or until the definition changes.
* WebSockets are counted always; they keep a tenant busy only while its
  definition says ``track_websockets``.
* ``request_finished``/``websocket_closed`` ignore names that are gone (a
  tenant removed by a reload and stopped since); the other methods raise
  ``KeyError`` for names the config does not have.
* Event-app tenants are forked from the preloaded spawner
  (:mod:`~showcase.tenants.preload`) while ``applications.preload`` is on and
  it is up, else spawned.  It is started with the service when the config has
  such tenants, replaced on every reload (new code on disk), and stopped
  after every tenant.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from twisted.application.service import Service
from twisted.internet.defer import Deferred, gatherResults, succeed
from twisted.logger import Logger

from showcase.config.model import Config, Tenant
from showcase.tenants.controller import (
    RunHooks,
    Shared,
    TenantController,
    TenantUnavailable,
)
from showcase.tenants.instance import Kill, Launch
from showcase.tenants.ports import PortAllocator
from showcase.tenants.preload import Preloader
from showcase.tenants.readiness import Output, Probe, http_probe
from showcase.tenants.spawn import signal_group, spawn
from showcase.tenants.state import State

__all__ = ["RunHooks", "Supervisor", "TenantUnavailable"]

log = Logger()


class Supervisor(Service):
    """Runs each tenant as a child process on demand (see the module docstring).

    ``probe`` (health check) and ``ports`` (port pool) are injectable for tests;
    by default they use real TCP on 127.0.0.1 through ``reactor``.
    """

    def __init__(
        self,
        reactor: Any,
        config: Config,
        run_hooks: RunHooks,
        output: Output,
        kill: Kill = signal_group,
        base_env: Mapping[str, str] | None = None,
        probe: Probe | None = None,
        ports: PortAllocator | None = None,
        preloader: Preloader | None = None,
    ) -> None:
        env = dict(os.environ if base_env is None else base_env)
        self._preloader = preloader or Preloader(reactor, output, env, kill)
        self._shared = Shared(
            reactor=reactor,
            config=config,
            ports=ports or PortAllocator(config.applications.pools.start_port),
            run_hooks=run_hooks,
            output=output,
            probe=probe if probe is not None else http_probe(reactor),
            kill=kill,
            base_env=env,
            before_start=self._make_room,
            forget=self._forget,
            launch_for=self._launch_for,
        )
        self._tenants = {
            t.name: TenantController(self._shared, t) for t in config.applications.tenants
        }

    def _get(self, name: str) -> TenantController:
        tenant = self._tenants[name]
        if tenant.removed:
            raise KeyError(name)
        return tenant

    def ready(self, name: str) -> Deferred[tuple[str, int]]:
        """A new Deferred firing ``(host, port)`` once ``name`` is ready; starts it if stopped.

        Cancelling it (or timing it out) only drops this waiter; the start goes on.
        Errbacks with :class:`TenantUnavailable` in a crash loop, when the process
        dies before it is ready, when it cannot be spawned, or on shutdown.
        """
        return self._get(name).ready()

    def ready_now(self, name: str) -> tuple[str, int] | None:
        """The address of ``name`` if it is ready now, else None."""
        return self._get(name).address

    def request_started(self, name: str) -> None:
        self._tenants[name].activity(requests=1)

    def request_finished(self, name: str) -> None:
        tenant = self._tenants.get(name)
        if tenant is not None:
            tenant.activity(requests=-1)

    def websocket_opened(self, name: str) -> None:
        self._tenants[name].activity(websockets=1)

    def websocket_closed(self, name: str) -> None:
        tenant = self._tenants.get(name)
        if tenant is not None:
            tenant.activity(websockets=-1)

    def update(self, config: Config) -> None:
        """Apply a reloaded config: restart changed tenants once idle, stop removed ones."""
        self._shared.config = config
        self._shared.ports.set_start(config.applications.pools.start_port)
        new = {t.name: t for t in config.applications.tenants}
        for name, tenant in list(self._tenants.items()):
            if name not in new and not tenant.removed:
                tenant.removed, tenant.pending = True, None
                tenant.fail_waiters(TenantUnavailable(503, "This event is not served here."))
                if tenant.life.state is State.STOPPED:
                    del self._tenants[name]
                elif not tenant.busy:
                    tenant.stop("removed")
        for name, definition in new.items():
            current = self._tenants.get(name)
            if current is None:
                self._tenants[name] = TenantController(self._shared, definition)
            else:
                self._redefine(current, definition)
        if self.running and _wants_preload(config):
            self._preloader.replace()
        else:
            self._preloader.retire()

    def _redefine(self, tenant: TenantController, definition: Tenant) -> None:
        tenant.removed = False
        if definition == tenant.definition:
            tenant.pending = None
            return
        tenant.life.forget_crashes()
        if tenant.life.state is State.STOPPED:
            tenant.definition, tenant.pending = definition, None
            return
        tenant.pending = definition
        if tenant.life.state is not State.DRAINING and not tenant.busy:
            tenant.stop("reload")

    def stop(self, name: str, reason: str) -> Deferred[bool]:
        """Stop ``name`` now (tenant.stop hooks first); fires True once a running process is
        reaped, False at once when none ran.  Requests waiting for its start get a 503; the
        next request starts it again."""
        tenant = self._get(name)
        tenant.fail_waiters(TenantUnavailable(503, "This event was stopped; try again."))
        if tenant.life.state is State.STOPPED:
            return succeed(False)
        return tenant.stop(reason).addCallback(lambda _: True)

    def startService(self) -> None:
        self._shared.shutting_down = False
        super().startService()
        if _wants_preload(self._shared.config):
            self._preloader.start()

    def stopService(self) -> Deferred[None]:
        """Run tenant.stop hooks and stop every tenant; fires when all are reaped."""
        super().stopService()
        self._shared.shutting_down = True
        stops = []
        for tenant in list(self._tenants.values()):
            tenant.fail_waiters(TenantUnavailable(503, "The server is shutting down."))
            if tenant.life.state is not State.STOPPED:
                stops.append(tenant.stop("shutdown"))
        d = gatherResults(stops)
        d.addCallback(lambda _: self._preloader.stop())
        return d.addCallback(lambda _: None)

    def state(self, name: str) -> str:
        """``stopped``, ``starting``, ``ready`` or ``draining``."""
        return self._tenants[name].life.state.value

    def pid(self, name: str) -> int | None:
        process = self._tenants[name].process
        return process.pid if process is not None else None

    def describe(self, name: str) -> dict[str, Any]:
        """Facts for logs: how the tenant was started and how long it took."""
        tenant = self._tenants[name]
        last = tenant.last
        return {
            "tenant": name,
            "state": tenant.life.state.value,
            "pid": self.pid(name),
            "port": tenant.process.port if tenant.process is not None else None,
            "argv": list(last.argv) if last is not None else None,
            "cwd": tenant.definition.root,
            "ready_via": last.ready_via if last is not None else None,
            "started_via": last.started_via if last is not None else None,
            "start_ms": last.ready_ms if last is not None else None,
            "in_flight": tenant.in_flight,
            "websockets": tenant.websockets,
            "recent_crashes": tenant.life.recent_crashes(self._shared.reactor.seconds()),
            "last_stop": tenant.stop_reason,
        }

    def _launch_for(self, tenant: Tenant) -> Launch:
        """Fork event-app tenants from the spawner when preloading is on; spawn the rest."""
        if tenant.is_event_app and self._shared.config.applications.preload:
            return self._preloader.launch
        return spawn

    def _make_room(self, starting: TenantController) -> None:
        """Enforce ``pools.max_size`` before ``starting`` starts: evict LRU idle tenants."""
        limit = self._shared.config.applications.pools.max_size
        if limit is None:
            return
        running = [
            t
            for t in self._tenants.values()
            if t is not starting and t.life.state in (State.STARTING, State.READY)
        ]
        idle = sorted(
            (t for t in running if t.life.state is State.READY and not t.busy),
            key=lambda t: t.last_used,
        )
        excess = len(running) + 1 - limit
        for victim in idle[: max(0, excess)]:
            victim.stop("evicted: pools.max_size")
        if excess > len(idle):
            log.warn(
                "tenant {tenant}: {running} running (max_size {limit}), none idle; starting anyway",
                tenant=starting.name,
                running=len(running),
                limit=limit,
            )

    def _forget(self, tenant: TenantController) -> None:
        if self._tenants.get(tenant.name) is tenant:
            del self._tenants[tenant.name]


def _wants_preload(config: Config) -> bool:
    apps = config.applications
    return apps.preload and any(t.is_event_app for t in apps.tenants)
