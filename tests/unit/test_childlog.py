"""ChildOutput: child stdout/stderr bytes to log lines (Navigator §14.2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from showcase.tenants.childlog import MAX_LINE, ChildOutput

NOW = 1_700_000_000.25  # 2023-11-14T22:13:20.250Z


def make(fmt: str = "text", file_template: str | None = None) -> tuple[ChildOutput, list[str]]:
    lines: list[str] = []
    return ChildOutput(fmt, file_template, lines.append, lambda: NOW), lines


def test_text_lines_are_prefixed_with_source_and_stream() -> None:
    """In text format each line reads ``[<source>.<stream>] <line>``."""
    output, lines = make()
    output.feed("2025-boston", "stdout", b"hello\nworld\n")
    output.feed("redis", "stderr", b"oops\n")
    assert lines == [
        "[2025-boston.stdout] hello",
        "[2025-boston.stdout] world",
        "[redis.stderr] oops",
    ]


def test_partial_lines_wait_for_their_newline() -> None:
    """A line split over several reads is emitted once, when its newline arrives."""
    output, lines = make()
    output.feed("app", "stdout", b"hel")
    output.feed("app", "stdout", b"lo\nwor")
    assert lines == ["[app.stdout] hello"]
    output.feed("app", "stdout", b"ld\n")
    assert lines == ["[app.stdout] hello", "[app.stdout] world"]


def test_streams_and_sources_are_buffered_separately() -> None:
    """Partial lines of stdout, stderr and other sources do not mix."""
    output, lines = make()
    output.feed("a", "stdout", b"out-")
    output.feed("a", "stderr", b"err-")
    output.feed("b", "stdout", b"other-")
    output.feed("a", "stdout", b"a\n")
    output.feed("a", "stderr", b"a\n")
    output.feed("b", "stdout", b"b\n")
    assert lines == ["[a.stdout] out-a", "[a.stderr] err-a", "[b.stdout] other-b"]


def test_flush_emits_the_trailing_partial_line_once() -> None:
    """At process end the unterminated last line of each stream is emitted, then forgotten."""
    output, lines = make()
    output.feed("app", "stdout", b"done")
    output.feed("app", "stderr", b"warn")
    output.feed("other", "stdout", b"keep")
    output.flush("app")
    output.flush("app")
    assert lines == ["[app.stdout] done", "[app.stderr] warn"]


def test_crlf_line_endings_lose_the_carriage_return() -> None:
    """``\\r\\n`` ends a line like ``\\n``."""
    output, lines = make()
    output.feed("app", "stdout", b"windows\r\n")
    assert lines == ["[app.stdout] windows"]


def test_undecodable_bytes_become_replacement_characters() -> None:
    """Invalid UTF-8 is logged with U+FFFD instead of failing."""
    output, lines = make()
    output.feed("app", "stdout", b"bad \xff\xfe byte\n")
    assert lines == ["[app.stdout] bad \ufffd\ufffd byte"]


def test_long_lines_are_split_at_64k() -> None:
    """A line longer than 64 KiB is emitted in 64 KiB pieces."""
    output, lines = make()
    output.feed("app", "stdout", b"x" * (MAX_LINE * 2 + 10))
    assert [len(line) for line in lines] == [len("[app.stdout] ") + MAX_LINE] * 2
    output.feed("app", "stdout", b"\n")
    assert lines[-1] == "[app.stdout] " + "x" * 10


def test_a_split_does_not_cut_a_utf8_character() -> None:
    """The cut of an over-long line backs up to a character boundary."""
    output, lines = make()
    output.feed("app", "stdout", b"x" * (MAX_LINE - 1) + "é".encode() + b"tail\n")
    assert lines == ["[app.stdout] " + "x" * (MAX_LINE - 1), "[app.stdout] étail"]


def test_a_line_of_exactly_64k_is_one_line() -> None:
    """A 64 KiB line followed by its newline is not split."""
    output, lines = make()
    output.feed("app", "stdout", b"y" * MAX_LINE)
    assert lines == []
    output.feed("app", "stdout", b"\n")
    assert lines == ["[app.stdout] " + "y" * MAX_LINE]


def test_json_wraps_each_line_with_timestamp_source_and_stream() -> None:
    """In json format a line becomes an object with @timestamp, source, stream, message."""
    output, lines = make("json")
    output.feed("redis", "stderr", b"ready \xe2\x9c\x93\n")
    assert json.loads(lines[0]) == {
        "@timestamp": "2023-11-14T22:13:20.250Z",
        "source": "redis",
        "stream": "stderr",
        "message": "ready ✓",
    }


def test_json_carries_the_tenant_when_given() -> None:
    """A tenant passed to feed appears as the "tenant" field."""
    output, lines = make("json")
    output.feed("2025-boston", "stdout", b"hi\n", tenant="2025-boston")
    assert json.loads(lines[0])["tenant"] == "2025-boston"


def test_structured_json_lines_pass_through_verbatim() -> None:
    """A JSON line with both @timestamp and severity (Rails JSON log) is not wrapped."""
    output, lines = make("json")
    raw = '{"@timestamp":"2025-01-01T00:00:00Z", "severity":"INFO","message":"x"}'
    output.feed("app", "stdout", raw.encode() + b"\n")
    assert lines == [raw]


@pytest.mark.parametrize(
    "raw",
    [
        '{"@timestamp":"2025-01-01T00:00:00Z","message":"no severity"}',
        '{"severity":"INFO","message":"no timestamp"}',
        '{"@timestamp": broken json, "severity": 1',
        '["@timestamp", "severity"]',
    ],
)
def test_other_json_lines_are_wrapped(raw: str) -> None:
    """JSON lacking @timestamp or severity, or not an object, is wrapped like text."""
    output, lines = make("json")
    output.feed("app", "stdout", raw.encode() + b"\n")
    assert json.loads(lines[0])["message"] == raw


def test_text_format_prefixes_structured_json_too() -> None:
    """Pass-through is a json-format rule; text format prefixes every line."""
    output, lines = make("text")
    raw = '{"@timestamp":"t","severity":"INFO"}'
    output.feed("app", "stdout", raw.encode() + b"\n")
    assert lines == ["[app.stdout] " + raw]


def test_unknown_format_is_rejected() -> None:
    """Only "text" and "json" are formats."""
    with pytest.raises(ValueError, match=r"logging\.format"):
        ChildOutput("xml", None, print, lambda: NOW)


def test_file_copy_goes_to_a_file_per_source_in_created_dirs(tmp_path: Path) -> None:
    """With logging.file each source's lines are also written to its own file; dirs are made."""
    template = str(tmp_path / "logs" / "{{app}}" / "out.log")
    output, lines = make("text", template)
    output.feed("alpha", "stdout", b"one\n")
    output.feed("beta", "stderr", b"two\n")
    output.flush("alpha")
    output.flush("beta")
    assert (tmp_path / "logs" / "alpha" / "out.log").read_text() == "[alpha.stdout] one\n"
    assert (tmp_path / "logs" / "beta" / "out.log").read_text() == "[beta.stderr] two\n"
    assert lines == ["[alpha.stdout] one", "[beta.stderr] two"]


