"""Live provisioning: after the index changes, this machine (and its peers) serve the change.

For a change made here (:meth:`Provisioner.provision`), off the request:

1. write ``showcases.yml``, ``htpasswd`` and the router config (the generator);
2. create the empty database of every event of this region that has none;
3. SIGHUP the router (``SHOWCASE_ROUTER_PID``): it re-reads its config, no restart;
4. POST the index database to every peer (``<peer>/config/update``), reporting each answer;
5. for a new or changed event of this region, poll it through the router until it
   answers (``<event path>public/current.json``), which also starts its tenant.

Progress goes to the user's ``config_update_index_<user>`` stream as
``{status: processing|completed|error, progress: 0..100, message, url?}``,
ending in ``completed`` (with the event's URL) or ``error``.  A peer's update
(:meth:`Provisioner.apply`) runs steps 1-3 only.  Runs are serialised: two
admins saving at once get two generations, one after the other.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol, TypeVar

import attrs
from twisted.internet.defer import Deferred, DeferredList, DeferredLock, maybeDeferred
from twisted.internet.task import deferLater
from twisted.logger import Logger

from showcase.event.context import Publish
from showcase.event.db import EventDB, create
from showcase.event.defaults import populate_new_event

from .db import EventName, events

T = TypeVar("T")
Kill = Callable[[int, int], None]
InThread = Callable[[Callable[[], Any]], Deferred[Any]]
STREAM_PREFIX = "config_update_index_"

log = Logger()


def stream_for(user_stream_id: str) -> str:
    return STREAM_PREFIX + user_stream_id


class Http(Protocol):
    """The few HTTP calls provisioning makes (treq in production, fakes in tests)."""

    def status(self, url: str) -> Deferred[int]: ...

    def post(self, url: str, body: bytes, headers: dict[bytes, list[bytes]]) -> Deferred[Any]:
        """``(status, body bytes)`` of a POST."""
        ...


class TreqHttp:
    """:class:`Http` over a treq client (``treq.client.HTTPClient`` or ``StubTreq``)."""

    def __init__(self, client: Any, timeout: float = 10.0) -> None:
        self.client = client
        self.timeout = timeout

    def status(self, url: str) -> Deferred[int]:
        async def get() -> int:
            response = await self.client.get(url, timeout=self.timeout, allow_redirects=False)
            await response.content()
            return int(response.code)

        return Deferred.fromCoroutine(get())

    def post(self, url: str, body: bytes, headers: dict[bytes, list[bytes]]) -> Deferred[Any]:
        async def post() -> tuple[int, bytes]:
            response = await self.client.post(
                url, data=body, headers=headers, timeout=self.timeout, allow_redirects=False
            )
            return int(response.code), await response.content()

        return Deferred.fromCoroutine(post())


def synchronously(work: Callable[[], Any]) -> Deferred[Any]:
    """Run ``work`` now (the default when generating is fast, and in tests)."""
    return maybeDeferred(work)


@attrs.frozen
class Settings:
    """Where this machine keeps things and whom it tells (from the tenant's env)."""

    db_dir: str = "db"
    region: str | None = None  # None: a single machine, every event is served here
    root_path: str = ""  # "/showcase": event URLs are <root_path>/<year>/<location>/...
    router_pid: int | None = None
    router_url: str | None = None  # "http://127.0.0.1:9999": where to check the new event
    peers: tuple[str, ...] = ()  # other machines' index base URLs
    token: str | None = None  # the Bearer token of POST <root>/config/update
    ready_timeout: float = 20.0
    poll_interval: float = 0.1

    def local(self, event: EventName) -> bool:
        """Is ``event`` served by this machine?"""
        return self.region is None or event.region == self.region

    def database(self, event: EventName) -> str:
        return os.path.join(self.db_dir, event.db + ".sqlite3")

    def url(self, event: EventName) -> str:
        """The event's page as the browser sees it."""
        return f"{self.root_path.rstrip('/')}/{event.path}"


def progress(status: str, percent: int, message: str, url: str | None = None) -> dict[str, Any]:
    value: dict[str, Any] = {"status": status, "progress": percent, "message": message}
    if url is not None:
        value["url"] = url
    return value


class Failed(Exception):
    """A step failed; the message is shown to the admin."""


class Provisioner:
    """Generates, creates, reloads, tells peers and waits, reporting progress as it goes."""

    def __init__(
        self,
        reactor: Any,
        settings: Settings,
        db: EventDB,
        generate: Callable[[], object],
        publish: Publish,
        http: Http,
        kill: Kill = os.kill,
        in_thread: InThread = synchronously,
    ) -> None:
        self.reactor = reactor
        self.settings = settings
        self.db = db
        self.generate = generate
        self.publish = publish
        self.http = http
        self.kill = kill
        self.in_thread = in_thread
        self.lock = DeferredLock()
        self.latest: dict[str, dict[str, Any]] = {}  # stream -> its last message

    # -- entry points ------------------------------------------------------------------

    def provision(self, stream: str, event: EventName | None = None) -> Deferred[dict[str, Any]]:
        """Apply the index here and on the peers; then wait for ``event`` (if any)."""
        self.report(stream, progress("processing", 0, "Saved; applying the change…"))
        return Deferred.fromCoroutine(self._provision(stream, event))

    def apply(self) -> Deferred[list[str]]:
        """A peer's update: generate, create this region's databases, reload (serialised)."""

        async def steps() -> list[str]:
            await self.in_thread(self.generate)
            created = await self.in_thread(self._create_missing(self._local_events()))
            self._reload()
            return list(created)

        return self._locked(steps)

    # -- the steps -----------------------------------------------------------------------

    async def _provision(self, stream: str, event: EventName | None) -> dict[str, Any]:
        try:
            answered = await self._locked(lambda: self._apply_and_push(stream))
            last = await self._finish(stream, event, answered)
        except Failed as failure:
            last = progress("error", 100, str(failure))
        except Exception as error:  # reported to the admin; the details go to the log
            log.failure("provisioning failed")
            last = progress("error", 100, f"Provisioning failed: {error}")
        self.report(stream, last)
        return last

    async def _apply_and_push(self, stream: str) -> set[str]:
        """Steps 1-4; the regions of the peers that took the update."""
        self.report(stream, progress("processing", 10, "Writing the configuration…"))
        try:
            await self.in_thread(self.generate)
        except Exception as error:
            log.failure("generating the configuration failed")
            raise Failed(f"The configuration could not be written: {error}") from error
        self.report(stream, progress("processing", 30, "Configuration written."))
        created = await self.in_thread(self._create_missing(self._local_events()))
        if created:
            self.report(stream, progress("processing", 45, f"Created {', '.join(created)}."))
        if self._reload():
            self.report(stream, progress("processing", 55, "The router is reloading."))
        else:
            self.report(stream, progress("processing", 55, "No router to reload (standalone)."))
        return await self._push(stream)

    async def _finish(
        self, stream: str, event: EventName | None, answered: set[str]
    ) -> dict[str, Any]:
        """Step 5: the final message."""
        if event is None:
            return progress("completed", 100, "Saved and applied.")
        url = self.settings.url(event)
        settings = self.settings
        if not settings.local(event):
            if event.region in answered:
                return progress("completed", 100, f"{event.name} is served in {event.region}.", url)
            raise Failed(f"No machine of region {event.region} took the update.")
        if settings.router_pid is None or settings.router_url is None:
            return progress("completed", 100, f"{event.name} is ready.", url)
        self.report(stream, progress("processing", 85, f"Starting {event.name}…"))
        if not await self._wait_ready(event):
            raise Failed(
                f"{event.name} did not answer within {settings.ready_timeout:g} s;"
                " the router's log says why."
            )
        return progress("completed", 100, f"{event.name} is ready.", url)

    def _local_events(self) -> list[EventName]:
        return [e for e in events(self.db) if self.settings.local(e)]

    def _create_missing(self, wanted: Iterable[EventName]) -> Callable[[], list[str]]:
        """The work (for a thread) that creates the databases of ``wanted`` that are missing."""
        wanted = list(wanted)

        def work() -> list[str]:
            created = []
            for e in wanted:
                path = self.settings.database(e)
                populate = _populate(e)
                if not os.path.exists(path) and create(path, populate):
                    created.append(e.db + ".sqlite3")
            return created

        return work

    def _reload(self) -> bool:
        """SIGHUP the router; False when there is none (standalone)."""
        pid = self.settings.router_pid
        if pid is None:
            return False
        try:
            self.kill(pid, signal.SIGHUP)
        except ProcessLookupError:
            raise Failed(f"The router (pid {pid}) is not running.") from None
        return True

    async def _push(self, stream: str) -> set[str]:
        """Step 4: send the index to every peer; the regions that took it."""
        peers = self.settings.peers
        if not peers:
            return set()
        body = self.db.conn.serialize()
        answered: set[str] = set()
        done = 0

        async def one(peer: str) -> None:
            nonlocal done
            ok, text, region = await self._push_one(peer, body)
            done += 1
            if ok and region:
                answered.add(region)
            percent = 60 + 20 * done // len(peers)
            self.report(stream, progress("processing", percent, f"{peer}: {text}"))

        await DeferredList([Deferred.fromCoroutine(one(peer)) for peer in peers])
        return answered

    async def _push_one(self, peer: str, body: bytes) -> tuple[bool, str, str | None]:
        token = self.settings.token
        if not token:
            return False, "not sent: no update token is configured here", None
        headers = {
            b"authorization": [b"Bearer " + token.encode()],
            b"content-type": [b"application/vnd.sqlite3"],
        }
        try:
            code, answer = await self.http.post(peer.rstrip("/") + "/config/update", body, headers)
        except Exception as error:
            return False, f"unreachable ({error})", None
        try:
            value = json.loads(answer)
        except ValueError:
            value = {}
        if code != 200 or not isinstance(value, dict):
            detail = value.get("message") if isinstance(value, dict) else None
            return False, f"refused ({code}{': ' + str(detail) if detail else ''})", None
        region = value.get("region")
        return True, f"updated (region {region}, {value.get('events')} events)", region

    async def _wait_ready(self, event: EventName) -> bool:
        settings = self.settings
        url = f"{(settings.router_url or '').rstrip('/')}{settings.url(event)}public/current.json"
        deadline = self.reactor.seconds() + settings.ready_timeout
        while True:
            try:
                if await self.http.status(url) == 200:
                    return True
            except Exception as error:
                log.debug("{url} not yet: {error}", url=url, error=error)
            if self.reactor.seconds() >= deadline:
                return False
            await deferLater(self.reactor, settings.poll_interval, lambda: None)

    # -- plumbing ------------------------------------------------------------------------

    def _locked(self, steps: Callable[[], Awaitable[T]]) -> Deferred[T]:
        async def run() -> T:
            return await steps()

        return self.lock.run(lambda: Deferred.fromCoroutine(run()))

    def report(self, stream: str, message: dict[str, Any]) -> None:
        self.latest[stream] = message
        self.publish(stream, message)


def _populate(e: EventName) -> Callable[[Any], None]:
    return lambda conn: populate_new_event(conn, e.name, e.date, e.location_name)
