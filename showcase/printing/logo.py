"""Where the logo of some print data is, on the machine that renders it.

Print data carries the event's logo as the location's ``SHOWCASE_LOGO``: a path
relative to the site's public directory (``images/boston.png``), so the event's
own machine and a PDF appliance, each with its own public directory, both find
the file.  A URL or an absolute path is kept as it is.
"""

from __future__ import annotations

import os
from typing import Any


def with_logo_file(data: dict[str, Any], public_dir: str) -> dict[str, Any]:
    """``data`` with its event's logo resolved under ``public_dir`` (a shallow copy)."""
    event = data.get("event")
    if not isinstance(event, dict):
        return data
    logo = event.get("logo")
    if not isinstance(logo, str) or not logo.strip() or "://" in logo or os.path.isabs(logo):
        return data
    resolved = os.path.join(public_dir, logo.strip().lstrip("/"))
    return {**data, "event": {**event, "logo": resolved}}
