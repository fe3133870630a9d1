"""CGI scripts: the header block, the environment, admission, and a run over fake wires."""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st
from processfakes import FakeProcess, FakeProcessReactor
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from showcase.config import ConfigError, load_config, parse_config
from showcase.config.model import CgiScript, Limits
from showcase.router.cgi import (
    KILL_AFTER,
    MAX_HEAD,
    PIPE_GRACE,
    CgiHeadError,
    CgiRun,
    cgi_environ,
    find_script,
    identity_problem,
    parse_cgi_head,
    refusal,
    reload_target,
)
from showcase.router.exchange import Exchange
from showcase.router.front import FrontProtocol
from showcase.router.message import Reply, RequestHead

SCRIPT = CgiScript(path="/cgi/run", script="/srv/bin/run.sh")


def head(
    target: bytes = b"/cgi/run",
    headers: Sequence[tuple[bytes, bytes]] = (),
    method: bytes = b"GET",
) -> RequestHead:
    path, _, query = target.partition(b"?")
    return RequestHead(method, target, path.decode(), query, b"1.1", tuple(headers), "203.0.113.9")


# --- the header block ------------------------------------------------------------------------


def test_head_is_none_until_its_blank_line_arrives() -> None:
    """Header lines without the blank line after them are not a header block yet."""
    assert parse_cgi_head(b"") is None
    assert parse_cgi_head(b"Content-Type: text/plain\r\n") is None
    assert parse_cgi_head(b"Content-Type: text/plain\r\n\r") is None


def test_head_defaults_to_200_and_keeps_the_body_that_follows() -> None:
    """Without Status the status is 200; bytes after the blank line are body."""
    parsed = parse_cgi_head(b"Content-Type: text/plain\n\nhello\n")
    assert parsed is not None
    assert (parsed.status, parsed.reason) == (200, b"")
    assert parsed.headers == ((b"Content-Type", b"text/plain"),)
    assert (parsed.content_length, parsed.body) == (None, b"hello\n")


def test_status_header_sets_status_and_reason() -> None:
    """``Status: 404 No Such Thing`` is the status and reason, and is not sent as a header."""
    parsed = parse_cgi_head(b"Status: 404 No Such Thing\r\nContent-Type: text/html\r\n\r\n")
    assert parsed is not None
    assert (parsed.status, parsed.reason) == (404, b"No Such Thing")
    assert parsed.headers == ((b"Content-Type", b"text/html"),)


def test_location_without_status_is_a_302() -> None:
    """A Location header alone makes a 302; with a Status, the Status wins."""
    found = parse_cgi_head(b"Location: /next\r\n\r\n")
    assert found is not None and found.status == 302
    moved = parse_cgi_head(b"Status: 301\r\nLocation: /next\r\n\r\n")
    assert moved is not None and (moved.status, moved.reason) == (301, b"")


def test_repeated_headers_are_kept_in_order() -> None:
    """Two Set-Cookie lines stay two headers."""
    parsed = parse_cgi_head(b"Set-Cookie: a=1\r\nX: y\r\nSet-Cookie: b=2\r\n\r\n")
    assert parsed is not None
    assert parsed.headers == ((b"Set-Cookie", b"a=1"), (b"X", b"y"), (b"Set-Cookie", b"b=2"))


def test_content_length_is_read_and_hop_by_hop_headers_dropped() -> None:
    """Content-Length is parsed (and sent once); Connection and Transfer-Encoding are dropped."""
    parsed = parse_cgi_head(
        b"Content-Length: 5\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n"
        b"content-length: 5\r\n\r\nhello"
    )
    assert parsed is not None
    assert parsed.content_length == 5
    assert parsed.headers == ((b"Content-Length", b"5"),)


