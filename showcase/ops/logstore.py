"""The log sink's files: one JSON line per log line in ``dir/YYYY-MM-DD.log``, and the
last acknowledged batch number of every sending machine in ``dir/.sequences``.

:class:`DayFiles` appends a batch with one ``write`` and an ``fsync`` (an
acknowledged line is on disk), reads a day newest first (:func:`lines_backward`),
and deletes the days older than the retention.  :class:`Sequences` is an
append-only file of ``<machine>\\t<seq>`` lines, rewritten compactly when
opened.

A batch is recorded in ``.sequences`` only after its lines are on disk, so at
start :meth:`DayFiles.trim_unacknowledged` cuts what a crash may have left
behind: a torn last line, and the trailing lines of a batch whose number was
never recorded (its sender was not answered and will send it again).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import BinaryIO

from .atomic import sync_directory, write_atomically

DAY_FILE = re.compile(r"(\d{4}-\d{2}-\d{2})\.log")
SEQUENCES = ".sequences"
BLOCK = 64 * 1024
DAY = 86400.0


def utc_day(seconds: float) -> str:
    """``YYYY-MM-DD`` of ``seconds`` since the epoch, in UTC."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d")


def day_start(day: str) -> float:
    """Seconds since the epoch at 00:00 UTC of ``day``."""
    return datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def lines_backward(f: BinaryIO, end: int, block: int = BLOCK) -> Iterator[tuple[int, bytes]]:
    """``(offset, line)`` for each line of ``f`` before ``end``, the last first.

    ``offset`` is where the line starts; lines come without their newline and
    empty lines are skipped.  Reads ``block`` bytes at a time.
    """
    pos, tail = end, b""
    while pos > 0:
        size = min(block, pos)
        pos -= size
        f.seek(pos)
        chunk = f.read(size) + tail
        parts = chunk.split(b"\n")
        tail = parts[0]
        offset = pos + len(tail) + 1
        found = []
        for part in parts[1:]:
            if part:
                found.append((offset, part))
            offset += len(part) + 1
        yield from reversed(found)
    if tail:
        yield 0, tail


class Sequences:
    """The last acknowledged batch number per sending machine, persisted in ``dir``."""

    def __init__(self, directory: str) -> None:
        self.path = os.path.join(directory, SEQUENCES)
        self.last: dict[str, int] = {}
        with contextlib.suppress(FileNotFoundError), open(self.path, "rb") as f:
            for raw in f:
                machine, sep, seq = raw.rstrip(b"\n").decode("utf-8", "replace").partition("\t")
                if sep and seq.isdigit():
                    self.last[machine] = max(int(seq), self.last.get(machine, 0))
        self._compact(directory)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def _compact(self, directory: str) -> None:
        text = "".join(f"{machine}\t{seq}\n" for machine, seq in sorted(self.last.items()))
        write_atomically(self.path, text.encode())
        sync_directory(directory)

    def seen(self, machine: str, seq: int) -> bool:
        """Was batch ``seq`` of ``machine`` (or a later one) acknowledged already?"""
        last = self.last.get(machine)
        return last is not None and seq <= last

    def record(self, machine: str, seq: int) -> None:
        """Batch ``seq`` of ``machine`` is on disk: remember it (on disk too)."""
        _write_all(self._fd, f"{machine}\t{seq}\n".encode())
        os.fsync(self._fd)
        self.last[machine] = seq

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class DayFiles:
    """The day files of one directory."""

    def __init__(self, directory: str) -> None:
        self.dir = directory
        self._fd = -1
        self._day = ""

    def path(self, day: str) -> str:
        return os.path.join(self.dir, f"{day}.log")

    def days(self) -> list[str]:
        """The days that have a file, newest first."""
        found = [m.group(1) for m in map(DAY_FILE.fullmatch, os.listdir(self.dir)) if m]
        return sorted(found, reverse=True)

    def append(self, day: str, data: bytes) -> None:
        """Add ``data`` (whole lines) to ``day``'s file and wait until it is on disk."""
        if day != self._day:
            self.close()
            created = not os.path.exists(self.path(day))
            self._fd = os.open(self.path(day), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            self._day = day
            if created:
                sync_directory(self.dir)
        size = os.lseek(self._fd, 0, os.SEEK_END)
        try:
            _write_all(self._fd, data)
            os.fsync(self._fd)
        except OSError:
            os.ftruncate(self._fd, size)  # no half batch: its sender will send it again
            raise

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        self._fd, self._day = -1, ""

    def prune(self, now: float, retention: float) -> list[str]:
        """Delete the days whose last second is older than ``retention``; their names."""
        gone = []
        for day in self.days():
            if day_start(day) + DAY <= now - retention:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path(day))
                gone.append(day)
        if self._day in gone:
            self.close()
        return gone

    def trim_unacknowledged(self, acknowledged: Callable[[str, int], bool]) -> int:
        """Cut a torn last line and the lines of an unacknowledged last batch from the
        newest day; the number of bytes cut."""
        days = self.days()
        if not days:
            return 0
        with open(self.path(days[0]), "r+b") as f:
            end = f.seek(0, os.SEEK_END)
            cut = end
            if end:
                f.seek(end - 1)
                if f.read(1) != b"\n":
                    cut = next((offset for offset, _ in lines_backward(f, end)), 0)
            for offset, line in lines_backward(f, cut):
                stamp = _batch_of(line)
                if stamp is None or acknowledged(*stamp):
                    break
                cut = offset
            if cut != end:
                f.truncate(cut)
                f.flush()
                os.fsync(f.fileno())
            return end - cut


def _batch_of(line: bytes) -> tuple[str, int] | None:
    """The (machine, seq) a stored line came with, or None."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    machine, seq = record.get("machine"), record.get("seq")
    if isinstance(machine, str) and isinstance(seq, int):
        return machine, seq
    return None
