"""The log sink (a router with a ``logger`` section): receive, store, browse, tail.

``POST <root_path>/logs`` is decided before Basic auth and authenticated by
``Authorization: Bearer <logger.secret>`` (compared in constant time; without
a secret only loopback may post).  Headers: ``X-Log-Source`` (the sending
machine, ``[A-Za-z0-9._:@-]{1,128}``, required) and ``X-Log-Seq`` (the batch
number, optional).  The body, at most :data:`MAX_BODY` bytes, is
newline-delimited JSON: each line an object with a string ``@timestamp`` and a
``message`` or a ``uri`` (an access-log line).  One bad line refuses the whole
batch (400, naming the line) and nothing is written.

A good batch is appended to the day file of its arrival (UTC), each line with
``"machine"`` and ``"seq"`` added, and is on disk (fsync) before the 200.
Numbered batches are deduplicated: a batch whose number is not above the last
one acknowledged for its machine is answered 200 and not written again.  So a
sender that resends whatever was not acknowledged loses nothing and
duplicates nothing, across restarts of either side (see
:mod:`~showcase.ops.logstore`).

``GET <root_path>/logs/`` (the browse page, :mod:`~showcase.ops.logbrowse`) and
``<root_path>/logs/tail`` (its live tail, :mod:`~showcase.ops.logtail`) sit
behind the router's normal auth.  Days older than ``logger.retention`` are
deleted at start and then daily.
"""

from __future__ import annotations

import hmac
import json
import os
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from showcase.config.model import LoggerSink
from showcase.router.message import Reply
from showcase.router.router import head_bytes

from .logbrowse import Browser, LineFilter
from .logstore import DAY, DayFiles, Sequences, utc_day
from .logtail import Tails

if TYPE_CHECKING:
    from showcase.router.exchange import Exchange
    from showcase.router.router import Router

MAX_BODY = 8 * 1024 * 1024
SOURCE = re.compile(rb"[A-Za-z0-9._:@-]{1,128}")
SEQ = re.compile(rb"\d{1,18}")
LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
TEXT = (b"content-type", b"text/plain; charset=utf-8")


class BadBatch(ValueError):
    """A body the sink will not store (the message names the line)."""


def parse_batch(body: bytes) -> list[bytes]:
    """The lines of ``body`` (stripped, empty ones skipped); :class:`BadBatch` if any is bad."""
    lines = []
    for number, raw in enumerate(body.split(b"\n"), 1):
        line = raw.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise BadBatch(f"line {number}: not JSON") from None
        if not isinstance(record, dict):
            raise BadBatch(f"line {number}: not a JSON object")
        if not isinstance(record.get("@timestamp"), str):
            raise BadBatch(f'line {number}: no "@timestamp" string')
        if "message" not in record and "uri" not in record:
            raise BadBatch(f'line {number}: neither "message" nor "uri"')
        lines.append(line)
    return lines


def stamp(line: bytes, machine: str, seq: int | None) -> bytes:
    """``line`` (a JSON object) with ``"machine"`` and ``"seq"`` added, as sent otherwise."""
    extra = b'"machine":' + json.dumps(machine).encode()
    if seq is not None:
        extra += b',"seq":%d' % seq
    body = line[:-1].rstrip()
    return body + (b"" if body.endswith(b"{") else b",") + extra + b"}"


class LogSink:
    """Stores batches; remembers what it acknowledged; deletes old days."""

    log = Logger()

    def __init__(self, clock: IReactorTime, config: LoggerSink) -> None:
        self.clock = clock
        self.config = config
        self.files = DayFiles(config.dir)
        self.sequences: Sequences | None = None
        self.tails: Tails | None = None
        self._pruning: LoopingCall | None = None

    def start(self) -> None:
        """Open the directory (OSError if it cannot be), tidy it, and prune old days."""
        os.makedirs(self.config.dir, exist_ok=True)
        self.sequences = Sequences(self.config.dir)
        cut = self.files.trim_unacknowledged(self.sequences.seen)
        if cut:
            self.log.warn("log sink: cut {n} bytes of an unacknowledged batch", n=cut)
        self._pruning = LoopingCall(self.prune)
        self._pruning.clock = self.clock
        self._pruning.start(DAY, now=True)

    def stop(self) -> None:
        if self._pruning is not None and self._pruning.running:
            self._pruning.stop()
        self.files.close()
        if self.sequences is not None:
            self.sequences.close()

    def prune(self) -> None:
        for day in self.files.prune(self.clock.seconds(), self.config.retention):
            self.log.info("log sink: deleted {day} (older than the retention)", day=day)

    def ingest(self, machine: str, seq: int | None, body: bytes) -> tuple[int, str]:
        """Store one batch: the status and text of the answer."""
        assert self.sequences is not None, "start() first"
        if seq is not None and self.sequences.seen(machine, seq):
            return 200, "duplicate"
        try:
            lines = parse_batch(body)
        except BadBatch as e:
            return 400, f"Bad Request: {e}"
        stored = [stamp(line, machine, seq) for line in lines]
        try:
            if stored:
                self.files.append(utc_day(self.clock.seconds()), b"\n".join(stored) + b"\n")
            if seq is not None:
                self.sequences.record(machine, seq)
        except OSError as e:
            self.log.error(
                "log sink cannot store a batch from {machine}: {e}", machine=machine, e=e
            )
            return 503, "Service Unavailable: cannot store the lines"
        if self.tails is not None and stored:
            self.tails.send(stored)
        return 200, f"stored {len(stored)}"


