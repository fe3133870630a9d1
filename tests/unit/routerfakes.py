"""A real :class:`~showcase.router.router.Router` over fake wires, for unit tests.

Client and upstream sockets are :class:`Wire` objects (a ``StringTransport``
whose close is delivered on the next reactor turn, as TCP does); the reactor
is a ``MemoryReactorClock``, so the router's real upstream pool "connects" by
recording ``connectTCP`` calls that a test completes with
:meth:`RouterHarness.upstream`.  Tenants are made ready by hand through
:class:`FakeSupervisor`, a twin of the supervisor methods the router calls.
"""

from __future__ import annotations

import json
import textwrap
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote

import attrs
import httptools
import yaml
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone, ConnectionLost, ConnectionRefusedError
from twisted.internet.protocol import Protocol
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure

from showcase.config import parse_config
from showcase.config.model import Config, Limits
from showcase.router.accesslog import AccessLog
from showcase.router.exchange import Exchange
from showcase.router.front import FrontFactory, FrontProtocol
from showcase.router.message import Headers, RequestHead
from showcase.router.router import Router
from showcase.router.upstream import UpstreamConnection
from showcase.tenants.supervisor import Supervisor

CLIENT_IP = "203.0.113.9"
TENANT_PORT = 4001


def _merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        elif isinstance(value, list) and isinstance(into.get(key), list):
            into[key] = into[key] + value
        else:
            into[key] = value


def load(tmp_path: Path, *parts: str) -> Config:
    """The config made of YAML ``parts`` merged in order (mappings merged, lists joined),
    relative paths against ``tmp_path`` (which gets an empty ``public`` directory)."""
    (tmp_path / "public").mkdir(exist_ok=True)
    merged: dict[str, Any] = {}
    for part in parts:
        _merge(merged, yaml.safe_load(textwrap.dedent(part)) or {})
    return parse_config(yaml.safe_dump(merged), "<test>", str(tmp_path))


def request(
    target: str,
    method: bytes = b"GET",
    headers: Headers = (),
    client_ip: str = CLIENT_IP,
    version: bytes = b"1.1",
) -> RequestHead:
    """A parsed request head for ``target`` (``/path?query``) as the front end makes it."""
    raw = target.encode("latin-1")
    path, _, query = raw.partition(b"?")
    return RequestHead(
        method=method,
        target=raw,
        path=unquote(path.decode("latin-1"), errors="surrogateescape"),
        query=query,
        version=version,
        headers=tuple((name.lower(), value) for name, value in headers),
        client_ip=client_ip,
    )


class Wire(StringTransport):
    """One end of a TCP connection: writes are kept; a close arrives on the next turn."""

    def __init__(self, clock: MemoryReactorClock, peer: IPv4Address) -> None:
        super().__init__(peerAddress=peer, lenient=True)
        self.clock = clock
        self.protocol: Protocol | None = None
        self.aborted = False

    def write(self, data: bytes) -> None:
        if self.connected:
            super().write(data)

    def loseConnection(self) -> None:
        if not self.disconnecting:
            self.disconnecting = True
            self.clock.callLater(0, self._lost, Failure(ConnectionDone()))

    def abortConnection(self) -> None:
        self.aborted = True
        self.loseConnection()

    def peer_closed(self, reason: Exception | None = None) -> None:
        """The other side went away (now)."""
        self._lost(Failure(reason or ConnectionLost()))

    def _lost(self, reason: Failure) -> None:
        if self.connected:
            self.connected = False
            assert self.protocol is not None
            self.protocol.connectionLost(reason)


@attrs.frozen
class Response:
    status: int
    reason: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes

    def header(self, name: bytes) -> bytes | None:
        values = [v for k, v in self.headers if k == name]
        assert len(values) <= 1, f"{name!r} repeated: {values}"
        return values[0] if values else None


class _ResponseReader:
    def __init__(self) -> None:
        self.done: list[Response] = []
        self._reason = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body = b""
        self.parser = httptools.HttpResponseParser(self)

    def on_message_begin(self) -> None:
        self._reason, self._headers, self._body = b"", [], b""

    def on_status(self, status: bytes) -> None:
        self._reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))

    def on_body(self, body: bytes) -> None:
        self._body += body

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        self.done.append(Response(status, self._reason, tuple(self._headers), self._body))


def responses(data: bytes) -> list[Response]:
    """The complete HTTP responses in ``data`` (not for answers to HEAD)."""
    reader = _ResponseReader()
    reader.parser.feed_data(data)
    return reader.done


class Client:
    """A client connection to the router's front end."""

    def __init__(self, harness: RouterHarness, ip: str) -> None:
        self.clock = harness.clock
        self.protocol = harness.factory.buildProtocol(IPv4Address("TCP", ip, 50000))
        self.wire = Wire(harness.clock, IPv4Address("TCP", ip, 50000))
        self.wire.protocol = self.protocol
        self.protocol.makeConnection(self.wire)

    def send(self, data: bytes) -> None:
        self.protocol.dataReceived(data)

    def received(self) -> bytes:
        return self.wire.value()

    def responses(self) -> list[Response]:
        return responses(self.received())

    def response(self) -> Response:
        """The one complete response received so far."""
        answers = self.responses()
        assert len(answers) == 1, self.received()
        return answers[0]

    @property
    def closed(self) -> bool:
        """The router closed (or is closing) this connection."""
        return self.wire.disconnecting or not self.wire.connected

    @property
    def paused(self) -> bool:
        """The router stopped reading from this connection."""
        return self.wire.producerState == "paused"

    def leave(self) -> None:
        """The client disconnects."""
        self.wire.peer_closed()


