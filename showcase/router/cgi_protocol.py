"""What passes between the router and a CGI script (RFC 3875).

The environment going in (:func:`cgi_environ`) and the header block coming
out (:func:`parse_cgi_head`): pure functions, used by :mod:`showcase.router.cgi`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import attrs

from showcase.config.model import CgiScript

from .message import RequestHead
from .proxy import HOP_BY_HOP

MAX_HEAD = 64 * 1024
"""Most bytes of a script's header block, blank line included."""

_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_STATUS = re.compile(rb"([1-9][0-9][0-9])(?:[ \t]+(.*))?", re.DOTALL)
_ENV_HEADER = re.compile(rb"[0-9A-Za-z-]+")
_NOT_IN_ENV = frozenset(
    # Credentials stay out of the script's environment; Proxy would become
    # HTTP_PROXY, which many HTTP clients take as their proxy ("httpoxy");
    # the body's type and length have their own variables.
    {b"authorization", b"proxy-authorization", b"proxy", b"content-type", b"content-length"}
)
_META = frozenset(
    {
        "AUTH_TYPE",
        "CONTENT_LENGTH",
        "CONTENT_TYPE",
        "GATEWAY_INTERFACE",
        "PATH_INFO",
        "PATH_TRANSLATED",
        "QUERY_STRING",
        "REMOTE_ADDR",
        "REMOTE_HOST",
        "REMOTE_IDENT",
        "REMOTE_USER",
        "REQUEST_METHOD",
        "SCRIPT_NAME",
        "SERVER_NAME",
        "SERVER_PORT",
        "SERVER_PROTOCOL",
        "SERVER_SOFTWARE",
    }
)
"""RFC 3875 meta-variables: never inherited from the router's environment."""


# -- the script's environment ---------------------------------------------------------------


def cgi_environ(
    script: CgiScript,
    head: RequestHead,
    *,
    remote_user: str | None,
    local: tuple[str, str],
    base_env: Mapping[str, str],
    request_id: str = "",
) -> dict[str, str]:
    """The environment of ``script`` for ``head``: ``base_env`` + ``script.env`` + RFC 3875.

    RFC 3875 names and ``HTTP_*`` inherited from ``base_env`` are dropped, so a
    variable the request does not set cannot leak in from the router's own
    environment.  ``local`` is the ``(host, port)`` the request came in on.
    """
    env = {k: v for k, v in base_env.items() if k not in _META and not k.startswith("HTTP_")}
    env.update(script.env)
    env.update(_header_env(head.headers))
    if request_id:
        env["HTTP_X_REQUEST_ID"] = request_id
    host = head.header(b"host")
    env.update(
        GATEWAY_INTERFACE="CGI/1.1",
        SERVER_PROTOCOL="HTTP/" + _text(head.version),
        SERVER_SOFTWARE="showcase",
        REQUEST_METHOD=_text(head.method),
        QUERY_STRING=_text(head.query),
        SCRIPT_NAME=script.path,
        PATH_INFO="",
        SERVER_NAME=_server_name(host) if host else local[0],
        SERVER_PORT=local[1],
        REMOTE_ADDR=head.client_ip,
    )
    if remote_user is not None:
        env.update(REMOTE_USER=remote_user, AUTH_TYPE="Basic")
    for header, name in ((b"content-type", "CONTENT_TYPE"), (b"content-length", "CONTENT_LENGTH")):
        found = head.header(header)
        if found is not None and b"\0" not in found:
            env[name] = _text(found)
    return env


def _header_env(headers: Sequence[tuple[bytes, bytes]]) -> dict[str, str]:
    """``HTTP_*`` for each header, repeats joined by ``", "``.

    Names with anything but letters, digits and ``-`` are skipped: ``X_User``
    would otherwise pass for ``X-User`` (both are ``HTTP_X_USER``).
    """
    joined: dict[str, list[bytes]] = {}
    for name, value in headers:
        if name in _NOT_IN_ENV or not _ENV_HEADER.fullmatch(name) or b"\0" in value:
            continue
        key = "HTTP_" + name.decode("ascii").upper().replace("-", "_")
        joined.setdefault(key, []).append(value)
    return {key: _text(b", ".join(values)) for key, values in joined.items()}


def _server_name(host: bytes) -> str:
    """The Host header without its port (an IPv6 literal keeps its brackets)."""
    if host.startswith(b"["):
        return _text(host[: host.find(b"]") + 1])
    return _text(host.rpartition(b":")[0] if b":" in host else host)


def _text(value: bytes) -> str:
    """Bytes as an environment string that encodes back to the same bytes."""
    return value.decode("utf-8", "surrogateescape")


# -- the script's header block -------------------------------------------------------------


class CgiHeadError(ValueError):
    """A header block from a script that cannot be used."""


@attrs.frozen
class CgiHead:
    status: int
    reason: bytes
    headers: tuple[tuple[bytes, bytes], ...]  # as written, less Status and hop-by-hop ones
    content_length: int | None
    body: bytes  # what followed the blank line


def parse_cgi_head(data: bytes, limit: int = MAX_HEAD) -> CgiHead | None:
    """The header block at the start of ``data``; None while its blank line is still to come.

    Lines end in LF or CRLF.  ``Status: NNN reason`` sets the status (200-599,
    default 200, or 302 with a ``Location``); repeated headers are kept.
    Raises :class:`CgiHeadError` for a bad line or Status, no header at all,
    or no blank line within ``limit`` bytes.
    """
    fields: list[tuple[bytes, bytes]] = []
    start = 0
    while True:
        end = data.find(b"\n", start, limit)
        if end < 0:
            if len(data) >= limit:
                raise CgiHeadError(f"no end of the header block within {limit} bytes")
            return None
        line = data[start:end].removesuffix(b"\r")
        start = end + 1
        if not line:
            return _head(fields, data[start:])
        fields.append(_field(line))


def _field(line: bytes) -> tuple[bytes, bytes]:
    name, colon, value = line.partition(b":")
    if not colon or not _TOKEN.fullmatch(name):
        raise CgiHeadError(f"bad header line {line[:80]!r}")
    value = value.strip(b" \t")
    if _CONTROL.search(value):
        raise CgiHeadError(f"control character in header {name!r}")
    return name, value


def _head(fields: list[tuple[bytes, bytes]], body: bytes) -> CgiHead:
    if not fields:
        raise CgiHeadError("no header fields")
    status: int | None = None
    reason = b""
    length: int | None = None
    headers: list[tuple[bytes, bytes]] = []
    for name, value in fields:
        key = name.lower()
        if key == b"status":
            match = _STATUS.fullmatch(value)
            if status is not None or match is None or not 200 <= int(match[1]) <= 599:
                raise CgiHeadError(f"bad Status {value[:80]!r}")
            status, reason = int(match[1]), match[2] or b""
        elif key == b"content-length":
            if not value.isdigit() or (length is not None and int(value) != length):
                raise CgiHeadError(f"bad Content-Length {value[:80]!r}")
            length = int(value)
        elif key not in HOP_BY_HOP:
            headers.append((name, value))
    if status is None:
        status = 302 if any(name.lower() == b"location" for name, _ in headers) else 200
    if length is not None:
        headers.append((b"Content-Length", b"%d" % length))
    return CgiHead(status, reason, tuple(headers), length, body)
