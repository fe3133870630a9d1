"""The client side: :class:`FrontProtocol` with a real router, over fake wires.

Time is a ``MemoryReactorClock`` moved with ``advance``; a close from the
router is seen on the next reactor turn (``advance(0)``), as with TCP.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from routerfakes import RouterHarness, load

LIMITS = """
server:
  limits:
    max_body: 1K
    header_timeout: 10s
    idle_connection_timeout: 1m
    max_header_bytes: 1K
    max_uri_length: 1K
applications:
  tenants:
    - path: /a/
cable:
  enabled: false
"""
HEADER_TIMEOUT = 10.0
IDLE_TIMEOUT = 60.0

GET_A = b"GET /a/x HTTP/1.1\r\nHost: h\r\n\r\n"
GET_MISSING = b"GET /missing HTTP/1.1\r\nHost: h\r\n\r\n"
OK_ONE = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"


@pytest.fixture
def h(tmp_path: Path) -> RouterHarness:
    return RouterHarness(load(tmp_path, LIMITS))


# -- keep-alive and pipelining ---------------------------------------------------------------


def test_pipelined_requests_are_answered_in_order(h: RouterHarness) -> None:
    """A local answer to a second pipelined request waits for the proxied first one."""
    h.supervisor.make_ready("a")
    client = h.client()
    client.send(GET_A + GET_MISSING + b"GET /other HTTP/1.1\r\nHost: h\r\n\r\n")
    assert client.received() == b""
    assert client.paused
    h.upstream().reply(OK_ONE)
    answers = client.responses()
    assert [(r.status, r.body) for r in answers] == [
        (200, b"one"),
        (404, b"Not Found\n"),
        (404, b"Not Found\n"),
    ]
    assert not client.paused
    assert not client.closed


def test_pipelined_request_arriving_while_the_first_is_proxied_is_queued(
    h: RouterHarness,
) -> None:
    """A request sent before the previous answer comes is handled after it, on the same wire."""
    h.supervisor.make_ready("a")
    client = h.client()
    client.send(GET_A)
    upstream = h.upstream()
    client.send(GET_A)
    assert client.paused
    upstream.reply(OK_ONE)
    assert [r.body for r in client.responses()] == [b"one"]
    # The second request is sent when the first answer ends; the connection that carried
    # the first returns to the pool only after that, so the second may use a new one.
    second = h.upstream() if h.pending_connects() else upstream
    assert second.head()[0] == b"GET /a/x HTTP/1.1"
    second.reply(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo")
    assert [r.body for r in client.responses()] == [b"one", b"two"]


def test_http11_connection_stays_open(h: RouterHarness) -> None:
    """An HTTP/1.1 request without ``Connection: close`` leaves the connection open."""
    client = h.client()
    client.send(GET_MISSING)
    h.clock.advance(0)
    assert client.response().header(b"connection") is None
    assert not client.closed


def test_connection_close_is_honoured(h: RouterHarness) -> None:
    """``Connection: close`` gets ``Connection: close`` back and the connection is closed."""
    client = h.client()
    client.send(b"GET /missing HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    h.clock.advance(0)
    assert client.response().header(b"connection") == b"close"
    assert client.closed


def test_http10_closes_by_default(h: RouterHarness) -> None:
    """An HTTP/1.0 request without keep-alive is answered and the connection closed."""
    client = h.client()
    client.send(b"GET /missing HTTP/1.0\r\n\r\n")
    h.clock.advance(0)
    assert client.response().header(b"connection") == b"close"
    assert client.closed


def test_http10_keep_alive_is_honoured(h: RouterHarness) -> None:
    """An HTTP/1.0 request asking for keep-alive gets ``Connection: keep-alive`` and stays open."""
    client = h.client()
    client.send(b"GET /missing HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    h.clock.advance(0)
    assert client.response().header(b"connection") == b"keep-alive"
    assert not client.closed


def test_pipelined_requests_after_connection_close_are_dropped(h: RouterHarness) -> None:
    """Nothing is answered after a request that asked to close the connection."""
    client = h.client()
    client.send(b"GET /missing HTTP/1.1\r\nConnection: close\r\n\r\n" + GET_MISSING)
    h.clock.advance(0)
    assert len(client.responses()) == 1
    assert client.closed
    assert len(h.access()) == 1


def test_proxied_request_with_connection_close_ignores_what_follows(h: RouterHarness) -> None:
    """Bytes pipelined after a ``Connection: close`` request do not turn its answer into a 400."""
    h.supervisor.make_ready("a")
    client = h.client()
    client.send(b"GET /a/x HTTP/1.1\r\nConnection: close\r\n\r\n" + GET_MISSING)
    assert client.received() == b""
    h.upstream().reply(OK_ONE)
    h.clock.advance(0)
    answer = client.response()
    assert (answer.status, answer.body) == (200, b"one")
    assert client.closed
    assert [line["status"] for line in h.access()] == [200]


# -- limits and malformed requests ---------------------------------------------------------------


def refused(h: RouterHarness, data: bytes) -> int:
    client = h.client()
    client.send(data)
    h.clock.advance(0)
    answer = client.response()
    assert answer.header(b"connection") == b"close"
    assert client.closed
    return answer.status


def test_long_uri_is_414(h: RouterHarness) -> None:
    """A request target longer than max_uri_length gets 414 and the connection closes."""
    assert refused(h, b"GET /" + b"x" * 1100 + b" HTTP/1.1\r\n\r\n") == 414


def test_large_header_section_is_431(h: RouterHarness) -> None:
    """Headers larger than max_header_bytes get 431."""
    assert refused(h, b"GET / HTTP/1.1\r\nX-Big: " + b"y" * 1100 + b"\r\n\r\n") == 431


def test_declared_body_over_max_body_is_413_without_reaching_the_router(h: RouterHarness) -> None:
    """A Content-Length over max_body gets 413 before any tenant is asked for."""
    h.supervisor.make_ready("a")
    data = b"POST /a/x HTTP/1.1\r\nContent-Length: 2000\r\n\r\n"
    assert refused(h, data) == 413
    assert h.supervisor.in_flight["a"] == 0
    assert h.pending_connects() == 0


def test_chunked_body_growing_over_max_body_is_413_and_never_reaches_the_tenant(
    h: RouterHarness,
) -> None:
    """A chunked body that grows past max_body gets 413; the tenant never sees the request."""
    client = h.client()
    client.send(b"POST /a/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
    client.send(b"400\r\n" + b"z" * 0x400 + b"\r\n400\r\n" + b"z" * 0x400 + b"\r\n")
    h.clock.advance(0)
    assert client.response().status == 413
    assert client.closed
    h.supervisor.make_ready("a")
    assert h.pending_connects() == 0
    assert h.supervisor.in_flight["a"] == 0


@pytest.mark.parametrize(
    "data",
    [
        b"NOT HTTP AT ALL\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    ],
)
def test_malformed_request_is_400(h: RouterHarness, data: bytes) -> None:
    """A request the parser rejects gets 400 and the connection closes."""
    assert refused(h, data) == 400


def test_refusals_are_logged(h: RouterHarness) -> None:
    """A refused request still gets its access-log line, as an error."""
    refused(h, b"GET /" + b"x" * 1100 + b" HTTP/1.1\r\n\r\n")
    [line] = h.access()
    assert (line["status"], line["response_type"]) == (414, "error")


# -- timeouts ----------------------------------------------------------------------------------


def test_silent_connection_is_closed_after_header_timeout(h: RouterHarness) -> None:
    """A connection that sends nothing is closed, without an answer, after header_timeout."""
    client = h.client()
    h.clock.advance(HEADER_TIMEOUT - 0.5)
    assert not client.closed
    h.clock.advance(0.5)
    assert client.closed
    assert client.received() == b""
    assert h.access() == []


def test_partial_request_gets_408_after_header_timeout(h: RouterHarness) -> None:
    """A request head still incomplete after header_timeout gets 408 and the connection closes."""
    client = h.client()
    client.send(b"GET /a/x HTTP/1.1\r\nHost: h\r\n")
    h.clock.advance(HEADER_TIMEOUT - 0.5)
    assert client.received() == b""
    h.clock.advance(0.5)
    assert client.response().status == 408
    assert client.closed
    assert h.supervisor.in_flight["a"] == 0


def test_slow_tenant_is_not_cut_off_by_the_header_timeout(h: RouterHarness) -> None:
    """Once the head is in, the header timeout no longer applies (the request waits)."""
    h.supervisor.make_ready("a")
    client = h.client()
    client.send(GET_A)
    upstream = h.upstream()
    h.clock.advance(HEADER_TIMEOUT * 3)
    assert not client.closed
    upstream.reply(OK_ONE)
    assert client.response().status == 200


def test_idle_keep_alive_connection_is_closed_after_idle_timeout(h: RouterHarness) -> None:
    """After an answer, a connection with no new request closes after idle_connection_timeout."""
    client = h.client()
    client.send(GET_MISSING)
    h.clock.advance(IDLE_TIMEOUT - 1)
    assert not client.closed
    h.clock.advance(1)
    assert client.closed


def test_idle_keep_alive_connection_closes_without_a_408(h: RouterHarness) -> None:
    """The idle close after a completed request sends nothing more and logs nothing more."""
    client = h.client()
    client.send(GET_MISSING)
    before = client.received()
    h.clock.advance(IDLE_TIMEOUT)
    assert client.closed
    assert client.received() == before
    assert len(h.access()) == 1


def test_a_new_request_restarts_the_clock_with_header_timeout(h: RouterHarness) -> None:
    """A request begun on an idle connection must complete within header_timeout."""
    client = h.client()
    client.send(GET_MISSING)
    h.clock.advance(IDLE_TIMEOUT - 5)
    client.send(b"GET /missing HTTP/1.1\r\n")
    h.clock.advance(HEADER_TIMEOUT)
    assert [r.status for r in client.responses()] == [404, 408]
    assert client.closed


# -- request bodies --------------------------------------------------------------------------------


def test_body_is_buffered_with_reading_paused_until_the_tenant_takes_it(
    h: RouterHarness,
) -> None:
    """Body bytes that arrive before the tenant is ready are held, reading paused, then sent."""
    client = h.client()
    client.send(b"POST /a/up HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nhello")
    assert client.paused
    assert h.pending_connects() == 0
    h.supervisor.make_ready("a")
    upstream = h.upstream()
    assert upstream.body() == b"hello"
    assert not client.paused
    client.send(b"world")
    assert upstream.body() == b"helloworld"
    upstream.reply(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
    assert client.response().status == 201


def test_body_of_a_locally_answered_request_is_read_and_dropped(h: RouterHarness) -> None:
    """A 404 to a POST discards its body and keeps the connection for the next request."""
    client = h.client()
    client.send(b"POST /missing HTTP/1.1\r\nContent-Length: 6\r\n\r\nabc")
    assert not client.paused
    client.send(b"def" + GET_MISSING)
    h.clock.advance(0)
    assert [r.status for r in client.responses()] == [404, 404]
    assert not client.closed


def test_client_leaving_during_a_dropped_body_is_still_logged(h: RouterHarness) -> None:
    """A 404 sent while the request body was still arriving is logged when the client leaves."""
    client = h.client()
    client.send(b"POST /missing HTTP/1.1\r\nContent-Length: 100\r\n\r\n0123456789")
    assert client.response().status == 404
    client.leave()
    [line] = h.access()
    assert (line["status"], line["uri"]) == (404, "/missing")


def test_request_ids_are_kept_or_made(h: RouterHarness) -> None:
    """A local answer carries the request's own X-Request-Id, or a new one."""
    client = h.client()
    client.send(b"GET /missing HTTP/1.1\r\nX-Request-Id: req-1\r\n\r\n" + GET_MISSING)
    first, second = client.responses()
    assert first.header(b"x-request-id") == b"req-1"
    made = second.header(b"x-request-id")
    assert made is not None and len(made) == 32
    assert [line["request_id"] for line in h.access()] == ["req-1", made.decode()]
