"""Shipping log lines to a logger: batching, order, the bounded buffer, resending with
backoff, numbers that survive a restart, the clean stop, and the pieces Machine wires."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from treq.testing import StubTreq
from twisted.internet.defer import Deferred, succeed
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import Logger, LogLevel, capturedLogs
from twisted.web.resource import Resource
from twisted.web.server import Request

from showcase.config.model import LoggerSink, Logging
from showcase.ops.logbuffer import Buffer, DiskBuffer, MemoryBuffer, fresh_seq
from showcase.ops.logpost import BACKOFF_MAX, HttpPoster
from showcase.ops.logship import (
    EventShipper,
    ShippedOutput,
    Shipper,
    checked_line,
    source_name,
)
from showcase.ops.logsink import LogSink

NOW = 1741608000.0


class FakePoster:
    """Records each POST; the test answers them (or not)."""

    def __init__(self) -> None:
        self.calls: list[tuple[bytes, int, Deferred[int]]] = []

    def __call__(self, body: bytes, seq: int) -> Deferred[int]:
        answer: Deferred[int] = Deferred()
        self.calls.append((body, seq, answer))
        return answer

    def lines(self, index: int = -1) -> list[str]:
        return [json.loads(x)["message"] for x in self.calls[index][0].decode().splitlines()]

    def seqs(self) -> list[int]:
        return [seq for _, seq, _ in self.calls]

    def answer(self, status: int = 200, index: int = -1) -> None:
        self.calls[index][2].callback(status)

    def fail(self, index: int = -1) -> None:
        self.calls[index][2].errback(ConnectionRefusedError("down"))


def msg(text: str) -> str:
    return json.dumps({"@timestamp": "2025-03-10T12:00:00Z", "message": text})


class Rig:
    def __init__(self, buffer_dir: Path | None, cap: int = 64 << 20) -> None:
        self.clock = MemoryReactorClock()
        self.clock.advance(NOW)
        self.buffer: Buffer = (
            DiskBuffer(str(buffer_dir), self.clock.seconds, cap)
            if buffer_dir is not None
            else MemoryBuffer(self.clock.seconds, cap)
        )
        self.poster = FakePoster()
        self.shipper = Shipper(self.clock, self.buffer, self.poster)
        self.shipper.start()

    def add(self, *texts: str) -> None:
        for text in texts:
            self.shipper.add(msg(text))


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return Rig(tmp_path / "buffer")


def test_lines_are_batched_for_a_second(rig: Rig) -> None:
    """Lines wait up to a second, then go as one POST, in the order they came."""
    rig.add("a", "b", "c")
    rig.clock.advance(0.9)
    assert rig.poster.calls == []
    rig.clock.advance(0.1)
    assert rig.poster.lines() == ["a", "b", "c"]


def test_500_lines_make_a_batch_at_once(rig: Rig) -> None:
    """500 waiting lines are sealed without waiting for the second; more become more batches."""
    rig.add(*(str(i) for i in range(1001)))
    rig.clock.advance(0)
    assert rig.poster.lines() == [str(i) for i in range(500)]
    rig.poster.answer()
    rig.clock.advance(0)
    assert rig.poster.lines() == [str(i) for i in range(500, 1000)]
    rig.poster.answer()
    rig.clock.advance(0)
    assert rig.poster.lines() == ["1000"]


def test_batches_go_one_at_a_time_in_order_with_consecutive_numbers(rig: Rig) -> None:
    """A batch is sent only after the one before it was acknowledged; numbers go up by one."""
    rig.add("first")
    rig.clock.advance(1)
    rig.add("second")
    rig.clock.advance(1)
    assert len(rig.poster.calls) == 1
    rig.poster.answer(204)
    rig.clock.advance(0)
    assert rig.poster.lines() == ["second"]
    first, second = rig.poster.seqs()
    assert second == first + 1


def test_a_failed_batch_is_kept_and_resent_in_order_with_backoff(rig: Rig) -> None:
    """A refused connection or a non-2xx answer keeps the batch; it is sent again after
    0.5 s, 1 s, 2 s … (at most 30 s), before any later batch."""
    rig.add("a")
    rig.clock.advance(1)
    rig.add("b")
    waits = []
    for attempt in range(9):
        if attempt % 2:
            rig.poster.answer(503)
        else:
            rig.poster.fail()
        calls = len(rig.poster.calls)
        waited = 0.0
        while len(rig.poster.calls) == calls:
            rig.clock.advance(0.25)
            waited += 0.25
        waits.append(waited)
        assert rig.poster.lines() == ["a"]
    assert waits == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    assert BACKOFF_MAX == 30
    rig.poster.answer()
    rig.clock.advance(0)
    assert rig.poster.lines() == ["b"]
    assert len(set(rig.poster.seqs())) == 2


def test_after_a_success_the_backoff_starts_again(rig: Rig) -> None:
    """Once a batch gets through, the next failure waits 0.5 s again."""
    rig.add("a")
    rig.clock.advance(1)
    for _ in range(3):
        rig.poster.fail()
        rig.clock.advance(4)
    rig.poster.answer()
    rig.add("b")
    rig.clock.advance(1)
    rig.poster.fail()
    rig.clock.advance(0.5)
    assert rig.poster.lines(-1) == ["b"] and len(rig.poster.calls) == 6


def test_a_batch_refused_for_good_is_dropped_and_logged(rig: Rig) -> None:
    """A 400 (the logger will never take it) drops that batch with an error; the next goes."""
    rig.add("poison")
    rig.clock.advance(1)
    rig.add("next")
    with capturedLogs() as events:
        rig.poster.answer(400)
    rig.clock.advance(1)
    assert rig.poster.lines() == ["next"]
    assert any(e["log_level"] == LogLevel.error and "400" in str(e) for e in events)


def test_the_buffer_is_bounded_the_oldest_dropped_and_counted(tmp_path: Path) -> None:
    """Past its cap the buffer drops its oldest batches, warns how many lines went, and
    sends the rest in order once the logger answers."""
    rig = Rig(tmp_path / "buffer", cap=4096)
    rig.add("first")
    rig.clock.advance(1)
    rig.poster.fail()  # the logger is down; the retry then hangs until the end
    numbered = [f"{i:03d}" + "y" * 100 for i in range(60)]
    with capturedLogs() as events:
        for text in numbered:
            rig.add(text)
            rig.clock.advance(1)
    assert any(e["log_level"] == LogLevel.warn and "dropped" in str(e) for e in events)
    assert sum(p.stat().st_size for p in (tmp_path / "buffer").glob("seg-*")) <= 4096
    rig.poster.answer()  # the retry of "first"
    rig.clock.advance(0)
    sent: list[str] = []
    while rig.buffer.pending():
        sent.extend(rig.poster.lines())
        rig.poster.answer()
        rig.clock.advance(0)
    assert sent and sent == numbered[-len(sent) :]
    assert len(sent) + rig.buffer.dropped_lines == 61


def test_numbers_and_unsent_batches_survive_a_restart(tmp_path: Path) -> None:
    """Batches not acknowledged at stop are sent first by the next run, with the same
    numbers; new batches continue the numbering."""
    first = Rig(tmp_path / "buffer")
    first.add("old-1")
    first.clock.advance(1)
    first.poster.answer()
    first.add("old-2")
    first.clock.advance(1)
    first.poster.fail()
    stopped = first.shipper.stop()
    first.add("late")
    first.poster.fail()
    first.clock.advance(2)
    assert stopped.called
    acked = first.poster.seqs()[0]
    second = Rig(tmp_path / "buffer")
    assert second.poster.lines() == ["old-2"]
    second.poster.answer()
    second.clock.advance(0)
    assert second.poster.lines() == ["late"]
    second.poster.answer()
    second.add("new")
    second.clock.advance(1)
    assert second.poster.lines() == ["new"]
    assert second.poster.seqs() == [acked + 1, acked + 2, acked + 3]


def test_a_fresh_buffer_numbers_from_the_clock(tmp_path: Path) -> None:
    """With no history the first number is the time in milliseconds, so a machine whose
    buffer was lost never reuses a number the logger has seen."""
    rig = Rig(tmp_path / "buffer")
    rig.add("a")
    rig.clock.advance(1)
    assert rig.poster.seqs() == [int(NOW * 1000)]
    assert fresh_seq(lambda: 0.0) == 1


def test_stop_sends_what_it_can_then_keeps_the_rest(rig: Rig) -> None:
    """A clean stop seals the waiting lines and sends them; it ends when all is sent."""
    rig.add("last words")
    stopped = rig.shipper.stop()
    assert rig.poster.lines() == ["last words"]
    assert not stopped.called
    rig.poster.answer()
    rig.clock.advance(0)
    assert stopped.called
    assert rig.buffer.pending() == 0


def test_stop_gives_up_after_the_grace_and_keeps_the_batch(tmp_path: Path) -> None:
    """If the logger does not answer within ~2 s the stop ends anyway; the request is
    cancelled and the batch stays on disk for the next start."""
    rig = Rig(tmp_path / "buffer")
    rig.add("unsent")
    stopped = rig.shipper.stop()
    rig.clock.advance(1.9)
    assert not stopped.called
    rig.clock.advance(0.1)
    assert stopped.called
    assert rig.poster.calls[0][2].called  # cancelled
    again = Rig(tmp_path / "buffer")
    assert again.poster.lines() == ["unsent"]


def test_a_torn_record_is_cut_when_the_buffer_opens(tmp_path: Path) -> None:
    """A batch half written by a crash is cut; whole batches before it are kept."""
    clock = MemoryReactorClock()
    buffer = DiskBuffer(str(tmp_path), clock.seconds)
    seq = buffer.add([msg("whole")])
    buffer.close()
    [segment] = tmp_path.glob("seg-*.log")
    with segment.open("ab") as f:
        f.write(b"#%d 1 500\n{half" % (seq + 1))
    again = DiskBuffer(str(tmp_path), clock.seconds)
    batch = again.oldest()
    assert batch is not None and (batch.seq, batch.lines) == (seq, 1)
    assert again.pending() == 1
    assert again.add([msg("next")]) == seq + 1


@pytest.mark.parametrize("kind", ["disk", "memory"])
def test_both_buffers_keep_batches_until_acknowledged(tmp_path: Path, kind: str) -> None:
    """The twins: batches are numbered in order, the oldest comes first, an ack forgets it
    (and any before it), the cap drops the oldest and counts their lines."""
    clock = MemoryReactorClock()
    buffer: Buffer = (
        DiskBuffer(str(tmp_path), clock.seconds, cap=2048)
        if kind == "disk"
        else MemoryBuffer(clock.seconds, cap=2048)
    )
    a = buffer.add(["1", "2"])
    b = buffer.add(["3"])
    assert b == a + 1
    oldest = buffer.oldest()
    assert oldest is not None and (oldest.seq, oldest.data) == (a, b"1\n2\n")
    buffer.ack(a)
    assert buffer.pending() == 1
    for _ in range(40):
        buffer.add(["z" * 100])
    assert buffer.dropped_lines > 0
    assert buffer.pending() + buffer.dropped_lines == 41
    last = buffer.add(["end"])
    buffer.ack(last)
    assert (buffer.pending(), buffer.oldest()) == (0, None)


def test_acknowledged_segments_are_deleted(tmp_path: Path) -> None:
    """Segment files whose batches are all acknowledged are removed."""
    clock = MemoryReactorClock()
    buffer = DiskBuffer(str(tmp_path), clock.seconds, cap=1024)
    seqs = [buffer.add(["x" * 100]) for _ in range(6)]
    assert len(list(tmp_path.glob("seg-*.log"))) >= 2
    buffer.ack(seqs[-1])
    assert len(list(tmp_path.glob("seg-*.log"))) <= 1
    assert DiskBuffer(str(tmp_path), clock.seconds).pending() == 0


# -- the HTTP poster, the source name, what Machine wires -------------------------------------


class Recorder(Resource):
    isLeaf = True

    def __init__(self, status: int) -> None:
        super().__init__()
        self.status = status
        self.seen: list[tuple[dict[bytes, bytes], bytes]] = []

    def render_POST(self, request: Request) -> bytes:
        headers = {k.lower(): v[0] for k, v in request.requestHeaders.getAllRawHeaders()}
        assert request.content is not None
        self.seen.append((headers, request.content.read()))
        request.setResponseCode(self.status)
        return b"ok"


@pytest.mark.parametrize("status", [200, 503])
def test_the_poster_sends_secret_source_and_number(status: int) -> None:
    """The POST carries ``Authorization: Bearer``, ``X-Log-Source``, ``X-Log-Seq`` and the
    lines as the body; it fires with the answer's status."""
    recorder = Recorder(status)
    stub = StubTreq(recorder)
    poster = HttpPoster(MemoryReactorClock(), "http://logger/logs", "s3cret", "m-1", client=stub)
    result = poster(b'{"a":1}\n', 42)
    stub.flush()
    assert result.result == status
    [(headers, body)] = recorder.seen
    assert body == b'{"a":1}\n'
    assert headers[b"authorization"] == b"Bearer s3cret"
    assert (headers[b"x-log-source"], headers[b"x-log-seq"]) == (b"m-1", b"42")
    assert headers[b"content-type"] == b"application/x-ndjson"


