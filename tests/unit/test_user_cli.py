"""``showcase user add``: the first administrator without the admin app."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest

from showcase.cli import main
from showcase.router.htpasswd import verifier_for


def run(monkeypatch: pytest.MonkeyPatch, args: list[str], stdin: str) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["user", "add", *args])


def users(index: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(index) as conn:
        return conn.execute("SELECT userid, password, sites FROM users ORDER BY id").fetchall()


def test_adds_an_administrator_to_a_new_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A missing index database is created and the user stored with a bcrypt hash of the
    password read from standard input, with sites 'index' by default."""
    index = tmp_path / "db" / "index.sqlite3"
    assert run(monkeypatch, ["admin", "--index", str(index)], "correct horse\n") == 0
    [(userid, hashed, sites)] = users(index)
    assert (userid, sites) == ("admin", "index")
    verify = verifier_for(hashed)  # as the router checks the generated htpasswd
    assert hashed.startswith("$2y$") and verify is not None and verify(b"correct horse")


def test_updates_an_existing_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Adding a user that exists replaces its password instead of adding a second row."""
    index = tmp_path / "index.sqlite3"
    assert run(monkeypatch, ["admin", "--index", str(index)], "first password\n") == 0
    assert run(monkeypatch, ["admin", "--index", str(index)], "second password\n") == 0
    [(_, hashed, _)] = users(index)
    verify = verifier_for(hashed)
    assert verify is not None and verify(b"second password")
    assert not verify(b"first password")


@pytest.mark.parametrize(
    ("args", "stdin", "code"),
    [
        (["bad user"], "long enough\n", 2),
        (["admin"], "short\n", 1),
        (["admin", "--sites", "Nowhere"], "long enough\n", 1),
    ],
)
def test_bad_input_changes_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    stdin: str,
    code: int,
) -> None:
    """A bad login name, a short password or an unknown site is refused with a reason and no
    user is stored."""
    index = tmp_path / "index.sqlite3"
    assert run(monkeypatch, [*args, "--index", str(index)], stdin) == code
    assert capsys.readouterr().err.startswith("showcase user add: ")
    assert not index.exists() or users(index) == []
