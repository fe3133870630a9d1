"""Run one app (``python -m showcase.event`` or ``showcase.index``) alone, on a free port."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.integration.routerproc import wait_for


def ready_port(output: str) -> int | None:
    """The port of the app's JSON ready line in ``output``, if it has printed one yet."""
    for line in output.splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("ready"):
            return int(message["port"])
    return None


@contextlib.contextmanager
def app_process(module: str, directory: Path, env: dict[str, str]) -> Iterator[int]:
    """``python -m <module>`` run in ``directory`` on a free port of 127.0.0.1
    (``PORT=0``; no ``SHOWCASE_REDIS`` unless ``env`` gives one), ``env`` added; yields
    its port once it has printed its ready line, and is stopped on the way out."""
    name = module.rsplit(".", 1)[-1]
    out, err = directory / f"{name}.out", directory / f"{name}.err"
    environment = {**os.environ, "PORT": "0"}
    environment.pop("SHOWCASE_REDIS", None)
    environment.update(env)
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", module],
            env=environment,
            cwd=directory,
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
        )
    try:

        def ready() -> int | None:
            if process.poll() is not None:
                raise AssertionError(f"{module} exited: {err.read_text(errors='replace')}")
            return ready_port(out.read_text(errors="replace"))

        yield int(str(wait_for(ready, 20, f"{module}'s ready line")))
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
