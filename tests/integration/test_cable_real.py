"""Live updates through real routers (``twistd -n showcase``) and a real redis-server.

Two routers share one redis-server through ``redis.url``: what is broadcast
on one reaches WebSocket clients of the other; a killed Redis pauses live
updates without dropping clients; a tenant's connection never gets another
tenant's messages.  A router without ``redis.url`` runs (and restarts, and
stops) its own redis-server.  Clients are raw sockets sending masked frames.
Waits are on socket reads or on the routers' log lines, never fixed sleeps.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from .redisproc import RedisServer
from .routerproc import Router, tenant_yaml, wait_for
from .wsclient import WebSocket

pytestmark = pytest.mark.integration

ALPHA = "current-heat-2025-alpha"
BETA = "current-heat-2025-beta"
TENANTS = tenant_yaml("/alpha/", "alpha", SHOWCASE_DB="db/2025-alpha.sqlite3") + tenant_yaml(
    "/beta/", "beta", SHOWCASE_DB="db/2025-beta.sqlite3"
)


def config(tmp: Path, start_port: int, redis_url: str | None) -> str:
    (tmp / "public").mkdir(exist_ok=True)
    return (
        "server:\n"
        "  listen: 0\n"
        "  static:\n"
        f"    public_dir: {tmp / 'public'}\n"
        "  health_check:\n"
        "    path: /up\n"
        "    response: {status: 200, body: ok}\n"
        "applications:\n"
        "  pools:\n"
        "    stop_timeout: 2s\n"
        f"    start_port: {start_port}\n"
        "  tenants:\n"
        f"{TENANTS}"
        "cable:\n"
        "  enabled: true\n" + (f"redis:\n  url: '{redis_url}'\n" if redis_url else "")
    )


def broadcast(router: Router, stream: str, data: object) -> int:
    body = json.dumps({"stream": stream, "data": data}).encode()
    status, _, _ = router.get("/_broadcast", method="POST", body=body)
    return status


def bus_connected(router: Router, times: int = 1, verb: str = "connected") -> None:
    wait_for(
        lambda: router.log().count(f"cable bus {verb} to ") >= times,
        20,
        f"{router.config_path}: cable bus {verb} ({times}x)",
    )


def two_routers(tmp_path: Path, redis: RedisServer, started: list[Router]) -> list[Router]:
    for i, port in enumerate((24300, 24400)):
        directory = tmp_path / f"router{i + 1}"
        directory.mkdir()
        started.append(Router(directory, config(directory, port, redis.url)))
    for router in started:
        bus_connected(router)
    return started


def test_a_broadcast_on_one_router_reaches_a_client_of_the_other(
    tmp_path: Path, redis: RedisServer, started: list[Router]
) -> None:
    """``POST /_broadcast`` on router 1 reaches a WebSocket client of router 2 (one Redis)."""
    one, two = two_routers(tmp_path, redis, started)
    client = WebSocket(two.port, "/cable")
    try:
        assert client.subscribe(ALPHA) == {"type": "subscribed", "stream": ALPHA}
        assert broadcast(one, ALPHA, "<turbo-stream>heat 12</turbo-stream>") == 200
        assert client.receive() == {
            "type": "message",
            "stream": ALPHA,
            "data": "<turbo-stream>heat 12</turbo-stream>",
        }
    finally:
        client.close()


def test_clients_survive_a_redis_outage_and_receive_again(
    tmp_path: Path, redis: RedisServer, started: list[Router]
) -> None:
    """Redis killed mid-stream: clients stay connected, routing works, a broadcast says 503;
    within 5 s of Redis coming back, messages reach the same clients again."""
    one, two = two_routers(tmp_path, redis, started)
    client = WebSocket(two.port, "/alpha/cable")
    try:
        client.subscribe(ALPHA)
        assert broadcast(one, ALPHA, 1) == 200
        assert client.receive()["data"] == 1
        redis.kill()
        wait_for(lambda: "cable bus lost" in one.log(), 10, "router 1 to notice")
        assert one.get("/up")[0] == 200
        assert broadcast(one, ALPHA, 2) == 503
        back = time.monotonic()
        redis.start()
        bus_connected(one, verb="reconnected")
        bus_connected(two, verb="reconnected")
        assert broadcast(one, ALPHA, 3) == 200
        assert client.receive()["data"] == 3
        assert time.monotonic() - back < 5.0
    finally:
        client.close()


def test_a_tenant_connection_never_receives_another_tenants_messages(
    tmp_path: Path, redis: RedisServer, started: list[Router]
) -> None:
    """A client under tenant A's path is refused B's stream and never gets B's messages,
    which do reach a client allowed to see them."""
    one, two = two_routers(tmp_path, redis, started)
    alpha, everyone = WebSocket(two.port, "/alpha/cable"), WebSocket(two.port, "/cable")
    try:
        assert alpha.subscribe(BETA) == {
            "type": "rejected",
            "stream": BETA,
            "reason": "not this tenant's stream",
        }
        assert alpha.subscribe(ALPHA)["type"] == "subscribed"
        assert everyone.subscribe(BETA)["type"] == "subscribed"
        assert broadcast(one, BETA, "for beta") == 200
        assert broadcast(one, ALPHA, "for alpha") == 200
        assert everyone.receive()["data"] == "for beta"
        assert alpha.receive() == {"type": "message", "stream": ALPHA, "data": "for alpha"}
    finally:
        alpha.close()
        everyone.close()


def test_websockets_survive_a_config_reload(
    tmp_path: Path, redis: RedisServer, started: list[Router]
) -> None:
    """A reload (SIGHUP with a changed file) keeps open WebSockets and their subscriptions."""
    one, two = two_routers(tmp_path, redis, started)
    client = WebSocket(two.port, "/alpha/cable")
    try:
        client.subscribe(ALPHA)
        changed = config(two.dir, 24400, redis.url) + "maintenance:\n  enabled: true\n"
        two.reload(changed)
        wait_for(lambda: "reloaded " in two.log(), 10, "the reload")
        assert broadcast(one, ALPHA, "after reload") == 200
        assert client.receive()["data"] == "after reload"
    finally:
        client.close()


def _pids_using(path: str) -> list[int]:
    """Processes whose command line mentions ``path``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if path.encode() in f.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


def test_without_redis_url_the_router_runs_its_own_redis(
    tmp_path: Path, started: list[Router]
) -> None:
    """No redis.url: the router runs redis-server on a socket it hands tenants in
    SHOWCASE_REDIS, restarts it when it dies, and stops it (and its directory) on exit."""
    router = Router(tmp_path, config(tmp_path, 24500, None))
    started.append(router)
    bus_connected(router)
    status, _, url = router.get("/alpha/env?name=SHOWCASE_REDIS")
    assert status == 200 and url.startswith(b"unix:///") and url.endswith(b"/redis.sock")
    socket_path = url.decode()[len("unix://") :]
    [pid] = _pids_using(socket_path)
    client = WebSocket(router.port, "/cable")
    try:
        client.subscribe(ALPHA)
        os.kill(pid, signal.SIGKILL)
        bus_connected(router, verb="reconnected")
        assert broadcast(router, ALPHA, "again") == 200
        assert client.receive()["data"] == "again"
    finally:
        client.close()
    assert router.stop() == 0
    assert _pids_using(socket_path) == []
    assert not os.path.exists(os.path.dirname(socket_path))