def _text(status: int, body: str, *extra: tuple[bytes, bytes]) -> Reply:
    return Reply(status, (TEXT, *extra), body.encode() + b"\n", kind="logs")


class LogSinkSite:
    """The sink's three endpoints as the router carries them out (``Router.logsink``)."""

    def __init__(self, reactor: Any, config: LoggerSink, max_body: int = MAX_BODY) -> None:
        self.reactor = reactor
        self.config = config
        self.max_body = max_body
        self.sink = LogSink(reactor, config)
        self.browser = Browser(self.sink.files)
        self.tails = self.sink.tails = Tails(reactor)

    def start(self) -> None:
        self.sink.start()

    def close_connections(self) -> None:
        self.tails.close_all()

    def stop(self) -> None:
        self.sink.stop()

    def handle(self, ex: Exchange, action: str, router: Router) -> None:
        ex.kind, ex.destination = "logs", "logs"
        if action == "ingest":
            self._ingest(ex, router)
        elif ex.head.method not in (b"GET", b"HEAD"):
            router.reply(ex, _text(405, "Method Not Allowed", (b"allow", b"GET, HEAD")))
        elif action == "tail":
            self._tail(ex, router)
        else:
            router.reply(ex, self.browser.page(ex.head.query, self.reactor.seconds()))

    # -- POST /logs -------------------------------------------------------------------

    def _refusal(self, ex: Exchange) -> Reply | None:
        head = ex.head
        secret = self.config.secret
        if secret is None:
            if head.client_ip not in LOOPBACK:
                return _text(403, "Forbidden: this logger has no secret; loopback only")
        else:
            given = head.header(b"authorization") or b""
            if not hmac.compare_digest(given, b"Bearer " + secret.encode()):
                challenge = (b"www-authenticate", b'Bearer realm="logs"')
                return _text(401, "Unauthorized", challenge)
        source = head.header(b"x-log-source")
        if source is None or not SOURCE.fullmatch(source):
            return _text(400, "Bad Request: X-Log-Source must be a name of 1-128 [A-Za-z0-9._:@-]")
        seq = head.header(b"x-log-seq")
        if seq is not None and not SEQ.fullmatch(seq):
            return _text(400, "Bad Request: X-Log-Seq must be a number")
        declared = head.header(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            return _text(413, f"Content Too Large: at most {self.max_body} bytes a batch")
        return None

    def _ingest(self, ex: Exchange, router: Router) -> None:
        refused = self._refusal(ex)
        if refused is not None:
            router.reply(ex, refused)
            return
        source = (ex.head.header(b"x-log-source") or b"").decode("ascii")
        seq_header = ex.head.header(b"x-log-seq")
        seq = int(seq_header) if seq_header is not None else None
        chunks: list[bytes] = []
        size = 0

        def write(data: bytes) -> None:
            nonlocal size
            size += len(data)
            if size <= self.max_body:
                chunks.append(data)

        def end() -> None:
            if ex.gone:
                return
            if size > self.max_body:
                router.reply(ex, _text(413, f"Content Too Large: at most {self.max_body} bytes"))
                return
            status, answer = self.sink.ingest(source, seq, b"".join(chunks))
            router.reply(ex, _text(status, answer))

        ex.take_body(write, end)

    # -- the live tail ------------------------------------------------------------------

    def _tail(self, ex: Exchange, router: Router) -> None:
        if not ex.upgrade:
            upgrade = (b"upgrade", b"websocket")
            router.reply(ex, _text(426, "Upgrade Required: this is a WebSocket endpoint.", upgrade))
            return
        ex.kind = "websocket"
        query = ex.head.query.decode("latin-1")
        found = LineFilter.from_query(dict(parse_qsl(query, encoding="utf-8")))

        def closed(opened: bool) -> None:
            ex.status = 101 if opened else 400
            ex.response_complete = True
            router.finished(ex)

        proto = self.tails.connection(found, closed)
        ex.front.hand_over(proto, head_bytes(ex.head))
