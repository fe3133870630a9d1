"""Load the router config: a YAML file in, one validated, frozen :class:`Config` out.

Every key of ``spec/router-config.md`` is read; an unknown key, a value of the wrong type or
an invalid value raises :class:`ConfigError` naming the file, line and key path.
"""

from __future__ import annotations

import os.path

from .applications import read_applications
from .model import Config
from .nodes import ConfigError, Node
from .operations import (
    read_appliance,
    read_backup,
    read_cable,
    read_logger,
    read_logging,
    read_managed_processes,
    read_redis,
)
from .routes import read_routes
from .schema import SCHEMA
from .sections import read_auth, read_hooks, read_maintenance, read_server


def load_config(path: str) -> Config:
    """The config in the YAML file at *path*; relative paths in it are relative to its
    directory."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        raise ConfigError(f"cannot read: {error.strerror or error}", path) from error
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ConfigError("not UTF-8 text", path, line) from error
    return parse_config(text, path, os.path.dirname(os.path.abspath(path)), check_files=True)


def parse_config(text: str, source: str, base_dir: str, *, check_files: bool = False) -> Config:
    """The config in YAML *text*; *source* names it in errors, relative paths are resolved
    against *base_dir*.  An empty document is the default config.  With *check_files* (as
    :func:`load_config` does), files the config names must exist (CGI scripts)."""
    top = Node.document(text, source, SCHEMA)
    server = read_server(top.section("server"), base_dir, check_files)
    return Config(
        source=source,
        server=server,
        auth=read_auth(top.section("auth"), base_dir),
        maintenance=read_maintenance(
            top.section("maintenance"), server.static.public_dir, base_dir
        ),
        applications=read_applications(
            top.section("applications"), server.root_path, server.bot_detection, base_dir
        ),
        managed_processes=top.read(
            "managed_processes", lambda n: read_managed_processes(n, base_dir), ()
        ),
        routes=read_routes(top.section("routes")),
        hooks=read_hooks(top.section("hooks"), base_dir),
        logging=read_logging(top.section("logging"), base_dir),
        logger=top.read("logger", lambda n: read_logger(n, base_dir), None),
        backup=top.read("backup", lambda n: read_backup(n, base_dir), None),
        appliance=top.read("appliance", lambda n: read_appliance(n, base_dir), None),
        cable=read_cable(top.section("cable"), server.root_path),
        redis=read_redis(top.section("redis")),
    )
