"""Redirects, rewrites and reverse-proxy routes, compiled once per config.

Configured redirects and rewrites are tried first (redirects: first match
wins, the query string is kept; rewrites: each later rule sees the new
path).  The automatic trailing-slash redirects (``/showcase`` →
``/showcase/``, a tenant path without its slash) apply only when no
configured rule matched.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import attrs

from showcase.config import expand_replacement
from showcase.config.model import Config, ReverseProxy

from .message import Reply, RequestHead


def redirect(location: str, query: bytes, status: int = 302) -> Reply:
    """A redirect to ``location`` (a path or URL), keeping ``query``."""
    target = quote(location, safe="/:?=&%#@!$'()*+,;~")
    if query:
        target += ("&" if "?" in target else "?") + query.decode("latin-1")
    body = b'<a href="%s">Moved</a>.\n' % target.encode("latin-1", "replace")
    return Reply(
        status,
        (
            (b"location", target.encode("latin-1", "replace")),
            (b"content-type", b"text/html; charset=utf-8"),
        ),
        body,
        kind="redirect",
        destination=target,
    )


@attrs.frozen
class OriginTarget:
    """Where a reverse-proxy route sends a request."""

    route: ReverseProxy
    host: str
    port: int
    tls: bool
    target: bytes  # path and query to request
    host_header: bytes


class Rules:
    def __init__(self, config: Config) -> None:
        self.redirects = config.routes.redirects
        self.rewrites = config.routes.rewrites
        self.proxies = config.routes.reverse_proxies
        root = config.server.root_path
        auto = {t.path.rstrip("/"): t.path for t in config.applications.tenants if t.path != "/"}
        if root:
            auto[root] = root + "/"
        self.auto_slash = auto

    def redirect_for(self, head: RequestHead, path: str) -> Reply | None:
        for rule in self.redirects:
            m = rule.pattern.search(path)
            if m is not None:
                return redirect(expand_replacement(rule.to, m), head.query, rule.status)
        return None

    def rewrite(self, path: str) -> str:
        for rule in self.rewrites:
            m = rule.pattern.search(path)
            if m is not None:
                path = path[: m.start()] + expand_replacement(rule.to, m) + path[m.end() :]
        return path

    def auto_redirect(self, head: RequestHead, path: str) -> Reply | None:
        to = self.auto_slash.get(path)
        return redirect(to, head.query) if to is not None else None

    def reverse_proxy(self, head: RequestHead, path: str) -> OriginTarget | None:
        for route in self.proxies:
            if route.path is not None:
                m = route.path.search(path)
                if m is None:
                    continue
                url = route.target
                for n in range(9, 0, -1):
                    group = (m.group(n) or "") if n <= m.re.groups else ""
                    url = url.replace(f"${n}", group)
                if url != route.target:
                    rest = None  # the target names the whole path
                elif route.strip_path:
                    kept = (m.group(1) or "") if m.re.groups else path[m.end() :]
                    rest = "/" + kept.lstrip("/")
                else:
                    rest = path
            elif route.prefix is not None and path.startswith(route.prefix):
                url = route.target
                rest = "/" + path[len(route.prefix) :].lstrip("/") if route.strip_path else path
            else:
                continue
            return _origin(route, url, rest, head.query)
        return None


def _origin(route: ReverseProxy, url: str, rest: str | None, query: bytes) -> OriginTarget:
    parts = urlsplit(url)
    tls = parts.scheme in ("https", "wss")
    port = parts.port or (443 if tls else 80)
    base = parts.path or "/"
    path = base if rest is None else base.rstrip("/") + rest
    target = quote(path or "/", safe="/:@!$&'()*+,;=~%")
    q = "&".join(x for x in (parts.query, query.decode("latin-1")) if x)
    if q:
        target += "?" + q
    host = parts.hostname or "localhost"
    default = (tls and port == 443) or (not tls and port == 80)
    host_header = host if default else f"{host}:{port}"
    return OriginTarget(
        route, host, port, tls, target.encode("latin-1"), host_header.encode("idna")
    )
