"""Cable fan-out: one publish to 1,000 WebSocket clients, and the memory of idle ones.

Usage: ``python bench/fanout.py [--clients 1000] [--publishes 200] [--idle 10000]``.
Runs ``twistd showcase`` with the cable on and its own redis-server, and connects
raw-socket WebSocket clients from this process (one epoll loop; client frames
masked, the subscribe sent right behind the handshake).  Prints:

- fan-out: from one PUBLISH (sent straight to Redis, as an event app does, or as
  ``POST /_broadcast`` on the router) until every client has the message: p50, p99;
- publish → subscriber latency over every delivery (p50, p99), and with one client;
- the router's RSS added by ``--idle`` subscribed, idle connections (per connection).

The clients' own reading is inside the figures (one Python process reads all
sockets).  RLIMIT_NOFILE is raised to its hard limit; ``--idle`` is capped by it.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import resource
import select
import socket
import statistics
import struct
import time

from common import RouterRun, cpu_seconds, pct, rss_mb, wait_for

STREAM = "current-heat-2026-bench"
CONFIG = """
server:
  listen: 0
applications:
  tenants: []
cable:
  enabled: true
"""
BUS_URL = re.compile(r"cable bus connected to unix://(\S+)")
HEAT = (
    '<turbo-stream action="replace" target="current-heat"><template>'
    '<div id="current-heat"><h1>Heat {n}: Cha Cha</h1><p>Open Bronze</p>'
    "<ul><li>101 Alice Smith &amp; Bob Jones</li><li>102 Carol White &amp; Dan Brown</li>"
    "<li>103 Eve Black &amp; Frank Green</li></ul></div></template></turbo-stream>"
)


def masked(message: object) -> bytes:
    payload = json.dumps(message).encode()
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + body


def handshake(path: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


class Client:
    """One WebSocket connection: a socket and the bytes not yet parsed."""

    __slots__ = ("buffer", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def messages(self) -> list[dict[str, object]]:
        """Complete text frames in the buffer, parsed; pings answered."""
        found = []
        buf = self.buffer
        while len(buf) >= 2:
            length, at = buf[1] & 0x7F, 2
            if length == 126:
                if len(buf) < 4:
                    break
                length, at = struct.unpack("!H", buf[2:4])[0], 4
            elif length == 127:
                if len(buf) < 10:
                    break
                length, at = struct.unpack("!Q", buf[2:10])[0], 10
            if len(buf) < at + length:
                break
            message = json.loads(buf[at : at + length])
            buf = buf[at + length :]
            if message.get("type") == "ping":
                self.sock.sendall(masked({"type": "pong"}))
            else:
                found.append(message)
        self.buffer = buf
        return found


def connect(port: int, count: int, batch: int = 40) -> list[Client]:
    """``count`` clients subscribed to :data:`STREAM`, opened ``batch`` at a time
    (within the router's listen backlog of 50: more would wait for SYN retries)."""
    clients: list[Client] = []
    request = handshake("/cable") + masked({"type": "subscribe", "stream": STREAM})
    while len(clients) < count:
        opened = []
        for _ in range(min(batch, count - len(clients))):
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            sock.sendall(request)
            opened.append(Client(sock))
        for client in opened:
            while b"\r\n\r\n" not in client.buffer:
                client.buffer += client.sock.recv(4096)
            head, _, client.buffer = client.buffer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 101"), head
            while not client.messages():
                client.buffer += client.sock.recv(4096)
        clients.extend(opened)
    for client in clients:
        client.sock.setblocking(False)
    return clients


class Redis:
    """A minimal RESP client for PUBLISH on the router's redis-server socket."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)

    def publish(self, channel: str, payload: bytes) -> int:
        parts = [b"PUBLISH", channel.encode(), payload]
        command = b"*3\r\n" + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
        self.sock.sendall(command)
        reply = b""
        while not reply.endswith(b"\r\n"):
            reply += self.sock.recv(64)
        return int(reply[1:-2])


def deliveries(clients: list[Client], poller: select.epoll, n: int, sent: float) -> list[float]:
    """Wait until every client has message ``n``; each one's latency (ms) after ``sent``."""
    by_fd = {c.sock.fileno(): c for c in clients}
    waiting = set(by_fd)
    latencies = []
    deadline = time.perf_counter() + 30
    while waiting:
        if time.perf_counter() > deadline:
            raise SystemExit(f"{len(waiting)} clients never got message {n}")
        for fd, _ in poller.poll(1.0):
            client = by_fd[fd]
            try:
                client.buffer += client.sock.recv(65536)
            except BlockingIOError:
                continue
            expected = HEAT.format(n=n)
            for message in client.messages():
                if message.get("data") == expected and fd in waiting:
                    waiting.discard(fd)
                    latencies.append((time.perf_counter() - sent) * 1000)
    return latencies


def fan_out(
    router: RouterRun, clients: list[Client], publishes: int, via_http: bool
) -> tuple[list[float], list[float]]:
    """Per publish: ms until the last client had it; and every delivery's latency."""
    match = wait_for(lambda: BUS_URL.search(router.log.read_text()))
    redis = Redis(match.group(1))
    http_conn = http.client.HTTPConnection("127.0.0.1", router.port)
    poller = select.epoll()
    for client in clients:
        poller.register(client.sock.fileno(), select.EPOLLIN)
    whole, each = [], []
    for n in range(publishes):
        data = HEAT.format(n=n)
        sent = time.perf_counter()
        if via_http:
            body = json.dumps({"stream": STREAM, "data": data}).encode()
            http_conn.request("POST", "/_broadcast", body=body)
            response = http_conn.getresponse()
            response.read()
            assert response.status == 200, response.status
        else:
            redis.publish("cable:" + STREAM, json.dumps(data).encode())
        latencies = deliveries(clients, poller, n, sent)
        whole.append(max(latencies))
        each.extend(latencies)
    poller.close()
    http_conn.close()
    return whole, each


def close(clients: list[Client]) -> None:
    for client in clients:
        client.sock.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--publishes", type=int, default=200)
    parser.add_argument("--idle", type=int, default=10000)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the router inherits it
    idle = min(args.idle, hard - 200)

    router = RouterRun(CONFIG)
    try:
        one = connect(router.port, 1)
        _, single = fan_out(router, one, args.publishes, via_http=False)
        close(one)
        clients = connect(router.port, args.clients)
        cpu = cpu_seconds(router.proc.pid)
        whole, each = fan_out(router, clients, args.publishes, via_http=False)
        cpu_ms = (cpu_seconds(router.proc.pid) - cpu) * 1000 / args.publishes
        whole_http, _ = fan_out(router, clients, args.publishes // 2, via_http=True)
        close(clients)
    finally:
        router.stop()
    print(f"fan-out of one publish (Redis PUBLISH) to {args.clients} clients, {args.publishes}x:")
    print(f"  all delivered: p50 {pct(whole, 0.5):.1f} ms, p99 {pct(whole, 0.99):.1f} ms")
    print(f"  per delivery:  p50 {pct(each, 0.5):.1f} ms, p99 {pct(each, 0.99):.1f} ms")
    print(f"  router CPU per publish: {cpu_ms:.1f} ms")
    print(
        f"  via POST /_broadcast, all delivered: p50 {pct(whole_http, 0.5):.1f} ms,"
        f" p99 {pct(whole_http, 0.99):.1f} ms"
    )
    print(
        f"publish -> subscriber latency, one client: p50 {statistics.median(single):.2f} ms,"
        f" p99 {pct(single, 0.99):.2f} ms"
    )

    router = RouterRun(CONFIG)
    try:
        close(connect(router.port, 10))  # warm up: imports and first allocations
        before = rss_mb(router.proc.pid)
        started = time.perf_counter()
        clients = connect(router.port, idle)
        opened_in = time.perf_counter() - started
        after = rss_mb(router.proc.pid)
        close(clients)
    finally:
        router.stop()
    print(
        f"{idle} idle subscribed connections (RLIMIT_NOFILE {soft} -> {hard}):"
        f" router RSS {before:.1f} -> {after:.1f} MB, +{(after - before) * 1024 / idle:.1f} KB"
        f" per connection; opened in {opened_in:.1f} s"
    )


if __name__ == "__main__":
    main()
