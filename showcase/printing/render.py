"""From a relative PDF path and the print data to the PDF's bytes.

The renderer modules import reportlab, so they are imported here on the first
render, never when :mod:`showcase.printing` is imported.  Renders run in worker
threads (``deferToThread``); reportlab keeps some module-level state (font and
image caches), so one render runs at a time: :class:`RenderQueue` queues them on the
reactor, so a render waiting for its turn holds no thread of the reactor's pool (which
also resolves host names, e.g. an appliance's fetch of print data).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from .model import PrintData
from .paths import match

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred

_LOCK = threading.Lock()
T = TypeVar("T")


def render_path(relative: str, data: Mapping[str, Any]) -> bytes | None:
    """The PDF for ``relative`` (e.g. ``people/12/heats.pdf``) from print ``data``.

    None when the path names no endpoint, or an id the data does not hold (a 404).
    Raises :class:`~showcase.printing.model.PrintDataError` for data of another version.
    """
    found = match(relative)
    if found is None:
        return None
    endpoint, item_id = found
    printable = PrintData(data)
    module = importlib.import_module(f"showcase.printing.{endpoint.module}")
    render = getattr(module, endpoint.function)
    with _LOCK:
        result: bytes | None = render(printable, item_id)
    return result


class RenderQueue:
    """Runs renders in ``reactor``'s thread pool one at a time, in the order asked.

    A render still waiting for its turn is cancelled without ever starting (its
    client went away).
    """

    def __init__(self, reactor: Any) -> None:
        from twisted.internet.defer import DeferredLock

        self.reactor = reactor
        self._turn = DeferredLock()

    def run(self, work: Callable[[], T]) -> Deferred[T]:
        from twisted.internet.threads import deferToThreadPool

        pool = self.reactor.getThreadPool()
        result: Deferred[T] = self._turn.run(deferToThreadPool, self.reactor, pool, work)
        return result
