"""The endpoints the router answers itself, with no tenant or origin behind them.

:class:`LocalEndpoints` carries out the dispatch decisions that end here: the
loopback broadcast endpoint (publish to the cable hub), the loopback
tenant-stop endpoint and the holds it places (``showcase restore``), the log
sink's routes, and appliance-mode PDFs.  The state a caller sets from outside
(``hub``, ``logsink``, ``printer``) stays on :class:`~showcase.router.router.Router`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from twisted.internet.defer import CancelledError, gatherResults
from twisted.python.failure import Failure

from .appliance import Printer, PrintJob
from .dispatch import ToLogs, ToTenantStop, text
from .exchange import Exchange
from .message import Reply

if TYPE_CHECKING:
    from .router import Router


class LocalEndpoints:
    """What :class:`~showcase.router.router.Router` answers without proxying."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.log = router.log  # logged as the router's own events, as before the split
        self.held: dict[str, float] = {}  # tenant → until when it may not start (restore)

    # -- the broadcast endpoint: publish to the cable hub ---------------------------------

    def broadcast(self, ex: Exchange) -> None:
        ex.kind = "broadcast"
        chunks: list[bytes] = []
        ex.take_body(chunks.append, lambda: self._broadcast(ex, b"".join(chunks)))

    def _broadcast(self, ex: Exchange, body: bytes) -> None:
        reply = self.router.reply
        try:
            message = json.loads(body)
        except ValueError:
            reply(ex, text(400, "Bad Request: the body is not JSON", "broadcast"))
            return
        stream = message.get("stream") if isinstance(message, dict) else None
        if not isinstance(stream, str) or not stream:
            reply(ex, text(400, "Bad Request: no stream", "broadcast"))
            return
        ex.destination = f"cable:{stream}"
        hub = self.router.hub
        if hub is None:
            reply(ex, text(503, "Live updates are off (cable disabled)", "broadcast"))
            return

        def sent(receivers: int) -> None:
            if not ex.gone:
                reply(ex, Reply(200, (), b"", kind="broadcast", destination=ex.destination))

        def failed(failure: Failure) -> None:
            self.log.warn("broadcast to {stream} failed: {e}", stream=stream, e=failure.value)
            if not ex.gone:
                reply(ex, text(503, "Service Unavailable: the bus is down", "broadcast"))

        hub.publish(stream, message.get("data")).addCallbacks(sent, failed)

    # -- stopping a tenant on request (showcase restore) ---------------------------------

    def holds(self, name: str) -> bool:
        """Whether ``name`` may not start yet (an expired hold is forgotten)."""
        if name not in self.held:
            return False
        if self.router.reactor.seconds() < self.held[name]:
            return True
        del self.held[name]
        return False

    def stop_tenants(self, ex: Exchange, decision: ToTenantStop) -> None:
        """Stop the tenants of a db (and hold them for ``decision.hold`` s); answer when reaped."""
        router = self.router
        ex.kind = "control"
        ex.destination = f"stop:{decision.db}"
        until = router.reactor.seconds() + decision.hold
        stops = []
        for name in decision.tenants:
            if decision.hold > 0:
                self.held[name] = until
            else:
                self.held.pop(name, None)
            try:
                stops.append(router.supervisor.stop(name, "asked to stop"))
            except KeyError:  # removed by a reload a moment ago
                continue

        def answer(stopped: list[bool]) -> None:
            body = {"stopped": any(stopped), "tenants": list(decision.tenants)}
            headers = ((b"content-type", b"application/json"),)
            if not ex.gone:
                router.reply(ex, Reply(200, headers, json.dumps(body).encode(), kind="control"))

        def failed(failure: Failure) -> None:
            self.log.failure("stopping the tenants of {db} failed", failure, db=decision.db)
            if not ex.gone:
                router.reply(ex, text(500, "Internal Server Error: the stop failed", "control"))

        gatherResults(stops, consumeErrors=True).addCallbacks(answer, failed)

    # -- the log sink (a logger section) ------------------------------------------------

    def logs(self, ex: Exchange, decision: ToLogs) -> None:
        router = self.router
        if router.logsink is None:  # the logger section came with a reload
            router.reply(ex, text(503, "The log sink starts at the next restart", "logs"))
            return
        router.logsink.handle(ex, decision.action, router)

    # -- appliance mode: PDFs of events held elsewhere ---------------------------------------

    def print_pdf(self, ex: Exchange, job: PrintJob) -> None:
        router = self.router
        if router.printer is None:
            router.printer = Printer(router.reactor)
        ex.kind = "appliance"
        ex.destination = f"region={job.region}"
        printing = router.printer.print(job)
        ex.on_gone = printing.cancel

        def done(answer: Reply) -> None:
            if not ex.gone:
                router.reply(ex, answer)

        printing.addCallback(done)
        printing.addErrback(lambda failure: failure.trap(CancelledError))
