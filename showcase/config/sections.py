"""Readers for the ``server``, ``auth``, ``maintenance`` and ``hooks`` sections."""

from __future__ import annotations

import os
from collections.abc import Callable

from .model import (
    Auth,
    AuthPattern,
    BotDetection,
    CacheControl,
    CacheOverride,
    CgiScript,
    HealthCheck,
    Hook,
    Hooks,
    Idle,
    Limits,
    Maintenance,
    Server,
    ServerHooks,
    Static,
    SyntheticResponse,
    TenantHooks,
)
from .nodes import Node
from .values import (
    normalize_extension,
    normalize_listen,
    normalize_root_path,
    resolve_path,
    url_path,
)

BOT_ACTIONS = ("reject", "ignore", "static-only")


def url(node: Node) -> str:
    """A URL path (starting with ``/``)."""
    return node.convert(url_path)


def read_server(node: Node, base_dir: str, check_files: bool = False) -> Server:
    return Server(
        listen=node.read("listen", _listen, "tcp:9999"),
        hostname=node.read("hostname", Node.text, None),
        root_path=node.read("root_path", lambda n: n.convert(normalize_root_path), ""),
        trust_proxy=node.read("trust_proxy", Node.flag, False),
        static=read_static(node.section("static"), base_dir),
        health_check=read_health_check(node.section("health_check")),
        idle=read_idle(node.section("idle")),
        cgi_scripts=node.read("cgi_scripts", lambda n: n.each(read_cgi(base_dir, check_files)), ()),
        bot_detection=read_bot_detection(node.section("bot_detection"), BotDetection()),
        limits=read_limits(node.section("limits")),
    )


def _listen(node: Node) -> str:
    if node.kind() not in ("a string", "an integer"):
        raise node.error(f"expected a port number or an endpoint string, got {node.kind()}")
    return node.convert(normalize_listen)


def read_static(node: Node, base_dir: str) -> Static:
    extensions = node.read("allowed_extensions", lambda n: n.each(_extension), ())
    return Static(
        public_dir=resolve_path(base_dir, node.read("public_dir", Node.text, "public")),
        allowed_extensions=tuple(dict.fromkeys(extensions)),
        try_files=node.read("try_files", Node.texts, ()),
        normalize_trailing_slashes=node.read("normalize_trailing_slashes", Node.flag, False),
        cache_control=read_cache_control(node.section("cache_control")),
    )


def _extension(node: Node) -> str:
    return node.convert(normalize_extension)


def read_cache_control(node: Node) -> CacheControl:
    return CacheControl(
        default=node.read("default", Node.duration, None),
        default_immutable=node.read("default_immutable", Node.flag, False),
        overrides=node.read("overrides", lambda n: n.each(_cache_override), ()),
    )


def _cache_override(node: Node) -> CacheOverride:
    return CacheOverride(
        path=node.require("path", url),
        max_age=node.require("max_age", Node.duration),
        immutable=node.read("immutable", Node.flag, False),
    )


def read_health_check(node: Node) -> HealthCheck:
    path = node.read("path", url, None)
    response = node.read("response", _synthetic_response, None)
    if response is not None and path is None:
        raise node.error("'response' needs a 'path'")
    return HealthCheck(path=path, response=response)


def _synthetic_response(node: Node) -> SyntheticResponse:
    return SyntheticResponse(
        status=node.read("status", lambda n: n.integer(100, 599), 200),
        body=node.read("body", Node.text, "OK"),
        headers=node.read("headers", Node.env, ()),
    )


def read_idle(node: Node) -> Idle:
    return Idle(
        action=node.read("action", lambda n: n.choice("suspend", "stop"), None),
        timeout=node.read("timeout", Node.duration, Idle().timeout),
    )


