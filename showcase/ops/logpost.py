"""Sending sealed log batches to a logger instance, in order, with backoff.

:class:`Sender` POSTs the oldest batch waiting in a :mod:`~showcase.ops.logbuffer`,
one at a time.  A 2xx answer acknowledges it; a network error or any other
answer keeps it and retries with backoff (:data:`BACKOFF_MIN` doubling to
:data:`BACKOFF_MAX`), except 400/413 (the logger will never take that batch:
logged and dropped).  ``stop`` sends what it can within a grace period; the rest
waits in the buffer for the next start.

:class:`HttpPoster` is the real ``post``: one treq request per batch.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from .logbuffer import Batch, Buffer

BACKOFF_MIN = 0.5
BACKOFF_MAX = 30.0
POST_TIMEOUT = 10.0
REFUSED_FOR_GOOD = (400, 413)

Post = Callable[[bytes, int], "Deferred[int]"]
"""Send one batch (its bytes, its sequence number); fires with the HTTP status."""


class Sender:
    """Sends the batches of ``buffer`` through ``post``, oldest first, one at a time.

    It logs through ``log``: the :class:`~showcase.ops.logship.Shipper` it sends for.
    """

    def __init__(self, clock: IReactorTime, buffer: Buffer, post: Post, log: Logger) -> None:
        self.clock = clock
        self.buffer = buffer
        self.post = post
        self.log = log
        self.backoff = BACKOFF_MIN
        self.failing = False
        self.running = False
        self._retry_call: IDelayedCall | None = None
        self._sending: Deferred[int] | None = None
        self._drained: Deferred[None] | None = None

    def start(self) -> None:
        """Begin sending (what an earlier run left in the buffer goes first)."""
        self.running = True
        self.kick()

    def kick(self) -> None:
        """Send the oldest batch, unless stopped, a batch is on its way or a retry waits."""
        if not self.running or self._sending is not None or self._retry_call is not None:
            return
        batch = self.buffer.oldest()
        if batch is None:
            drained, self._drained = self._drained, None
            if drained is not None:
                drained.callback(None)
            return
        sending = self._sending = self.post(batch.data, batch.seq)
        sending.addCallbacks(
            self._answered, self._failed, callbackArgs=(batch,), errbackArgs=(batch,)
        )

    def _answered(self, status: int, batch: Batch) -> None:
        self._sending = None
        if not self.running:
            return
        if 200 <= status < 300:
            self.buffer.ack(batch.seq)
            if self.failing:
                self.log.info("log shipping resumed")
            self.failing, self.backoff = False, BACKOFF_MIN
        elif status in REFUSED_FOR_GOOD:
            self.log.error(
                "the logger refused batch {seq} with {status}; its {n} lines are dropped",
                seq=batch.seq,
                status=status,
                n=batch.lines,
            )
            self.buffer.ack(batch.seq)
        else:
            self._retry(f"HTTP {status}")
            return
        self.clock.callLater(0, self.kick)  # not recursively: a fake may answer at once

    def _failed(self, failure: Failure, batch: Batch) -> None:
        self._sending = None
        if self.running:  # else cancelled by stop: the batch waits for the next start
            self._retry(str(failure.value) or failure.type.__name__)

    def _retry(self, reason: str) -> None:
        if not self.failing:
            self.failing = True
            self.log.warn(
                "log shipping failed ({reason}); lines are kept and sent again", reason=reason
            )
        self._retry_call = self.clock.callLater(self.backoff, self._retry_now)
        self.backoff = min(BACKOFF_MAX, self.backoff * 2)

    def _retry_now(self) -> None:
        self._retry_call = None
        self.kick()

    def stop(self, grace: float) -> Deferred[None]:
        """Send what can be sent within ``grace`` seconds, then stop (while running)."""
        if self._retry_call is not None and self._retry_call.active():
            self._retry_call.cancel()
            self._retry_call = None
        drained = self._drained = Deferred()
        deadline = self.clock.callLater(grace, self._give_up)
        self.kick()

        def finished(_: object) -> None:
            if deadline.active():
                deadline.cancel()
            self.running = False

        drained.addCallback(finished)
        return drained

    def _give_up(self) -> None:
        self.running = False
        if self._retry_call is not None and self._retry_call.active():
            self._retry_call.cancel()
        self._retry_call = None
        sending, self._sending = self._sending, None
        if sending is not None:
            sending.cancel()
        if self.buffer.pending():
            self.log.info("{n} log batches wait for the next start", n=self.buffer.pending())
        drained, self._drained = self._drained, None
        if drained is not None:
            drained.callback(None)


class HttpPoster:
    """POSTs a batch to the logger with treq: ``Authorization: Bearer <secret>``,
    ``X-Log-Source`` and ``X-Log-Seq``; fires with the status."""

    def __init__(
        self,
        reactor: Any,
        url: str,
        secret: str | None,
        source: str,
        client: Any = None,
        timeout: float = POST_TIMEOUT,
    ) -> None:
        self.reactor = reactor
        self.url = url
        self.timeout = timeout
        self.pool: Any = None
        if client is None:
            from treq.client import HTTPClient
            from twisted.internet.task import Cooperator
            from twisted.web.client import Agent, FileBodyProducer, HTTPConnectionPool

            self.pool = HTTPConnectionPool(reactor, persistent=True)
            cooperator = Cooperator(scheduler=lambda work: reactor.callLater(0, work))
            client = HTTPClient(
                Agent(reactor, pool=self.pool),
                data_to_body_producer=lambda data: FileBodyProducer(
                    io.BytesIO(data), cooperator=cooperator
                ),
            )
        self.client = client
        self.headers = {"Content-Type": "application/x-ndjson", "X-Log-Source": source}
        if secret is not None:
            self.headers["Authorization"] = f"Bearer {secret}"

    def __call__(self, body: bytes, seq: int) -> Deferred[int]:
        d: Deferred[Any] = self.client.post(
            self.url,
            data=body,
            headers={**self.headers, "X-Log-Seq": str(seq)},
            reactor=self.reactor,
            timeout=self.timeout,
            allow_redirects=False,
        )
        return d.addCallback(_status)

    def close(self) -> Deferred[None]:
        if self.pool is None:
            return succeed(None)
        closed: Deferred[None] = self.pool.closeCachedConnections()
        return closed


def _status(response: Any) -> Deferred[int]:
    """The response's status, once its body is read (the connection is reusable)."""
    done: Deferred[Any] = response.content()
    return done.addCallback(lambda _: int(response.code))
