"""What ``showcase backup`` last pushed to each peer: ``<db-dir>/.backup-state.json``.

For each peer and database the state keeps the file's signature (inode,
size and modification time of the database and of its ``-wal``) taken just
before the copy that was pushed, when that copy started, and the SHA-256 of
the copy.  A database is *fresh* for a peer (skipped without even a copy)
when its signature is unchanged and its newest modification time lies at
least :data:`MARGIN` seconds before that copy started: every later commit
changes the ``-wal`` (or the file) and so the signature, even with a coarse
file-system clock.  Otherwise a new consistent copy is made, and it is pushed
only when its hash differs from the one the peer got last.

The file is rewritten atomically; an unreadable or malformed one is treated
as empty (everything is pushed again, which loses nothing).
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import attrs

from .atomic import write_atomically

STATE_FILE = ".backup-state.json"
MARGIN = 1.0
"""Seconds between a database's last write and the copy for the fast path to trust it."""

Signature = tuple[int, ...]


def signature(path: str) -> Signature:
    """``(inode, size, mtime_ns)`` of ``path`` and of ``path-wal`` (zeros when absent).

    Raises :class:`FileNotFoundError` when the database itself is missing.
    """
    parts: list[int] = []
    for name in (path, path + "-wal"):
        try:
            st = os.stat(name)
        except FileNotFoundError:
            if name == path:
                raise
            parts += [0, 0, 0]
            continue
        parts += [st.st_ino, st.st_size, st.st_mtime_ns]
    return tuple(parts)


def file_sha256(path: str) -> str:
    """The SHA-256 of the file at ``path``, in hex."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


@attrs.frozen
class Record:
    """One database as last pushed to one peer."""

    signature: Signature
    copied_at: float  # when the pushed copy was started (seconds since the epoch)
    sha256: str

    def newest_write(self) -> float:
        """The latest modification time in the signature, in seconds."""
        return max(self.signature[2::3]) / 1e9


class PushState:
    """The records of one database directory, per peer and database name."""

    def __init__(self, path: str, peers: dict[str, dict[str, Record]] | None = None) -> None:
        self.path = path
        self.peers = peers or {}

    @classmethod
    def load(cls, path: str) -> tuple[PushState, str | None]:
        """The state in ``path`` (empty when missing) and a warning when it was unusable."""
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
            peers = {
                peer: {name: _record(value) for name, value in names.items()}
                for peer, names in data["peers"].items()
            }
        except FileNotFoundError:
            return cls(path), None
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as e:
            return cls(path), f"{path} unusable ({e}); every database is pushed again"
        return cls(path, peers), None

    def fresh(self, peer: str, name: str, current: Signature) -> bool:
        """Is ``name`` known to be unchanged since its last push to ``peer``?"""
        record = self.peers.get(peer, {}).get(name)
        return (
            record is not None
            and record.signature == current
            and record.newest_write() < record.copied_at - MARGIN
        )

    def pushed_hash(self, peer: str, name: str) -> str | None:
        """The hash of the copy of ``name`` that ``peer`` has, if known."""
        record = self.peers.get(peer, {}).get(name)
        return record.sha256 if record is not None else None

    def record(self, peer: str, name: str, record: Record) -> None:
        self.peers.setdefault(peer, {})[name] = record

    def save(self) -> None:
        """Write the state atomically."""
        data = {
            "version": 1,
            "peers": {
                peer: {name: attrs.asdict(record) for name, record in sorted(names.items())}
                for peer, names in sorted(self.peers.items())
            },
        }
        write_atomically(self.path, json.dumps(data, indent=1).encode("utf-8"), mode=0o600)


def _record(value: Any) -> Record:
    sig = tuple(int(part) for part in value["signature"])
    if len(sig) != 6:
        raise ValueError(f"bad signature {sig!r}")
    return Record(sig, float(value["copied_at"]), str(value["sha256"]))
