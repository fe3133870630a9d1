"""The one-line progress bar of the ops commands (``snapshot``, ``backup``), on a terminal only.

``[#####...............] 1/4 label``, redrawn in place; :func:`clear` wipes it
before the summary is printed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

Progress = Callable[[int, int, str], None]  # (done, total, what is being done now)

WIDTH = 20
LABEL = 60  # the most of a label that is shown
CLEAR = "\r\x1b[K"


def draw(stream: IO[str], done: int, total: int, label: str) -> None:
    """Redraw the bar on ``stream`` at ``done`` of ``total``."""
    filled = WIDTH * done // max(total, 1)
    stream.write(f"{CLEAR}[{'#' * filled}{'.' * (WIDTH - filled)}] {done}/{total} {label[:LABEL]}")
    stream.flush()


def clear(stream: IO[str]) -> None:
    """Wipe the bar's line."""
    stream.write(CLEAR)
    stream.flush()
