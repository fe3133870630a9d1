"""How the supervisor learns that a tenant is ready, and hears from its process.

Two signals, whichever comes first (``spec/router-config.md``, lifecycle):

* the child prints one JSON line ``{"ready": true, ...}`` on stdout, read by
  :class:`TenantProcessProtocol` (all output still goes to the output callback);
* ``GET http://127.0.0.1:PORT<health_check>`` answers with a status below 500,
  polled every :data:`POLL_INTERVAL` seconds by :class:`HealthPoller` through a
  :data:`Probe` (default :func:`http_probe`: a raw TCP client that sends one
  request, reads the status line and hangs up).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from typing import Protocol as TypingProtocol

from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.protocol import Factory, ProcessProtocol, Protocol
from twisted.logger import Logger
from twisted.python.failure import Failure

log = Logger()

POLL_INTERVAL = 0.025
"""Seconds between health probes (the spec asks for 20-50 ms)."""

PROBE_TIMEOUT = 0.5
"""Seconds one health probe may take before it counts as "not ready"."""

MAX_READY_LINE = 64 * 1024
"""Stdout bytes kept while looking for the end of a line; longer lines are not ready lines."""

Probe = Callable[[int, str], "Deferred[bool]"]
"""``probe(port, path)`` fires True when ``GET path`` on ``127.0.0.1:port`` answers < 500."""


class DelayedCall(TypingProtocol):
    """What ``callLater`` returns, as far as this package uses it."""

    def active(self) -> bool: ...

    def cancel(self) -> None: ...

    def getTime(self) -> float: ...

    def reset(self, secondsFromNow: float) -> None: ...


def cancel_call(call: DelayedCall | None) -> None:
    """Cancel ``call`` if it is still pending."""
    if call is not None and call.active():
        call.cancel()


Output = Callable[[str, str, bytes], None]
"""``output(tenant_name, "stdout" | "stderr", data)``: raw child output."""


def is_ready_line(line: bytes) -> bool:
    """True if ``line`` is a JSON object whose ``ready`` member is ``true``."""
    line = line.strip()
    if not line.startswith(b"{"):
        return False
    try:
        message = json.loads(line)
    except ValueError:
        return False
    return isinstance(message, dict) and message.get("ready") is True


class TenantProcessProtocol(ProcessProtocol):
    """Forwards a tenant's output, spots its ready line and reports its end.

    ``on_ready()`` is called once, for the first ready line; ``on_exited()`` when
    the process itself has been reaped; ``on_ended(reason)`` when, in addition,
    all its pipes are closed (no process of its group holds them any more).
    """

    def __init__(
        self,
        name: str,
        output: Output,
        on_ready: Callable[[], None],
        on_exited: Callable[[], None],
        on_ended: Callable[[Failure], None],
    ) -> None:
        self.name = name
        self._output = output
        self._on_ready: Callable[[], None] | None = on_ready
        self._on_exited = on_exited
        self._on_ended = on_ended
        self._buffer = b""

    def outReceived(self, data: bytes) -> None:
        self._forward("stdout", data)
        if self._on_ready is None:
            return
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        if len(self._buffer) > MAX_READY_LINE:
            self._buffer = b""
        for line in lines:
            if is_ready_line(line):
                on_ready, self._on_ready, self._buffer = self._on_ready, None, b""
                on_ready()
                return

    def errReceived(self, data: bytes) -> None:
        self._forward("stderr", data)

    def _forward(self, stream: str, data: bytes) -> None:
        try:
            self._output(self.name, stream, data)
        except Exception:
            log.failure("output of tenant {tenant} could not be handled", tenant=self.name)

    def processExited(self, reason: Failure) -> None:
        self._on_exited()

    def processEnded(self, reason: Failure) -> None:
        self._on_ready = None
        self._on_ended(reason)


class HealthPoller:
    """Calls ``probe(port, path)`` every :data:`POLL_INTERVAL` s until it says ready.

    One probe is in flight at a time; the next is scheduled when it answers.
    :meth:`stop` ends the polling (the tenant became ready another way, or exited).
    """

    def __init__(
        self,
        clock: Any,
        probe: Probe,
        port: int,
        path: str,
        on_ready: Callable[[], None],
        interval: float = POLL_INTERVAL,
    ) -> None:
        self._clock = clock
        self._probe = probe
        self._port = port
        self._path = path
        self._on_ready = on_ready
        self._interval = interval
        self._call: DelayedCall | None = None
        self._pending: Deferred[bool] | None = None
        self._stopped = False

    def start(self) -> None:
        """Probe now, and again every interval until ready or stopped."""
        self._poll()

    def stop(self) -> None:
        """Stop polling; an outstanding probe is cancelled."""
        self._stopped = True
        cancel_call(self._call)
        self._call = None
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.cancel()

    def _poll(self) -> None:
        self._call = None
        if self._stopped:
            return
        d = self._probe(self._port, self._path)
        self._pending = d
        d.addErrback(lambda _: False)
        d.addCallback(self._answered, d)

    def _answered(self, ready: bool, d: Deferred[bool]) -> None:
        if self._pending is d:
            self._pending = None
        if self._stopped:
            return
        if ready:
            self._stopped = True
            self._on_ready()
        else:
            self._call = self._clock.callLater(self._interval, self._poll)


class _StatusLine(Protocol):
    """Sends one request, reads the status code from the status line, hangs up."""

    transport: Any

    def __init__(self, request: bytes) -> None:
        self._request = request
        self._buffer = b""
        self.status: Deferred[int | None] = Deferred(lambda _: self._hang_up(None))

    def connectionMade(self) -> None:
        self.transport.write(self._request)

    def dataReceived(self, data: bytes) -> None:
        self._buffer += data
        if b"\n" in self._buffer or len(self._buffer) >= 1024:
            fields = self._buffer.split(b"\n", 1)[0].split()
            ok = len(fields) >= 2 and fields[0].startswith(b"HTTP/") and fields[1].isdigit()
            self._hang_up(int(fields[1]) if ok else None)

    def connectionLost(self, reason: Failure | None = None) -> None:
        self._finish(None)

    def _hang_up(self, status: int | None) -> None:
        self.transport.abortConnection()
        self._finish(status)

    def _finish(self, status: int | None) -> None:
        if not self.status.called:
            self.status.callback(status)


class _QuietFactory(Factory):
    """Hands out one protocol, without the start/stop log lines of every probe."""

    noisy = False

    def __init__(self, protocol: Protocol) -> None:
        self.protocol_instance = protocol

    def buildProtocol(self, addr: Any) -> Protocol:
        return self.protocol_instance


def http_probe(reactor: Any, timeout: float = PROBE_TIMEOUT) -> Probe:
    """A :data:`Probe` over real TCP on ``127.0.0.1`` using ``reactor``.

    Each probe opens one connection, sends ``GET path HTTP/1.1`` with
    ``Connection: close``, and closes as soon as the status line arrived; a
    refused connection, garbage or a probe slower than ``timeout`` is "not ready".
    """

    def probe(port: int, path: str) -> Deferred[bool]:
        request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "User-Agent: showcase-supervisor\r\nConnection: close\r\n\r\n"
        ).encode("latin-1")
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port, timeout=timeout)
        d: Deferred[Any] = endpoint.connect(_QuietFactory(_StatusLine(request)))
        d.addCallback(lambda protocol: protocol.status)
        d.addTimeout(timeout, reactor)
        return d.addCallbacks(lambda status: status is not None and status < 500, lambda _: False)

    return probe
