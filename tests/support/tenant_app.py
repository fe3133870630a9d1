"""A generic tenant: any HTTP program that listens on ``$PORT`` (plain twisted.web).

Run as ``python tests/support/tenant_app.py``.  It imports nothing from
showcase, so it stands for "some program the router was told to run".

Environment:

* ``PORT``: where to listen, on 127.0.0.1 (HTTP/1.1 with keep-alive).
* ``TENANT_READY_LINE=1``: print ``{"ready": true, "port": N}`` once listening;
  otherwise the supervisor must find out by polling ``/up``.
* ``TENANT_START_DELAY_MS``: sleep this long before listening (a slow boot).
* ``TENANT_NAME``: used in the default answer.

Routes: ``/up`` (200), ``/echo`` (JSON of the request), ``/upload`` (byte count
and sha256 of the body), ``/download?size=N`` (N pattern bytes, streamed),
``/stream?n=K`` (K lines, chunked, 10 ms apart), ``/slow?ms=M``, ``/crash``
(exits 3 at once), ``/pid``, ``/env?name=X``, ``/ws`` (WebSocket echo, autobahn);
anything else: ``hello from <TENANT_NAME> path=<path>``.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import Any

from twisted.internet import reactor as _reactor
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site

reactor: Any = _reactor  # the global reactor: fine in a standalone program

CHUNK = 64 * 1024
PATTERN = bytes(range(256)) * (CHUNK // 256)
"""The download pattern: byte ``i`` of a response is ``i % 256``."""


def _arg(request: Request, name: str, default: str = "") -> str:
    values: list[bytes] = request.args.get(name.encode(), []) if request.args else []
    return values[0].decode() if values else default


def _text(request: Request, body: str, status: int = 200) -> bytes:
    request.setResponseCode(status)
    request.setHeader(b"content-type", b"text/plain; charset=utf-8")
    return body.encode()


def _json(request: Request, value: Any) -> bytes:
    request.setHeader(b"content-type", b"application/json")
    return json.dumps(value).encode()


class _Download:
    """A pull producer writing ``size`` pattern bytes, one 64 KiB chunk per pull."""

    def __init__(self, request: Request, size: int) -> None:
        self._request = request
        self._left = size
        self._stopped = False

    def resumeProducing(self) -> None:
        if self._stopped:
            return
        if self._left <= 0:
            self._stopped = True
            self._request.unregisterProducer()
            self._request.finish()
            return
        chunk = PATTERN[: min(CHUNK, self._left)]
        self._left -= len(chunk)
        self._request.write(chunk)

    def stopProducing(self) -> None:
        self._stopped = True


class App(Resource):
    """Every HTTP route except ``/ws``."""

    isLeaf = True

    def render(self, request: Request) -> bytes | int:
        path = request.path.decode("utf-8", "replace")
        route = path.rstrip("/").rsplit("/", 1)[-1]
        handler = getattr(self, f"route_{route}", None)
        if handler is None:
            name = os.environ.get("TENANT_NAME", "tenant")
            return _text(request, f"hello from {name} path={path}")
        result: bytes | int = handler(request)
        return result

    def route_up(self, request: Request) -> bytes:
        return _text(request, "OK")

    def route_echo(self, request: Request) -> bytes:
        assert request.content is not None
        body = request.content.read()
        headers = [
            [name.decode("latin-1"), value.decode("latin-1")]
            for name, values in request.requestHeaders.getAllRawHeaders()
            for value in values
        ]
        return _json(
            request,
            {
                "method": request.method.decode(),
                "path": request.path.decode("utf-8", "replace"),
                "query": request.uri.decode("utf-8", "replace").partition("?")[2],
                "headers": headers,
                "body_length": len(body),
            },
        )

    def route_upload(self, request: Request) -> bytes:
        # twisted.web spools large bodies to a temporary file: read it in chunks.
        assert request.content is not None
        request.content.seek(0)
        digest, count = hashlib.sha256(), 0
        while chunk := request.content.read(CHUNK):
            digest.update(chunk)
            count += len(chunk)
        return _json(request, {"bytes": count, "sha256": digest.hexdigest()})

    def route_download(self, request: Request) -> int:
        size = int(_arg(request, "size", "0"))
        request.setHeader(b"content-type", b"application/octet-stream")
        request.setHeader(b"content-length", str(size).encode())
        request.registerProducer(_Download(request, size), False)
        return NOT_DONE_YET

    def route_stream(self, request: Request) -> int:
        lines = int(_arg(request, "n", "3"))
        request.setHeader(b"content-type", b"text/plain")
        gone: list[Failure] = []
        request.notifyFinish().addErrback(gone.append)

        def write(i: int) -> None:
            if gone:
                return
            if i >= lines:
                request.finish()
                return
            request.write(f"line {i}\n".encode())
            reactor.callLater(0.01, write, i + 1)

        write(0)
        return NOT_DONE_YET

    def route_slow(self, request: Request) -> int:
        ms = int(_arg(request, "ms", "100"))
        call = reactor.callLater(ms / 1000, self._slow_done, request, ms)

        def gone(_: Failure) -> None:
            if call.active():
                call.cancel()

        request.notifyFinish().addErrback(gone)
        return NOT_DONE_YET

    def _slow_done(self, request: Request, ms: int) -> None:
        request.write(_text(request, f"slept {ms} ms"))
        request.finish()

    def route_crash(self, request: Request) -> bytes:
        os._exit(3)

    def route_pid(self, request: Request) -> bytes:
        return _text(request, str(os.getpid()))

    def route_env(self, request: Request) -> bytes:
        value = os.environ.get(_arg(request, "name"))
        if value is None:
            return _text(request, "not set", status=404)
        return _text(request, value)


class Root(Resource):
    """``.../ws`` goes to the WebSocket echo (built on first use: autobahn is slow to import)."""

    def __init__(self) -> None:
        super().__init__()
        self._app = App()
        self._ws: Any = None

    def getChild(self, path: bytes, request: Request) -> Any:
        if request.path.rstrip(b"/").endswith(b"/ws"):  # /ws, or /<tenant path>/ws
            if self._ws is None:
                self._ws = _websocket_echo()
            return self._ws
        return self._app

    def render(self, request: Request) -> bytes | int:
        return self._app.render(request)


def _websocket_echo() -> Any:
    from autobahn.twisted.resource import WebSocketResource
    from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol

    class Echo(WebSocketServerProtocol):
        def onMessage(self, payload: bytes, isBinary: bool) -> None:
            self.sendMessage(payload, isBinary)

    factory = WebSocketServerFactory()
    factory.protocol = Echo
    return WebSocketResource(factory)


def main() -> None:
    port = int(os.environ["PORT"])
    delay_ms = int(os.environ.get("TENANT_START_DELAY_MS", "0"))
    if delay_ms:
        time.sleep(delay_ms / 1000)  # simulates a slow boot before listening
    listening = reactor.listenTCP(port, Site(Root()), interface="127.0.0.1")
    if os.environ.get("TENANT_READY_LINE") == "1":
        print(json.dumps({"ready": True, "port": listening.getHost().port}), flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
