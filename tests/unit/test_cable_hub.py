"""The cable hub: turbo_cable's protocol, stream scoping, limits, and the router's hand-over.

Hub tests connect Autobahn clients through ``autobahn.twisted.testing``'s
memory agent: bytes move when :meth:`Pumps.flush` says so, time moves with
``MemoryReactorClock.advance`` (Autobahn's own timers run on it too, through
``txaio.config.loop``).  Router tests speak raw WebSocket frames over the
fake wires of :mod:`routerfakes`.  The bus is the in-memory twin.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import txaio.tx
from autobahn.twisted.testing import create_memory_agent
from autobahn.twisted.websocket import WebSocketClientProtocol
from hypothesis import given
from hypothesis import strategies as st
from routerfakes import RouterHarness, load
from twisted.internet.defer import Deferred
from twisted.internet.testing import MemoryReactorClock
from twisted.test.iosim import IOPump

from showcase.cable.bus import MemoryBus
from showcase.cable.hub import CableProtocol, Hub
from showcase.cable.streams import NOT_PUBLIC, OTHER_TENANT, UNKNOWN, Scope, stream_db

BOSTON = "2025-boston"
HEAT = f"current-heat-{BOSTON}"


def result_of(d: Deferred[Any]) -> Any:
    """The result of a Deferred that has fired (raising its failure)."""
    results: list[Any] = []
    d.addBoth(results.append)
    assert results, "the Deferred has not fired"
    if hasattr(results[0], "raiseException"):
        results[0].raiseException()
    return results[0]


class Pumps:
    """An IPumper whose pumps move bytes only when the test calls :meth:`flush`."""

    def __init__(self) -> None:
        self.pumps: list[IOPump] = []

    def add(self, pump: IOPump) -> None:
        self.pumps.append(pump)

    def start(self) -> None:
        pass

    def stop(self) -> Deferred[None]:
        return Deferred()

    def flush(self) -> None:
        for pump in self.pumps:
            pump.flush()


class Client(WebSocketClientProtocol):
    """A browser's cable client: keeps what it receives; answers pings if asked to."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[Any] = []
        self.answer_pings = False
        self.close_code: int | None = None
        self.closed = False

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        message = json.loads(payload)
        self.received.append(message)
        if self.answer_pings and message == {"type": "ping"}:
            self.send({"type": "pong"})

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        self.closed = True
        self.close_code = code

    def send(self, message: object) -> None:
        self.sendMessage(json.dumps(message).encode())

    def messages(self) -> list[Any]:
        return [m for m in self.received if m.get("type") == "message"]


class Cable:
    """A hub on a memory clock and bus, and a way to connect clients to it."""

    def __init__(self) -> None:
        self.clock = MemoryReactorClock()
        self.bus = MemoryBus()
        self.bus.start()
        self.hub = Hub(self.clock, self.bus)
        self.pumps = Pumps()
        self.servers: list[CableProtocol] = []

    def connect(self, scope: Scope) -> Client:
        def server() -> CableProtocol:
            proto = self.hub.connection(scope)
            self.servers.append(proto)
            return proto

        agent = create_memory_agent(self.clock, self.pumps, server)
        opened = agent.open("ws://127.0.0.1:80/cable", {}, protocol_class=Client)
        self.pumps.flush()
        client = result_of(opened)
        assert isinstance(client, Client)
        return client

    def say(self, client: Client, message: object) -> None:
        client.send(message)
        self.pumps.flush()

    def publish(self, stream: str, data: bytes) -> None:
        """A message arrives from the bus (published by any process)."""
        result_of(self.bus.publish(stream, data))
        self.pumps.flush()

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.pumps.flush()


@pytest.fixture
def cable(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cable]:
    made = Cable()
    monkeypatch.setattr(txaio.tx.config, "loop", made.clock)  # Autobahn's own timers
    yield made
    made.bus.stop()


# -- protocol ------------------------------------------------------------------------------


def test_subscribe_is_confirmed_and_messages_follow(cable: Cable) -> None:
    """``subscribe`` is answered ``subscribed``; a bus message then arrives as ``message``."""
    client = cable.connect(Scope(BOSTON))
    cable.say(client, {"type": "subscribe", "stream": HEAT})
    assert client.received == [{"type": "subscribed", "stream": HEAT}]
    cable.publish(HEAT, b'"<turbo-stream action=\\"replace\\"></turbo-stream>"')
    assert client.received[-1] == {
        "type": "message",
        "stream": HEAT,
        "data": '<turbo-stream action="replace"></turbo-stream>',
    }


