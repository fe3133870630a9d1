"""An Apache htpasswd file: parse it, verify passwords, pick up edits without a restart.

Hash formats are those Apache's ``htpasswd`` writes: bcrypt (``$2y$``, ``$2a$``,
``$2b$``; checked with the ``bcrypt`` package, ``$2y$`` read as ``$2b$``),
APR1-MD5 ``$apr1$``, md5-crypt ``$1$``, ``{SHA}``, ``{SSHA}`` and SHA-crypt
``$5$``/``$6$`` (checked with libpass).  A line in any other form -- plain text
(``htpasswd -p``) or traditional DES crypt (``htpasswd -d``), which cannot be
told apart -- is refused: that user can never log in, and nothing is logged,
so a plaintext password never reaches a log.  Navigator accepts plain text as
a catch-all; a careful operator would not want that.

The file is stat-ed on every check and re-read when its ``(mtime_ns, size,
inode)`` changes.  A file that vanishes or cannot be read keeps the users last
read; the error is logged (at most once a minute while it lasts).

Verified credentials are cached per file version (bounded, oldest out first),
so a busy proxy does not run bcrypt on every request.  The key is ``(user,
HMAC-SHA256(password))`` under a per-process random key, so the cache holds no
plain, fast-to-crack password digest.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
from collections.abc import Callable

import bcrypt
from passlib.hash import (
    apr_md5_crypt,
    ldap_salted_sha1,
    ldap_sha1,
    md5_crypt,
    sha256_crypt,
    sha512_crypt,
)
from twisted.logger import Logger

CACHE_SIZE = 1024
"""Most verified (user, password) results kept for the current file version."""

ERROR_LOG_INTERVAL = 60.0
"""Seconds between repeated log lines while the file stays unreadable."""

BCRYPT_MAX_PASSWORD = 72
"""bcrypt reads only this many bytes; Apache's htpasswd truncates silently, so do we."""

_BCRYPT = re.compile(r"\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}")

_PASSLIB_PREFIXES = (
    ("$apr1$", apr_md5_crypt),
    ("$1$", md5_crypt),
    ("$5$", sha256_crypt),
    ("$6$", sha512_crypt),
    ("{SHA}", ldap_sha1),
    ("{SSHA}", ldap_salted_sha1),
)

Verifier = Callable[[bytes], bool]
Signature = tuple[int, int, int]


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _bcrypt_verifier(hashed: str) -> Verifier | None:
    if not _BCRYPT.fullmatch(hashed):
        return None
    stored = _encode("$2b$" + hashed[4:] if hashed.startswith("$2y$") else hashed)

    def verify(password: bytes) -> bool:
        try:
            return bcrypt.checkpw(password[:BCRYPT_MAX_PASSWORD], stored)
        except ValueError:
            return False

    return verify


def _passlib_verifier(hashed: str) -> Verifier | None:
    handler = next((h for prefix, h in _PASSLIB_PREFIXES if hashed.startswith(prefix)), None)
    if handler is None:
        return None
    try:
        parsed = handler.from_string(hashed)
    except (ValueError, TypeError):
        return None
    if not parsed.checksum:  # a bare salt ("config string"), not a hash
        return None

    def verify(password: bytes) -> bool:
        try:
            return bool(handler.verify(password, hashed))
        except (ValueError, TypeError):
            return False

    return verify


def verifier_for(hashed: str) -> Verifier | None:
    """A password checker for one stored hash, or None if the hash is refused."""
    if hashed.startswith("$2"):
        return _bcrypt_verifier(hashed)
    return _passlib_verifier(hashed)


def parse(text: str) -> dict[str, Verifier]:
    """Users and their checkers from htpasswd text.

    Lines are ``user:hash``, whitespace-trimmed; blank lines and ``#`` comments
    are ignored, malformed and refused lines skipped.  As in Apache, the first
    line for a user decides: a refused first line is not rescued by a later one.
    """
    users: dict[str, Verifier] = {}
    seen: set[str] = set()
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        user, colon, hashed = line.partition(":")
        user, hashed = user.strip(), hashed.strip()
        if not colon or not user or not hashed or user in seen:
            continue
        seen.add(user)
        verify = verifier_for(hashed)
        if verify is not None:
            users[user] = verify
    return users


class Htpasswd:
    """The users of one htpasswd file, kept current with the file."""

    log = Logger()

    def __init__(self, path: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self._clock = clock
        self._users: dict[str, Verifier] = {}
        self._signature: Signature | None = None
        self._cache: dict[tuple[str, bytes], bool] = {}
        self._cache_key = secrets.token_bytes(32)
        self._last_error_log: float | None = None
        self._refresh()

    def check(self, user: str, password: str) -> bool:
        """Whether ``password`` is ``user``'s password in the file as it is now."""
        self._refresh()
        verify = self._users.get(user)
        if verify is None:
            return False
        key = (user, hmac.digest(self._cache_key, _encode(password), hashlib.sha256))
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        valid = verify(_encode(password))
        if len(self._cache) >= CACHE_SIZE:
            del self._cache[next(iter(self._cache))]
        self._cache[key] = valid
        return valid

    @property
    def users(self) -> frozenset[str]:
        """The users who can log in (those with a usable hash)."""
        return frozenset(self._users)

    def _refresh(self) -> None:
        try:
            st = os.stat(self.path)
            if (st.st_mtime_ns, st.st_size, st.st_ino) == self._signature:
                self._last_error_log = None
                return
            with open(self.path, "rb") as f:
                st = os.fstat(f.fileno())
                data = f.read()
        except OSError as e:
            self._report(e)
            return
        self._last_error_log = None
        self._users = parse(data.decode("utf-8", "surrogateescape"))
        self._signature = (st.st_mtime_ns, st.st_size, st.st_ino)
        self._cache.clear()
        self.log.info(
            "htpasswd {path} loaded: {count} usable users", path=self.path, count=len(self._users)
        )

    def _report(self, error: OSError) -> None:
        now = self._clock()
        last = self._last_error_log
        if last is not None and now - last < ERROR_LOG_INTERVAL:
            return
        self._last_error_log = now
        self.log.error(
            "htpasswd {path} unreadable ({error}); keeping {count} users from the last read",
            path=self.path,
            error=error.strerror or str(error),
            count=len(self._users),
        )
