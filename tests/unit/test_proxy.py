"""Proxying to tenants: request heads, response framing, failures, over fake wires.

The router is real, with its real upstream pool on a ``MemoryReactorClock``;
each upstream connection it opens is completed by the test
(:meth:`RouterHarness.upstream`), which then plays the tenant.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import httptools
import pytest
from routerfakes import (
    CLIENT_IP,
    TENANT_PORT,
    FakeSupervisor,
    RouterHarness,
    load,
    request,
    wire_of,
)

from showcase.router.proxy import Forwarding, connection_tokens, request_head
from showcase.router.tunnel import TunnelUpstream
from showcase.tenants.supervisor import Supervisor

CONFIG = """
applications:
  startup_timeout: 5s
  tenants:
    - path: /a/
cable:
  enabled: false
"""


@pytest.fixture
def h(tmp_path: Path) -> RouterHarness:
    harness = RouterHarness(load(tmp_path, CONFIG))
    harness.supervisor.make_ready("a")
    return harness


def trusting(tmp_path: Path) -> RouterHarness:
    harness = RouterHarness(load(tmp_path, CONFIG, "server:\n  trust_proxy: true\n"))
    harness.supervisor.make_ready("a")
    return harness


def values(pairs: list[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    return [v for k, v in pairs if k == name]


def test_fake_supervisor_has_the_real_signatures() -> None:
    """The fake supervisor's methods take the same arguments as the real one's."""
    for name in (
        "ready",
        "ready_now",
        "request_started",
        "request_finished",
        "websocket_opened",
        "websocket_closed",
    ):
        real = inspect.signature(getattr(Supervisor, name))
        fake = inspect.signature(getattr(FakeSupervisor, name))
        assert list(real.parameters) == list(fake.parameters), name


# -- the request head ---------------------------------------------------------------------


def test_request_goes_to_the_tenant_with_its_target(h: RouterHarness) -> None:
    """The tenant's address gets the method, the raw target and HTTP/1.1."""
    client = h.client()
    client.send(b"GET /a/x%20y?q=1 HTTP/1.0\r\nHost: events.example\r\n\r\n")
    upstream = h.upstream()
    assert (upstream.host, upstream.port) == ("127.0.0.1", TENANT_PORT)
    line, headers = upstream.head()
    assert line == b"GET /a/x%20y?q=1 HTTP/1.1"
    assert values(headers, b"host") == [b"events.example"]
    assert h.supervisor.in_flight["a"] == 1


def test_hop_by_hop_and_connection_listed_headers_are_not_forwarded(h: RouterHarness) -> None:
    """Connection, Keep-Alive, TE, Proxy-* and headers named in Connection stay on this hop."""
    client = h.client()
    client.send(
        b"GET /a/x HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Secret\r\n"
        b"X-Secret: hop\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n"
        b"Proxy-Authorization: Basic eA==\r\nProxy-Connection: keep-alive\r\n"
        b"X-Thing: one\r\nX-Thing: two\r\n\r\n"
    )
    _, headers = h.upstream().head()
    names = {name for name, _ in headers}
    for hop in (b"connection", b"x-secret", b"keep-alive", b"te", b"proxy-authorization"):
        assert hop not in names
    assert b"proxy-connection" not in names
    assert values(headers, b"x-thing") == [b"one", b"two"]


def test_hop_by_hop_response_headers_are_not_passed_back(h: RouterHarness) -> None:
    """The tenant's Connection, Keep-Alive and Connection-listed headers stay on its hop."""
    client = h.client()
    client.send(b"GET /a/x HTTP/1.1\r\n\r\n")
    h.upstream().reply(
        b"HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Internal\r\nX-Internal: 1\r\n"
        b"Keep-Alive: timeout=20\r\nProxy-Authenticate: Basic\r\nX-Kept: yes\r\n"
        b"Content-Length: 2\r\n\r\nok"
    )
    answer = client.response()
    for hop in (b"connection", b"x-internal", b"keep-alive", b"proxy-authenticate"):
        assert answer.header(hop) is None
    assert answer.header(b"x-kept") == b"yes"


def test_x_forwarded_for_is_appended_to(h: RouterHarness) -> None:
    """The client's address is added after any X-Forwarded-For it sent."""
    client = h.client()
    client.send(b"GET /a/x HTTP/1.1\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n")
    _, headers = h.upstream().head()
    assert values(headers, b"x-forwarded-for") == [b"10.0.0.1, " + CLIENT_IP.encode()]


