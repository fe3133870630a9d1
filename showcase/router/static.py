"""Static files from ``server.static.public_dir``: decisions only.

:class:`StaticFiles` answers a request for a file under the public directory
with a :class:`~showcase.router.message.Reply` whose ``file`` names the byte
range to send, or None so the request falls through to the next stage.  It
only stats files; the front end opens and sends them.

No URL path may name a file outside ``public_dir``: :func:`safe_join` refuses
``.`` and ``..`` segments, backslashes, NUL bytes, and any path whose real
path (symlinks resolved) leaves the real public directory.
"""

from __future__ import annotations

import mimetypes
import os
import posixpath
import stat
from urllib.parse import quote

from showcase.config.model import Static
from showcase.router.conditional import (
    UNSATISFIABLE,
    ByteRange,
    entity_tag,
    http_date,
    not_modified,
    requested_range,
)
from showcase.router.message import FileBody, Headers, Reply, RequestHead

_SERVED_METHODS = (b"GET", b"HEAD")
_INDEX = "index.html"
_ENCODED_SEPARATORS = (b"%2f", b"%5c", b"%00")
_URL_SAFE = "/!$&'()*+,;=:@~"

# Only Python's built-in table, so answers do not depend on the host's /etc/mime.types.
_BUILTIN_TYPES = mimetypes.MimeTypes().types_map[True]
_PREFERRED_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".eot": "application/vnd.ms-fontobject",
    ".map": "application/json",
    ".gz": "application/gzip",
}
_UTF8_TYPES = ("application/json", "application/manifest+json")


def content_type(name: str) -> bytes:
    """The ``Content-Type`` for a file called ``name`` (text types in UTF-8)."""
    ext = posixpath.splitext(name)[1].lower()
    mime = _PREFERRED_TYPES.get(ext) or _BUILTIN_TYPES.get(ext) or "application/octet-stream"
    if mime.startswith("text/") or mime in _UTF8_TYPES:
        mime += "; charset=utf-8"
    return mime.encode("ascii")


def _extension(path: str) -> str:
    """The lower-cased extension of the last segment, without the dot ("" if none)."""
    return posixpath.splitext(path.rpartition("/")[2])[1][1:].lower()


def _inside(real: str, real_root: str) -> bool:
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def safe_join(public_dir: str, path: str) -> str | None:
    """The file path under public_dir for URL path `path`, or None if it could escape.

    Without ``.``/``..`` segments a path can only leave the tree through a
    symlink, so the segments are ``lstat``-ed; only when one is a link is the
    real path resolved and checked (``realpath`` is a quarter of the CPU of a
    static request otherwise).
    """
    if "\x00" in path or "\\" in path:
        return None
    segments = [segment for segment in path.split("/") if segment]
    if any(segment in (".", "..") for segment in segments):
        return None
    joined = os.path.join(public_dir, *segments)
    current = public_dir
    for segment in segments:
        current = os.path.join(current, segment)
        try:
            mode = os.lstat(current).st_mode
        except (OSError, ValueError):
            return joined  # nothing there to read
        if stat.S_ISLNK(mode):
            break
    else:
        return joined
    try:
        real_root = os.path.realpath(public_dir)
        real = os.path.realpath(joined)
    except (OSError, ValueError):
        return None
    return joined if _inside(real, real_root) else None


def _location(path: str, query: bytes) -> bytes:
    """A same-site ``Location`` for the decoded ``path`` (never ``//host``)."""
    location = "/" + quote(path.lstrip("/"), safe=_URL_SAFE, errors="surrogateescape")
    return location.encode("ascii") + (b"?" + query if query else b"")


def _redirect(path: str, query: bytes) -> Reply:
    location = _location(path, query)
    return Reply(
        301,
        headers=((b"Location", location), (b"Content-Type", b"text/html; charset=utf-8")),
        body=b'<a href="%s">Moved Permanently</a>.\n' % location.replace(b'"', b"%22"),
        kind="redirect",
        destination=location.decode("ascii"),
    )


def _regular_file(filename: str) -> os.stat_result | None:
    try:
        info = os.stat(filename)
    except (OSError, ValueError):
        return None
    return info if stat.S_ISREG(info.st_mode) else None


