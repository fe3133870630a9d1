"""Fly-Replay for ``routes.fly.replay`` rules (spec/fly-replay.md).

For a request whose path (after rewrites) matches a rule, :meth:`Replayer.route`
says what to do:

* the rule names this router itself (its region, its app, its machine): nothing,
  the request is served here (never a replay to oneself);
* the request was replayed once already (``X-Navigator-Retry: true`` or Fly's
  ``fly-replay-failed``): the maintenance page, never a loop;
* on Fly (``FLY_APP_NAME`` and ``FLY_REGION`` set) and eligible (a body under
  1 MiB, or none; not a HEAD, whose answer could not carry the instruction):
  the replay instruction for Fly's proxy;
* otherwise (off Fly, a large or chunked body, a HEAD): a reverse proxy to the target's
  internal address (``routes.fly.internal``, or our ``internal_hosts``), the
  body streamed, with ``X-Navigator-Retry: true`` as a replay would carry.

``fly-prefer-region: R``: when the first matching rule is a region rule and a
matching region rule names R, that one is used. Ownership still decides: a
request is never sent to R unless a rule gives its path to R.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import urlsplit

import attrs

from showcase.config.model import Fly, FlyReplay, ReverseProxy

from .maintenance import MaintenancePage
from .message import Reply, RequestHead
from .rules import OriginTarget

MAX_REPLAY_BODY = 1024 * 1024
_BODY_METHODS = frozenset({b"POST", b"PUT", b"PATCH"})
DEFAULT_INTERNAL = Fly().internal
APP_INTERNAL = "http://{app}.internal:{port}"
MACHINE_INTERNAL = "http://{machine}.vm.{app}.internal:{port}"
NO_PORT = 80
"""``{port}`` when the router does not listen on a TCP port (a unix socket)."""


@attrs.frozen
class FlyHere:
    """Where this router runs: read once, when a config is applied."""

    app: str | None = None  # FLY_APP_NAME
    region: str | None = None  # FLY_REGION
    machine: str | None = None  # FLY_MACHINE_ID
    port: int | None = None  # the TCP port this router listens on ({port})

    @property
    def on_fly(self) -> bool:
        """Fly's proxy is in front: replay instructions will be acted on."""
        return bool(self.app and self.region)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], port: int | None) -> FlyHere:
        return cls(
            environ.get("FLY_APP_NAME") or None,
            environ.get("FLY_REGION") or None,
            environ.get("FLY_MACHINE_ID") or None,
            port,
        )


def listen_port(endpoint: str) -> int | None:
    """The TCP port of a listen endpoint (``tcp:8080:interface=::1`` → 8080), if it has one."""
    kind, _, rest = endpoint.partition(":")
    if kind not in ("tcp", "tcp6", "ssl"):
        return None
    for arg in rest.split(":"):
        name, eq, value = arg.partition("=")
        number = value if eq and name == "port" else (name if not eq else "")
        if number.isdigit():
            return int(number) or None
    return None


def eligible(head: RequestHead) -> bool:
    """Can Fly's proxy replay this request (small, known-length body)?

    Not a HEAD: the replay instruction is the answer's body, and an answer to HEAD
    carries none, so Fly would never see it.
    """
    if head.method == b"HEAD":
        return False
    length = head.header(b"content-length")
    if length is not None:
        return length.isdigit() and int(length) < MAX_REPLAY_BODY
    return head.method not in _BODY_METHODS


def is_retry(head: RequestHead) -> bool:
    """Was this request already replayed once (a loop if replayed again)?"""
    retry = head.header(b"x-navigator-retry")
    return head.header(b"fly-replay-failed") is not None or (
        retry is not None and retry.lower() == b"true"
    )


def choose(rules: tuple[FlyReplay, ...], path: str, prefer: str | None) -> FlyReplay | None:
    """The rule for ``path``: the first that matches, or (``prefer`` given and the first
    match a region rule) the matching region rule naming region ``prefer``."""
    first = None
    for rule in rules:
        if not rule.path.search(path):
            continue
        if first is None:
            first = rule
            if prefer is None or not _is_region(rule):
                return rule
        if _is_region(rule) and rule.region == prefer:
            return rule
    return first


def _is_region(rule: FlyReplay) -> bool:
    return rule.region is not None and rule.machine is None


