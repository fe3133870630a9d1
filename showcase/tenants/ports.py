"""Atomic allocation of tenant ports from ``[start_port, start_port + 100)``.

A port is handed out when it is not already allocated to a tenant of ours and a
test bind on ``127.0.0.1`` succeeds (so ports used by other programs are
skipped).  Allocation is one synchronous call on the reactor thread: check and
record happen together, so two tenants starting at once never get the same port
(the race Navigator fixed in ad05bb8).  A port is released when its tenant's
process has been reaped.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable

RANGE_SIZE = 100
"""How many ports the pool spans, starting at ``pools.start_port``."""


class NoFreePort(Exception):
    """Every port of the range is allocated or in use."""


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True if a listening socket could bind ``host:port`` now.

    ``SO_REUSEADDR`` is set, as the tenants' own servers (Twisted, Go, Python's
    ``http.server``) set it: a port whose last connections are in TIME_WAIT is
    free for them, while a port something listens on (on any address) is not.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as e:
        if e.errno in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
            return False
        raise
    finally:
        sock.close()
    return True


class PortAllocator:
    """Hands out ports of ``[start, start + size)`` that are free, one tenant each."""

    def __init__(
        self,
        start: int,
        size: int = RANGE_SIZE,
        is_free: Callable[[int], bool] = port_is_free,
    ) -> None:
        self._start = start
        self._size = size
        self._is_free = is_free
        self._allocated: set[int] = set()

    @property
    def allocated(self) -> frozenset[int]:
        """The ports currently held by tenants."""
        return frozenset(self._allocated)

    def set_start(self, start: int) -> None:
        """Use a new range (after a reload); ports held now stay held until released."""
        self._start = start

    def allocate(self) -> int:
        """The lowest free port of the range, now recorded as allocated.

        :raises NoFreePort: when every port is allocated or in use.
        """
        for port in range(self._start, self._start + self._size):
            if port not in self._allocated and self._is_free(port):
                self._allocated.add(port)
                return port
        raise NoFreePort(f"no free port in {self._start}..{self._start + self._size - 1}")

    def release(self, port: int) -> None:
        """Give ``port`` back (its tenant's process has exited); unknown ports are ignored."""
        self._allocated.discard(port)
