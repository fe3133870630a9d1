"""Tests for :mod:`showcase.router.htpasswd`.

Hashes come from the real tools wherever one exists: Apache's ``htpasswd``
(apache2-utils) for bcrypt ``$2y$``, APR1, ``{SHA}``, ``$5$`` and ``$6$``;
``openssl passwd -1`` for md5-crypt ``$1$``.  ``$2a$``/``$2b$`` come from the
``bcrypt`` package (htpasswd only writes ``$2y$``), and ``{SSHA}`` is built here
with hashlib as OpenLDAP's slappasswd does: ``base64(sha1(password + salt) + salt)``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import bcrypt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from twisted.logger import LogLevel, capturedLogs

from showcase.router import htpasswd as htpasswd_module
from showcase.router.htpasswd import CACHE_SIZE, ERROR_LOG_INTERVAL, Htpasswd, parse

needs_htpasswd = pytest.mark.skipif(
    shutil.which("htpasswd") is None, reason="needs htpasswd from apache2-utils"
)
needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


def apache(flags: str, user: str, password: str) -> str:
    """One ``user:hash`` line from ``htpasswd -nb<flags>`` (flags split on spaces)."""
    first, *rest = flags.split()
    out = subprocess.run(
        ["htpasswd", f"-nb{first}", *rest, user, password],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.strip()


def ssha(password: str, salt: bytes) -> str:
    """An ``{SSHA}`` hash made with hashlib (htpasswd cannot write one)."""
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def write(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def error_events(events: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [e for e in events if e["log_level"] == LogLevel.error]


APACHE_FORMATS = [
    pytest.param("B -C 4", "$2y$", id="bcrypt-2y"),
    pytest.param("m", "$apr1$", id="apr1"),
    pytest.param("s", "{SHA}", id="sha1"),
    pytest.param("2", "$5$", id="sha256-crypt"),
    pytest.param("5", "$6$", id="sha512-crypt"),
]


@needs_htpasswd
@pytest.mark.parametrize(("flag", "prefix"), APACHE_FORMATS)
def test_apache_formats_accept_the_password(tmp_path: Path, flag: str, prefix: str) -> None:
    """Every hash Apache's htpasswd writes verifies the password it was made from."""
    out = apache(flag, "alice", "s3cret pass")
    assert out.split(":", 1)[1].startswith(prefix)
    users = Htpasswd(str(write(tmp_path / "htpasswd", out)))
    assert users.check("alice", "s3cret pass")


@needs_htpasswd
@pytest.mark.parametrize(("flag", "prefix"), APACHE_FORMATS)
def test_apache_formats_refuse_wrong_passwords(tmp_path: Path, flag: str, prefix: str) -> None:
    """A wrong, empty or differently-cased password, or another user name, is refused."""
    out = apache(flag, "alice", "s3cret")
    users = Htpasswd(str(write(tmp_path / "htpasswd", out)))
    for password in ("S3cret", "s3cret ", "", "s3cre"):
        assert not users.check("alice", password)
    assert not users.check("bob", "s3cret")
    assert not users.check("Alice", "s3cret")


@needs_openssl
def test_md5_crypt(tmp_path: Path) -> None:
    """A ``$1$`` md5-crypt hash from ``openssl passwd -1`` verifies; a wrong password does not."""
    hashed = subprocess.run(
        ["openssl", "passwd", "-1", "pw"], check=True, capture_output=True, text=True
    ).stdout.strip()
    assert hashed.startswith("$1$")
    users = Htpasswd(str(write(tmp_path / "htpasswd", f"carol:{hashed}")))
    assert users.check("carol", "pw")
    assert not users.check("carol", "pW")


@pytest.mark.parametrize("prefix", [b"2a", b"2b"])
def test_bcrypt_2a_and_2b(tmp_path: Path, prefix: bytes) -> None:
    """``$2a$`` and ``$2b$`` bcrypt hashes (from the bcrypt package) verify."""
    hashed = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4, prefix=prefix)).decode()
    users = Htpasswd(str(write(tmp_path / "htpasswd", f"dave:{hashed}")))
    assert users.check("dave", "pw")
    assert not users.check("dave", "px")


@pytest.mark.parametrize("salt", [b"abcd", b"\x00\xff\x10\x20\x30\x40\x50\x60"])
def test_ssha(tmp_path: Path, salt: bytes) -> None:
    """``{SSHA}`` with a 4- or 8-byte salt verifies the right password only."""
    users = Htpasswd(str(write(tmp_path / "htpasswd", "erin:" + ssha("pw", salt))))
    assert users.check("erin", "pw")
    assert not users.check("erin", "pw2")


