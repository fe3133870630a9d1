"""The router's side of the preloaded spawner: keep one running, fork event tenants from it.

A :class:`Preloader` runs the spawner (:mod:`showcase.tenants.spawner`) as a
child of the router: started through the launcher like every child (own
process group, SIGTERM when the router dies), its output logged as source
``spawner``, restarted with a growing delay when it dies, replaced on reload
(the old one *retires*: it forks no more and exits once its children have),
and stopped last on shutdown.  :meth:`Preloader.launch` is a
:data:`~showcase.tenants.instance.Launch`: with a spawner ready it asks for a
fork, otherwise it spawns directly, so a tenant always starts.

How a forked tenant looks like any other to the supervisor
(:class:`~showcase.tenants.forked.ForkedProcess`):

* **Output.**  The router makes the child's stdout and stderr pipes itself and
  sends their write ends with the fork request (``SCM_RIGHTS``); it reads the
  read ends exactly as Twisted reads a spawned child's pipes.
* **Exit.**  The spawner reports each child's raw wait status the moment it
  reaps it.  The ``forked`` reply carries a pidfd of the child: if the spawner
  dies first, the router watches that instead (exit seen at once, status unknown).
* **Stop.**  The child leads its own session, so SIGTERM/SIGKILL go to its
  group, by pid, as for a spawned child; a stop asked for before the spawner
  reported the pid is delivered when it does.
* **Router death.**  The child watches the router's lifeline pipe (the router
  holds the only write end: EOF means the router is gone), and the spawner,
  which gets SIGTERM from the kernel then, ends its children's groups too.
* **Fallback.**  If the spawner refuses or is lost before it forked, the
  tenant is spawned directly instead; ``started_via`` says which happened.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from collections.abc import Mapping, Sequence
from itertools import count
from typing import Any

from twisted.internet.defer import Deferred, gatherResults, succeed
from twisted.internet.interfaces import IFileDescriptorReceiver, IProcessProtocol
from twisted.internet.protocol import Factory, ProcessProtocol, Protocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from showcase.tenants.forked import ForkedProcess
from showcase.tenants.instance import Kill, Launch
from showcase.tenants.readiness import DelayedCall, Output, cancel_call
from showcase.tenants.spawn import signal_group, spawn
from showcase.tenants.spawner import EX_UNAVAILABLE, LineBuffer, encode

SPAWNER_ARGV = (sys.executable, "-m", "showcase.tenants.spawner")
SOURCE = "spawner"
"""The name the spawner's own output is logged under."""

STOP_GRACE = 10.0
"""Seconds a spawner gets after SIGTERM (it gives its children 5) before SIGKILL."""

RESTART_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
"""Seconds before restarting a spawner that died, by how many died in a row."""

log = Logger()


@implementer(IFileDescriptorReceiver)
class _Control(Protocol):
    """The router's end of the control socket: JSON lines, descriptors alongside."""

    transport: Any

    def __init__(self, link: SpawnerLink) -> None:
        self._link = link
        self._buffer = LineBuffer()
        self._fds: list[int] = []

    def fileDescriptorReceived(self, descriptor: int) -> None:
        self._fds.append(descriptor)

    def dataReceived(self, data: bytes) -> None:
        fds, self._fds = self._fds, []
        try:
            messages = list(self._buffer.feed(data, fds))
        except ValueError as e:
            log.error("the spawner sent garbage ({error}); hanging up on it", error=e)
            self.transport.abortConnection()
            return
        for message, given in messages:
            try:
                self._link.message(message, given)
            except Exception:
                log.failure("spawner message {message} could not be handled", message=message)
            finally:
                for fd in given:  # whatever the message did not take
                    os.close(fd)

    def send(self, message: Mapping[str, Any], fds: Sequence[int] = ()) -> None:
        for fd in fds:
            self.transport.sendFileDescriptor(fd)
        self.transport.write(encode({**message, "fds": len(fds)} if fds else message))

    def connectionLost(self, reason: Failure | None = None) -> None:
        self._buffer.close()
        for fd in self._fds:
            os.close(fd)
        self._link.control_lost()


