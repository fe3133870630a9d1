"""Appliance mode (spec/fly-replay.md): render ``.pdf`` requests for events held elsewhere.

A router whose config has ``appliance{token_file}`` answers a GET for a PDF
(:func:`showcase.printing.split_pdf_path`) of an event it does not hold:

1. :class:`Printing` (a dispatch step) finds the owning region: the region of
   the ``routes.fly.replay`` region rule whose regex matches the path (no such
   rule: 404);
2. :class:`Printer` fetches ``<internal address of that region><prefix>print.json``
   with ``Authorization: Bearer <token>`` (the token file is read per request,
   so a rotated token needs no reload), on the router's reactor, with a timeout;
3. the PDF is rendered by :func:`showcase.printing.render_path` in a thread.

Failures: the owner unreachable, slow, or refusing the data (401/404/...) →
502 page and a log line; a PDF the renderer does not know (an unknown id, or
a ``.pdf`` path under an event no endpoint names) → 404.  The
appliance step comes before the replay rules, so a PDF it renders is never
replayed again (and a rule naming this app is never replayed to, see
:meth:`~showcase.router.replay.Replayer.is_here`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import attrs
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.error import TimeoutError as DeferredTimeout
from twisted.logger import Logger

from showcase.config.model import Appliance, Fly

from .message import Reply, RequestHead
from .replay import FlyHere, internal_base

FETCH_TIMEOUT = 15.0
"""Seconds to get an event's print data (connect, answer and body) from its region."""

Render = Callable[[str, Any], "Deferred[bytes | None]"]
"""``render(relative, data)``: the PDF bytes, or None for a PDF it does not know."""


def page(status: int, title: str, text: str) -> Reply:
    body = f"<!DOCTYPE html><title>{status} {title}</title><h1>{title}</h1><p>{text}</p>\n"
    return Reply(
        status,
        ((b"content-type", b"text/html; charset=utf-8"), (b"cache-control", b"no-store")),
        body.encode(),
        kind="appliance",
    )


NO_SUCH_PDF = page(404, "Not Found", "There is no such PDF.")
NO_DATA = page(
    502, "Bad Gateway", "The event's data could not be fetched for printing. Please try again."
)


@attrs.frozen
class PrintJob:
    """A dispatch decision: render ``relative`` of the event at ``prefix``."""

    prefix: str  # "/2025/boston/"
    relative: str  # the PDF's path below the prefix
    region: str  # the owning region
    data_url: str  # <internal address of the region><prefix>print.json
    token_file: str
    public_dir: str = "public"  # where the data's logo (relative) is found here


class Printing:
    """Which requests this appliance renders itself (the dispatcher's step)."""

    def __init__(
        self, appliance: Appliance, fly: Fly, here: FlyHere, public_dir: str = "public"
    ) -> None:
        self.appliance = appliance
        self.public_dir = public_dir
        self.fly = fly
        self.here = here
        self.regions = tuple(r for r in fly.replay if r.region is not None and r.machine is None)

    def job(self, head: RequestHead, path: str) -> PrintJob | Reply | None:
        """The job for a PDF request, 404 for a PDF of no known event, else None."""
        if head.method not in (b"GET", b"HEAD") or not path.endswith(".pdf"):
            return None  # every PDF endpoint ends so: other requests pay nothing more
        from showcase.printing import split_pdf_path

        split = split_pdf_path(path)
        rule = next((r for r in self.regions if r.path.search(path)), None)
        if split is None:
            # A PDF we do not make of an event held elsewhere: a 404 here, not a replay
            # to a region of this app (Fly finds none: a maintenance page).
            return NO_SUCH_PDF if rule is not None else None
        prefix, relative = split
        if rule is None or rule.region is None:
            return NO_SUCH_PDF
        base = internal_base(self.fly, self.here, region=rule.region)
        return PrintJob(
            prefix,
            relative,
            rule.region,
            base + prefix.rstrip("/") + "/print.json",
            self.appliance.token_file,
            self.public_dir,
        )


