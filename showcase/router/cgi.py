"""RFC 3875 CGI scripts at exact paths (``server.cgi_scripts``, Navigator §15).

A script matches a request by exact (rewritten) path and, when its ``method``
is set, by method.  :func:`refusal` applies ``allowed_users``;
:class:`CgiRun` runs the script directly (no shell) through
:func:`~showcase.tenants.spawn.spawn`, in its own directory, with the
environment of :func:`cgi_environ`.  The request body streams to its stdin;
its stdout is a header block (:func:`parse_cgi_head`) and a body streamed to
the client, both ways with backpressure.  Its stderr is logged line by line.

A script that outlives its ``timeout``, or writes a header block that cannot
be used, gets SIGTERM on its process group and SIGKILL :data:`KILL_AFTER`
seconds later; so does one whose client goes away.  Failing before a usable
header block is a 502; after it, the client connection is cut so the body is
seen truncated.  After a zero exit, ``succeeded`` is called (the router uses it
for ``reload_config``).
"""

from __future__ import annotations

import grp
import os
import pwd
import signal
from collections.abc import Callable, Mapping, Sequence

from twisted.internet.error import ProcessDone
from twisted.internet.interfaces import (
    IDelayedCall,
    IPushProducer,
    IReactorProcess,
    IReactorTime,
)
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from showcase.config.model import CgiScript, Hook
from showcase.tenants.hooks import describe_exit, reload_requested
from showcase.tenants.spawn import signal_group, spawn

from .auth import basic_credentials
from .cgi_protocol import MAX_HEAD, CgiHead, CgiHeadError, cgi_environ, parse_cgi_head
from .exchange import Exchange, http_date
from .htpasswd import Htpasswd
from .message import Reply, RequestHead

__all__ = [
    "MAX_HEAD",
    "CgiHead",
    "CgiHeadError",
    "CgiRun",
    "basic_user",
    "cgi_environ",
    "find_script",
    "parse_cgi_head",
    "refusal",
    "reload_target",
]

KILL_AFTER = 5.0
"""Seconds between SIGTERM and SIGKILL for a script being stopped."""

PIPE_GRACE = 1.0
"""Seconds to wait for a script's output to close after the script itself exited."""

MAX_LOG_LINE = 8 * 1024

BAD_GATEWAY = Reply(
    502, ((b"content-type", b"text/plain; charset=utf-8"),), b"Bad Gateway\n", kind="error"
)
CANNOT_RUN = Reply(
    500,
    ((b"content-type", b"text/plain; charset=utf-8"),),
    b"Internal Server Error\n",
    kind="error",
)
FORBIDDEN = Reply(
    403, ((b"content-type", b"text/plain; charset=utf-8"),), b"Forbidden\n", kind="auth-failure"
)

Kill = Callable[[int, int], bool]


# -- matching and admission -------------------------------------------------------------


def find_script(scripts: Sequence[CgiScript], path: str, method: bytes) -> CgiScript | None:
    """The first script at exactly ``path`` whose ``method`` (if set) is the request's."""
    for script in scripts:
        if script.path == path and (script.method is None or script.method.encode() == method):
            return script
    return None


def basic_user(htpasswd: Htpasswd | None) -> Callable[[RequestHead], str | None]:
    """A function giving the request's Basic user if ``htpasswd`` accepts the password."""

    def authenticate(head: RequestHead) -> str | None:
        credentials = basic_credentials(head.header(b"authorization"))
        if credentials is None or htpasswd is None:
            return None
        return credentials[0] if htpasswd.check(*credentials) else None

    return authenticate


def refusal(
    script: CgiScript,
    ex: Exchange,
    authenticate: Callable[[RequestHead], str | None],
    challenge: Reply,
) -> Reply | None:
    """``challenge`` (401) or 403 when ``allowed_users`` keeps the request out, else None.

    The user is the one auth already checked (``ex.remote_user``); on a public
    path, where nobody checked, it is ``authenticate(head)``, kept in
    ``ex.remote_user`` when it passes.
    """
    if not script.allowed_users:
        return None
    if ex.remote_user is None:
        ex.remote_user = authenticate(ex.head)
    if ex.remote_user is None:
        return challenge
    return None if ex.remote_user in script.allowed_users else FORBIDDEN


