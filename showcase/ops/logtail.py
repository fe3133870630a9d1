"""The browse page's live tail: a WebSocket at ``<root_path>/logs/tail`` (Autobahn).

The router hands the connection over after its Basic auth, as it does for the
cable hub.  Every line the sink stores afterwards that passes the
connection's filters (the browse page's query parameters) is sent as one text
frame holding the stored JSON line.  Nothing is read from the client.  While
the socket's buffer is full, lines are dropped and counted; the client is told
``{"dropped": N}`` once it drains.  Autobahn pings every
:data:`PING_INTERVAL` s to keep proxies from closing an idle tail.

Why not the cable hub: it relays Redis channels, and a logger instance needs
neither Redis nor the hub's tenant-scoped stream rules; the lines arrive in
this process, so a local fan-out is all a tail needs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket.protocol import WebSocketProtocol
from twisted.internet.interfaces import IConsumer, IPushProducer
from zope.interface import implementer

from .logbrowse import LineFilter

PING_INTERVAL = 30.0
MAX_FRAME = 64 * 1024

Closed = Callable[[bool], None]


@implementer(IPushProducer)
class _Flow:
    """Whether the socket takes more now (registered as the transport's producer)."""

    def __init__(self) -> None:
        self.paused = False

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        self.paused = False

    def stopProducing(self) -> None:
        self.paused = True


class TailProtocol(WebSocketServerProtocol):
    tails: Tails

    def __init__(self) -> None:
        super().__init__()
        self.tail_filter = LineFilter()
        self.tail_closed: Closed | None = None
        self.tail_opened = False
        self.tail_flow = _Flow()
        self.tail_dropped = 0

    def onConnect(self, request: Any) -> None:
        return None

    def onOpen(self) -> None:
        self.tail_opened = True
        cast(IConsumer, self.transport).registerProducer(self.tail_flow, True)
        self.tails.connections.add(self)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        return None

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        self.tails.connections.discard(self)
        self.tail_flow.stopProducing()
        closed, self.tail_closed = self.tail_closed, None
        if closed is not None:
            closed(self.tail_opened)

    def unregisterProducer(self) -> None:
        if self.tail_opened:  # only ever registered in onOpen
            super().unregisterProducer()

    def tail_send(self, lines: list[bytes]) -> None:
        if self.state != WebSocketProtocol.STATE_OPEN:
            return
        for line in lines:
            if self.tail_filter.match(line) is None:
                continue
            if self.tail_flow.paused:
                self.tail_dropped += 1
                continue
            if self.tail_dropped:
                notice = json.dumps({"dropped": self.tail_dropped}).encode()
                self.sendMessage(notice, isBinary=False)
                self.tail_dropped = 0
            self.sendMessage(line, isBinary=False)


class Tails:
    """The open tail connections and their factory."""

    def __init__(self, reactor: Any) -> None:
        self.connections: set[TailProtocol] = set()
        self.factory = WebSocketServerFactory(server="showcase", reactor=reactor)
        self.factory.setProtocolOptions(
            maxFramePayloadSize=MAX_FRAME,
            maxMessagePayloadSize=MAX_FRAME,
            autoPingInterval=PING_INTERVAL,
            autoPingTimeout=2 * PING_INTERVAL,
            openHandshakeTimeout=0,  # the router's header timeout bounds the head
            closeHandshakeTimeout=5.0,
        )

    def connection(self, found: LineFilter, closed: Closed | None = None) -> TailProtocol:
        proto = TailProtocol()
        proto.factory = self.factory
        proto.tails = self
        proto.tail_filter = found
        proto.tail_closed = closed
        return proto

    def send(self, lines: list[bytes]) -> None:
        """Lines just stored: to every connection whose filters they pass."""
        for conn in list(self.connections):
            conn.tail_send(lines)

    def close_all(self, code: int = 1001, reason: bytes = b"server shutting down") -> None:
        for conn in list(self.connections):
            if conn.state == WebSocketProtocol.STATE_OPEN:
                conn.sendCloseFrame(code=code, reasonUtf8=reason, isReply=False)