def test_any_json_value_is_passed_through_and_other_payloads_become_strings(cable: Cable) -> None:
    """JSON data arrives as published; a payload that is not JSON arrives as a string."""
    client = cable.connect(Scope(BOSTON))
    stream = f"config_update_{BOSTON}_alice"
    cable.say(client, {"type": "subscribe", "stream": stream})
    cable.publish(stream, b'{"status":"processing","progress":40,"message":"copying"}')
    cable.publish(stream, b"<turbo-stream></turbo-stream>")
    assert [m["data"] for m in client.messages()] == [
        {"status": "processing", "progress": 40, "message": "copying"},
        "<turbo-stream></turbo-stream>",
    ]


def test_unsubscribe_stops_messages(cable: Cable) -> None:
    """After ``unsubscribe`` the stream's messages no longer arrive (no reply is sent)."""
    client = cable.connect(Scope(BOSTON))
    cable.say(client, {"type": "subscribe", "stream": HEAT})
    cable.say(client, {"type": "unsubscribe", "stream": HEAT})
    cable.publish(HEAT, b"1")
    assert client.received == [{"type": "subscribed", "stream": HEAT}]


def test_invalid_json_binary_frames_and_unknown_types_are_ignored(cable: Cable) -> None:
    """Garbage is ignored without an answer, and the connection keeps working."""
    client = cable.connect(Scope(BOSTON))
    client.sendMessage(b"{not json")
    client.sendMessage(b"\x00\x01", isBinary=True)
    cable.say(client, {"type": "dance"})
    cable.say(client, ["subscribe", HEAT])
    cable.say(client, {"type": "subscribe", "stream": 7})
    cable.say(client, {"type": "subscribe", "stream": HEAT})
    assert client.received == [{"type": "subscribed", "stream": HEAT}]
    assert not client.closed


# -- scoping ------------------------------------------------------------------------------------


def test_a_tenant_connection_gets_only_its_own_streams(cable: Cable) -> None:
    """Under a tenant's path, its streams are subscribed; another tenant's and unknown
    ones are ``rejected`` with a reason."""
    client = cable.connect(Scope(BOSTON))
    own = [HEAT, f"live-scores-{BOSTON}", f"config_update_{BOSTON}_alice"]
    others = ["current-heat-2025-boston-spring", "live-scores-2024-boston", "chat"]
    for stream in own + others:
        cable.say(client, {"type": "subscribe", "stream": stream})
    assert client.received == [{"type": "subscribed", "stream": s} for s in own] + [
        {"type": "rejected", "stream": others[0], "reason": OTHER_TENANT},
        {"type": "rejected", "stream": others[1], "reason": OTHER_TENANT},
        {"type": "rejected", "stream": others[2], "reason": UNKNOWN},
    ]
    cable.publish("current-heat-2025-boston-spring", b"1")
    assert client.messages() == []


def test_the_root_connection_with_auth_gets_public_streams_only(cable: Cable) -> None:
    """At the root path, with auth on, any tenant's public streams are allowed, others not."""
    client = cable.connect(Scope(None, every_tenant=False))
    cable.say(client, {"type": "subscribe", "stream": "live-scores-2025-nyc"})
    cable.say(client, {"type": "subscribe", "stream": f"config_update_{BOSTON}_bob"})
    assert client.received == [
        {"type": "subscribed", "stream": "live-scores-2025-nyc"},
        {"type": "rejected", "stream": f"config_update_{BOSTON}_bob", "reason": NOT_PUBLIC},
    ]


def test_the_root_connection_without_auth_gets_every_known_stream(cable: Cable) -> None:
    """At the root path with auth disabled, every known stream is allowed; unknown ones not."""
    client = cable.connect(Scope(None, every_tenant=True))
    cable.say(client, {"type": "subscribe", "stream": f"config_update_{BOSTON}_bob"})
    cable.say(client, {"type": "subscribe", "stream": "anything"})
    assert [m["type"] for m in client.received] == ["subscribed", "rejected"]


def test_a_connection_holds_at_most_100_subscriptions(cable: Cable) -> None:
    """The 101st distinct stream of one connection is rejected; its 100 stay."""
    client = cable.connect(Scope(None, every_tenant=True))
    for i in range(101):
        cable.say(client, {"type": "subscribe", "stream": f"live-scores-e{i}"})
    assert [m["type"] for m in client.received].count("subscribed") == 100
    assert client.received[-1]["reason"] == "too many subscriptions"