FORGED = (
    b"GET /a/x HTTP/1.1\r\nHost: real.example\r\n"
    b"X-Forwarded-Host: evil\r\nX-Forwarded-Proto: https\r\n\r\n"
)


def test_x_forwarded_host_and_proto_are_overwritten(h: RouterHarness) -> None:
    """Without trust_proxy, X-Forwarded-Host is the Host and X-Forwarded-Proto our scheme."""
    client = h.client()
    client.send(FORGED)
    _, headers = h.upstream().head()
    assert values(headers, b"x-forwarded-host") == [b"real.example"]
    assert values(headers, b"x-forwarded-proto") == [b"http"]


def test_x_forwarded_host_and_proto_are_kept_with_trust_proxy(tmp_path: Path) -> None:
    """With trust_proxy, incoming X-Forwarded-Host and -Proto pass unchanged."""
    harness = trusting(tmp_path)
    client = harness.client()
    client.send(FORGED)
    _, headers = harness.upstream().head()
    assert values(headers, b"x-forwarded-host") == [b"evil"]
    assert values(headers, b"x-forwarded-proto") == [b"https"]


def test_request_id_is_forwarded_and_returned(h: RouterHarness) -> None:
    """The client's X-Request-Id reaches the tenant and comes back on the response."""
    client = h.client()
    client.send(b"GET /a/x HTTP/1.1\r\nX-Request-Id: abc-123\r\n\r\n")
    upstream = h.upstream()
    assert values(upstream.head()[1], b"x-request-id") == [b"abc-123"]
    upstream.reply(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    assert client.response().header(b"x-request-id") == b"abc-123"
    assert h.access()[0]["request_id"] == "abc-123"


def test_a_bad_request_id_is_replaced(h: RouterHarness) -> None:
    """An X-Request-Id that is not a short token is replaced by a new one, sent both ways."""
    client = h.client()
    client.send(b"GET /a/x HTTP/1.1\r\nX-Request-Id: no spaces allowed\r\n\r\n")
    upstream = h.upstream()
    [made] = values(upstream.head()[1], b"x-request-id")
    assert made != b"no spaces allowed"
    upstream.reply(b"HTTP/1.1 204 No Content\r\n\r\n")
    assert client.response().header(b"x-request-id") == made


def test_the_tenants_own_request_id_is_not_duplicated(h: RouterHarness) -> None:
    """A response that already has X-Request-Id keeps its own and gets no second one."""
    client = h.client()
    client.send(b"GET /a/x HTTP/1.1\r\nX-Request-Id: mine\r\n\r\n")
    h.upstream().reply(b"HTTP/1.1 200 OK\r\nX-Request-Id: theirs\r\nContent-Length: 0\r\n\r\n")
    assert client.response().header(b"x-request-id") == b"theirs"


def test_request_head_overrides_replace_headers_after_forwarding_is_computed() -> None:
    """Route overrides replace the request's header of that name, Host included."""
    head = request("/x", headers=((b"Host", b"front.example"), (b"X-Api-Key", b"client")))
    data = request_head(
        head, b"/y", Forwarding("rid", False), overrides={b"host": b"api", b"x-api-key": b"k"}
    )
    lines = data.split(b"\r\n")
    assert lines[0] == b"GET /y HTTP/1.1"
    assert b"host: api" in lines and b"host: front.example" not in lines
    assert b"x-forwarded-host: front.example" in lines
    assert b"x-api-key: k" in lines and b"x-api-key: client" not in lines
    assert data.endswith(b"\r\n\r\n")


def test_the_tenant_learns_the_user_from_the_router_only() -> None:
    """X-Remote-User is the user the router authenticated; a client's own is dropped."""
    head = request("/x", headers=((b"Host", b"h"), (b"X-Remote-User", b"forged")))
    lines = request_head(head, b"/x", Forwarding("rid", False, remote_user="judge1")).split(b"\r\n")
    assert b"x-remote-user: judge1" in lines and b"x-remote-user: forged" not in lines
    anonymous = request_head(head, b"/x", Forwarding("rid", False)).split(b"\r\n")
    assert not any(line.startswith(b"x-remote-user") for line in anonymous)


def test_connection_tokens_are_case_insensitive() -> None:
    """Names listed in Connection are read case-insensitively, spaces trimmed."""
    assert connection_tokens(((b"connection", b"Keep-Alive ,  X-Foo"),)) == {
        b"keep-alive",
        b"x-foo",
    }


# -- request bodies ---------------------------------------------------------------------------


def test_expect_100_continue_is_answered_by_the_router(h: RouterHarness) -> None:
    """The router sends 100 Continue itself and does not pass Expect on."""
    client = h.client()
    client.send(b"POST /a/up HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
    upstream = h.upstream()
    assert client.received() == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert values(upstream.head()[1], b"expect") == []
    client.send(b"hello")
    assert upstream.body() == b"hello"
    upstream.reply(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    assert [r.status for r in client.responses()] == [100, 200]


def test_no_100_continue_when_the_body_is_already_here(h: RouterHarness) -> None:
    """A client that sent its body with the head gets no 100 Continue."""
    client = h.client()
    client.send(b"POST /a/up HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nhi")
    upstream = h.upstream()
    assert client.received() == b""
    assert upstream.body() == b"hi"


def dechunk(data: bytes) -> tuple[list[tuple[bytes, bytes]], bytes, bool]:
    """Headers, body and completeness of one HTTP request in ``data``."""

    class Reader:
        headers: list[tuple[bytes, bytes]] = []
        body = b""
        done = False

        def on_header(self, name: bytes, value: bytes) -> None:
            self.headers.append((name.lower(), value))

        def on_body(self, body: bytes) -> None:
            self.body += body

        def on_message_complete(self) -> None:
            self.done = True

    reader = Reader()
    reader.headers = []
    httptools.HttpRequestParser(reader).feed_data(data)
    return reader.headers, reader.body, reader.done


def test_chunked_request_body_is_sent_chunked(h: RouterHarness) -> None:
    """A chunked upload reaches the tenant chunked, whole, as its chunks arrive."""
    client = h.client()
    client.send(b"POST /a/up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n")
    upstream = h.upstream()
    headers, body, done = dechunk(upstream.received())
    assert (body, done) == (b"hel", False)
    assert values(headers, b"transfer-encoding") == [b"chunked"]
    assert values(headers, b"content-length") == []
    client.send(b"2\r\nlo\r\n0\r\n\r\n")
    assert dechunk(upstream.received())[1:] == (b"hello", True)


def test_large_body_is_streamed_with_backpressure(h: RouterHarness) -> None:
    """When the tenant's socket is full, reading from the client pauses until it drains."""
    client = h.client()
    client.send(b"PUT /a/up HTTP/1.1\r\nContent-Length: 8\r\n\r\nfour")
    upstream = h.upstream()
    producer = upstream.wire.producer
    assert producer is not None
    producer.pauseProducing()
    assert client.paused
    producer.resumeProducing()
    assert not client.paused
    client.send(b"more")
    assert upstream.body() == b"fourmore"
    assert upstream.wire.producer is None  # the body is done


# -- response framing --------------------------------------------------------------------------


def test_content_length_response_passes_with_the_same_length(h: RouterHarness) -> None:
    """A Content-Length response streams through with that length and no chunking."""
    client = h.client()
    client.send(b"GET /a/x HTTP/1.1\r\n\r\n")
    upstream = h.upstream()
    upstream.reply(
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nContent-Type: text/plain\r\n\r\nhello"
    )
    assert client.responses() == []  # not complete yet
    upstream.reply(b"world")
    answer = client.response()
    assert answer.header(b"content-length") == b"10"
    assert answer.header(b"transfer-encoding") is None
    assert answer.body == b"helloworld"
    assert h.access()[0]["body_bytes_sent"] == 10
    assert h.router.pool.idle[("127.0.0.1", TENANT_PORT, False)] == [upstream.protocol]


def test_chunked_response_is_passed_chunked(h: RouterHarness) -> None:
    """A chunked response reaches an HTTP/1.1 client chunked, with the same content."""
    client = h.client()
    client.send(b"GET /a/x HTTP/1.1\r\n\r\n")
    h.upstream().reply(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n2\r\nef\r\n0\r\n\r\n"
    )
    answer = client.response()
    assert answer.header(b"transfer-encoding") == b"chunked"
    assert answer.body == b"abcdef"
    assert not client.closed


def test_read_until_close_response_becomes_chunked_for_http11(h: RouterHarness) -> None:
    """A body that ends when the tenant closes is chunked for an HTTP/1.1 client (kept alive)."""
    client = h.client()
    client.send(b"GET /a/x HTTP/1.1\r\n\r\n")
    upstream = h.upstream()
    upstream.reply(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nabc")
    upstream.reply(b"def")
    assert client.responses() == []
    upstream.close()
    h.clock.advance(0)
    answer = client.response()
    assert answer.header(b"transfer-encoding") == b"chunked"
    assert answer.body == b"abcdef"
    assert client.received().endswith(b"3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n")
    assert not client.closed


def test_read_until_close_response_closes_an_http10_client(h: RouterHarness) -> None:
    """For an HTTP/1.0 client a read-until-close body is sent as is, then the connection closes."""
    client = h.client()
    client.send(b"GET /a/x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    upstream = h.upstream()
    upstream.reply(b"HTTP/1.0 200 OK\r\n\r\nabc")
    upstream.close()
    h.clock.advance(0)
    head, _, body = client.received().partition(b"\r\n\r\n")
    assert b"transfer-encoding" not in head
    assert b"connection: close" in head
    assert body == b"abc"
    assert client.closed


def test_head_response_finishes_without_waiting_for_a_body(h: RouterHarness) -> None:
    """A HEAD answer with Content-Length is complete at its head; the connection is reused."""
    client = h.client()
    client.send(b"HEAD /a/x HTTP/1.1\r\n\r\n")
    upstream = h.upstream()
    upstream.reply(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")
    head = client.received()
    assert head.endswith(b"\r\n\r\n")
    assert b"content-length: 1234\r\n" in head
    assert [line["status"] for line in h.access()] == [200]
    client.send(b"GET /a/y HTTP/1.1\r\n\r\n")
    assert h.pending_connects() == 0
    assert upstream.received().endswith(b"\r\n\r\n")
    assert b"GET /a/y HTTP/1.1\r\n" in upstream.received()


@pytest.mark.parametrize("status", [204, 304])
def test_bodiless_statuses_finish_at_the_head(h: RouterHarness, status: int) -> None:
    """204 and 304 answers end at their head."""
    client = h.client()
    client.send(b"GET /a/x HTTP/1.1\r\n\r\n")
    h.upstream().reply(b"HTTP/1.1 %d X\r\n\r\n" % status)
    assert client.response().status == status
    assert h.supervisor.in_flight["a"] == 0


def test_interim_responses_from_the_tenant_are_dropped(h: RouterHarness) -> None:
    """A 103 Early Hints before the answer is not passed on and leaves no trace in it."""
    client = h.client()
    client.send(b"GET /a/x HTTP/1.1\r\n\r\n")
    h.upstream().reply(
        b"HTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    )
    assert client.received().startswith(b"HTTP/1.1 200 OK\r\n")
    answer = client.response()
    assert answer.header(b"link") is None
    assert answer.body == b"ok"


def test_route_response_headers_are_added(tmp_path: Path) -> None:
    """A reverse-proxy route's response_headers are added to what the origin answered."""
    harness = RouterHarness(
        load(
            tmp_path,
            "routes:\n  reverse_proxies:\n"
            "    - {prefix: /api/, target: 'http://api:81', response_headers: {X-Via: r}}\n",
        )
    )
    client = harness.client()
    client.send(b"GET /api/x HTTP/1.1\r\nHost: front\r\n\r\n")
    upstream = harness.upstream()
    assert (upstream.host, upstream.port) == ("api", 81)
    assert values(upstream.head()[1], b"host") == [b"api:81"]
    upstream.reply(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    assert client.response().header(b"x-via") == b"r"


# -- failures --------------------------------------------------------------------------------


def test_upstream_lost_before_the_head_is_502(h: RouterHarness) -> None:
    """A tenant connection that closes before answering gives the 502 page."""
    client = h.client()
    client.send(b"GET /a/x HTTP/1.1\r\n\r\n")
    h.upstream().close()
    answer = client.response()
    assert answer.status == 502
    assert b"Bad Gateway" in answer.body
    assert h.supervisor.in_flight["a"] == 0
    assert not client.closed


def test_refused_connection_is_502(h: RouterHarness) -> None:
    """A tenant that refuses the connection gives the 502 page."""
    client = h.client()
    client.send(b"GET /a/x HTTP/1.1\r\n\r\n")
    h.refuse()
    assert client.response().status == 502
    assert h.supervisor.in_flight["a"] == 0


def warm(h: RouterHarness) -> None:
    """One request answered, leaving its tenant connection idle in the pool."""
    client = h.client()
    client.send(b"GET /a/warm HTTP/1.1\r\n\r\n")
    h.upstream().reply(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")


def test_stale_reused_connection_is_retried_once_for_a_bodiless_request(
    h: RouterHarness,
) -> None:
    """A GET on an idle connection that turns out closed is sent again on a fresh one."""
    warm(h)
    stale = h.router.pool.idle[("127.0.0.1", TENANT_PORT, False)][0]
    client = h.client()
    client.send(b"GET /a/x HTTP/1.1\r\n\r\n")
    assert h.pending_connects() == 0
    wire_of(stale).peer_closed()
    fresh = h.upstream()
    assert fresh.head()[0] == b"GET /a/x HTTP/1.1"
    fresh.reply(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    assert client.response().body == b"ok"
    assert h.supervisor.in_flight["a"] == 0


def test_retry_is_not_repeated(h: RouterHarness) -> None:
    """If the fresh connection fails too, the answer is 502."""
    warm(h)
    stale = h.router.pool.idle[("127.0.0.1", TENANT_PORT, False)][0]
    client = h.client()
    client.send(b"GET /a/x HTTP/1.1\r\n\r\n")
    wire_of(stale).peer_closed()
    h.upstream().close()
    assert client.response().status == 502


def test_stale_connection_is_not_retried_for_a_request_with_a_body(h: RouterHarness) -> None:
    """A POST whose body may have been consumed is not sent twice: 502."""
    warm(h)
    stale = h.router.pool.idle[("127.0.0.1", TENANT_PORT, False)][0]
    client = h.client()
    client.send(b"POST /a/x HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi")
    wire_of(stale).peer_closed()
    assert h.pending_connects() == 0
    assert client.response().status == 502


def test_client_gone_mid_response_aborts_the_upstream_and_logs_499(h: RouterHarness) -> None:
    """A client that leaves mid-body gets its tenant connection aborted and a 499 log line."""
    client = h.client()
    client.send(b"GET /a/x HTTP/1.1\r\n\r\n")
    upstream = h.upstream()
    upstream.reply(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")
    client.leave()
    assert upstream.wire.aborted
    h.clock.advance(0)
    [line] = h.access()
    assert (line["status"], line["response_type"], line["tenant"]) == (499, "client_closed", "a")
    assert line["body_bytes_sent"] == 3
    assert h.supervisor.in_flight["a"] == 0
    assert h.router.pool.idle.get(("127.0.0.1", TENANT_PORT, False), []) == []


def test_client_gone_before_the_head_aborts_the_upstream(h: RouterHarness) -> None:
    """A client that leaves while the tenant thinks gets the tenant connection dropped."""
    client = h.client()
    client.send(b"GET /a/x HTTP/1.1\r\n\r\n")
    upstream = h.upstream()
    client.leave()
    assert upstream.wire.aborted
    assert h.access()[0]["status"] == 499
    assert h.supervisor.in_flight["a"] == 0


def test_upstream_lost_mid_response_cuts_the_client_off(h: RouterHarness) -> None:
    """A tenant that dies mid-body makes the client connection abort (a truncated body)."""
    client = h.client()
    client.send(b"GET /a/x HTTP/1.1\r\n\r\n")
    upstream = h.upstream()
    upstream.reply(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")
    upstream.wire.peer_closed()
    assert client.wire.aborted
    assert h.supervisor.in_flight["a"] == 0


# -- waiting for the tenant --------------------------------------------------------------------


def test_tenant_not_ready_within_startup_timeout_gets_the_maintenance_page(
    tmp_path: Path,
) -> None:
    """A request for a tenant that is not ready within startup_timeout gets the 503 page."""
    harness = RouterHarness(load(tmp_path, CONFIG))
    client = harness.client()
    client.send(b"GET /a/x HTTP/1.1\r\n\r\n")
    harness.clock.advance(4.9)
    assert client.received() == b""
    harness.clock.advance(0.1)
    answer = client.response()
    assert answer.status == 503
    assert answer.header(b"cache-control") == b"no-cache, no-store, must-revalidate"
    assert harness.supervisor.in_flight["a"] == 0
    assert harness.pending_connects() == 0


def test_request_waits_for_a_starting_tenant(tmp_path: Path) -> None:
    """A request for a starting tenant is sent once it is ready."""
    harness = RouterHarness(load(tmp_path, CONFIG))
    client = harness.client()
    client.send(b"GET /a/x HTTP/1.1\r\n\r\n")
    harness.clock.advance(2)
    harness.supervisor.make_ready("a")
    harness.upstream().reply(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    assert client.response().body == b"ok"


def test_client_gone_while_waiting_for_the_tenant(tmp_path: Path) -> None:
    """A client that leaves before its tenant is ready is logged 499 and nothing is sent."""
    harness = RouterHarness(load(tmp_path, CONFIG))
    client = harness.client()
    client.send(b"GET /a/x HTTP/1.1\r\n\r\n")
    client.leave()
    harness.supervisor.make_ready("a")
    assert harness.pending_connects() == 0
    assert harness.supervisor.in_flight["a"] == 0
    assert harness.access()[0]["status"] == 499


def test_retry_after_a_stale_connection_uses_a_fresh_one(h: RouterHarness) -> None:
    """The one retry opens a new connection rather than taking another idle (maybe stale) one."""
    first, second = h.client(), h.client()
    first.send(b"GET /a/1 HTTP/1.1\r\n\r\n")
    second.send(b"GET /a/2 HTTP/1.1\r\n\r\n")
    for upstream in (h.upstream(), h.upstream()):
        upstream.reply(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    idle = h.router.pool.idle[("127.0.0.1", TENANT_PORT, False)]
    assert len(idle) == 2
    most_recent = idle[-1]
    client = h.client()
    client.send(b"GET /a/x HTTP/1.1\r\n\r\n")
    assert most_recent.busy
    wire_of(most_recent).peer_closed()
    fresh = h.upstream()
    fresh.reply(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    assert client.response().body == b"ok"


def test_early_answer_before_the_whole_body_closes_that_connection(h: RouterHarness) -> None:
    """A tenant answering mid-upload: the rest of the body is dropped, the connection not reused."""
    client = h.client()
    client.send(b"POST /a/x HTTP/1.1\r\nContent-Length: 10\r\n\r\n01234")
    upstream = h.upstream()
    upstream.reply(b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n")
    assert client.response().status == 413
    assert upstream.wire.disconnecting
    assert upstream.wire.producer is None
    client.send(b"56789" + b"GET /a/next HTTP/1.1\r\n\r\n")
    assert upstream.body() == b"01234"
    following = h.upstream()
    assert following.head()[0] == b"GET /a/next HTTP/1.1"


# -- upgrades ----------------------------------------------------------------------------------

UPGRADE = (
    b"GET /a/cable HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
    b"Sec-WebSocket-Key: k\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def test_upgrade_is_spliced_to_the_tenant_byte_for_byte(h: RouterHarness) -> None:
    """A WebSocket upgrade keeps Connection/Upgrade, then bytes flow both ways unchanged."""
    client = h.client()
    client.send(UPGRADE + b"early")
    tunnel, wire = h.accept()
    assert isinstance(tunnel, TunnelUpstream)
    head, _, early = wire.value().partition(b"\r\n\r\n")
    assert early == b"early"
    lines = head.split(b"\r\n")
    assert b"connection: Upgrade" in lines and b"upgrade: websocket" in lines
    assert b"sec-websocket-key: k" in lines
    assert h.supervisor.websockets["a"] == 1
    assert h.supervisor.in_flight["a"] == 0
    tunnel.dataReceived(b"HTTP/1.1 101 Switching Protocols\r\n\r\n\x81\x02hi")
    assert client.received() == b"HTTP/1.1 101 Switching Protocols\r\n\r\n\x81\x02hi"
    client.send(b"\x81\x03abc")
    assert wire.value().endswith(b"early\x81\x03abc")
    wire.peer_closed()
    h.clock.advance(0)
    assert client.closed
    assert h.supervisor.websockets["a"] == 0
    [line] = h.access()
    assert (line["status"], line["response_type"]) == (101, "websocket")


def test_upgrade_to_a_tenant_that_refuses_is_502(h: RouterHarness) -> None:
    """An upgrade whose tenant connection fails gets the 502 page and the connection closes."""
    client = h.client()
    client.send(UPGRADE)
    h.refuse()
    h.clock.advance(0)
    assert client.response().status == 502
    assert client.closed
    assert h.supervisor.websockets["a"] == 0
