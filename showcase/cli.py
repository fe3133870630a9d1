"""The ``showcase`` command line (spec/cli.md)."""

from __future__ import annotations

import argparse
import importlib
import os
import re
import signal
import sys
from collections.abc import Sequence
from typing import Any


def config_check(args: argparse.Namespace) -> int:
    from showcase.config import ConfigError, load_config

    failed = 0
    for path in args.files:
        try:
            config = load_config(path)
        except (ConfigError, OSError) as e:
            print(
                f"{e}" if isinstance(e, ConfigError) else f"{path}: {e.strerror}", file=sys.stderr
            )
            failed += 1
            continue
        tenants = len(config.applications.tenants)
        print(f"{path}: ok ({tenants} tenant{'s' if tenants != 1 else ''})")
    return 1 if failed else 0


def reload(args: argparse.Namespace) -> int:
    try:
        with open(args.pidfile) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError) as e:
        print(f"showcase reload: cannot read pid file {args.pidfile}: {e}", file=sys.stderr)
        return 1
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        print(f"showcase reload: no process {pid} (stale pid file {args.pidfile})", file=sys.stderr)
        return 1
    except PermissionError:
        print(f"showcase reload: not allowed to signal process {pid}", file=sys.stderr)
        return 1
    print(f"sent SIGHUP to {pid}")
    return 0


EVENT_KEY = re.compile(r"\d{4}-[a-z0-9]+(-[a-z0-9-]+)?")


def event_new(args: argparse.Namespace) -> int:
    if not EVENT_KEY.fullmatch(args.key):
        print(
            f"showcase event new: bad key {args.key!r} (expected YEAR-LOCATION[-EVENT],"
            " lower case, e.g. 2026-boston)",
            file=sys.stderr,
        )
        return 2
    from showcase.event.db import create
    from showcase.event.defaults import populate_new_event

    path = os.path.join(args.db_dir, f"{args.key}.sqlite3")
    try:
        made = create(
            path, lambda conn: populate_new_event(conn, args.name, args.date, args.location)
        )
    except OSError as e:
        print(f"showcase event new: cannot create {path}: {e.strerror}", file=sys.stderr)
        return 1
    if not made:
        print(f"showcase event new: {path} already exists", file=sys.stderr)
        return 1
    print(f"created {path}")
    return 0


def demo(args: argparse.Namespace) -> int:
    from showcase.event.db import create
    from showcase.event.demo import populate_demo

    path = os.path.join(args.db_dir, "demo.sqlite3")
    try:
        made = create(path, populate_demo)
    except OSError as e:
        print(f"showcase demo: cannot create {path}: {e.strerror}", file=sys.stderr)
        return 1
    print(f"created {path}" if made else f"{path} already exists")
    return 0


# Subcommands that live beside the code they drive: (group, name, "module:function", help).
# ``function(parser)`` adds the command's options and ``parser.set_defaults(run=...)``;
# the module is imported when the parser is built, so it must import its heavy parts lazily.
COMMANDS: tuple[tuple[str | None, str, str, str], ...] = (
    (
        "config",
        "generate",
        "showcase.index.generate:configure",
        "write showcases.yml, htpasswd and the router config from the index database",
    ),
    (
        "assets",
        "precompile",
        "showcase.ops.assets:configure_precompile",
        "copy static/ into public/assets/ with digested names and a manifest",
    ),
    (
        "assets",
        "clean",
        "showcase.ops.assets:configure_clean",
        "remove all but the newest compiled versions of each asset",
    ),
    (
        "assets",
        "clobber",
        "showcase.ops.assets:configure_clobber",
        "remove every compiled asset and the manifest",
    ),
    (
        "user",
        "add",
        "showcase.index.users_cli:configure_add",
        "add or update a user of the admin app (password on standard input)",
    ),
    (
        None,
        "backup",
        "showcase.ops.backup:configure",
        "push the databases this region owns to the other regions",
    ),
    (
        None,
        "snapshot",
        "showcase.ops.snapshot:configure_snapshot",
        "take today's snapshot of every database",
    ),
    (
        None,
        "restore",
        "showcase.ops.snapshot:configure_restore",
        "put one database back from a snapshot",
    ),
)
GROUP_HELP = {
    "config": "router configuration files",
    "assets": "compiled static assets",
    "user": "users of the admin app",
}


def _add_commands(commands: Any, groups: dict[str, Any]) -> None:
    for group, name, target, help_text in COMMANDS:
        module_name, _, function = target.partition(":")
        module = importlib.import_module(module_name)
        if group is None:
            where = commands
        elif group in groups:
            where = groups[group]
        else:
            sub = commands.add_parser(group, help=GROUP_HELP.get(group))
            where = groups[group] = sub.add_subparsers(dest=f"{group}_command", required=True)
        getattr(module, function)(where.add_parser(name, help=help_text, description=help_text))


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="showcase", description="Run and manage showcase events.")
    commands = top.add_subparsers(dest="command", required=True)

    config = commands.add_parser("config", help=GROUP_HELP["config"])
    config_commands = config.add_subparsers(dest="config_command", required=True)
    check = config_commands.add_parser("check", help="validate router config files")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.set_defaults(run=config_check)

    rel = commands.add_parser("reload", help="make the running router re-read its config")
    rel.add_argument("--pidfile", default="twistd.pid", help="the router's pid file")
    rel.set_defaults(run=reload)

    event = commands.add_parser("event", help="event databases")
    event_commands = event.add_subparsers(dest="event_command", required=True)
    new = event_commands.add_parser("new", help="create an event database with the defaults")
    new.add_argument("key", metavar="YEAR-LOCATION[-EVENT]", help="e.g. 2026-boston-spring")
    new.add_argument("--db-dir", default="db", help="where event databases live (default: db)")
    new.add_argument("--name", default="Showcase", help="the event's name (default: Showcase)")
    new.add_argument("--date", help="the event's date, e.g. 2026-05-16")
    new.add_argument("--location", help="where the event takes place")
    new.set_defaults(run=event_new)

    dem = commands.add_parser("demo", help="create the demo event database (db/demo.sqlite3)")
    dem.add_argument("--db-dir", default="db", help="where event databases live (default: db)")
    dem.set_defaults(run=demo)
    _add_commands(commands, {"config": config_commands})
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