def render_in_thread(reactor: Any) -> Render:
    """``render_path`` run in the reactor's thread pool, one render at a time: those
    waiting keep no pool thread from the name lookups of print data fetches."""
    from showcase.printing.render import RenderQueue

    queue = RenderQueue(reactor)

    def render(relative: str, data: Any) -> Deferred[bytes | None]:
        from showcase.printing import render_path

        return queue.run(lambda: render_path(relative, data))

    return render


def web_client(reactor: Any) -> Any:
    """A treq client on ``reactor`` (connections not kept: print jobs are rare)."""
    from treq.client import HTTPClient
    from twisted.web.client import Agent, HTTPConnectionPool

    pool = HTTPConnectionPool(reactor, persistent=False)
    return HTTPClient(Agent(reactor, connectTimeout=FETCH_TIMEOUT, pool=pool))


class Printer:
    """Carries out :class:`PrintJob` decisions: fetch the data, render, answer."""

    log = Logger()

    def __init__(
        self,
        reactor: Any,
        http: Any = None,
        render: Render | None = None,
        timeout: float = FETCH_TIMEOUT,
    ) -> None:
        self.reactor = reactor
        self.http = http if http is not None else web_client(reactor)
        self.render = render if render is not None else render_in_thread(reactor)
        self.timeout = timeout

    def print(self, job: PrintJob) -> Deferred[Reply]:
        """The answer for ``job`` (cancel it when the client goes away)."""
        return Deferred.fromCoroutine(self._print(job))

    async def _print(self, job: PrintJob) -> Reply:
        data = await self._data(job)
        if data is None:
            return NO_DATA
        from showcase.printing import with_logo_file
        from showcase.printing.model import PrintDataError

        if isinstance(data, dict):
            data = with_logo_file(data, job.public_dir)

        try:
            pdf = await self.render(job.relative, data)
        except CancelledError:
            raise
        except PrintDataError as e:
            self.log.error("print data {url} cannot be used: {e}", url=job.data_url, e=e)
            return NO_DATA
        except Exception:
            self.log.failure("rendering {pdf} of {at} failed", pdf=job.relative, at=job.prefix)
            return page(500, "Internal Server Error", "The PDF could not be made.")
        if pdf is None:
            return NO_SUCH_PDF
        headers = ((b"content-type", b"application/pdf"), (b"cache-control", b"no-store"))
        return Reply(200, headers, pdf, kind="appliance", destination=f"region={job.region}")

    async def _data(self, job: PrintJob) -> Any:
        """The event's print data, or None (logged) when it cannot be had."""
        try:
            with open(job.token_file, "rb") as f:
                token = f.read().strip()
        except OSError as e:
            self.log.error("appliance.token_file {path}: {e}", path=job.token_file, e=e)
            return None
        fetching = Deferred.fromCoroutine(self._fetch(job.data_url, token))
        try:
            code, body = await fetching.addTimeout(self.timeout, self.reactor)
        except DeferredTimeout:
            self.log.warn("print data {url}: no answer in {s}s", url=job.data_url, s=self.timeout)
            return None
        except CancelledError:
            raise
        except Exception as e:
            self.log.warn("print data {url} unreachable: {e}", url=job.data_url, e=e)
            return None
        if code != 200:
            self.log.error(
                "print data {url} answered {code} (refused token or unknown event?)",
                url=job.data_url,
                code=code,
            )
            return None
        try:
            return json.loads(body)
        except ValueError as e:
            self.log.error("print data {url} is not JSON: {e}", url=job.data_url, e=e)
            return None

    async def _fetch(self, url: str, token: bytes) -> tuple[int, bytes]:
        from twisted.web.http_headers import Headers

        headers = Headers({b"authorization": [b"Bearer " + token]})
        response = await self.http.get(url, headers=headers)
        body = await response.content()
        return response.code, body
