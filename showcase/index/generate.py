"""``showcase config generate``: from the index database to the files the router reads.

Writes ``<db-dir>/showcases.yml``, ``<out>/htpasswd``, ``<out>/showcase.yml`` (the full
router config), ``<out>/maintenance.yml`` (the boot config: the 503 page while its
``server.ready`` hook runs this command, then a switch to ``showcase.yml``) and, with
``--appliance-config``, ``<out>/appliance.yml`` (the PDF appliance's config).  Same input,
same bytes; every file is validated before it replaces the old one, none is replaced when
anything fails, and an unchanged file is not touched.  A config holding the logger's
secret is readable by its owner only.

The admin app calls :func:`generate` in-process after each change, with
``GenerateOptions.from_env(os.environ)`` (the index tenant's environment says where
everything is).  The text builders are also here as functions of an open connection:
:func:`showcases_yaml`, :func:`htpasswd_text`, :func:`router_config`,
:func:`maintenance_config`, :func:`appliance_config`.

The command line imports this module to build its parser, so the work lives in the
``gen_*`` modules, imported when used (``GenerateOptions`` and ``GenerateError`` too).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3

    from .gen_catalog import Catalog, Warn
    from .gen_files import GenerateError, Output
    from .gen_options import GenerateOptions

__all__ = [
    "GenerateError",
    "GenerateOptions",
    "appliance_config",
    "configure",
    "generate",
    "htpasswd_text",
    "maintenance_config",
    "open_index",
    "router_config",
    "showcases_yaml",
]

BUSY_TIMEOUT = 10.0
"""Seconds to wait for the admin app to finish a write to the index database."""

PREFIX = "showcase config generate"

IDLE_ACTIONS = ("suspend", "stop")
DEFAULT_IDLE_TIMEOUT = "15m"
DEFAULT_BACKUP_USER = "showcase"
DEFAULT_BACKUP_PORT = 8873
"""Defaults of :class:`GenerateOptions`, here so that building the parser imports nothing.
The rsync daemon runs as the router's user (uid 1000 in the image), which may not bind a
port below 1024: hence not rsync's 873."""


def __getattr__(name: str) -> Any:
    """``GenerateOptions`` and ``GenerateError``, imported on first use."""
    if name == "GenerateOptions":
        from .gen_options import GenerateOptions

        return GenerateOptions
    if name == "GenerateError":
        from .gen_files import GenerateError

        return GenerateError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def warn_on_stderr(message: str) -> None:
    print(f"{PREFIX}: warning: {message}", file=sys.stderr)


def showcases_yaml(conn: sqlite3.Connection, warn: Warn = warn_on_stderr) -> str:
    """``showcases.yml``: year → location → ``{name, region, …, date | events}``."""
    from .gen_catalog import read_catalog
    from .gen_text import showcases_text

    return showcases_text(read_catalog(conn, warn))


def htpasswd_text(conn: sqlite3.Connection, warn: Warn = warn_on_stderr) -> str:
    """``userid:hash`` lines, sorted; a password that is not a known hash is left out."""
    from .gen_catalog import read_catalog
    from .gen_text import htpasswd_lines

    return htpasswd_lines(read_catalog(conn, warn))


def router_config(
    conn: sqlite3.Connection, options: GenerateOptions, warn: Warn = warn_on_stderr
) -> str:
    """The full router config for this machine (``<out>/showcase.yml``)."""
    from .gen_catalog import read_catalog
    from .gen_ops import read_logger_secret
    from .gen_text import router_text

    return router_text(read_catalog(conn, warn), options, read_logger_secret(options))


def appliance_config(
    conn: sqlite3.Connection, options: GenerateOptions, warn: Warn = warn_on_stderr
) -> str:
    """The PDF appliance's router config (``<out>/appliance.yml``)."""
    from .gen_catalog import read_catalog
    from .gen_ops import read_logger_secret
    from .gen_text import appliance_text

    return appliance_text(read_catalog(conn, warn), options, read_logger_secret(options))


def maintenance_config(options: GenerateOptions) -> str:
    """The boot config (``<out>/maintenance.yml``)."""
    from .gen_text import maintenance_text

    return maintenance_text(options)


def open_index(path: str) -> sqlite3.Connection:
    """The index database, read-only (a missing file is an error, never created)."""
    import sqlite3
    from pathlib import Path

    from .gen_files import GenerateError

    if not os.path.isfile(path):
        raise GenerateError(f"index database {path} does not exist")
    try:
        return sqlite3.connect(Path(path).as_uri() + "?mode=ro", uri=True, timeout=BUSY_TIMEOUT)
    except sqlite3.Error as error:
        raise GenerateError(f"cannot open index database {path}: {error}") from error


def read_index(options: GenerateOptions, warn: Warn) -> Catalog:
    """Everything from one consistent read of the index database."""
    import sqlite3

    from .gen_catalog import read_catalog
    from .gen_files import GenerateError

    conn = open_index(options.index)
    try:
        conn.execute("BEGIN")
        return read_catalog(conn, warn)
    except sqlite3.Error as error:
        raise GenerateError(f"index database {options.index}: {error}") from error
    finally:
        conn.close()


def maintenance_output(options: GenerateOptions) -> Output:
    from .gen_files import Output, check_router_config
    from .gen_text import maintenance_text

    return Output(options.maintenance_path, maintenance_text(options), check_router_config)


