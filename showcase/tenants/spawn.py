"""Start child processes the router owns: own process group, dies with the router.

Every child the router starts (tenants, managed processes, hooks) goes
through :func:`spawn`, which runs it under :mod:`showcase.tenants.launch`.
:func:`signal_group` sends a signal to the whole process group of a child.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Mapping, Sequence

from twisted.internet.interfaces import IProcessProtocol, IProcessTransport, IReactorProcess

LAUNCHER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "launch.py")


def launcher_argv(argv: Sequence[str]) -> list[str]:
    """The argv that runs ``argv`` under the launcher."""
    return [sys.executable, "-I", "-S", LAUNCHER, str(os.getpid()), *argv]


def spawn(
    reactor: IReactorProcess,
    protocol: IProcessProtocol,
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: str | None = None,
    child_fds: Mapping[int, str | int] | None = None,
) -> IProcessTransport:
    """Start ``argv`` with exactly ``env`` in ``cwd``; its pid leads its own group."""
    args = launcher_argv(argv)
    return reactor.spawnProcess(
        protocol,
        args[0],
        args,
        env=dict(env),
        path=cwd,
        childFDs=dict(child_fds) if child_fds else {0: "w", 1: "r", 2: "r"},
    )


def signal_group(pid: int, signum: int = signal.SIGTERM) -> bool:
    """Send ``signum`` to the process group led by ``pid``; False if it is gone."""
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        # Not (yet) a group leader: the launcher may not have called setsid.  Only
        # a process still in our own group is that child; a pid reused by another
        # process since is left alone.
        try:
            if os.getpgid(pid) != os.getpgrp():
                return False
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            return False
    return True
