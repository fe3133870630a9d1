"""The client side of the router: one :class:`FrontProtocol` per connection.

The request head is parsed with httptools (llhttp).  Each request becomes an
:class:`~showcase.router.exchange.Exchange`; exchanges run one at a time per
connection, in order (pipelined requests wait, with reading paused).  Limits
are enforced here: URI length (414), header size (431), body size (413), a
header read timeout and an idle keep-alive timeout (408 / close).  An Upgrade
request leaves HTTP parsing behind: the rest of the connection is a tunnel.
"""

from __future__ import annotations

import contextlib
from collections import deque
from typing import TYPE_CHECKING
from urllib.parse import unquote

import httptools
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure

from .exchange import Exchange
from .message import Reply, RequestHead
from .sending import send_now

if TYPE_CHECKING:
    from .router import Router


class _Reject(Exception):
    """Raised inside a parser callback to stop parsing with a status."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


class FrontProtocol(Protocol):
    log = Logger()

    def __init__(self, router: Router, clock: IReactorTime) -> None:
        self.router = router
        self.clock = clock
        self.limits = router.limits
        self.current: Exchange | None = None
        self.queue: deque[Exchange] = deque()
        self.parsing: Exchange | None = None
        self.tunnel: Protocol | None = None
        self.upgrading: Exchange | None = None
        self.owner: Protocol | None = None  # took the connection over (the cable hub)
        self._taker: tuple[Protocol, bytes] | None = None
        self.closed = False
        self._pauses: set[str] = set()
        self._last_request = False  # one without keep-alive was parsed: nothing may follow
        self._timer: IDelayedCall | None = None
        self._deadline: float | None = None
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._head_bytes = 0
        self._body_bytes = 0
        self.peer_ip = ""

    # -- connection ---------------------------------------------------------------

    def connectionMade(self) -> None:
        assert self.transport is not None
        peer = self.transport.getPeer()
        self.peer_ip = getattr(peer, "host", "") or "127.0.0.1"
        if hasattr(self.transport, "setTcpNoDelay"):
            with contextlib.suppress(OSError):  # unix sockets have no Nagle
                self.transport.setTcpNoDelay(True)
        self.parser = httptools.HttpRequestParser(self)
        self._arm(self.limits.header_timeout)
        self.router.connections.add(self)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.closed = True
        self.router.connections.discard(self)
        self._disarm()
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        if self.owner is not None:
            self.owner.connectionLost(reason)
        if self.tunnel is not None and self.tunnel.transport is not None:
            self.tunnel.transport.loseConnection()
        for ex in [self.current, *self.queue]:
            if ex is not None:
                ex.client_gone()
                self.router.finished(ex)  # logged once, even if only its body was still due
        self.queue.clear()

    def dataReceived(self, data: bytes) -> None:
        if self.owner is not None:
            self.owner.dataReceived(data)
            return
        if self.tunnel is not None:
            assert self.tunnel.transport is not None
            self.tunnel.transport.write(data)
            return
        if self.upgrading is not None:
            self.upgrading.early_data += data  # until the tunnel is up (reading paused)
            return
        if self._last_request and self.parsing is None:
            return  # bytes after the connection's last request are not answered
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as e:
            self._upgrade(data[e.args[0] :])
        except httptools.HttpParserCallbackError as e:
            cause = e.__context__
            if isinstance(cause, _Reject):
                self._refuse(cause.status, cause.text)
            else:
                self.log.failure("request handling failed", Failure(cause or e))
                self._refuse(500, "Internal Server Error")
        except httptools.HttpParserError as e:
            if self._last_request and self.parsing is None:
                return  # llhttp refuses data after a "Connection: close" request: ignore it
            self._refuse(400, f"Bad Request: {e}")

    # -- httptools callbacks -------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._head_bytes = 0
        self._body_bytes = 0
        if self.current is None:
            self._arm(self.limits.header_timeout)

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > self.limits.max_uri_length:
            raise _Reject(414, "URI Too Long")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value) + 4
        if self._head_bytes > self.limits.max_header_bytes:
            raise _Reject(431, "Request Header Fields Too Large")
        self._headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        if self.current is None:
            self._disarm()
        parsed = httptools.parse_url(self._url)
        raw_path = parsed.path or b"/"
        head = RequestHead(
            method=self.parser.get_method(),
            target=self._url,
            path=unquote(raw_path.decode("latin-1"), encoding="utf-8", errors="surrogateescape"),
            query=parsed.query or b"",
            version=self.parser.get_http_version().encode("ascii"),
            headers=tuple(self._headers),
            client_ip=self.peer_ip,
        )
        declared = head.header(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limits.max_body:
            raise _Reject(413, "Content Too Large")
        keep_alive = self.parser.should_keep_alive()
        self._last_request = not keep_alive
        ex = Exchange(self, head, keep_alive, self.clock.seconds())
        ex.upgrade = self.parser.should_upgrade()
        self.parsing = ex
        if self.current is None:
            self.current = ex
            self.router.handle(ex)
        else:
            self.queue.append(ex)
            self.pause("pipeline")

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        if self._body_bytes > self.limits.max_body:
            raise _Reject(413, "Content Too Large")
        if self.parsing is not None:
            self.parsing.request_body(body)

    def on_message_complete(self) -> None:
        ex, self.parsing = self.parsing, None
        self._url = b""  # no request in progress: an idle timeout closes silently
        if ex is not None:
            ex.request_end()

    # -- exchanges ------------------------------------------------------------------------

    def exchange_done(self, ex: Exchange) -> None:
        """``ex`` has written its whole response (and read its whole request)."""
        self.router.finished(ex)
        if self.current is ex:
            self.current = None
        if not ex.keep_alive or self.closed:
            if self.transport is not None:
                self.transport.loseConnection()
            return
        if self.queue:
            self.current = self.queue.popleft()
            if not self.queue:
                self.resume("pipeline")
            self.router.handle(self.current)
        else:
            self.resume("pipeline")
            self._arm(self.limits.idle_connection_timeout)

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.closed:
            send_now(self.transport, data)

    def pause(self, reason: str) -> None:
        if not self._pauses and self.transport is not None:
            self.transport.pauseProducing()  # type: ignore[attr-defined]
        self._pauses.add(reason)

    def resume(self, reason: str) -> None:
        if reason in self._pauses:
            self._pauses.discard(reason)
            if not self._pauses and self.transport is not None and not self.closed:
                self.transport.resumeProducing()  # type: ignore[attr-defined]

    # -- errors, timeouts, upgrades -----------------------------------------------------

    def _refuse(self, status: int, text: str) -> None:
        """Answer a request we could not parse or accept, then close."""
        self._disarm()
        if self.current is not None and self.current.response_started:
            assert self.transport is not None
            self.transport.loseConnection()
            return
        ex = self.current or self.parsing
        if ex is None:
            head = RequestHead(b"-", self._url or b"-", "-", b"", b"1.1", (), self.peer_ip)
            ex = Exchange(self, head, False, self.clock.seconds())
            self.current = ex
        ex.keep_alive = False
        ex.kind = "error"
        ex.reply(
            Reply(
                status,
                ((b"content-type", b"text/plain; charset=utf-8"),),
                text.encode() + b"\n",
                kind="error",
            )
        )
        cancel, ex.on_gone = ex.on_gone, None
        if cancel is not None:
            cancel()  # stop whatever was still going to answer it (a wait, an upstream)

    def _arm(self, seconds: float) -> None:
        """Time out ``seconds`` from now (one timer, moved lazily: no churn per request)."""
        self._deadline = self.clock.seconds() + seconds
        if self._timer is None or not self._timer.active():
            self._timer = self.clock.callLater(seconds, self._timed_out)
        elif self._timer.getTime() > self._deadline:
            self._timer.reset(seconds)

    def _disarm(self) -> None:
        self._deadline = None

    def _timed_out(self) -> None:
        self._timer = None
        if self._deadline is None:
            return
        left = self._deadline - self.clock.seconds()
        if left > 0:
            self._timer = self.clock.callLater(left, self._timed_out)
            return
        if self.current is None and self.parsing is None and not self._url:
            if self.transport is not None:
                self.transport.loseConnection()  # idle keep-alive connection
            return
        self._refuse(408, "Request Timeout")

    def _upgrade(self, rest: bytes) -> None:
        """The request just parsed asks to switch protocols (e.g. WebSocket).

        Whatever follows its head belongs to the new protocol: it is kept for
        the tunnel, and reading pauses until the tunnel is up or refused.
        """
        ex = self.current
        if ex is None or not ex.upgrade or self.queue:
            self._refuse(400, "Bad Request")
            return
        self.upgrading = ex
        ex.early_data += rest
        self.pause("upgrade")
        if self._taker is not None:
            self._finish_hand_over()

    def start_tunnel(self, upstream: Protocol) -> None:
        """From now on, bytes from the client go to ``upstream`` as they are."""
        self.tunnel = upstream
        self.upgrading = None
        self.current = None  # the tunnel logs itself when it closes
        self._disarm()
        self.resume("upgrade")

    def hand_over(self, protocol: Protocol, head: bytes) -> None:
        """This upgrade's connection now belongs to ``protocol`` (the cable hub).

        ``protocol`` gets the transport, then ``head`` (the request head,
        rebuilt) and whatever the client sent after it, then every later byte
        and the connection's end.  Called while the head is being handled,
        the hand-over completes once the parser has reported the upgrade.
        """
        self._taker = (protocol, head)
        if self.upgrading is not None:
            self._finish_hand_over()

    def _finish_hand_over(self) -> None:
        assert self._taker is not None and self.upgrading is not None
        (protocol, head), self._taker = self._taker, None
        ex, self.upgrading = self.upgrading, None
        early, ex.early_data = ex.early_data, b""
        self.owner = protocol
        self.current = None  # the owner logs the exchange when the connection ends
        self._disarm()
        protocol.makeConnection(self.transport)
        protocol.dataReceived(head + early)
        self.resume("upgrade")


class FrontFactory(Factory):
    noisy = False

    def __init__(self, router: Router, clock: IReactorTime) -> None:
        self.router = router
        self.clock = clock

    def buildProtocol(self, addr: object) -> FrontProtocol:
        return FrontProtocol(self.router, self.clock)
