"""The shipper's buffer: numbered batches of log lines waiting for the logger's answer.

Two twins with one surface (:class:`Buffer`): :class:`DiskBuffer` in
``logging.logger.buffer_dir``, and :class:`MemoryBuffer` when there is none.
Every sealed batch is stored before it is sent, gets the next sequence number,
and stays until the logger acknowledges it (:meth:`Buffer.ack`); the oldest
unacknowledged batch is sent first.  The buffer is bounded: when it holds more
than ``cap`` bytes the oldest batches are dropped and counted.

On disk: append-only segment files ``seg-<first seq>.log`` of records
``#<seq> <lines> <bytes>\\n`` + the batch (fsync'd per batch), and ``acked``
holding the last acknowledged number.  A segment is deleted once every batch
in it is acknowledged.  A torn record at the end (a crash while writing) is
cut when the buffer is opened.  Numbers survive a restart; a fresh buffer
starts at the current time in milliseconds, so a machine whose buffer was
lost (or that has none) never reuses a number the logger has seen.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections import deque
from collections.abc import Callable
from typing import Protocol

import attrs

from .atomic import write_atomically

CAP = 64 * 1024 * 1024
SEGMENT = 4 * 1024 * 1024
SEGMENT_NAME = re.compile(r"seg-(\d{20})\.log")
HEADER = re.compile(rb"#(\d+) (\d+) (\d+)\n")


@attrs.frozen
class Batch:
    seq: int
    lines: int
    data: bytes  # the lines, each ending in a newline


class Buffer(Protocol):
    dropped_lines: int

    def add(self, lines: list[str]) -> int:
        """Store a batch of ``lines`` (without newlines); its sequence number."""

    def oldest(self) -> Batch | None:
        """The oldest unacknowledged batch, or None."""

    def ack(self, seq: int) -> None:
        """The logger has batch ``seq`` (or dropped it for good): forget it."""

    def pending(self) -> int:
        """How many batches wait."""

    def close(self) -> None: ...


def _encode(lines: list[str]) -> bytes:
    return "".join(line + "\n" for line in lines).encode("utf-8", "surrogateescape")


def fresh_seq(clock: Callable[[], float]) -> int:
    """The first number of a buffer with no history: milliseconds since the epoch."""
    return max(1, int(clock() * 1000))


class MemoryBuffer:
    """Batches in memory (lost at exit); the same rules as on disk."""

    def __init__(self, clock: Callable[[], float], cap: int = CAP) -> None:
        self.cap = cap
        self.next_seq = fresh_seq(clock)
        self.batches: deque[Batch] = deque()
        self.size = 0
        self.dropped_lines = 0

    def add(self, lines: list[str]) -> int:
        batch = Batch(self.next_seq, len(lines), _encode(lines))
        self.next_seq += 1
        self.batches.append(batch)
        self.size += len(batch.data)
        while self.size > self.cap and len(self.batches) > 1:
            old = self.batches.popleft()
            self.size -= len(old.data)
            self.dropped_lines += old.lines
        return batch.seq

    def oldest(self) -> Batch | None:
        return self.batches[0] if self.batches else None

    def ack(self, seq: int) -> None:
        while self.batches and self.batches[0].seq <= seq:
            self.size -= len(self.batches.popleft().data)

    def pending(self) -> int:
        return len(self.batches)

    def close(self) -> None:
        pass


@attrs.frozen
class _Entry:
    seq: int
    lines: int
    segment: str
    offset: int  # where the batch's data starts
    length: int


class DiskBuffer:
    """Batches in segment files under ``directory``."""

    def __init__(self, directory: str, clock: Callable[[], float], cap: int = CAP) -> None:
        self.dir = directory
        self.cap = cap
        self.segment_limit = max(1, min(SEGMENT, cap // 4))
        self.dropped_lines = 0
        os.makedirs(directory, exist_ok=True)
        self._acked_path = os.path.join(directory, "acked")
        self.acked = self._read_acked()
        self._fd = -1
        self._current = ""  # the segment being written
        self.entries: deque[_Entry] = deque()
        self.segments: dict[str, int] = {}  # path → size, oldest first
        for name in sorted(os.listdir(directory)):
            if SEGMENT_NAME.fullmatch(name):
                self._load(os.path.join(directory, name))
        last = self.entries[-1].seq if self.entries else 0
        self.next_seq = max(self.acked, last) + 1 if (self.acked or last) else fresh_seq(clock)
        self._forget_acknowledged()

    def _read_acked(self) -> int:
        try:
            with open(self._acked_path) as f:
                text = f.read().strip()
        except FileNotFoundError:
            return 0
        return int(text) if text.isdigit() else 0

    def _load(self, path: str) -> None:
        """Index the records of segment ``path``; cut a torn last record."""
        with open(path, "r+b") as f:
            data = f.read()
            pos = 0
            while pos < len(data):
                m = HEADER.match(data, pos)
                if m is None or m.end() + int(m.group(3)) > len(data):
                    f.truncate(pos)  # a record the crash left half-written
                    break
                seq, lines, length = (int(g) for g in m.groups())
                if seq > self.acked:
                    self.entries.append(_Entry(seq, lines, path, m.end(), length))
                pos = m.end() + length
        self.segments[path] = pos

    # -- adding ---------------------------------------------------------------------

    def add(self, lines: list[str]) -> int:
        seq = self.next_seq
        self.next_seq += 1
        data = _encode(lines)
        if self._fd < 0 or self.segments.get(self._current, 0) >= self.segment_limit:
            self._roll(seq)
        head = b"#%d %d %d\n" % (seq, len(lines), len(data))
        offset = self.segments[self._current]
        record = head + data
        try:
            view = memoryview(record)
            while view:
                view = view[os.write(self._fd, view) :]
            os.fsync(self._fd)
        except OSError:
            os.ftruncate(self._fd, offset)  # keep the segment readable
            raise
        self.segments[self._current] = offset + len(record)
        self.entries.append(_Entry(seq, len(lines), self._current, offset + len(head), len(data)))
        self._enforce_cap()
        return seq

    def _roll(self, seq: int) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        self._current = os.path.join(self.dir, f"seg-{seq:020d}.log")
        self._fd = os.open(self._current, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.segments[self._current] = 0

    def _enforce_cap(self) -> None:
        while sum(self.segments.values()) > self.cap and len(self.segments) > 1:
            oldest = next(iter(self.segments))
            while self.entries and self.entries[0].segment == oldest:
                self.dropped_lines += self.entries.popleft().lines
            self._delete(oldest)

    def _delete(self, path: str) -> None:
        del self.segments[path]
        if path == self._current:
            os.close(self._fd)
            self._fd, self._current = -1, ""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)

    # -- sending ----------------------------------------------------------------------

    def oldest(self) -> Batch | None:
        if not self.entries:
            return None
        entry = self.entries[0]
        with open(entry.segment, "rb") as f:
            f.seek(entry.offset)
            return Batch(entry.seq, entry.lines, f.read(entry.length))

    def ack(self, seq: int) -> None:
        if seq <= self.acked:
            return
        self.acked = seq
        write_atomically(self._acked_path, f"{seq}\n".encode())
        while self.entries and self.entries[0].seq <= seq:
            self.entries.popleft()
        self._forget_acknowledged()

    def _forget_acknowledged(self) -> None:
        """Delete the segments (but the one being written) that hold no waiting batch."""
        waiting = {entry.segment for entry in self.entries}
        for path in list(self.segments):
            if path not in waiting and path != self._current:
                self._delete(path)

    def pending(self) -> int:
        return len(self.entries)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        self._fd, self._current = -1, ""
