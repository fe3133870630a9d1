"""The maintenance page: 503, never cached, re-read when the file changes."""

from __future__ import annotations

import os

from .message import Reply

BUILT_IN = (
    b"<!DOCTYPE html><html><head><meta charset='utf-8'>"
    b"<meta http-equiv='refresh' content='5'><title>Service Temporarily Unavailable</title>"
    b"</head><body><h1>Service Temporarily Unavailable</h1>"
    b"<p>%s</p><p>This page refreshes itself.</p></body></html>\n"
)
NO_CACHE = (
    (b"content-type", b"text/html; charset=utf-8"),
    (b"cache-control", b"no-cache, no-store, must-revalidate"),
    (b"pragma", b"no-cache"),
    (b"expires", b"0"),
)


class MaintenancePage:
    def __init__(self, path: str) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._body = b""

    def reply(self, message: str | None = None, status: int = 503) -> Reply:
        """The page; ``message`` (a reason) is used only by the built-in page."""
        if message is None:
            body = self._read()
            if body is not None:
                return Reply(status, NO_CACHE, body, kind="maintenance")
        text = (message or "The site is being updated. Please try again in a moment.").encode()
        text = text.replace(b"&", b"&amp;").replace(b"<", b"&lt;")
        return Reply(status, NO_CACHE, BUILT_IN % text, kind="maintenance")

    def _read(self) -> bytes | None:
        try:
            st = os.stat(self.path)
            stamp = (st.st_mtime_ns, st.st_size)
            if stamp != self._stamp:
                with open(self.path, "rb") as f:
                    self._body = f.read()
                self._stamp = stamp
        except OSError:
            return None
        return self._body
