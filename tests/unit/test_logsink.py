"""The log sink: ``POST /logs`` (bearer secret, validation, dedupe, fsync'd day files),
retention, the browse page and its live tail, through a real router over fake wires."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from routerfakes import Client, Response, RouterHarness, load

from showcase.config.model import LoggerSink
from showcase.ops.logbrowse import line_level
from showcase.ops.logsink import LogSink, LogSinkSite, parse_batch, stamp
from showcase.ops.logstore import DayFiles, Sequences

NOW = 1741608000.0  # 2025-03-10 12:00:00 UTC
TODAY = "2025-03-10"
SECRET = "s3cret"
PASSWORD = "pw"
BASIC = b"Basic " + base64.b64encode(b"alice:" + PASSWORD.encode())

SINK = """
cable:
  enabled: false
logger:
  dir: logs
  secret: s3cret
  retention: 2d
"""


def with_auth(tmp_path: Path) -> str:
    digest = base64.b64encode(hashlib.sha1(PASSWORD.encode()).digest()).decode()
    (tmp_path / "htpasswd").write_text(f"alice:{{SHA}}{digest}\n")
    return "auth:\n  enabled: true\n  htpasswd: htpasswd\n"


class Sink:
    """A router with the logger section, its site started, on a memory reactor at NOW."""

    def __init__(self, tmp_path: Path, *parts: str, max_body: int = 1 << 20) -> None:
        config = load(tmp_path, SINK, *parts)
        assert config.logger is not None
        self.dir = Path(config.logger.dir)
        self.harness = RouterHarness(config)
        self.clock = self.harness.clock
        self.clock.advance(NOW)
        self.site = LogSinkSite(self.clock, config.logger, max_body=max_body)
        self.harness.router.logsink = self.site
        self.site.start()

    def post(
        self,
        body: bytes,
        source: bytes | None = b"router-a",
        seq: int | None = 1,
        auth: bytes | None = b"Bearer " + SECRET.encode(),
        ip: str = "203.0.113.9",
        path: bytes = b"/logs",
    ) -> Response:
        headers = b""
        if auth is not None:
            headers += b"Authorization: %s\r\n" % auth
        if source is not None:
            headers += b"X-Log-Source: %s\r\n" % source
        if seq is not None:
            headers += b"X-Log-Seq: %d\r\n" % seq
        client = self.harness.client(ip)
        client.send(
            b"POST %s HTTP/1.1\r\nHost: h\r\n%sContent-Length: %d\r\n\r\n%s"
            % (path, headers, len(body), body)
        )
        return client.response()

    def get(self, target: str, auth: bytes | None = None) -> Response:
        client = self.harness.client()
        extra = b"Authorization: %s\r\n" % auth if auth else b""
        client.send(b"GET %s HTTP/1.1\r\nHost: h\r\n%s\r\n" % (target.encode(), extra))
        return client.response()

    def stored(self, day: str = TODAY) -> list[dict[str, Any]]:
        path = self.dir / f"{day}.log"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]


def line(message: str, **fields: Any) -> str:
    return json.dumps({"@timestamp": "2025-03-10T12:00:00.000Z", "message": message, **fields})


def batch(*lines: str) -> bytes:
    return "".join(item + "\n" for item in lines).encode()


def access(uri: str, status: int, request_id: str, tenant: str = "") -> str:
    record = {
        "@timestamp": "2025-03-10T12:00:00.000+00:00",
        "method": "GET",
        "uri": uri,
        "status": status,
        "request_id": request_id,
        "tenant": tenant,
        "request_time": "0.001",
    }
    return json.dumps(record)


@pytest.fixture
def sink(tmp_path: Path) -> Sink:
    return Sink(tmp_path)


# -- POST /logs ------------------------------------------------------------------------------


def test_a_batch_is_stored_in_the_utc_day_file_with_machine_and_seq(sink: Sink) -> None:
    """An authenticated batch is answered 200 once its lines are in ``dir/<UTC day>.log``,
    one JSON object a line, each with the sending machine and the batch number added."""
    answer = sink.post(batch(line("one"), access("/x", 200, "r1")), seq=7)
    assert answer.status == 200
    stored = sink.stored()
    assert [r.get("message", r.get("uri")) for r in stored] == ["one", "/x"]
    assert {(r["machine"], r["seq"]) for r in stored} == {("router-a", 7)}


@pytest.mark.parametrize(
    "auth", [None, b"Bearer wrong", b"Bearer s3cret2", b"Basic czNjcmV0", b"bearer s3cret"]
)
def test_a_post_without_the_secret_is_401_and_writes_nothing(sink: Sink, auth: bytes) -> None:
    """No ``Authorization: Bearer <secret>`` (or a wrong one): 401 with a Bearer challenge,
    and no line is stored."""
    answer = sink.post(batch(line("x")), auth=auth)
    assert answer.status == 401
    assert answer.header(b"www-authenticate") == b'Bearer realm="logs"'
    assert sink.stored() == []


def test_a_sink_without_a_secret_takes_posts_from_loopback_only(tmp_path: Path) -> None:
    """A logger with no secret refuses posts from other addresses (403), takes loopback's."""
    open_sink = Sink(tmp_path, "logger:\n  secret: null\n")
    assert open_sink.post(batch(line("far")), auth=None).status == 403
    assert open_sink.post(batch(line("near")), auth=None, ip="127.0.0.1").status == 200
    assert [r["message"] for r in open_sink.stored()] == ["near"]


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b"{not json", b"line 2: not JSON"),
        (b'["a list"]', b"line 2: not a JSON object"),
        (b'{"message": "no time"}', b'line 2: no "@timestamp" string'),
        (b'{"@timestamp": "t"}', b'line 2: neither "message" nor "uri"'),
        (b'{"@timestamp": "t", "message": "\xff"}', b"line 2: not JSON"),
    ],
)
def test_a_malformed_line_refuses_the_whole_batch(sink: Sink, bad: bytes, reason: bytes) -> None:
    """One bad line: 400 naming it, nothing of the batch stored, its number not taken
    (the same number with good lines is stored afterwards)."""
    answer = sink.post(batch(line("good")).replace(b"\n", b"\n" + bad + b"\n", 1), seq=3)
    assert answer.status == 400
    assert reason in answer.body
    assert sink.stored() == []
    assert sink.post(batch(line("fixed")), seq=3).status == 200
    assert [r["message"] for r in sink.stored()] == ["fixed"]


