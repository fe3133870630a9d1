"""CGI scripts (``server.cgi_scripts``) run by the real router (``twistd -n showcase``)."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from .routerproc import Router, alive, kill_leftovers, wait_for

pytestmark = pytest.mark.integration

ECHO = r"""#!/bin/sh
printf 'Content-Type: text/plain\r\n'
printf 'Set-Cookie: a=1\r\n'
printf 'Set-Cookie: b=2\r\n'
printf 'X-Method: %s\r\n\r\n' "$REQUEST_METHOD"
echo "query=$QUERY_STRING"
echo "script=$SCRIPT_NAME path_info=[$PATH_INFO]"
echo "server=$SERVER_NAME:$SERVER_PORT protocol=$SERVER_PROTOCOL cgi=$GATEWAY_INTERFACE"
echo "addr=$REMOTE_ADDR user=${REMOTE_USER-none}"
echo "thing=$HTTP_X_THING"
echo "authorization=${HTTP_AUTHORIZATION-unset}"
echo "custom=$CUSTOM"
echo "cwd=$(pwd)"
echo "type=${CONTENT_TYPE-unset} length=${CONTENT_LENGTH-unset}"
echo "oops from the echo script" >&2
echo "body=$(cat)"
"""

NOT_FOUND = r"""#!/bin/sh
printf 'Status: 404 No Such Thing\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\n'
printf 'missing\n'
"""

# The script and a background child, in the script's process group, both sleep.
SLOW = r"""#!/bin/sh
sleep 30 &
echo $! > "$PIDFILE"
wait
"""

DIGEST = r"""#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
sha256sum
"""

ZEROS = r"""#!/bin/sh
printf 'Content-Type: application/octet-stream\r\n\r\n'
head -c "$SIZE" /dev/zero
"""

SWITCH = r"""#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\nswitching\n'
"""


BIG = 30 * 1024 * 1024


def _script(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    path.chmod(0o755)
    return path


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _sha(password: str) -> str:
    return "{SHA}" + base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()


def _config(tmp: Path) -> str:
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    (tmp / "public").mkdir()
    (tmp / "htpasswd").write_text(f"alice:{_sha('wonder')}\nbob:{_sha('builder')}\n")
    (tmp / "other.yml").write_text(
        "server:\n  health_check:\n    path: /up\n    response: {body: reloaded}\n"
    )
    echo = _script(bin_dir, "echo.sh", ECHO)
    return (
        "server:\n"
        "  static:\n"
        f"    public_dir: {tmp / 'public'}\n"
        "  health_check:\n"
        "    path: /up\n"
        "    response: {body: first}\n"
        "  cgi_scripts:\n"
        "    - path: /cgi/echo\n"
        f"      script: {echo}\n"
        "      env: {CUSTOM: from-config}\n"
        "    - path: /cgi/missing\n"
        f"      script: {_script(bin_dir, 'missing.sh', NOT_FOUND)}\n"
        "    - path: /cgi/slow\n"
        f"      script: {_script(bin_dir, 'slow.sh', SLOW)}\n"
        "      timeout: 1s\n"
        f"      env: {{PIDFILE: {tmp / 'slow.pid'}}}\n"
        "    - path: /cgi/linger\n"
        f"      script: {_script(bin_dir, 'linger.sh', SLOW)}\n"
        f"      env: {{PIDFILE: {tmp / 'linger.pid'}}}\n"
        "    - path: /cgi/post-only\n"
        f"      script: {echo}\n"
        "      method: POST\n"
        "    - path: /cgi/members\n"
        f"      script: {echo}\n"
        "      allowed_users: [alice]\n"
        "    - path: /cgi/digest\n"
        f"      script: {_script(bin_dir, 'digest.sh', DIGEST)}\n"
        "    - path: /cgi/zeros\n"
        f"      script: {_script(bin_dir, 'zeros.sh', ZEROS)}\n"
        f"      env: {{SIZE: {BIG}}}\n"
        "    - path: /cgi/switch\n"
        f"      script: {_script(bin_dir, 'switch.sh', SWITCH)}\n"
        f"      reload_config: {tmp / 'other.yml'}\n"
        "auth:\n"
        "  enabled: true\n"
        "  realm: Members\n"
        f"  htpasswd: {tmp / 'htpasswd'}\n"
        "  public_paths: [/cgi/, /up]\n"
        "cable:\n"
        "  enabled: false\n"
    )


@pytest.fixture(scope="module")
def router(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Router]:
    """One router for the module, stopped afterwards (with any script it left behind)."""
    tmp = tmp_path_factory.mktemp("cgi")
    running = Router(tmp, _config(tmp))
    yield running
    running.stop()
    pids = [int(p.read_text()) for p in tmp.glob("*.pid") if p.read_text().strip()]
    kill_leftovers(pids)


def _pid(router: Router, name: str) -> int:
    path = router.dir / name
    text = wait_for(lambda: path.exists() and path.read_text().strip(), what=f"{name} written")
    return int(str(text))


def test_script_answers_with_its_headers_and_rfc3875_environment(router: Router) -> None:
    """A GET runs the script in its directory with CGI variables; its headers and body come back."""
    conn = router.connection()
    conn.putrequest("GET", "/cgi/echo?x=1&y=2", skip_host=True)
    conn.putheader("Host", "events.example:8080")
    conn.putheader("X-Thing", "one")
    conn.putheader("X-Thing", "two")
    conn.endheaders()
    resp = conn.getresponse()
    body = resp.read().decode()
    conn.close()
    assert resp.status == 200
    assert resp.getheader("content-type") == "text/plain"
    assert resp.msg.get_all("set-cookie") == ["a=1", "b=2"]
    assert resp.getheader("x-method") == "GET"
    assert resp.getheader("transfer-encoding") == "chunked"
    assert resp.getheader("x-request-id")
    assert "query=x=1&y=2\n" in body
    assert "script=/cgi/echo path_info=[]\n" in body
    assert f"server=events.example:{router.port} protocol=HTTP/1.1 cgi=CGI/1.1\n" in body
    assert "addr=127.0.0.1 user=none\n" in body
    assert "thing=one, two\n" in body
    assert "custom=from-config\n" in body
    assert f"cwd={router.dir / 'bin'}\n" in body
    assert "type=unset length=unset\n" in body


def test_post_body_reaches_the_scripts_stdin(router: Router) -> None:
    """The request body is the script's stdin, with CONTENT_TYPE and CONTENT_LENGTH set."""
    status, _, body = router.get(
        "/cgi/echo",
        {"Content-Type": "text/plain"},
        method="POST",
        body=b"hello, script",
    )
    assert status == 200
    assert b"type=text/plain length=13\n" in body
    assert body.endswith(b"body=hello, script\n")


