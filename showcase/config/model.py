"""The router configuration as frozen attrs objects.

Every key of ``spec/router-config.md`` has a field here.  The loader
(:mod:`showcase.config.loader`) builds these from YAML once; everything after
that takes the resulting :class:`Config` and never looks at YAML again.

Durations are ``float`` seconds, sizes are ``int`` bytes, regexes are compiled
``re.Pattern`` objects, paths are ``str`` (already resolved against the config
file's directory where the spec says a path is relative to it).
"""

from __future__ import annotations

import os.path
import re

import attrs

Env = tuple[tuple[str, str], ...]
"""An environment as ordered ``(name, value)`` pairs (a dict is not hashable)."""


@attrs.frozen
class CacheOverride:
    path: str
    max_age: float
    immutable: bool = False


@attrs.frozen
class CacheControl:
    default: float | None = None
    default_immutable: bool = False
    overrides: tuple[CacheOverride, ...] = ()


@attrs.frozen
class Static:
    public_dir: str = "public"
    allowed_extensions: tuple[str, ...] = ()  # lower-case, without the dot; () = any
    try_files: tuple[str, ...] = ()
    normalize_trailing_slashes: bool = False
    cache_control: CacheControl = CacheControl()


@attrs.frozen
class SyntheticResponse:
    status: int = 200
    body: str = "OK"
    headers: Env = ()


@attrs.frozen
class HealthCheck:
    path: str | None = None
    response: SyntheticResponse | None = None


@attrs.frozen
class Idle:
    action: str | None = None  # "suspend" | "stop" | None (off)
    timeout: float = 600.0


@attrs.frozen
class CgiScript:
    path: str
    script: str
    method: str | None = None
    user: str | None = None
    group: str | None = None
    timeout: float | None = None
    env: Env = ()
    allowed_users: tuple[str, ...] = ()
    reload_config: str | None = None


@attrs.frozen
class BotDetection:
    enabled: bool = False
    action: str = "reject"  # "reject" | "ignore" | "static-only"


@attrs.frozen
class Limits:
    max_body: int = 64 * 1024 * 1024
    header_timeout: float = 30.0
    idle_connection_timeout: float = 300.0
    max_header_bytes: int = 32 * 1024
    max_uri_length: int = 8 * 1024


@attrs.frozen
class Server:
    listen: str = "tcp:9999"  # always an endpoint string after loading
    hostname: str | None = None
    root_path: str = ""  # "" or "/prefix" (no trailing slash)
    trust_proxy: bool = False
    static: Static = Static()
    health_check: HealthCheck = HealthCheck()
    idle: Idle = Idle()
    cgi_scripts: tuple[CgiScript, ...] = ()
    bot_detection: BotDetection = BotDetection()
    limits: Limits = Limits()


@attrs.frozen
class AuthPattern:
    pattern: re.Pattern[str]
    action: str = "off"


@attrs.frozen
class Auth:
    enabled: bool = False
    realm: str = "Restricted"
    htpasswd: str | None = None
    public_paths: tuple[str, ...] = ()
    auth_patterns: tuple[AuthPattern, ...] = ()


@attrs.frozen
class Maintenance:
    enabled: bool = False
    page: str | None = None  # resolved path; None = <public_dir>/503.html


@attrs.frozen
class Hook:
    command: str
    args: tuple[str, ...] = ()
    env: Env = ()
    timeout: float | None = None
    reload_config: str | None = None


@attrs.frozen
class TenantHooks:
    start: tuple[Hook, ...] = ()
    stop: tuple[Hook, ...] = ()


@attrs.frozen
class ServerHooks:
    start: tuple[Hook, ...] = ()
    ready: tuple[Hook, ...] = ()
    idle: tuple[Hook, ...] = ()
    resume: tuple[Hook, ...] = ()
    stop: tuple[Hook, ...] = ()


@attrs.frozen
class Hooks:
    server: ServerHooks = ServerHooks()
    tenant: TenantHooks = TenantHooks()


@attrs.frozen
class Pools:
    timeout: float = 300.0
    stop_timeout: float = 10.0
    start_port: int = 4000
    max_size: int | None = None
    default_memory_limit: int | None = None
    user: str | None = None
    group: str | None = None


@attrs.frozen
class Framework:
    command: str = "python"  # the loader puts sys.executable here for the default
    args: tuple[str, ...] = ("-m", "showcase.event")
    app_directory: str | None = None
    port_env_var: str = "PORT"
    start_delay: float = 0.0


