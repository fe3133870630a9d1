"""The WebSocket hub: turbo_cable's JSON protocol over Autobahn, fed by the bus.

Client → server: ``subscribe`` (answered ``subscribed`` or ``rejected``),
``unsubscribe``, ``pong``; server → client: ``message``, ``ping`` (every
:data:`PING_INTERVAL` s).  A connection that sent no pong (JSON or a WebSocket
pong frame) for :data:`PONG_DEADLINE` s is dropped.  Invalid JSON, binary
frames and unknown types are ignored; a frame or message over
:data:`MAX_FRAME` bytes closes the connection with 1009.

The hub does not listen: the router hands it connections it has parsed
(:meth:`Hub.connection`), so it shares the router's port and survives
reloads.  :class:`Hub` keeps the subscription registry: the bus subscribes to
a stream when its first local subscriber arrives and unsubscribes after the
last leaves.  ``subscribed`` is sent once the bus has confirmed (at once
while Redis is down: the bus re-issues it on reconnect), so whatever is
published after a client saw it reaches that client.  A message from the
bus is framed once and queued to each subscriber; beyond what the socket
buffers, each connection holds at most :data:`QUEUE_LIMIT` messages, and
drops the overflow without telling the client (it resyncs by reloading).
Connections are not tracked as tenant WebSockets: they need no tenant
process.  Origins are not checked.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from typing import Any, cast

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket.protocol import PreparedMessage, WebSocketProtocol
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IConsumer, IDelayedCall, IPushProducer, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from showcase.router.sending import send_now

from .bus import IBus
from .streams import Scope

PING_INTERVAL = 30.0
PONG_DEADLINE = 60.0
QUEUE_LIMIT = 256
MAX_FRAME = 128 * 1024
MAX_SUBSCRIPTIONS = 100
CLOSE_TIMEOUT = 5.0  # Autobahn's 1 s default gave unclean closes under load
TOO_MANY = "too many subscriptions"

Closed = Callable[[bool], None]
"""Called once when a connection ends, with whether its handshake succeeded."""

log = Logger()


def _encode(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def message_frame(stream: str, payload: bytes) -> bytes:
    """The ``message`` JSON for ``payload`` (JSON text; anything else is sent as a string)."""
    try:
        json.loads(payload)
        data = payload
    except ValueError:  # UnicodeDecodeError is one
        data = _encode(payload.decode("utf-8", "replace"))
    return b'{"type":"message","stream":%s,"data":%s}' % (_encode(stream), data)


@implementer(IPushProducer)
class Outbox:
    """One connection's messages beyond its socket buffer: at most ``limit``, the rest dropped.

    Registered as the transport's streaming producer: the transport pauses it
    when its buffer is full and resumes it once drained.
    """

    def __init__(self, protocol: CableProtocol, limit: int) -> None:
        self.protocol = protocol
        self.limit = limit
        self.paused = False
        self.queue: deque[PreparedMessage] | None = None  # made when first needed (memory)
        self.dropped = 0

    def send(self, message: PreparedMessage) -> None:
        if self.paused or self.queue:
            if self.queue is None:
                self.queue = deque()
            if len(self.queue) >= self.limit:
                if not self.dropped:
                    log.info("cable client {peer} is slow; dropping", peer=self.protocol.peer)
                self.dropped += 1
                return
            self.queue.append(message)
            return
        self.protocol.cable_write(message)

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        self.paused = False
        while self.queue and not self.paused:
            self.protocol.cable_write(self.queue.popleft())

    def stopProducing(self) -> None:
        self.paused = True
        self.queue = None


class CableProtocol(WebSocketServerProtocol):
    """One client connection.  Per-connection names carry a ``cable_`` prefix
    (Autobahn's protocol has many attributes of its own)."""

    hub: Hub

    def __init__(self) -> None:
        super().__init__()
        self.cable_scope = Scope()
        self.cable_streams: set[str] = set()
        self.cable_closed: Closed | None = None
        self.cable_opened = False
        self.cable_outbox = Outbox(self, QUEUE_LIMIT)
        self._cable_timer: IDelayedCall | None = None
        self._cable_last_pong = 0.0
        self._cable_next_ping = 0.0

    # -- Autobahn's callbacks ------------------------------------------------------------

    def onConnect(self, request: Any) -> None:
        return None  # accept; no subprotocol

    def onOpen(self) -> None:
        self.cable_opened = True
        hub = self.hub
        self.cable_outbox.limit = hub.queue_limit
        cast(IConsumer, self.transport).registerProducer(self.cable_outbox, True)
        now = hub.clock.seconds()
        self._cable_last_pong = now
        self._cable_next_ping = now + hub.ping_interval
        self._cable_schedule()
        hub.opened(self)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        if isBinary:
            return
        try:
            message = json.loads(payload)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        kind, stream = message.get("type"), message.get("stream")
        if kind == "pong":
            self._cable_last_pong = self.hub.clock.seconds()
        elif kind == "subscribe" and isinstance(stream, str):
            self.hub.subscribe(self, stream)
        elif kind == "unsubscribe" and isinstance(stream, str):
            self.hub.unsubscribe(self, stream)

    def onPong(self, payload: bytes) -> None:
        self._cable_last_pong = self.hub.clock.seconds()

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        timer, self._cable_timer = self._cable_timer, None
        if timer is not None and timer.active():
            timer.cancel()
        self.cable_outbox.stopProducing()
        self.hub.forget(self)
        closed, self.cable_closed = self.cable_closed, None
        if closed is not None:
            closed(self.cable_opened)

    def unregisterProducer(self) -> None:
        # Autobahn calls this whenever it drops a connection; the only producer ever
        # registered is the outbox, from onOpen (some transports refuse to unregister none).
        if self.cable_opened:
            super().unregisterProducer()

    # -- sending -------------------------------------------------------------------------

    def cable_send(self, message: PreparedMessage) -> None:
        if self.state == WebSocketProtocol.STATE_OPEN:
            self.cable_outbox.send(message)

    def cable_write(self, message: PreparedMessage) -> None:
        if self.state != WebSocketProtocol.STATE_OPEN:
            return
        if self._perMessageCompress is not None:
            self.sendPreparedMessage(message)
            return
        # What sendPreparedMessage does without compression (never negotiated here),
        # minus its per-call debug formatting (40 % of a fan-out's time, measured), and
        # sent at once when nothing is queued (the router's own fast path).
        data = message.payloadHybi
        send_now(self.transport, data)
        self.trafficStats.outgoingOctetsWireLevel += len(data)

    # -- ping and deadline: one timer, due at the next ping or the deadline ----------------

    def _cable_schedule(self) -> None:
        hub = self.hub
        due = min(self._cable_next_ping, self._cable_last_pong + hub.pong_deadline)
        self._cable_timer = hub.clock.callLater(
            max(0.0, due - hub.clock.seconds()), self._cable_tick
        )

    def _cable_tick(self) -> None:
        self._cable_timer = None
        hub = self.hub
        now = hub.clock.seconds()
        if now - self._cable_last_pong >= hub.pong_deadline:
            idle = now - self._cable_last_pong
            log.info("cable client {peer}: no pong for {s:g}s; closing", peer=self.peer, s=idle)
            self.dropConnection(abort=True)
            return
        if now >= self._cable_next_ping:
            self.cable_send(hub.ping)
            self._cable_next_ping = now + hub.ping_interval
        self._cable_schedule()


class CableFactory(WebSocketServerFactory):
    protocol = CableProtocol

    def __init__(self, hub: Hub, reactor: Any) -> None:
        super().__init__(server="showcase", reactor=reactor)
        self.hub = hub

    def buildProtocol(self, addr: object) -> CableProtocol:
        proto = CableProtocol()
        proto.factory = self
        proto.hub = self.hub
        return proto


class Hub:
    """The registry of cable connections and their subscriptions, over one bus."""

    def __init__(
        self,
        clock: IReactorTime,
        bus: IBus,
        *,
        ping_interval: float = PING_INTERVAL,
        pong_deadline: float = PONG_DEADLINE,
        queue_limit: int = QUEUE_LIMIT,
        max_frame: int = MAX_FRAME,
        max_subscriptions: int = MAX_SUBSCRIPTIONS,
    ) -> None:
        self.clock = clock
        self.bus = bus
        self.ping_interval = ping_interval
        self.pong_deadline = pong_deadline
        self.queue_limit = queue_limit
        self.max_subscriptions = max_subscriptions
        self.factory = CableFactory(self, clock)
        self.factory.setProtocolOptions(
            maxFramePayloadSize=max_frame,
            maxMessagePayloadSize=max_frame,
            closeHandshakeTimeout=CLOSE_TIMEOUT,
            openHandshakeTimeout=0,  # the router's header timeout already bounds the head
            failByDrop=False,  # an oversized frame closes with 1009, not a bare TCP drop
        )
        self.ping = self.factory.prepareMessage(b'{"type":"ping"}')
        self.connections: set[CableProtocol] = set()
        self._subscribers: dict[str, set[CableProtocol]] = {}
        self._confirming: dict[str, list[CableProtocol]] = {}  # bus subscribe in flight
        bus.receiver = self.deliver

    def connection(self, scope: Scope, closed: Closed | None = None) -> CableProtocol:
        """A protocol for a new client connection, limited to ``scope``."""
        proto = self.factory.buildProtocol(None)
        proto.cable_scope = scope
        proto.cable_closed = closed
        return proto

    def opened(self, conn: CableProtocol) -> None:
        self.connections.add(conn)

    # -- subscriptions -------------------------------------------------------------------

    def subscribe(self, conn: CableProtocol, stream: str) -> None:
        reason = conn.cable_scope.refusal(stream)
        full = len(conn.cable_streams) >= self.max_subscriptions
        if reason is None and full and stream not in conn.cable_streams:
            reason = TOO_MANY
        if reason is not None:
            conn.cable_send(self._reply({"type": "rejected", "stream": stream, "reason": reason}))
            return
        if stream not in conn.cable_streams:
            conn.cable_streams.add(stream)
            local = self._subscribers.setdefault(stream, set())
            local.add(conn)
            if len(local) == 1:
                # "subscribed" waits for the bus: then a publish anywhere reaches this client.
                waiting = self._confirming[stream] = [conn]
                self.bus.subscribe(stream).addBoth(self._confirmed, stream, waiting)
                return
        pending = self._confirming.get(stream)
        if pending is not None:
            pending.append(conn)
        else:
            conn.cable_send(self._subscribed(stream))

    def _confirmed(self, result: object, stream: str, waiting: list[CableProtocol]) -> None:
        if isinstance(result, Failure):
            log.failure("cable bus subscribe {stream} failed", result, stream=stream)
        if self._confirming.get(stream) is waiting:
            del self._confirming[stream]
        message = self._subscribed(stream)
        for conn in waiting:
            if stream in conn.cable_streams:
                conn.cable_send(message)

    def unsubscribe(self, conn: CableProtocol, stream: str) -> None:
        if stream not in conn.cable_streams:
            return
        conn.cable_streams.discard(stream)
        local = self._subscribers.get(stream)
        if local is None:
            return
        local.discard(conn)
        if not local:
            del self._subscribers[stream]
            self.bus.unsubscribe(stream).addErrback(self._bus_failed, "unsubscribe", stream)

    def forget(self, conn: CableProtocol) -> None:
        """``conn`` has closed: drop its subscriptions."""
        self.connections.discard(conn)
        for stream in list(conn.cable_streams):
            self.unsubscribe(conn, stream)

    def subscriber_count(self, stream: str) -> int:
        return len(self._subscribers.get(stream, ()))

    # -- messages ------------------------------------------------------------------------

    def publish(self, stream: str, data: object) -> Deferred[int]:
        """Publish ``data`` (any JSON value) on ``stream`` through the bus."""
        return self.bus.publish(stream, _encode(data))

    def deliver(self, stream: str, payload: bytes) -> None:
        """A message from the bus: framed once, queued to every local subscriber."""
        local = self._subscribers.get(stream)
        if not local:
            return
        message = self.factory.prepareMessage(message_frame(stream, payload))
        for conn in list(local):
            conn.cable_send(message)

    def close_all(self, code: int = 1001, reason: bytes = b"server shutting down") -> None:
        """Start the closing handshake of every connection (1001: going away)."""
        for conn in list(self.connections):
            if conn.state == WebSocketProtocol.STATE_OPEN:
                # sendClose allows applications 1000 and 3000-4999 only; 1001 is ours to send.
                conn.sendCloseFrame(code=code, reasonUtf8=reason, isReply=False)

    def _reply(self, message: dict[str, str]) -> PreparedMessage:
        return self.factory.prepareMessage(_encode(message))

    def _subscribed(self, stream: str) -> PreparedMessage:
        return self._reply({"type": "subscribed", "stream": stream})

    def _bus_failed(self, failure: Failure, what: str, stream: str) -> None:
        log.failure("cable bus {what} {stream} failed", failure, what=what, stream=stream)