@pytest.mark.parametrize(
    "block",
    [
        b"\r\n",  # no header at all
        b"Status: abc\r\n\r\n",
        b"Status: 99\r\n\r\n",
        b"Status: 101 Switching Protocols\r\n\r\n",
        b"Status: 600\r\n\r\n",
        b"Status: 200\r\nStatus: 404\r\n\r\n",
        b"Content-Length: -1\r\n\r\n",
        b"Content-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"no colon here\r\n\r\n",
        b"Bad Name: x\r\n\r\n",
        b"X: a\r\n folded\r\n\r\n",
        b"X: a\rb\r\n\r\n",
    ],
)
def test_unusable_header_blocks_are_errors(block: bytes) -> None:
    """No header, a bad Status or Content-Length, or a malformed line is a CgiHeadError."""
    with pytest.raises(CgiHeadError):
        parse_cgi_head(block)


def test_head_without_blank_line_within_the_limit_is_an_error() -> None:
    """A header block still open after MAX_HEAD bytes is refused, however it goes on."""
    long = b"X: " + b"a" * MAX_HEAD
    with pytest.raises(CgiHeadError):
        parse_cgi_head(long)
    with pytest.raises(CgiHeadError):
        parse_cgi_head(long + b"\r\n\r\n")
    assert parse_cgi_head(b"X: " + b"a" * (MAX_HEAD - 10)) is None


_names = st.from_regex(r"X-[A-Za-z0-9-]{1,20}", fullmatch=True).map(str.encode)
_values = st.from_regex(r"[!-~]([ -~]{0,30}[!-~])?", fullmatch=True).map(str.encode)


@given(st.lists(st.tuples(_names, _values), min_size=1, max_size=8), st.booleans(), st.binary())
def test_any_split_of_a_header_block_parses_the_same(
    fields: list[tuple[bytes, bytes]], crlf: bool, body: bytes
) -> None:
    """Every prefix without the blank line is incomplete; the whole gives the fields and body."""
    eol = b"\r\n" if crlf else b"\n"
    block = b"".join(name + b": " + value + eol for name, value in fields) + eol
    for cut in range(len(block)):
        assert parse_cgi_head(block[:cut]) is None
    parsed = parse_cgi_head(block + body)
    assert parsed is not None
    assert (parsed.status, parsed.headers, parsed.body) == (200, tuple(fields), body)


# --- the environment -------------------------------------------------------------------------


def environ(request: RequestHead, **kwargs: Any) -> dict[str, str]:
    options: dict[str, Any] = {
        "remote_user": None,
        "local": ("127.0.0.1", "9999"),
        "base_env": {"PATH": "/bin"},
    }
    options.update(kwargs)
    return cgi_environ(SCRIPT, request, **options)


def test_environ_has_the_rfc3875_variables() -> None:
    """The request's method, query, script path, server and client appear as CGI variables."""
    env = environ(head(b"/cgi/run?a=1&b=%20", [(b"host", b"events.example:8080")]))
    assert env == {
        "PATH": "/bin",
        "HTTP_HOST": "events.example:8080",
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_SOFTWARE": "showcase",
        "REQUEST_METHOD": "GET",
        "QUERY_STRING": "a=1&b=%20",
        "SCRIPT_NAME": "/cgi/run",
        "PATH_INFO": "",
        "SERVER_NAME": "events.example",
        "SERVER_PORT": "9999",
        "REMOTE_ADDR": "203.0.113.9",
    }


def test_environ_server_name_without_host_or_with_ipv6() -> None:
    """No Host falls back to the local address; an IPv6 Host keeps its brackets, not its port."""
    assert environ(head())["SERVER_NAME"] == "127.0.0.1"
    assert environ(head(headers=[(b"host", b"[::1]:8080")]))["SERVER_NAME"] == "[::1]"


def test_repeated_request_headers_are_joined() -> None:
    """Each header becomes HTTP_NAME; repeated ones are joined with ", "."""
    env = environ(head(headers=[(b"x-thing", b"one"), (b"accept", b"*/*"), (b"x-thing", b"two")]))
    assert env["HTTP_X_THING"] == "one, two"
    assert env["HTTP_ACCEPT"] == "*/*"


