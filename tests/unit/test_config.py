"""The config loader: every section read from YAML into the frozen model."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from showcase.config import OUR_KEYS, Config, key_paths, load_config, parse_config
from showcase.config.model import (
    Appliance,
    Backup,
    BackupServe,
    BotDetection,
    Cable,
    CacheControl,
    CacheOverride,
    CgiScript,
    Hook,
    Idle,
    Limits,
    LoggerShipping,
    LoggerSink,
    Logging,
    ManagedProcess,
    Pools,
    Redis,
    SyntheticResponse,
)

BASE = "/etc/showcase"
FIXTURES = Path(__file__).parent.parent / "fixtures"
SPEC_CANDIDATES = (
    Path(os.environ.get("SHOWCASE_SPEC_DIR", "/nonexistent")) / "router-config.md",
    Path(__file__).parents[2] / "spec" / "router-config.md",
    Path("/work/shared/spec/router-config.md"),
)

FULL = """
server:
  listen: "tcp:8080:interface=127.0.0.1"
  hostname: showcase.example
  root_path: /showcase/
  trust_proxy: true
  static:
    public_dir: public
    allowed_extensions: [.HTML, css, Css]
    try_files: [index.html, .html]
    normalize_trailing_slashes: true
    cache_control:
      default: 1h
      default_immutable: true
      overrides:
        - {path: /showcase/assets/, max_age: 1y, immutable: true}
  health_check:
    path: /up
    response: {status: 200, body: ok, headers: {X-Health: "1"}}
  idle: {action: stop, timeout: 15m}
  cgi_scripts:
    - path: /showcase/update_config
      script: script/update.rb
      method: post
      user: root
      group: admin
      timeout: 5m
      env: {RAILS_ENV: production}
      allowed_users: [admin]
      reload_config: navigator.yml
  bot_detection: {enabled: true, action: static-only}
  limits:
    max_body: 10M
    header_timeout: 10s
    idle_connection_timeout: 1m
    max_header_bytes: 16K
    max_uri_length: 4096
auth:
  enabled: true
  realm: Showcase
  htpasswd: db/htpasswd
  public_paths: ["*.css", /showcase/studios/]
  auth_patterns:
    - {pattern: "^/showcase/\\\\d{4}/$", action: off}
maintenance: {enabled: true, page: maintenance.html}
applications:
  pools:
    timeout: 5m
    stop_timeout: 3s
    start_port: 5000
    max_size: 12
    default_memory_limit: 768M
    user: rails
    group: rails
  startup_timeout: 7s
  health_check: /healthz
  env: {SHOWCASE_LOGO: logo.png, DB: "${database}"}
  framework:
    command: bin/rails
    args: [server, -p, "${port}"]
    app_directory: app
    port_env_var: RAILS_PORT
    start_delay: 2s
  track_websockets: false
  preload: false
  tenants:
    - path: /showcase/2025/boston
      name: boston
      root: tenants/boston
      var: {database: 2025-boston, year: 2025}
      env: {RAILS_LOCALE: en_US}
      runtime: ruby
      server: bin/rails
      args: [server, --db, "${database}"]
      health_check: /ready
      startup_timeout: 20s
      track_websockets: true
      memory_limit: 1G
      bot_detection: {action: ignore}
      hooks:
        start: [{command: bin/start, reload_config: other.yml}]
        stop: [{command: bin/stop, args: ["${database}"], timeout: 2m}]
managed_processes:
  - name: redis
    command: redis-server
    args: [--port, 6380]
    working_dir: data
    env: {LANG: C}
    auto_restart: true
    start_delay: 2s
routes:
  redirects:
    - {from: "^/$", to: /showcase/, status: 301}
  rewrites:
    - {from: "^/assets/(.*)", to: "/showcase/assets/$1"}
  reverse_proxies:
    - name: cable
      path: "^/showcase(/cable)$"
      target: "http://localhost:28080$1"
      strip_path: true
      headers: {X-Forwarded-For: $remote_addr}
      response_headers: {Access-Control-Allow-Origin: "*"}
      websocket: true
    - {prefix: /api/, target: "https://api.example"}
  fly:
    replay:
      - {path: "\\\\.pdf$", app: smooth-pdf}
      - {path: "^/showcase/2025/ewr/", region: ewr, status: 302}
      - {path: "^/m/", machine: 3d8d1234, app: other}
    internal: "http://{machine}.vm.{app}.internal:{port}"
    internal_hosts: {ewr: "127.0.0.1:9001"}
