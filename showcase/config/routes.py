"""Reader for the ``routes`` section: redirects, rewrites, reverse proxies, Fly replay."""

from __future__ import annotations

import string
from urllib.parse import urlsplit

from .model import Fly, FlyReplay, Redirect, ReverseProxy, Rewrite, Routes
from .nodes import Node

REDIRECT_STATUSES = (301, 302, 303, 307, 308)
PROXY_SCHEMES = ("http", "https", "ws", "wss")
INTERNAL_FIELDS = ("region", "app", "port", "machine")


def read_routes(node: Node) -> Routes:
    return Routes(
        redirects=node.read("redirects", lambda n: n.each(_redirect), ()),
        rewrites=node.read("rewrites", lambda n: n.each(_rewrite), ()),
        reverse_proxies=node.read("reverse_proxies", lambda n: n.each(_reverse_proxy), ()),
        fly=_fly(node.section("fly")),
    )


def _redirect(node: Node) -> Redirect:
    return Redirect(
        pattern=node.require("from", Node.regex),
        to=node.require("to", Node.text),
        status=node.read("status", _redirect_status, 302),
    )


def _redirect_status(node: Node) -> int:
    status = node.integer()
    if status not in REDIRECT_STATUSES:
        allowed = ", ".join(map(str, REDIRECT_STATUSES))
        raise node.error(f"{status} is not a redirect status ({allowed})")
    return status


def _rewrite(node: Node) -> Rewrite:
    return Rewrite(pattern=node.require("from", Node.regex), to=node.require("to", Node.text))


def _reverse_proxy(node: Node) -> ReverseProxy:
    path = node.read("path", Node.regex, None)
    prefix = node.read("prefix", Node.text, None)
    if (path is None) == (prefix is None):
        raise node.error("needs exactly one of 'path' (a regex) or 'prefix'")
    return ReverseProxy(
        target=node.require("target", _proxy_target),
        name=node.read("name", Node.text, None),
        path=path,
        prefix=prefix,
        strip_path=node.read("strip_path", Node.flag, False),
        headers=node.read("headers", Node.env, ()),
        response_headers=node.read("response_headers", Node.env, ()),
        websocket=node.read("websocket", Node.flag, False),
    )


def _proxy_target(node: Node) -> str:
    target = node.text()
    parts = urlsplit(target)
    if parts.scheme not in PROXY_SCHEMES or not parts.netloc:
        raise node.error(f"{target!r} is not an http(s) or ws(s) URL")
    return target


def _fly(node: Node) -> Fly:
    return Fly(
        replay=node.read("replay", lambda n: n.each(_fly_replay), ()),
        internal=node.read("internal", _internal_template, Fly().internal),
        internal_hosts=node.read("internal_hosts", _internal_hosts, ()),
    )


def _fly_replay(node: Node) -> FlyReplay:
    replay = FlyReplay(
        path=node.require("path", Node.regex),
        app=node.read("app", Node.text, None),
        region=node.read("region", Node.text, None),
        machine=node.read("machine", Node.text, None),
        status=node.read("status", lambda n: n.integer(100, 599), 307),
    )
    targets = (replay.app, replay.region, replay.machine)
    given = sum(target is not None for target in targets)
    if given == 0:
        raise node.error("needs one of 'app', 'region' or 'machine'")
    if given > 1 and not (given == 2 and replay.region is None):
        raise node.error("needs only one of 'app', 'region' or 'machine' (or 'machine' + 'app')")
    return replay


def _internal_template(node: Node) -> str:
    template = node.text()
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as error:
        raise node.error(f"bad template {template!r}: {error}") from error
    unknown = [name for name in fields if name not in INTERNAL_FIELDS]
    if unknown:
        known = ", ".join("{" + name + "}" for name in INTERNAL_FIELDS)
        raise node.error(f"unknown placeholder {{{unknown[0]}}} (known: {known})")
    return template


def _internal_hosts(node: Node) -> tuple[tuple[str, str], ...]:
    """``{target name: "host:port"}``: where that region, app or machine is reached."""
    return tuple((name, value.convert(_host_port)) for name, value in node.pairs())


def _host_port(text: str) -> str:
    host, colon, port = text.strip().rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} is not host:port (e.g. 127.0.0.1:9001)")
    return f"{host}:{int(port)}"