def test_credentials_proxy_and_ambiguous_headers_stay_out() -> None:
    """Authorization, Proxy-Authorization, Proxy (httpoxy) and names with ``_`` are not passed."""
    env = environ(
        head(
            headers=[
                (b"authorization", b"Basic eDp5"),
                (b"proxy-authorization", b"Basic eDp5"),
                (b"proxy", b"http://evil.example"),
                (b"x_user", b"admin"),
            ]
        )
    )
    assert not [name for name in env if name.startswith("HTTP_")]


def test_body_type_and_length_and_user() -> None:
    """Content-Type/-Length become CONTENT_*; a checked user is REMOTE_USER with AUTH_TYPE."""
    request = head(headers=[(b"content-type", b"text/plain"), (b"content-length", b"5")])
    env = environ(request, remote_user="alice")
    assert (env["CONTENT_TYPE"], env["CONTENT_LENGTH"]) == ("text/plain", "5")
    assert (env["REMOTE_USER"], env["AUTH_TYPE"]) == ("alice", "Basic")
    assert "HTTP_CONTENT_TYPE" not in env and "HTTP_CONTENT_LENGTH" not in env


def test_router_environment_cannot_pose_as_request_variables() -> None:
    """CGI names and HTTP_* in the router's environment are dropped; the script's env is kept."""
    base = {"PATH": "/bin", "CONTENT_LENGTH": "99", "REMOTE_USER": "root", "HTTP_X_A": "1"}
    script = CgiScript("/cgi/run", "/srv/run.sh", env=(("MODE", "x"), ("SERVER_SOFTWARE", "no")))
    env = cgi_environ(
        script, head(), remote_user=None, local=("h", "1"), base_env=base, request_id="rid"
    )
    assert "CONTENT_LENGTH" not in env and "REMOTE_USER" not in env and "HTTP_X_A" not in env
    assert (env["MODE"], env["SERVER_SOFTWARE"]) == ("x", "showcase")
    assert env["HTTP_X_REQUEST_ID"] == "rid"


def test_non_utf8_header_bytes_reach_the_script_unchanged() -> None:
    """Header bytes that are not UTF-8 encode back to the very same bytes in the environment."""
    env = environ(head(headers=[(b"x-name", b"caf\xe9")]))
    assert os.fsencode(env["HTTP_X_NAME"]) == b"caf\xe9"


# --- matching and admission ------------------------------------------------------------------


def test_scripts_match_exact_path_and_method() -> None:
    """Only the exact path matches; a script's ``method`` must be the request's."""
    post = CgiScript("/cgi/run", "/srv/post.sh", method="POST")
    scripts = (post, SCRIPT)
    assert find_script(scripts, "/cgi/run", b"POST") is post
    assert find_script(scripts, "/cgi/run", b"GET") is SCRIPT
    assert find_script(scripts, "/cgi/run/", b"GET") is None
    assert find_script((post,), "/cgi/run", b"GET") is None


CHALLENGE = Reply(401, kind="auth-failure")


def exchange(request: RequestHead, remote_user: str | None = None) -> Exchange:
    ex = Exchange(cast(FrontProtocol, None), request, True, 0.0)
    ex.remote_user = remote_user
    return ex


def test_allowed_users_challenge_a_request_without_a_user() -> None:
    """With ``allowed_users`` and no authenticated user, the answer is the 401 challenge."""
    members = CgiScript("/cgi/run", "/srv/run.sh", allowed_users=("alice",))
    assert refusal(members, exchange(head()), lambda h: None, CHALLENGE) is CHALLENGE


