"""Readers for the operational sections: ``managed_processes``, ``logging``, ``logger``,
``backup``, ``appliance``, ``cable`` and ``redis``."""

from __future__ import annotations

import re
from collections.abc import Callable

from .model import (
    Appliance,
    Backup,
    BackupServe,
    Cable,
    LoggerShipping,
    LoggerSink,
    Logging,
    ManagedProcess,
    Redis,
)
from .nodes import Node
from .sections import url
from .values import resolve_path

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
RSYNC_MODULE = re.compile(r"[A-Za-z0-9._-]+")


def _path(base_dir: str) -> Callable[[Node], str]:
    return lambda node: resolve_path(base_dir, node.text())


def read_managed_processes(node: Node, base_dir: str) -> tuple[ManagedProcess, ...]:
    processes: list[ManagedProcess] = []
    seen: set[str] = set()
    for item in node.items():
        process = ManagedProcess(
            name=item.require("name", Node.text),
            command=item.require("command", Node.text),
            args=item.read("args", Node.texts, ()),
            working_dir=item.read("working_dir", _path(base_dir), None),
            env=item.read("env", Node.env, ()),
            auto_restart=item.read("auto_restart", Node.flag, False),
            start_delay=item.read("start_delay", Node.duration, 0.0),
        )
        if process.name in seen:
            raise item.error(f"duplicate managed process name {process.name!r}")
        seen.add(process.name)
        processes.append(process)
    return tuple(processes)


def read_logging(node: Node, base_dir: str) -> Logging:
    return Logging(
        format=node.read("format", lambda n: n.choice("text", "json"), "text"),
        file=node.read("file", _path(base_dir), None),
        logger=node.read("logger", lambda n: _logger_shipping(n, base_dir), None),
    )


def _logger_shipping(node: Node, base_dir: str) -> LoggerShipping:
    return LoggerShipping(
        url=node.require("url", _http_url),
        secret=node.read("secret", Node.text, None),
        buffer_dir=node.read("buffer_dir", _path(base_dir), None),
    )


def _http_url(node: Node) -> str:
    value = node.text()
    if not value.startswith(("http://", "https://")):
        raise node.error(f"{value!r} is not an http(s) URL")
    return value


def read_logger(node: Node, base_dir: str) -> LoggerSink:
    return LoggerSink(
        dir=node.require("dir", _path(base_dir)),
        secret=node.read("secret", Node.text, None),
        retention=node.read("retention", Node.duration, 7 * 86400.0),
    )


def read_backup(node: Node, base_dir: str) -> Backup:
    return Backup(
        peers=node.read("peers", lambda n: n.each(_rsync_url), ()),
        password_file=node.read("password_file", _path(base_dir), None),
        module=node.read("module", _rsync_module, Backup().module),
        db_dir=node.read("db_dir", _path(base_dir), None),
        index_region=node.read("index_region", Node.text, None),
        serve=node.read("serve", lambda n: _backup_serve(n, base_dir), None),
    )


def _rsync_module(node: Node) -> str:
    value = node.text()
    if not RSYNC_MODULE.fullmatch(value):
        raise node.error(f"{value!r} is not an rsync module name (letters, digits, . _ -)")
    return value


def _rsync_url(node: Node) -> str:
    value = node.text()
    if not value.startswith("rsync://"):
        raise node.error(f"{value!r} is not an rsync:// URL")
    return value


def _backup_serve(node: Node, base_dir: str) -> BackupServe:
    return BackupServe(
        port=node.require("port", lambda n: n.integer(1, 65535)),
        users_file=node.require("users_file", _path(base_dir)),
        address=node.read("address", _one_word, "0.0.0.0"),
        hosts_allow=node.read("hosts_allow", lambda n: n.each(_one_word), ()),
    )


def _one_word(node: Node) -> str:
    value = node.text()
    if not value or any(c.isspace() or c == "," for c in value):
        raise node.error(f"{value!r} must be one address or pattern (no spaces or commas)")
    return value


def read_appliance(node: Node, base_dir: str) -> Appliance:
    return Appliance(token_file=node.require("token_file", _path(base_dir)))


def read_cable(node: Node, root_path: str) -> Cable:
    return Cable(
        enabled=node.read("enabled", Node.flag, True),
        path=node.read("path", url, f"{root_path}/cable"),
        broadcast_path=node.read("broadcast_path", url, "/_broadcast"),
    )


def read_redis(node: Node) -> Redis:
    return Redis(url=node.read("url", _redis_url, None))


def _redis_url(node: Node) -> str:
    value = node.text()
    if not value.startswith(REDIS_SCHEMES):
        raise node.error(f"{value!r} is not a redis://, rediss:// or unix:// URL")
    return value
