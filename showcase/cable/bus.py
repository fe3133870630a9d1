"""The bus between hubs and publishers: :class:`IBus`, over Redis or in memory.

Channel ``cable:<stream>``; payload the JSON text of the published data.
Several router processes, and the event apps that publish, share one Redis.
:class:`RedisBus` is the real one (txredisapi, two connections: a subscriber
and a publisher); :class:`MemoryBus` is its in-memory twin for unit tests,
verified by the same behaviour suite (``tests/busbehaviour.py``).

The bus keeps the set of subscribed streams itself.  The link is a small
state machine:

    connecting --(both connections ready, every stream re-subscribed)--> up
    up --(a connection lost)--> down --(reconnected and re-subscribed)--> up
    any --(stop)--> stopped

While down, subscribe/unsubscribe only change the set (it is sent on
reconnect) and publish fails with :class:`BusUnavailable`.  txredisapi
reconnects each connection with backoff (0.1 s, times e, at most 3 s); the
subscriptions are re-issued from the subscriber's ``connectionMade``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

import txredisapi
from twisted.internet.defer import Deferred, fail, gatherResults, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import Attribute, Interface, implementer

from .redis_url import Target

CHANNEL_PREFIX = b"cable:"
INITIAL_DELAY = 0.1
MAX_DELAY = 3.0

Receiver = Callable[[str, bytes], None]
log = Logger()


class BusUnavailable(Exception):
    """The bus cannot take a message now (its server is unreachable)."""


class LinkState(enum.Enum):
    CONNECTING = "connecting"
    UP = "up"
    DOWN = "down"  # lost; reconnecting with backoff
    STOPPED = "stopped"


class IBus(Interface):
    """Publish/subscribe of cable streams between processes."""

    receiver = Attribute("receiver(stream, payload): called for each message of a subscription")
    state = Attribute("the link's LinkState")

    def start() -> None:
        """Connect, and keep reconnecting until stopped."""

    def stop() -> Deferred[None]:
        """Disconnect for good; fires once the connections are closed."""

    def subscribe(stream: str) -> Deferred[None]:
        """Receive ``stream``; fires once the server confirmed (at once while down)."""

    def unsubscribe(stream: str) -> Deferred[None]:
        """Stop receiving ``stream``; fires once the server confirmed (at once while down)."""

    def subscriptions() -> frozenset[str]:
        """The streams subscribed (kept across reconnections)."""

    def publish(stream: str, payload: bytes) -> Deferred[int]:
        """Send ``payload`` to every subscriber of ``stream``: how many buses received it.

        Fails with :class:`BusUnavailable` while the bus is down.
        """

    def when_up() -> Deferred[None]:
        """Fires once the bus is up (at once if it is), subscriptions re-issued."""

    def when_down() -> Deferred[None]:
        """Fires once the bus has noticed it lost its server (at once if it is down)."""


def channel(stream: str) -> bytes:
    return CHANNEL_PREFIX + stream.encode("utf-8")


def stream_of(name: bytes | str) -> str | None:
    raw = name.encode("utf-8") if isinstance(name, str) else name
    if not raw.startswith(CHANNEL_PREFIX):
        return None
    return raw[len(CHANNEL_PREFIX) :].decode("utf-8", "replace")


class _Waiters:
    def __init__(self) -> None:
        self._waiting: list[Deferred[None]] = []

    def wait(self) -> Deferred[None]:
        d: Deferred[None] = Deferred()
        self._waiting.append(d)
        return d

    def fire(self) -> None:
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            d.callback(None)


class _Link:
    """The state and waiters both buses share."""

    def __init__(self) -> None:
        self.receiver: Receiver = lambda stream, payload: None
        self.state = LinkState.STOPPED
        self._streams: set[str] = set()
        self._up = _Waiters()
        self._down = _Waiters()

    def subscriptions(self) -> frozenset[str]:
        return frozenset(self._streams)

    def when_up(self) -> Deferred[None]:
        return succeed(None) if self.state is LinkState.UP else self._up.wait()

    def when_down(self) -> Deferred[None]:
        if self.state in (LinkState.DOWN, LinkState.STOPPED):
            return succeed(None)
        return self._down.wait()

    def _set_state(self, state: LinkState) -> None:
        self.state = state
        if state is LinkState.UP:
            self._up.fire()
        elif state in (LinkState.DOWN, LinkState.STOPPED):
            self._down.fire()


# -- in memory -----------------------------------------------------------------------------


class MemoryBroker:
    """The server :class:`MemoryBus` instances share (what one Redis is to RedisBus)."""

    def __init__(self) -> None:
        self.running = True
        self._buses: list[MemoryBus] = []

    def attach(self, bus: MemoryBus) -> None:
        self._buses.append(bus)

    def detach(self, bus: MemoryBus) -> None:
        if bus in self._buses:
            self._buses.remove(bus)

    def publish(self, stream: str, payload: bytes) -> int:
        receivers = [bus for bus in self._buses if bus.listening_to(stream)]
        for bus in receivers:
            bus.receiver(stream, payload)
        return len(receivers)

    def go_down(self) -> None:
        """The server goes away: every attached bus loses its connection."""
        self.running = False
        for bus in list(self._buses):
            bus.lost()

    def come_back(self) -> None:
        """The server is back: every bus reconnects and re-subscribes."""
        self.running = True
        for bus in list(self._buses):
            bus.connect()


@implementer(IBus)
class MemoryBus(_Link):
    """An in-process bus on a :class:`MemoryBroker`; delivery is synchronous."""

    def __init__(self, broker: MemoryBroker | None = None) -> None:
        super().__init__()
        self.broker = broker if broker is not None else MemoryBroker()
        self._server_side: set[str] = set()  # what the broker believes we subscribed

    def start(self) -> None:
        self._set_state(LinkState.CONNECTING)
        self.broker.attach(self)
        self.connect()

    def stop(self) -> Deferred[None]:
        self.broker.detach(self)
        self._server_side.clear()
        self._set_state(LinkState.STOPPED)
        return succeed(None)

    def subscribe(self, stream: str) -> Deferred[None]:
        self._streams.add(stream)
        if self.state is LinkState.UP:
            self._server_side.add(stream)
        return succeed(None)

    def unsubscribe(self, stream: str) -> Deferred[None]:
        self._streams.discard(stream)
        self._server_side.discard(stream)
        return succeed(None)

    def publish(self, stream: str, payload: bytes) -> Deferred[int]:
        if self.state is not LinkState.UP:
            return fail(BusUnavailable("the in-memory broker is down"))
        return succeed(self.broker.publish(stream, payload))

    # -- driven by the broker ----------------------------------------------------------

    def listening_to(self, stream: str) -> bool:
        return self.state is LinkState.UP and stream in self._server_side

    def connect(self) -> None:
        if self.state is LinkState.STOPPED:
            return
        if not self.broker.running:
            self._set_state(LinkState.DOWN)
            return
        self._server_side = set(self._streams)
        self._set_state(LinkState.UP)

    def lost(self) -> None:
        if self.state is not LinkState.STOPPED:
            self._server_side.clear()
            self._set_state(LinkState.DOWN)


# -- Redis -----------------------------------------------------------------------------------


class _Factory(txredisapi.RedisFactory):
    """One reconnecting connection (txredisapi's pool of one) owned by a :class:`RedisBus`."""

    def __init__(self, bus: RedisBus, protocol: type, target: Target) -> None:
        super().__init__(
            target.display,
            target.db,
            1,
            isLazy=True,
            charset=None,
            password=target.password,
            convertNumbers=False,
            username=target.username,
        )
        self.protocol = protocol
        self.bus = bus
        self.initialDelay = INITIAL_DELAY
        self.maxDelay = MAX_DELAY
        # Fails only when AUTH or SELECT is refused (then txredisapi stops trying).
        self.deferred.addErrback(bus.refused)


class _Subscriber(txredisapi.SubscriberProtocol):
    factory: _Factory

    def connectionMade(self) -> Any:
        # txredisapi re-subscribes nothing by itself: the bus re-issues its set
        # once this connection is usable (after AUTH / SELECT).
        self.whenConnected().addCallback(self.factory.bus.subscriber_ready)
        return super().connectionMade()

    def messageReceived(self, pattern: object, channel: bytes, message: bytes) -> None:
        self.factory.bus.message(channel, message)

    def connectionLost(self, why: Failure) -> None:
        super().connectionLost(why)
        self.factory.bus.connection_lost(self)


class _Publisher(txredisapi.RedisProtocol):
    factory: _Factory

    def connectionMade(self) -> Any:
        self.whenConnected().addCallback(self.factory.bus.publisher_ready)
        return super().connectionMade()

    def connectionLost(self, why: Failure) -> None:
        super().connectionLost(why)
        self.factory.bus.connection_lost(self)


@implementer(IBus)
class RedisBus(_Link):
    """Redis PUBLISH/SUBSCRIBE through txredisapi 1.6 (``factory.startConnecting``)."""

    def __init__(self, url: str, reactor: Any = None) -> None:
        super().__init__()
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        self.target = Target.parse(url)
        self._reactor = reactor
        self._factories: list[_Factory] = []
        self._subscriber: _Subscriber | None = None
        self._subscribed = False  # the set was re-issued on the current subscriber
        self._publisher: _Publisher | None = None
        self._ever_up = False

    def start(self) -> None:
        self._set_state(LinkState.CONNECTING)
        endpoint = self.target.endpoint(self._reactor)
        for protocol in (_Subscriber, _Publisher):
            factory = _Factory(self, protocol, self.target)
            self._factories.append(factory)
            factory.startConnecting(endpoint)

    def stop(self) -> Deferred[None]:
        self._set_state(LinkState.STOPPED)
        factories, self._factories = self._factories, []
        stopping = [factory.disconnect() for factory in factories]
        self._subscriber = self._publisher = None
        done: Deferred[Any] = gatherResults(stopping, consumeErrors=True)
        return done.addBoth(lambda _: None)

    def subscribe(self, stream: str) -> Deferred[None]:
        if stream in self._streams:
            return succeed(None)
        self._streams.add(stream)
        return self._command(b"SUBSCRIBE", stream)

    def unsubscribe(self, stream: str) -> Deferred[None]:
        if stream not in self._streams:
            return succeed(None)
        self._streams.discard(stream)
        return self._command(b"UNSUBSCRIBE", stream)

    def publish(self, stream: str, payload: bytes) -> Deferred[int]:
        conn = self._publisher
        if conn is None or self.state is not LinkState.UP:
            return fail(BusUnavailable(f"Redis at {self.target.display} is not connected"))
        try:
            sent: Deferred[int] = conn.execute_command(b"PUBLISH", channel(stream), payload)
        except txredisapi.ConnectionError as e:
            return fail(BusUnavailable(str(e)))

        def unavailable(failure: Failure) -> Failure:
            return Failure(BusUnavailable(str(failure.value)))

        return sent.addErrback(unavailable)

    # -- driven by the connections ---------------------------------------------------------

    def _command(self, verb: bytes, stream: str) -> Deferred[None]:
        conn = self._subscriber
        if conn is None:
            return succeed(None)  # sent with the whole set once reconnected
        try:
            d: Deferred[Any] = conn.execute_command(verb, channel(stream), apply_timeout=False)
        except txredisapi.ConnectionError:
            return succeed(None)
        return d.addCallbacks(lambda _: None, lambda _: None)  # a loss is handled as a loss

    def subscriber_ready(self, conn: _Subscriber) -> None:
        if self.state is LinkState.STOPPED:
            return
        self._subscriber, self._subscribed = conn, False
        issued = [self._command(b"SUBSCRIBE", stream) for stream in sorted(self._streams)]
        gatherResults(issued).addCallback(lambda _: self._resubscribed(conn))

    def _resubscribed(self, conn: _Subscriber) -> None:
        if conn is self._subscriber:
            self._subscribed = True
            self._maybe_up()

    def publisher_ready(self, conn: _Publisher) -> None:
        if self.state is not LinkState.STOPPED:
            self._publisher = conn
            self._maybe_up()

    def _maybe_up(self) -> None:
        if self._subscribed and self._publisher is not None and self.state is not LinkState.UP:
            log.info(
                "cable bus {again}connected to {url}",
                again="re" if self._ever_up else "",
                url=self.target.display,
            )
            self._ever_up = True
            self._set_state(LinkState.UP)

    def connection_lost(self, conn: object) -> None:
        if conn is self._subscriber:
            self._subscriber, self._subscribed = None, False
        elif conn is self._publisher:
            self._publisher = None
        else:
            return
        if self.state is LinkState.UP:
            log.warn(
                "cable bus lost {url}; clients stay connected, reconnecting",
                url=self.target.display,
            )
        if self.state in (LinkState.UP, LinkState.CONNECTING):
            self._set_state(LinkState.DOWN)

    def message(self, name: bytes, payload: bytes) -> None:
        stream = stream_of(name)
        if stream is not None and stream in self._streams:
            self.receiver(stream, payload)

    def refused(self, failure: Failure) -> None:
        log.error(
            "cable bus: Redis at {url} refused us: {e}", url=self.target.display, e=failure.value
        )