def test_allowed_users_forbid_a_user_not_listed() -> None:
    """An authenticated user who is not listed gets a 403; a listed one passes."""
    members = CgiScript("/cgi/run", "/srv/run.sh", allowed_users=("alice",))
    forbidden = refusal(members, exchange(head(), "bob"), lambda h: None, CHALLENGE)
    assert forbidden is not None and forbidden.status == 403
    assert refusal(members, exchange(head(), "alice"), lambda h: None, CHALLENGE) is None


def test_public_path_users_are_authenticated_for_allowed_users() -> None:
    """Where auth did not run (public path), ``authenticate`` supplies the user and keeps it."""
    members = CgiScript("/cgi/run", "/srv/run.sh", allowed_users=("alice",))
    ex = exchange(head())
    assert refusal(members, ex, lambda h: "alice", CHALLENGE) is None
    assert ex.remote_user == "alice"


def test_scripts_without_allowed_users_admit_everyone() -> None:
    """No ``allowed_users``: nobody is asked for credentials."""
    asked: list[RequestHead] = []

    def authenticate(request: RequestHead) -> str | None:
        asked.append(request)
        return "alice"

    assert refusal(SCRIPT, exchange(head()), authenticate, CHALLENGE) is None
    assert asked == []


def test_reload_target_follows_the_hook_rule(tmp_path: Path) -> None:
    """``reload_config`` naming another existing file reloads it; none or a missing one not."""
    other = tmp_path / "other.yml"
    other.write_text("")
    config = str(tmp_path / "showcase.yml")
    with_reload = CgiScript("/cgi/run", "/srv/run.sh", reload_config=str(other))
    assert reload_target(with_reload, config, 0.0) == str(other)
    assert reload_target(SCRIPT, config, 0.0) is None
    gone = CgiScript("/cgi/run", "/srv/run.sh", reload_config=str(tmp_path / "gone.yml"))
    assert reload_target(gone, config, 0.0) is None


def test_scripts_for_another_user_are_refused() -> None:
    """A script for the router's own user may run; one for another user may not (yet)."""
    own = str(os.geteuid())
    assert identity_problem(CgiScript("/c", "/s", user=own, group=str(os.getegid()))) is None
    other = "1" if os.geteuid() != 1 else "2"
    assert identity_problem(CgiScript("/c", "/s", user=other)) is not None
    assert identity_problem(CgiScript("/c", "/s", user="no-such-user-here")) is not None


# --- config ------------------------------------------------------------------------------------


def _write_config(tmp_path: Path, script: str) -> str:
    path = tmp_path / "showcase.yml"
    path.write_text(f"server:\n  cgi_scripts:\n    - path: /cgi\n      script: {script}\n")
    return str(path)


def test_missing_script_is_a_config_error_naming_file_line_and_key(tmp_path: Path) -> None:
    """A ``script`` that does not exist fails loading, naming file, line and key path."""
    path = _write_config(tmp_path, "bin/nothing.sh")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}:4: server.cgi_scripts[0].script: ")
    assert "bin/nothing.sh does not exist" in str(caught.value)


def test_script_that_is_not_executable_is_a_config_error(tmp_path: Path) -> None:
    """A ``script`` without the execute bit fails loading."""
    (tmp_path / "run.sh").write_text("#!/bin/sh\n")
    with pytest.raises(ConfigError, match="is not executable"):
        load_config(_write_config(tmp_path, "run.sh"))


def test_parsing_text_alone_does_not_look_at_files() -> None:
    """``parse_config`` (no file on disk to be relative to) does not check scripts exist."""
    text = "server: {cgi_scripts: [{path: /cgi, script: run.sh}]}"
    config = parse_config(text, "<test>", "/nowhere")
    assert config.server.cgi_scripts[0].script == "/nowhere/run.sh"


# --- a run over fake wires ---------------------------------------------------------------------


