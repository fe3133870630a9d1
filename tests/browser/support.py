"""What the browser tests share: the Debian Chromium and the flags it runs with.

Importing this skips the importing test module when there is no Chromium; each test
module still skips itself when the playwright package is missing (it imports names
from it).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if not os.path.exists(CHROMIUM):  # pragma: no cover - depends on the machine
    pytest.skip(f"no Chromium at {CHROMIUM} (apt install chromium)", allow_module_level=True)


def launch(playwright: Playwright) -> Browser:
    """The Debian Chromium, headless, with the flags a test machine needs."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
