"""``showcase backup``: push the databases this region owns to the other regions' rsync daemons.

Which databases: those ``<db-dir>/showcases.yml`` gives to this region
(``--region``, default ``$FLY_REGION``), plus ``index.sqlite3`` when
``--index-region`` (or ``backup.index_region``) names this region; by default
the index belongs to nobody and is not pushed.  ``--only DB`` (repeatable; a
name, a file name or a path; ``-`` = ``$SHOWCASE_DB``, for a ``tenant.stop``
hook) narrows that down; a database another region owns is never pushed, only
reported as skipped.  What is pushed, and how, is :mod:`showcase.ops.backup_push`.

Peers, the password file, ``db_dir`` and ``index_region`` default to the
router config's ``backup`` section (``--config``, default
``config/showcase.yml`` when it exists); ``--db-dir`` defaults to
``backup.db_dir``, else ``db``.  Prints a progress bar on a terminal, the
failures on stderr, and one summary line; exit 1 when any push failed, 2 on
bad usage.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import shutil
import sys
from collections.abc import Iterator, Mapping
from typing import IO, TYPE_CHECKING

from . import progress as progress_bar
from .backup_push import Outcome, Plan, Push, Rsync, run_backup
from .progress import Progress

if TYPE_CHECKING:
    from showcase.config.model import Backup

DEFAULT_CONFIG = os.path.join("config", "showcase.yml")
DEFAULT_DB_DIR = "db"


class UsageError(Exception):
    """Bad or missing options: exit status 2."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``showcase backup``'s options to ``parser``."""
    parser.add_argument(
        "--db-dir", help="databases and showcases.yml (default: backup.db_dir, else db)"
    )
    parser.add_argument("--region", help="this machine's region (default: $FLY_REGION)")
    parser.add_argument(
        "--peer",
        action="append",
        default=[],
        metavar="rsync://USER@HOST:PORT/MODULE/",
        help="push to this rsync daemon (repeatable; default: backup.peers)",
    )
    parser.add_argument(
        "--password-file", metavar="F", help="rsync password file (default: backup.password_file)"
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="DB",
        help="just this database: name, file or path; '-' = $SHOWCASE_DB (repeatable)",
    )
    parser.add_argument(
        "--index-region",
        metavar="R",
        help="the region owning index.sqlite3 (default: backup.index_region, else nobody)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help=f"router config whose backup section gives the defaults (default: {DEFAULT_CONFIG})",
    )
    parser.add_argument(
        "--timeout", type=int, default=60, metavar="S", help="rsync I/O and connect timeout"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import time

    from showcase.config import ConfigError

    try:
        plan, push = resolve(args, os.environ)
    except UsageError as e:
        print(f"showcase backup: {e}", file=sys.stderr)
        return 2
    except (OSError, ConfigError) as e:
        print(f"showcase backup: {_reason(e)}", file=sys.stderr)
        return 1
    with _progress_bar(sys.stderr) as progress:
        try:
            outcome = run_backup(plan, push, time.time, progress)
        except (OSError, ValueError) as e:
            print(f"showcase backup: {_reason(e)}", file=sys.stderr)
            return 1
    return report(outcome, plan.region, sys.stdout, sys.stderr)


def _reason(error: Exception) -> str:
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.filename}: {error.strerror}"
    return str(error)


def report(outcome: Outcome, region: str, out: IO[str], err: IO[str]) -> int:
    """Print the warnings, failures and the summary; the exit status."""
    for warning in outcome.warnings:
        print(f"showcase backup: {warning}", file=err)
    for name in outcome.not_owned:
        print(f"skipped {name}: not owned by region {region}", file=out)
    for name, reasons in sorted(outcome.failed.items()):
        for reason in reasons:
            print(f"showcase backup: {name}: {reason}", file=err)
    print(outcome.summary(), file=out)
    return 1 if outcome.failed else 0


def resolve(args: argparse.Namespace, environ: Mapping[str, str]) -> tuple[Plan, Push]:
    """The plan and the pusher for ``args``; raises UsageError, ConfigError or OSError."""
    backup = _config_backup(args.config)
    region = args.region or environ.get("FLY_REGION")
    if not region:
        raise UsageError("no region: give --region or set FLY_REGION")
    peers = tuple(args.peer) or (backup.peers if backup else ())
    if not peers:
        raise UsageError("no peers: give --peer or set backup.peers in the router config")
    for peer in peers:
        if not peer.startswith("rsync://"):
            raise UsageError(f"{peer!r} is not an rsync:// URL")
    only = []
    for value in args.only:
        if value == "-":
            value = environ.get("SHOWCASE_DB", "")
            if not value:
                raise UsageError("--only - needs SHOWCASE_DB in the environment")
        only.append(value)
    binary = shutil.which("rsync", path=environ.get("PATH"))
    if binary is None:
        raise OSError("rsync not found on PATH")
    plan = Plan(
        db_dir=args.db_dir or (backup.db_dir if backup else None) or DEFAULT_DB_DIR,
        region=region,
        peers=peers,
        only=tuple(only),
        index_region=args.index_region or (backup.index_region if backup else None),
    )
    password_file = args.password_file or (backup.password_file if backup else None)
    return plan, Rsync(binary, password_file, args.timeout)


def _config_backup(path: str | None) -> Backup | None:
    from showcase.config import load_config

    if path is None:
        if not os.path.exists(DEFAULT_CONFIG):
            return None
        path = DEFAULT_CONFIG
    return load_config(path).backup


@contextlib.contextmanager
def _progress_bar(stream: IO[str]) -> Iterator[Progress | None]:
    """A one-line progress bar on a terminal; nothing otherwise."""
    if not stream.isatty():
        yield None
        return

    try:
        yield functools.partial(progress_bar.draw, stream)
    finally:
        progress_bar.clear(stream)