hooks:
  server:
    start: [{command: bin/start, args: [a]}]
    ready: [{command: bin/ready, reload_config: config/navigator.yml}]
    idle: [{command: bin/idle, timeout: 5m}]
    resume: [{command: bin/resume, env: {X: "1"}}]
    stop: [{command: bin/server-stop}]
  tenant:
    start: [{command: bin/tenant-start}]
    stop: [{command: bin/tenant-stop, timeout: 2m}]
logging:
  format: json
  file: log/{{app}}.log
  logger: {url: "https://logs.example/logs", secret: s3cret, buffer_dir: buffer}
logger: {dir: logs, secret: s3cret, retention: 2w}
backup:
  peers: ["rsync://backup@ewr.example:873/showcase/"]
  password_file: rsync.secret
  module: dbs
  db_dir: data/db
  index_region: iad
  serve: {port: 8873, users_file: rsync.users, address: 127.0.0.1, hosts_allow: [10.0.0.0/8]}
appliance: {token_file: token}
cable: {enabled: false, path: /ws, broadcast_path: /_bc}
redis: {url: "redis://localhost:6379/1"}
"""


@pytest.fixture(scope="module")
def full() -> Config:
    return parse_config(FULL, "full.yml", BASE)


def _paths(value: Any, prefix: str = "") -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        for key, child in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            found |= {path} | _paths(child, path)
    elif isinstance(value, list):
        for item in value:
            found |= _paths(item, prefix + "[]")
    return found


def _shapes(paths: set[str]) -> set[str]:
    """Paths with the shared shapes (hook entries, bot detection) written once."""
    paths = {re.sub(r"^.*\.(start|ready|idle|resume|stop)\[\]", "HOOK[]", p) for p in paths}
    return {re.sub(r"^.*\.bot_detection\.", "BOT.", p) for p in paths}


def test_full_example_sets_every_key() -> None:
    """The example used by these tests sets every key the loader accepts (each field of a
    hook entry and of bot detection at least once)."""
    assert _shapes(set(key_paths())) - _shapes(_paths(yaml.safe_load(FULL))) == set()


def test_empty_file_is_all_defaults() -> None:
    """An empty document gives the defaults, with paths resolved and the event app."""
    config = parse_config("# nothing\n", "empty.yml", BASE)
    assert config.server.listen == "tcp:9999"
    assert config.server.static.public_dir == f"{BASE}/public"
    assert config.cable == Cable(path="/cable")
    assert config.applications.framework.command == sys.executable
    assert config.applications.framework.args == ("-m", "showcase.event")
    assert config.maintenance_page() == f"{BASE}/public/503.html"
    assert config.backup is None and config.logger is None and config.appliance is None


def test_null_section_is_default() -> None:
    """A key given with no value (null) takes its default."""
    config = parse_config("server:\nauth:\napplications:\n  tenants:\n", "x.yml", BASE)
    assert config == parse_config("", "x.yml", BASE)


def test_server_section(full: Config) -> None:
    """``server`` keys are read: listen, hostname, root_path, trust_proxy, idle, limits."""
    server = full.server
    assert server.listen == "tcp:8080:interface=127.0.0.1"
    assert server.hostname == "showcase.example"
    assert server.root_path == "/showcase"
    assert server.trust_proxy is True
    assert server.idle == Idle(action="stop", timeout=900.0)
    assert server.bot_detection == BotDetection(enabled=True, action="static-only")
    assert server.limits == Limits(10 * 1024**2, 10.0, 60.0, 16 * 1024, 4096)


def test_static_section(full: Config) -> None:
    """``server.static``: extensions lower-cased without dots, cache durations in seconds."""
    static = full.server.static
    assert static.public_dir == f"{BASE}/public"
    assert static.allowed_extensions == ("html", "css")
    assert static.try_files == ("index.html", ".html")
    assert static.normalize_trailing_slashes is True
    assert static.cache_control == CacheControl(
        default=3600.0,
        default_immutable=True,
        overrides=(CacheOverride("/showcase/assets/", 365 * 86400.0, immutable=True),),
    )


def test_health_check_and_cgi(full: Config) -> None:
    """``server.health_check`` and ``server.cgi_scripts`` are read, script paths resolved."""
    assert full.server.health_check.path == "/up"
    assert full.server.health_check.response == SyntheticResponse(200, "ok", (("X-Health", "1"),))
    assert full.server.cgi_scripts == (
        CgiScript(
            path="/showcase/update_config",
            script=f"{BASE}/script/update.rb",
            method="POST",
            user="root",
            group="admin",
            timeout=300.0,
            env=(("RAILS_ENV", "production"),),
            allowed_users=("admin",),
            reload_config=f"{BASE}/navigator.yml",
        ),
    )


def test_auth_section(full: Config) -> None:
    """``auth`` is read; ``action: off`` (a YAML 1.1 boolean) is the string "off"."""
    auth = full.auth
    assert (auth.enabled, auth.realm, auth.htpasswd) == (True, "Showcase", f"{BASE}/db/htpasswd")
    assert auth.public_paths == ("*.css", "/showcase/studios/")
    [pattern] = auth.auth_patterns
    assert pattern.pattern.pattern == r"^/showcase/\d{4}/$"
    assert pattern.action == "off"


def test_maintenance_page_relative_to_config(full: Config) -> None:
    """A maintenance page without a leading ``/`` is relative to the config directory."""
    assert full.maintenance.enabled is True
    assert full.maintenance_page() == f"{BASE}/maintenance.html"


def test_maintenance_page_with_slash_is_in_public_dir() -> None:
    """A maintenance page starting with ``/`` is inside ``public_dir`` (Navigator's rule)."""
    text = "server: {static: {public_dir: /rails/public}}\nmaintenance: {page: /503.html}"
    assert parse_config(text, "x.yml", BASE).maintenance_page() == "/rails/public/503.html"


def test_applications_section(full: Config) -> None:
    """``applications`` pools, timeouts, env templates and framework are read."""
    apps = full.applications
    assert apps.pools == Pools(300.0, 3.0, 5000, 12, 768 * 1024**2, "rails", "rails")
    assert (apps.startup_timeout, apps.health_check) == (7.0, "/healthz")
    assert apps.env == (("SHOWCASE_LOGO", "logo.png"), ("DB", "${database}"))
    assert apps.framework.command == "bin/rails"
    assert apps.framework.args == ("server", "-p", "${port}")
    assert apps.framework.app_directory == f"{BASE}/app"
    assert (apps.framework.port_env_var, apps.framework.start_delay) == ("RAILS_PORT", 2.0)
    assert (apps.track_websockets, apps.preload) == (False, False)
    assert len(apps.tenants) == 1


def test_managed_processes(full: Config) -> None:
    """``managed_processes`` are read; numeric args are kept as their text."""
    assert full.managed_processes == (
        ManagedProcess(
            name="redis",
            command="redis-server",
            args=("--port", "6380"),
            working_dir=f"{BASE}/data",
            env=(("LANG", "C"),),
            auto_restart=True,
            start_delay=2.0,
        ),
    )


def test_routes_section(full: Config) -> None:
    """Redirects, rewrites and reverse proxies are read with compiled regexes."""
    routes = full.routes
    [redirect] = routes.redirects
    assert (redirect.pattern.pattern, redirect.to, redirect.status) == ("^/$", "/showcase/", 301)
    [rewrite] = routes.rewrites
    assert rewrite.pattern.match("/assets/app.css") and rewrite.to == "/showcase/assets/$1"
    cable, api = routes.reverse_proxies
    assert cable.path is not None and cable.path.pattern == "^/showcase(/cable)$"
    assert (cable.name, cable.target, cable.strip_path, cable.websocket) == (
        "cable",
        "http://localhost:28080$1",
        True,
        True,
    )
    assert cable.headers == (("X-Forwarded-For", "$remote_addr"),)
    assert cable.response_headers == (("Access-Control-Allow-Origin", "*"),)
    assert (api.prefix, api.path, api.target) == ("/api/", None, "https://api.example")


def test_fly_section(full: Config) -> None:
    """Fly replay rules default to status 307; ``internal`` is kept as a template;
    ``internal_hosts`` maps target names to ``host:port``."""
    app, region, machine = full.routes.fly.replay
    assert (app.app, app.region, app.machine, app.status) == ("smooth-pdf", None, None, 307)
    assert (region.region, region.status) == ("ewr", 302)
    assert (machine.machine, machine.app) == ("3d8d1234", "other")
    assert full.routes.fly.internal == "http://{machine}.vm.{app}.internal:{port}"
    assert full.routes.fly.internal_hosts == (("ewr", "127.0.0.1:9001"),)


def test_hooks_section(full: Config) -> None:
    """Every server and tenant hook list is read, ``reload_config`` resolved."""
    server = full.hooks.server
    assert server.start == (Hook("bin/start", ("a",)),)
    assert server.ready == (Hook("bin/ready", reload_config=f"{BASE}/config/navigator.yml"),)
    assert server.idle == (Hook("bin/idle", timeout=300.0),)
    assert server.resume == (Hook("bin/resume", env=(("X", "1"),)),)
    assert server.stop == (Hook("bin/server-stop"),)
    assert full.hooks.tenant.start == (Hook("bin/tenant-start"),)
    assert full.hooks.tenant.stop == (Hook("bin/tenant-stop", timeout=120.0),)


def test_logging_and_logger(full: Config) -> None:
    """``logging`` (with shipping) and the ``logger`` sink are read, paths resolved."""
    assert full.logging == Logging(
        format="json",
        file=f"{BASE}/log/{{{{app}}}}.log",
        logger=LoggerShipping("https://logs.example/logs", "s3cret", f"{BASE}/buffer"),
    )
    assert full.logger == LoggerSink(f"{BASE}/logs", "s3cret", 14 * 86400.0)


def test_backup_appliance_cable_redis(full: Config) -> None:
    """``backup``, ``appliance``, ``cable`` and ``redis`` are read."""
    assert full.backup == Backup(
        peers=("rsync://backup@ewr.example:873/showcase/",),
        password_file=f"{BASE}/rsync.secret",
        module="dbs",
        db_dir=f"{BASE}/data/db",
        index_region="iad",
        serve=BackupServe(8873, f"{BASE}/rsync.users", "127.0.0.1", ("10.0.0.0/8",)),
    )
    assert full.appliance == Appliance(f"{BASE}/token")
    assert full.cable == Cable(enabled=False, path="/ws", broadcast_path="/_bc")
    assert full.redis == Redis("redis://localhost:6379/1")


@pytest.mark.parametrize(
    ("listen", "endpoint"),
    [("9999", "tcp:9999"), ('"3000"', "tcp:3000"), ("unix:/run/s.sock", "unix:/run/s.sock")],
)
def test_listen_becomes_an_endpoint(listen: str, endpoint: str) -> None:
    """``server.listen`` as a port (number or digits) becomes ``tcp:N``; endpoints are kept."""
    assert parse_config(f"server: {{listen: {listen}}}", "x.yml", BASE).server.listen == endpoint


@pytest.mark.parametrize(("root", "normal"), [('""', ""), ("/", ""), ("/a/", "/a"), ("/a", "/a")])
def test_root_path_is_normalised(root: str, normal: str) -> None:
    """``server.root_path`` loses its trailing slash; the cable path follows it."""
    config = parse_config(f"server: {{root_path: {root}}}", "x.yml", BASE)
    assert config.server.root_path == normal
    assert config.cable.path == f"{normal}/cable"


def test_yaml_anchors_and_merge_keys() -> None:
    """Anchors, aliases and ``<<`` merges work; a merged key can be overridden."""
    text = (
        "hooks:\n  tenant:\n    stop:\n      - &h {command: a, timeout: 1m}\n"
        "      - {<<: *h, timeout: 2m}\n      - *h\n"
    )
    stop = parse_config(text, "x.yml", BASE).hooks.tenant.stop
    assert [(h.command, h.timeout) for h in stop] == [("a", 60.0), ("a", 120.0), ("a", 60.0)]


def test_load_config_resolves_against_file_directory(tmp_path: Path) -> None:
    """``load_config`` names the file in ``source`` and resolves paths against its directory."""
    path = tmp_path / "conf" / "showcase.yml"
    path.parent.mkdir()
    path.write_text("auth: {enabled: true, htpasswd: htpasswd}\n")
    config = load_config(str(path))
    assert config.source == str(path)
    assert config.auth.htpasswd == str(tmp_path / "conf" / "htpasswd")


def test_showcase_generated_config_loads() -> None:
    """The navigator.yml that rubys/showcase generates loads with the expected values."""
    config = load_config(str(FIXTURES / "showcase-navigator.yml"))
    assert (config.server.listen, config.server.root_path) == ("tcp:9999", "/showcase")
    assert config.server.static.allowed_extensions[-2:] == ("pdf", "xlsx")
    assert config.server.static.try_files[0] == "index.html"
    assert [o.max_age for o in config.server.static.cache_control.overrides] == [86400.0] * 2
    assert config.server.idle == Idle("suspend", 900.0)
    assert config.auth.enabled and "*.css" in config.auth.public_paths
    assert "/showcase/2025/" in config.auth.public_paths
    assert config.routes.redirects[0].to == "/showcase/studios/"
    assert config.routes.reverse_proxies[0].websocket
    assert config.routes.fly.replay[0].app == "smooth-pdf"
    assert config.maintenance_page() == "/rails/public/503.html"
    assert config.cable.path == "/showcase/cable"
    assert config.logging.format == "json"
    assert config.hooks.server.idle[0].timeout == 300.0
    assert config.hooks.tenant.stop[0].timeout == 120.0
    assert [p.name for p in config.managed_processes] == ["action-cable", "redis"]
    assert config.applications.pools.max_size == 30


def test_showcase_generated_tenants() -> None:
    """Showcase tenants get names from their paths, expanded env and the Rails command."""
    apps = load_config(str(FIXTURES / "showcase-navigator.yml")).applications
    by_name = {tenant.name: tenant for tenant in apps.tenants}
    assert list(by_name)[:3] == ["index", "regions-iad-demo", "2025-boston"]
    boston = dict(by_name["2025-boston"].env)
    assert boston["RAILS_APP_DB"] == "2025-boston"
    assert boston["DATABASE_URL"] == "sqlite3:///data/db/2025-boston.sqlite3"
    assert boston["RAILS_APP_SCOPE"] == "2025/boston"
    assert dict(by_name["index"].env)["RAILS_APP_OWNER"] == "Index"
    assert (
        dict(by_name["regions-iad-demo"].env)["DATABASE_URL"] == "sqlite3:///demo/db/demo.sqlite3"
    )
    tenant = by_name["2025-boston"]
    assert tenant.command == ("bin/rails", "server", "-p", "${port}")
    assert (tenant.root, tenant.port_env_var, tenant.start_delay) == ("/rails", "PORT", 2.0)
    assert (tenant.track_websockets, tenant.is_event_app) == (False, False)


def _spec_sections() -> dict[str, str]:
    for candidate in SPEC_CANDIDATES:
        if candidate.is_file():
            text = candidate.read_text()
            pattern = r"^## (\w+)[^\n]*\n(.*?)(?=^## |\Z)"
            return {m[1]: m[2] for m in re.finditer(pattern, text, re.MULTILINE | re.DOTALL)}
    pytest.skip("spec/router-config.md not found")


def test_every_key_is_documented() -> None:
    """Every key path the loader accepts is named in its section of
    ``spec/router-config.md``, or listed in ``OUR_KEYS``."""
    sections = _spec_sections()
    undocumented = []
    for path in key_paths():
        top, *rest = (part.removesuffix("[]") for part in path.split("."))
        text = sections.get(top, "")
        named = all(re.search(rf"(?<![\w-]){re.escape(part)}(?![\w-])", text) for part in rest)
        if top not in sections or not named:
            undocumented.append(path)
    assert sorted(set(undocumented) - set(OUR_KEYS)) == []
    assert set(OUR_KEYS) <= set(key_paths())
