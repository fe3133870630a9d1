"""Routes of the event app: results (being written)."""

from __future__ import annotations

from klein import Klein

from .context import Context


def register(app: Klein, ctx: Context) -> None:
    """Add this area's routes to ``app``."""
