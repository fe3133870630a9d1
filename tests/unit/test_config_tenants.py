"""Tenants resolved by the config loader: names, paths, commands, env and overrides."""

from __future__ import annotations

import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from showcase.config import parse_config
from showcase.config.applications import tenant_name
from showcase.config.model import BotDetection, Hook, Tenant

BASE = "/etc/showcase"


def tenants(text: str) -> tuple[Tenant, ...]:
    return parse_config(text, "t.yml", BASE).applications.tenants


def one(text: str) -> Tenant:
    [tenant] = tenants(text)
    return tenant


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/showcase/2025/boston/", "2025-boston"),
        ("/showcase/", "index"),
        ("/showcase/2025/abq/medal-ball/", "2025-abq-medal-ball"),
        ("/demo/", "demo"),
        ("/showcaseother/", "showcaseother"),
    ],
)
def test_default_name_from_path(path: str, name: str) -> None:
    """A tenant's default name is its path without root_path, slashes stripped, inner
    slashes as "-", and "index" for the root tenant."""
    text = f"server: {{root_path: /showcase}}\napplications: {{tenants: [{{path: {path}}}]}}"
    assert one(text).name == name


@given(st.lists(st.from_regex(r"[a-z0-9][a-z0-9-]{0,8}", fullmatch=True), max_size=4))
def test_default_name_has_no_slashes(segments: list[str]) -> None:
    """A derived name never contains "/" and is "index" only for the root path."""
    path = "/showcase/" + "".join(f"{segment}/" for segment in segments)
    name = tenant_name(path, "/showcase")
    assert "/" not in name
    assert name == ("-".join(segments) or "index")


def test_path_gets_trailing_slash() -> None:
    """A tenant path is normalised to end in "/"."""
    assert one("applications: {tenants: [{path: /2025/boston}]}").path == "/2025/boston/"


def test_default_framework_is_the_event_app() -> None:
    """Without ``framework.command`` a tenant runs ``python -m showcase.event`` and is marked
    as the event app."""
    tenant = one("applications: {tenants: [{path: /a/}]}")
    assert tenant.command == (sys.executable, "-m", "showcase.event")
    assert tenant.is_event_app is True
    assert (tenant.root, tenant.health_check, tenant.startup_timeout) == (None, "/up", 5.0)
    assert (tenant.port_env_var, tenant.track_websockets) == ("PORT", True)


def test_framework_command_with_var_in_args() -> None:
    """The framework's command and args are used, ``${name}`` filled from var,
    ``${port}`` left for spawn time."""
    tenant = one(
        "applications:\n"
        "  framework: {command: bin/rails, args: [server, -p, '${port}', --db, '${db}']}\n"
        "  tenants: [{path: /a/, var: {db: one}}]\n"
    )
    assert tenant.command == ("bin/rails", "server", "-p", "${port}", "--db", "one")
    assert tenant.is_event_app is False


def test_tenant_own_command_overrides_framework() -> None:
    """A tenant giving runtime/server/args runs ``runtime server args…`` instead."""
    tenant = one(
        "applications:\n"
        "  tenants:\n"
        "    - {path: /a/, runtime: ruby, server: bin/rails, args: [s, '${d}'], var: {d: x}}\n"
    )
    assert tenant.command == ("ruby", "bin/rails", "s", "x")
    assert tenant.is_event_app is False


def test_tenant_args_alone_are_the_command() -> None:
    """``args`` alone (no runtime or server) is the whole command."""
    assert one("applications: {tenants: [{path: /b/, args: [node, app.js]}]}").command == (
        "node",
        "app.js",
    )


def test_env_expanded_then_tenant_env_merged_over() -> None:
    """applications.env gets ``${name}`` from var; the tenant's env is applied last."""
    tenant = one(
        "applications:\n"
        "  env: {DB: '${database}', URL: 'sqlite3:///db/${database}.sqlite3', P: '${port}',"
        " OWNER: none}\n"
        "  tenants: [{path: /a/, var: {database: 2025-a, n: 3}, env: {OWNER: A, NEW: '${x}'}}]\n"
    )
    assert tenant.env == (
        ("DB", "2025-a"),
        ("URL", "sqlite3:///db/2025-a.sqlite3"),
        ("P", "${port}"),
        ("OWNER", "A"),
        ("NEW", "${x}"),
    )
    assert tenant.var == (("database", "2025-a"), ("n", "3"))


def test_root_then_app_directory() -> None:
    """The working directory is the tenant's root, else framework.app_directory."""
    found = tenants(
        "applications:\n"
        "  framework: {command: x, app_directory: app}\n"
        "  tenants: [{path: /a/, root: /srv/a}, {path: /b/}, {path: /c/, root: c}]\n"
    )
    assert [t.root for t in found] == ["/srv/a", f"{BASE}/app", f"{BASE}/c"]


def test_tenant_overrides_application_values() -> None:
    """health_check, startup_timeout, track_websockets and memory_limit per tenant override
    the application's; the pool's default memory limit applies otherwise."""
    plain, custom = tenants(
        "applications:\n"
        "  pools: {default_memory_limit: 512M}\n"
        "  track_websockets: false\n"
        "  tenants:\n"
        "    - {path: /a/}\n"
        "    - {path: /b/, health_check: /ok, startup_timeout: 1m, track_websockets: true,"
        " memory_limit: 1G}\n"
    )
    assert (plain.health_check, plain.startup_timeout, plain.track_websockets) == (
        "/up",
        5.0,
        False,
    )
    assert plain.memory_limit == 512 * 1024**2
    assert (custom.health_check, custom.startup_timeout, custom.track_websockets) == (
        "/ok",
        60.0,
        True,
    )
    assert custom.memory_limit == 1024**3


def test_tenant_bot_detection_merges_over_server() -> None:
    """A tenant's bot_detection keys override the server's; absent means inherit (None)."""
    plain, demo = tenants(
        "server: {bot_detection: {enabled: true, action: reject}}\n"
        "applications: {tenants: [{path: /a/}, {path: /demo/, bot_detection: {action: ignore}}]}"
    )
    assert plain.bot_detection is None
    assert demo.bot_detection == BotDetection(enabled=True, action="ignore")


def test_tenant_hooks_are_its_own() -> None:
    """A tenant's hooks are its own list; hooks.tenant stays separate."""
    tenant = one(
        "hooks: {tenant: {stop: [{command: all}]}}\n"
        "applications: {tenants: [{path: /a/, hooks: {stop: [{command: mine, timeout: 2m}]}}]}"
    )
    assert tenant.hooks.stop == (Hook("mine", timeout=120.0),)
    assert tenant.hooks.start == ()


def test_framework_start_delay_and_port_variable() -> None:
    """The framework's port_env_var and start_delay are carried by every tenant."""
    tenant = one(
        "applications:\n"
        "  framework: {command: x, port_env_var: HTTP_PORT, start_delay: 500ms}\n"
        "  tenants: [{path: /a/}]\n"
    )
    assert (tenant.port_env_var, tenant.start_delay) == ("HTTP_PORT", 0.5)
