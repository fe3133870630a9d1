"""An event app over a fresh database, driven through StubTreq (no sockets)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from treq.testing import StubTreq
from twisted.web.resource import IResource

from showcase.event.context import CSRF_COOKIE, Context
from showcase.event.db import EventDB, create
from showcase.event.web import build_app, mount

PREFIX = "/showcase/2026/demo"


class StubClient:
    """A StubTreq over an app mounted at ``base``: requests answered at once, forms with CSRF."""

    csrf = "test-csrf-token"

    def __init__(self, resource: IResource, base: str) -> None:
        self.treq: Any = StubTreq(resource)
        self._base = base

    def url(self, path: str) -> str:
        return self._base + "/" + path.lstrip("/")

    def _post_form(
        self, path: str, data: dict[str, str], csrf: bool, headers: dict[bytes, list[bytes]]
    ) -> tuple[int, str, str]:
        """POST a form (with the CSRF cookie and token unless ``csrf`` is false)."""
        fields = dict(data)
        cookies = {}
        if csrf:
            fields["authenticity_token"] = self.csrf
            cookies = {CSRF_COOKIE.decode(): self.csrf}
        response = self._wait(
            self.treq.post(
                self.url(path), data=fields, cookies=cookies, headers=headers, allow_redirects=False
            )
        )
        body = self._wait(response.content())
        return response.code, body.decode("utf-8"), location(response)

    def post_body(
        self, path: str, body: bytes, headers: dict[bytes, list[bytes]]
    ) -> tuple[int, Any]:
        """POST raw bytes; status and the JSON answer (text when not JSON)."""
        response = self._wait(self.treq.post(self.url(path), data=body, headers=headers))
        text = self._wait(response.content())
        try:
            return response.code, json.loads(text)
        except ValueError:
            return response.code, text.decode("utf-8", "replace")

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


def location(response: Any) -> str:
    """A response's Location header ("" when it has none)."""
    return str((response.headers.getRawHeaders(b"location") or [b""])[0].decode())


class EventClient(StubClient):
    """A Context and a StubTreq over its app, with helpers to read pages and post forms."""

    def __init__(self, tmp_path: Path, populate: Callable[[sqlite3.Connection], None]) -> None:
        path = str(tmp_path / "event.sqlite3")
        create(path, populate)
        self.published: list[tuple[str, object]] = []
        self.ctx = Context(
            EventDB(path), PREFIX, publish=lambda s, d: self.published.append((s, d))
        )
        self.db = self.ctx.db
        super().__init__(mount(build_app(self.ctx), PREFIX), "http://event.test" + PREFIX)

    def get(self, path: str, **kwargs: Any) -> tuple[int, str]:
        """GET ``path`` (relative to the event); status and decoded body."""
        response = self._wait(self.treq.get(self.url(path), **kwargs))
        body = self._wait(response.content())
        return response.code, body.decode("utf-8")

    def post_form(self, path: str, data: dict[str, str], csrf: bool = True) -> tuple[int, str, str]:
        """POST a form (with the CSRF cookie and token); status, body and Location."""
        return self._post_form(path, data, csrf, {})

    def post_json(self, path: str, value: Any) -> tuple[int, Any]:
        """POST JSON; status and decoded JSON answer (or text when it is not JSON)."""
        return self.post_body(
            path, json.dumps(value).encode(), {b"content-type": [b"application/json"]}
        )
