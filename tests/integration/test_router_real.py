"""The real router (``twistd -n showcase``) with real tenant processes on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .routerproc import (
    Router,
    alive,
    free_port,
    kill_leftovers,
    rss_kb,
    tenant_yaml,
    wait_for,
)

pytestmark = pytest.mark.integration


def config(tmp: Path, tenants: str, extra: str = "", timeout: str = "5m") -> str:
    (tmp / "public").mkdir(exist_ok=True)
    return (
        "server:\n"
        "  listen: 0\n"
        "  static:\n"
        f"    public_dir: {tmp / 'public'}\n"
        "applications:\n"
        "  pools:\n"
        f"    timeout: {timeout}\n"
        "    stop_timeout: 2s\n"
        "    start_port: 24100\n"
        "  startup_timeout: 5s\n"
        "  tenants:\n"
        f"{tenants}"
        "cable:\n"
        "  enabled: false\n"
        f"{extra}"
    )


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[Router]]:
    """Routers a test starts; each is stopped (and its tenants checked gone) afterwards."""
    routers: list[Router] = []
    yield routers
    for router in routers:
        router.stop()


def pid_of(router: Router, prefix: str) -> int:
    status, _, body = router.get(prefix + "pid")
    assert status == 200, body
    return int(body)


def test_cold_start_then_warm_proxy(tmp_path: Path, started: list[Router]) -> None:
    """A first request starts the tenant and is answered by it; later ones reuse it."""
    router = Router(tmp_path, config(tmp_path, tenant_yaml("/a/", "alpha")))
    started.append(router)
    status, headers, body = router.get("/a/hello")
    assert status == 200
    assert body == b"hello from alpha path=/a/hello"
    assert headers["x-request-id"]
    first = pid_of(router, "/a/")
    assert pid_of(router, "/a/") == first


def test_forwarded_headers_and_request_id(tmp_path: Path, started: list[Router]) -> None:
    """The tenant sees Host kept, X-Forwarded-* set, repeated headers kept, and our request id."""
    router = Router(tmp_path, config(tmp_path, tenant_yaml("/a/", "alpha")))
    started.append(router)
    conn = router.connection()
    conn.putrequest("GET", "/a/echo?x=1", skip_host=True)
    conn.putheader("Host", "events.example")
    conn.putheader("X-Request-Id", "abc-123")
    conn.putheader("X-Thing", "one")
    conn.putheader("X-Thing", "two")
    conn.putheader("Connection", "keep-alive, X-Secret")
    conn.putheader("X-Secret", "hop")
    conn.endheaders()
    resp = conn.getresponse()
    seen = json.loads(resp.read())
    conn.close()
    headers = [(k.lower(), v) for k, v in seen["headers"]]
    assert ("host", "events.example") in headers
    assert ("x-forwarded-host", "events.example") in headers
    assert ("x-forwarded-proto", "http") in headers
    assert ("x-forwarded-for", "127.0.0.1") in headers
    assert ("x-request-id", "abc-123") in headers
    assert [v for k, v in headers if k == "x-thing"] == ["one", "two"]
    assert all(k != "x-secret" for k, _ in headers)
    assert resp.getheader("x-request-id") == "abc-123"
    assert seen["query"] == "x=1"


def test_large_upload_and_download_stream_with_flat_memory(
    tmp_path: Path, started: list[Router]
) -> None:
    """50 MB each way passes through without the router's memory growing by the body size."""
    router = Router(tmp_path, config(tmp_path, tenant_yaml("/a/", "alpha")))
    started.append(router)
    router.get("/a/up")
    before = rss_kb(router.proc.pid)
    size = 50 * 1024 * 1024
    chunk = os.urandom(1024 * 1024)
    digest = hashlib.sha256()
    conn = router.connection(60)
    conn.putrequest("POST", "/a/upload")
    conn.putheader("Content-Length", str(size))
    conn.endheaders()
    for _ in range(size // len(chunk)):
        conn.send(chunk)
        digest.update(chunk)
    answer = json.loads(conn.getresponse().read())
    assert answer == {"bytes": size, "sha256": digest.hexdigest()}
    peak_upload = rss_kb(router.proc.pid)
    conn.request("GET", f"/a/download?size={size}")
    resp = conn.getresponse()
    received = 0
    peak_download = 0
    while block := resp.read(1024 * 1024):
        for i in (0, len(block) - 1):
            assert block[i] == (received + i) % 256
        received += len(block)
        if received % (8 * 1024 * 1024) < len(block):
            peak_download = max(peak_download, rss_kb(router.proc.pid))
    conn.close()
    assert received == size
    assert peak_upload - before < 20 * 1024, (before, peak_upload)
    assert peak_download - before < 20 * 1024, (before, peak_download)


def open_websocket(router: Router, path: str) -> tuple[socket.socket, bytes]:
    """A WebSocket handshake through the router; the socket and bytes read after the head."""
    sock = socket.create_connection(("127.0.0.1", router.port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 101"), head
    accept = base64.b64encode(
        hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
    )
    assert accept in head
    return sock, head.split(b"\r\n\r\n", 1)[1]


def test_websocket_echo_through_the_tunnel(tmp_path: Path, started: list[Router]) -> None:
    """An Upgrade request is tunnelled byte for byte: a WebSocket echo works through the router."""
    router = Router(tmp_path, config(tmp_path, tenant_yaml("/a/", "alpha")))
    started.append(router)
    sock, frame = open_websocket(router, "/a/ws")
    message = b"dance card"
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(message))
    sock.sendall(bytes([0x81, 0x80 | len(message)]) + mask + masked)
    while len(frame) < 2 + len(message):
        frame += sock.recv(4096)
    assert frame[0] == 0x81 and frame[2 : 2 + len(message)] == message
    sock.close()


def test_open_websocket_keeps_its_tenant_running(tmp_path: Path, started: list[Router]) -> None:
    """A tenant with an open WebSocket outlives pools.timeout; an idle one beside it stops."""
    both = tenant_yaml("/a/", "alpha") + tenant_yaml("/b/", "beta")
    router = Router(tmp_path, config(tmp_path, both, timeout="1s"))
    started.append(router)
    ws_pid, idle_pid = pid_of(router, "/a/"), pid_of(router, "/b/")
    sock, _ = open_websocket(router, "/a/ws")
    try:
        wait_for(lambda: not alive(idle_pid), 10, "the idle tenant to stop")
        assert alive(ws_pid)
    finally:
        sock.close()
    wait_for(lambda: not alive(ws_pid), 10, "the tenant to stop once its WebSocket closed")


def test_idle_stop_runs_the_stop_hook_and_ends_the_process(
    tmp_path: Path, started: list[Router]
) -> None:
    """A tenant idle for pools.timeout is stopped after its tenant.stop hook ran."""
    marker = tmp_path / "stopped.txt"
    hooks = (
        "hooks:\n  tenant:\n    stop:\n"
        f"      - command: /bin/sh\n        args: ['-c', 'echo $TENANT_NAME >> {marker}']\n"
    )
    router = Router(tmp_path, config(tmp_path, tenant_yaml("/a/", "alpha"), hooks, timeout="1s"))
    started.append(router)
    pid = pid_of(router, "/a/")
    wait_for(lambda: not alive(pid), 10, "the idle tenant to stop")
    assert marker.read_text() == "alpha\n"
    assert pid_of(router, "/a/") != pid  # and the next request starts it again


def test_crash_is_noticed_and_the_next_request_restarts(
    tmp_path: Path, started: list[Router]
) -> None:
    """A tenant that exits is restarted by the next request for it, without a 502."""
    router = Router(tmp_path, config(tmp_path, tenant_yaml("/a/", "alpha")))
    started.append(router)
    pid = pid_of(router, "/a/")
    status, _, _ = router.get("/a/crash")
    assert status == 502  # it died while answering
    wait_for(lambda: not alive(pid), 5, "the crashed tenant to be reaped")
    wait_for(lambda: "crashed" in router.log() or "exit" in router.log(), 5, "the crash log line")
    assert pid_of(router, "/a/") != pid


def test_crash_loop_gets_a_503_page(tmp_path: Path, started: list[Router]) -> None:
    """A tenant that crashes 3 times within a minute is answered with a 503 page saying so."""
    router = Router(tmp_path, config(tmp_path, tenant_yaml("/a/", "alpha")))
    started.append(router)
    for _ in range(3):
        pid = pid_of(router, "/a/")
        router.get("/a/crash")
        wait_for(lambda p=pid: not alive(p), 5, "the tenant to die")  # type: ignore[misc]
    status, headers, body = router.get("/a/hello")
    assert status == 503
    assert b"crash" in body.lower()
    assert "no-cache" in headers["cache-control"]


def test_reload_under_load_fails_no_request(tmp_path: Path, started: list[Router]) -> None:
    """Requests running while the config is reloaded (a tenant added) all succeed."""
    router = Router(tmp_path, config(tmp_path, tenant_yaml("/a/", "alpha")))
    started.append(router)
    router.get("/a/up")
    failures: list[object] = []
    done = threading.Event()

    def load() -> None:
        conn = router.connection()
        while not done.is_set():
            try:
                conn.request("GET", "/a/hello")
                resp = conn.getresponse()
                if resp.read() != b"hello from alpha path=/a/hello":
                    failures.append(resp.status)
            except Exception as e:  # any failed request fails the test
                failures.append(e)
                conn = router.connection()

    workers = [threading.Thread(target=load) for _ in range(4)]
    for w in workers:
        w.start()
    both = tenant_yaml("/a/", "alpha") + tenant_yaml("/b/", "beta")
    for _ in range(3):
        router.reload(config(tmp_path, both))
        wait_for(lambda: router.get("/b/hello")[0] == 200, 10, "the new tenant")
        router.reload(config(tmp_path, tenant_yaml("/a/", "alpha")))
        wait_for(lambda: router.get("/b/hello")[0] == 404, 10, "the tenant to go")
    done.set()
    for w in workers:
        w.join()
    assert failures == []


def test_bad_config_on_reload_keeps_the_old_one(tmp_path: Path, started: list[Router]) -> None:
    """A reload with a broken file is reported and the running config stays."""
    router = Router(tmp_path, config(tmp_path, tenant_yaml("/a/", "alpha")))
    started.append(router)
    router.reload("server:\n  listen: [nonsense\n")
    wait_for(lambda: "reload refused" in router.log(), 10, "the refusal in the log")
    assert router.get("/a/hello")[0] == 200


def test_sigterm_lets_requests_finish_and_stops_tenants(
    tmp_path: Path, started: list[Router]
) -> None:
    """SIGTERM: an in-flight response still completes, the tenant stops, the router exits 0."""
    router = Router(tmp_path, config(tmp_path, tenant_yaml("/a/", "alpha")))
    started.append(router)
    pid = pid_of(router, "/a/")
    conn = router.connection()
    conn.request("GET", "/a/stream?n=40")
    resp = conn.getresponse()
    assert resp.readline() == b"line 0\n"  # the tenant is answering now
    router.signal(signal.SIGTERM)
    rest = resp.read()
    assert rest.splitlines()[-1] == b"line 39" and len(rest.splitlines()) == 39
    assert router.proc.wait(20) == 0
    assert not alive(pid)


def test_sigkill_of_the_router_leaves_no_child(tmp_path: Path, started: list[Router]) -> None:
    """When the router is killed outright, its tenants notice and exit on their own."""
    router = Router(
        tmp_path, config(tmp_path, tenant_yaml("/a/", "alpha") + tenant_yaml("/b/", "beta"))
    )
    started.append(router)
    pids = [pid_of(router, "/a/"), pid_of(router, "/b/")]
    router.proc.send_signal(signal.SIGKILL)
    router.proc.wait()
    try:
        wait_for(lambda: not any(alive(p) for p in pids), 10, "the orphaned tenants to exit")
    finally:
        kill_leftovers(pids)


def test_htpasswd_made_by_apache_tools(tmp_path: Path, started: list[Router]) -> None:
    """Users from a real htpasswd file get in; wrong passwords and no credentials get 401."""
    htpasswd = "/usr/bin/htpasswd"
    if not os.path.exists(htpasswd):
        pytest.skip("apache2-utils is not installed")
    users = tmp_path / "htpasswd"
    subprocess.run(
        [htpasswd, "-cbB", str(users), "judge", "s3cret"], check=True, capture_output=True
    )
    subprocess.run([htpasswd, "-bm", str(users), "emcee", "mic"], check=True, capture_output=True)
    auth = (
        f"auth:\n  enabled: true\n  realm: Showcase\n  htpasswd: {users}\n"
        "  public_paths: ['/a/public/']\n"
    )
    router = Router(tmp_path, config(tmp_path, tenant_yaml("/a/", "alpha"), auth))
    started.append(router)

    def basic(user: str, password: str) -> dict[str, str]:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    status, headers, _ = router.get("/a/hello")
    assert status == 401 and headers["www-authenticate"] == 'Basic realm="Showcase"'
    assert router.get("/a/hello", basic("judge", "wrong"))[0] == 401
    assert router.get("/a/hello", basic("judge", "s3cret"))[0] == 200
    assert router.get("/a/hello", basic("emcee", "mic"))[0] == 200
    assert router.get("/a/public/heats")[0] == 200


def test_slow_clients_do_not_delay_others(tmp_path: Path, started: list[Router]) -> None:
    """200 sockets trickling half a request head do not slow a normal request by over 50 ms."""
    router = Router(tmp_path, config(tmp_path, tenant_yaml("/a/", "alpha")))
    started.append(router)
    router.get("/a/up")

    def timed() -> float:
        t = time.perf_counter()
        assert router.get("/a/hello")[0] == 200
        return time.perf_counter() - t

    baseline = min(timed() for _ in range(20))
    slow = []
    try:
        for _ in range(200):
            s = socket.create_connection(("127.0.0.1", router.port))
            s.sendall(b"GET /a/hello HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            slow.append(s)
        loaded = sorted(timed() for _ in range(20))[10]
    finally:
        for s in slow:
            s.close()
    assert loaded - baseline < 0.050, (baseline, loaded)


def raw(router: Router, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", router.port), timeout=10) as s:
        s.sendall(data)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out


def test_hostile_requests_get_clear_errors(tmp_path: Path, started: list[Router]) -> None:
    """Malformed HTTP is 400, a huge URI 414, huge headers 431, an oversized body 413."""
    router = Router(tmp_path, config(tmp_path, tenant_yaml("/a/", "alpha")))
    started.append(router)
    assert raw(router, b"NOT HTTP AT ALL\r\n\r\n").startswith(b"HTTP/1.1 400")
    long_uri = b"GET /a/" + b"x" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    assert raw(router, long_uri).startswith(b"HTTP/1.1 414")
    big_head = b"GET /a/ HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * 40000 + b"\r\n\r\n"
    assert raw(router, big_head).startswith(b"HTTP/1.1 431")
    huge = b"POST /a/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n"
    assert raw(router, huge).startswith(b"HTTP/1.1 413")


def test_static_files_never_leave_the_public_dir(tmp_path: Path, started: list[Router]) -> None:
    """Traversal attempts, however encoded, never return a file outside public_dir."""
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    router = Router(tmp_path, config(tmp_path, tenant_yaml("/a/", "alpha")))
    started.append(router)
    (tmp_path / "public" / "style.css").write_text("body{}")
    assert router.get("/style.css")[2] == b"body{}"
    for attack in (
        b"/../secret.txt",
        b"/%2e%2e/secret.txt",
        b"/..%2fsecret.txt",
        b"/%2e%2e%2fsecret.txt",
        b"/..\\secret.txt",
        b"/style.css%00/../../secret.txt",
    ):
        answer = raw(
            router, b"GET " + attack + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        assert b"TOP SECRET" not in answer, attack


def test_dead_upstream_gives_a_502_page(tmp_path: Path, started: list[Router]) -> None:
    """A reverse-proxy route to a port nobody listens on answers 502, not a hang or a crash."""
    port = free_port()
    routes = f"routes:\n  reverse_proxies:\n    - prefix: /ext/\n      target: http://127.0.0.1:{port}/\n"
    router = Router(tmp_path, config(tmp_path, tenant_yaml("/a/", "alpha"), routes))
    started.append(router)
    status, _, body = router.get("/ext/thing")
    assert status == 502 and b"Bad Gateway" in body


def test_config_check_names_file_line_and_key(tmp_path: Path) -> None:
    """`showcase config check` exits 1 and names file, line and key of a bad config."""
    bad = tmp_path / "bad.yml"
    bad.write_text("server:\n  listen: 9999\n  statik: {}\n")
    result = subprocess.run(
        [sys.executable, "-m", "showcase.cli", "config", "check", str(bad)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert f"{bad}:3: server.statik" in result.stderr


def test_showcase_reload_command_signals_the_pidfile_process(
    tmp_path: Path, started: list[Router]
) -> None:
    """`showcase reload --pidfile F` makes the running router re-read its config."""
    router = Router(tmp_path, config(tmp_path, tenant_yaml("/a/", "alpha")))
    started.append(router)
    assert router.get("/b/hello")[0] == 404
    both = tenant_yaml("/a/", "alpha") + tenant_yaml("/b/", "beta")
    router.config_path.write_text(config(tmp_path, both))
    result = subprocess.run(
        [sys.executable, "-m", "showcase.cli", "reload", "--pidfile", str(router.pidfile)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    wait_for(lambda: "reloaded" in router.log(), 10, "the reload")
    assert router.get("/b/hello")[2] == b"hello from beta path=/b/hello"


def test_json_logging_writes_one_json_object_a_line(tmp_path: Path, started: list[Router]) -> None:
    """With logging.format json, the router's own lines, tenant output and access lines are JSON."""
    router = Router(
        tmp_path, config(tmp_path, tenant_yaml("/a/", "alpha"), "logging:\n  format: json\n")
    )
    started.append(router)
    assert router.get("/a/hello")[0] == 200
    wait_for(lambda: '"uri":"/a/hello"' in router.log(), 5, "the access line")
    records = [json.loads(line) for line in router.log().splitlines() if line.strip()]
    assert any(r.get("uri") == "/a/hello" and r.get("tenant") == "a" for r in records)
    assert any(r.get("source") == "a" and r.get("stream") == "stdout" for r in records)
    assert any("listening" in r.get("message", "") for r in records)