class SpawnerLink(ProcessProtocol):
    """One spawner process: its control connection and the children it forked."""

    def __init__(self, preloader: Preloader) -> None:
        self._preloader = preloader
        self.state = "starting"  # -> ready -> retiring
        self.pid: int | None = None
        self._control: _Control | None = None  # None once the connection is lost
        self._ids = count(1)
        self._asked: dict[int, ForkedProcess] = {}
        self._children: dict[int, ForkedProcess] = {}
        self.reaped = False
        self.exit_code: int | None = None
        self._stop_waiters: list[Deferred[None]] = []
        self._kill_call: DelayedCall | None = None

    def start(self) -> None:
        p = self._preloader
        ours, theirs = socket.socketpair()
        try:
            fds: dict[int, str | int] = {0: "w", 1: "r", 2: "r", 3: theirs.fileno()}
            fds[4] = p.lifeline
            transport = spawn(p.reactor, self, p.argv, p.env, None, fds)
        finally:
            theirs.close()
        self.pid = transport.pid
        ours.setblocking(False)
        control = _Control(self)
        p.reactor.adoptStreamConnection(ours.fileno(), socket.AF_UNIX, _OneProtocol(control))
        ours.close()
        self._control = control

    def fork(self, child: ForkedProcess, tenant: str) -> None:
        assert self._control is not None and self.state == "ready"
        request = next(self._ids)
        self._asked[request] = child
        message = {
            "op": "spawn",
            "id": request,
            "tenant": tenant,
            "argv": child.argv,
            "env": child.env,
            "cwd": child.cwd,
        }
        self._control.send(message, child.request_fds)

    def retire(self) -> None:
        """Fork no more; the spawner exits once every child it has has exited."""
        if self.state in ("starting", "ready") and self._control is not None:
            self._control.send({"op": "retire"})
            self.state = "retiring"

    def stop(self) -> Deferred[None]:
        """SIGTERM to the spawner (it ends its children too), SIGKILL after
        :data:`STOP_GRACE` s; fires once it is reaped."""
        if self.reaped or self.pid is None:
            return succeed(None)
        d: Deferred[None] = Deferred()
        self._stop_waiters.append(d)
        if self._kill_call is None:
            self._preloader.kill(self.pid, signal.SIGTERM)
            self._kill_call = self._preloader.reactor.callLater(
                STOP_GRACE, self._preloader.kill, self.pid, signal.SIGKILL
            )
        return d

    # -- the control channel -----------------------------------------------------

    def message(self, message: dict[str, Any], fds: list[int]) -> None:
        """Act on one message; descriptors it takes are removed from ``fds``."""
        op = message.get("op")
        if op == "hello":
            log.info(
                "spawner ready: pid {pid}, preloaded {app} in {ms:.0f} ms",
                pid=message["pid"],
                app=message["app"],
                ms=message["prepare_ms"],
            )
            if self.state == "starting":
                self.state = "ready"
                self._preloader.link_ready(self)
        elif op == "forked":
            child = self._asked.pop(message["id"])
            self._children[message["id"]] = child
            child.forked(int(message["pid"]), fds.pop() if fds else None)
        elif op == "refused":
            self._asked.pop(message["id"]).not_forked(str(message.get("error")))
        elif op == "exited":
            self._children.pop(message["id"]).exited(int(message["status"]))

    def control_lost(self) -> None:
        self._control = None
        asked, self._asked = self._asked, {}
        children, self._children = self._children, {}
        for child in asked.values():
            child.not_forked("the spawner is gone")
        for child in children.values():
            child.spawner_lost()
        self._preloader.link_lost(self)

    # -- the spawner process itself -------------------------------------------------

    def outReceived(self, data: bytes) -> None:
        self._preloader.output(SOURCE, "stdout", data)

    def errReceived(self, data: bytes) -> None:
        self._preloader.output(SOURCE, "stderr", data)

    def processExited(self, reason: Failure) -> None:
        if self.pid is not None:  # anything it left in its group
            self._preloader.kill(self.pid, signal.SIGKILL)

    def processEnded(self, reason: Failure) -> None:
        self.reaped = True
        self.exit_code = getattr(reason.value, "exitCode", None)
        cancel_call(self._kill_call)
        self._kill_call = None
        self._preloader.link_ended(self, reason)
        waiters, self._stop_waiters = self._stop_waiters, []
        for d in waiters:
            d.callback(None)


class _OneProtocol(Factory):
    noisy = False

    def __init__(self, protocol: Protocol) -> None:
        self._protocol = protocol

    def buildProtocol(self, addr: Any) -> Protocol:
        return self._protocol