dbs = st.from_regex(r"[0-9a-z][0-9a-z-]{0,30}", fullmatch=True)


@given(own=dbs, other=dbs, user=st.from_regex(r"[a-z0-9_]{1,12}", fullmatch=True))
def test_no_stream_of_another_tenant_is_ever_allowed(own: str, other: str, user: str) -> None:
    """For any two db names, a connection of one refuses all three streams of the other
    and allows its own."""
    streams = ["current-heat-{}", "live-scores-{}", "config_update_{}_" + user]
    for template in streams:
        assert Scope(own).refusal(template.format(own)) is None
        assert stream_db(template.format(other)) == other
        if other != own:
            assert Scope(own).refusal(template.format(other)) == OTHER_TENANT


# -- the bus follows local subscribers -----------------------------------------------------------


class ConfirmingLater(MemoryBus):
    """A bus whose server confirms subscriptions when the test says so."""

    def __init__(self) -> None:
        super().__init__()
        self.unconfirmed: list[Deferred[None]] = []

    def subscribe(self, stream: str) -> Deferred[None]:
        super().subscribe(stream)
        confirmation: Deferred[None] = Deferred()
        self.unconfirmed.append(confirmation)
        return confirmation


def test_subscribed_is_sent_once_the_bus_confirmed(cable: Cable) -> None:
    """``subscribed`` waits for the bus's confirmation, for every client that asked
    meanwhile: a publish made after a client saw it reaches that client."""
    bus = ConfirmingLater()
    bus.start()
    cable.hub = Hub(cable.clock, bus)
    first, second = cable.connect(Scope(BOSTON)), cable.connect(Scope(BOSTON))
    cable.say(first, {"type": "subscribe", "stream": HEAT})
    cable.say(second, {"type": "subscribe", "stream": HEAT})
    assert first.received == second.received == []
    [confirmation] = bus.unconfirmed
    confirmation.callback(None)
    cable.pumps.flush()
    assert first.received == second.received == [{"type": "subscribed", "stream": HEAT}]


def test_the_bus_subscribes_for_the_first_and_unsubscribes_after_the_last(cable: Cable) -> None:
    """One bus subscription per stream however many clients; dropped when the last leaves."""
    first, second = cable.connect(Scope(BOSTON)), cable.connect(Scope(BOSTON))
    cable.say(first, {"type": "subscribe", "stream": HEAT})
    cable.say(second, {"type": "subscribe", "stream": HEAT})
    assert cable.bus.subscriptions() == {HEAT}
    assert cable.hub.subscriber_count(HEAT) == 2
    cable.say(first, {"type": "unsubscribe", "stream": HEAT})
    assert cable.bus.subscriptions() == {HEAT}
    second.dropConnection(abort=True)
    cable.pumps.flush()
    assert cable.bus.subscriptions() == frozenset()
    assert cable.hub.connections == {cable.servers[0]}


# -- ping, pong, deadline -----------------------------------------------------------------------


def test_a_ping_goes_out_every_30_seconds(cable: Cable) -> None:
    """The server sends ``{"type":"ping"}`` every 30 s."""
    client = cable.connect(Scope(BOSTON))
    client.answer_pings = True
    cable.advance(29.9)
    assert client.received == []
    cable.advance(0.1)
    cable.advance(30)
    assert client.received == [{"type": "ping"}, {"type": "ping"}]


def test_no_pong_for_60_seconds_closes_the_connection(cable: Cable) -> None:
    """A client that never answers is dropped 60 s after its last pong (here: its open)."""
    client = cable.connect(Scope(BOSTON))
    cable.say(client, {"type": "subscribe", "stream": HEAT})
    cable.advance(59.9)
    assert not client.closed
    cable.advance(0.1)
    assert client.closed
    assert cable.hub.connections == set() and cable.bus.subscriptions() == frozenset()


def test_json_pongs_keep_a_connection_open(cable: Cable) -> None:
    """A client answering each ping with ``{"type":"pong"}`` stays connected."""
    client = cable.connect(Scope(BOSTON))
    client.answer_pings = True
    for _ in range(10):
        cable.advance(30)
    assert not client.closed


def test_a_websocket_pong_frame_counts_as_a_pong(cable: Cable) -> None:
    """A WebSocket pong control frame extends the deadline like a JSON pong."""
    client = cable.connect(Scope(BOSTON))
    cable.advance(50)
    client.sendPong(b"")
    cable.pumps.flush()
    cable.advance(50)
    assert not client.closed
    cable.advance(10)
    assert client.closed


