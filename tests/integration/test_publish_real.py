"""The event app publishing to a real redis-server: what a score and a start_heat send.

``python -m showcase.event`` runs with ``SHOWCASE_REDIS`` pointing at a
redis-server on a unix socket (tests/integration/redisproc.py); the test
subscribes to ``cable:*`` with a plain socket speaking RESP.  Waits are on
socket reads and on ``CLIENT LIST`` (the publisher names its connection
``showcase-event:<db>``), never fixed sleeps.
"""

from __future__ import annotations

import http.client
import json
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from showcase.event.db import create
from tests import judgingevent as ev

from .appproc import app_process
from .redisproc import RedisServer
from .routerproc import wait_for

pytestmark = pytest.mark.integration

DB = "2026-live"
SCOPE = "/showcase/2026/live"
LIVE_SCORES = f"cable:live-scores-{DB}"
CURRENT_HEAT = f"cable:current-heat-{DB}"


class Resp:
    """A blocking Redis connection on a unix socket (enough RESP for these tests)."""

    def __init__(self, path: Path, timeout: float = 10.0) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.buffer = b""

    def send(self, *args: str) -> None:
        parts = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg.encode()
            parts += [b"$%d\r\n" % len(data), data, b"\r\n"]
        self.sock.sendall(b"".join(parts))

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("redis closed the connection")
            self.buffer += data
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def _exactly(self, size: int) -> bytes:
        while len(self.buffer) < size + 2:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("redis closed the connection")
            self.buffer += data
        value, self.buffer = self.buffer[:size], self.buffer[size + 2 :]
        return value

    def reply(self) -> Any:
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise AssertionError(f"redis error: {rest.decode()}")
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            return None if size < 0 else self._exactly(size).decode()
        if kind == b"*":
            return [self.reply() for _ in range(int(rest))]
        raise AssertionError(f"unexpected reply {line!r}")

    def command(self, *args: str) -> Any:
        self.send(*args)
        return self.reply()

    def close(self) -> None:
        self.sock.close()


class Subscriber(Resp):
    """Subscribed to the event's two public channels."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.send("SUBSCRIBE", LIVE_SCORES, CURRENT_HEAT)
        assert self.reply() == ["subscribe", LIVE_SCORES, 1]
        assert self.reply() == ["subscribe", CURRENT_HEAT, 2]

    def message(self) -> tuple[str, Any]:
        """The next message: its channel and its data (the JSON decoded)."""
        kind, channel, payload = self.reply()
        assert kind == "message"
        return channel, json.loads(payload)


class EventProcess:
    """The event app on ``port`` over ``db``, publishing to the test's redis-server."""

    def __init__(self, db: Path, port: int) -> None:
        self.db = db
        self.port = port

    def post_json(self, path: str, value: object) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(
                "POST",
                SCOPE + path,
                body=json.dumps(value).encode(),
                headers={"Content-Type": "application/json"},
            )
            response = conn.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            conn.close()


@pytest.fixture
def event(tmp_path: Path, redis: RedisServer) -> Iterator[EventProcess]:
    """The event app with SHOWCASE_REDIS set, stopped afterwards."""
    db = tmp_path / f"{DB}.sqlite3"
    create(str(db), ev.populate)
    env = {"SHOWCASE_DB": str(db), "SHOWCASE_SCOPE": SCOPE, "SHOWCASE_REDIS": redis.url}
    with app_process("showcase.event", tmp_path, env) as port:
        yield EventProcess(db, port)


def publisher_connected(redis: RedisServer) -> None:
    """Wait until the event's publisher shows in CLIENT LIST."""
    admin = Resp(redis.socket)
    try:
        wait_for(
            lambda: f"name=showcase-event:{DB} " in admin.command("CLIENT", "LIST"),
            10,
            "the event's publisher to connect to Redis",
        )
    finally:
        admin.close()


def saved_values(db: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [r[0] for r in conn.execute("SELECT value FROM scores ORDER BY id")]
    finally:
        conn.close()


def test_a_score_post_publishes_live_scores(event: EventProcess, redis: RedisServer) -> None:
    """A judge's score reaches cable:live-scores-<db> as a turbo-stream for #last-score-update."""
    publisher_connected(redis)
    subscriber = Subscriber(redis.socket)
    try:
        code, answer = event.post_json(
            f"/scores/{ev.JUDY}/post", {"heat": ev.H1_ARTHUR, "score": "G"}
        )
        assert code == 200
        channel, data = subscriber.message()
        assert channel == LIVE_SCORES
        assert data.startswith('<turbo-stream action="replace" target="last-score-update">')
        assert f'datetime="{answer["updated_at"]}"' in data
    finally:
        subscriber.close()


def test_start_heat_publishes_the_current_heat(event: EventProcess, redis: RedisServer) -> None:
    """Starting heat 2 sends cable:current-heat-<db> a turbo-stream replacing #current-heat."""
    publisher_connected(redis)
    subscriber = Subscriber(redis.socket)
    try:
        assert event.post_json("/event/start_heat", {"heat": 2}) == (200, {"current_heat": 2})
        channel, data = subscriber.message()
        assert channel == CURRENT_HEAT
        assert data.startswith('<turbo-stream action="replace" target="current-heat">')
        assert '<div class="counter-number">2</div>' in data and "Rumba" in data
    finally:
        subscriber.close()


def test_without_redis_scoring_still_works(event: EventProcess, redis: RedisServer) -> None:
    """Redis stopped: a score post still answers 200 and the score is saved."""
    redis.kill()
    code, answer = event.post_json(f"/scores/{ev.JUDY}/post", {"heat": ev.H1_ARTHUR, "score": "G"})
    assert code == 200 and answer["value"] == "G"
    assert event.post_json("/event/start_heat", {"heat": 1}) == (200, {"current_heat": 1})
    assert saved_values(event.db) == ["G"]


def test_publishing_resumes_when_redis_comes_back(event: EventProcess, redis: RedisServer) -> None:
    """Scores saved while Redis is down are kept; once it is back, new scores are published."""
    publisher_connected(redis)
    redis.kill()
    code, _ = event.post_json(f"/scores/{ev.JUDY}/post", {"heat": ev.H1_ARTHUR, "score": "S"})
    assert code == 200
    redis.start()
    publisher_connected(redis)
    subscriber = Subscriber(redis.socket)
    try:
        code, _ = event.post_json(f"/scores/{ev.JUDY}/post", {"heat": ev.H1_JACK, "score": "B"})
        assert code == 200
        channel, _ = subscriber.message()
        assert channel == LIVE_SCORES
    finally:
        subscriber.close()
    assert saved_values(event.db) == ["S", "B"]
