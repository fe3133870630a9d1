"""Upgrade requests (WebSocket and others) tunnelled byte for byte to a tenant.

The request head goes to a fresh (never pooled) upstream connection, then
the two sockets are spliced: each side's transport is the other's producer,
so a slow reader slows the writer instead of filling memory.  The tunnel
lives until either side closes.
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet.interfaces import IReactorTCP
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure

from .exchange import Exchange
from .proxy import BAD_GATEWAY
from .upstream import Key, client_endpoint


class TunnelUpstream(Protocol):
    def __init__(self, ex: Exchange, head_bytes: bytes, closed: Callable[[], None]) -> None:
        self.ex = ex
        self.head_bytes = head_bytes
        self.closed = closed
        self.status_seen = False

    def connectionMade(self) -> None:
        assert self.transport is not None
        front = self.ex.front
        if front.closed or front.transport is None:
            self.transport.loseConnection()
            return
        self.transport.write(self.head_bytes + self.ex.early_data)
        self.ex.early_data = b""
        self.ex.status = 101
        self.ex.response_started = True
        front.transport.registerProducer(self.transport, True)  # type: ignore[attr-defined]
        self.transport.registerProducer(front.transport, True)  # type: ignore[attr-defined]
        front.start_tunnel(self)

    def dataReceived(self, data: bytes) -> None:
        if not self.status_seen:
            self.status_seen = True
            parts = data.split(b" ", 2)
            if len(parts) > 1 and parts[1].isdigit():
                self.ex.status = int(parts[1])
        self.ex.bytes_sent += len(data)
        front = self.ex.front
        if front.transport is not None:
            front.transport.write(data)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        front = self.ex.front
        if front.transport is not None and not front.closed:
            front.transport.loseConnection()
        self.closed()


class _Factory(Factory):
    noisy = False

    def __init__(self, proto: TunnelUpstream) -> None:
        self.proto = proto

    def buildProtocol(self, addr: object) -> TunnelUpstream:
        return self.proto


log = Logger()


def open_tunnel(
    reactor: IReactorTCP, ex: Exchange, key: Key, head_bytes: bytes, closed: Callable[[], None]
) -> None:
    """Connect to ``key`` and splice the client's connection to it."""
    ex.kind = "websocket"
    finished = False

    def close_once() -> None:
        nonlocal finished
        if not finished:
            finished = True
            ex.response_complete = True
            closed()

    proto = TunnelUpstream(ex, head_bytes, close_once)
    endpoint = client_endpoint(reactor, key, 5.0)

    def failed(reason: Failure) -> None:
        log.warn("cannot open tunnel to {key}: {reason}", key=key, reason=reason.value)
        ex.keep_alive = False
        if not ex.gone:
            ex.reply(BAD_GATEWAY)
        close_once()

    endpoint.connect(_Factory(proto)).addErrback(failed)
