"""Where a request goes, decided in the order of the spec.

health check → broadcast endpoint → auth → cable paths → redirects and
rewrites → fly-replay → CGI scripts → reverse-proxy routes → static files → try_files →
maintenance → tenant by longest path prefix → 404.  :meth:`Dispatcher.decide`
only decides; :class:`~showcase.router.router.Router` carries it out.
"""

from __future__ import annotations

import os
import re
from urllib.parse import quote

import attrs

from showcase.cable.streams import tenant_db
from showcase.config.model import CgiScript, Config, Tenant

from . import replay
from .auth import Authenticator
from .cgi import find_script
from .exchange import Exchange
from .maintenance import MaintenancePage
from .message import Reply
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


@attrs.frozen
class ToBroadcast:
    """A POST to the broadcast endpoint from loopback: publish its body."""


BROADCAST = ToBroadcast()
Decision = Reply | ToTenant | ToOrigin | ToCgi | ToHub | ToBroadcast


class Dispatcher:
    def __init__(self, config: Config, auth: Authenticator) -> None:
        self.config = config
        self.auth = auth
        self.rules = Rules(config)
        self.static = StaticFiles(config.server.static, config.server.root_path)
        self.maintenance = MaintenancePage(config.maintenance_page())
        self.tenants = {t.path: t for t in config.applications.tenants}
        cable = config.cable
        self.cable_paths: dict[str, ToHub] = {}
        if cable.enabled:
            for t in config.applications.tenants:
                self.cable_paths[t.path + "cable"] = ToHub(tenant_db(t), t.name)
            self.cable_paths[cable.path] = ToHub(None, every_tenant=not config.auth.enabled)
        self.fly_app = os.environ.get("FLY_APP_NAME")

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
            if health.response is not None:
                r = health.response
                headers = tuple((k.lower().encode(), v.encode()) for k, v in r.headers)
                if not any(k == b"content-type" for k, _ in headers):
                    headers += ((b"content-type", b"text/plain"),)
                return Reply(r.status, headers, r.body.encode(), kind="health")
            tenant = self.tenant_for(path)
            return ToTenant(tenant, head.target) if tenant is not None else NOT_FOUND
        if config.cable.enabled and path == config.cable.broadcast_path:
            if head.client_ip not in LOOPBACK:
                return text(
                    403, f"Forbidden: {path} is only accessible from localhost", "broadcast"
                )
            if head.method != b"POST":
                return Reply(
                    405,
                    ((b"content-type", b"text/plain; charset=utf-8"), (b"allow", b"POST")),
                    b"Method Not Allowed\n",
                    kind="broadcast",
                )
            return BROADCAST
        allowed, ex.remote_user = self.auth.check(head)
        if not allowed:
            return self.auth.challenge()
        hub = self.cable_paths.get(path)
        if hub is not None:
            return hub
        found = self.rules.redirect_for(head, path)
        if found is not None:
            return found
        rewritten = self.rules.rewrite(path)
        target = head.target if rewritten == path else _target(rewritten, head.query)
        path = rewritten
        for rule in config.routes.fly.replay:
            if rule.path.search(path) and replay.eligible(head):
                if replay.is_retry(head):
                    return self.maintenance.reply()
                return replay.answer(rule, head, self.fly_app)
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


def _target(path: str, query: bytes) -> bytes:
    target = quote(path, safe="/:@!$&'()*+,;=~", errors="surrogateescape").encode("ascii")
    return target + b"?" + query if query else target