def generate(options: GenerateOptions, warn: Warn = warn_on_stderr) -> list[str]:
    """Write every file; the paths that changed.  Raises :class:`GenerateError` (then
    nothing was replaced)."""
    from .gen_files import Output, check_htpasswd, check_router_config, check_yaml, write_outputs
    from .gen_ops import backup_warnings, read_logger_secret
    from .gen_text import (
        appliance_text,
        htpasswd_lines,
        router_text,
        showcases_data,
        showcases_text,
    )

    secret = read_logger_secret(options)
    catalog = read_index(options, warn)
    for message in backup_warnings(catalog, options):
        warn(message)
    for what, path in options.referenced_files():
        if not os.path.isfile(path):
            warn(f"{what} {path} does not exist (yet)")
    showcases = showcases_data(catalog)
    private = secret is not None
    outputs = [
        Output(options.showcases_path, showcases_text(catalog), check_yaml(showcases)),
        Output(
            options.htpasswd_path,
            htpasswd_lines(catalog),
            check_htpasswd([user.userid for user in catalog.users]),
            mode=0o600,
        ),
        Output(
            options.config_path,
            router_text(catalog, options, secret),
            check_router_config,
            private=private,
        ),
        maintenance_output(options),
    ]
    if options.appliance_config:
        text = appliance_text(catalog, options, secret)
        outputs.append(Output(options.appliance_path, text, check_router_config, private=private))
    return write_outputs(outputs)


def configure(parser: argparse.ArgumentParser) -> None:
    """The options of ``showcase config generate``."""
    parser.add_argument(
        "--index", help="the index database (default: <db-dir>/index.sqlite3)", metavar="FILE"
    )
    parser.add_argument(
        "--region",
        default=os.environ.get("FLY_REGION", ""),
        help="this machine's region: only its events are served here, the others are "
        "replayed to their region ('' = serve every event; default: $FLY_REGION)",
    )
    parser.add_argument(
        "--out", default="config", metavar="DIR", help="where router configs go (default: config)"
    )
    parser.add_argument(
        "--db-dir", default="db", metavar="DIR", help="where databases live (default: db)"
    )
    parser.add_argument(
        "--fly-app",
        default=os.environ.get("FLY_APP_NAME", ""),
        metavar="APP",
        help="the Fly app of the event machines: they reach each other at "
        "<region>.<app>.internal (default: $FLY_APP_NAME)",
    )
    parser.add_argument(
        "--root-path", default="/showcase", help="URL prefix of the site (default: /showcase)"
    )
    parser.add_argument(
        "--listen",
        default="tcp:9999",
        metavar="ENDPOINT",
        help="port or endpoint string the router listens on (default: tcp:9999)",
    )
    parser.add_argument(
        "--public-dir",
        default="public",
        metavar="DIR",
        help="static files served by the router (default: public)",
    )
    parser.add_argument(
        "--appliance-app",
        metavar="APP",
        help="Fly app that renders PDFs: .pdf requests (but the demo's) are replayed to it",
    )
    parser.add_argument(
        "--print-token-file",
        metavar="FILE",
        help="bearer token file event tenants check on print.json (for the appliance)",
    )
    parser.add_argument(
        "--appliance-config",
        action="store_true",
        default=None,
        help="also write <out>/appliance.yml, the PDF appliance's config (needs --fly-app, "
        "--print-token-file and a TCP --listen port)",
    )
    _backup_options(parser)
    _operation_options(parser)
    parser.add_argument(
        "--maintenance-only",
        action="store_true",
        help="write only <out>/maintenance.yml (no index database needed; e.g. at image build)",
    )
    parser.set_defaults(run=run)


def _backup_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backup",
        action="store_true",
        default=None,
        help="push a tenant's database to the other regions when it stops, and all of this "
        "region's when the server is idle; serve an rsync daemon for their pushes "
        "(needs --region and --fly-app)",
    )
    parser.add_argument(
        "--backup-user",
        metavar="USER",
        help=f"our rsync user at the peers (default: {DEFAULT_BACKUP_USER})",
    )
    parser.add_argument(
        "--backup-port",
        metavar="PORT",
        help=f"the rsync daemons' port, theirs and ours (default: {DEFAULT_BACKUP_PORT})",
    )
    parser.add_argument(
        "--backup-secrets",
        metavar="DIR",
        help="holds rsync.password (our password at the peers) and rsyncd.secrets "
        "(user:password lines our daemon accepts) (default: <out>)",
    )


def _operation_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--idle",
        choices=IDLE_ACTIONS,
        help="suspend or stop the Fly machine when no request came for --idle-timeout",
    )
    parser.add_argument(
        "--idle-timeout",
        metavar="DURATION",
        help=f"how long without a request before --idle (default: {DEFAULT_IDLE_TIMEOUT})",
    )
    parser.add_argument(
        "--logger-url", metavar="URL", help="ship every log line to this logger (POST URL)"
    )
    parser.add_argument(
        "--logger-secret-file",
        metavar="FILE",
        help="the logger's shared secret (its first line; written into the configs, "
        "which are then readable by their owner only)",
    )
    parser.add_argument(
        "--logger-buffer-dir",
        metavar="DIR",
        help="lines wait here while the logger is unreachable (default: log/buffer "
        "beside the db directory)",
    )


def run(args: argparse.Namespace) -> int:
    from .gen_files import GenerateError, write_outputs
    from .gen_options import options_from_args

    try:
        options = options_from_args(args)
    except ValueError as error:
        print(f"{PREFIX}: {error}", file=sys.stderr)
        return 2
    try:
        if args.maintenance_only:
            written = write_outputs([maintenance_output(options)])
        else:
            written = generate(options)
    except GenerateError as error:
        print(f"{PREFIX}: {error}", file=sys.stderr)
        return 1
    print(f"wrote {', '.join(written)}" if written else "unchanged: nothing written")
    return 0
