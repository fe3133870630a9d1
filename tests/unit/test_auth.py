"""Tests for :mod:`showcase.router.auth`.

Most credentials here are ``{SSHA}`` hashes built with hashlib
(``base64(sha1(password + salt) + salt)``) so the tests need no external tool;
one test uses a bcrypt file written by Apache's ``htpasswd``.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from showcase.config.model import Auth, AuthPattern
from showcase.router.auth import Authenticator, basic_credentials, glob_regex
from showcase.router.htpasswd import Htpasswd
from showcase.router.message import RequestHead


def ssha(password: str, salt: bytes = b"salt") -> str:
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def basic(user: str, password: str) -> bytes:
    return b"Basic " + base64.b64encode(f"{user}:{password}".encode())


def head(path: str = "/app/", authorization: bytes | None = None) -> RequestHead:
    headers: tuple[tuple[bytes, bytes], ...] = ((b"host", b"example.com"),)
    if authorization is not None:
        headers += ((b"authorization", authorization),)
    return RequestHead(
        method=b"GET",
        target=path.encode(),
        path=path,
        query=b"",
        version=b"1.1",
        headers=headers,
        client_ip="127.0.0.1",
    )


@pytest.fixture
def htpasswd(tmp_path: Path) -> Htpasswd:
    path = tmp_path / "htpasswd"
    path.write_text(f"alice:{ssha('wonder land')}\nbob:{ssha('builder')}\n")
    return Htpasswd(str(path))


def authenticator(htpasswd: Htpasswd | None, **fields: object) -> Authenticator:
    settings: dict[str, object] = {"enabled": True, "htpasswd": "/unused", **fields}
    return Authenticator(Auth(**settings), htpasswd)  # type: ignore[arg-type]


def test_valid_credentials_pass_with_user(htpasswd: Htpasswd) -> None:
    """Correct Basic credentials pass and name the remote user."""
    auth = authenticator(htpasswd)
    assert auth.active
    assert auth.check(head(authorization=basic("alice", "wonder land"))) == (True, "alice")


def test_wrong_or_missing_credentials_refused(htpasswd: Htpasswd) -> None:
    """A wrong password, an unknown user or no header at all is refused without a user."""
    auth = authenticator(htpasswd)
    assert auth.check(head(authorization=basic("alice", "wonderland"))) == (False, None)
    assert auth.check(head(authorization=basic("carol", "builder"))) == (False, None)
    assert auth.check(head(authorization=basic("bob", "wonder land"))) == (False, None)
    assert auth.check(head()) == (False, None)


def test_user_is_trimmed_password_is_not(htpasswd: Htpasswd) -> None:
    """Whitespace around the user name is ignored; around the password it counts."""
    auth = authenticator(htpasswd)
    assert auth.check(head(authorization=basic("  bob\t", "builder"))) == (True, "bob")
    assert auth.check(head(authorization=basic("bob", " builder"))) == (False, None)


def test_scheme_is_case_insensitive(htpasswd: Htpasswd) -> None:
    """``basic`` and ``BASIC`` are the Basic scheme."""
    auth = authenticator(htpasswd)
    token = base64.b64encode(b"bob:builder")
    for scheme in (b"basic", b"BASIC", b"bAsIc"):
        assert auth.check(head(authorization=scheme + b" " + token)) == (True, "bob")


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"Basic",
        b"Basic ",
        b"Bearer " + base64.b64encode(b"bob:builder"),
        b"Basic not*base64",
        b"Basic " + base64.b64encode(b"bob:builder")[:-2],
        b"Basic " + base64.b64encode(b"bobbuilder"),
        b"Basic " + base64.b64encode(b":builder"),
        b"Basic " + base64.b64encode(b"  :builder"),
        b"Basic " + base64.b64encode(b"\xff\xfe:\x00"),
        b"Digest username=bob",
    ],
)
def test_malformed_authorization_refused(htpasswd: Htpasswd, value: bytes) -> None:
    """A malformed Authorization header is refused, never an exception."""
    assert authenticator(htpasswd).check(head(authorization=value)) == (False, None)


@given(st.binary())
def test_basic_credentials_never_raises(value: bytes) -> None:
    """Any header bytes give credentials with a trimmed, non-empty user, or None."""
    result = basic_credentials(value)
    if result is not None:
        user, _ = result
        assert user and user == user.strip()


def test_inactive_when_disabled(htpasswd: Htpasswd) -> None:
    """Auth that is not enabled lets everything through without a user."""
    auth = authenticator(htpasswd, enabled=False)
    assert not auth.active
    assert auth.check(head()) == (True, None)


def test_inactive_without_htpasswd() -> None:
    """Enabled auth without an htpasswd file is inactive (as in Navigator)."""
    auth = authenticator(None)
    assert not auth.active
    assert auth.check(head()) == (True, None)


def test_inactive_when_realm_is_off(htpasswd: Htpasswd) -> None:
    """Realm ``off`` switches auth off, as in Navigator."""
    auth = authenticator(htpasswd, realm="off")
    assert not auth.active
    assert auth.check(head()) == (True, None)


def test_challenge() -> None:
    """The challenge is a 401 with a Basic realm, a plain body and kind auth-failure."""
    reply = authenticator(None, realm="Staff only").challenge()
    assert reply.status == 401
    assert dict(reply.headers)[b"WWW-Authenticate"] == b'Basic realm="Staff only"'
    assert reply.body == b"Unauthorized\n"
    assert reply.kind == "auth-failure"


def test_challenge_default_realm_and_quoting() -> None:
    """The default realm is Restricted; quotes and backslashes in a realm are escaped."""
    assert dict(authenticator(None).challenge().headers)[b"WWW-Authenticate"] == (
        b'Basic realm="Restricted"'
    )
    reply = authenticator(None, realm='a "b" \\c\r\n').challenge()
    assert dict(reply.headers)[b"WWW-Authenticate"] == b'Basic realm="a \\"b\\" \\\\c"'


PUBLIC = (
    "*.css",
    "/assets/*/logo.png",
    "/docs/",
    "/favicon.ico",
    "/s?/*",
    "/what?",
)


@pytest.mark.parametrize(
    ("path", "public"),
    [
        ("/site.css", True),
        ("/deep/dir/site.css", True),
        ("/site.css.map", False),
        ("/assets/v1/logo.png", True),
        ("/assets//logo.png", True),
        ("/assets/v1/v2/logo.png", False),
        ("/assets/v1/logo.pngx", False),
        ("/x/assets/v1/logo.png", False),
        ("/docs/", True),
        ("/docs/guide/intro", True),
        ("/docs", False),
        ("/favicon.ico", True),
        ("/favicon.ico/x", False),
        ("/favicon.icon", False),
        ("/sa/x", True),
        ("/s/x", False),
        ("/s//x", False),
        ("/what?", True),
        ("/whatx", False),
        ("/private", False),
    ],
)
def test_public_path_kinds(path: str, public: bool) -> None:
    """Suffix, glob (``*``/``?`` within one segment), prefix and exact entries.

    Only an entry containing ``*`` is a glob: ``/what?`` is exact."""
    assert authenticator(None, public_paths=PUBLIC).is_public(path) is public


def test_glob_special_characters_are_literal() -> None:
    """In a glob entry only ``*`` and ``?`` are wild; dots and brackets are literal."""
    auth = authenticator(None, public_paths=("/v[1]/*.js",))
    assert auth.is_public("/v[1]/app.js")
    assert not auth.is_public("/v1/app.js")
    assert not auth.is_public("/v[1]/appxjs")


def test_auth_patterns_off_are_public() -> None:
    """An ``auth_patterns`` regex with action off is searched in the path; others are not."""
    auth = authenticator(
        None,
        auth_patterns=(
            AuthPattern(re.compile(r"^/api/v\d+/public")),
            AuthPattern(re.compile(r"\.well-known/")),
            AuthPattern(re.compile(r"^/secret"), action="on"),
        ),
    )
    assert auth.is_public("/api/v2/public/items")
    assert auth.is_public("/tenant/.well-known/acme")
    assert not auth.is_public("/api/vx/public")
    assert not auth.is_public("/secret")


def test_public_path_needs_no_credentials(htpasswd: Htpasswd) -> None:
    """A public path passes without credentials and without a user, even with bad ones."""
    auth = authenticator(htpasswd, public_paths=("/up/",))
    assert auth.check(head("/up/now")) == (True, None)
    assert auth.check(head("/up/now", basic("bob", "wrong"))) == (True, None)
    assert auth.check(head("/upx")) == (False, None)


@pytest.mark.skipif(shutil.which("htpasswd") is None, reason="needs htpasswd from apache2-utils")
def test_bcrypt_file_from_apache(tmp_path: Path) -> None:
    """A bcrypt file written by Apache's htpasswd authenticates end to end."""
    path = tmp_path / "htpasswd"
    subprocess.run(
        ["htpasswd", "-cbB", "-C", "4", str(path), "dora", "explorer"],
        check=True,
        capture_output=True,
    )
    auth = authenticator(Htpasswd(str(path)))
    assert auth.check(head(authorization=basic("dora", "explorer"))) == (True, "dora")
    assert auth.check(head(authorization=basic("dora", "Explorer"))) == (False, None)


