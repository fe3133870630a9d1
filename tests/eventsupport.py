"""An event app over a fresh database, driven through StubTreq (no sockets)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from treq.testing import StubTreq

from showcase.event.context import CSRF_COOKIE, Context
from showcase.event.db import EventDB, create
from showcase.event.web import build_app, mount

PREFIX = "/showcase/2026/demo"


class EventClient:
    """A Context and a StubTreq over its app, with helpers to read pages and post forms."""

    def __init__(self, tmp_path: Path, populate: Callable[[sqlite3.Connection], None]) -> None:
        path = str(tmp_path / "event.sqlite3")
        create(path, populate)
        self.published: list[tuple[str, object]] = []
        self.ctx = Context(
            EventDB(path), PREFIX, publish=lambda s, d: self.published.append((s, d))
        )
        self.db = self.ctx.db
        self.treq: Any = StubTreq(mount(build_app(self.ctx), PREFIX))
        self.csrf = "test-csrf-token"

    def url(self, path: str) -> str:
        return "http://event.test" + PREFIX + "/" + path.lstrip("/")

    def get(self, path: str, **kwargs: Any) -> tuple[int, str]:
        """GET ``path`` (relative to the event); status and decoded body."""
        response = self._wait(self.treq.get(self.url(path), **kwargs))
        body = self._wait(response.content())
        return response.code, body.decode("utf-8")

    def post_form(self, path: str, data: dict[str, str], csrf: bool = True) -> tuple[int, str, str]:
        """POST a form (with the CSRF cookie and token); status, body and Location."""
        fields = dict(data)
        cookies = {}
        if csrf:
            fields["authenticity_token"] = self.csrf
            cookies = {CSRF_COOKIE.decode(): self.csrf}
        response = self._wait(
            self.treq.post(self.url(path), data=fields, cookies=cookies, allow_redirects=False)
        )
        body = self._wait(response.content())
        location = (response.headers.getRawHeaders(b"location") or [b""])[0].decode()
        return response.code, body.decode("utf-8"), location

    def post_json(self, path: str, value: Any) -> tuple[int, Any]:
        """POST JSON; status and decoded JSON answer (or text when it is not JSON)."""
        response = self._wait(
            self.treq.post(
                self.url(path),
                data=json.dumps(value).encode(),
                headers={b"content-type": [b"application/json"]},
            )
        )
        body = self._wait(response.content())
        try:
            return response.code, json.loads(body)
        except ValueError:
            return response.code, body.decode("utf-8", "replace")

    def _wait(self, d: Any) -> Any:
        self.treq.flush()
        results: list[Any] = []
        failures: list[Any] = []
        d.addCallbacks(results.append, failures.append)
        self.treq.flush()
        if failures:
            failures[0].raiseException()
        assert results, "the request did not finish"
        return results[0]