@pytest.mark.parametrize(
    ("source", "seq_header"),
    [(None, b"1"), (b"has space", b"1"), (b"a" * 129, b"1"), (b"ok", b"-1"), (b"ok", b"x")],
)
def test_bad_source_or_sequence_headers_are_400(
    sink: Sink, source: bytes | None, seq_header: bytes
) -> None:
    """``X-Log-Source`` must be a short name and ``X-Log-Seq`` a number: else 400."""
    client = sink.harness.client()
    body = batch(line("x"))
    head = b"POST /logs HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer s3cret\r\n"
    if source is not None:
        head += b"X-Log-Source: " + source + b"\r\n"
    head += b"X-Log-Seq: " + seq_header + b"\r\n"
    client.send(head + b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    assert client.response().status == 400
    assert sink.stored() == []


def test_a_body_over_the_limit_is_413(tmp_path: Path) -> None:
    """A batch larger than the sink takes is refused with 413 (declared or chunked)."""
    small = Sink(tmp_path, max_body=100)
    assert small.post(batch(line("x" * 200))).status == 413
    client = small.harness.client()
    body = batch(line("y" * 200))
    client.send(
        b"POST /logs HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer s3cret\r\n"
        b"X-Log-Source: a\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n"
        % (len(body), body)
    )
    assert client.response().status == 413
    assert small.stored() == []


def test_a_resent_batch_is_acknowledged_and_not_stored_twice(sink: Sink) -> None:
    """A batch whose number is not above the last acknowledged one of its machine is
    answered 200 and not written again; another machine's numbers are its own."""
    assert sink.post(batch(line("first")), seq=5).status == 200
    again = sink.post(batch(line("first")), seq=5)
    assert (again.status, again.body) == (200, b"duplicate\n")
    assert sink.post(batch(line("older")), seq=4).status == 200
    assert sink.post(batch(line("b's first")), source=b"router-b", seq=5).status == 200
    assert sink.post(batch(line("next")), seq=6).status == 200
    assert [r["message"] for r in sink.stored()] == ["first", "b's first", "next"]


def test_acknowledged_numbers_survive_a_restart(sink: Sink) -> None:
    """A sink started again on the same directory still knows what it acknowledged."""
    assert sink.post(batch(line("before")), seq=9).status == 200
    sink.site.stop()
    again = Sink(sink.dir.parent)
    assert again.post(batch(line("before")), seq=9).body == b"duplicate\n"
    assert again.post(batch(line("after")), seq=10).status == 200
    assert [r["message"] for r in again.stored()] == ["before", "after"]


def test_an_unacknowledged_tail_left_by_a_crash_is_cut_at_start(tmp_path: Path) -> None:
    """Lines of a batch written but never recorded (a crash before the answer), and a torn
    last line, are cut at start: the sender resends that batch and it is stored once."""
    logs = tmp_path / "logs"
    logs.mkdir()
    files, sequences = DayFiles(str(logs)), Sequences(str(logs))
    files.append(TODAY, stamp(line("kept").encode(), "a", 1) + b"\n")
    sequences.record("a", 1)
    files.append(TODAY, b"\n".join(stamp(line(m).encode(), "a", 2) for m in "xy") + b"\n")
    files.append(TODAY, b'{"@timestamp": "torn')
    files.close()
    sequences.close()
    sink = Sink(tmp_path)
    assert [r["message"] for r in sink.stored()] == ["kept"]
    assert sink.post(batch(line("x"), line("y")), source=b"a", seq=2).status == 200
    assert [r["message"] for r in sink.stored()] == ["kept", "x", "y"]


def test_days_older_than_the_retention_are_deleted_at_start_and_daily(tmp_path: Path) -> None:
    """With ``retention: 2d`` the days ending more than two days ago go at start, and the
    daily check deletes the next one as the clock moves on."""
    logs = tmp_path / "logs"
    logs.mkdir()
    for day in ("2025-03-06", "2025-03-07", "2025-03-08", "2025-03-09", TODAY):
        (logs / f"{day}.log").write_text("")
    (logs / "notes.txt").write_text("kept")
    sink = Sink(tmp_path)
    assert sorted(p.name for p in logs.iterdir() if p.suffix == ".log") == [
        "2025-03-08.log",
        "2025-03-09.log",
        f"{TODAY}.log",
    ]
    sink.clock.advance(86400)
    assert not (logs / "2025-03-08.log").exists()
    assert (logs / "2025-03-09.log").exists() and (logs / "notes.txt").exists()


def test_lines_go_to_the_day_of_their_arrival(sink: Sink) -> None:
    """After midnight UTC a batch goes to the new day's file."""
    sink.post(batch(line("today")), seq=1)
    sink.clock.advance(12 * 3600)
    sink.post(batch(line("tomorrow")), seq=2)
    assert [r["message"] for r in sink.stored()] == ["today"]
    assert [r["message"] for r in sink.stored("2025-03-11")] == ["tomorrow"]


def test_the_post_path_follows_root_path(tmp_path: Path) -> None:
    """With ``root_path: /showcase`` the sink takes ``POST /showcase/logs``."""
    rooted = Sink(tmp_path, "server:\n  root_path: /showcase\n")
    assert rooted.post(batch(line("x")), path=b"/showcase/logs").status == 200
    assert rooted.post(batch(line("y")), seq=2).status == 404


@given(
    st.dictionaries(
        st.text(max_size=5).filter(lambda k: k not in ("machine", "seq")),
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        max_size=4,
    ),
    st.one_of(st.none(), st.integers(min_value=0, max_value=10**12)),
)
def test_stamping_adds_machine_and_seq_and_keeps_the_rest(
    record: dict[str, Any], seq: int | None
) -> None:
    """A stored line is the sent object plus ``machine`` (and ``seq`` when numbered)."""
    stored = json.loads(stamp(json.dumps(record).encode(), "m-1", seq))
    expected = {**record, "machine": "m-1", **({"seq": seq} if seq is not None else {})}
    assert stored == expected


def test_parse_batch_skips_blank_lines() -> None:
    """Blank lines and surrounding whitespace are not lines."""
    assert parse_batch(b'\n  {"@timestamp":"t","message":"m"}  \r\n\n') == [
        b'{"@timestamp":"t","message":"m"}'
    ]


def test_an_unwritable_directory_fails_the_start(tmp_path: Path) -> None:
    """A logger dir that cannot be made is an error at start, not at the first batch."""
    (tmp_path / "file").write_text("")
    sink = LogSink(RouterHarness(load(tmp_path, SINK)).clock, LoggerSink(str(tmp_path / "file/x")))
    with pytest.raises(OSError):
        sink.start()


# -- the browse page -------------------------------------------------------------------------


def fill(sink: Sink) -> None:
    sink.post(
        batch(
            access("/boston/heats", 200, "req-1", tenant="boston"),
            line("boston started", tenant="boston", request_id="req-1"),
            line("nyc crashed", tenant="nyc", level="error"),
            access("/nyc/missing", 404, "req-2", tenant="nyc"),
            line("Disk Almost Full", level="warn"),
            line("debugging", severity="DEBUG"),
        ),
        seq=1,
    )
    sink.post(batch(line("from b", tenant="boston")), source=b"router-b", seq=1)


MARKERS = (
    "/boston/heats",
    "boston started",
    "nyc crashed",
    "/nyc/missing",
    "Disk Almost Full",
    "debugging",
    "from b",
)


def shown(answer: Response) -> list[str]:
    """The markers the page shows, in page order."""
    assert answer.status == 200, answer.body
    page = answer.body.decode()
    found = [(page.find(m), m) for m in MARKERS if m in page]
    return [m for _, m in sorted(found)]


def test_the_browse_page_shows_today_newest_first(sink: Sink) -> None:
    """``GET /logs/`` lists today's lines, the newest first."""
    fill(sink)
    assert shown(sink.get("/logs/")) == list(reversed(MARKERS))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("tenant=boston", ["from b", "boston started", "/boston/heats"]),
        ("tenant=nyc", ["/nyc/missing", "nyc crashed"]),
        ("level=warn", ["Disk Almost Full", "/nyc/missing", "nyc crashed"]),
        ("level=error", ["nyc crashed"]),
        ("q=disk+almost", ["Disk Almost Full"]),
        ("q=MISSING", ["/nyc/missing"]),
        ("request_id=req-1", ["boston started", "/boston/heats"]),
        ("machine=router-b", ["from b"]),
        ("tenant=boston&request_id=req-1&level=info", ["boston started", "/boston/heats"]),
    ],
)
def test_the_browse_page_filters(sink: Sink, query: str, expected: list[str]) -> None:
    """Filters: tenant (exact), level (that or worse), text (any case), request id (every
    line carrying it), machine; combined, all must hold."""
    fill(sink)
    assert shown(sink.get(f"/logs/?{query}")) == expected


