"""RedisBus on a real redis-server (unix socket in tmp_path): the shared behaviour suite.

The same suite runs on the in-memory twin in ``tests/unit/test_bus.py``.  An
outage is a SIGKILL of the server; a restore starts a new one on the same
socket.  The server is started and stopped by the fixture.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_twisted

from showcase.cable.bus import IBus, RedisBus
from tests.busbehaviour import BusBehaviour

from .redisproc import RedisServer

pytestmark = pytest.mark.integration


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
