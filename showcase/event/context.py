"""What every page of the event app needs: the database, the URL prefix, templates, CSRF.

One :class:`Context` per process, passed to each area's ``register``.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Callable
from typing import Any

import jinja2
from twisted.web.server import Request

from .db import EventDB
from .page_globals import PageGlobals
from .paths import TEMPLATES

Publish = Callable[[str, object], None]
CSRF_COOKIE = b"showcase_csrf"


class Forbidden(Exception):
    """A form post without a valid CSRF token."""


def display_name(name: str | None) -> str:
    """ "Last, First" as "First Last"."""
    if not name:
        return ""
    last, sep, first = name.partition(", ")
    return f"{first} {last}" if sep else name


class Context:
    def __init__(
        self,
        db: EventDB,
        prefix: str,
        publish: Publish | None = None,
        templates: str = TEMPLATES,
    ) -> None:
        self.db = db
        self.prefix = prefix.rstrip("/")  # "/showcase/2025/boston" or ""
        self.publish: Publish = publish or (lambda stream, data: None)
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(templates),
            autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals["url"] = self.url
        self.env.globals["stream"] = self.stream
        self.env.filters["display_name"] = display_name
        self.page = PageGlobals(self.url)  # asset_url, importmap, event_theme; set up by serve()
        self.page.install(self.env)

    def url(self, path: str = "/") -> str:
        """The URL of ``path`` (relative to this event) as the browser sees it."""
        return self.prefix + "/" + path.lstrip("/")

    def stream(self, kind: str) -> str:
        """This event's cable stream of ``kind``: ``current-heat`` → ``current-heat-<db>``."""
        return f"{kind}-{self.db.name}"

    # -- responses -------------------------------------------------------------

    def render(self, request: Request, template: str, status: int = 200, **values: Any) -> bytes:
        """A page from ``template``, with the event and the CSRF token available to it."""
        request.setResponseCode(status)
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        values.setdefault("event", self.event())
        if "csrf_token" not in values:  # public pages pass "" and set no cookie
            values["csrf_token"] = self.csrf_token(request)
        return self.env.get_template(template).render(**values).encode("utf-8")

    def json(self, request: Request, value: Any, status: int = 200) -> bytes:
        request.setResponseCode(status)
        request.setHeader(b"content-type", b"application/json")
        return json.dumps(value, separators=(",", ":"), default=str).encode("utf-8")

    def redirect(self, request: Request, path: str) -> bytes:
        """303 See Other to ``path`` within the event (after a successful form post)."""
        request.setResponseCode(303)
        request.setHeader(b"location", self.url(path).encode("utf-8"))
        return b""

    def not_found(self, request: Request, what: str = "Not found") -> bytes:
        return self.render(request, "not_found.html", status=404, what=what)

    # -- data every page uses ------------------------------------------------------

    def event(self) -> dict[str, Any]:
        row = self.db.one("SELECT * FROM events ORDER BY id LIMIT 1")
        return dict(row) if row is not None else {}

    # -- CSRF (double submit: a random cookie, echoed by forms) --------------------------

    def csrf_token(self, request: Request) -> str:
        token = request.getCookie(CSRF_COOKIE)
        if token:
            return token.decode("ascii", "replace")
        fresh = secrets.token_urlsafe(32)
        request.addCookie(
            CSRF_COOKIE,
            fresh.encode(),
            path=(self.prefix or "/").encode(),
            httpOnly=True,
            sameSite="lax",
        )
        request.received_cookies[CSRF_COOKIE] = fresh.encode()  # same request renders it
        return fresh

    def check_csrf(self, request: Request) -> None:
        """Refuse a form post whose token does not match its cookie; JSON posts need none."""
        content_type = request.getHeader(b"content-type") or b""
        if content_type.lower().startswith(b"application/json"):
            return
        cookie = request.getCookie(CSRF_COOKIE) or b""
        sent = request.getHeader(b"x-csrf-token")
        if sent is None:
            args: dict[bytes, list[bytes]] = request.args or {}
            sent = (args.get(b"authenticity_token") or [b""])[0]
        if not cookie or not hmac.compare_digest(cookie, sent):
            raise Forbidden("missing or wrong CSRF token")