def test_pages_are_bounded_and_link_to_older_lines(sink: Sink) -> None:
    """``limit`` bounds a page; its "Older lines" link shows the next ones, then no link."""
    fill(sink)
    first = sink.get("/logs/?limit=4")
    assert shown(first) == ["from b", "debugging", "Disk Almost Full", "/nyc/missing"]
    link = first.body.decode().split('<a href="')[-1].split('">Older lines')[0]
    second = sink.get("/logs/" + link.replace("&amp;", "&"))
    assert shown(second) == ["nyc crashed", "boston started", "/boston/heats"]
    assert b"Older lines" not in second.body


def test_another_day_is_shown_with_day(sink: Sink) -> None:
    """``?day=`` shows that day's file; the page links the days there are."""
    sink.post(batch(line("debugging")), seq=1)
    sink.clock.advance(86400)
    sink.post(batch(line("from b")), seq=2)
    assert shown(sink.get("/logs/")) == ["from b"]
    yesterday = sink.get("/logs/?day=2025-03-10")
    assert shown(yesterday) == ["debugging"]
    assert b"?day=2025-03-11" in yesterday.body


def test_the_browse_page_needs_basic_auth_but_the_post_does_not(tmp_path: Path) -> None:
    """With auth on, ``/logs/`` asks for Basic credentials; ``POST /logs`` needs only the
    bearer secret."""
    guarded = Sink(tmp_path, with_auth(tmp_path))
    assert guarded.post(batch(line("debugging"))).status == 200
    assert guarded.get("/logs/").status == 401
    assert shown(guarded.get("/logs/", auth=BASIC)) == ["debugging"]