@needs_htpasswd
def test_bcrypt_long_password_truncated_like_apache(tmp_path: Path) -> None:
    """bcrypt reads 72 bytes: a longer password set with htpasswd works, as in Apache."""
    long = "a" * 72 + "tail"
    line = apache("B -C 4", "frank", long)
    users = Htpasswd(str(write(tmp_path / "htpasswd", line)))
    assert users.check("frank", long)
    assert users.check("frank", "a" * 72)
    assert not users.check("frank", "a" * 71)


@needs_htpasswd
@pytest.mark.parametrize("flag", ["p", "d"])
def test_plaintext_and_des_crypt_refused(tmp_path: Path, flag: str) -> None:
    """Plain-text (-p) and DES crypt (-d) lines never match, and nothing is logged about them."""
    line = apache(flag, "gina", "pw")
    with capturedLogs() as events:
        users = Htpasswd(str(write(tmp_path / "htpasswd", line)))
        assert not users.check("gina", "pw")
        assert not users.check("gina", line.split(":", 1)[1])
    assert users.users == frozenset()
    assert not error_events(events)
    assert not any("pw" in str(e.get("log_format")) for e in events)


def test_plaintext_refused_without_binary(tmp_path: Path) -> None:
    """A plain-text line written by hand never matches its password."""
    users = Htpasswd(str(write(tmp_path / "htpasswd", "hank:letmein")))
    assert not users.check("hank", "letmein")


def test_comments_blank_and_malformed_lines(tmp_path: Path) -> None:
    """Comments, blank and malformed lines are skipped; surrounding whitespace is trimmed."""
    path = write(
        tmp_path / "htpasswd",
        "# a comment: with a colon",
        "",
        "   ",
        "no-colon-here",
        ":" + ssha("pw", b"salt"),
        "empty:",
        "badsalt:$5$onlysalt",
        "badbcrypt:$2y$05$short",
        "badssha:{SSHA}!!!",
        "  ivan : " + ssha("pw", b"salt") + "  ",
        "\tjane:" + ssha("pw2", b"salt") + "\t",
    )
    users = Htpasswd(str(path))
    assert users.users == {"ivan", "jane"}
    assert users.check("ivan", "pw")
    assert users.check("jane", "pw2")
    assert not users.check("badbcrypt", "")


def test_first_line_for_a_user_wins(tmp_path: Path) -> None:
    """As in Apache, the first line for a user decides, even when it is refused."""
    path = write(
        tmp_path / "htpasswd",
        "kim:" + ssha("first", b"salt"),
        "kim:" + ssha("second", b"salt"),
        "lee:plaintext",
        "lee:" + ssha("pw", b"salt"),
    )
    users = Htpasswd(str(path))
    assert users.check("kim", "first")
    assert not users.check("kim", "second")
    assert not users.check("lee", "pw")


def test_non_utf8_password_round_trips(tmp_path: Path) -> None:
    """A password that is not UTF-8 is checked byte for byte."""
    salt = b"salt"
    raw = b"caf\xe9"
    digest = hashlib.sha1(raw + salt).digest()
    line = b"mia:{SSHA}" + base64.b64encode(digest + salt) + b"\n"
    path = tmp_path / "htpasswd"
    path.write_bytes(line)
    users = Htpasswd(str(path))
    assert users.check("mia", raw.decode("utf-8", "surrogateescape"))
    assert not users.check("mia", "café")


def test_change_picked_up_without_restart(tmp_path: Path) -> None:
    """Rewriting the file in place changes who may log in at the next check."""
    path = write(tmp_path / "htpasswd", "ned:" + ssha("old", b"salt"))
    users = Htpasswd(str(path))
    assert users.check("ned", "old")
    write(path, "ned:" + ssha("new", b"salt"), "olga:" + ssha("pw", b"salt"))
    assert users.check("ned", "new")
    assert not users.check("ned", "old")
    assert users.check("olga", "pw")


def test_same_size_rewrite_picked_up(tmp_path: Path) -> None:
    """A rewrite of the same size is noticed by its new modification time."""
    path = write(tmp_path / "htpasswd", "pat:" + ssha("aaaa", b"salt"))
    users = Htpasswd(str(path))
    assert users.check("pat", "aaaa")
    before = path.stat()
    write(path, "pat:" + ssha("bbbb", b"salt"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000))
    assert path.stat().st_size == before.st_size
    assert users.check("pat", "bbbb")
    assert not users.check("pat", "aaaa")


