"""Fixtures the integration tests share: a short directory, a redis-server, routers."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.redisproc import RedisServer
from tests.integration.routerproc import Router


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory with a short path (a unix socket path has at most 107 bytes)."""
    with tempfile.TemporaryDirectory(prefix="showcase-", dir="/tmp") as name:
        yield Path(name)


@pytest.fixture
def redis(short_dir: Path) -> Iterator[RedisServer]:
    """A redis-server on a unix socket in ``short_dir``, killed afterwards."""
    server = RedisServer(short_dir)
    try:
        server.start()
        yield server
    finally:
        server.kill()


@pytest.fixture
def started() -> Iterator[list[Router]]:
    """Routers a test starts; each is stopped afterwards."""
    routers: list[Router] = []
    yield routers
    for router in routers:
        router.stop()
