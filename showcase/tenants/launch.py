"""Exec a command in its own process group, bound to the life of the router.

Run as ``python -I -S launch.py ROUTER_PID COMMAND ARGS...`` (by file path, so
no site-packages are imported).  It makes the child a session leader (so the
router can stop it and everything it starts with one ``killpg``), asks Linux
to send it SIGTERM when the router dies (``PR_SET_PDEATHSIG``, which survives
``exec``), checks the router did not die before that, and replaces itself with
the command.  Keep it import-light: it runs on every tenant start.
"""

import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> None:
    router_pid = int(argv[1])
    command = argv[2:]
    os.setsid()
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != router_pid:
        sys.exit(0)  # the router is already gone
    try:
        os.execvp(command[0], command)
    except OSError as e:
        sys.stderr.write(f"cannot run {command[0]!r}: {e.strerror}\n")
        sys.exit(127)


if __name__ == "__main__":
    main(sys.argv)
