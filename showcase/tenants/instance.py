"""One child process of a tenant, from spawn to reaping.

A :class:`TenantProcess` is one generation: when the tenant is restarted a new
object is made, so late events of an old process can never be mistaken for the
new one.  It spawns ``tenant.command`` through :func:`~showcase.tenants.spawn.spawn`
(own process group, dies with the router), or through another :data:`Launch`
(the preloaded spawner, :mod:`~showcase.tenants.preload`), watches for readiness (ready line
or health check, whichever first) and stops the group with SIGTERM, then
SIGKILL after a grace period.  It makes no lifecycle decisions: it reports
``on_ready(via)`` and ``on_exit(status)`` to the supervisor.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from twisted.internet.error import ProcessDone, ProcessTerminated
from twisted.internet.interfaces import IProcessProtocol
from twisted.logger import Logger
from twisted.python.failure import Failure

from showcase.config.model import Tenant
from showcase.tenants.readiness import (
    DelayedCall,
    HealthPoller,
    Output,
    Probe,
    TenantProcessProtocol,
    cancel_call,
)
from showcase.tenants.spawn import spawn

Kill = Callable[[int, int], bool]
"""``kill(pid, signum)`` signals the process group led by ``pid``; False if it is gone."""

Launch = Callable[[Any, IProcessProtocol, Sequence[str], Mapping[str, str], str | None], Any]
"""``launch(reactor, protocol, argv, env, cwd)`` starts a child and returns its transport,
like :func:`~showcase.tenants.spawn.spawn`.  The transport's ``pid`` may be None
at first (a fork the spawner has yet to report); until it is known, signals go
to the transport's ``signalProcess``, which delivers them to the group once it is.
Its ``started_via`` (default ``"spawn"``) says how the child was started."""

log = Logger()


def expand_port(text: str, port: int) -> str:
    """``text`` with ``${port}`` and ``{{port}}`` replaced by ``port``."""
    return text.replace("${port}", str(port)).replace("{{port}}", str(port))


def tenant_env(base: Mapping[str, str], tenant: Tenant, port: int) -> dict[str, str]:
    """``base``, the port and ``SHOWCASE_TENANT``, then the tenant's env (last, so it wins)."""
    env = dict(base)
    env[tenant.port_env_var] = str(port)
    env["SHOWCASE_TENANT"] = tenant.name
    env["SHOWCASE_PREFIX"] = tenant.path.rstrip("/")  # the URL prefix routed to it
    env.update((name, expand_port(value, port)) for name, value in tenant.env)
    return env


def describe_exit(reason: Failure) -> str:
    """``exit status N`` or ``killed by SIGNAME`` for a ``processEnded`` reason."""
    value = reason.value
    if isinstance(value, ProcessDone | ProcessTerminated):
        if value.signal is not None:
            try:
                return f"killed by {signal.Signals(value.signal).name}"
            except ValueError:
                return f"killed by signal {value.signal}"
        return f"exit status {value.exitCode}"
    return str(value)


class TenantProcess:
    """One running child of ``tenant`` on ``port``."""

    def __init__(
        self,
        reactor: Any,
        tenant: Tenant,
        port: int,
        env: Mapping[str, str],
        output: Output,
        probe: Probe,
        kill: Kill,
        on_ready: Callable[[str], None],
        on_exit: Callable[[str], None],
        launch: Launch = spawn,
    ) -> None:
        self._reactor = reactor
        self.tenant = tenant
        self.port = port
        self.env = dict(env)
        self.argv = tuple(expand_port(arg, port) for arg in tenant.command)
        self._output = output
        self._probe = probe
        self._kill = kill
        self._on_ready = on_ready
        self._on_exit = on_exit
        self._launch = launch
        self._transport: Any = None
        self._pid: int | None = None
        self.running = False
        self.spawned_at = 0.0
        self.ready_via: str | None = None
        self.ready_ms: float | None = None
        self._poller: HealthPoller | None = None
        self._kill_call: DelayedCall | None = None

    def spawn(self) -> None:
        """Start the child and the readiness watch; raises if the spawn itself fails."""
        protocol = TenantProcessProtocol(
            self.tenant.name,
            self._output,
            lambda: self._ready("ready line"),
            self._leader_exited,
            self._ended,
        )
        self._transport = self._launch(
            self._reactor, cast(IProcessProtocol, protocol), self.argv, self.env, self.tenant.root
        )
        self._pid = self._transport.pid
        self.running = True
        self.spawned_at = self._reactor.seconds()
        self._poller = HealthPoller(
            self._reactor,
            self._probe,
            self.port,
            self.tenant.health_check,
            lambda: self._ready("health check"),
        )
        self._poller.start()

    @property
    def pid(self) -> int | None:
        """The child's pid, kept after it is reaped; None until the launch knows it."""
        if self._pid is None and self._transport is not None:
            self._pid = self._transport.pid
        return self._pid

    @property
    def started_via(self) -> str:
        """``spawn`` (a new interpreter) or ``preload`` (forked from the spawner)."""
        return str(getattr(self._transport, "started_via", "spawn"))

    def _signal(self, signum: int) -> None:
        if self.pid is not None:
            self._kill(self.pid, signum)
        elif self._transport is not None:
            self._transport.signalProcess(signum)

    def terminate(self, grace: float) -> None:
        """SIGTERM to the group now, SIGKILL if it has not been reaped after ``grace`` s."""
        self._stop_polling()
        if not self.running or self._kill_call is not None:
            return
        self._signal(signal.SIGTERM)
        self._kill_call = self._reactor.callLater(grace, self._force, grace)

    def _force(self, grace: float) -> None:
        self._kill_call = None
        if self.running:
            log.warn(
                "tenant {tenant} still running {grace}s after SIGTERM: SIGKILL to pid {pid}",
                tenant=self.tenant.name,
                grace=grace,
                pid=self.pid,
            )
            self._signal(signal.SIGKILL)

    def _ready(self, via: str) -> None:
        if not self.running or self.ready_via is not None:
            return
        self._stop_polling()
        self.ready_via = via
        self.ready_ms = (self._reactor.seconds() - self.spawned_at) * 1000
        self._on_ready(via)

    def _leader_exited(self) -> None:
        # The tenant itself is gone; whatever it left behind in its group would
        # keep the pipes (and maybe the port) open, so end them too.
        self._stop_polling()
        self._signal(signal.SIGKILL)

    def _ended(self, reason: Failure) -> None:
        self.running = False
        self._stop_polling()
        cancel_call(self._kill_call)
        self._kill_call = None
        self._on_exit(describe_exit(reason))

    def _stop_polling(self) -> None:
        poller, self._poller = self._poller, None
        if poller is not None:
            poller.stop()
