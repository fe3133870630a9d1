"""The router: carries out what the dispatcher decides, for every exchange.

It owns the state that a reload swaps in one assignment (:class:`Dispatcher`
with its auth, rules, static files and maintenance page), the upstream
connection pool, the access log, and the set of open client connections.
It proxies to tenants and origins, hands cable connections to the hub and runs
CGI scripts; what it answers itself (broadcast, tenant stop, the log sink,
appliance PDFs) is in :mod:`~showcase.router.local`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.error import TimeoutError as DeferredTimeout
from twisted.logger import Logger
from twisted.python.failure import Failure

from showcase.cable.streams import Scope
from showcase.config.model import CgiScript, Config
from showcase.tenants.supervisor import Supervisor, TenantUnavailable

from .accesslog import AccessLog, request_id
from .appliance import Printer, PrintJob
from .auth import Authenticator
from .cgi import CgiRun, basic_user, refusal, reload_target
from .dispatch import (
    Dispatcher,
    ToBroadcast,
    ToCgi,
    ToHub,
    ToLogs,
    ToOrigin,
    ToTenant,
    ToTenantStop,
    text,
)
from .exchange import Exchange
from .front import FrontProtocol
from .htpasswd import Htpasswd
from .local import LocalEndpoints
from .message import Reply, RequestHead
from .proxy import Forwarding, ProxyRun, request_head
from .replay import FlyHere, listen_port
from .tunnel import open_tunnel

if TYPE_CHECKING:
    from showcase.cable.hub import Hub
    from showcase.idle import MachineIdle
    from showcase.ops.logsink import LogSinkSite

Expander = Callable[[str, Exchange], str]


def _header_value(template: str, ex: Exchange) -> bytes:
    """``$remote_addr``, ``$scheme`` and ``$host`` in a route's header value."""
    head = ex.head
    xff = head.header(b"x-forwarded-for")
    remote = xff.split(b",")[0].strip().decode("latin-1") if xff else head.client_ip
    proto = head.header(b"x-forwarded-proto")
    scheme = proto.decode("latin-1") if proto else "http"
    host = (head.header(b"host") or b"").decode("latin-1")
    value = template.replace("$remote_addr", remote).replace("$scheme", scheme)
    return value.replace("$host", host).encode("latin-1", "replace")


def head_bytes(head: RequestHead) -> bytes:
    """``head`` as the client sent it (names lower-case), for a protocol taking over."""
    lines = [b"%s %s HTTP/%s\r\n" % (head.method, head.target, head.version)]
    lines.extend(b"%s: %s\r\n" % pair for pair in head.headers)
    lines.append(b"\r\n")
    return b"".join(lines)


