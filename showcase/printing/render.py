"""From a relative PDF path and the print data to the PDF's bytes.

The renderer modules import reportlab, so they are imported here on the first
render, never when :mod:`showcase.printing` is imported.  Renders run in worker
threads (``deferToThread``); reportlab keeps some module-level state (font and
image caches), so one render runs at a time.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping
from typing import Any

from .model import PrintData
from .paths import match

_LOCK = threading.Lock()


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
