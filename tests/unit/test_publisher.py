"""The event app's publisher: PUBLISH cable:<stream> <JSON> to Redis, never in the way.

Driven over fakes: an endpoint whose connection attempts the test answers, a
``StringTransport`` as the socket, ``MemoryReactorClock`` for time (no sockets,
no sleeps).  The real redis-server is in tests/integration/test_publish_real.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone, ConnectionRefusedError
from twisted.internet.interfaces import IProtocolFactory, IStreamClientEndpoint
from twisted.internet.protocol import Protocol
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.logger import capturedLogs, formatEvent
from twisted.python.failure import Failure
from zope.interface import implementer

from showcase.event.publisher import (
    MAX_DELAY,
    MAX_IN_FLIGHT,
    REPORT_EVERY,
    LinkState,
    RedisPublisher,
    discard,
    encode_command,
    make_publisher,
)


class Socket(StringTransport):
    """A StringTransport that knows its protocol (to feed it answers or lose it)."""

    protocol: Protocol


@implementer(IStreamClientEndpoint)
class FakeEndpoint:
    """An endpoint whose connection attempts wait for the test to answer them."""

    def __init__(self) -> None:
        self.attempts: list[tuple[IProtocolFactory, Deferred[Any]]] = []

    def connect(self, factory: IProtocolFactory) -> Deferred[Any]:
        d: Deferred[Any] = Deferred()
        self.attempts.append((factory, d))
        return d

    def accept(self) -> Socket:
        """Answer the latest attempt with a connection; its transport."""
        factory, d = self.attempts[-1]
        protocol: Any = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 6379))
        assert protocol is not None
        transport = Socket()
        transport.protocol = protocol
        protocol.makeConnection(transport)
        d.callback(protocol)
        return transport

    def refuse(self) -> None:
        self.attempts[-1][1].errback(Failure(ConnectionRefusedError()))


HELLO = encode_command(b"CLIENT", b"SETNAME", b"showcase-event:2026-test")


def publish_bytes(stream: str, data: object) -> bytes:
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return encode_command(b"PUBLISH", b"cable:" + stream.encode(), payload)


def messages(logs: Sequence[Mapping[str, Any]]) -> list[str]:
    return [formatEvent(dict(event)) for event in logs]


@pytest.fixture
def clock() -> MemoryReactorClock:
    return MemoryReactorClock()


@pytest.fixture
def endpoint() -> FakeEndpoint:
    return FakeEndpoint()


def started(clock: MemoryReactorClock, endpoint: FakeEndpoint, **kwargs: Any) -> RedisPublisher:
    publisher = RedisPublisher(
        clock, endpoint, "unix:///tmp/redis.sock", name="2026-test", **kwargs
    )
    publisher.start()
    return publisher


def lose(transport: Socket) -> None:
    transport.protocol.connectionLost(Failure(ConnectionDone()))


def test_without_a_url_publishing_does_nothing(clock: MemoryReactorClock) -> None:
    """With no SHOWCASE_REDIS the publisher is a no-op and nothing connects."""
    for url in (None, ""):
        publish = make_publisher(url, clock, "2026-test")
        assert publish is discard
        publish("live-scores-2026-test", "<turbo-stream></turbo-stream>")
    assert clock.unixClients == [] and clock.tcpClients == []


def test_an_unusable_url_leaves_live_updates_off(clock: MemoryReactorClock) -> None:
    """A URL that is not a Redis URL is logged as an error; the event runs without updates."""
    with capturedLogs() as logs:
        publish = make_publisher("http://example.com/", clock, "2026-test")
    assert publish is discard
    assert any("live updates off" in m for m in messages(logs))


def test_a_unix_url_connects_to_the_socket_and_stops_at_shutdown(
    clock: MemoryReactorClock,
) -> None:
    """``unix:///path`` connects to that socket; the publisher stops before reactor shutdown."""
    publish = make_publisher("unix:///run/showcase/redis.sock", clock, "2026-test")
    assert isinstance(publish, RedisPublisher)
    assert [c[0] for c in clock.unixClients] == ["/run/showcase/redis.sock"]
    assert clock.triggers["before"]["shutdown"] == [(publish.stop, (), {})]


def test_a_message_is_published_as_json_on_its_cable_channel(
    clock: MemoryReactorClock, endpoint: FakeEndpoint
) -> None:
    """``publish(stream, data)`` writes ``PUBLISH cable:<stream> <JSON text of data>``."""
    publisher = started(clock, endpoint)
    transport = endpoint.accept()
    assert publisher.state is LinkState.UP
    stream = '<turbo-stream action="replace" target="current-heat">Tänzer</turbo-stream>'
    publisher("current-heat-2026-test", stream)
    publisher("config_update_2026-test_1", {"status": "completed", "progress": 100})
    assert transport.value() == HELLO + publish_bytes(
        "current-heat-2026-test", stream
    ) + publish_bytes("config_update_2026-test_1", {"status": "completed", "progress": 100})
    assert transport.value()[len(HELLO) :].startswith(
        b"*3\r\n$7\r\nPUBLISH\r\n$28\r\ncable:current-heat-2026-test"
    )


def test_a_password_is_sent_with_auth_first(
    clock: MemoryReactorClock, endpoint: FakeEndpoint
) -> None:
    """With a password in the URL, AUTH [user] password comes first, then the client's
    name (showcase-event:<db>, for CLIENT LIST), then the publishes."""
    publisher = started(clock, endpoint, password="s3cret", username="events")
    transport = endpoint.accept()
    publisher("live-scores-2026-test", "x")
    auth = encode_command(b"AUTH", b"events", b"s3cret")
    assert transport.value() == auth + HELLO + publish_bytes("live-scores-2026-test", "x")


