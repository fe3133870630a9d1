"""Where a Redis URL points (``SHOWCASE_REDIS``, ``redis.url``), and an endpoint to reach it.

Shared by the router's bus (:mod:`showcase.cable.bus`) and the event app's
publisher (:mod:`showcase.event.publisher`).  It imports neither txredisapi nor
the TLS stack: the event process never loads them (``rediss://`` imports
``twisted.internet.ssl`` when its endpoint is built).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

import attrs
from twisted.internet.endpoints import HostnameEndpoint, UNIXClientEndpoint, wrapClientTLS
from twisted.internet.interfaces import IStreamClientEndpoint


@attrs.frozen
class Target:
    """Where a Redis URL points: ``redis://[user:password@]host[:port][/db]``,
    ``rediss://`` (TLS) or ``unix:///path[?db=N]``."""

    url: str
    host: str | None = None
    port: int = 6379
    path: str | None = None
    db: int | None = None
    username: str | None = None
    password: str | None = None
    tls: bool = False

    @classmethod
    def parse(cls, url: str) -> Target:
        parts = urlsplit(url)
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password is not None else None
        if parts.scheme == "unix":
            if not parts.path:
                raise ValueError(f"{url!r} names no socket path")
            db = parse_qs(parts.query).get("db", [None])[0]
            return cls(url, path=parts.path, db=int(db) if db else None, password=password)
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError(f"{url!r} is not a redis://, rediss:// or unix:// URL")
        number = parts.path.strip("/")
        return cls(
            url,
            host=parts.hostname or "localhost",
            port=parts.port or 6379,
            db=int(number) if number else None,
            username=username,
            password=password,
            tls=parts.scheme == "rediss",
        )

    @property
    def display(self) -> str:
        """The URL without its password, for logs and errors."""
        if self.password is None:
            return self.url
        parts = urlsplit(self.url)
        user = parts.username or ""
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))

    def endpoint(self, reactor: Any) -> IStreamClientEndpoint:
        if self.path is not None:
            return UNIXClientEndpoint(reactor, self.path, timeout=5)
        assert self.host is not None
        tcp = HostnameEndpoint(reactor, self.host, self.port, timeout=5)
        if not self.tls:
            return tcp
        from twisted.internet.ssl import optionsForClientTLS

        return wrapClientTLS(optionsForClientTLS(self.host), tcp)
