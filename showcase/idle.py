"""Machine idle: suspend or stop the Fly machine when no request came for a while.

``server.idle{action, timeout}`` (spec/router-config.md).  The router tells
:class:`MachineIdle` when each request starts and ends.  With nothing in flight
for ``timeout``, it runs the ``server.idle`` hooks (a failure is logged; the
action is still taken), then asks the Fly machines API, over its unix socket,
to ``suspend`` or ``stop`` this machine (:class:`MachinesAPI`).  A request
that arrived while the idle hooks ran (even one already answered) cancels the
action: the timeout starts again.

After an idle action the process may be frozen (suspend) and thawed later:
the first request afterwards runs the ``server.resume`` hooks, and every
request that arrives meanwhile waits for them (:meth:`MachineIdle.gate`).  Hooks
that fail in any way (even with an exception) are logged and count as done: no
request is left waiting.

States: ``active`` → (timer) ``idling`` (hooks, API call) → ``idle`` →
(first request) ``resuming`` (resume hooks) → ``active``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.iweb import IAgentEndpointFactory
from zope.interface import implementer

from showcase.config.model import Hook, Idle

RunHooks = Callable[[tuple[Hook, ...], str], "Deferred[bool]"]
CallAPI = Callable[[str], "Deferred[bool]"]

FLY_API_SOCKET = "/.fly/api"
API_TIMEOUT = 10.0


class MachineIdle:
    log = Logger()

    def __init__(
        self,
        reactor: Any,
        idle: Idle,
        hooks: Callable[[], tuple[tuple[Hook, ...], tuple[Hook, ...]]],
        run_hooks: RunHooks,
        call_api: CallAPI,
    ) -> None:
        """``hooks()`` gives the current (idle, resume) hooks (they change on reload)."""
        self.reactor = reactor
        self.idle = idle
        self.hooks = hooks
        self.run_hooks = run_hooks
        self.call_api = call_api
        self.state = "active"
        self.in_flight = 0
        self._timer: Any = None
        self._interrupted = False  # a request came while the idle hooks ran
        self._resumed: Deferred[None] | None = None
        self._arm()

    @property
    def enabled(self) -> bool:
        return self.idle.action is not None

    def configure(self, idle: Idle) -> None:
        """A reload: new action/timeout, timer re-armed."""
        self.idle = idle
        self._cancel()
        self._arm()

    def stop(self) -> None:
        """The service stops: no more idle actions."""
        self.idle = Idle()
        self._cancel()

    # -- requests ------------------------------------------------------------------

    def gate(self) -> Deferred[None] | None:
        """None to go on now, else a Deferred that fires once the resume hooks are done."""
        if self.state == "idle":
            self._resume()
        return self._resumed

    def started(self) -> None:
        self.in_flight += 1
        if self.state == "idling":
            self._interrupted = True
        self._cancel()

    def finished(self) -> None:
        self.in_flight = max(0, self.in_flight - 1)
        if self.in_flight == 0:
            self._arm()

    # -- timer -------------------------------------------------------------------------

    def _arm(self) -> None:
        if self.enabled and self.state == "active" and self.in_flight == 0:
            self._cancel()
            self._timer = self.reactor.callLater(self.idle.timeout, self._fire)

    def _cancel(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _fire(self) -> None:
        self._timer = None
        if self.in_flight or self.state != "active" or self.idle.action is None:
            return
        self.state = "idling"
        self._interrupted = False
        action = self.idle.action
        self.log.info(
            "no request for {s}s: machine goes idle ({action})", s=self.idle.timeout, action=action
        )
        idle_hooks, _ = self.hooks()
        d = self.run_hooks(idle_hooks, "server.idle") if idle_hooks else succeed(True)
        d.addErrback(self._hooks_failed, "server.idle")
        d.addCallback(lambda _ok: self._act(action))

    def _act(self, action: str) -> Deferred[None] | None:
        if self.in_flight or self._interrupted:
            self.log.info("a request arrived during the idle hooks; staying up")
            self.state = "active"
            self._interrupted = False
            self._arm()
            return None
        self.state = "idle"

        def done(ok: bool) -> None:
            if not ok:
                self.log.warn("the machines API did not {action} this machine", action=action)

        return self.call_api(action).addCallback(done)

    def _resume(self) -> None:
        self.state = "resuming"
        resumed: Deferred[None] = Deferred()
        self._resumed = resumed
        self.log.info("first request after idle: running the resume hooks")
        _, resume_hooks = self.hooks()
        d = self.run_hooks(resume_hooks, "server.resume") if resume_hooks else succeed(True)
        d.addErrback(self._hooks_failed, "server.resume")

        def done(_ok: bool) -> None:
            self.state = "active"
            self._resumed = None
            resumed.callback(None)
            self._arm()

        d.addCallback(done)

    def _hooks_failed(self, failure: Failure, label: str) -> bool:
        self.log.failure("{label} hooks failed", failure, label=label)
        return False


class MachinesAPI:
    """``POST /v1/apps/<app>/machines/<id>/<action>`` on Fly's machines API unix socket."""

    log = Logger()

    def __init__(
        self, reactor: Any, app: str | None, machine: str | None, socket: str = FLY_API_SOCKET
    ) -> None:
        self.reactor = reactor
        self.app = app
        self.machine = machine
        self.socket = socket

    @classmethod
    def from_environ(cls, reactor: Any, environ: dict[str, str]) -> MachinesAPI:
        return cls(
            reactor,
            environ.get("FLY_APP_NAME"),
            environ.get("FLY_MACHINE_ID"),
            environ.get("SHOWCASE_FLY_API_SOCKET", FLY_API_SOCKET),
        )

    def __call__(self, action: str) -> Deferred[bool]:
        if not self.app or not self.machine:
            self.log.error(
                "server.idle: FLY_APP_NAME / FLY_MACHINE_ID not set; cannot {action} the machine",
                action=action,
            )
            return succeed(False)
        return Deferred.fromCoroutine(self._post(action))

    async def _post(self, action: str) -> bool:
        from treq.client import HTTPClient
        from twisted.web.client import Agent
        from twisted.web.http_headers import Headers

        agent = Agent.usingEndpointFactory(self.reactor, _UnixFactory(self.reactor, self.socket))
        client = HTTPClient(agent)
        url = f"http://flaps/v1/apps/{self.app}/machines/{self.machine}/{action}"
        try:
            posted = client.post(
                url, data=b"{}", headers=Headers({b"content-type": [b"application/json"]})
            )
            response = await posted.addTimeout(API_TIMEOUT, self.reactor)
            body = await response.content()
        except Exception as e:
            self.log.error("machines API {url} failed: {e}", url=url, e=e)
            return False
        if response.code >= 300:
            self.log.error(
                "machines API {url} answered {code}: {body}",
                url=url,
                code=response.code,
                body=_short(body),
            )
            return False
        self.log.info(
            "machines API: {action} requested for {machine}", action=action, machine=self.machine
        )
        return True


@implementer(IAgentEndpointFactory)
class _UnixFactory:
    """Every request goes to the one unix socket, whatever the URL's host."""

    def __init__(self, reactor: Any, path: str) -> None:
        self.reactor = reactor
        self.path = path

    def endpointForURI(self, uri: Any) -> Any:
        from twisted.internet.endpoints import UNIXClientEndpoint

        return UNIXClientEndpoint(self.reactor, self.path, timeout=API_TIMEOUT)


def _short(body: bytes) -> str:
    text = body[:200].decode("utf-8", "replace")
    try:
        return json.dumps(json.loads(text))
    except ValueError:
        return text