def test_while_redis_is_unreachable_messages_are_dropped_and_reported_now_and_then(
    clock: MemoryReactorClock, endpoint: FakeEndpoint
) -> None:
    """Down: publish returns at once without raising, and one warning per period counts drops."""
    publisher = started(clock, endpoint)
    with capturedLogs() as logs:
        endpoint.refuse()
        for _ in range(5):
            publisher("live-scores-2026-test", "x")
        clock.advance(REPORT_EVERY / 2)
        publisher("live-scores-2026-test", "x")
    assert publisher.dropped == 6
    assert len(logs) == 1 and "live updates paused" in messages(logs)[0]
    with capturedLogs() as logs:
        clock.advance(REPORT_EVERY / 2)
        publisher("live-scores-2026-test", "x")
    assert len(logs) == 1 and "(7 message(s) dropped so far)" in messages(logs)[0]


def test_reconnects_with_backoff_until_redis_answers(
    clock: MemoryReactorClock, endpoint: FakeEndpoint
) -> None:
    """Failed attempts are retried after 0.1 s, doubling up to 3 s; then messages flow."""
    publisher = started(clock, endpoint)
    delays = []
    for _ in range(8):
        endpoint.refuse()
        assert publisher.state is LinkState.BACKING_OFF
        pending = clock.getDelayedCalls()
        assert len(pending) == 1
        delays.append(round(pending[0].getTime() - clock.seconds(), 3))
        clock.advance(pending[0].getTime() - clock.seconds())
        assert publisher.state is LinkState.CONNECTING
    assert delays == [0.1, 0.2, 0.4, 0.8, 1.6, MAX_DELAY, MAX_DELAY, MAX_DELAY]
    assert len(endpoint.attempts) == 9
    transport = endpoint.accept()
    publisher("current-heat-2026-test", "5")
    assert transport.value() == HELLO + publish_bytes("current-heat-2026-test", "5")


def test_a_lost_connection_is_reopened_and_publishing_resumes(
    clock: MemoryReactorClock, endpoint: FakeEndpoint
) -> None:
    """Redis restarting: the publisher reconnects after 0.1 s; later messages get through."""
    publisher = started(clock, endpoint)
    lose(endpoint.accept())
    assert publisher.state is LinkState.BACKING_OFF
    publisher("live-scores-2026-test", "lost")
    clock.advance(0.1)
    with capturedLogs() as logs:
        transport = endpoint.accept()
    assert "live updates reconnected" in messages(logs)[0]
    assert "(1 dropped while away)" in messages(logs)[0]
    publisher("live-scores-2026-test", "back")
    assert transport.value() == HELLO + publish_bytes("live-scores-2026-test", "back")


def test_a_redis_that_stops_answering_is_not_buffered_without_end(
    clock: MemoryReactorClock, endpoint: FakeEndpoint
) -> None:
    """Beyond MAX_IN_FLIGHT unanswered commands, messages are dropped; answers free room."""
    publisher = started(clock, endpoint)
    transport = endpoint.accept()
    transport.protocol.dataReceived(b"+OK\r\n")  # CLIENT SETNAME answered
    for _ in range(MAX_IN_FLIGHT + 5):
        publisher("live-scores-2026-test", "x")
    assert publisher.dropped == 5
    transport.protocol.dataReceived(b":1\r\n:0\r\n")
    transport.clear()
    publisher("live-scores-2026-test", "y")
    publisher("live-scores-2026-test", "z")
    publisher("live-scores-2026-test", "dropped")
    assert transport.value() == publish_bytes("live-scores-2026-test", "y") + publish_bytes(
        "live-scores-2026-test", "z"
    )


def test_an_error_answer_is_logged(clock: MemoryReactorClock, endpoint: FakeEndpoint) -> None:
    """A refused command (a wrong password, say) is logged, rate-limited like the drops."""
    publisher = started(clock, endpoint, password="wrong")
    transport = endpoint.accept()
    publisher("live-scores-2026-test", "x")
    with capturedLogs() as logs:
        transport.protocol.dataReceived(b"-WRONGPASS invalid password\r\n-NOAUTH needed\r\n")
    assert len(logs) == 1
    assert "refused a command: WRONGPASS invalid password" in messages(logs)[0]


def test_data_that_is_not_json_is_logged_not_raised(
    clock: MemoryReactorClock, endpoint: FakeEndpoint
) -> None:
    """A publish never raises into the request, even for data JSON cannot encode."""
    publisher = started(clock, endpoint)
    transport = endpoint.accept()
    with capturedLogs() as logs:
        publisher("live-scores-2026-test", {1, 2})
    assert transport.value() == HELLO
    assert any("publishing live-scores-2026-test" in m for m in messages(logs))


def test_stop_closes_and_stops_reconnecting(
    clock: MemoryReactorClock, endpoint: FakeEndpoint
) -> None:
    """After stop the connection is closed, no retry is pending, and publish drops quietly."""
    publisher = started(clock, endpoint)
    transport = endpoint.accept()
    transport.clear()
    publisher.stop()
    assert transport.disconnecting
    lose(transport)
    assert publisher.state is LinkState.STOPPED
    assert clock.getDelayedCalls() == []
    publisher("live-scores-2026-test", "x")
    assert transport.value() == b""
    assert len(endpoint.attempts) == 1


def test_stop_while_backing_off_cancels_the_retry(
    clock: MemoryReactorClock, endpoint: FakeEndpoint
) -> None:
    """Stopping between two attempts cancels the next one."""
    publisher = started(clock, endpoint)
    endpoint.refuse()
    publisher.stop()
    assert clock.getDelayedCalls() == []
    clock.advance(MAX_DELAY)
    assert len(endpoint.attempts) == 1