def test_logs_without_a_slash_redirects_and_other_methods_are_405(sink: Sink) -> None:
    """``GET /logs`` → 301 ``/logs/`` (query kept); ``PUT /logs/`` → 405."""
    moved = sink.get("/logs?tenant=x")
    assert (moved.status, moved.header(b"location")) == (301, b"/logs/?tenant=x")
    client = sink.harness.client()
    client.send(b"PUT /logs/ HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
    assert client.response().status == 405


def test_line_levels() -> None:
    """A line's level: ``level``/``severity`` (aliases folded), else an access line's status."""
    assert line_level({"severity": "WARNING"}) == "warn"
    assert line_level({"level": "fatal"}) == "critical"
    assert line_level({"status": 502}) == "error"
    assert line_level({"status": 404}) == "warn"
    assert line_level({"message": "x"}) == "info"


# -- the live tail ---------------------------------------------------------------------------


def handshake(target: str) -> bytes:
    key = base64.b64encode(os.urandom(16))
    return (
        b"GET %s HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (target.encode(), key)
    )


def text_frames(client: Client) -> list[Any]:
    data = client.received().partition(b"\r\n\r\n")[2]
    found, i = [], 0
    while i + 2 <= len(data):
        opcode, n = data[i] & 0x0F, data[i + 1] & 0x7F
        i += 2
        if n == 126:
            n, i = int.from_bytes(data[i : i + 2], "big"), i + 2
        if opcode == 1:
            found.append(json.loads(data[i : i + n]))
        i += n
    return found


def test_the_live_tail_streams_new_lines_that_pass_its_filters(sink: Sink) -> None:
    """A WebSocket at ``/logs/tail?…`` gets each line stored afterwards that passes the
    browse filters, as the stored JSON object; a plain GET there is 426."""
    tail = sink.harness.client()
    tail.send(handshake("/logs/tail?tenant=boston"))
    assert tail.received().startswith(b"HTTP/1.1 101 ")
    fill(sink)
    sent = text_frames(tail)
    assert [f.get("message", f.get("uri")) for f in sent] == [
        "/boston/heats",
        "boston started",
        "from b",
    ]
    assert [f["machine"] for f in sent] == ["router-a", "router-a", "router-b"]
    assert sink.get("/logs/tail").status == 426


def test_the_live_tail_needs_auth_like_the_page(tmp_path: Path) -> None:
    """Without credentials the tail's upgrade is refused with 401."""
    guarded = Sink(tmp_path, with_auth(tmp_path))
    tail = guarded.harness.client()
    tail.send(handshake("/logs/tail"))
    assert tail.received().startswith(b"HTTP/1.1 401 ")
    assert guarded.site.tails.connections == set()
