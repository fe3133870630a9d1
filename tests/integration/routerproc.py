"""Run the real ``twistd showcase`` as a child process for integration tests."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

TENANT_APP = str(Path(__file__).resolve().parent.parent / "support" / "tenant_app.py")
TWISTD = os.path.join(os.path.dirname(sys.executable), "twistd")
LISTENING = re.compile(r"showcase listening on .*port=(\d+)")


def wait_for(condition: Callable[[], object], timeout: float = 10.0, what: str = "") -> object:
    """Poll ``condition`` until it is true (returning its value) or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.01)


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def alive(pid: int) -> bool:
    """Is ``pid`` a live (not zombie) process?"""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def tenant_yaml(path: str, name: str, **extra: str) -> str:
    """A tenant entry running tests/support/tenant_app.py."""
    env = {"TENANT_NAME": name, "TENANT_READY_LINE": "1", **extra}
    env_lines = "".join(f"        {k}: '{v}'\n" for k, v in env.items())
    return (
        f"    - path: {path}\n"
        f"      runtime: {sys.executable}\n"
        f"      server: {TENANT_APP}\n"
        f"      env:\n{env_lines}"
    )


class Router:
    """A ``twistd -n showcase`` process on a free port of 127.0.0.1."""

    def __init__(
        self,
        directory: Path,
        config: str,
        env: dict[str, str] | None = None,
        listen: str = "tcp:0:interface=127.0.0.1",
    ) -> None:
        self.dir = directory
        self.config_path = directory / "showcase.yml"
        self.config_path.write_text(config)
        self.log_path = directory / "router.log"
        self.pidfile = directory / "twistd.pid"
        args = [
            TWISTD,
            "-n",
            "--pidfile",
            str(self.pidfile),
            "--logfile",
            str(self.log_path),
            "showcase",
            "--config",
            str(self.config_path),
            "--listen",
            listen,
        ]
        self.proc = subprocess.Popen(
            args, cwd=directory, stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})}
        )
        try:
            found = wait_for(self._port, 20, "the router to listen")
        except BaseException:
            self.stop()  # the caller never gets this object to stop it
            raise
        self.port = int(str(found))

    def _port(self) -> str | None:
        if self.proc.poll() is not None:
            raise AssertionError(f"router exited with {self.proc.returncode}:\n{self.log()}")
        m = LISTENING.search(self.log())
        return m.group(1) if m else None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def connection(self, timeout: float = 10.0) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def get(
        self,
        path: str,
        headers: dict[str, str] | None = None,
        method: str = "GET",
        body: bytes | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        conn = self.connection()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def reload(self, config: str) -> None:
        self.config_path.write_text(config)
        self.signal(signal.SIGHUP)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def kill_leftovers(pids: list[int]) -> None:
    """Last-resort cleanup of processes a failed test may have left."""
    for pid in pids:
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