def read_cgi(base_dir: str, check_files: bool = False) -> Callable[[Node], CgiScript]:
    """With ``check_files``, a ``script`` that is not an executable file is an error."""

    def script(node: Node) -> str:
        path = resolve_path(base_dir, node.text())
        if check_files and not os.path.isfile(path):
            raise node.error(f"{path} does not exist or is not a file")
        if check_files and not os.access(path, os.X_OK):
            raise node.error(f"{path} is not executable")
        return path

    def read(node: Node) -> CgiScript:
        return CgiScript(
            path=node.require("path", url),
            script=node.require("script", script),
            method=node.read("method", lambda n: n.text().upper(), None),
            user=node.read("user", Node.text, None),
            group=node.read("group", Node.text, None),
            timeout=node.read("timeout", Node.duration, None),
            env=node.read("env", Node.env, ()),
            allowed_users=node.read("allowed_users", Node.texts, ()),
            reload_config=_path(node, "reload_config", base_dir),
        )

    return read


def read_bot_detection(node: Node, default: BotDetection) -> BotDetection:
    """``{enabled, action}``; keys not given keep their value in *default*."""
    return BotDetection(
        enabled=node.read("enabled", Node.flag, default.enabled),
        action=node.read("action", lambda n: n.choice(*BOT_ACTIONS), default.action),
    )


def read_limits(node: Node) -> Limits:
    default = Limits()
    return Limits(
        max_body=node.read("max_body", Node.size, default.max_body),
        header_timeout=node.read("header_timeout", Node.duration, default.header_timeout),
        idle_connection_timeout=node.read(
            "idle_connection_timeout", Node.duration, default.idle_connection_timeout
        ),
        max_header_bytes=node.read("max_header_bytes", Node.size, default.max_header_bytes),
        max_uri_length=node.read("max_uri_length", Node.size, default.max_uri_length),
    )


def read_auth(node: Node, base_dir: str) -> Auth:
    auth = Auth(
        enabled=node.read("enabled", Node.flag, False),
        realm=node.read("realm", Node.text, Auth().realm),
        htpasswd=_path(node, "htpasswd", base_dir),
        public_paths=node.read("public_paths", Node.texts, ()),
        auth_patterns=node.read("auth_patterns", lambda n: n.each(_auth_pattern), ()),
    )
    if auth.enabled and auth.htpasswd is None:
        raise node.error("'enabled' needs 'htpasswd'")
    return auth


def _auth_pattern(node: Node) -> AuthPattern:
    return AuthPattern(
        pattern=node.require("pattern", Node.regex),
        action=node.read("action", lambda n: n.choice("off"), "off"),
    )


def read_maintenance(node: Node, public_dir: str, base_dir: str) -> Maintenance:
    """A page starting with ``/`` is inside ``public_dir`` (as in Navigator); any other
    relative page is relative to the config file's directory."""
    page = node.read("page", Node.text, None)
    if page is not None:
        if page.startswith("/"):
            page = resolve_path(public_dir, page.lstrip("/"))
        else:
            page = resolve_path(base_dir, page)
    return Maintenance(enabled=node.read("enabled", Node.flag, False), page=page)


def read_hook(base_dir: str) -> Callable[[Node], Hook]:
    def read(node: Node) -> Hook:
        return Hook(
            command=node.require("command", Node.text),
            args=node.read("args", Node.texts, ()),
            env=node.read("env", Node.env, ()),
            timeout=node.read("timeout", Node.duration, None),
            reload_config=_path(node, "reload_config", base_dir),
        )

    return read


def read_hook_list(node: Node, key: str, base_dir: str) -> tuple[Hook, ...]:
    return node.read(key, lambda n: n.each(read_hook(base_dir)), ())


def read_tenant_hooks(node: Node, base_dir: str) -> TenantHooks:
    return TenantHooks(
        start=read_hook_list(node, "start", base_dir),
        stop=read_hook_list(node, "stop", base_dir),
    )


def read_hooks(node: Node, base_dir: str) -> Hooks:
    server = node.section("server")
    return Hooks(
        server=ServerHooks(
            start=read_hook_list(server, "start", base_dir),
            ready=read_hook_list(server, "ready", base_dir),
            idle=read_hook_list(server, "idle", base_dir),
            resume=read_hook_list(server, "resume", base_dir),
            stop=read_hook_list(server, "stop", base_dir),
        ),
        tenant=read_tenant_hooks(node.section("tenant"), base_dir),
    )


def _path(node: Node, key: str, base_dir: str) -> str | None:
    """The file path at *key*, resolved against *base_dir*, or ``None``."""
    value = node.read(key, Node.text, None)
    return None if value is None else resolve_path(base_dir, value)