def test_the_source_name_prefers_the_fly_machine_then_the_hostname() -> None:
    """FLY_MACHINE_ID, else server.hostname, else the host's name; unsafe characters go."""
    assert source_name("a.example", {"FLY_MACHINE_ID": "e784"}) == "e784"
    assert source_name("a.example", {}) == "a.example"
    assert source_name("has space/and", {}) == "has_space_and"
    assert source_name(None, {})


def test_router_events_are_shipped_as_json_but_not_child_lines() -> None:
    """The observer turns a log event into a JSON line (level, source, message); finished
    child-output lines and factory start/stop noise are not shipped twice or at all."""
    shipped: list[str] = []
    observer = EventShipper(shipped.append)
    log = Logger(namespace="showcase.test", observer=observer)
    log.warn("tenant {name} is slow", name="boston")
    log.info("{showcase_line}", showcase_line='{"message":"child"}')
    log.info("Starting factory {factory!r}", factory=object())
    [line] = shipped
    record = json.loads(line)
    assert (record["level"], record["source"], record["message"]) == (
        "warn",
        "showcase.test",
        "tenant boston is slow",
    )
    assert "@timestamp" in record


def test_child_output_in_text_mode_is_shipped_as_json_with_its_tenant() -> None:
    """With ``logging.format: text`` the log gets the text line and the logger a JSON line
    with source, stream, message and tenant."""
    written: list[str] = []
    shipped: list[str] = []
    output = ShippedOutput(Logging(format="text"), written.append, lambda: NOW, shipped.append)
    output.feed("boston", "stdout", b"hello\npart", tenant="boston")
    output.flush("boston")
    assert written == ["[boston.stdout] hello", "[boston.stdout] part"]
    records = [json.loads(x) for x in shipped]
    assert [(r["message"], r["tenant"], r["stream"]) for r in records] == [
        ("hello", "boston", "stdout"),
        ("part", "boston", "stdout"),
    ]


