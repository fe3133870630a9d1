"""Forward an exchange to an HTTP/1.1 upstream over a pooled connection.

The request head is re-serialised once with the header edits a reverse proxy
owes its upstream (hop-by-hop headers removed, ``X-Forwarded-*`` and
``X-Request-Id`` set, ``Host`` kept); bodies stream both ways with
producer/consumer backpressure, so neither a large upload nor a large
download ever sits in memory.  A connection that fails before any response
byte, on a reused connection of a body-less request, is retried once on a
fresh connection; any other failure before the head is a 502.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from twisted.internet.interfaces import IPushProducer
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from .exchange import Exchange
from .message import Headers, Reply, RequestHead
from .upstream import Key, UpstreamConnection, UpstreamPool

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
_REPLACED = frozenset(
    {
        b"x-forwarded-for",
        b"x-forwarded-host",
        b"x-forwarded-proto",
        b"x-request-id",
        b"x-remote-user",  # only the router says who the user is
    }
)
_DROP = HOP_BY_HOP | _REPLACED | {b"expect"}  # Expect is answered by the router itself

BAD_GATEWAY = Reply(
    502,
    ((b"content-type", b"text/html; charset=utf-8"), (b"cache-control", b"no-store")),
    b"<!DOCTYPE html><title>502 Bad Gateway</title>"
    b"<h1>Bad Gateway</h1><p>The event's server did not answer. Please try again.</p>\n",
    kind="error",
)


def connection_tokens(headers: Headers) -> frozenset[bytes]:
    """Header names listed in Connection (they are hop-by-hop too)."""
    tokens: set[bytes] = set()
    for name, value in headers:
        if name == b"connection":
            tokens.update(t.strip().lower() for t in value.split(b","))
    return frozenset(tokens)


class Forwarding(NamedTuple):
    """What the upstream is told about the original request (a tuple: made per request)."""

    request_id: str
    trust_proxy: bool
    scheme: bytes = b"http"
    remote_user: str | None = None  # the Basic-auth user the router let in


def request_head(
    head: RequestHead,
    target: bytes,
    fwd: Forwarding,
    tunnel: bool = False,
    overrides: dict[bytes, bytes] | None = None,
) -> bytes:
    """The request head to send upstream.

    ``overrides`` (lower-case names) replace the request's headers of the
    same name, after the ``X-Forwarded-*`` values are computed.
    """
    drop = _DROP
    tokens = connection_tokens(head.headers)
    if tokens or overrides or tunnel:
        drop = drop | tokens | (overrides or {}).keys()
        if tunnel:
            drop = drop - {b"connection", b"upgrade"}
    lines = [b"%s %s HTTP/1.1\r\n" % (head.method, target)]
    xff: list[bytes] = []
    xhost = xproto = None
    host = b""
    chunked = has_length = False
    for name, value in head.headers:
        if name == b"host":
            host = value
        if name in drop:
            if name == b"x-forwarded-for":
                xff.append(value)
            elif name == b"x-forwarded-host":
                xhost = value
            elif name == b"x-forwarded-proto":
                xproto = value
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            continue
        if name == b"content-length":
            has_length = True
        lines.append(b"%s: %s\r\n" % (name, value))
    if chunked and not has_length:
        lines.append(b"transfer-encoding: chunked\r\n")
    xff.append(head.client_ip.encode("ascii", "replace"))
    if not (fwd.trust_proxy and xhost):
        xhost = host
    if not (fwd.trust_proxy and xproto):
        xproto = fwd.scheme
    forwarded = {
        b"x-forwarded-for": b", ".join(xff),
        b"x-forwarded-host": xhost,
        b"x-forwarded-proto": xproto,
        b"x-request-id": fwd.request_id.encode("ascii"),
    }
    if fwd.remote_user:
        forwarded[b"x-remote-user"] = fwd.remote_user.encode("utf-8")
    if overrides:
        forwarded.update(overrides)
    lines.extend(b"%s: %s\r\n" % (k, v) for k, v in forwarded.items() if v)
    if tunnel and head.header(b"connection") is None:
        lines.append(b"connection: upgrade\r\n")
    lines.append(b"\r\n")
    return b"".join(lines)


def body_framing(head: RequestHead) -> str:
    """How the request's body is delimited: ``length``, ``chunked`` or ``none``."""
    if head.header(b"content-length") is not None:
        return "length"
    te = head.header(b"transfer-encoding")
    if te is not None and b"chunked" in te.lower():
        return "chunked"
    return "none"


@implementer(IPushProducer)
class _PauseClient:
    """Backpressure from the upstream socket to the client's reading."""

    def __init__(self, ex: Exchange) -> None:
        self.ex = ex

    def pauseProducing(self) -> None:
        self.ex.front.pause("upstream")

    def resumeProducing(self) -> None:
        self.ex.front.resume("upstream")

    def stopProducing(self) -> None:
        self.ex.front.resume("upstream")