class Preloader:
    """Keeps a spawner running while wanted; :meth:`launch` forks through it when it can."""

    def __init__(
        self,
        reactor: Any,
        output: Output,
        env: Mapping[str, str],
        kill: Kill = signal_group,
        argv: Sequence[str] = SPAWNER_ARGV,
        direct: Launch = spawn,
    ) -> None:
        self.reactor = reactor
        self.output = output
        self.env = dict(env)
        self.kill = kill
        self.argv = list(argv)
        self.direct = direct
        self.current: SpawnerLink | None = None  # ready for forks
        self.starting: SpawnerLink | None = None
        self.links: set[SpawnerLink] = set()  # every spawner not yet reaped
        self.wanted = False
        self._deaths = 0  # in a row, without a hello in between
        self._restart: DelayedCall | None = None
        self._lifeline: tuple[int, int] | None = None

    @property
    def lifeline(self) -> int:
        """The read end of the pipe whose write end only the router holds (EOF: it died)."""
        if self._lifeline is None:
            self._lifeline = os.pipe()
        return self._lifeline[0]

    def start(self) -> None:
        """Want a spawner: start one unless one is running or starting."""
        self.wanted = True
        if self.current is None and self.starting is None and self._restart is None:
            self._start_link()

    def replace(self) -> None:
        """New code on disk: retire the spawners there are and start a new one."""
        self.retire()
        self.start()

    def retire(self) -> None:
        """Stop forking; running spawners exit once their children have."""
        self.wanted = False
        cancel_call(self._restart)
        self._restart = None
        for link in list(self.links):
            link.retire()
        self.current = self.starting = None

    def stop(self) -> Deferred[None]:
        """SIGTERM every spawner (after the tenants were stopped); fires once all are reaped."""
        self.retire()
        done = gatherResults([link.stop() for link in list(self.links)])
        return done.addCallback(lambda _: self._close_lifeline())

    def launch(
        self,
        reactor: Any,
        protocol: IProcessProtocol,
        argv: Sequence[str],
        env: Mapping[str, str],
        cwd: str | None,
    ) -> Any:
        """A :data:`~showcase.tenants.instance.Launch`: fork if a spawner is ready, else spawn."""
        link = self.current
        if link is None or link.state != "ready":
            return self.direct(reactor, protocol, argv, env, cwd)
        child = ForkedProcess(reactor, protocol, argv, env, cwd, self.kill, self.direct)
        link.fork(child, env.get("SHOWCASE_TENANT", ""))
        return child

    # -- what links report --------------------------------------------------------

    def link_ready(self, link: SpawnerLink) -> None:
        self._deaths = 0
        if self.starting is link and self.wanted:
            self.starting, self.current = None, link
        else:
            link.retire()

    def link_lost(self, link: SpawnerLink) -> None:
        if self.current is link:
            self.current = None
        if self.starting is link:
            self.starting = None

    def link_ended(self, link: SpawnerLink, reason: Failure) -> None:
        self.links.discard(link)
        self.link_lost(link)
        if link.state == "retiring" or not self.wanted:
            log.info("spawner pid {pid} exited ({why})", pid=link.pid, why=reason.value)
            return
        if link.exit_code == EX_UNAVAILABLE:
            log.warn("preloading is unavailable here; event tenants start directly")
            self.wanted = False
            return
        delay = RESTART_DELAYS[min(self._deaths, len(RESTART_DELAYS) - 1)]
        self._deaths += 1
        log.error(
            "spawner pid {pid} died ({why}); tenants start directly; restarting it in {delay}s",
            pid=link.pid,
            why=reason.value,
            delay=delay,
        )
        if self.current is None and self.starting is None and self._restart is None:
            self._restart = self.reactor.callLater(delay, self._restarted)

    def _restarted(self) -> None:
        self._restart = None
        if self.wanted:
            self._start_link()

    def _start_link(self) -> None:
        link = SpawnerLink(self)
        try:
            link.start()
        except Exception:
            log.failure("cannot start the spawner; event tenants start directly")
            return
        self.links.add(link)
        self.starting = link

    def _close_lifeline(self) -> None:
        lifeline, self._lifeline = self._lifeline, None
        if lifeline is not None:
            for fd in lifeline:
                os.close(fd)
