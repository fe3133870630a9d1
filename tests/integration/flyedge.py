"""A stand-in for Fly.io's edge proxy, for integration tests (stdlib, threaded, 127.0.0.1).

Each request goes to an *arrival* machine: the one named by the test header
``X-Flyedge-Arrive`` (removed before sending), else the edge's default.  When
a machine answers ``Content-Type: application/vnd.fly.replay+json``, the edge
re-sends the same request (method, target, headers, body) as Fly does:

* ``{"region": R}``: to a machine of the same app in region R;
* ``{"app": A, "instance": I}``: to machine I of app A;
* ``{"app": A}``: to a machine of app A;

with the headers of ``transform.set_headers`` set.  When no machine stands for
the target, ``"fallback": "force_self"`` sends the request back to the machine
that asked for the replay, with a ``fly-replay-failed`` header; without a
fallback the edge answers 502, as it does when the instruction cannot be read
(an answer to HEAD carries no body).  Bodies are read whole (Fly buffers replayable
bodies too); ``fly-prefer-region`` is passed through untouched.  Every request's
path through the machines is kept in :attr:`FlyEdge.trails`.
"""

from __future__ import annotations

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs

REPLAY_TYPE = "application/vnd.fly.replay+json"
ARRIVE_HEADER = "X-Flyedge-Arrive"
MAX_HOPS = 4
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length"}
)


@attrs.frozen
class Machine:
    """One router behind the edge."""

    name: str
    port: int
    app: str
    region: str
    id: str = ""


@attrs.frozen
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


class FlyEdge:
    """The edge on a free port of 127.0.0.1; :meth:`stop` it when done."""

    def __init__(self, machines: list[Machine], arrival: str, timeout: float = 30.0) -> None:
        self.machines = {m.name: m for m in machines}
        self.arrival = arrival
        self.timeout = timeout
        self.trails: list[list[str]] = []
        self._lock = threading.Lock()
        edge = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                edge._handle(self)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _any

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    # -- the client side -----------------------------------------------------------------

    def request(
        self,
        path: str,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        arrive: str | None = None,
    ) -> Answer:
        """Send a request through the edge (arriving at ``arrive`` when given)."""
        headers = dict(headers or {})
        if arrive is not None:
            headers[ARRIVE_HEADER] = arrive
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            found = {k.lower(): v for k, v in resp.getheaders()}
            return Answer(resp.status, found, resp.read())
        finally:
            conn.close()

    # -- the edge ----------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        headers = [(k, v) for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP]
        arrive = handler.headers.get(ARRIVE_HEADER) or self.arrival
        headers = [(k, v) for k, v in headers if k.lower() != ARRIVE_HEADER.lower()]
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else None
        trail: list[str] = []
        with self._lock:
            self.trails.append(trail)
        answer = self._route(
            self.machines[arrive], handler.command, handler.path, headers, body, trail
        )
        handler.send_response(answer.status)
        for name, value in answer.headers.items():
            if name not in HOP_BY_HOP:
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(answer.body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(answer.body)

    def _route(
        self,
        machine: Machine,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes | None,
        trail: list[str],
    ) -> Answer:
        for _ in range(MAX_HOPS):
            trail.append(machine.name)
            answer = self._send(machine, method, target, headers, body)
            if answer.headers.get("content-type", "").split(";")[0].strip() != REPLAY_TYPE:
                return answer
            try:
                replay = json.loads(answer.body)
            except ValueError:  # e.g. an answer to HEAD: no body, so no instruction
                return Answer(502, {"content-type": "text/plain"}, b"replay unreadable\n")
            found = self._target(machine, replay)
            if found is None:
                if replay.get("fallback") != "force_self":
                    return Answer(502, {"content-type": "text/plain"}, b"replay target unknown\n")
                failed = [*headers, ("fly-replay-failed", "no machine for the target")]
                trail.append(machine.name)
                return self._send(machine, method, target, failed, body)
            changes = {
                h["name"].lower(): h for h in replay.get("transform", {}).get("set_headers", [])
            }
            headers = [(k, v) for k, v in headers if k.lower() not in changes]
            headers += [(h["name"], h["value"]) for h in changes.values()]
            machine = found
        return Answer(508, {"content-type": "text/plain"}, b"too many replays\n")

    def _target(self, source: Machine, replay: dict[str, Any]) -> Machine | None:
        app = replay.get("app") or source.app
        for m in self.machines.values():
            if m.app != app:
                continue
            if "instance" in replay:
                if m.id == replay["instance"]:
                    return m
            elif "region" in replay:
                if m.region == replay["region"]:
                    return m
            elif "app" in replay:
                return m
        return None

    def _send(
        self,
        machine: Machine,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes | None,
    ) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", machine.port, timeout=self.timeout)
        try:
            conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                conn.putheader(name, value)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            resp = conn.getresponse()
            found = {k.lower(): v for k, v in resp.getheaders()}
            return Answer(resp.status, found, resp.read())
        finally:
            conn.close()
