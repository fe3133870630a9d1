"""Child output (tenants, managed processes, hooks) as log lines.

Navigator's format (``ref/navigator.md`` §14.2): in ``text`` each line is
prefixed ``[<source>.<stream>] ``; in ``json`` each line becomes
``{"@timestamp", "source", "stream", "message", "tenant"?}``, except lines that
are already JSON objects carrying both ``"@timestamp"`` and ``"severity"``
(Rails JSON logs), which pass through verbatim.  With ``logging.file`` every
formatted line is also appended to a file per source (``{{app}}`` = source).

Bytes are buffered per ``(source, stream)`` until a newline; a line longer than
:data:`MAX_LINE` bytes is emitted in pieces (cut on a UTF-8 character
boundary), so a child that never prints a newline cannot grow the buffer
without bound.  Undecodable bytes become U+FFFD.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Callable
from typing import TextIO

from twisted.logger import Logger

MAX_LINE = 64 * 1024
"""Longest line emitted as one; longer lines are split."""

APP_PLACEHOLDER = "{{app}}"

log = Logger()


def _utc_iso(seconds: float) -> str:
    stamp = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _is_structured(text: str) -> bool:
    """True for a JSON object line that carries ``@timestamp`` and ``severity``."""
    if not text.startswith("{"):
        return False
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return isinstance(value, dict) and "@timestamp" in value and "severity" in value


def _cut(buffer: bytearray, limit: int) -> int:
    """Where to cut an over-long ``buffer``: at most ``limit``, not inside a UTF-8 sequence."""
    cut = limit
    # Back up over at most three continuation bytes (0b10xxxxxx).
    while cut > limit - 3 and (buffer[cut] & 0xC0) == 0x80:
        cut -= 1
    return cut if (buffer[cut] & 0xC0) != 0x80 else limit


class ChildOutput:
    """Turns child stdout/stderr bytes into finished log lines for ``write``.

    ``fmt`` is ``"text"`` or ``"json"``; ``file_template`` is ``logging.file``
    (or None); ``write`` receives each formatted line without its newline;
    ``clock`` gives the time (seconds since the epoch) for JSON timestamps.
    """

    def __init__(
        self,
        fmt: str,
        file_template: str | None,
        write: Callable[[str], None],
        clock: Callable[[], float],
    ) -> None:
        if fmt not in ("text", "json"):
            raise ValueError(f"logging.format must be 'text' or 'json', not {fmt!r}")
        self._json = fmt == "json"
        self._file_template = file_template
        self._write = write
        self._clock = clock
        self._buffers: dict[tuple[str, str], bytearray] = {}
        self._tenants: dict[tuple[str, str], str | None] = {}
        self._files: dict[str, TextIO] = {}
        self._failed_paths: set[str] = set()

    def feed(self, source: str, stream: str, data: bytes, tenant: str | None = None) -> None:
        """Add ``data`` from ``source``'s ``stream``; emit every line it completes."""
        key = (source, stream)
        buffer = self._buffers.setdefault(key, bytearray())
        self._tenants[key] = tenant
        buffer += data
        while True:
            newline = buffer.find(b"\n", 0, MAX_LINE + 1)
            if newline >= 0:
                line = bytes(buffer[:newline])
                del buffer[: newline + 1]
            elif len(buffer) > MAX_LINE:
                cut = _cut(buffer, MAX_LINE)
                line = bytes(buffer[:cut])
                del buffer[:cut]
            else:
                break
            self._emit(source, stream, line, tenant)

    def flush(self, source: str) -> None:
        """Emit ``source``'s trailing partial lines (its process ended)."""
        for key in [k for k in self._buffers if k[0] == source]:
            buffer = self._buffers.pop(key)
            tenant = self._tenants.pop(key, None)
            if buffer:
                self._emit(source, key[1], bytes(buffer), tenant)
        if self._file_template is not None and APP_PLACEHOLDER in self._file_template:
            handle = self._files.pop(self._file_path(source), None)
            if handle is not None:
                handle.close()

    def close(self) -> None:
        """Close every open log file (router shutdown)."""
        for handle in self._files.values():
            handle.close()
        self._files.clear()

    def format(self, source: str, stream: str, text: str, tenant: str | None = None) -> str:
        """One decoded line as it is logged."""
        if not self._json:
            return f"[{source}.{stream}] {text}"
        if _is_structured(text):
            return text
        record: dict[str, str] = {
            "@timestamp": _utc_iso(self._clock()),
            "source": source,
            "stream": stream,
            "message": text,
        }
        if tenant is not None:
            record["tenant"] = tenant
        return json.dumps(record, ensure_ascii=False)

    def _emit(self, source: str, stream: str, line: bytes, tenant: str | None) -> None:
        if line.endswith(b"\r"):
            line = line[:-1]
        formatted = self.format(source, stream, line.decode("utf-8", "replace"), tenant)
        self._write(formatted)
        if self._file_template is not None:
            self._copy_to_file(source, formatted)

    def _file_path(self, source: str) -> str:
        assert self._file_template is not None
        # A source never names a directory of its own.
        return self._file_template.replace(APP_PLACEHOLDER, source.replace(os.sep, "_"))

    def _copy_to_file(self, source: str, formatted: str) -> None:
        path = self._file_path(source)
        try:
            handle = self._files.get(path)
            if handle is None:
                directory = os.path.dirname(path)
                if directory:
                    os.makedirs(directory, exist_ok=True)
                handle = open(path, "a", encoding="utf-8")  # noqa: SIM115 (kept open)
                self._files[path] = handle
            handle.write(formatted + "\n")
            handle.flush()
        except OSError as e:
            if path not in self._failed_paths:
                self._failed_paths.add(path)
                log.error("cannot write child output to {path}: {error}", path=path, error=e)
            return
        self._failed_paths.discard(path)