class ProxyRun:
    """Carries one exchange to ``key`` and its response back."""

    log = Logger()

    def __init__(
        self,
        ex: Exchange,
        pool: UpstreamPool,
        key: Key,
        head_bytes: bytes,
        done: Callable[[], None],
        response_headers: Headers = (),
    ) -> None:
        self.ex = ex
        self.pool = pool
        self.key = key
        self.head_bytes = head_bytes
        self.done = done
        self.response_headers = response_headers
        self.framing = body_framing(ex.head)
        self.conn: UpstreamConnection | None = None
        self.body_started = False
        self.body_sent = False
        self.retried = False
        self.finished = False

    def start(self) -> None:
        self.ex.on_gone = self._client_gone
        conn = self.pool.acquire_idle(self.key)
        if conn is not None:
            self._connected(conn)
        else:
            self.pool.acquire(self.key).addCallbacks(self._connected, self._connect_failed)

    def _connected(self, conn: UpstreamConnection) -> None:
        if self.ex.gone:
            conn.abort()
            return
        self.conn = conn
        conn.begin(self, self.ex.head.method == b"HEAD")
        conn.write(self.head_bytes)
        if self.framing == "none":
            return
        if self.body_started:
            return  # a retry never happens once body bytes were sent
        self.body_started = True
        expect = self.ex.head.header(b"expect")
        if (
            expect is not None
            and expect.lower() == b"100-continue"
            and not self.ex.request_complete
        ):
            self.ex.front.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        assert conn.transport is not None
        conn.transport.registerProducer(_PauseClient(self.ex), True)  # type: ignore[attr-defined]
        if self.framing == "chunked":
            self.ex.take_body(self._write_chunk, self._end_chunks)
        else:
            self.ex.take_body(conn.write, self._end_body)

    def _write_chunk(self, data: bytes) -> None:
        if self.conn is not None and data:
            self.conn.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _end_chunks(self) -> None:
        if self.conn is not None:
            self.conn.write(b"0\r\n\r\n")
        self._end_body()

    def _end_body(self) -> None:
        self.body_sent = True
        conn = self.conn
        if conn is not None and conn.transport is not None:
            conn.transport.unregisterProducer()  # type: ignore[attr-defined]
        self.ex.front.resume("upstream")

    def _connect_failed(self, reason: Failure) -> None:
        self.log.warn("cannot connect to {key}: {reason}", key=self.key, reason=reason.value)
        self._bad_gateway()

    # -- ResponseSink --------------------------------------------------------------

    def response_head(self, status: int, reason: bytes, headers: Headers, framing: str) -> None:
        drop = HOP_BY_HOP | connection_tokens(headers)
        out = [pair for pair in headers if pair[0] not in drop]
        if not any(name == b"x-request-id" for name, _ in out):
            out.append((b"x-request-id", self.ex.request_id.encode("ascii")))
        out.extend(self.response_headers)
        self.ex.start_response(status, reason, out, framing)
        front = self.ex.front.transport
        if front is not None and self.conn is not None and self.conn.transport is not None:
            front.registerProducer(self.conn.transport, True)  # type: ignore[attr-defined]

    def response_body(self, data: bytes) -> None:
        self.ex.write(data)

    def response_end(self) -> None:
        if self.conn is not None and self.framing != "none" and not self.body_sent:
            # Answered before the whole request body went out: the rest of it is
            # dropped, so this connection must not carry another request.
            self.conn.no_reuse()
            self._end_body()
        front = self.ex.front.transport
        if front is not None and not self.ex.gone:
            front.unregisterProducer()  # type: ignore[attr-defined]
        self._complete()
        self.ex.finish()

    def upstream_lost(self, reason: Failure, got_response: bool) -> None:
        conn, self.conn = self.conn, None
        if got_response:
            # Too late for an error page: cut the client off so it sees a truncated body.
            self.log.warn("upstream {key} closed mid-response", key=self.key)
            self._complete()
            if self.ex.front.transport is not None:
                self.ex.front.transport.abortConnection()  # type: ignore[attr-defined]
            return
        if conn is not None and conn.reused and self.framing == "none" and not self.retried:
            self.retried = True  # a stale keep-alive connection: try a fresh one
            self.pool.connect(self.key).addCallbacks(self._connected, self._connect_failed)
            return
        self.log.warn(
            "upstream {key} failed before answering: {reason}", key=self.key, reason=reason.value
        )
        self._bad_gateway()

    # -- endings ---------------------------------------------------------------------------

    def _bad_gateway(self) -> None:
        self._complete()
        if not self.ex.gone and not self.ex.response_started:
            self.ex.reply(BAD_GATEWAY)

    def _client_gone(self) -> None:
        if self.conn is not None:
            self.conn.abort()
        self._complete()

    def _complete(self) -> None:
        self.ex.front.resume("upstream")
        if not self.finished:
            self.finished = True
            self.done()