def reload_target(script: CgiScript, config_path: str, loaded_at: float) -> str | None:
    """The config file to load after ``script`` exited 0 (the rule of hooks, §2.13)."""
    hook = Hook(command=script.script, reload_config=script.reload_config)
    return reload_requested(hook, config_path, loaded_at)


def identity_problem(script: CgiScript) -> str | None:
    """Why ``script`` cannot run as its ``user``/``group`` here, or None.

    The launcher cannot switch users yet, so a script whose user or group is
    not the router's own is refused rather than run with the router's rights.
    """
    try:
        uid = _id(script.user, lambda n: pwd.getpwnam(n).pw_uid, os.geteuid())
        gid = _id(script.group, lambda n: grp.getgrnam(n).gr_gid, os.getegid())
    except KeyError:
        return f"unknown user {script.user!r} or group {script.group!r}"
    if (uid, gid) != (os.geteuid(), os.getegid()):
        return "running a CGI script as another user or group is not supported"
    return None


def _id(name: str | None, lookup: Callable[[str], int], own: int) -> int:
    if name is None:
        return own
    return int(name) if name.isdigit() else lookup(name)


# -- running one script ---------------------------------------------------------------------


def _local_address(ex: Exchange) -> tuple[str, str]:
    """The ``(host, port)`` the request came in on (from Host or the scheme on a unix socket)."""
    transport = ex.front.transport
    local = transport.getHost() if transport is not None else None
    port = getattr(local, "port", None)
    if port is None:
        host = ex.head.header(b"host") or b""
        _, colon, tail = host.rpartition(b":")
        port = tail.decode() if colon and tail.isdigit() else ("443" if ex.head.secure else "80")
    return str(getattr(local, "host", "localhost")), str(port)


@implementer(IPushProducer)
class _PauseClient:
    """Backpressure from the script's stdin to the client's reading."""

    def __init__(self, ex: Exchange) -> None:
        self.ex = ex

    def pauseProducing(self) -> None:
        self.ex.front.pause("cgi")

    def resumeProducing(self) -> None:
        self.ex.front.resume("cgi")

    def stopProducing(self) -> None:
        self.ex.front.resume("cgi")


