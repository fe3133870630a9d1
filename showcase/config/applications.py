"""Reader for the ``applications`` section, resolving every tenant to a final :class:`Tenant`.

A tenant's command, working directory and environment are computed here once: the
``applications.env`` templates with ``${name}`` filled from the tenant's ``var`` (``${port}``
is left for spawn time), the tenant's own ``env`` merged over them, and its own
``runtime server args…`` or else the framework's ``command args…``.
"""

from __future__ import annotations

import re
import sys

import attrs

from .model import Applications, BotDetection, Framework, Pools, Tenant
from .nodes import Node
from .sections import read_bot_detection, read_tenant_hooks, url
from .values import resolve_path

EVENT_APP_ARGS = ("-m", "showcase.event")
"""The default framework: ``sys.executable -m showcase.event``."""

PORT_VARIABLE = "port"
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

Template = tuple[str, str]
"""A string that may hold ``${name}``, and the key path it came from (for errors)."""


@attrs.frozen
class _Inherited:
    """What every tenant starts from."""

    applications: Applications
    env: tuple[tuple[str, Template], ...]
    command: tuple[Template, ...]
    is_event_app: bool
    root_path: str
    bot_detection: BotDetection
    base_dir: str


def read_applications(
    node: Node, root_path: str, bot_detection: BotDetection, base_dir: str
) -> Applications:
    """``applications``; *root_path* and *bot_detection* come from ``server``."""
    framework_node = node.section("framework")
    framework, is_event_app = _framework(framework_node, base_dir)
    env_node = node.get("env")
    env_pairs = env_node.pairs() if env_node is not None else []
    applications = Applications(
        pools=_pools(node.section("pools")),
        startup_timeout=node.read("startup_timeout", Node.duration, 5.0),
        health_check=node.read("health_check", url, "/up"),
        env=tuple((name, value.env_value()) for name, value in env_pairs),
        framework=framework,
        track_websockets=node.read("track_websockets", Node.flag, True),
        preload=node.read("preload", Node.flag, True),
    )
    args_path = f"{framework_node.path}.args"
    inherited = _Inherited(
        applications=applications,
        env=tuple((name, (value.env_value(), value.path)) for name, value in env_pairs),
        command=(
            (framework.command, f"{framework_node.path}.command"),
            *((arg, f"{args_path}[{index}]") for index, arg in enumerate(framework.args)),
        ),
        is_event_app=is_event_app,
        root_path=root_path,
        bot_detection=bot_detection,
        base_dir=base_dir,
    )
    tenants = node.read("tenants", lambda n: _tenants(n, inherited), ())
    return attrs.evolve(applications, tenants=tenants)


def _pools(node: Node) -> Pools:
    default = Pools()
    return Pools(
        timeout=node.read("timeout", Node.duration, default.timeout),
        stop_timeout=node.read("stop_timeout", Node.duration, default.stop_timeout),
        start_port=node.read("start_port", lambda n: n.integer(1, 65535 - 100), 4000),
        max_size=node.read("max_size", lambda n: n.integer(low=1), None),
        default_memory_limit=node.read("default_memory_limit", Node.size, None),
        user=node.read("user", Node.text, None),
        group=node.read("group", Node.text, None),
    )


def _framework(node: Node, base_dir: str) -> tuple[Framework, bool]:
    """The framework, and whether it is the default (our event app)."""
    command = node.read("command", Node.text, None)
    args = node.read("args", Node.texts, None)
    if command is None and args is not None:
        raise node.error("'args' needs 'command' (without both, the event app is started)")
    app_directory = node.read("app_directory", Node.text, None)
    framework = Framework(
        command=sys.executable if command is None else command,
        args=EVENT_APP_ARGS if args is None else args,
        app_directory=None if app_directory is None else resolve_path(base_dir, app_directory),
        port_env_var=node.read("port_env_var", _env_name, "PORT"),
        start_delay=node.read("start_delay", Node.duration, 0.0),
    )
    return framework, command is None


def _env_name(node: Node) -> str:
    name = node.text()
    if not _ENV_NAME.fullmatch(name):
        raise node.error(f"{name!r} is not an environment variable name")
    return name


