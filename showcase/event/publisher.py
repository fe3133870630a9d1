"""Publishing the event's cable streams to Redis (spec/cable.md): ``PUBLISH cable:<stream> <JSON>``.

:func:`make_publisher` gives the :data:`~showcase.event.context.Publish` the
:class:`~showcase.event.context.Context` calls: with ``SHOWCASE_REDIS`` a
:class:`RedisPublisher`, else a no-op.  The router's hub subscribes to the same
channels and fans each message out to the browsers.

A publish never blocks and never raises into the request that made it: the
command is written to the connection and its answer is not awaited.  While Redis
is unreachable, or stops answering, messages are dropped (live updates pause;
the saved scores are unaffected) and a warning is logged at most every
:data:`REPORT_EVERY` seconds, counting what was dropped.

The link is a small state machine, reconnecting with backoff (0.1 s, doubling, at
most 3 s) like the router's bus:

    connecting --(connected)--> up --(lost)--> backing off --(delay)--> connecting
    connecting --(failed)--> backing off
    any --(stop)--> stopped

Only ``AUTH`` (when the URL has a password), ``CLIENT SETNAME showcase-event:<db>``
(so ``CLIENT LIST`` tells which events are connected) and ``PUBLISH`` are sent, whose
answers are one line each, so this speaks the few lines of RESP it needs rather
than importing txredisapi: that would pull in the TLS stack, which the event
process does not load (measured here: +130 ms and +12 MB per event process).
Pub/sub ignores the database number, so no ``SELECT`` is sent.
"""

from __future__ import annotations

import enum
import json
from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IDelayedCall, IStreamClientEndpoint
from twisted.internet.protocol import Factory, connectionDone
from twisted.logger import Logger
from twisted.protocols.basic import LineOnlyReceiver
from twisted.python.failure import Failure

from .context import Publish

CHANNEL_PREFIX = b"cable:"
INITIAL_DELAY = 0.1
FACTOR = 2.0
MAX_DELAY = 3.0
REPORT_EVERY = 30.0  # seconds between two warnings about dropped messages
MAX_IN_FLIGHT = 1000  # commands written but not answered: beyond this Redis is stuck

log = Logger()


def discard(stream: str, data: object) -> None:
    """The publisher without Redis: live updates are off."""


