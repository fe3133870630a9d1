"""Pooled keep-alive HTTP/1.1 connections to tenants and other origins.

An :class:`UpstreamConnection` carries one exchange at a time.  It writes the
request head and body it is given as bytes and parses only the framing of the
response (httptools): the head is handed to the exchange once, body bytes are
handed on as they arrive, and the end of the message returns the connection
to its :class:`UpstreamPool` when both sides allow keep-alive.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Protocol as TypingProtocol

import httptools
from twisted.internet.defer import Deferred, succeed
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.interfaces import (
    IDelayedCall,
    IReactorTCP,
    IReactorTime,
    IStreamClientEndpoint,
)
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure

from .message import Headers
from .sending import send_now

Key = tuple[str, int, bool]
"""(host, port, tls)"""


class ResponseSink(TypingProtocol):
    """What an upstream connection reports to (the front end's exchange)."""

    def response_head(
        self, status: int, reason: bytes, headers: Headers, framing: str
    ) -> None: ...  # framing: "length" | "chunked" | "close" | "none"

    def response_body(self, data: bytes) -> None: ...

    def response_end(self) -> None: ...

    def upstream_lost(self, reason: Failure, got_response: bool) -> None: ...


NO_BODY_STATUSES = frozenset({204, 304})


class UpstreamConnection(Protocol):
    log = Logger()

    def __init__(self, pool: UpstreamPool, key: Key) -> None:
        self.pool = pool
        self.key = key
        self.sink: ResponseSink | None = None
        self.head_request = False
        self.reused = False
        self.busy = False
        self.idle_call: IDelayedCall | None = None
        self.idle_until = 0.0
        self._parser = httptools.HttpResponseParser(self)
        self._headers: list[tuple[bytes, bytes]] = []
        self._reason = b""
        self._got_head = False
        self._keep_alive = True
        self._framing = "none"
        self._done = False

    # -- used by the front end ------------------------------------------------

    def begin(self, sink: ResponseSink, head_request: bool) -> None:
        """Start an exchange; the caller then writes the request with ``write``."""
        self.sink = sink
        self.head_request = head_request
        self.busy = True
        self._got_head = False
        self._done = False
        self._headers = []

    def write(self, data: bytes) -> None:
        if self.transport is not None:
            send_now(self.transport, data)

    def no_reuse(self) -> None:
        """Close this connection after the current response instead of pooling it."""
        self._keep_alive = False

    def abort(self) -> None:
        """Drop the connection (the client went away mid-exchange)."""
        self.sink = None
        if self.transport is not None:
            self.transport.abortConnection()  # type: ignore[attr-defined]

    # -- Protocol ---------------------------------------------------------------

    def dataReceived(self, data: bytes) -> None:
        if self.sink is None:
            # Bytes nobody asked for: the upstream is confused; do not reuse it.
            self.abort()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.log.warn("upstream {key} answered with an upgrade outside a tunnel", key=self.key)
            self._fail_now()
        except httptools.HttpParserError as e:
            self.log.warn("upstream {key} sent a malformed response: {e}", key=self.key, e=e)
            self._fail_now()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.pool.forget(self)
        if self.idle_call is not None and self.idle_call.active():
            self.idle_call.cancel()
        sink, self.sink = self.sink, None
        if sink is None or self._done:
            return
        if self._framing == "close" and self._got_head:
            self._done = True
            sink.response_end()
        else:
            sink.upstream_lost(reason, self._got_head)

    # -- httptools callbacks ------------------------------------------------------

    def on_status(self, status: bytes) -> None:
        self._reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        keep_alive = self._parser.should_keep_alive()
        if 100 <= status < 200:
            # Interim responses (103 Early Hints...) are dropped, with their reason and
            # headers (Expect is answered by the router).
            self._headers, self._reason = [], b""
            return
        framing = "close"
        for name, value in self._headers:
            if name == b"content-length":
                framing = "length"
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                framing = "chunked"
        if self.head_request or status in NO_BODY_STATUSES:
            framing = "none"
        if framing == "close":
            keep_alive = False
        self._keep_alive = keep_alive
        self._framing = framing
        self._got_head = True
        headers, self._headers = tuple(self._headers), []
        reason, self._reason = self._reason, b""
        if self.sink is not None:
            self.sink.response_head(status, reason, headers, framing)
        if framing == "none":
            # httptools cannot be told a HEAD answer has no body: finish here
            # and give the next exchange a fresh parser.
            self._parser = httptools.HttpResponseParser(self)
            self._finish()

    def on_body(self, body: bytes) -> None:
        if self.sink is not None and not self._done:
            self.sink.response_body(body)

    def on_message_complete(self) -> None:
        if self._got_head and not self._done:
            self._finish()

    # -- internals --------------------------------------------------------------------

    def _finish(self) -> None:
        self._done = True
        sink, self.sink = self.sink, None
        self.busy = False
        if sink is not None:
            sink.response_end()
        if self._keep_alive and self.transport is not None:
            self.pool.release(self)
        elif self.transport is not None:
            self.transport.loseConnection()

    def _fail_now(self) -> None:
        if self.transport is not None:
            self.transport.abortConnection()  # type: ignore[attr-defined]


class _Factory(Factory):
    noisy = False

    def __init__(self, pool: UpstreamPool, key: Key) -> None:
        self.pool = pool
        self.key = key

    def buildProtocol(self, addr: object) -> UpstreamConnection:
        return UpstreamConnection(self.pool, self.key)


def client_endpoint(reactor: IReactorTCP, key: Key, timeout: float) -> IStreamClientEndpoint:
    """An endpoint for ``key``; TLS (verified against the host name) when asked."""
    host, port, tls = key
    if not tls:
        return TCP4ClientEndpoint(reactor, host, port, timeout=timeout)
    from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS
    from twisted.internet.ssl import optionsForClientTLS

    plain = HostnameEndpoint(reactor, host, port, timeout=timeout)
    return wrapClientTLS(optionsForClientTLS(host), plain)


class UpstreamPool:
    """Idle keep-alive connections per (host, port), reused most recent first."""

    def __init__(
        self,
        reactor: IReactorTCP,
        clock: IReactorTime,
        max_idle_per_key: int = 64,
        idle_timeout: float = 30.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self.reactor = reactor
        self.clock = clock
        self.max_idle_per_key = max_idle_per_key
        self.idle_timeout = idle_timeout
        self.connect_timeout = connect_timeout
        self.idle: dict[Key, list[UpstreamConnection]] = defaultdict(list)

    def acquire_idle(self, key: Key) -> UpstreamConnection | None:
        """An idle connection to ``key``, if there is one."""
        idle = self.idle.get(key)
        while idle:
            conn = idle.pop()
            if conn.transport is not None and conn.transport.connected:  # type: ignore[attr-defined]
                conn.reused = True
                return conn
        return None

    def acquire(self, key: Key) -> Deferred[UpstreamConnection]:
        """A connection to ``key``: an idle one, or a new one."""
        conn = self.acquire_idle(key)
        if conn is not None:
            return succeed(conn)
        return self.connect(key)

    def connect(self, key: Key) -> Deferred[UpstreamConnection]:
        """A new connection to ``key`` (never an idle one)."""
        connecting = client_endpoint(self.reactor, key, self.connect_timeout).connect(
            _Factory(self, key)
        )
        return connecting.addCallback(self._connected)

    def _connected(self, conn: object) -> UpstreamConnection:
        assert isinstance(conn, UpstreamConnection)
        transport = conn.transport
        if transport is not None and hasattr(transport, "setTcpNoDelay"):
            transport.setTcpNoDelay(True)
        return conn

    def release(self, conn: UpstreamConnection) -> None:
        idle = self.idle[conn.key]
        if len(idle) >= self.max_idle_per_key:
            assert conn.transport is not None
            conn.transport.loseConnection()
            return
        idle.append(conn)
        # One lazily moved timer per connection: no callLater churn per request.
        conn.idle_until = self.clock.seconds() + self.idle_timeout
        if conn.idle_call is None or not conn.idle_call.active():
            conn.idle_call = self.clock.callLater(self.idle_timeout, self._expire, conn)

    def _expire(self, conn: UpstreamConnection) -> None:
        conn.idle_call = None
        if conn.busy or conn.transport is None:
            return
        left = conn.idle_until - self.clock.seconds()
        if left > 0:
            conn.idle_call = self.clock.callLater(left, self._expire, conn)
            return
        self.forget(conn)
        conn.transport.loseConnection()

    def forget(self, conn: UpstreamConnection) -> None:
        idle = self.idle.get(conn.key)
        if idle and conn in idle:
            idle.remove(conn)

    def close_key(self, key: Key) -> None:
        """Close every idle connection to ``key`` (its tenant stopped)."""
        for conn in self.idle.pop(key, []):
            if conn.idle_call is not None and conn.idle_call.active():
                conn.idle_call.cancel()
            if conn.transport is not None:
                conn.transport.loseConnection()

    def close_all(self) -> None:
        for key in list(self.idle):
            self.close_key(key)
