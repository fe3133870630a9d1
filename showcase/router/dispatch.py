"""Where a request goes, decided in the order of the spec.

health check → broadcast endpoint → tenant-stop endpoint → log sink POST → auth →
cable paths → log pages →
redirects and rewrites → appliance PDFs → fly-replay → CGI scripts → reverse-proxy routes →
static files → try_files → maintenance → tenant by longest path prefix → 404.
:meth:`Dispatcher.decide` only decides; :class:`~showcase.router.router.Router` carries it out.
"""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qs, quote

import attrs

from showcase.cable.streams import tenant_db
from showcase.config.model import CgiScript, Config, HealthCheck, Tenant

from . import replay
from .appliance import Printing, PrintJob
from .auth import Authenticator
from .cgi import find_script
from .exchange import Exchange
from .maintenance import MaintenancePage
from .message import Reply, RequestHead
from .rules import OriginTarget, Rules
from .static import StaticFiles

BOTS = re.compile(
    rb"bot|crawl|spider|slurp|archiver|facebookexternalhit|bingpreview|mediapartners|"
    rb"python-requests|curl/|wget/|scrapy|headless",
    re.IGNORECASE,
)
NOT_FOUND = Reply(
    404, ((b"content-type", b"text/plain; charset=utf-8"),), b"Not Found\n", kind="not-found"
)
LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
TENANT_STOP_PATH = "/_showcase/tenants/stop"  # POST from loopback only (showcase restore)
MAX_HOLD = 300.0


def text(status: int, body: str, kind: str) -> Reply:
    return Reply(
        status, ((b"content-type", b"text/plain; charset=utf-8"),), body.encode() + b"\n", kind=kind
    )


@attrs.frozen
class ToTenant:
    tenant: Tenant
    target: bytes  # the request target to send (the path may have been rewritten)


@attrs.frozen
class ToOrigin:
    origin: OriginTarget


@attrs.frozen
class ToCgi:
    script: CgiScript


@attrs.frozen
class ToHub:
    """A cable connection (WebSocket): ``tenant_db`` set when opened under a tenant's path;
    ``every_tenant`` lets a root connection subscribe to non-public streams (auth is off)."""

    tenant_db: str | None
    tenant: str | None = None  # the tenant's name, for the access log
    every_tenant: bool = False
    with_public: bool = False  # a tenant's own cable path that is also the root's


@attrs.frozen
class ToBroadcast:
    """A POST to the broadcast endpoint from loopback: publish its body."""


BROADCAST = ToBroadcast()


@attrs.frozen
class ToTenantStop:
    """A POST to the tenant-stop endpoint from loopback: stop ``tenants`` (those whose db
    name is ``db``) and keep them from starting for ``hold`` seconds (0 ends a hold)."""

    db: str
    tenants: tuple[str, ...]
    hold: float


@attrs.frozen
class ToLogs:
    """The log sink (a ``logger`` section): ``ingest`` (``POST <root>/logs``, decided before
    Basic auth: it has its own secret), ``browse`` (``<root>/logs/``) or ``tail`` (WebSocket)."""

    action: str


LOG_INGEST = ToLogs("ingest")
Decision = (
    Reply | ToTenant | ToOrigin | ToCgi | ToHub | ToBroadcast | PrintJob | ToTenantStop | ToLogs
)