def test_atomic_replace_picked_up(tmp_path: Path) -> None:
    """A file replaced by rename (a new inode) is read again."""
    path = write(tmp_path / "htpasswd", "quin:" + ssha("old", b"salt"))
    users = Htpasswd(str(path))
    assert users.check("quin", "old")
    os.replace(write(tmp_path / "new", "quin:" + ssha("new", b"salt")), path)
    assert users.check("quin", "new")
    assert not users.check("quin", "old")


def test_vanished_file_keeps_users_and_logs(tmp_path: Path) -> None:
    """A deleted file keeps the old users; the error is logged, then at most once a minute."""
    clock = Clock()
    path = write(tmp_path / "htpasswd", "rita:" + ssha("pw", b"salt"))
    users = Htpasswd(str(path), clock=clock)
    path.unlink()
    with capturedLogs() as events:
        assert users.check("rita", "pw")
        assert users.check("rita", "pw")
        assert not users.check("rita", "wrong")
        assert len(error_events(events)) == 1
        clock.now += ERROR_LOG_INTERVAL
        assert users.check("rita", "pw")
        assert len(error_events(events)) == 2
    write(path, "rita:" + ssha("again", b"salt"))
    assert users.check("rita", "again")


def test_unreadable_file_keeps_users(tmp_path: Path) -> None:
    """A path that cannot be read (here a directory) keeps the old users and does not raise."""
    path = write(tmp_path / "htpasswd", "sam:" + ssha("pw", b"salt"))
    users = Htpasswd(str(path))
    path.unlink()
    path.mkdir()
    with capturedLogs() as events:
        assert users.check("sam", "pw")
    assert len(error_events(events)) == 1


def test_missing_at_start(tmp_path: Path) -> None:
    """A file missing at start means no users and a logged error, not a crash.

    It is read once it appears."""
    path = tmp_path / "htpasswd"
    with capturedLogs() as events:
        users = Htpasswd(str(path))
        assert not users.check("tom", "pw")
    assert len(error_events(events)) == 1
    write(path, "tom:" + ssha("pw", b"salt"))
    assert users.check("tom", "pw")


def test_verified_credentials_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """bcrypt runs once per distinct credentials until the file changes."""
    calls: list[bytes] = []
    real = bcrypt.checkpw

    def counting(password: bytes, hashed: bytes) -> bool:
        calls.append(password)
        return real(password, hashed)

    monkeypatch.setattr(htpasswd_module.bcrypt, "checkpw", counting)
    hashed = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4)).decode()
    path = write(tmp_path / "htpasswd", f"uma:{hashed}")
    users = Htpasswd(str(path))
    for _ in range(3):
        assert users.check("uma", "pw")
        assert not users.check("uma", "nope")
    assert len(calls) == 2
    write(path, f"uma:{hashed}", "# touched")
    assert users.check("uma", "pw")
    assert len(calls) == 3


def test_cache_is_bounded(tmp_path: Path) -> None:
    """The cache never holds more than CACHE_SIZE results."""
    users = Htpasswd(str(write(tmp_path / "htpasswd", "vic:" + ssha("pw", b"salt"))))
    for i in range(CACHE_SIZE + 50):
        assert not users.check("vic", f"guess{i}")
    assert len(users._cache) == CACHE_SIZE  # private: the bound is the behaviour under test
    assert users.check("vic", "pw")


@given(st.text())
def test_parse_never_raises(text: str) -> None:
    """Any file content parses without error, and only lines with a known hash make users."""
    users = parse(text)
    for user in users:
        assert ":" not in user
        assert user == user.strip()


@given(
    st.dictionaries(
        st.text(
            st.characters(codec="utf-8", exclude_characters=":#"),
            min_size=1,
            max_size=12,
        ).filter(lambda u: u == u.strip() and u.isprintable()),
        st.text(st.characters(codec="utf-8"), max_size=20),
        max_size=5,
    )
)
def test_ssha_lines_round_trip(entries: dict[str, str]) -> None:
    """Every user written as ``user:{SSHA}…`` is read back with a checker for its password."""
    text = "\n".join(f"{user}:{ssha(pw, b'salt')}" for user, pw in entries.items())
    users = parse(text)
    assert set(users) == set(entries)
    for user, password in entries.items():
        assert users[user](password.encode("utf-8", "surrogateescape"))