def _tenants(node: Node, inherited: _Inherited) -> tuple[Tenant, ...]:
    tenants: list[Tenant] = []
    paths: set[str] = set()
    names: set[str] = set()
    for item in node.items():
        tenant = _tenant(item, inherited)
        if tenant.path in paths:
            raise item.error(f"duplicate tenant path {tenant.path!r}")
        if tenant.name in names:
            raise item.error(f"duplicate tenant name {tenant.name!r}")
        paths.add(tenant.path)
        names.add(tenant.name)
        tenants.append(tenant)
    return tuple(tenants)


def tenant_name(path: str, root_path: str) -> str:
    """The default name of the tenant at *path*: without ``root_path``, slashes stripped,
    inner slashes as ``-`` (``/showcase/2025/boston/`` → ``2025-boston``; the root is
    ``index``)."""
    if root_path and path.startswith(root_path + "/"):
        path = path[len(root_path) :]
    return path.strip("/").replace("/", "-") or "index"


def _tenant_path(node: Node) -> str:
    path = node.text()
    if not path.startswith("/"):
        raise node.error(f"{path!r} must start with '/'")
    return path if path.endswith("/") else path + "/"


def _explicit_name(node: Node) -> str:
    name = node.text()
    if not name or "/" in name or name in (".", ".."):
        raise node.error(f"{name!r} is not a tenant name (non-empty, no '/')")
    return name


def _tenant(node: Node, inherited: _Inherited) -> Tenant:
    applications = inherited.applications
    path = node.require("path", _tenant_path)
    var = node.read("var", Node.env, ())
    values = dict(var)
    env = {name: _expand(template, values, node) for name, template in inherited.env}
    env.update(node.read("env", Node.env, ()))
    command, is_event_app = _command(node, inherited)
    root = node.read("root", Node.text, None)
    bot_detection = node.get("bot_detection")
    return Tenant(
        path=path,
        name=node.read("name", _explicit_name, None) or tenant_name(path, inherited.root_path),
        root=(
            resolve_path(inherited.base_dir, root)
            if root is not None
            else applications.framework.app_directory
        ),
        var=var,
        env=tuple(env.items()),
        command=tuple(_expand(template, values, node) for template in command),
        port_env_var=applications.framework.port_env_var,
        health_check=node.read("health_check", url, applications.health_check),
        startup_timeout=node.read("startup_timeout", Node.duration, applications.startup_timeout),
        track_websockets=node.read("track_websockets", Node.flag, applications.track_websockets),
        bot_detection=(
            None
            if bot_detection is None
            else read_bot_detection(bot_detection, inherited.bot_detection)
        ),
        hooks=read_tenant_hooks(node.section("hooks"), inherited.base_dir),
        memory_limit=node.read("memory_limit", Node.size, applications.pools.default_memory_limit),
        start_delay=applications.framework.start_delay,
        is_event_app=is_event_app,
    )


def _command(node: Node, inherited: _Inherited) -> tuple[tuple[Template, ...], bool]:
    """The tenant's own ``runtime server args…``, or else the framework's command."""
    runtime, server, args = (node.get(key) for key in ("runtime", "server", "args"))
    if runtime is None and server is None and args is None:
        return inherited.command, inherited.is_event_app
    command: list[Template] = [(part.text(), part.path) for part in (runtime, server) if part]
    if args is not None:
        command.extend((arg.text(), arg.path) for arg in args.items())
    if not command:
        raise node.error("the tenant's command ('runtime', 'server', 'args') is empty")
    return tuple(command), False


def _expand(template: Template, values: dict[str, str], tenant: Node) -> str:
    """*template* with ``${name}`` replaced from the tenant's var; ``${port}`` is kept."""
    text, where = template

    def replace(match: re.Match[str]) -> str:
        name = match[1]
        if name in values:
            return values[name]
        if name == PORT_VARIABLE:
            return match[0]
        raise tenant.error(f"{where} uses ${{{name}}}, which is not in this tenant's var")

    return _VARIABLE.sub(replace, text)