def test_status_header_sets_the_response_status(router: Router) -> None:
    """``Status: 404 …`` from the script is the response status, with its Content-Length."""
    status, headers, body = router.get("/cgi/missing")
    assert status == 404
    assert headers["content-length"] == "8"
    assert "transfer-encoding" not in headers
    assert body == b"missing\n"


def test_large_upload_streams_through_stdin(router: Router) -> None:
    """A 30 MB body reaches the script's stdin whole."""
    chunk = os.urandom(1024 * 1024)
    digest = hashlib.sha256()
    conn = router.connection(60)
    conn.putrequest("POST", "/cgi/digest")
    conn.putheader("Content-Length", str(BIG))
    conn.endheaders()
    for _ in range(BIG // len(chunk)):
        conn.send(chunk)
        digest.update(chunk)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    assert resp.status == 200
    assert body.split()[0].decode() == digest.hexdigest()


def test_large_output_streams_to_the_client(router: Router) -> None:
    """A 30 MB answer from the script arrives whole."""
    conn = router.connection(60)
    conn.request("GET", "/cgi/zeros")
    resp = conn.getresponse()
    size = 0
    while data := resp.read(1024 * 1024):
        assert data.count(0) == len(data)
        size += len(data)
    conn.close()
    assert (resp.status, size) == (200, BIG)


def test_stderr_lines_are_logged_with_the_script(router: Router) -> None:
    """What a script writes to stderr appears in the router's log, naming the script."""
    router.get("/cgi/echo")
    wait_for(
        lambda: "echo.sh: oops from the echo script" in router.log(), what="stderr line logged"
    )


def test_timeout_kills_the_process_group_and_answers_502(router: Router) -> None:
    """A script past its timeout gets a 502, and it and its children are stopped."""
    status, _, _ = router.get("/cgi/slow")
    assert status == 502
    child = _pid(router, "slow.pid")
    wait_for(lambda: not alive(child), what="the script's child to be stopped")


def test_client_going_away_kills_the_script(router: Router) -> None:
    """When the client disconnects mid-run, the script's process group is stopped."""
    sock = socket.create_connection(("127.0.0.1", router.port))
    try:
        sock.sendall(b"GET /cgi/linger HTTP/1.1\r\nHost: x\r\n\r\n")
        child = _pid(router, "linger.pid")
        assert alive(child)
    finally:
        sock.close()
    wait_for(lambda: not alive(child), what="the script's child to be stopped")


def test_script_with_another_method_does_not_match(router: Router) -> None:
    """A POST-only script is not run for a GET: the request falls through (here to a 404)."""
    status, _, body = router.get("/cgi/post-only")
    assert status == 404
    assert b"script=" not in body
    status, _, body = router.get("/cgi/post-only", method="POST", body=b"")
    assert status == 200 and b"script=/cgi/post-only" in body


def test_allowed_users_without_credentials_get_401(router: Router) -> None:
    """A script with ``allowed_users`` asks for Basic credentials in the configured realm."""
    status, headers, _ = router.get("/cgi/members")
    assert status == 401
    assert headers["www-authenticate"] == 'Basic realm="Members"'


def test_allowed_users_checks_password_and_list(router: Router) -> None:
    """A wrong password is a 401, a valid user not listed a 403; a listed user runs it."""
    status, _, _ = router.get("/cgi/members", {"Authorization": _basic("alice", "wrong")})
    assert status == 401
    status, _, _ = router.get("/cgi/members", {"Authorization": _basic("bob", "builder")})
    assert status == 403
    status, _, body = router.get("/cgi/members", {"Authorization": _basic("alice", "wonder")})
    assert status == 200
    assert b"user=alice\n" in body
    assert b"authorization=unset\n" in body


def test_reload_config_after_success_loads_the_named_file(tmp_path: Path) -> None:
    """After a zero exit, a script's ``reload_config`` file becomes the running config."""
    router = Router(tmp_path, _config(tmp_path))
    try:
        assert router.get("/up")[2] == b"first"
        status, _, body = router.get("/cgi/switch")
        assert (status, body) == (200, b"switching\n")
        wait_for(lambda: router.get("/up")[2] == b"reloaded", what="the reload")
    finally:
        router.stop()