class StaticFiles:
    """The static-file and try_files stages of the router."""

    def __init__(self, static: Static, root_path: str) -> None:
        self._static = static
        self._root_path = root_path.rstrip("/")
        overrides = sorted(static.cache_control.overrides, key=lambda o: len(o.path))
        self._overrides = tuple(reversed(overrides))  # longest prefix first

    def _strip_root(self, path: str) -> str:
        """``path`` without the ``root_path`` prefix when it has it, else as is."""
        root = self._root_path
        if root and (path == root or path.startswith(root + "/")):
            return path[len(root) :]
        return path

    def _servable(self, head: RequestHead) -> bool:
        """GET or HEAD, and no encoded separator or NUL in the raw target path."""
        if head.method not in _SERVED_METHODS:
            return False
        raw_path = head.target.partition(b"?")[0].lower()
        return not any(encoded in raw_path for encoded in _ENCODED_SEPARATORS)

    def _find(self, url_path: str) -> tuple[str, os.stat_result] | None:
        filename = safe_join(self._static.public_dir, url_path)
        if filename is None:
            return None
        info = _regular_file(filename)
        return None if info is None else (filename, info)

    def lookup(self, head: RequestHead, path: str) -> Reply | None:
        """Serve `path` (the percent-decoded, possibly rewritten request path) directly as a file,
        or None to fall through."""
        local = self._strip_root(path)
        ext = _extension(local)
        allowed = self._static.allowed_extensions
        if not ext or (allowed and ext not in allowed) or not self._servable(head):
            return None
        found = self._find(local)
        if found is None:
            return None
        if path.endswith("/" + _INDEX):
            return _redirect(path[: -len(_INDEX)], head.query)
        return self._serve(head, path, *found)

    def try_files(self, head: RequestHead, path: str) -> Reply | None:
        """The try_files stage (extension-less paths), incl. normalize_trailing_slashes 301;
        None to fall through."""
        static = self._static
        if not (static.try_files or static.normalize_trailing_slashes):
            return None
        local = self._strip_root(path)
        if _extension(local) or not self._servable(head):
            return None
        if (
            static.normalize_trailing_slashes
            and not path.endswith("/")
            and self._find(local + "/" + _INDEX) is not None
        ):
            return _redirect(path + "/", head.query)
        for suffix in static.try_files:
            found = self._find(local + suffix)
            if found is not None:
                return self._serve(head, path, *found)
        return None

    def cache_control(self, path: str) -> bytes | None:
        """Cache-Control value for `path` (longest override prefix wins, else default)."""
        policy = self._static.cache_control
        for override in self._overrides:
            if path.startswith(override.path):
                return _cache_value(override.max_age, override.immutable)
        if policy.default is None:
            return None
        return _cache_value(policy.default, policy.default_immutable)

    def _serve(self, head: RequestHead, path: str, filename: str, info: os.stat_result) -> Reply:
        """The 200, 206, 304 or 416 reply for ``filename`` as described by ``info``."""
        size, mtime = info.st_size, info.st_mtime_ns // 1_000_000_000
        etag = entity_tag(size, info.st_mtime_ns)
        validators: Headers = ((b"ETag", etag), (b"Last-Modified", http_date(mtime)))
        cache = self.cache_control(path)
        if cache is not None:
            validators += ((b"Cache-Control", cache),)
        if not_modified(head, etag, mtime):
            return Reply(304, headers=validators, kind="static", destination=filename)
        headers = ((b"Content-Type", content_type(filename)), (b"Accept-Ranges", b"bytes"))
        wanted = requested_range(head, etag, mtime, size)
        if wanted is UNSATISFIABLE:
            return Reply(
                416,
                headers=((b"Content-Range", b"bytes */%d" % size), (b"Accept-Ranges", b"bytes")),
                kind="static",
                destination=filename,
            )
        if isinstance(wanted, ByteRange):
            return Reply(
                206,
                headers=(*headers, *validators, (b"Content-Range", wanted.content_range(size))),
                file=FileBody(filename, wanted.start, wanted.length, etag),
                kind="static",
                destination=filename,
            )
        return Reply(
            200,
            headers=headers + validators,
            file=FileBody(filename, 0, size, etag),
            kind="static",
            destination=filename,
        )


def _cache_value(max_age: float, immutable: bool) -> bytes:
    value = b"public, max-age=%d" % max(0, int(max_age))
    return value + b", immutable" if immutable else value