class CgiRun(ProcessProtocol):
    """One run of ``script`` answering ``ex``; see the module docstring."""

    log = Logger()

    def __init__(
        self,
        reactor: IReactorProcess,
        ex: Exchange,
        script: CgiScript,
        base_env: Mapping[str, str],
        succeeded: Callable[[], None] = lambda: None,
        *,
        kill: Kill = signal_group,
        kill_after: float = KILL_AFTER,
        pipe_grace: float = PIPE_GRACE,
    ) -> None:
        self.reactor = reactor
        self.clock = IReactorTime(reactor)
        self.ex = ex
        self.script = script
        self.base_env = base_env
        self.succeeded = succeeded
        self.kill = kill
        self.kill_after = kill_after
        self.pipe_grace = pipe_grace
        self.pid: int | None = None
        self.head: CgiHead | None = None
        self.exit: Failure | None = None
        self.stopping = False  # we asked it to stop: never a success
        self._buffer = b""
        self._errors = b""
        self._left: int | None = None  # body bytes the Content-Length still allows
        self._responded = False  # the response is over (or abandoned) for our part
        self._ended = False
        self._stdout_open = True
        self._producing = False  # the client's socket paces our reading of stdout
        self._feeding = False  # the script's stdin paces our reading of the request body
        self._warned = False
        self._timers: list[IDelayedCall] = []

    def start(self) -> None:
        ex, script = self.ex, self.script
        ex.kind, ex.destination = "cgi", f"cgi:{script.script}"
        problem = identity_problem(script)
        if problem is not None:
            self.log.error("cgi {script}: {problem}", script=script.script, problem=problem)
            self._answer_now(CANNOT_RUN)
            return
        env = cgi_environ(
            script,
            ex.head,
            remote_user=ex.remote_user,
            local=_local_address(ex),
            base_env=self.base_env,
            request_id=ex.request_id,
        )
        argv, cwd = [script.script], os.path.dirname(script.script)
        try:
            transport = spawn(self.reactor, self, argv, env, cwd)
        except Exception as e:
            self.log.error("cgi {script}: cannot start: {e}", script=script.script, e=e)
            self._answer_now(BAD_GATEWAY)
            return
        self.pid = transport.pid
        ex.on_gone = self._client_gone
        if script.timeout:
            self._timers.append(self.clock.callLater(script.timeout, self._timed_out))
        if ex.upgrade:  # no HTTP body follows an upgrade request, and no keep-alive
            ex.keep_alive = False
            transport.closeStdin()
            return
        expect = ex.head.header(b"expect")
        if expect is not None and expect.lower() == b"100-continue" and not ex.request_complete:
            ex.front.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        transport.registerProducer(_PauseClient(ex), True)  # type: ignore[attr-defined]
        self._feeding = True
        ex.take_body(self._stdin, self._stdin_end)

    def _answer_now(self, reply: Reply) -> None:
        """Answer without running the script (its request body is read and dropped)."""
        self._responded = True
        if self.ex.upgrade:
            self.ex.keep_alive = False
        else:
            self.ex.discard_body()
        self.ex.reply(reply)

    # -- stdin ---------------------------------------------------------------------------

    def _stdin(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)

    def _stdin_end(self) -> None:
        self._stop_feeding()
        if self.transport is not None:
            self.transport.closeStdin()

    def _stop_feeding(self) -> None:
        if self._feeding:
            self._feeding = False
            if self.transport is not None:
                self.transport.unregisterProducer()  # type: ignore[attr-defined]
        self.ex.front.resume("cgi")

    # -- output --------------------------------------------------------------------------

    def outReceived(self, data: bytes) -> None:
        if self._responded:
            return  # the answer is already given: drain and drop
        if self.head is None:
            self._buffer += data
            try:
                head = parse_cgi_head(self._buffer)
            except CgiHeadError as e:
                self._stop(f"unusable header block: {e}")
                return
            if head is None:
                return
            self._buffer = b""
            self._start_response(head)
            data = head.body
        if self._left is not None:
            if len(data) > self._left and not self._warned:
                self._warned = True
                self.log.warn("cgi {script}: output beyond its Content-Length dropped", **self._k)
            if len(data) > self._left:
                data = data[: self._left]
            self._left -= len(data)
        self.ex.write(data)

    def _start_response(self, head: CgiHead) -> None:
        self.head = head
        headers = [pair for pair in head.headers if pair[0].lower() != b"x-request-id"]
        framing, self._left = "close", head.content_length
        if head.content_length is not None:
            framing = "length"
        if head.status in (204, 304):  # never a body
            headers = [pair for pair in headers if pair[0].lower() != b"content-length"]
            framing, self._left = "none", 0
        elif self.ex.head.method == b"HEAD":
            self._left = None  # the length of the body a GET would get; none is sent
        if not any(name.lower() == b"date" for name, _ in headers):
            headers.append((b"date", http_date()))
        self.ex.start_response(head.status, head.reason, headers, framing)
        front = self.ex.front.transport
        if front is not None and self.transport is not None and not self.ex.gone:
            front.registerProducer(self.transport, True)  # type: ignore[attr-defined]
            self._producing = True

    def errReceived(self, data: bytes) -> None:
        lines = (self._errors + data).split(b"\n")
        self._errors = lines.pop()
        if len(self._errors) > MAX_LOG_LINE:
            lines.append(self._errors)
            self._errors = b""
        for line in lines:
            self._log_error_line(line)

    def _log_error_line(self, line: bytes) -> None:
        text = line.rstrip(b"\r").decode("utf-8", "replace")
        self.log.info("cgi {script}: {line}", line=text, **self._k)

    @property
    def _k(self) -> dict[str, str]:
        return {"script": self.script.script}

    # -- endings ---------------------------------------------------------------------------

    def outConnectionLost(self) -> None:
        self._stdout_open = False
        self._maybe_end()

    def processExited(self, reason: Failure) -> None:
        # The leader is reaped and its pid may be reused: no signals to it any more,
        # except one SIGKILL at once to stragglers in the group of a script being stopped.
        self.exit = reason
        self._cancel_timers()
        if self.stopping and self.pid is not None:
            self.kill(self.pid, signal.SIGKILL)
        if self._stdout_open:
            self._timers.append(self.clock.callLater(self.pipe_grace, self._give_up))
        self._maybe_end()

    def processEnded(self, reason: Failure) -> None:
        self.exit = self.exit or reason
        self._stdout_open = False
        self._maybe_end()

    def _give_up(self) -> None:
        self.log.warn(
            "cgi {script}: exited but its output is still open (background processes?); "
            "not waiting for them",
            **self._k,
        )
        if self.transport is not None:
            self.transport.loseConnection()
        self._stdout_open = False
        self._maybe_end()

    def _maybe_end(self) -> None:
        if self._ended or self.exit is None or self._stdout_open:
            return
        self._ended = True
        self._cancel_timers()
        if self._errors:
            self._log_error_line(self._errors)
            self._errors = b""
        status = describe_exit(self.exit)
        if self.head is None and not self._responded:
            self.log.error("cgi {script}: no header block ({status})", status=status, **self._k)
            self._fail()
        elif not self._responded:
            self._complete()
        if isinstance(self.exit.value, ProcessDone) and not self.stopping:
            self.succeeded()
        elif not self.stopping:
            self.log.warn("cgi {script}: ended with {status}", status=status, **self._k)

    def _complete(self) -> None:
        self._release()
        if self._left:
            self.log.warn("cgi {script}: output shorter than its Content-Length", **self._k)
            self._cut()
        else:
            self.ex.finish()

    def _timed_out(self) -> None:
        self._stop(f"timed out after {self.script.timeout}s")

    def _stop(self, why: str) -> None:
        """Stop the script for ``why``, and answer 502 (or cut the client off) now."""
        self.log.error("cgi {script}: {why}; stopping it", why=why, **self._k)
        self._terminate()
        if not self._responded:
            self._fail()

    def _fail(self) -> None:
        self._release()
        if self.ex.gone:
            return
        if self.ex.response_started:
            self._cut()
        else:
            self.ex.reply(BAD_GATEWAY)

    def _cut(self) -> None:
        """End a response already under way so that the client sees it truncated."""
        if self.ex.front.transport is not None:
            self.ex.front.transport.abortConnection()  # type: ignore[attr-defined]

    def _client_gone(self) -> None:
        self._release()
        if self.exit is None:
            self.log.info("cgi {script}: client went away; stopping it", **self._k)
        self._terminate()

    def _terminate(self) -> None:
        if self.stopping or self.exit is not None or self.pid is None:
            return
        self.stopping = True
        self.kill(self.pid, signal.SIGTERM)
        self._timers.append(self.clock.callLater(self.kill_after, self._kill_now))

    def _kill_now(self) -> None:
        if self.exit is None and self.pid is not None:
            self.kill(self.pid, signal.SIGKILL)

    def _release(self) -> None:
        """Our part of the response is over: stop forwarding and let both sides flow."""
        self._responded = True
        self._stop_feeding()
        if self._producing:
            self._producing = False
            front = self.ex.front.transport
            if front is not None and not self.ex.gone:
                front.unregisterProducer()  # type: ignore[attr-defined]
            if self.transport is not None:
                self.transport.resumeProducing()  # type: ignore[attr-defined]

    def _cancel_timers(self) -> None:
        for timer in self._timers:
            if timer.active():
                timer.cancel()
        self._timers = []
