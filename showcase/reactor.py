"""The epoll reactor without the per-event logging context.

Twisted's epoll reactor calls every ready socket's handler through
``log.callWithLogger``, which sets up a legacy logging context (a "system"
prefix for old-style log lines) around each read and write: about a fifth of
the proxy's CPU per request when measured.  The router logs with
``twisted.logger`` and never reads that context, so this reactor calls the
handlers directly.  It changes nothing else; twistd uses it unless another
reactor was chosen (``--reactor``).
"""

from __future__ import annotations

import errno
from typing import Any

from twisted.internet.epollreactor import EPollReactor


class ShowcaseReactor(EPollReactor):
    def doPoll(self, timeout: float | None) -> None:
        if timeout is None:
            timeout = -1
        try:
            events = self._poller.poll(timeout, len(self._selectables))
        except OSError as err:
            if err.errno == errno.EINTR:
                return
            raise
        handle = self._doReadOrWrite
        selectables = self._selectables
        for fd, event in events:
            selectable = selectables.get(fd)
            if selectable is not None:
                handle(selectable, fd, event)

    doIteration = doPoll


def install() -> Any:
    """Install this reactor as the global one (before anything imports another)."""
    from twisted.internet.main import installReactor

    reactor = ShowcaseReactor()
    installReactor(reactor)
    return reactor
