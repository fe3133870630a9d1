"""The preloaded spawner: imports the event app once, then forks one child per tenant start.

Run by the router (:mod:`showcase.tenants.preload`) as
``python -m showcase.tenants.spawner [--app MODULE]``, through the launcher, so
it leads its own process group and gets SIGTERM when the router dies.  At start
it calls ``MODULE.preload()`` (default :mod:`showcase.event.__main__`), which
imports everything and returns ``serve(env, reactor)``; it opens no database,
starts no reactor and no thread.  Each fork request then costs a ``fork()``
instead of an interpreter start and its imports (``ref/cold-start.md``).

File descriptors it is given: 0-2 as any managed child (its own output goes to
the router's log as ``[spawner.stderr]``); **3** a unix stream socket to the
router (the control channel); **4** the read end of the router's *lifeline*
pipe, whose only write end the router holds: it reads EOF once the router is gone.

Control protocol: JSON objects, one per line (UTF-8).  File descriptors travel
as ``SCM_RIGHTS`` ancillary data with the bytes of the line that counts them
in ``"fds"`` (sent with or before those bytes, never after).

router → spawner
    ``{"op": "spawn", "id": 7, "tenant": NAME, "argv": [...], "env": {...},
    "cwd": DIR | null, "fds": 2}`` with the write ends of the child's stdout and
    stderr pipes;  ``{"op": "retire"}``: fork no more, exit once every child
    has been reported.
spawner → router
    ``{"op": "hello", "pid": P, "app": MODULE, "prepare_ms": T}`` once preloaded;
    ``{"op": "forked", "id": 7, "pid": C, "fds": 1}`` with a pidfd of the child,
    sent once the child leads its own session;
    ``{"op": "refused", "id": 7, "error": TEXT}``: nothing was started;
    ``{"op": "exited", "id": 7, "pid": C, "status": S}`` as soon as the child is
    reaped (``S`` is the raw ``waitpid`` status).

A child (see :func:`_become_child`): default signal handlers and no wakeup fd,
``setsid()``, stdin ``/dev/null``, the given stdout/stderr, the lifeline as fd 3
and no other inherited descriptor, fresh ``random`` state, the request's
environment, working directory and argv, the collector back on, and a new
reactor (klein builds the global one at import, in the spawner, so the child
closes that one's epoll and waker and installs a fresh one in its place).  It
stops its reactor when the lifeline reads EOF.  It has no parent-death signal
on purpose: it outlives a crash of the spawner (the router then watches its
pidfd); SIGTERM to the spawner (the router's stop, or its death) ends every child.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import json
import os
import random
import select
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from typing import Any

DEFAULT_APP = "showcase.event.__main__"
CONTROL_FD = 3
LIFELINE_FD = 4
GRACE = 5.0
"""Seconds children get between SIGTERM and SIGKILL when the spawner shuts down."""

EX_UNAVAILABLE = 69
"""Exit status: preloading cannot work here (no pidfd support); do not restart."""

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

Serve = Callable[[Mapping[str, str], Any], None]


def encode(message: Mapping[str, Any]) -> bytes:
    """One protocol message as a line."""
    return json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\n"


class LineBuffer:
    """Splits received bytes into messages and pairs them with the descriptors they carry."""

    def __init__(self) -> None:
        self._data = b""
        self._fds: list[int] = []

    def feed(self, data: bytes, fds: list[int]) -> Iterator[tuple[dict[str, Any], list[int]]]:
        """Every complete message with its descriptors; a malformed line raises ValueError."""
        self._fds.extend(fds)
        self._data += data
        *lines, self._data = self._data.split(b"\n")
        for line in lines:
            message = json.loads(line)
            if not isinstance(message, dict):
                raise ValueError(f"not a message: {line[:80]!r}")
            count = int(message.get("fds", 0))
            if count > len(self._fds):
                raise ValueError(f"message counts {count} descriptors, {len(self._fds)} came")
            taken, self._fds = self._fds[:count], self._fds[count:]
            yield message, taken

    def close(self) -> None:
        """Close descriptors received for messages that never completed."""
        for fd in self._fds:
            os.close(fd)
        self._fds = []


class Terminate(Exception):
    """SIGTERM/SIGINT/SIGHUP reached the spawner."""


def _raise_terminate(signum: int, frame: object) -> None:
    raise Terminate(signum)


def reactor_references(reactor: object) -> list[tuple[object, str]]:
    """Where imported code holds the global reactor or one of its bound methods.

    Module globals and class attributes of loaded modules; the child rebinds
    each to its fresh reactor (only ``klein._app`` here, measured).
    """
    found: list[tuple[object, str]] = []
    for name, module in list(sys.modules.items()):
        namespace = getattr(module, "__dict__", None)
        if name == "twisted.internet" or not isinstance(namespace, dict):
            continue
        for attr, value in list(namespace.items()):
            if value is reactor:
                found.append((module, attr))
            elif isinstance(value, type) and value.__module__ == name:
                found.extend(
                    (value, key)
                    for key, member in vars(value).items()
                    if getattr(member, "__self__", None) is reactor
                )
    return found


def release_reactor() -> None:
    """Close the descriptors of the global reactor built in the spawner (its epoll, its waker)."""
    old: Any = sys.modules.get("twisted.internet.reactor")
    if old is not None:
        old._poller.close()
        if old.waker is not None:
            old.waker.connectionLost(None)


def fresh_reactor(refs: list[tuple[object, str]]) -> Any:
    """Install a new global reactor in place of the released one; rebind ``refs`` to it."""
    from twisted.internet.epollreactor import EPollReactor
    from twisted.internet.main import installReactor

    old: Any = sys.modules.pop("twisted.internet.reactor", None)
    reactor = (EPollReactor if old is None else type(old))()
    installReactor(reactor)
    for holder, attr in refs:
        value = getattr(holder, attr)
        setattr(holder, attr, reactor if value is old else getattr(reactor, value.__name__))
    return reactor


def watch_lifeline(reactor: Any, fd: int) -> None:
    """Stop ``reactor`` when ``fd`` (the router's lifeline) reads EOF: the router is gone."""
    from twisted.internet import fdesc
    from twisted.internet.abstract import FileDescriptor

    class Lifeline(FileDescriptor):
        def fileno(self) -> int:
            return fd

        def doRead(self) -> Any:
            return fdesc.readFromFD(fd, lambda data: None)

        def connectionLost(self, reason: Any) -> None:
            super().connectionLost(reason)
            if reactor.running:
                reactor.stop()

    fdesc.setNonBlocking(fd)
    Lifeline(reactor).startReading()


class Spawner:
    """The fork server: reads requests on ``control``, forks, reports exits."""

    def __init__(self, control: socket.socket, lifeline: int, serve: Serve, app: str) -> None:
        self.control = control
        self.lifeline = lifeline
        self.serve = serve
        self.app = app
        self.retiring = False
        self.children: dict[int, int] = {}  # pid -> request id
        self.pidfds: dict[int, int] = {}  # pidfd -> pid
        self.buffer = LineBuffer()
        self.poller = select.poll()
        self.refs: list[tuple[object, str]] = []

    def send(self, message: Mapping[str, Any], fds: tuple[int, ...] = ()) -> None:
        data = encode({**message, "fds": len(fds)} if fds else message)
        if fds:
            sent = socket.send_fds(self.control, [data], list(fds))
            data = data[sent:]
        self.control.sendall(data)

    def run(self, prepare_ms: float) -> None:
        """Serve requests until retired with no children left, the router is gone, or SIGTERM."""
        reactor = sys.modules.get("twisted.internet.reactor")
        self.refs = reactor_references(reactor) if reactor is not None else []
        gc.collect()
        gc.freeze()
        self.poller.register(self.control, select.POLLIN)
        self.send({"op": "hello", "pid": os.getpid(), "app": self.app, "prepare_ms": prepare_ms})
        try:
            while not (self.retiring and not self.children):
                events = self.poller.poll()
                for fd, _ in events:
                    if fd == self.control.fileno() and not self._read_control():
                        return
                self._reap()
        except Terminate:
            pass
        finally:
            self._end_children()

    def _read_control(self) -> bool:
        """Handle what the router sent; False once it hung up."""
        try:
            data, fds, _, _ = socket.recv_fds(self.control, 65536, 16, socket.MSG_CMSG_CLOEXEC)
        except InterruptedError:
            return True
        if not data:
            return False
        for message, given in self.buffer.feed(data, fds):
            if message.get("op") == "spawn":
                self._spawn(message, given)
            elif message.get("op") == "retire":
                self.retiring = True
            for fd in given:  # whatever a message did not use
                os.close(fd)
        return True

    def _spawn(self, message: dict[str, Any], fds: list[int]) -> None:
        request = int(message["id"])
        if self.retiring or len(fds) != 2:
            self.send({"op": "refused", "id": request, "error": "retiring or no stdout/stderr"})
            return
        ready_r, ready_w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        gc.freeze()
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            pid = os.fork()
        except OSError as e:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            os.close(ready_r)
            os.close(ready_w)
            self.send({"op": "refused", "id": request, "error": f"fork: {e.strerror}"})
            return
        if pid == 0:
            _become_child(self, message, fds, ready_w, mask)  # never returns
        os.close(ready_w)
        os.read(ready_r, 1)  # EOF once the child leads its own session
        os.close(ready_r)
        pidfd = os.pidfd_open(pid)
        self.children[pid] = request
        self.pidfds[pidfd] = pid
        self.poller.register(pidfd, select.POLLIN)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a SIGTERM now also ends this child
        self.send({"op": "forked", "id": request, "pid": pid}, (pidfd,))

    def _reap(self) -> None:
        for pidfd, pid in list(self.pidfds.items()):
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, status = pid, 255 << 8
            if done == 0:
                continue
            self.poller.unregister(pidfd)
            os.close(pidfd)
            del self.pidfds[pidfd]
            request = self.children.pop(pid)
            self.send({"op": "exited", "id": request, "pid": pid, "status": status})

    def _end_children(self) -> None:
        """SIGTERM every child's group, SIGKILL what is left after :data:`GRACE` seconds."""
        with contextlib.suppress(KeyError, ValueError):
            self.poller.unregister(self.control)  # at EOF it would make poll() spin
        for pid in self.children:
            _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + GRACE
        while self.children and time.monotonic() < deadline:
            try:
                self.poller.poll(100)
                self._reap()
            except (Terminate, OSError):
                pass
        for pid in self.children:
            _signal_group(pid, signal.SIGKILL)


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def _become_child(
    spawner: Spawner, message: Mapping[str, Any], fds: list[int], ready_w: int, mask: Any
) -> None:
    """Turn the forked copy of the spawner into the tenant; exits, never returns."""
    code = 1
    try:
        for signum in (*STOP_SIGNALS, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.set_wakeup_fd(-1)
        os.setsid()
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        spawner.control.close()
        release_reactor()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(fds[0], 1)
        os.dup2(fds[1], 2)
        os.dup2(spawner.lifeline, CONTROL_FD)
        os.closerange(CONTROL_FD + 1, os.sysconf("SC_OPEN_MAX"))  # ready_w too: parent goes on
        random.seed()
        os.environ.clear()
        os.environ.update(message["env"])
        if message.get("cwd"):
            os.chdir(message["cwd"])
        sys.argv = list(message["argv"])
        gc.enable()
        reactor = fresh_reactor(spawner.refs)
        watch_lifeline(reactor, CONTROL_FD)
        spawner.serve(os.environ, reactor)
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # nothing is left to report it to
                stream.flush()
        os._exit(code)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The preloaded spawner (run by the router).")
    parser.add_argument("--app", default=DEFAULT_APP, help="module with preload() -> serve")
    args = parser.parse_args(argv)
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (AttributeError, OSError):
        sys.stderr.write("spawner: this system has no pidfd_open; tenants start directly\n")
        sys.exit(EX_UNAVAILABLE)
    for signum in STOP_SIGNALS:
        signal.signal(signum, _raise_terminate)
    started = time.monotonic()
    try:
        serve = importlib.import_module(args.app).preload()
        control = socket.socket(fileno=CONTROL_FD)
        control.setblocking(True)
        spawner = Spawner(control, LIFELINE_FD, serve, args.app)
        spawner.run((time.monotonic() - started) * 1000)
    except Terminate:
        pass


if __name__ == "__main__":
    main()
