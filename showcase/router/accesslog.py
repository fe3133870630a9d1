"""One JSON access-log line per request, with the fields of the spec."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from datetime import datetime

from .exchange import Exchange

TOKEN = re.compile(rb"[A-Za-z0-9._~+/=:-]{1,128}")


def request_id(incoming: bytes | None) -> str:
    """The incoming ``X-Request-Id`` if it is a short token, else a new one."""
    if incoming is not None and TOKEN.fullmatch(incoming):
        return incoming.decode("ascii")
    return os.urandom(16).hex()


class AccessLog:
    def __init__(self, write: Callable[[str], None], clock: Callable[[], float]) -> None:
        self.write = write
        self.clock = clock
        self._second = -1
        self._stamp = ("", "")

    def timestamp(self, now: float) -> str:
        """ISO 8601 local time with milliseconds; the slow part is done once a second."""
        second = int(now)
        if second != self._second:
            text = datetime.fromtimestamp(second).astimezone().isoformat()
            self._second, self._stamp = second, (text[:19], text[19:])
        return f"{self._stamp[0]}.{int((now - second) * 1000):03d}{self._stamp[1]}"

    def log(self, ex: Exchange) -> None:
        head = ex.head
        now = self.clock()
        xff = head.header(b"x-forwarded-for")
        fields = {
            "@timestamp": self.timestamp(now),
            "client_ip": xff.decode("latin-1") if xff else head.client_ip,
            "remote_user": ex.remote_user or "-",
            "method": head.method.decode("latin-1"),
            "uri": head.target.decode("latin-1"),
            "status": ex.status,
            "body_bytes_sent": ex.bytes_sent,
            "request_id": ex.request_id,
            "request_time": f"{max(0.0, now - ex.started):.3f}",
            "tenant": ex.tenant or "",
            "response_type": ex.kind,
            "destination": ex.destination or "",
            "user_agent": (head.header(b"user-agent") or b"").decode("latin-1"),
            "referer": (head.header(b"referer") or b"").decode("latin-1"),
        }
        self.write(json.dumps(fields, separators=(",", ":")))