def test_child_output_in_json_mode_is_shipped_as_logged() -> None:
    """With ``logging.format: json`` the same line goes to the log and to the logger."""
    written: list[str] = []
    shipped: list[str] = []
    output = ShippedOutput(Logging(format="json"), written.append, lambda: NOW, shipped.append)
    output.feed("redis", "stdout", b"ready\n")
    assert written == shipped and json.loads(shipped[0])["message"] == "ready"


@pytest.mark.parametrize(
    "line",
    ["plain text", "[1, 2]", '{"@timestamp": 5, "message": "x"}', '{"@timestamp": "t"}'],
)
def test_lines_the_logger_would_refuse_are_wrapped(line: str) -> None:
    """A line that is not an object with ``@timestamp`` and a message is shipped wrapped
    (so one odd line never gets a whole batch refused)."""
    record = json.loads(checked_line(line, lambda: NOW))
    assert record["message"] == line
    assert record["@timestamp"] == "2025-03-10T12:00:00.000Z"
    good = '{"@timestamp": "t", "severity": "INFO", "message": "m"}'
    assert checked_line(good, lambda: NOW) == good


# -- end to end, on fakes ---------------------------------------------------------------------


def test_a_sink_restarted_mid_stream_gets_every_line_once_in_order(tmp_path: Path) -> None:
    """Shipper and sink together: the sink goes away and comes back (a new instance on the
    same directory), and answers get lost; every line is stored exactly once, in order."""
    clock = MemoryReactorClock()
    clock.advance(NOW)
    config = LoggerSink(str(tmp_path / "logs"))
    sinks = [LogSink(clock, config)]
    sinks[0].start()
    state = {"up": True, "lose_answer": False}

    def post(body: bytes, seq: int) -> Deferred[int]:
        if not state["up"]:
            failed: Deferred[int] = Deferred()
            failed.errback(ConnectionRefusedError("down"))
            return failed
        status = sinks[0].ingest("m-1", seq, body)[0]
        if state["lose_answer"]:  # stored, but the answer never arrives
            state["lose_answer"] = False
            lost: Deferred[int] = Deferred()
            lost.errback(ConnectionResetError("reset"))
            return lost
        return succeed(status)

    shipper = Shipper(clock, DiskBuffer(str(tmp_path / "buf"), clock.seconds), post)
    shipper.start()
    sent = []
    for i in range(200):
        sent.append(f"line-{i:03d}")
        shipper.add(msg(sent[-1]))
        if i == 50:
            state["lose_answer"] = True
        if i == 80:
            state["up"] = False
            sinks[0].stop()
        if i == 140:
            sinks[0] = LogSink(clock, config)
            sinks[0].start()
            state["up"] = True
        clock.advance(0.1)
    clock.advance(60)
    stored = [
        json.loads(x)["message"]
        for day in sorted((tmp_path / "logs").glob("*.log"))
        for x in day.read_text().splitlines()
    ]
    assert stored == sent