class CgiOnlyRouter:
    """The router surface FrontProtocol uses; every request runs one CgiRun."""

    def __init__(self, script: CgiScript) -> None:
        self.reactor = FakeProcessReactor(first_pid=4242)
        self.script = script
        self.limits = Limits()
        self.connections: set[FrontProtocol] = set()
        self.kills: list[tuple[int, int]] = []
        self.successes = 0
        self.logged: list[Exchange] = []

    def handle(self, ex: Exchange) -> None:
        ex.request_id = "rid-1"
        run = CgiRun(
            self.reactor, ex, self.script, {"PATH": "/bin"}, self._succeeded, kill=self._kill
        )
        run.start()

    def finished(self, ex: Exchange) -> None:
        self.logged.append(ex)

    def _kill(self, pid: int, signum: int) -> bool:
        self.kills.append((pid, signum))
        return True

    def _succeeded(self) -> None:
        self.successes += 1


class Wire:
    """A client connection to a FrontProtocol serving only a CGI script."""

    def __init__(self, script: CgiScript = SCRIPT) -> None:
        self.router = CgiOnlyRouter(script)
        self.clock = self.router.reactor
        self.front = FrontProtocol(cast(Any, self.router), self.clock)
        self.transport = StringTransport(
            hostAddress=IPv4Address("TCP", "127.0.0.1", 9999),
            peerAddress=IPv4Address("TCP", "203.0.113.9", 50000),
        )
        self.front.makeConnection(self.transport)

    def send(self, data: bytes) -> FakeProcess:
        self.front.dataReceived(data)
        return self.router.reactor.processes[-1]

    def response(self) -> bytes:
        return self.transport.value()

    def hang_up(self) -> None:
        self.front.connectionLost(Failure(ConnectionDone()))


GET = b"GET /cgi/run?q=1 HTTP/1.1\r\nHost: events.example\r\n\r\n"


def test_run_spawns_the_script_in_its_directory_with_its_environment() -> None:
    """The launcher runs the script itself (no shell) with the CGI environment."""
    wire = Wire()
    process = wire.send(GET)
    assert process.args[-1] == "/srv/bin/run.sh"
    assert process.env["QUERY_STRING"] == "q=1"
    assert process.env["SERVER_PORT"] == "9999"
    assert process.env["HTTP_X_REQUEST_ID"] == "rid-1"
    assert process.stdin_closed


def test_output_streams_as_it_comes_and_ends_when_the_script_has_exited() -> None:
    """Head and body go out as written (chunked); the response ends after exit and EOF."""
    wire = Wire()
    process = wire.send(GET)
    process.out(b"Content-Type: text/pl")
    assert wire.response() == b""
    process.out(b"ain\r\n\r\nfirst ")
    assert wire.response().startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"content-type: text/plain" in wire.response().lower()
    assert wire.response().endswith(b"\r\n\r\n6\r\nfirst \r\n")
    process.out(b"second")
    process.close_stdout()
    assert not wire.response().endswith(b"0\r\n\r\n")
    process.exit()
    assert wire.response().endswith(b"6\r\nsecond\r\n0\r\n\r\n")
    assert wire.router.successes == 1


def test_request_body_goes_to_stdin_then_stdin_closes() -> None:
    """A POST body, whenever it arrives, is written to the script's stdin, then stdin closes."""
    wire = Wire()
    process = wire.send(b"POST /cgi/run HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nhello")
    assert (process.stdin, process.stdin_closed) == (b"hello", False)
    wire.front.dataReceived(b"world")
    assert (process.stdin, process.stdin_closed) == (b"helloworld", True)


def test_timeout_answers_502_then_terms_then_kills_the_group() -> None:
    """Past its timeout a silent script gets a 502 at once, SIGTERM, and SIGKILL later."""
    wire = Wire(CgiScript("/cgi/run", "/srv/bin/run.sh", timeout=2.0))
    process = wire.send(GET)
    wire.clock.advance(1.9)
    assert wire.response() == b"" and wire.router.kills == []
    wire.clock.advance(0.2)
    assert wire.response().startswith(b"HTTP/1.1 502 ")
    assert wire.router.kills == [(4242, signal.SIGTERM)]
    wire.clock.advance(KILL_AFTER)
    assert wire.router.kills == [(4242, signal.SIGTERM), (4242, signal.SIGKILL)]
    process.exit(sig=signal.SIGKILL)
    process.end()
    assert wire.router.successes == 0


