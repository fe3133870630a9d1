"""HTTP Basic authentication in front of everything but health and broadcast.

Follows Navigator's ``internal/auth/auth.go`` (reference §8): auth is active when
enabled, an htpasswd file is configured and the realm is not ``off``.  A request
for a public path passes without credentials; any other needs a user and
password from the htpasswd file, else it gets :meth:`Authenticator.challenge`.

Public paths are matched against the path as sent (percent-decoded, before
rewrites).  ``public_paths`` entries, first hit wins: one starting with ``*`` is
a suffix (``*.css``); one containing ``*`` elsewhere is a glob whose ``*`` and
``?`` never match ``/`` (other characters are literal); one ending in ``/`` is
a prefix; anything else must equal the path.  Then each ``auth_patterns`` regex
with action ``off`` is searched in the path.
"""

from __future__ import annotations

import base64
import binascii
import re

from showcase.config.model import Auth
from showcase.router.htpasswd import Htpasswd
from showcase.router.message import Reply, RequestHead

UNAUTHORIZED_BODY = b"Unauthorized\n"


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A regex matching a whole path against a glob whose ``*``/``?`` stay within a segment."""
    parts = []
    for char in pattern:
        if char == "*":
            parts.append("[^/]*")
        elif char == "?":
            parts.append("[^/]")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def basic_credentials(value: bytes | None) -> tuple[str, str] | None:
    """``(user, password)`` from an ``Authorization: Basic`` value, or None if absent or malformed.

    The user is whitespace-trimmed; the password is kept as sent.  Both are read
    as UTF-8, with undecodable bytes kept (surrogateescape) so they match the
    file byte for byte.
    """
    if value is None:
        return None
    scheme, _, encoded = value.strip().partition(b" ")
    if scheme.lower() != b"basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, colon, password = decoded.decode("utf-8", "surrogateescape").partition(":")
    user = user.strip()
    if not colon or not user:
        return None
    return user, password


def _quoted(text: str) -> bytes:
    """``text`` as an RFC 9110 quoted-string, control characters dropped."""
    clean = "".join(c for c in text if c >= " " and c != "\x7f")
    return b'"' + clean.replace("\\", "\\\\").replace('"', '\\"').encode("utf-8") + b'"'


class Authenticator:
    """Decides whether a request may pass, from one frozen :class:`Auth` config."""

    def __init__(self, auth: Auth, htpasswd: Htpasswd | None) -> None:
        self._htpasswd = htpasswd
        self.active = auth.enabled and htpasswd is not None and auth.realm != "off"
        self._suffixes: list[str] = []
        self._prefixes: list[str] = []
        self._exact: set[str] = set()
        self._globs: list[re.Pattern[str]] = []
        for entry in auth.public_paths:
            if entry.startswith("*"):
                self._suffixes.append(entry[1:])
            elif "*" in entry:
                self._globs.append(glob_regex(entry))
            elif entry.endswith("/"):
                self._prefixes.append(entry)
            else:
                self._exact.add(entry)
        self._open_patterns = [p.pattern for p in auth.auth_patterns if p.action == "off"]
        self._challenge = Reply(
            status=401,
            headers=(
                (b"WWW-Authenticate", b"Basic realm=" + _quoted(auth.realm)),
                (b"Content-Type", b"text/plain; charset=utf-8"),
            ),
            body=UNAUTHORIZED_BODY,
            kind="auth-failure",
        )

    def is_public(self, path: str) -> bool:
        """Whether ``path`` (as sent, before rewrites) needs no credentials."""
        return (
            path in self._exact
            or any(path.endswith(s) for s in self._suffixes)
            or any(path.startswith(p) for p in self._prefixes)
            or any(g.fullmatch(path) for g in self._globs)
            or any(p.search(path) for p in self._open_patterns)
        )

    def check(self, head: RequestHead) -> tuple[bool, str | None]:
        """``(allowed, remote_user)`` for a request; the user only when credentials were checked."""
        if not self.active or self.is_public(head.path):
            return True, None
        credentials = basic_credentials(head.header(b"authorization"))
        if credentials is None or self._htpasswd is None:
            return False, None
        user, password = credentials
        if self._htpasswd.check(user, password):
            return True, user
        return False, None

    def challenge(self) -> Reply:
        """The 401 asking for Basic credentials in this realm."""
        return self._challenge
