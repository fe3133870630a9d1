"""Readiness signals: the ready line, the health poller and the raw HTTP probe."""

from __future__ import annotations

from typing import Any

import pytest
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure

from showcase.tenants.readiness import (
    POLL_INTERVAL,
    PROBE_TIMEOUT,
    HealthPoller,
    TenantProcessProtocol,
    http_probe,
    is_ready_line,
)


@pytest.mark.parametrize(
    ("line", "ready"),
    [
        (b'{"ready": true, "port": 4000}', True),
        (b'  {"ready":true}\r', True),
        (b'{"ready": false}', False),
        (b'{"ready": "yes"}', False),
        (b'{"ready": 1}', False),
        (b"[true]", False),
        (b"ready", False),
        (b'{"ready": tru', False),
        (b"", False),
    ],
)
def test_ready_line(line: bytes, ready: bool) -> None:
    """Only a JSON object whose "ready" is true counts as the ready line."""
    assert is_ready_line(line) is ready


def make_protocol() -> tuple[TenantProcessProtocol, list[Any]]:
    events: list[Any] = []
    protocol = TenantProcessProtocol(
        "t",
        lambda *args: events.append(args),
        lambda: events.append("ready"),
        lambda: events.append("exited"),
        lambda reason: events.append("ended"),
    )
    return protocol, events


def test_ready_line_is_reported_once() -> None:
    """The first ready line is reported once; later ones are just output."""
    protocol, events = make_protocol()
    protocol.childDataReceived(1, b'log\n{"ready": true}\n{"ready": true}\n')
    protocol.childDataReceived(1, b'{"ready": true}\n')
    assert events.count("ready") == 1


def test_overlong_line_is_dropped_not_buffered() -> None:
    """A huge line without newline does not grow the buffer without bound."""
    protocol, events = make_protocol()
    protocol.childDataReceived(1, b"x" * 200_000)
    protocol.childDataReceived(1, b'\n{"ready": true}\n')
    assert "ready" in events
    assert len(protocol._buffer) == 0


def test_exit_and_end_are_reported() -> None:
    """The reaping of the process and the end of its pipes are both reported."""
    protocol, events = make_protocol()
    protocol.processExited(Failure(Exception()))
    protocol.processEnded(Failure(Exception()))
    assert events == ["exited", "ended"]


def test_poller_waits_for_each_probe() -> None:
    """The next probe is sent one interval after the previous one answered, never overlapping."""
    clock = MemoryReactorClock()
    answers: list[Deferred[bool]] = []

    def probe(port: int, path: str) -> Deferred[bool]:
        answers.append(Deferred())
        return answers[-1]

    ready: list[bool] = []
    poller = HealthPoller(clock, probe, 4000, "/up", lambda: ready.append(True))
    poller.start()
    clock.advance(POLL_INTERVAL * 10)
    assert len(answers) == 1
    answers[0].callback(False)
    clock.advance(POLL_INTERVAL)
    assert len(answers) == 2
    answers[1].callback(True)
    assert ready == [True]
    clock.advance(1)
    assert len(answers) == 2


def test_poller_stop_cancels_the_probe() -> None:
    """Stopping the poller cancels the probe in flight and schedules no more."""
    clock = MemoryReactorClock()
    answers: list[Deferred[bool]] = []

    def probe(port: int, path: str) -> Deferred[bool]:
        answers.append(Deferred())
        return answers[-1]

    poller = HealthPoller(clock, probe, 4000, "/up", lambda: None)
    poller.start()
    poller.stop()
    assert answers[0].called
    clock.advance(1)
    assert len(answers) == 1


def connect(reactor: MemoryReactorClock) -> tuple[Any, StringTransport]:
    """Complete the probe's pending connection over a StringTransport."""
    host, port, _factory, _timeout, _bind = reactor.tcpClients[-1]
    assert (host, port) == ("127.0.0.1", 4000)
    factory: Any = _factory
    protocol = factory.buildProtocol(None)
    transport = StringTransport()
    protocol.makeConnection(transport)
    return protocol, transport


def result_of(d: Deferred[bool]) -> bool:
    results: list[bool] = []
    d.addCallback(results.append)
    assert results, "the probe did not answer"
    return results[0]


@pytest.mark.parametrize(("status", "ready"), [(200, True), (404, True), (499, True), (500, False)])
def test_probe_status(status: int, ready: bool) -> None:
    """Any status below 500 means ready; the connection is closed after the status line."""
    reactor = MemoryReactorClock()
    d = http_probe(reactor)(4000, "/up")
    protocol, transport = connect(reactor)
    request = transport.value()
    assert request.startswith(b"GET /up HTTP/1.1\r\n")
    assert b"Connection: close\r\n" in request
    protocol.dataReceived(f"HTTP/1.1 {status} Whatever\r\n".encode())
    assert result_of(d) is ready
    assert transport.disconnecting or transport.disconnected


def test_probe_garbage_is_not_ready() -> None:
    """An answer that is not HTTP is not ready."""
    reactor = MemoryReactorClock()
    d = http_probe(reactor)(4000, "/up")
    protocol, _ = connect(reactor)
    protocol.dataReceived(b"SSH-2.0-OpenSSH\r\n")
    assert result_of(d) is False


def test_probe_refused_is_not_ready() -> None:
    """A refused connection (nothing listens yet) is not ready."""
    reactor = MemoryReactorClock()
    d = http_probe(reactor)(4000, "/up")
    factory: Any = reactor.tcpClients[-1][2]
    factory.clientConnectionFailed(None, Failure(ConnectionRefusedError()))
    assert result_of(d) is False


def test_probe_timeout_is_not_ready() -> None:
    """A server that accepts but never answers is not ready after the probe timeout."""
    reactor = MemoryReactorClock()
    d = http_probe(reactor)(4000, "/up")
    _, transport = connect(reactor)
    reactor.advance(PROBE_TIMEOUT)
    assert result_of(d) is False
    assert transport.disconnected
