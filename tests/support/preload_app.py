"""An app for the spawner (``--app preload_app``) that shows what each forked child got.

``preload()`` draws from ``random`` (so a child that kept the spawner's state
would repeat the next draw) and returns ``serve``, which prints a ready line
with the child's pid, its next random number and its ``SHOWCASE_DB``, then
runs the reactor until stopped.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable, Mapping
from typing import Any


def serve(env: Mapping[str, str], reactor: Any) -> None:
    line = {
        "ready": True,
        "port": 0,
        "pid": os.getpid(),
        "random": random.getrandbits(64),
        "db": env.get("SHOWCASE_DB"),
    }
    print(json.dumps(line), flush=True)
    reactor.run()


def preload() -> Callable[[Mapping[str, str], Any], None]:
    from twisted.internet import reactor  # noqa: F401  (built here, as klein does)

    random.random()
    return serve
