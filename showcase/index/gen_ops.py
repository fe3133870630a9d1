"""The operational sections of the generated router configs: backups between regions
(``backup``), the machine's idle action (``server.idle``), log shipping
(``logging.logger``) and where the appliance finds the event machines.

Machines reach each other inside Fly's private network at ``<region>.<app>.internal``
(the default ``routes.fly.internal`` template with the app named, as on the appliance
"this app" is the printer app): the backup peers are the rsync daemons there, and the
appliance fetches print data from the routers there.  Fly's private network is IPv6, so
the rsync daemon listens on ``::`` and lets in that network only.

Pure functions of the catalog and the options, except :func:`read_logger_secret`.
"""

from __future__ import annotations

from typing import Any

from showcase.config.model import Backup

from .gen_catalog import Catalog
from .gen_files import GenerateError
from .gen_options import GenerateOptions

FLY_REGION_KINDS = (None, "fly")
"""Region types reachable at ``<region>.<app>.internal`` (a Kamal host is not)."""
RSYNC_ADDRESS = "::"
FLY_PRIVATE_NETWORK = "fdaa::/16"


def internal_host(region: str, app: str) -> str:
    """A region's machine inside Fly's private network."""
    return f"{region}.{app}.internal"


def backup_peers(catalog: Catalog, options: GenerateOptions) -> list[str]:
    """One rsync URL per other Fly region of the regions table, by region code."""
    app = options.fly_app or ""
    return [
        f"rsync://{options.backup_user}@{internal_host(region.code, app)}:"
        f"{options.backup_port}/{Backup().module}/"
        for region in catalog.regions
        if region.code != options.region and region.kind in FLY_REGION_KINDS
    ]


def backup_warnings(catalog: Catalog, options: GenerateOptions) -> list[str]:
    """Why some regions get no backups (only with ``--backup``)."""
    if not options.backup:
        return []
    warnings = [
        f"--backup: region {region.code!r} is a {region.kind} host, not a Fly region: "
        "no backup peer for it"
        for region in catalog.regions
        if region.code != options.region and region.kind not in FLY_REGION_KINDS
    ]
    if not backup_peers(catalog, options):
        warnings.append("--backup: no other Fly region in the regions table: nothing to push to")
    return warnings


def backup_section(catalog: Catalog, options: GenerateOptions) -> dict[str, Any]:
    """``backup``: the peers, our password there, the databases, and our own daemon."""
    return {
        "peers": backup_peers(catalog, options),
        "password_file": options.backup_password_file,
        "db_dir": options.db_dir,
        "serve": {
            "port": options.backup_port,
            "users_file": options.backup_users_file,
            "address": RSYNC_ADDRESS,
            "hosts_allow": [FLY_PRIVATE_NETWORK],
        },
    }


def idle_section(options: GenerateOptions) -> dict[str, Any] | None:
    """``server.idle``, or None when the machine never goes idle."""
    if options.idle is None:
        return None
    return {"action": options.idle, "timeout": options.idle_timeout}


def read_logger_secret(options: GenerateOptions) -> str | None:
    """The shared secret of the logger (the first line of ``--logger-secret-file``), or
    None without one.  Raises :class:`GenerateError` when the file cannot be used."""
    path = options.logger_secret_file
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as file:
            secret = file.readline().strip()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise GenerateError(f"logger secret file {path}: {reason}") from error
    if not secret or any(c.isspace() or not c.isprintable() for c in secret):
        raise GenerateError(f"logger secret file {path}: its first line is not a secret")
    return secret


def logging_section(options: GenerateOptions, secret: str | None) -> dict[str, Any]:
    """``logging``: JSON lines, shipped to the logger when ``--logger-url`` is given."""
    section: dict[str, Any] = {"format": "json"}
    if options.logger_url is not None:
        logger: dict[str, Any] = {"url": options.logger_url}
        if secret is not None:
            logger["secret"] = secret
        logger["buffer_dir"] = options.logger_buffer_path
        section["logger"] = logger
    return section


def appliance_internal(options: GenerateOptions) -> str:
    """The appliance's ``routes.fly.internal``: the event machines' routers, by region."""
    host = internal_host("{region}", options.fly_app or "")
    return f"http://{host}:{options.internal_port}"