class Upstream:
    """The router's connection to a tenant or origin (the far end is the test)."""

    def __init__(self, protocol: UpstreamConnection, wire: Wire, host: str, port: int) -> None:
        self.protocol = protocol
        self.wire = wire
        self.host = host
        self.port = port

    def received(self) -> bytes:
        return self.wire.value()

    def head(self) -> tuple[bytes, list[tuple[bytes, bytes]]]:
        """The request line and headers (lower-case names) the router sent."""
        head = self.received().partition(b"\r\n\r\n")[0]
        line, *rest = head.split(b"\r\n")
        pairs = [tuple(h.split(b": ", 1)) for h in rest]
        return line, [(k.lower(), v) for k, v in pairs]

    def body(self) -> bytes:
        return self.received().partition(b"\r\n\r\n")[2]

    def reply(self, data: bytes) -> None:
        assert self.wire.protocol is not None
        self.wire.protocol.dataReceived(data)

    def close(self) -> None:
        """The upstream closes the connection."""
        self.wire.peer_closed(ConnectionDone())


def wire_of(conn: UpstreamConnection) -> Wire:
    """The fake socket under one of the router's upstream connections."""
    assert isinstance(conn.transport, Wire)
    return conn.transport


class FakeSupervisor:
    """The :class:`Supervisor` surface the router uses; tenants become ready by hand."""

    def __init__(self) -> None:
        self.addresses: dict[str, tuple[str, int]] = {}
        self.waiting: dict[str, list[Deferred[tuple[str, int]]]] = defaultdict(list)
        self.in_flight: Counter[str] = Counter()
        self.websockets: Counter[str] = Counter()
        self.known: set[str] | None = None  # None: every name exists

    def _check(self, name: str) -> None:
        if self.known is not None and name not in self.known:
            raise KeyError(name)

    def ready(self, name: str) -> Deferred[tuple[str, int]]:
        self._check(name)
        waiting: Deferred[tuple[str, int]] = Deferred()
        self.waiting[name].append(waiting)
        return waiting

    def ready_now(self, name: str) -> tuple[str, int] | None:
        self._check(name)
        return self.addresses.get(name)

    def request_started(self, name: str) -> None:
        self._check(name)
        self.in_flight[name] += 1

    def request_finished(self, name: str) -> None:
        self.in_flight[name] -= 1

    def websocket_opened(self, name: str) -> None:
        self._check(name)
        self.websockets[name] += 1

    def websocket_closed(self, name: str) -> None:
        self.websockets[name] -= 1

    def describe(self, name: str) -> dict[str, Any]:
        return {"started_via": "spawn", "start_ms": 1.5}

    # -- test controls --------------------------------------------------------------

    def make_ready(self, name: str, port: int = TENANT_PORT) -> None:
        """``name`` is up on 127.0.0.1:``port``; waiting requests go on."""
        self.addresses[name] = ("127.0.0.1", port)
        for waiting in self.waiting.pop(name, []):
            waiting.callback(self.addresses[name])


class _NoRouter:
    limits = Limits()
    connections: set[FrontProtocol] = set()


def bare_exchange(head: RequestHead) -> Exchange:
    """An exchange on a connection nobody reads: enough for deciding where it goes."""
    front = FrontProtocol(cast(Router, _NoRouter()), MemoryReactorClock())
    return Exchange(front, head, True, 0.0)


class RouterHarness:
    """A real router on a memory reactor, with a fake supervisor and an in-memory access log."""

    def __init__(self, config: Config) -> None:
        self.clock = MemoryReactorClock()
        self.supervisor = FakeSupervisor()
        self.log_lines: list[str] = []
        self.router = Router(
            self.clock,
            config,
            cast(Supervisor, self.supervisor),
            AccessLog(self.log_lines.append, self.clock.seconds),
        )
        self.factory = FrontFactory(self.router, self.clock)
        self._accepted = 0

    def client(self, ip: str = CLIENT_IP) -> Client:
        return Client(self, ip)

    def pending_connects(self) -> int:
        return len(self.clock.tcpClients) - self._accepted

    def accept(self) -> tuple[Protocol, Wire]:
        """Complete the oldest connection attempt the router made: its protocol and wire."""
        assert self.pending_connects() > 0, "the router did not connect anywhere"
        host, port, factory, _, _ = self.clock.tcpClients[self._accepted]
        self._accepted += 1
        wrapper = factory.buildProtocol(IPv4Address("TCP", host, port))
        assert isinstance(wrapper, Protocol)
        wire = Wire(self.clock, IPv4Address("TCP", host, port))
        wire.protocol = wrapper
        wrapper.makeConnection(wire)
        inner = getattr(wrapper, "_wrappedProtocol", wrapper)
        assert isinstance(inner, Protocol)
        return inner, wire

    def upstream(self) -> Upstream:
        """Complete the oldest connection attempt the router made (a pooled HTTP one)."""
        protocol, wire = self.accept()
        assert isinstance(protocol, UpstreamConnection)
        address = wire.getPeer()
        assert isinstance(address, IPv4Address)
        return Upstream(protocol, wire, address.host, address.port)

    def refuse(self) -> None:
        """Fail the oldest connection attempt the router made."""
        _, _, factory, _, _ = self.clock.tcpClients[self._accepted]
        connector = self.clock.connectors[self._accepted]
        self._accepted += 1
        factory.clientConnectionFailed(connector, Failure(ConnectionRefusedError()))

    def access(self) -> list[dict[str, Any]]:
        """The access-log lines written so far, parsed."""
        return [json.loads(line) for line in self.log_lines]