def encode_command(*args: bytes) -> bytes:
    """One Redis command in RESP: an array of bulk strings."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        parts += [b"$%d\r\n" % len(arg), arg, b"\r\n"]
    return b"".join(parts)


def make_publisher(redis_url: str | None, reactor: Any, db_name: str) -> Publish:
    """What ``Context(publish=...)`` takes: PUBLISH to ``redis_url``, or nothing without one.

    A URL that cannot be used is logged and live updates stay off; the event still runs.
    """
    if not redis_url:
        return discard
    from showcase.cable.redis_url import Target

    try:
        target = Target.parse(redis_url)
        endpoint = target.endpoint(reactor)
    except Exception as error:
        log.error(
            "{event}: live updates off, SHOWCASE_REDIS is unusable: {error}",
            event=db_name,
            error=error,
        )
        return discard
    publisher = RedisPublisher(
        reactor,
        endpoint,
        target.display,
        password=target.password,
        username=target.username,
        name=db_name,
    )
    publisher.start()
    reactor.addSystemEventTrigger("before", "shutdown", publisher.stop)
    return publisher


class LinkState(enum.Enum):
    CONNECTING = "connecting"
    UP = "up"
    BACKING_OFF = "backing off"
    STOPPED = "stopped"


class _Connection(LineOnlyReceiver):
    """One connection to Redis: writes commands, counts the one-line answers."""

    delimiter = b"\r\n"
    MAX_LENGTH = 64 * 1024

    def __init__(self, owner: RedisPublisher) -> None:
        self.owner = owner
        self.in_flight = 0

    def command(self, *args: bytes) -> None:
        assert self.transport is not None
        self.transport.write(encode_command(*args))
        self.in_flight += 1

    def lineReceived(self, line: bytes) -> None:
        self.in_flight = max(0, self.in_flight - 1)
        if line.startswith(b"-"):
            self.owner.refused(line[1:].decode("utf-8", "replace"))

    def lineLengthExceeded(self, line: bytes) -> None:
        assert self.transport is not None
        self.transport.loseConnection()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.owner.lost(self, reason)


class _ConnectionFactory(Factory):
    def __init__(self, owner: RedisPublisher) -> None:
        self.owner = owner

    def buildProtocol(self, addr: Any) -> _Connection:
        connection = _Connection(self.owner)
        connection.factory = self
        return connection


class RedisPublisher:
    """Publishes to one Redis through ``endpoint``, reconnecting; a :data:`Publish`."""

    def __init__(
        self,
        reactor: Any,
        endpoint: IStreamClientEndpoint,
        where: str,
        password: str | None = None,
        username: str | None = None,
        name: str = "",
    ) -> None:
        self.reactor = reactor
        self.endpoint = endpoint
        self.where = where  # the URL without its password, for logs
        self.name = name
        self.client_name = ("showcase-event:" + "_".join(name.split())).encode() if name else b""
        self._auth = [v.encode("utf-8") for v in (username, password) if v] if password else []
        self.state = LinkState.STOPPED
        self.dropped = 0  # messages dropped since the last report
        self._connection: _Connection | None = None
        self._attempt: Deferred[Any] | None = None
        self._retry: IDelayedCall | None = None
        self._delay = INITIAL_DELAY
        self._ever_up = False
        self._reported_at: float | None = None

    # -- the Publish callable ------------------------------------------------------------

    def __call__(self, stream: str, data: object) -> None:
        """Send ``data`` (as JSON text) to ``cable:<stream>``, or drop it; never raises."""
        try:
            payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
            connection = self._connection
            if connection is None or self.state is not LinkState.UP:
                self._drop(stream, f"Redis at {self.where} is not connected")
            elif connection.in_flight >= MAX_IN_FLIGHT:
                self._drop(stream, f"Redis at {self.where} is not answering")
            else:
                connection.command(
                    b"PUBLISH", CHANNEL_PREFIX + stream.encode("utf-8"), payload.encode("utf-8")
                )
        except Exception:
            log.failure("{event}: publishing {stream}", event=self.name, stream=stream)

    # -- the link ----------------------------------------------------------------------------

    def start(self) -> None:
        """Connect, and keep reconnecting until :meth:`stop`."""
        if self.state is LinkState.STOPPED:
            self._connect()

    def stop(self) -> Deferred[None]:
        """Disconnect for good."""
        self.state = LinkState.STOPPED
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        self._retry = None
        attempt, self._attempt = self._attempt, None
        if attempt is not None:
            attempt.cancel()
        connection, self._connection = self._connection, None
        if connection is not None and connection.transport is not None:
            connection.transport.loseConnection()
        return succeed(None)

    def _connect(self) -> None:
        self.state = LinkState.CONNECTING
        self._retry = None
        attempt = self.endpoint.connect(_ConnectionFactory(self))
        self._attempt = attempt
        attempt.addCallbacks(self._connected, self._failed)

    def _connected(self, connection: _Connection) -> None:
        self._attempt = None
        if self.state is LinkState.STOPPED:
            assert connection.transport is not None
            connection.transport.loseConnection()
            return
        if self._auth:
            connection.command(b"AUTH", *self._auth)
        if self.client_name:
            connection.command(b"CLIENT", b"SETNAME", self.client_name)
        self._connection = connection
        self._delay = INITIAL_DELAY
        self.state = LinkState.UP
        log.info(
            "{event}: live updates {again}connected to {url}{dropped}",
            event=self.name,
            again="re" if self._ever_up else "",
            url=self.where,
            dropped=f" ({self.dropped} dropped while away)" if self.dropped else "",
        )
        self._ever_up = True
        self.dropped = 0
        self._reported_at = None

    def _failed(self, failure: Failure) -> None:
        self._attempt = None
        if self.state is LinkState.STOPPED:
            return
        self._report(f"cannot reach Redis at {self.where}: {failure.getErrorMessage()}")
        self._back_off()

    def lost(self, connection: _Connection, reason: Failure) -> None:
        if connection is not self._connection:
            return
        self._connection = None
        if self.state is LinkState.STOPPED:
            return
        self._report(f"lost Redis at {self.where}: {reason.getErrorMessage()}")
        self._back_off()

    def _back_off(self) -> None:
        self.state = LinkState.BACKING_OFF
        self._retry = self.reactor.callLater(self._delay, self._connect)
        self._delay = min(self._delay * FACTOR, MAX_DELAY)

    def refused(self, error: str) -> None:
        self._report(f"Redis at {self.where} refused a command: {error}")

    # -- reports (rate-limited) ------------------------------------------------------------

    def _drop(self, stream: str, why: str) -> None:
        self.dropped += 1
        self._report(f"{why}; {stream} not sent")

    def _report(self, why: str) -> None:
        now = self.reactor.seconds()
        if self._reported_at is not None and now - self._reported_at < REPORT_EVERY:
            return
        self._reported_at = now
        log.warn(
            "{event}: live updates paused, {why} ({dropped} message(s) dropped so far);"
            " scores are saved as usual",
            event=self.name,
            why=why,
            dropped=self.dropped,
        )
