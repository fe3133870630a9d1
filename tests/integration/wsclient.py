"""A browser-like cable client for integration tests: a WebSocket on a raw socket."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
from typing import Any


class WebSocket:
    """A browser-like cable client on a raw socket (masked frames out, plain frames in)."""

    def __init__(self, port: int, path: str, authorization: str | None = None) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        key = base64.b64encode(os.urandom(16)).decode()
        auth = f"Authorization: {authorization}\r\n" if authorization else ""
        self.sock.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\n{auth}\r\n"
            ).encode()
        )
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self._read()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head

    def _read(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the router closed the connection")
        self.buffer += data

    def send(self, message: object) -> None:
        payload = json.dumps(message).encode()
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert len(payload) < 126
        self.sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + masked)

    def receive(self, timeout: float = 10.0) -> Any:
        """The next JSON message (pings included); fails on a close frame or timeout."""
        self.sock.settimeout(timeout)
        while True:
            if len(self.buffer) >= 2:
                opcode, length, at = self.buffer[0] & 0x0F, self.buffer[1] & 0x7F, 2
                if length == 126:
                    length, at = struct.unpack("!H", self.buffer[2:4])[0], 4
                elif length == 127:
                    length, at = struct.unpack("!Q", self.buffer[2:10])[0], 10
                if len(self.buffer) >= at + length:
                    payload = self.buffer[at : at + length]
                    self.buffer = self.buffer[at + length :]
                    assert opcode == 1, f"frame with opcode {opcode}: {payload!r}"
                    return json.loads(payload)
            self._read()

    def subscribe(self, stream: str) -> Any:
        self.send({"type": "subscribe", "stream": stream})
        return self.receive()

    def close(self) -> None:
        self.sock.close()