class Dispatcher:
    def __init__(
        self, config: Config, auth: Authenticator, here: replay.FlyHere | None = None
    ) -> None:
        self.config = config
        self.auth = auth
        self.rules = Rules(config)
        self.static = StaticFiles(config.server.static, config.server.root_path)
        self.maintenance = MaintenancePage(config.maintenance_page())
        self.health = _health_reply(config.server.health_check)
        self.tenants = {t.path: t for t in config.applications.tenants}
        cable = config.cable
        self.cable_paths: dict[str, ToHub] = {}
        if cable.enabled:
            for t in config.applications.tenants:
                self.cable_paths[t.path + "cable"] = ToHub(tenant_db(t), t.name)
            root = ToHub(None, every_tenant=not config.auth.enabled)
            shared = self.cable_paths.get(cable.path)
            if shared is not None and config.auth.enabled:
                # The index tenant at the root path: its own streams (its users passed the
                # same auth) and every tenant's public ones.
                root = attrs.evolve(shared, with_public=True)
            self.cable_paths[cable.path] = root
        if here is None:  # read once per config, never per request
            port = replay.listen_port(config.server.listen)
            here = replay.FlyHere.from_environ(os.environ, port)
        self.here = here
        self.logs_path = config.server.root_path + "/logs" if config.logger is not None else None
        self.replay = replay.Replayer(config.routes.fly, here, self.maintenance)
        self.printing = (
            Printing(config.appliance, config.routes.fly, here, config.server.static.public_dir)
            if config.appliance
            else None
        )

    def tenant_for(self, path: str) -> Tenant | None:
        """The tenant whose path is the longest prefix of ``path``."""
        end = len(path)
        while end > 0:
            cut = path.rfind("/", 0, end)
            if cut < 0:
                return None
            tenant = self.tenants.get(path[: cut + 1])
            if tenant is not None:
                return tenant
            end = cut
        return None

    def decide(self, ex: Exchange) -> Decision:
        head, path, config = ex.head, ex.head.path, self.config
        health = config.server.health_check
        if health.path is not None and path == health.path:
            if self.health is not None:
                return self.health
            tenant = self.tenant_for(path)
            return ToTenant(tenant, head.target) if tenant is not None else NOT_FOUND
        if config.cable.enabled and path == config.cable.broadcast_path:
            return _loopback_post(head, "broadcast") or BROADCAST
        if path == TENANT_STOP_PATH:
            return self._tenant_stop(ex)
        if path == self.logs_path and head.method == b"POST":
            return LOG_INGEST
        allowed, ex.remote_user = self.auth.check(head)
        if not allowed:
            return self.auth.challenge()
        hub = self.cable_paths.get(path)
        if hub is not None:
            return hub
        if self.logs_path is not None and path.startswith(self.logs_path):
            logs = _log_page(self.logs_path, path, head.query)
            if logs is not None:
                return logs
        found = self.rules.redirect_for(head, path)
        if found is not None:
            return found
        rewritten = self.rules.rewrite(path)
        target = head.target if rewritten == path else _target(rewritten, head.query)
        path = rewritten
        if self.printing is not None and self.tenant_for(path) is None:
            job = self.printing.job(head, path)
            if job is not None:
                return job
        replayed = self.replay.route(head, path)
        if replayed is not None:
            return ToOrigin(replayed) if isinstance(replayed, OriginTarget) else replayed
        found = None if rewritten != ex.head.path else self.rules.auto_redirect(head, path)
        if found is not None:
            return found
        script = find_script(config.server.cgi_scripts, path, head.method)
        if script is not None:
            return ToCgi(script)
        origin = self.rules.reverse_proxy(head, path)
        if origin is not None:
            return ToOrigin(origin)
        found = self.static.lookup(head, path) or self.static.try_files(head, path)
        if found is not None:
            return found
        if config.maintenance.enabled:
            return self.maintenance.reply()
        tenant = self.tenant_for(path)
        if tenant is None:
            return NOT_FOUND
        bots = tenant.bot_detection or config.server.bot_detection
        if bots.enabled and bots.action != "ignore":
            agent = head.header(b"user-agent") or b""
            if BOTS.search(agent):
                return text(403, "Forbidden: Bot access not allowed", "bot-blocked")
        return ToTenant(tenant, target)

    def _tenant_stop(self, ex: Exchange) -> Reply | ToTenantStop:
        """``POST /_showcase/tenants/stop?db=NAME[&hold=SECONDS]`` from loopback."""
        head = ex.head
        refused = _loopback_post(head, "control")
        if refused is not None:
            return refused
        query = parse_qs(head.query.decode("latin-1"))
        db = query.get("db", [""])[0]
        try:
            hold = float(query.get("hold", ["0"])[0])
        except ValueError:
            hold = -1.0
        if not db or not 0 <= hold <= MAX_HOLD:
            return text(400, f"Bad Request: db=NAME and hold=0..{MAX_HOLD:g} seconds", "control")
        names = tuple(t.name for t in self.config.applications.tenants if tenant_db(t) == db)
        return ToTenantStop(db, names, hold)


def _health_reply(health: HealthCheck) -> Reply | None:
    """The health check's own answer (made once per config), None to ask a tenant."""
    r = health.response
    if r is None:
        return None
    headers = tuple((k.lower().encode(), v.encode()) for k, v in r.headers)
    if not any(k == b"content-type" for k, _ in headers):
        headers += ((b"content-type", b"text/plain"),)
    return Reply(r.status, headers, r.body.encode(), kind="health")


def _loopback_post(head: RequestHead, kind: str) -> Reply | None:
    """403 unless from loopback, 405 unless a POST; None when the request may go on."""
    if head.client_ip not in LOOPBACK:
        return text(403, f"Forbidden: {head.path} is only accessible from localhost", kind)
    if head.method != b"POST":
        return Reply(
            405,
            ((b"content-type", b"text/plain; charset=utf-8"), (b"allow", b"POST")),
            b"Method Not Allowed\n",
            kind=kind,
        )
    return None


def _log_page(base: str, path: str, query: bytes) -> Decision | None:
    if path == base:
        location = (base + "/").encode() + (b"?" + query if query else b"")
        return Reply(301, ((b"location", location),), b"", kind="redirect")
    if path == base + "/":
        return ToLogs("browse")
    return ToLogs("tail") if path == base + "/tail" else None


def _target(path: str, query: bytes) -> bytes:
    target = quote(path, safe="/:@!$&'()*+,;=~", errors="surrogateescape").encode("ascii")
    return target + b"?" + query if query else target
