"""Where the event app finds its templates and static files.

In a source checkout they are the top-level ``templates/`` and ``static/``;
an installed package carries them as ``showcase/templates`` and
``showcase/static`` (setup.py maps them there).
"""

from __future__ import annotations

import os

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _find(name: str) -> str:
    installed = os.path.join(_PACKAGE, name)
    if os.path.isdir(installed):
        return installed
    return os.path.join(os.path.dirname(_PACKAGE), name)


TEMPLATES = _find("templates")
STATIC = _find("static")
