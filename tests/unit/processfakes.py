"""Fake child processes for unit tests: a reactor that records spawns and never forks.

:class:`FakeProcessReactor` is a ``MemoryReactorClock`` that also provides
``IReactorProcess``.  Each ``spawnProcess`` call creates a :class:`FakeProcess`,
connects the process protocol to it, and adds it to
:attr:`FakeProcessReactor.processes`.  The test then acts as the child: it
writes output on a file descriptor, closes stdout, exits (``processExited``)
and closes its pipes (``processEnded``).  :class:`KillLog` stands in for the
signal-sending function that the code under test takes as ``kill``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import AnyStr, cast

from twisted.internet.error import ProcessDone, ProcessTerminated
from twisted.internet.interfaces import IProcessProtocol, IProcessTransport, IReactorProcess
from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure
from zope.interface import implementer

from showcase.tenants.spawn import LAUNCHER

READY_LINE = b'{"ready": true, "port": 0}\n'


def _reason(code: int | None = 0, sig: int | None = None) -> Failure:
    """How a process with exit ``code`` or killed by ``sig`` ended, as Twisted reports it."""
    if code == 0 and sig is None:
        return Failure(ProcessDone(0))
    return Failure(ProcessTerminated(exitCode=None if sig else code, signal=sig))


class FakeProcess:
    """A spawned process (what spawnProcess returned) that the test plays by hand.

    As the transport it records what the code under test does: what it writes to
    stdin, whether it closed stdin, which producer it registered, and whether it
    closed the pipes.  The ``output``/``out``/``err``, ``close_stdout``,
    ``exit``, ``end`` and ``finish`` methods send the child's side to the
    process protocol.
    """

    def __init__(
        self,
        protocol: IProcessProtocol,
        args: Sequence[str],
        env: Mapping[str, str],
        path: str | None,
        pid: int,
    ) -> None:
        self.protocol = protocol
        self.args = list(args)
        self.env = dict(env)
        self.path = path
        self.pid = pid
        self.stdin = b""
        self.stdin_closed = False
        self.producer: object = None
        self.closed = False

    @property
    def argv(self) -> list[str]:
        """The command the launcher runs (after ``python -I -S launch.py ROUTER_PID``)."""
        return self.args[self.args.index(LAUNCHER) + 2 :]

    # -- the transport, as the code under test sees it ---------------------------------------

    def write(self, data: bytes) -> None:
        self.stdin += data

    def closeStdin(self) -> None:
        self.stdin_closed = True

    def registerProducer(self, producer: object, streaming: bool) -> None:
        self.producer = producer

    def unregisterProducer(self) -> None:
        self.producer = None

    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def loseConnection(self) -> None:
        self.closed = True

    # -- the child's side, played by the test --------------------------------------------------

    def output(self, fd: int, data: bytes) -> None:
        """The child writes ``data`` to file descriptor ``fd``."""
        self.protocol.childDataReceived(fd, data)

    def out(self, data: bytes) -> None:
        """The child writes ``data`` to stdout."""
        self.output(1, data)

    def err(self, data: bytes) -> None:
        """The child writes ``data`` to stderr."""
        self.output(2, data)

    def ready_line(self) -> None:
        """A tenant prints its ready line on stdout."""
        self.out(READY_LINE)

    def close_stdout(self) -> None:
        """The child's stdout reaches EOF."""
        self.protocol.childConnectionLost(1)

    def exit(self, code: int | None = 0, sig: int | None = None) -> None:
        """The process itself exits (its pipes may still be open): processExited."""
        self.protocol.processExited(_reason(code, sig))

    def end(self, code: int | None = 0, sig: int | None = None) -> None:
        """The pipes close too: processEnded."""
        self.protocol.processEnded(_reason(code, sig))

    def finish(self, code: int | None = 0, sig: int | None = None) -> None:
        """The process exits and its pipes close, in that order."""
        self.exit(code, sig)
        self.end(code, sig)


@implementer(IReactorProcess)
class FakeProcessReactor(MemoryReactorClock):
    """A MemoryReactorClock that records spawnProcess calls as :class:`FakeProcess` objects.

    Pids count up from ``first_pid``.  If ``refuse`` is set to an exception,
    ``spawnProcess`` raises it instead, like a failed fork or exec.
    """

    def __init__(self, first_pid: int = 1001) -> None:
        super().__init__()
        self.processes: list[FakeProcess] = []
        self.refuse: Exception | None = None
        self._next_pid = first_pid

    def spawnProcess(
        self,
        processProtocol: IProcessProtocol,
        executable: bytes | str,
        args: Sequence[bytes | str],
        env: Mapping[AnyStr, AnyStr] | None = None,
        path: bytes | str | None = None,
        uid: int | None = None,
        gid: int | None = None,
        usePTY: bool = False,
        childFDs: Mapping[int, int | str] | None = None,
    ) -> IProcessTransport:
        if self.refuse is not None:
            raise self.refuse
        process = FakeProcess(
            processProtocol,
            [os.fsdecode(arg) for arg in args],
            {os.fsdecode(k): os.fsdecode(v) for k, v in (env or {}).items()},
            None if path is None else os.fsdecode(path),
            self._next_pid,
        )
        self._next_pid += 1
        transport = cast(IProcessTransport, process)
        processProtocol.makeConnection(transport)
        self.processes.append(process)
        return transport


class KillLog:
    """Records the signals the code under test sends to process groups."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, int]] = []

    def __call__(self, pid: int, signum: int) -> bool:
        self.sent.append((pid, signum))
        return True