segment = st.text(st.sampled_from("ab.-_%é"), max_size=4)
glob_piece = st.one_of(segment, st.just("*"), st.just("?"), st.just("/"))


@given(st.lists(glob_piece, max_size=8), st.data())
def test_glob_star_never_crosses_slash(pieces: list[str], data: st.DataObject) -> None:
    """A glob matches a path only with as many ``/`` as it has; filling ``*`` and ``?`` without
    ``/`` always matches."""
    pattern = "/" + "".join(pieces)
    regex = glob_regex(pattern)
    filled = []
    for piece in pieces:
        if piece == "*":
            filled.append(data.draw(st.text(st.sampled_from("ab.é/"), max_size=3)))
        elif piece == "?":
            filled.append(data.draw(st.sampled_from("ab.é/")))
        else:
            filled.append(piece)
    path = "/" + "".join(filled)
    wild = [f for p, f in zip(pieces, filled, strict=True) if p in ("*", "?")]
    if regex.fullmatch(path):
        assert path.count("/") == pattern.count("/")
    if not any("/" in w for w in wild):
        assert regex.fullmatch(path)
    else:
        assert not regex.fullmatch(path)


@given(st.lists(st.text(st.sampled_from("ab.-_*?é"), min_size=1, max_size=5), max_size=4))
def test_exact_entry_is_public(segments: list[str]) -> None:
    """A path equal to a public entry is public, whatever kind the entry is."""
    entry = "/" + "/".join(segments)
    assert authenticator(None, public_paths=(entry,)).is_public(entry)
