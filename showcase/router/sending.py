"""Send on a TCP transport at once when nothing is queued.

Twisted's ``transport.write`` queues the bytes and sends them on the next
turn of the reactor, registering and unregistering the socket for write
readiness around it.  For a proxy answering small requests that is two
``epoll_ctl`` calls and a poll round per write.  When the transport's queue
is empty, :func:`send_now` calls ``send`` directly and queues only what the
socket did not take.  It reads Twisted's private buffer attributes, so it is
used only for the exact transport classes checked here, and falls back to
``transport.write`` for anything else.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import tcp

_FAST_TYPES: tuple[type, ...] = (tcp.Server, tcp.Client)
_USABLE = all(
    hasattr(tcp.Connection, name) or name in ("dataBuffer", "offset", "_tempDataBuffer")
    for name in ("dataBuffer", "offset", "_tempDataBuffer", "connected", "disconnecting")
)


def send_now(transport: Any, data: bytes) -> None:
    """Write ``data``: directly to the socket if nothing is queued, else as usual."""
    if (
        _USABLE
        and type(transport) in _FAST_TYPES
        and transport.connected
        and not transport.disconnecting
        and not transport._tempDataBuffer
        and transport.offset == len(transport.dataBuffer)
        and getattr(transport, "TLS", False) is False
    ):
        try:
            sent = transport.socket.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            sent = 0  # let the ordinary path see and report the error
        if sent == len(data):
            return
        data = data[sent:]
    transport.write(data)
