"""One behaviour suite for every :class:`~showcase.cable.bus.IBus`.

``tests/unit/test_bus.py`` runs it against :class:`MemoryBus` and
``tests/integration/test_bus_redis.py`` against :class:`RedisBus` on a real
redis-server: a subclass of :class:`BusBehaviour` provides a ``backend``
fixture (a :class:`Backend`).  Every wait is on a Deferred: a message, a
confirmation, the link going up or down; nothing sleeps.
"""

from __future__ import annotations

from typing import Protocol

import pytest
import pytest_twisted
from twisted.internet.defer import Deferred, DeferredQueue
from zope.interface.verify import verifyObject

from showcase.cable.bus import BusUnavailable, IBus, LinkState


class Backend(Protocol):
    """A bus server (one Redis, or one in-memory broker) and buses on it."""

    def new_bus(self) -> IBus:
        """A started bus on this server (stopped by the fixture)."""

    async def outage(self) -> None:
        """The server goes away; returns once every bus has noticed."""

    async def restore(self) -> None:
        """The server is back (the buses reconnect on their own)."""


class Inbox:
    """The messages one bus received, awaited in order."""

    def __init__(self, bus: IBus) -> None:
        self.queue: DeferredQueue[tuple[str, bytes]] = DeferredQueue()
        bus.receiver = lambda stream, payload: self.queue.put((stream, payload))

    def next(self) -> Deferred[tuple[str, bytes]]:
        return self.queue.get()

    def pending(self) -> int:
        return len(self.queue.pending)


async def up(*buses: IBus) -> None:
    for bus in buses:
        await bus.when_up()


class BusBehaviour:
    """The behaviour every bus has; subclasses give the ``backend`` fixture."""

    def test_provides_the_interface(self, backend: Backend) -> None:
        """A bus provides IBus completely (the twin and the real one alike)."""
        assert verifyObject(IBus, backend.new_bus())

    @pytest_twisted.ensureDeferred
    async def test_a_message_reaches_a_subscriber_on_another_bus(self, backend: Backend) -> None:
        """A message published on one bus reaches a bus subscribed to its stream (two routers)."""
        publisher, subscriber = backend.new_bus(), backend.new_bus()
        inbox = Inbox(subscriber)
        await up(publisher, subscriber)
        await subscriber.subscribe("current-heat-2025-boston")
        receivers = await publisher.publish("current-heat-2025-boston", b'"<turbo-stream>"')
        assert receivers == 1
        assert await inbox.next() == ("current-heat-2025-boston", b'"<turbo-stream>"')

    @pytest_twisted.ensureDeferred
    async def test_a_bus_receives_what_it_publishes_itself(self, backend: Backend) -> None:
        """A bus subscribed to a stream receives its own publications (one router alone)."""
        bus = backend.new_bus()
        inbox = Inbox(bus)
        await up(bus)
        await bus.subscribe("live-scores-2025-boston")
        assert await bus.publish("live-scores-2025-boston", b"{}") == 1
        assert await inbox.next() == ("live-scores-2025-boston", b"{}")

    @pytest_twisted.ensureDeferred
    async def test_only_subscribed_streams_arrive(self, backend: Backend) -> None:
        """A message on a stream nobody subscribed to reaches nobody."""
        publisher, subscriber = backend.new_bus(), backend.new_bus()
        inbox = Inbox(subscriber)
        await up(publisher, subscriber)
        await subscriber.subscribe("wanted")
        assert await publisher.publish("unwanted", b"1") == 0
        await publisher.publish("wanted", b"2")
        assert await inbox.next() == ("wanted", b"2")

    @pytest_twisted.ensureDeferred
    async def test_unsubscribe_stops_delivery(self, backend: Backend) -> None:
        """Once an unsubscribe is confirmed, the stream's messages no longer arrive."""
        publisher, subscriber = backend.new_bus(), backend.new_bus()
        inbox = Inbox(subscriber)
        await up(publisher, subscriber)
        await subscriber.subscribe("gone")
        await subscriber.unsubscribe("gone")
        await subscriber.subscribe("marker")
        assert await publisher.publish("gone", b"1") == 0
        await publisher.publish("marker", b"2")
        assert await inbox.next() == ("marker", b"2")
        assert subscriber.subscriptions() == frozenset({"marker"})

    @pytest_twisted.ensureDeferred
    async def test_payload_bytes_arrive_unchanged(self, backend: Backend) -> None:
        """Payloads arrive byte for byte: UTF-8 text, number-like text, an empty payload."""
        bus = backend.new_bus()
        inbox = Inbox(bus)
        await up(bus)
        await bus.subscribe("s")
        payloads = ['"Zoë: Cha Cha ♪"'.encode(), b"42", b"3.50", b""]
        for payload in payloads:
            await bus.publish("s", payload)
        assert [(await inbox.next())[1] for _ in payloads] == payloads

    @pytest_twisted.ensureDeferred
    async def test_publish_fails_while_the_server_is_down(self, backend: Backend) -> None:
        """While its server is gone a bus says so: publish fails with BusUnavailable."""
        bus = backend.new_bus()
        await up(bus)
        await backend.outage()
        assert bus.state is LinkState.DOWN
        with pytest.raises(BusUnavailable):
            await bus.publish("s", b"1")

    @pytest_twisted.ensureDeferred
    async def test_subscriptions_are_restored_after_an_outage(self, backend: Backend) -> None:
        """After the server comes back the bus re-subscribes by itself and messages flow."""
        publisher, subscriber = backend.new_bus(), backend.new_bus()
        inbox = Inbox(subscriber)
        await up(publisher, subscriber)
        await subscriber.subscribe("current-heat-2025-boston")
        await backend.outage()
        await backend.restore()
        await up(publisher, subscriber)
        assert await publisher.publish("current-heat-2025-boston", b"7") == 1
        assert await inbox.next() == ("current-heat-2025-boston", b"7")

    @pytest_twisted.ensureDeferred
    async def test_a_subscription_made_while_down_is_issued_on_reconnect(
        self, backend: Backend
    ) -> None:
        """A stream subscribed while the server is gone is subscribed once it is back."""
        publisher, subscriber = backend.new_bus(), backend.new_bus()
        inbox = Inbox(subscriber)
        await up(publisher, subscriber)
        await backend.outage()
        await subscriber.subscribe("late")
        assert subscriber.subscriptions() == frozenset({"late"})
        await backend.restore()
        await up(publisher, subscriber)
        await publisher.publish("late", b"8")
        assert await inbox.next() == ("late", b"8")

    @pytest_twisted.ensureDeferred
    async def test_a_stopped_bus_neither_publishes_nor_receives(self, backend: Backend) -> None:
        """After stop a bus is stopped for good: publish fails, nothing is delivered to it."""
        publisher, stopped, watcher = backend.new_bus(), backend.new_bus(), backend.new_bus()
        inbox, watched = Inbox(stopped), Inbox(watcher)
        await up(publisher, stopped, watcher)
        await stopped.subscribe("s")
        await watcher.subscribe("s")
        await stopped.stop()
        assert stopped.state is LinkState.STOPPED
        with pytest.raises(BusUnavailable):
            await stopped.publish("s", b"1")
        await publisher.publish("s", b"2")
        assert await watched.next() == ("s", b"2")
        assert inbox.pending() == 0