def target_name(rule: FlyReplay) -> str:
    """The name a rule sends to: its machine id, else its region, else its app."""
    return rule.machine or rule.region or rule.app or ""


def internal_base(
    fly: Fly,
    here: FlyHere,
    region: str | None = None,
    app: str | None = None,
    machine: str | None = None,
) -> str:
    """``scheme://host:port`` of a target inside the private network.

    ``internal_hosts`` names the target's address outright.  Otherwise the
    ``internal`` template is filled in (``{app}`` defaults to this app,
    ``{region}`` to this region, ``{port}`` is this router's port); with the
    default template, app and machine targets use Fly's own names
    (``<app>.internal``, ``<machine>.vm.<app>.internal``).
    """
    name = machine or region or app or ""
    host = dict(fly.internal_hosts).get(name)
    if host is not None:
        return f"http://{host}"
    template = fly.internal
    if template == DEFAULT_INTERNAL and region is None:
        template = MACHINE_INTERNAL if machine is not None else APP_INTERNAL
    url = template.format(
        region=region or here.region or "",
        app=app or here.app or "",
        machine=machine or "",
        port=here.port or NO_PORT,
    )
    return url.rstrip("/")


def answer(rule: FlyReplay, head: RequestHead, this_app: str | None) -> Reply:
    """The replay instruction for ``rule``."""
    transform_headers = [{"name": "X-Navigator-Retry", "value": "true"}]
    auth = head.header(b"authorization")
    if auth is not None:
        transform_headers.append({"name": "Authorization", "value": auth.decode("latin-1")})
    hard = {
        "timeout": "30s",
        "fallback": "force_self",
        "transform": {"set_headers": transform_headers},
    }
    body: dict[str, object]
    if rule.machine is not None:
        body = {"app": rule.app or this_app or "", "instance": rule.machine, **hard}
        target = f"machine={rule.machine}"
    elif rule.region is not None:
        body = {"region": rule.region, **hard}
        target = f"region={rule.region}"
    else:
        body = {"app": rule.app}
        target = f"app={rule.app}"
    return Reply(
        rule.status,
        ((b"content-type", b"application/vnd.fly.replay+json"),),
        json.dumps(body).encode(),
        kind="fly-replay",
        destination=target,
    )


class Replayer:
    """The replay step of the dispatch order, for one config and one place."""

    def __init__(self, fly: Fly, here: FlyHere, maintenance: MaintenancePage) -> None:
        self.fly = fly
        self.here = here
        self.maintenance = maintenance

    def route(self, head: RequestHead, path: str) -> Reply | OriginTarget | None:
        """A replay answer, a proxy target, the maintenance page, or None (serve here)."""
        if not self.fly.replay:
            return None
        prefer = head.header(b"fly-prefer-region")
        rule = choose(self.fly.replay, path, prefer.decode("latin-1") if prefer else None)
        if rule is None or self.is_here(rule):
            return None
        if is_retry(head):
            return self.maintenance.reply()
        if self.here.on_fly and eligible(head):
            return answer(rule, head, self.here.app)
        return self.proxy_target(rule, head)

    def is_here(self, rule: FlyReplay) -> bool:
        """Does ``rule`` send to this very router (its region, machine or app)?"""
        here = self.here
        if rule.machine is not None:
            return rule.machine == here.machine and (rule.app or here.app) == here.app
        if rule.region is not None:
            return rule.region == here.region
        return rule.app == here.app

    def base_for(self, rule: FlyReplay) -> str:
        return internal_base(self.fly, self.here, rule.region, rule.app, rule.machine)

    def proxy_target(self, rule: FlyReplay, head: RequestHead) -> OriginTarget:
        """Where the request goes when it is not replayed: the target's internal address,
        the same request target and Host (as a replay would send them)."""
        base = self.base_for(rule)
        parts = urlsplit(base)
        tls = parts.scheme in ("https", "wss")
        port = parts.port or (443 if tls else 80)
        host = parts.hostname or "localhost"
        route = ReverseProxy(
            target=base,
            name=f"fly-internal:{target_name(rule)}",
            headers=(("X-Navigator-Retry", "true"),),
            websocket=True,
        )
        prefix = parts.path.rstrip("/").encode("latin-1")
        host_header = head.header(b"host") or f"{host}:{port}".encode("latin-1", "replace")
        return OriginTarget(route, host, port, tls, prefix + head.target, host_header)
