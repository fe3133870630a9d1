"""One JSON access-log line per request, with the fields of the spec.

A request that waited for its tenant to start also says how it was started
(``started_via``: ``preload`` or ``spawn``) and how long that took (``start_ms``).
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Callable
from datetime import datetime

from .exchange import Exchange

_str = json.encoder.encode_basestring_ascii
_LINE = (
    '{"@timestamp":%s,"client_ip":%s,"remote_user":%s,"method":%s,"uri":%s,"status":%d,'
    '"body_bytes_sent":%d,"request_id":%s,"request_time":"%.3f","tenant":%s,'
    '"response_type":%s,"destination":%s,"user_agent":%s,"referer":%s'
)  # closed by AccessLog._start
TOKEN = re.compile(rb"[A-Za-z0-9._~+/=:-]{1,128}")


_PREFIX = os.urandom(8).hex()
_serial = itertools.count(1)


def request_id(incoming: bytes | None) -> str:
    """The incoming ``X-Request-Id`` if it is a short token, else a new one.

    New ids are a random per-process prefix and a counter (32 hex digits):
    unique without a system call per request.
    """
    if incoming is not None and TOKEN.fullmatch(incoming):
        return incoming.decode("ascii")
    return f"{_PREFIX}{next(_serial):016x}"


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
        client = user_agent = referer = b""
        for name, value in head.headers:
            if name == b"x-forwarded-for" and not client:
                client = value
            elif name == b"user-agent":
                user_agent = value
            elif name == b"referer":
                referer = value
        # Formatted by hand (each string escaped by the C JSON escaper): the
        # general encoder was a fifth of the router's own time per request.
        self.write(
            _LINE
            % (
                _str(self.timestamp(now)),
                _str(client.decode("latin-1") if client else head.client_ip),
                _str(ex.remote_user or "-"),
                _str(head.method.decode("latin-1")),
                _str(head.target.decode("latin-1")),
                ex.status,
                ex.bytes_sent,
                _str(ex.request_id),
                max(0.0, now - ex.started),
                _str(ex.tenant or ""),
                _str(ex.kind),
                _str(ex.destination or ""),
                _str(user_agent.decode("latin-1")),
                _str(referer.decode("latin-1")),
            )
            + self._start(ex)
        )

    @staticmethod
    def _start(ex: Exchange) -> str:
        """``,"started_via":…,"start_ms":…}`` for a request that waited for a start, else ``}``."""
        if ex.started_via is None:
            return "}"
        ms = "null" if ex.start_ms is None else f"{ex.start_ms:.1f}"
        return f',"started_via":{_str(ex.started_via)},"start_ms":{ms}}}'