# -- limits -------------------------------------------------------------------------------------


def test_a_frame_over_128k_closes_with_1009(cable: Cable) -> None:
    """A client frame larger than 128 KB closes the connection with status 1009."""
    client = cable.connect(Scope(BOSTON))
    client.sendMessage(b'"' + b"x" * (128 * 1024) + b'"')
    cable.pumps.flush()
    assert client.closed
    assert client.close_code == 1009


def test_a_frame_of_128k_is_accepted(cable: Cable) -> None:
    """A frame of exactly 128 KB is within the limit (and ignored: it is not a message type)."""
    client = cable.connect(Scope(BOSTON))
    client.sendMessage(b'"' + b"x" * (128 * 1024 - 2) + b'"')
    cable.say(client, {"type": "subscribe", "stream": HEAT})
    assert client.received == [{"type": "subscribed", "stream": HEAT}]


def test_a_slow_client_keeps_256_queued_messages_and_loses_the_rest(cable: Cable) -> None:
    """While a client's socket is full, 256 messages wait; later ones are dropped silently;
    the connection stays and gets new messages once it drains."""
    client = cable.connect(Scope(BOSTON))
    cable.say(client, {"type": "subscribe", "stream": HEAT})
    [server] = cable.servers
    server.cable_outbox.pauseProducing()  # what the transport does when its buffer is full
    for i in range(300):
        cable.publish(HEAT, b"%d" % i)
    assert client.messages() == []
    server.cable_outbox.resumeProducing()
    cable.pumps.flush()
    assert [m["data"] for m in client.messages()] == list(range(256))
    cable.publish(HEAT, b"300")
    assert client.messages()[-1]["data"] == 300
    assert not client.closed


def test_close_all_says_going_away(cable: Cable) -> None:
    """At shutdown every client gets a close frame with 1001 (going away)."""
    client = cable.connect(Scope(BOSTON))
    cable.hub.close_all()
    cable.pumps.flush()
    assert (client.closed, client.close_code) == (True, 1001)


# -- through the router -------------------------------------------------------------------------

CABLE_CONFIG = """
applications:
  tenants:
    - path: /showcase/2025/boston/
      env: {SHOWCASE_DB: /data/db/2025-boston.sqlite3}
    - path: /showcase/2025/nyc/
server:
  root_path: /showcase
cable:
  enabled: true
"""


def handshake(path: str) -> bytes:
    key = base64.b64encode(os.urandom(16))
    return (
        b"GET %s HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path.encode(), key)
    )


def frame(message: object) -> bytes:
    """A masked text frame, as a browser sends it."""
    payload = json.dumps(message).encode()
    mask = os.urandom(4)
    assert len(payload) < 126
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + masked


def frames(data: bytes) -> list[Any]:
    """The JSON text frames the server sent in ``data`` (after the 101 head)."""
    data = data.partition(b"\r\n\r\n")[2]
    found, i = [], 0
    while i + 2 <= len(data):
        opcode, n = data[i] & 0x0F, data[i + 1] & 0x7F
        i += 2
        if n == 126:
            n, i = int.from_bytes(data[i : i + 2], "big"), i + 2
        found.append(json.loads(data[i : i + n]) if opcode == 1 else ("opcode", opcode))
        i += n
    return found


@pytest.fixture
def routed(tmp_path: Path, cable: Cable) -> RouterHarness:
    harness = RouterHarness(load(tmp_path, CABLE_CONFIG))
    harness.router.hub = cable.hub  # what Machine passes to Router
    cable.hub.clock = harness.clock
    return harness


def broadcast(h: RouterHarness, body: bytes, method: bytes = b"POST") -> int:
    client = h.client("127.0.0.1")
    client.send(
        b"%s /_broadcast HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n%s"
        % (method, len(body), body)
    )
    return client.response().status


def test_the_router_hands_a_cable_upgrade_to_the_hub(routed: RouterHarness) -> None:
    """An upgrade to ``<root_path>/cable`` is answered 101 by the hub, on the router's port;
    a frame sent right behind the request head is not lost."""
    client = routed.client()
    client.send(handshake("/showcase/cable") + frame({"type": "subscribe", "stream": HEAT}))
    assert client.received().startswith(b"HTTP/1.1 101 ")
    assert frames(client.received()) == [{"type": "subscribed", "stream": HEAT}]
    assert routed.access() == []  # logged when it closes