def test_script_exiting_after_term_gets_one_kill_for_stragglers_and_no_more() -> None:
    """A stopped script that exits has its group SIGKILLed once; no timer fires after."""
    wire = Wire(CgiScript("/cgi/run", "/srv/bin/run.sh", timeout=1.0))
    process = wire.send(GET)
    wire.clock.advance(1.0)
    process.exit(sig=signal.SIGTERM)
    wire.clock.advance(KILL_AFTER * 2)
    assert wire.router.kills == [(4242, signal.SIGTERM), (4242, signal.SIGKILL)]


def test_malformed_header_block_is_502_and_stops_the_script() -> None:
    """A bad Status line gets a 502 and the script is stopped."""
    wire = Wire()
    process = wire.send(GET)
    process.out(b"Status: banana\r\n\r\n")
    assert wire.response().startswith(b"HTTP/1.1 502 ")
    assert wire.router.kills == [(4242, signal.SIGTERM)]
    process.out(b"more output")
    assert b"more output" not in wire.response()


def test_exit_without_a_header_is_502() -> None:
    """A script that ends without a complete header block (e.g. it crashed) gets a 502."""
    wire = Wire()
    process = wire.send(GET)
    process.err(b"Traceback: boom\n")
    process.close_stdout()
    process.exit(1)
    assert wire.response().startswith(b"HTTP/1.1 502 ")
    assert wire.router.successes == 0


def test_client_going_away_stops_the_script() -> None:
    """When the client disconnects, the script's group gets SIGTERM."""
    wire = Wire()
    wire.send(GET)
    wire.hang_up()
    assert wire.router.kills == [(4242, signal.SIGTERM)]
    assert wire.router.logged[0].status == 499


def test_short_body_against_content_length_cuts_the_connection() -> None:
    """Fewer body bytes than the script's Content-Length: the client connection is aborted."""
    wire = Wire()
    process = wire.send(GET)
    process.out(b"Content-Length: 10\r\n\r\nshort")
    process.close_stdout()
    process.exit()
    assert wire.transport.disconnected


def test_head_request_keeps_content_length_without_a_body() -> None:
    """For HEAD, a Content-Length with no body written is the whole, complete answer."""
    wire = Wire()
    process = wire.send(b"HEAD /cgi/run HTTP/1.1\r\nHost: h\r\n\r\n")
    process.out(b"Content-Length: 10\r\n\r\n")
    process.close_stdout()
    process.exit()
    assert b"content-length: 10\r\n" in wire.response().lower()
    assert wire.response().endswith(b"\r\n\r\n")
    assert not wire.transport.disconnected


def test_output_beyond_content_length_is_dropped() -> None:
    """Bytes past the script's Content-Length never reach the client."""
    wire = Wire()
    process = wire.send(GET)
    process.out(b"Content-Length: 2\r\n\r\nokEXTRA")
    process.close_stdout()
    process.exit()
    assert wire.response().endswith(b"\r\n\r\nok")
    assert not wire.transport.disconnected


def test_output_held_open_by_a_background_child_ends_after_the_grace() -> None:
    """If the script exits but its stdout stays open, the response ends after PIPE_GRACE."""
    wire = Wire()
    process = wire.send(GET)
    process.out(b"Content-Type: text/plain\r\n\r\ndone")
    process.exit()
    assert not wire.response().endswith(b"0\r\n\r\n")
    wire.clock.advance(PIPE_GRACE)
    assert wire.response().endswith(b"0\r\n\r\n")
    assert process.closed
    assert wire.router.successes == 1
