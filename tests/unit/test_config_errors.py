"""Config errors name the file, the line and the key path of the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from showcase.config import ConfigError, load_config, parse_config

SOURCE = "config/showcase.yml"


def error_for(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, SOURCE, "/etc/showcase")
    return caught.value


def test_wrong_type_names_file_line_and_key_path() -> None:
    """A value of the wrong type is reported as ``file:line: key.path: expected…, got…``."""
    text = (
        "applications:\n"
        "  tenants:\n"
        "    - path: /a/\n"
        "    - path: /b/\n"
        "    - path: /c/\n"
        "    - path: /d/\n"
        "      env:\n"
        "        - A=1\n"
    )
    error = error_for(text)
    assert str(error) == (
        "config/showcase.yml:8: applications.tenants[3].env: expected a mapping, got a list"
    )
    assert (error.source, error.line, error.path) == (SOURCE, 8, "applications.tenants[3].env")


def test_unknown_key_names_file_line_and_key_path() -> None:
    """An unknown key is an error at its own line, with its key path and a suggestion."""
    text = "server:\n  listen: 9999\n  static:\n    public_dir: public\n    try_file: [.html]\n"
    assert str(error_for(text)) == (
        "config/showcase.yml:5: server.static.try_file: unknown key (did you mean 'try_files'?)"
    )


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("pools: {max_size: 3}\n", "pools"),
        ("applications:\n  tenants:\n    - path: /a/\n      framework: rails\n", "framework"),
        ("routes:\n  fly:\n    replay:\n      - {path: x, app: a, methods: [GET]}\n", "methods"),
        ("logging:\n  vector: {enabled: true}\n", "vector"),
    ],
)
def test_unknown_keys_anywhere(text: str, path: str) -> None:
    """Unknown keys are rejected at the top, in list items and in nested sections."""
    error = error_for(text)
    assert error.message.startswith("unknown key")
    assert error.path is not None and error.path.endswith(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("server: {trust_proxy: 'yes please'}", "expected a boolean, got a string"),
        ("applications: {pools: {start_port: 4k}}", "expected an integer, got a string"),
        ("auth: {public_paths: /a/}", "expected a list, got a string"),
        ("server: {listen: [1]}", "expected a port number or an endpoint string, got a list"),
        ("server: {hostname: {a: 1}}", "expected a string, got a mapping"),
        ("server: {static: {cache_control: {default: [1h]}}}", "expected a duration"),
        ("server: {limits: {max_body: true}}", "expected a size"),
    ],
)
def test_wrong_types(text: str, message: str) -> None:
    """Values of the wrong type are errors saying what was expected and what was found."""
    assert message in error_for(text).message


@pytest.mark.parametrize("value", ["300", "1.5", "five minutes", "5M"])
def test_bad_duration(value: str) -> None:
    """A bad duration (including a bare number) names the key that holds it."""
    error = error_for(f"applications:\n  pools:\n    timeout: {value}\n")
    assert (error.line, error.path) == (3, "applications.pools.timeout")


def test_zero_duration_is_allowed() -> None:
    """``0`` is a valid duration."""
    config = parse_config("applications: {startup_timeout: 0}", SOURCE, "/")
    assert config.applications.startup_timeout == 0.0


def test_bad_regex_names_the_key() -> None:
    """A regex that does not compile names its key and the regex."""
    error = error_for("routes:\n  redirects:\n    - from: '^/(showcase$'\n      to: /x/\n")
    assert (error.line, error.path) == (3, "routes.redirects[0].from")
    assert "bad regex" in error.message


def test_duplicate_tenant_path() -> None:
    """Two tenants with the same path (after normalisation) are an error at the second."""
    error = error_for("applications:\n  tenants:\n    - path: /a/\n    - path: /a\n")
    assert (error.line, error.path) == (4, "applications.tenants[1]")
    assert "duplicate tenant path" in error.message


def test_duplicate_tenant_name() -> None:
    """Two tenants with the same name are an error."""
    text = "applications: {tenants: [{path: /a/, name: x}, {path: /b/, name: x}]}"
    assert "duplicate tenant name 'x'" in error_for(text).message


def test_duplicate_yaml_key() -> None:
    """A key given twice in one mapping is an error naming the key and its second line."""
    error = error_for("server:\n  listen: 1\n  listen: 2\n")
    assert (error.line, error.path, error.message) == (3, "server.listen", "duplicate key")


def test_yaml_syntax_error_has_file_and_line() -> None:
    """A YAML syntax error is a ConfigError with the file and line."""
    error = error_for("server:\n  listen: 9999\n  static: [a\n")
    assert error.source == SOURCE and error.line is not None
    assert str(error).startswith(f"{SOURCE}:")


def test_document_must_be_a_mapping() -> None:
    """A document that is not a mapping is an error."""
    assert "expected a mapping, got a list" in str(error_for("- a\n- b\n"))


def test_unknown_variable_in_env() -> None:
    """``${name}`` in applications.env without a tenant var is an error naming both."""
    text = "applications:\n  env: {DB: '${database}'}\n  tenants:\n    - path: /a/\n"
    error = error_for(text)
    assert (error.line, error.path) == (4, "applications.tenants[0]")
    assert "applications.env.DB uses ${database}" in error.message


@pytest.mark.parametrize(
    "rule",
    ["{path: x}", "{path: x, app: a, region: r}", "{path: x, region: r, machine: m}"],
)
def test_fly_replay_needs_one_target(rule: str) -> None:
    """A replay rule needs exactly one of app, region, machine (machine may come with app)."""
    assert "needs" in error_for(f"routes: {{fly: {{replay: [{rule}]}}}}").message


def test_redirect_status_must_be_a_redirect() -> None:
    """A redirect status other than 301/302/303/307/308 is an error."""
    error = error_for("routes: {redirects: [{from: x, to: y, status: 200}]}")
    assert "not a redirect status" in error.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("server: {listen: localhost}", "neither a port number nor an endpoint"),
        ("server: {root_path: showcase}", "must start with '/'"),
        ("server: {idle: {action: sleep}}", "not one of suspend, stop"),
        ("server: {bot_detection: {action: block}}", "not one of reject, ignore, static-only"),
        ("auth: {enabled: true}", "'enabled' needs 'htpasswd'"),
        ("auth: {auth_patterns: [{pattern: x, action: on}]}", "not one of off"),
        ("applications: {tenants: [{path: a/}]}", "must start with '/'"),
        ("applications: {tenants: [{name: a}]}", "'path' is required"),
        ("applications: {framework: {args: [x]}}", "'args' needs 'command'"),
        ("routes: {reverse_proxies: [{prefix: /a/, target: 'ftp://x'}]}", "http(s)"),
        ("routes: {reverse_proxies: [{target: 'http://x'}]}", "exactly one of 'path'"),
        ("routes: {fly: {internal: 'http://{host}'}}", "unknown placeholder {host}"),
        ("managed_processes: [{name: a, command: x}, {name: a, command: y}]", "duplicate"),
        ("redis: {url: 'localhost:6379'}", "not a redis://"),
        ("backup: {peers: ['host:/db']}", "not an rsync:// URL"),
        ("server: {limits: {max_body: '1.5'}}", "whole number"),
        ("applications: {pools: {start_port: 70000}}", "out of range"),
    ],
)
def test_invalid_values(text: str, message: str) -> None:
    """Values outside what the spec allows are errors."""
    assert message in error_for(text).message


def test_unreadable_file(tmp_path: Path) -> None:
    """A file that cannot be read is a ConfigError naming it."""
    path = tmp_path / "missing.yml"
    with pytest.raises(ConfigError, match=r"missing\.yml: cannot read"):
        load_config(str(path))


def test_non_utf8_file(tmp_path: Path) -> None:
    """A file that is not UTF-8 is a ConfigError with the line of the bad byte."""
    path = tmp_path / "latin1.yml"
    path.write_bytes(b"server:\n  hostname: caf\xe9\n")
    with pytest.raises(ConfigError, match=r"latin1\.yml:2: not UTF-8"):
        load_config(str(path))
