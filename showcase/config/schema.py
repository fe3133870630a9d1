"""Which keys the router config accepts, section by section.

The loader rejects any mapping key not listed here, naming the file, line and key path.
``None`` marks a value (scalar, list of scalars or free-form mapping such as ``env``),
a ``dict`` a mapping with exactly these keys, :class:`ListOf` a list of such mappings.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeAlias

import attrs


@attrs.frozen
class ListOf:
    """A list whose items follow ``item``."""

    item: Schema


Schema: TypeAlias = "dict[str, Schema] | ListOf | None"


def _keys(*names: str) -> dict[str, Schema]:
    return dict.fromkeys(names)


HOOK = ListOf(_keys("command", "args", "env", "timeout", "reload_config"))
BOT_DETECTION = _keys("enabled", "action")

SERVER: dict[str, Schema] = {
    **_keys("listen", "hostname", "root_path", "trust_proxy"),
    "static": {
        **_keys("public_dir", "allowed_extensions", "try_files", "normalize_trailing_slashes"),
        "cache_control": {
            **_keys("default", "default_immutable"),
            "overrides": ListOf(_keys("path", "max_age", "immutable")),
        },
    },
    "health_check": {"path": None, "response": _keys("status", "body", "headers")},
    "idle": _keys("action", "timeout"),
    "cgi_scripts": ListOf(
        _keys(
            "path",
            "script",
            "method",
            "user",
            "group",
            "timeout",
            "env",
            "allowed_users",
            "reload_config",
        )
    ),
    "bot_detection": BOT_DETECTION,
    "limits": _keys(
        "max_body",
        "header_timeout",
        "idle_connection_timeout",
        "max_header_bytes",
        "max_uri_length",
    ),
}

TENANT: dict[str, Schema] = {
    **_keys("path", "name", "root", "var", "env", "runtime", "server", "args"),
    **_keys("health_check", "startup_timeout", "track_websockets", "memory_limit"),
    "bot_detection": BOT_DETECTION,
    "hooks": {"start": HOOK, "stop": HOOK},
}

APPLICATIONS: dict[str, Schema] = {
    "pools": _keys(
        "timeout",
        "stop_timeout",
        "start_port",
        "max_size",
        "default_memory_limit",
        "user",
        "group",
    ),
    **_keys("startup_timeout", "health_check", "env", "track_websockets", "preload"),
    "framework": _keys("command", "args", "app_directory", "port_env_var", "start_delay"),
    "tenants": ListOf(TENANT),
}

ROUTES: dict[str, Schema] = {
    "redirects": ListOf(_keys("from", "to", "status")),
    "rewrites": ListOf(_keys("from", "to")),
    "reverse_proxies": ListOf(
        _keys(
            "name",
            "path",
            "prefix",
            "target",
            "strip_path",
            "headers",
            "response_headers",
            "websocket",
        )
    ),
    "fly": {
        "replay": ListOf(_keys("path", "app", "region", "machine", "status")),
        "internal": None,
        "internal_hosts": None,
    },
}

SCHEMA: dict[str, Schema] = {
    "server": SERVER,
    "auth": {
        **_keys("enabled", "realm", "htpasswd", "public_paths"),
        "auth_patterns": ListOf(_keys("pattern", "action")),
    },
    "maintenance": _keys("enabled", "page"),
    "applications": APPLICATIONS,
    "managed_processes": ListOf(
        _keys("name", "command", "args", "working_dir", "env", "auto_restart", "start_delay")
    ),
    "routes": ROUTES,
    "hooks": {
        "server": {name: HOOK for name in ("start", "ready", "idle", "resume", "stop")},
        "tenant": {"start": HOOK, "stop": HOOK},
    },
    "logging": {"format": None, "file": None, "logger": _keys("url", "secret", "buffer_dir")},
    "logger": _keys("dir", "secret", "retention"),
    "backup": {
        **_keys("peers", "password_file", "module", "db_dir", "index_region"),
        "serve": _keys("port", "users_file", "address", "hosts_allow"),
    },
    "appliance": _keys("token_file"),
    "cable": _keys("enabled", "path", "broadcast_path"),
    "redis": _keys("url"),
}

OUR_KEYS: tuple[str, ...] = (
    # Our additions.
    "server.static.cache_control.default_immutable",
    "server.limits.max_header_bytes",
    "server.limits.max_uri_length",
    "backup.db_dir",
    "backup.index_region",
    "backup.serve.address",
    "backup.serve.hosts_allow",
    "routes.fly.internal_hosts",
    # The shapes of server.bot_detection and of hooks entries, repeated for a tenant.
    "applications.tenants[].bot_detection.enabled",
    "applications.tenants[].bot_detection.action",
    "applications.tenants[].hooks.start[].reload_config",
    "applications.tenants[].hooks.stop[].reload_config",
)
"""Accepted key paths that ``spec/router-config.md`` does not spell out in their section."""


def key_paths() -> Iterator[str]:
    """Every key path the loader accepts, lists written as ``name[]``, e.g.
    ``applications.tenants[].hooks.start[].command``."""
    return _walk(SCHEMA, "")


def _walk(schema: Schema, prefix: str) -> Iterator[str]:
    if isinstance(schema, ListOf):
        yield from _walk(schema.item, prefix + "[]")
    elif isinstance(schema, dict):
        for key, child in schema.items():
            path = f"{prefix}.{key}" if prefix else key
            yield path
            yield from _walk(child, path)
