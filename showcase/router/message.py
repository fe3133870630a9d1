"""The request head and the local reply: the two values the router passes around.

The front end (:mod:`showcase.router.front`) parses a request head into a
:class:`RequestHead`; the deciding parts (auth, rules, static files,
maintenance) answer locally with a :class:`Reply`, which the front end writes.
Header names are lower-case ``bytes`` in a request head; reply headers keep
the case they are given.
"""

from __future__ import annotations

import attrs

Headers = tuple[tuple[bytes, bytes], ...]


@attrs.frozen
class RequestHead:
    method: bytes  # b"GET"
    target: bytes  # the raw request target as sent: b"/a%20b?x=1"
    path: str  # percent-decoded path, without the query (may be rewritten later)
    query: bytes  # b"x=1" or b""
    version: bytes  # b"1.1" or b"1.0"
    headers: Headers  # names lower-case, in order, repeats kept
    client_ip: str  # the peer's address
    secure: bool = False

    def header(self, name: bytes) -> bytes | None:
        """The first value of header ``name`` (lower-case), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None


@attrs.frozen
class FileBody:
    """A byte range of a file to send as the body."""

    path: str
    offset: int
    length: int
    # The file's ETag: lets small files be served from memory (not part of equality).
    version: bytes = attrs.field(default=b"", eq=False)


@attrs.frozen
class Reply:
    """A response the router makes itself.

    ``headers`` carries neither ``Content-Length`` nor ``Connection``: the
    front end adds them from ``body`` / ``file``.  ``kind`` is the access
    log's ``response_type`` (``static``, ``redirect``, ``auth-failure``,
    ``maintenance``, ``health``, ``not-found``, ``error`` ...).
    """

    status: int
    headers: Headers = ()
    body: bytes = b""
    file: FileBody | None = None
    kind: str = "local"
    destination: str | None = None