def test_a_tenant_cable_path_is_scoped_by_its_database_name(routed: RouterHarness) -> None:
    """``<tenant path>cable`` takes the db name from SHOWCASE_DB (else the tenant's name)."""
    boston, nyc = routed.client(), routed.client()
    boston.send(handshake("/showcase/2025/boston/cable"))
    nyc.send(handshake("/showcase/2025/nyc/cable"))
    boston.send(frame({"type": "subscribe", "stream": HEAT}))
    nyc.send(frame({"type": "subscribe", "stream": HEAT}))
    nyc.send(frame({"type": "subscribe", "stream": "current-heat-2025-nyc"}))
    assert frames(boston.received()) == [{"type": "subscribed", "stream": HEAT}]
    assert [m["type"] for m in frames(nyc.received())] == ["rejected", "subscribed"]


def test_a_broadcast_reaches_subscribers_and_is_logged(routed: RouterHarness) -> None:
    """``POST /_broadcast`` from loopback publishes: 200, and subscribers get the data."""
    listener = routed.client()
    listener.send(handshake("/showcase/cable") + frame({"type": "subscribe", "stream": HEAT}))
    body = json.dumps({"stream": HEAT, "data": "<turbo-stream></turbo-stream>"}).encode()
    assert broadcast(routed, body) == 200
    assert frames(listener.received())[-1] == {
        "type": "message",
        "stream": HEAT,
        "data": "<turbo-stream></turbo-stream>",
    }
    [line] = routed.access()
    assert (line["status"], line["response_type"]) == (200, "broadcast")


@pytest.mark.parametrize(
    ("body", "method", "status"),
    [
        (b"{oops", b"POST", 400),
        (b'{"data": 1}', b"POST", 400),
        (b'["current-heat-x"]', b"POST", 400),
        (b"", b"PUT", 405),
    ],
)
def test_bad_broadcasts_are_refused(
    routed: RouterHarness, body: bytes, method: bytes, status: int
) -> None:
    """Bad JSON or no stream: 400; a method other than POST: 405."""
    assert broadcast(routed, body, method) == status


def test_a_broadcast_while_the_bus_is_down_is_503(routed: RouterHarness, cable: Cable) -> None:
    """With the bus down the broadcast is not silently lost: 503."""
    cable.bus.broker.go_down()
    assert broadcast(routed, b'{"stream": "live-scores-x", "data": 1}') == 503


def test_a_plain_get_of_a_cable_path_is_426(routed: RouterHarness) -> None:
    """A cable path without an Upgrade request says what it is: 426 Upgrade Required."""
    client = routed.client()
    client.send(b"GET /showcase/cable HTTP/1.1\r\nHost: h\r\n\r\n")
    answer = client.response()
    assert (answer.status, answer.header(b"upgrade")) == (426, b"websocket")


def test_a_websocket_is_logged_when_it_closes(routed: RouterHarness) -> None:
    """The access log gets one line for the connection, when it ends: 101, websocket."""
    client = routed.client()
    client.send(handshake("/showcase/2025/boston/cable"))
    client.leave()
    routed.clock.advance(0)
    [line] = routed.access()
    assert (line["status"], line["response_type"], line["tenant"]) == (
        101,
        "websocket",
        "2025-boston",
    )


def test_websockets_survive_a_reload(routed: RouterHarness, tmp_path: Path) -> None:
    """A config reload swaps routes but keeps the hub: open connections still get messages."""
    client = routed.client()
    client.send(handshake("/showcase/cable") + frame({"type": "subscribe", "stream": HEAT}))
    routed.router.apply(load(tmp_path, CABLE_CONFIG, "maintenance: {enabled: true}\n"))
    assert broadcast(routed, json.dumps({"stream": HEAT, "data": 5}).encode()) == 200
    assert frames(client.received())[-1]["data"] == 5


def test_a_bad_websocket_handshake_is_refused_and_logged(routed: RouterHarness) -> None:
    """An upgrade to a cable path without a valid handshake gets 400 from the hub, logged."""
    client = routed.client()
    client.send(b"GET /showcase/cable HTTP/1.1\r\nHost: h\r\n")
    client.send(b"Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
    routed.clock.advance(0)
    assert client.received().startswith(b"HTTP/1.1 400 ")
    assert client.closed
    [line] = routed.access()
    assert (line["status"], line["response_type"]) == (400, "websocket")
