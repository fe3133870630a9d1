"""A tenant child the preloaded spawner forked, as the router holds it.

:class:`ForkedProcess` is the transport a
:class:`~showcase.tenants.instance.TenantProcess` gets from
:meth:`Preloader.launch <showcase.tenants.preload.Preloader.launch>`: it
behaves like the one Twisted's ``spawnProcess`` returns, for what the tenant
code uses.  The router makes the child's stdout and stderr pipes (their write
ends go to the spawner with the fork request) and reads them as Twisted reads a
spawned child's; the exit comes from the spawner's report, or, once the spawner
is gone, from the child's pidfd.  If the spawner never forks it, the tenant is
spawned directly and this object forwards to that process.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from twisted.internet.abstract import FileDescriptor
from twisted.internet.error import ProcessDone, ProcessTerminated
from twisted.internet.interfaces import IProcessProtocol
from twisted.internet.process import ProcessReader
from twisted.logger import Logger
from twisted.python.failure import Failure

from showcase.tenants.instance import Kill, Launch

log = Logger()


class SpawnerGone(Exception):
    """The tenant exited after its spawner died, so its exit status is unknown."""

    def __str__(self) -> str:
        return "exited (status unknown: its spawner had died)"


def exit_reason(status: int) -> Failure:
    """A raw ``waitpid`` status as Twisted reports a process's end."""
    if os.WIFEXITED(status):
        code, sig = os.WEXITSTATUS(status), None
    else:
        code, sig = None, os.WTERMSIG(status)
    if code or sig:
        return Failure(ProcessTerminated(code, sig, status))
    return Failure(ProcessDone(status))


class _PidfdWatch(FileDescriptor):
    """Calls ``on_exit()`` once the process behind ``pidfd`` has exited (it turns readable)."""

    def __init__(self, reactor: Any, pidfd: int, on_exit: Callable[[], None]) -> None:
        super().__init__(reactor)
        self._pidfd = pidfd
        self._on_exit = on_exit

    def fileno(self) -> int:
        return self._pidfd

    def doRead(self) -> None:
        self.stopReading()
        self._on_exit()


class _Discard:
    """Where the pipes of a fork that never happened report: nowhere."""

    def childDataReceived(self, fd: int, data: bytes) -> None:
        pass

    def childConnectionLost(self, fd: int, reason: Failure) -> None:
        pass


class ForkedProcess:
    """A tenant child asked of the spawner: the transport its TenantProcess holds.

    ``pid`` is None until the spawner reports the fork.  Output reaches the
    process protocol as ``childDataReceived(1 | 2, data)``; ``processExited``
    comes with the reported exit, ``processEnded`` once both pipes closed too,
    as Twisted does for a spawned child.  After a fallback it forwards to the
    directly spawned process instead.
    """

    def __init__(
        self,
        reactor: Any,
        protocol: IProcessProtocol,
        argv: Sequence[str],
        env: Mapping[str, str],
        cwd: str | None,
        kill: Kill,
        direct: Launch,
    ) -> None:
        self.started_via = "preload"
        self.argv, self.env, self.cwd = list(argv), dict(env), cwd
        self._reactor = reactor
        self._protocol = protocol
        self._kill = kill
        self._direct_launch = direct
        self._direct: Any = None
        self._pid: int | None = None
        self._pending_signal: int | None = None
        self._reason: Failure | None = None
        self._ended = False
        self._open_pipes = {1, 2}
        self._pidfd: int | None = None
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        self.request_fds: tuple[int, ...] = (out_w, err_w)
        self._readers = [
            ProcessReader(reactor, self, 1, out_r),
            ProcessReader(reactor, self, 2, err_r),
        ]
        protocol.makeConnection(self)  # type: ignore[arg-type]

    @property
    def pid(self) -> int | None:
        return self._direct.pid if self._direct is not None else self._pid

    def signalProcess(self, signum: int) -> None:
        """Signal the child's group; before its pid is known, as soon as it is."""
        if self.pid is not None:
            self._kill(self.pid, signum)
        elif self._pending_signal != signal.SIGKILL:
            self._pending_signal = signum

    # -- what the spawner link reports ---------------------------------------------

    def forked(self, pid: int, pidfd: int | None) -> None:
        self._close_request_fds()
        self._pid, self._pidfd = pid, pidfd
        self._deliver_pending()

    def not_forked(self, why: str) -> None:
        """The spawner refused or was lost before forking: spawn the tenant directly."""
        self._close_request_fds()
        for reader in self._readers:
            reader.proc = _Discard()
            reader.loseConnection()
            os.close(reader.fd)
        log.warn(
            "spawner could not fork {argv} ({why}): starting it directly", argv=self.argv, why=why
        )
        self.started_via = "spawn"
        try:
            self._direct = self._direct_launch(
                self._reactor, self._protocol, self.argv, self.env, self.cwd
            )
        except Exception as e:
            log.failure("cannot start {argv}", argv=self.argv)
            self._protocol.processExited(Failure(e))
            self._protocol.processEnded(Failure(e))
            return
        self._deliver_pending()

    def exited(self, status: int) -> None:
        self._exit(exit_reason(status))

    def spawner_lost(self) -> None:
        """The spawner died after the fork: learn the child's exit from its pidfd."""
        if self._reason is not None:
            return
        if self._pidfd is None:
            self._exit(Failure(SpawnerGone()))
            return
        _PidfdWatch(
            self._reactor, self._pidfd, lambda: self._exit(Failure(SpawnerGone()))
        ).startReading()

    # -- the pipes (ProcessReader calls these) ---------------------------------------

    def childDataReceived(self, fd: int, data: bytes) -> None:
        self._protocol.childDataReceived(fd, data)

    def childConnectionLost(self, fd: int, reason: Failure) -> None:
        os.close(self._readers[fd - 1].fd)
        self._open_pipes.discard(fd)
        self._protocol.childConnectionLost(fd)
        self._maybe_end()

    # -- helpers ---------------------------------------------------------------

    def _deliver_pending(self) -> None:
        signum, self._pending_signal = self._pending_signal, None
        if signum is not None and self.pid is not None:
            self._kill(self.pid, signum)

    def _exit(self, reason: Failure) -> None:
        if self._reason is not None:
            return
        self._reason = reason
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        self._protocol.processExited(reason)
        self._maybe_end()

    def _maybe_end(self) -> None:
        if self._reason is not None and not self._open_pipes and not self._ended:
            self._ended = True
            self._protocol.processEnded(self._reason)

    def _close_request_fds(self) -> None:
        fds, self.request_fds = self.request_fds, ()
        for fd in fds:
            os.close(fd)