@attrs.frozen
class Tenant:
    """One tenant, fully resolved: command, cwd and env are final."""

    path: str  # starts and ends with "/"
    name: str
    root: str | None  # working directory (tenant root, else framework.app_directory)
    var: Env
    env: Env  # expanded applications.env merged with the tenant's own env
    command: tuple[str, ...]  # argv; "${port}" / "{{port}}" still to be replaced
    port_env_var: str
    health_check: str
    startup_timeout: float
    track_websockets: bool
    bot_detection: BotDetection | None
    hooks: TenantHooks
    memory_limit: int | None
    start_delay: float = 0.0
    is_event_app: bool = False  # started with the default framework (preload applies)


@attrs.frozen
class Applications:
    pools: Pools = Pools()
    startup_timeout: float = 5.0
    health_check: str = "/up"
    env: Env = ()
    framework: Framework = Framework()
    track_websockets: bool = True
    preload: bool = True
    tenants: tuple[Tenant, ...] = ()


@attrs.frozen
class ManagedProcess:
    name: str
    command: str
    args: tuple[str, ...] = ()
    working_dir: str | None = None
    env: Env = ()
    auto_restart: bool = False
    start_delay: float = 0.0


@attrs.frozen
class Redirect:
    pattern: re.Pattern[str]
    to: str
    status: int = 302


@attrs.frozen
class Rewrite:
    pattern: re.Pattern[str]
    to: str


@attrs.frozen
class ReverseProxy:
    target: str
    name: str | None = None
    path: re.Pattern[str] | None = None
    prefix: str | None = None
    strip_path: bool = False
    headers: Env = ()
    response_headers: Env = ()
    websocket: bool = False


@attrs.frozen
class FlyReplay:
    path: re.Pattern[str]
    app: str | None = None
    region: str | None = None
    machine: str | None = None
    status: int = 307


@attrs.frozen
class Fly:
    replay: tuple[FlyReplay, ...] = ()
    internal: str = "http://{region}.{app}.internal:{port}"
    # Ours: a target's name (region, app or machine id) -> "host:port", used instead of
    # ``internal`` for that target (regions on one host in tests, fixed addresses off Fly).
    internal_hosts: Env = ()


@attrs.frozen
class Routes:
    redirects: tuple[Redirect, ...] = ()
    rewrites: tuple[Rewrite, ...] = ()
    reverse_proxies: tuple[ReverseProxy, ...] = ()
    fly: Fly = Fly()


@attrs.frozen
class LoggerShipping:
    url: str
    secret: str | None = None
    buffer_dir: str | None = None


@attrs.frozen
class Logging:
    format: str = "text"  # "text" | "json"
    file: str | None = None  # may contain "{{app}}"
    logger: LoggerShipping | None = None


@attrs.frozen
class LoggerSink:
    dir: str
    secret: str | None = None
    retention: float = 7 * 86400.0


@attrs.frozen
class BackupServe:
    port: int
    users_file: str  # rsync secrets format, ``user:password`` a line
    address: str = "0.0.0.0"
    hosts_allow: tuple[str, ...] = ()  # () = any host (auth is always required)


@attrs.frozen
class Backup:
    peers: tuple[str, ...] = ()
    password_file: str | None = None
    module: str = "showcase"
    db_dir: str | None = None  # None = db/ under the working directory, as tenants see it
    index_region: str | None = None  # the region owning index.sqlite3; None = nobody
    serve: BackupServe | None = None


@attrs.frozen
class Appliance:
    token_file: str


@attrs.frozen
class Cable:
    enabled: bool = True
    path: str = "/cable"  # the loader sets <root_path>/cable
    broadcast_path: str = "/_broadcast"


@attrs.frozen
class Redis:
    url: str | None = None


@attrs.frozen
class Config:
    """The whole router configuration, as loaded from ``source``."""

    source: str = "<embedded>"
    server: Server = Server()
    auth: Auth = Auth()
    maintenance: Maintenance = Maintenance()
    applications: Applications = Applications()
    managed_processes: tuple[ManagedProcess, ...] = ()
    routes: Routes = Routes()
    hooks: Hooks = Hooks()
    logging: Logging = Logging()
    logger: LoggerSink | None = None
    backup: Backup | None = None
    appliance: Appliance | None = None
    cable: Cable = Cable()
    redis: Redis = Redis()

    def maintenance_page(self) -> str:
        """The file served as the maintenance page."""
        if self.maintenance.page is not None:
            return self.maintenance.page
        return os.path.join(self.server.static.public_dir, "503.html")
