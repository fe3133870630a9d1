"""Small static files kept in memory, keyed by path and version (their ETag).

A file whose size or mtime changes gets a new ETag, so a stale entry is never
served; old entries age out of the bounded LRU.
"""

from __future__ import annotations

from collections import OrderedDict

MAX_FILE = 256 * 1024
MAX_TOTAL = 16 * 1024 * 1024


class FileCache:
    def __init__(self, max_total: int = MAX_TOTAL) -> None:
        self.max_total = max_total
        self.total = 0
        self.entries: OrderedDict[tuple[str, bytes], bytes] = OrderedDict()

    def read(self, path: str, version: bytes, length: int) -> bytes:
        """The whole file (``length`` bytes); OSError if it is not that file any more."""
        key = (path, version)
        data = self.entries.get(key)
        if data is not None:
            self.entries.move_to_end(key)
            return data
        with open(path, "rb") as f:
            data = f.read(length + 1)
        if len(data) != length:
            raise OSError(f"{path} changed while being read")
        if version:
            self.entries[key] = data
            self.total += len(data)
            while self.total > self.max_total:
                _, old = self.entries.popitem(last=False)
                self.total -= len(old)
        return data


small_files = FileCache()
