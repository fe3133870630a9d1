"""One request and its response on a client connection.

An :class:`Exchange` relays the request body to whoever takes it (a tenant
connection, or nobody) and writes the response: a local :class:`Reply`
(bytes or a file range), or a proxied response head and body as they come.
It records what the access log needs.  It never buffers a whole body: until
a body sink is set, reading from the client is paused.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from email.utils import formatdate
from http import HTTPStatus
from typing import TYPE_CHECKING

from twisted.web.static import SingleRangeStaticProducer

from .filecache import MAX_FILE, small_files
from .message import Reply, RequestHead

if TYPE_CHECKING:
    from .front import FrontProtocol

_date_cache: tuple[int, bytes] = (0, b"")
NOT_FOUND = Reply(404, ((b"content-type", b"text/plain"),), b"Not Found\n", kind="error")


def http_date() -> bytes:
    """The current time as an HTTP date, computed at most once a second."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True).encode("ascii"))
    return _date_cache[1]


REASONS = {status.value: status.phrase.encode("ascii") for status in HTTPStatus}


def reason_phrase(status: int) -> bytes:
    return REASONS.get(status, b"Unknown")


class Exchange:
    def __init__(self, front: FrontProtocol, head: RequestHead, keep_alive: bool, started: float):
        self.front = front
        self.head = head
        self.keep_alive = keep_alive
        self.started = started
        self.upgrade = False
        self.early_data = b""
        self.request_id = ""
        self.remote_user: str | None = None
        self.tenant: str | None = None
        self.kind = "local"
        self.destination: str | None = None
        self.started_via: str | None = None  # the request waited for its tenant to start
        self.start_ms: float | None = None
        self.status = 0
        self.bytes_sent = 0
        self.response_started = False
        self.response_complete = False
        self.request_complete = False
        self.gone = False
        self.on_gone: Callable[[], None] | None = None
        self.extra_headers: list[tuple[bytes, bytes]] = []
        self._chunked = False
        self._head = b""
        self._head_only = head.method == b"HEAD"
        self._body: list[bytes] = []
        self._sink: Callable[[bytes], None] | None = None
        self._sink_end: Callable[[], None] | None = None

    # -- request body ------------------------------------------------------------

    def request_body(self, data: bytes) -> None:
        if self._sink is not None:
            self._sink(data)
        else:
            self._body.append(data)
            self.front.pause("body")

    def request_end(self) -> None:
        self.request_complete = True
        if self._sink_end is not None:
            self._sink_end()
        if self.response_complete:
            self.front.exchange_done(self)

    def take_body(self, write: Callable[[bytes], None], end: Callable[[], None]) -> None:
        """Send the request body (buffered and still to come) to ``write``, then ``end``."""
        self._sink, self._sink_end = write, end
        body, self._body = self._body, []
        for chunk in body:
            write(chunk)
        if self.request_complete:
            end()
        self.front.resume("body")

    def discard_body(self) -> None:
        self.take_body(lambda data: None, lambda: None)

    # -- response --------------------------------------------------------------------

    def start_response(
        self, status: int, reason: bytes, headers: list[tuple[bytes, bytes]], framing: str
    ) -> None:
        """Write the response head; ``framing`` is how its body is delimited.

        ``headers`` must not hold Connection or Transfer-Encoding; it holds
        Content-Length exactly when ``framing == "length"``.  ``"close"``
        (a body that ends when the upstream closes) becomes chunked for
        HTTP/1.1 clients, and closes the connection for HTTP/1.0 ones.
        """
        self.status = status
        self.response_started = True
        if framing in ("chunked", "close"):
            if self.head.version == b"1.1" and not self._head_only:
                self._chunked = True
                headers.append((b"transfer-encoding", b"chunked"))
            elif not self._head_only:
                self.keep_alive = False
        if not self.request_complete and self._sink is None:
            # Nobody will read the rest of this request's body.
            self.keep_alive = False
        if not self.keep_alive:
            headers.append((b"connection", b"close"))
        elif self.head.version == b"1.0":
            headers.append((b"connection", b"keep-alive"))
        lines = [b"HTTP/1.1 %d %s\r\n" % (status, reason or reason_phrase(status))]
        lines.extend(b"%s: %s\r\n" % pair for pair in headers)
        lines.extend(b"%s: %s\r\n" % pair for pair in self.extra_headers)
        lines.append(b"\r\n")
        self._head = b"".join(lines)  # sent with the first body bytes (one send, not two)

    def write(self, data: bytes) -> None:
        if self._head_only or not data:
            return
        self.bytes_sent += len(data)
        if self._chunked:
            data = b"%x\r\n%s\r\n" % (len(data), data)
        if self._head:
            data, self._head = self._head + data, b""
        self.front.write(data)

    def finish(self) -> None:
        if self.response_complete:
            return
        tail = b"0\r\n\r\n" if self._chunked else b""
        if self._head or tail:
            self.front.write(self._head + tail)
            self._head = b""
        self.response_complete = True
        if self.gone:
            return
        if self.request_complete or not self.keep_alive:
            self.front.exchange_done(self)
        else:
            self.discard_body()

    def reply(self, reply: Reply) -> None:
        """Answer with a response made here."""
        self.kind = reply.kind
        if reply.destination is not None:
            self.destination = reply.destination
        headers = [(b"date", http_date()), *reply.headers]
        if reply.file is None:
            headers.append((b"content-length", b"%d" % len(reply.body)))
            self.start_response(reply.status, b"", headers, "length")
            self.write(reply.body)
            self.finish()
            return
        body = reply.file
        headers.append((b"content-length", b"%d" % body.length))
        try:
            if body.offset == 0 and body.length <= MAX_FILE:
                # Small whole files go out with the head in one write, from memory.
                data = small_files.read(body.path, body.version, body.length)
                self.start_response(reply.status, b"", headers, "length")
                self.write(data)
                self.finish()
                return
            handle = open(body.path, "rb")  # noqa: SIM115 (closed by the producer)
        except OSError:
            self.reply(NOT_FOUND)
            return
        self.start_response(reply.status, b"", headers, "length")
        if self._head_only or body.length == 0:
            handle.close()
            self.finish()
            return
        SingleRangeStaticProducer(self, handle, body.offset, body.length).start()

    # The request-like surface SingleRangeStaticProducer writes to.
    def registerProducer(self, producer: object, streaming: bool) -> None:
        transport = self.front.transport
        if transport is not None and not self.gone:
            transport.registerProducer(producer, streaming)  # type: ignore[attr-defined]

    def unregisterProducer(self) -> None:
        transport = self.front.transport
        if transport is not None:
            transport.unregisterProducer()  # type: ignore[attr-defined]

    # -- the client went away -------------------------------------------------------------

    def client_gone(self) -> None:
        if self.gone:
            return
        self.gone = True
        if not self.response_complete:
            self.status = 499
            self.kind = "client_closed"
            if self.on_gone is not None:
                self.on_gone()
            self.response_complete = True
            self.front.router.finished(self)