def test_file_copy_appends_to_an_existing_file(tmp_path: Path) -> None:
    """The per-source file is appended to, never truncated."""
    path = tmp_path / "alpha.log"
    path.write_text("earlier\n")
    output, _ = make("json", str(tmp_path / "{{app}}.log"))
    output.feed("alpha", "stdout", b"later\n")
    output.close()
    earlier, later = path.read_text().splitlines()
    assert earlier == "earlier"
    assert json.loads(later)["message"] == "later"


def test_file_copy_failure_does_not_stop_logging(tmp_path: Path) -> None:
    """A log file that cannot be written is skipped; the lines still reach ``write``."""
    (tmp_path / "blocker").write_text("a file, not a directory")
    output, lines = make("text", str(tmp_path / "blocker" / "{{app}}.log"))
    output.feed("app", "stdout", b"one\ntwo\n")
    assert lines == ["[app.stdout] one", "[app.stdout] two"]


def test_a_source_with_a_slash_does_not_escape_its_file(tmp_path: Path) -> None:
    """``/`` in a source name is replaced in the file name, so it names no other directory."""
    output, _ = make("text", str(tmp_path / "{{app}}.log"))
    output.feed("../evil", "stdout", b"x\n")
    output.close()
    assert (tmp_path / ".._evil.log").exists()


@given(
    lines=st.lists(
        st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\r\n")),
        max_size=8,
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=10),
)
def test_any_chunking_yields_the_same_lines(lines: list[str], cuts: list[int]) -> None:
    """However the bytes are split into reads, the emitted lines are the same."""
    data = "".join(line + "\n" for line in lines).encode()
    output, emitted = make()
    start = 0
    for cut in sorted(cuts):
        output.feed("app", "stdout", data[start:cut])
        start = max(start, cut)
    output.feed("app", "stdout", data[start:])
    output.flush("app")
    assert emitted == ["[app.stdout] " + line for line in lines]