class Router:
    log = Logger()

    def __init__(
        self,
        reactor: Any,
        config: Config,
        supervisor: Supervisor,
        access: AccessLog,
        hub: Hub | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        from .upstream import UpstreamPool

        self.reactor = reactor
        self.supervisor = supervisor
        self.access = access
        self.hub = hub  # the cable hub: kept across reloads (apply never replaces it)
        self.pool = UpstreamPool(reactor, reactor)
        self.connections: set[FrontProtocol] = set()
        self._htpasswd: Htpasswd | None = None
        self._drained: Deferred[None] | None = None
        self._drain_timer: Any = None
        self.reload: Callable[[str], None] | None = None  # set by Machine: CGI reload_config
        self.idle: MachineIdle | None = None  # set by Machine when server.idle is on
        self.environ = os.environ if environ is None else environ  # FLY_* (read per apply)
        self.listen_port: int | None = None  # the bound TCP port, once listening
        self.printer: Printer | None = None  # appliance mode, made on first use
        self.logsink: LogSinkSite | None = None  # set by Machine: the logger section's endpoints
        self.local = LocalEndpoints(self)
        self.apply(config)

    def apply(self, config: Config) -> None:
        """Use ``config`` from the next request on (reload)."""
        path = config.auth.htpasswd
        if path is None:
            self._htpasswd = None
        elif self._htpasswd is None or self._htpasswd.path != path:
            self._htpasswd = Htpasswd(path)
        auth = Authenticator(config.auth, self._htpasswd)
        self.dispatcher = Dispatcher(config, auth, self._fly_here(config))
        self.config = config
        self.limits = config.server.limits
        self.loaded_at = self.reactor.seconds()

    def _fly_here(self, config: Config) -> FlyHere:
        port = self.listen_port or listen_port(config.server.listen)
        return FlyHere.from_environ(self.environ, port)

    def listening_on(self, port: int | None) -> None:
        """The port actually bound (``{port}`` of ``routes.fly.internal``)."""
        self.listen_port = port
        old = self.dispatcher
        self.dispatcher = Dispatcher(self.config, old.auth, self._fly_here(self.config))

    # -- per exchange ------------------------------------------------------------

    def handle(self, ex: Exchange) -> None:
        idle = self.idle
        if idle is not None:
            # A WebSocket does not hold the machine up: only requests count (as Navigator).
            if not ex.upgrade:
                idle.started()
                ex.idle_counted = True  # type: ignore[attr-defined]
            waiting = idle.gate()
            if waiting is not None:  # resuming after an idle action: wait for the resume hooks
                waiting.addCallback(lambda _: self._handle(ex))
                return
        self._handle(ex)

    def _handle(self, ex: Exchange) -> None:
        ex.request_id = request_id(ex.head.header(b"x-request-id"))
        try:
            decision = self.dispatcher.decide(ex)
        except Exception:
            self.log.failure("dispatch failed for {uri}", uri=ex.head.target)
            decision = Reply(
                500, ((b"content-type", b"text/plain"),), b"Internal Server Error\n", kind="error"
            )
        if isinstance(decision, Reply):
            self.reply(ex, decision)
        elif isinstance(decision, ToTenant):
            self._to_tenant(ex, decision)
        elif isinstance(decision, ToCgi):
            self._to_cgi(ex, decision.script)
        elif isinstance(decision, ToHub):
            self._to_hub(ex, decision)
        elif isinstance(decision, ToBroadcast):
            self.local.broadcast(ex)
        elif isinstance(decision, PrintJob):
            self.local.print_pdf(ex, decision)
        elif isinstance(decision, ToTenantStop):
            self.local.stop_tenants(ex, decision)
        elif isinstance(decision, ToLogs):
            self.local.logs(ex, decision)
        else:
            self._to_origin(ex, decision)

    def reply(self, ex: Exchange, reply: Reply) -> None:
        ex.extra_headers.append((b"x-request-id", ex.request_id.encode("ascii")))
        if ex.upgrade:
            ex.keep_alive = False
        else:
            ex.discard_body()
        ex.reply(reply)

    def finished(self, ex: Exchange) -> None:
        """Log ``ex`` once, whichever way it ended."""
        if not getattr(ex, "logged", False):
            ex.logged = True  # type: ignore[attr-defined]
            self.access.log(ex)
            if self.idle is not None and getattr(ex, "idle_counted", False):
                self.idle.finished()
        if self._drained is not None:
            self.reactor.callLater(0, self._check_drained)

    # -- shutdown ------------------------------------------------------------------

    def busy_connections(self) -> list[FrontProtocol]:
        return [c for c in self.connections if c.current is not None or c.parsing is not None]

    def drain(self, seconds: float) -> Deferred[None]:
        """Fires when no request is in flight (or after ``seconds``); then closes connections."""
        drained = self._drained = Deferred()
        self._drain_timer = self.reactor.callLater(seconds, self._close_all)
        self._check_drained()  # with nothing in flight this fires (and clears) it at once
        return drained

    def _check_drained(self) -> None:
        if self._drained is not None and not self.busy_connections():
            self._close_all()

    def _close_all(self) -> None:
        if self._drain_timer is not None and self._drain_timer.active():
            self._drain_timer.cancel()
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.loseConnection()
        drained, self._drained = self._drained, None
        if drained is not None:
            drained.callback(None)

    # -- tenants ---------------------------------------------------------------------

    def _to_tenant(self, ex: Exchange, decision: ToTenant) -> None:
        name = decision.tenant.name
        ex.tenant = name
        ex.kind = "proxy"
        ex.destination = f"tenant:{name}"
        if self.local.holds(name):
            self.reply(ex, self.dispatcher.maintenance.reply("This event is being restored."))
            return
        sup = self.supervisor
        try:
            sup.request_started(name)
        except KeyError:  # removed by a reload a moment ago
            self.reply(ex, self.dispatcher.maintenance.reply())
            return
        addr = sup.ready_now(name)
        if addr is not None:
            self._forward(ex, decision, addr)
            return
        waiting: Deferred[tuple[str, int]] = sup.ready(name)
        waiting.addTimeout(decision.tenant.startup_timeout, self.reactor)
        ex.on_gone = waiting.cancel
        waiting.addCallback(self._started, ex, name)
        waiting.addCallbacks(
            lambda addr: self._forward(ex, decision, addr),
            lambda failure: self._not_ready(ex, name, failure),
        )

    def _started(self, addr: tuple[str, int], ex: Exchange, name: str) -> tuple[str, int]:
        """The request waited for a start: note how it was started, for the access log."""
        started = self.supervisor.describe(name)
        ex.started_via, ex.start_ms = started["started_via"], started["start_ms"]
        return addr

    def _not_ready(self, ex: Exchange, name: str, failure: Failure) -> None:
        self.supervisor.request_finished(name)
        if ex.gone or ex.response_started:
            return
        page = self.dispatcher.maintenance
        if failure.check(TenantUnavailable):
            err = failure.value
            assert isinstance(err, TenantUnavailable)
            self.reply(ex, page.reply(err.message, err.status))
        elif failure.check(DeferredTimeout, CancelledError):
            self.reply(ex, page.reply())
        else:
            self.log.failure("tenant {name} did not start", failure, name=name)
            self.reply(ex, page.reply("The event's server could not be started."))

    def _forward(self, ex: Exchange, decision: ToTenant, addr: tuple[str, int]) -> None:
        name = decision.tenant.name
        sup = self.supervisor
        if ex.gone or ex.response_started:
            sup.request_finished(name)
            return
        key = (addr[0], addr[1], False)
        fwd = Forwarding(ex.request_id, self.config.server.trust_proxy, remote_user=ex.remote_user)
        if ex.upgrade:
            head = request_head(ex.head, decision.target, fwd, tunnel=True)
            sup.websocket_opened(name)
            sup.request_finished(name)

            def closed() -> None:
                sup.websocket_closed(name)
                self.finished(ex)

            open_tunnel(self.reactor, ex, key, head, closed)
            return
        head = request_head(ex.head, decision.target, fwd)
        ProxyRun(ex, self.pool, key, head, lambda: sup.request_finished(name)).start()

    # -- other origins ------------------------------------------------------------------

    def _to_origin(self, ex: Exchange, decision: ToOrigin) -> None:
        origin = decision.origin
        route = origin.route
        ex.kind = "proxy"
        ex.destination = f"{'https' if origin.tls else 'http'}://{origin.host}:{origin.port}"
        overrides = {b"host": origin.host_header}
        for name, value in route.headers:
            overrides[name.lower().encode("latin-1")] = _header_value(value, ex)
        fwd = Forwarding(ex.request_id, self.config.server.trust_proxy, remote_user=ex.remote_user)
        key = (origin.host, origin.port, origin.tls)
        response_headers = tuple(
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in route.response_headers
        )
        if ex.upgrade and route.websocket:
            head = request_head(ex.head, origin.target, fwd, tunnel=True, overrides=overrides)
            open_tunnel(self.reactor, ex, key, head, lambda: self.finished(ex))
            return
        head = request_head(ex.head, origin.target, fwd, overrides=overrides)
        ProxyRun(ex, self.pool, key, head, lambda: None, response_headers).start()

    # -- the cable hub --------------------------------------------------------------------

    def _to_hub(self, ex: Exchange, decision: ToHub) -> None:
        ex.tenant = decision.tenant
        ex.destination = "cable"
        hub = self.hub
        if hub is None:
            self.reply(ex, text(503, "Live updates are off (cable disabled)", "websocket"))
            return
        if not ex.upgrade:
            answer = text(426, "Upgrade Required: this is a WebSocket endpoint.", "websocket")
            headers = (*answer.headers, (b"upgrade", b"websocket"))
            self.reply(ex, Reply(426, headers, answer.body, kind="websocket"))
            return
        ex.kind = "websocket"

        def closed(opened: bool) -> None:
            ex.status = 101 if opened else 400
            stats = getattr(proto, "trafficStats", None)
            if stats is not None:
                ex.bytes_sent = stats.preopenOutgoingOctetsWireLevel + stats.outgoingOctetsWireLevel
            ex.response_complete = True
            self.finished(ex)

        scope = Scope(decision.tenant_db, decision.every_tenant, decision.with_public)
        proto = hub.connection(scope, closed)
        ex.front.hand_over(proto, head_bytes(ex.head))

    # -- CGI scripts ----------------------------------------------------------------------

    def _to_cgi(self, ex: Exchange, script: CgiScript) -> None:
        refused = refusal(script, ex, basic_user(self._htpasswd), self.dispatcher.auth.challenge())
        if refused is not None:
            self.reply(ex, refused)
            return
        ex.extra_headers.append((b"x-request-id", ex.request_id.encode("ascii")))
        CgiRun(self.reactor, ex, script, os.environ, lambda: self._cgi_succeeded(script)).start()

    def _cgi_succeeded(self, script: CgiScript) -> None:
        path = reload_target(script, self.config.source, self.loaded_at)
        if path is not None and self.reload is not None:
            self.reload(path)
