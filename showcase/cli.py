"""The ``showcase`` command line (spec/cli.md)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence


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


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="showcase", description="Run and manage showcase events.")
    commands = top.add_subparsers(dest="command", required=True)

    config = commands.add_parser("config", help="router configuration files")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    check = config_commands.add_parser("check", help="validate router config files")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.set_defaults(run=config_check)

    rel = commands.add_parser("reload", help="make the running router re-read its config")
    rel.add_argument("--pidfile", default="twistd.pid", help="the router's pid file")
    rel.set_defaults(run=reload)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
