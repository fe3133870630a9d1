"""Put generated files in place: each validated first, none replaced unless all are good,
and a file whose bytes would not change is left alone (its mtime kept, so a watcher such
as the router's reload sees nothing new).

Each new text goes to a temporary file in the target's own directory, is checked there
(the router config loaded from that file, as the router would), then every checked file
is moved over its target with ``os.replace``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Sequence

import attrs
import yaml

from showcase.config import ConfigError, load_config
from showcase.router.htpasswd import parse as parse_htpasswd


class GenerateError(Exception):
    """Generation failed; the message is one line, and no file was replaced."""


Check = Callable[[str, str], None]
"""``check(temp_path, text)`` raises :class:`GenerateError` when the file is not good."""


@attrs.frozen
class Output:
    path: str
    text: str
    check: Check
    mode: int = 0o644  # for a new file; an existing file keeps its mode
    private: bool = False  # holds a secret: never readable by group or others, whatever mode


def check_router_config(temp_path: str, text: str) -> None:
    try:
        load_config(temp_path)
    except ConfigError as error:
        raise GenerateError(f"generated router config is not valid: {error}") from error


def check_yaml(expected: object) -> Check:
    def check(temp_path: str, text: str) -> None:
        with open(temp_path, encoding="utf-8") as file:
            if yaml.safe_load(file) != expected:
                raise GenerateError(f"{temp_path}: YAML does not read back as written")

    return check


def check_htpasswd(users: Sequence[str]) -> Check:
    def check(temp_path: str, text: str) -> None:
        with open(temp_path, encoding="utf-8") as file:
            parsed = parse_htpasswd(file.read())
        if sorted(parsed) != sorted(users):
            raise GenerateError(f"{temp_path}: htpasswd does not read back with every user")

    return check


def _unchanged(path: str, data: bytes) -> bool:
    try:
        with open(path, "rb") as file:
            return file.read() == data
    except OSError:
        return False


def _mode(path: str, default: int) -> int:
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return default


def _write_temp(output: Output, data: bytes) -> str:
    directory = os.path.dirname(output.path)
    os.makedirs(directory, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{os.path.basename(output.path)}.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        mode = _mode(output.path, output.mode)
        os.chmod(temp, mode & ~0o077 if output.private else mode)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return temp


def write_outputs(outputs: Sequence[Output]) -> list[str]:
    """Write the outputs whose content changed; the paths written, in order.

    Raises :class:`GenerateError` (nothing replaced) when a check fails or a file cannot be
    written.
    """
    staged: list[tuple[str, str]] = []
    try:
        for output in outputs:
            data = output.text.encode("utf-8")
            if _unchanged(output.path, data):
                continue
            try:
                temp = _write_temp(output, data)
            except OSError as error:
                raise GenerateError(f"cannot write {output.path}: {error.strerror}") from error
            staged.append((temp, output.path))
            output.check(temp, output.text)
        for temp, path in staged:
            os.replace(temp, path)
    except BaseException:
        for temp, _ in staged:
            with contextlib.suppress(OSError):
                os.unlink(temp)
        raise
    return [path for _, path in staged]
