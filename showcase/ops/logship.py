"""Shipping every log line of this router to a logger instance (``logging.logger``).

:class:`Shipper` collects JSON lines, seals them into numbered batches every
:data:`BATCH_DELAY` s (or :data:`BATCH_LINES` lines, or :data:`BATCH_BYTES`),
stores each batch in its :mod:`~showcase.ops.logbuffer` first; its
:class:`~showcase.ops.logpost.Sender` POSTs the oldest waiting batch, one at a
time, in order, retrying with backoff.  ``stop`` sends what it can within a
grace period; the rest waits on disk for the next start.

Adding a line never does I/O or logs: sealing and sending run from timers,
so the router's own log events can be shipped (:class:`EventShipper`)
without re-entering the shipper.  :class:`LogShipping` wires it all for
:class:`~showcase.machine.Machine`.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import ILogObserver, Logger
from zope.interface import implementer

from showcase.config.model import LoggerShipping, Logging
from showcase.logs import event_json
from showcase.tenants.childlog import ChildOutput

from .logbuffer import Buffer, DiskBuffer, MemoryBuffer
from .logpost import HttpPoster, Post, Sender

BATCH_DELAY = 1.0
BATCH_LINES = 500
BATCH_BYTES = 1024 * 1024
STOP_GRACE = 2.0
NOISE = frozenset({"Starting factory {factory!r}", "Stopping factory {factory!r}"})
_NOT_TOKEN = re.compile(r"[^A-Za-z0-9._:@-]")


def source_name(hostname: str | None, environ: Mapping[str, str]) -> str:
    """The name this machine ships under: ``FLY_MACHINE_ID``, else ``server.hostname``,
    else the host name (characters outside ``[A-Za-z0-9._:@-]`` become ``_``)."""
    name = environ.get("FLY_MACHINE_ID") or hostname or socket.gethostname() or "showcase"
    return _NOT_TOKEN.sub("_", name)[:128]


def checked_line(line: str, clock: Callable[[], float]) -> str:
    """``line`` if it is a JSON object the logger accepts, else ``line`` wrapped as one."""
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if (
        isinstance(record, dict)
        and isinstance(record.get("@timestamp"), str)
        and ("message" in record or "uri" in record)
    ):
        return line
    stamp = datetime.fromtimestamp(clock(), UTC).isoformat(timespec="milliseconds")
    return json.dumps({"@timestamp": stamp.replace("+00:00", "Z"), "message": line})


class Shipper:
    log = Logger()

    def __init__(
        self,
        clock: IReactorTime,
        buffer: Buffer,
        post: Post,
        *,
        delay: float = BATCH_DELAY,
        batch_lines: int = BATCH_LINES,
        batch_bytes: int = BATCH_BYTES,
    ) -> None:
        self.clock = clock
        self.buffer = buffer
        self.sender = Sender(clock, buffer, post, self.log)
        self.delay = delay
        self.batch_lines = batch_lines
        self.batch_bytes = batch_bytes
        self.pending: list[str] = []
        self.pending_bytes = 0
        self._seal_call: IDelayedCall | None = None
        self._seal_soon = False
        self._reported_drops = 0

    # -- lines in --------------------------------------------------------------------

    def add(self, line: str) -> None:
        """Ship ``line`` (one JSON object, no newline) with the next batch."""
        self.pending.append(line)
        self.pending_bytes += len(line) + 1
        full = len(self.pending) >= self.batch_lines or self.pending_bytes >= self.batch_bytes
        if full and not self._seal_soon:
            self._seal_soon = True
            self._cancel_seal()
            self._seal_call = self.clock.callLater(0, self._tick)
        elif self._seal_call is None:
            self._seal_call = self.clock.callLater(self.delay, self._tick)

    def _tick(self) -> None:
        self._seal_call, self._seal_soon = None, False
        self.seal()
        self.sender.kick()

    def _cancel_seal(self) -> None:
        if self._seal_call is not None and self._seal_call.active():
            self._seal_call.cancel()
        self._seal_call = None

    def seal(self) -> None:
        """Store the lines added so far as batches in the buffer."""
        lines, self.pending, self.pending_bytes = self.pending, [], 0
        start = 0
        while start < len(lines):
            end, size = start, 0
            while end < len(lines) and end - start < self.batch_lines:
                size += len(lines[end]) + 1
                end += 1
                if size >= self.batch_bytes:
                    break
            try:
                self.buffer.add(lines[start:end])
            except OSError as e:
                self.log.error("cannot buffer {n} log lines: {e}", n=end - start, e=e)
            start = end
        dropped = self.buffer.dropped_lines
        if dropped > self._reported_drops:
            self.log.warn(
                "log buffer full: dropped the oldest {n} lines ({total} so far)",
                n=dropped - self._reported_drops,
                total=dropped,
            )
            self._reported_drops = dropped

    # -- batches out ------------------------------------------------------------------

    def start(self) -> None:
        """Begin sending (what an earlier run left in the buffer goes first)."""
        self.sender.start()

    def stop(self, grace: float = STOP_GRACE) -> Deferred[None]:
        """Send what can be sent within ``grace`` seconds; keep the rest buffered."""
        self._cancel_seal()
        self.seal()
        if not self.sender.running:
            self.buffer.close()
            return succeed(None)

        def finished(_: object) -> None:
            self._cancel_seal()
            self.seal()  # lines logged meanwhile wait on disk
            self.buffer.close()

        return self.sender.stop(grace).addCallback(finished)


@implementer(ILogObserver)
class EventShipper:
    """A log observer shipping the router's own events as JSON (not the finished lines
    of child output, which :class:`ShippedOutput` ships with their tenant)."""

    def __init__(self, ship: Callable[[str], None]) -> None:
        self.ship = ship

    def __call__(self, event: dict[str, Any]) -> None:
        if "showcase_line" in event or event.get("log_format") in NOISE:
            return
        self.ship(event_json(event))


class ShippedOutput(ChildOutput):
    """Child output as configured, and each line also as JSON to ``ship``."""

    def __init__(
        self,
        logging: Logging,
        write: Callable[[str], None],
        clock: Callable[[], float],
        ship: Callable[[str], None],
    ) -> None:
        self._twin: ChildOutput | None = None
        if logging.format == "json":

            def both(line: str) -> None:
                write(line)
                ship(line)

            super().__init__("json", logging.file, both, clock)
        else:
            super().__init__(logging.format, logging.file, write, clock)
            self._twin = ChildOutput("json", None, ship, clock)

    def feed(self, source: str, stream: str, data: bytes, tenant: str | None = None) -> None:
        super().feed(source, stream, data, tenant)
        if self._twin is not None:
            self._twin.feed(source, stream, data, tenant)

    def flush(self, source: str) -> None:
        super().flush(source)
        if self._twin is not None:
            self._twin.flush(source)


class LogShipping:
    """What :class:`~showcase.machine.Machine` needs: the shipper, the poster, the observer."""

    log = Logger()

    def __init__(
        self, reactor: Any, config: LoggerShipping, source: str, post: Post | None = None
    ) -> None:
        self.clock = reactor
        buffer: Buffer = MemoryBuffer(reactor.seconds)
        if config.buffer_dir is not None:
            try:
                buffer = DiskBuffer(config.buffer_dir, reactor.seconds)
            except OSError as e:
                self.log.error(
                    "logging.logger.buffer_dir {dir} is unusable ({e}); buffering in memory",
                    dir=config.buffer_dir,
                    e=e,
                )
        self.poster = HttpPoster(reactor, config.url, config.secret, source)
        self.shipper = Shipper(reactor, buffer, post or self.poster)
        self.observer = EventShipper(self.shipper.add)

    def add_checked(self, line: str) -> None:
        """Ship a line from elsewhere (a child's own JSON may lack what the logger needs)."""
        self.shipper.add(checked_line(line, self.clock.seconds))

    def access(self, write: Callable[[str], None]) -> Callable[[str], None]:
        """``write`` for access-log lines, also shipping each (they are always valid)."""
        add = self.shipper.add

        def both(line: str) -> None:
            write(line)
            add(line)

        return both

    def child_output(self, logging: Logging, write: Callable[[str], None]) -> ChildOutput:
        return ShippedOutput(logging, write, self.clock.seconds, self.add_checked)

    def start(self) -> None:
        self.shipper.start()

    async def stop(self) -> None:
        await self.shipper.stop()
        await self.poster.close()
