"""The texts ``config generate`` writes, built from a :class:`Catalog`: showcases.yml,
htpasswd, the router config, the maintenance config and the appliance's config.

Pure functions: the same catalog, options (and logger secret) give the same bytes.  YAML
is written with ``yaml.safe_dump(sort_keys=False)`` after the data were put in order here.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any

import yaml

import showcase
from showcase.ops.manifest import MANIFEST

from .gen_catalog import Catalog, Event, User
from .gen_ops import (
    appliance_internal,
    backup_peers,
    backup_section,
    idle_section,
    logging_section,
)
from .gen_options import ENV_PRINT_TOKEN_FILE, GenerateOptions

PACKAGED_MAINTENANCE_PAGE = os.path.join(
    os.path.dirname(showcase.__file__), "data", "public", "503.html"
)
"""The auto-refreshing 503 page, used when the public directory has none of its own."""

ALLOWED_EXTENSIONS = (
    "html", "htm", "txt", "xml", "json", "css", "js", "mjs", "map",
    "png", "jpg", "jpeg", "gif", "svg", "ico", "webp", "woff", "woff2", "ttf", "otf",
)  # fmt: skip
TRY_FILES = ("index.html", ".html")
LOGO_DIR = "images"
"""A location's ``logo`` is a file name in ``<public_dir>/images/``."""
HOOK_TIMEOUT = "5m"
TENANT_BACKUP_TIMEOUT = "2m"
REALM = "Showcase"


def dump(data: Any) -> str:
    """YAML for ``data`` in its own order (no line folding, unicode kept)."""
    return yaml.safe_dump(
        data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100_000
    )


# -- showcases.yml --------------------------------------------------------------------


def showcases_data(catalog: Catalog) -> dict[int, dict[str, dict[str, Any]]]:
    """Year (newest first) → location key → ``{name, region, logo?, locale?}`` plus
    ``date`` (a single ``showcase`` event) or ``events`` → key → ``{name, date?}``."""
    years: dict[int, dict[str, dict[str, Any]]] = {}
    for event in catalog.events:
        location = event.location
        entries = years.setdefault(event.year, {})
        entry = entries.get(location.key)
        if entry is None:
            entry = entries[location.key] = {"name": location.name}
            if location.region:
                entry["region"] = location.region
            if location.logo:
                entry["logo"] = location.logo
            if location.locale:
                entry["locale"] = location.locale
        if event.key is None:
            if event.date:
                entry["date"] = event.date
            continue
        item: dict[str, Any] = {"name": event.name}
        if event.date:
            item["date"] = event.date
        entry.setdefault("events", {})[event.key] = item
    return {year: years[year] for year in sorted(years, reverse=True)}


def showcases_text(catalog: Catalog) -> str:
    return dump(showcases_data(catalog))


# -- htpasswd -----------------------------------------------------------------------------


def htpasswd_lines(catalog: Catalog) -> str:
    return "".join(f"{user.userid}:{user.hash}\n" for user in catalog.users)


# -- router configs -------------------------------------------------------------------------


def owned(event: Event, options: GenerateOptions) -> bool:
    """Is ``event`` served by this machine?"""
    return options.region is None or event.location.region == options.region


def tenant_path(event: Event, options: GenerateOptions) -> str:
    return f"{options.root_path}/{event.scope}/"


def maintenance_page(options: GenerateOptions) -> str | None:
    """``maintenance.page``: None (the default, ``<public_dir>/503.html``) when that file
    exists, else the packaged page, relative to the config's directory (a page starting
    with ``/`` would be read inside ``public_dir``)."""
    if os.path.isfile(os.path.join(options.public_dir, "503.html")):
        return None
    return os.path.relpath(PACKAGED_MAINTENANCE_PAGE, options.out)


def showcase_command(*args: str) -> dict[str, Any]:
    """A hook running ``showcase ARGS…`` with this interpreter (no PATH lookup)."""
    return {"command": sys.executable, "args": ["-m", "showcase.cli", *args]}


def server_section(options: GenerateOptions) -> dict[str, Any]:
    root = options.root_path
    return {
        "listen": options.listen,
        "root_path": root,
        "static": {
            "public_dir": options.public_dir,
            "allowed_extensions": list(ALLOWED_EXTENSIONS),
            "try_files": list(TRY_FILES),
            "cache_control": {
                "overrides": [{"path": f"{root}/assets/", "max_age": "1y", "immutable": True}]
            },
        },
        "health_check": {"path": "/up", "response": {"status": 200, "body": "OK"}},
    }


def _maintenance_section(options: GenerateOptions, enabled: bool) -> dict[str, Any]:
    section: dict[str, Any] = {"enabled": enabled}
    page = maintenance_page(options)
    if page is not None:
        section["page"] = page
    return section


def _public_paths(catalog: Catalog, options: GenerateOptions) -> list[str]:
    root = options.root_path
    paths = [
        f"{root}/studios/",
        f"{root}/static/",  # the studios index's stylesheet and scripts
        f"{root}/demo/",
        f"{root}/assets/",
        f"{root}/{LOGO_DIR}/",
        f"{root}/favicon.ico",
        f"{root}/robots.txt",
        f"{root}/config/update",  # peers' index uploads: the index app checks their token
    ]
    for event in catalog.events:
        path = tenant_path(event, options)
        # the public pages' stylesheet and scripts are the event app's own static/ files
        paths += [f"{path}public/", f"{path}static/", f"{path}cable", f"{path}print.json"]
    return paths


def _backup_args(options: GenerateOptions) -> list[str]:
    """``showcase backup`` for this region, with the peers of the generated config."""
    region = ["--region", options.region] if options.region else []
    return ["backup", "--db-dir", options.db_dir, *region, "--config", options.config_path]


def _index_tenant(options: GenerateOptions) -> dict[str, Any]:
    return {
        "path": f"{options.root_path}/",
        "name": "index",
        "runtime": sys.executable,
        "args": ["-m", "showcase.index"],
        "env": options.to_env(),
    }


def _demo_tenant(options: GenerateOptions) -> dict[str, Any]:
    return {
        "path": f"{options.root_path}/demo/",
        "name": "demo",
        "env": {
            "SHOWCASE_DB": os.path.join(options.db_dir, "demo.sqlite3"),
            "SHOWCASE_SCOPE": "demo",
            "SHOWCASE_OWNER": "Demo",
            "SHOWCASE_POPULATE": "demo",
        },
    }


def _event_tenant(
    event: Event, options: GenerateOptions, push: bool, users: tuple[User, ...]
) -> dict[str, Any]:
    env = {
        "SHOWCASE_DB": os.path.join(options.db_dir, f"{event.db_name}.sqlite3"),
        "SHOWCASE_SCOPE": event.scope,
        "SHOWCASE_OWNER": event.location.name,
        # Who may open its non-public pages: administrators and its location's users.
        "SHOWCASE_USERS": ",".join(u.userid for u in users if u.may_use(event.location.name)),
    }
    if event.location.logo:
        env["SHOWCASE_LOGO"] = f"{LOGO_DIR}/{event.location.logo}"
    if options.print_token_file:
        env[ENV_PRINT_TOKEN_FILE] = options.print_token_file
    tenant: dict[str, Any] = {"path": tenant_path(event, options), "env": env}
    if push:
        hook = showcase_command(*_backup_args(options), "--only", event.db_name)
        tenant["hooks"] = {"stop": [{**hook, "timeout": TENANT_BACKUP_TIMEOUT}]}
    return tenant


def _tenants_env(options: GenerateOptions) -> dict[str, str]:
    """``applications.env``: every tenant's pages use the compiled assets once
    ``showcase assets precompile`` wrote them (until then the apps' own ``static/``);
    the public directory is where the PDFs find a location's logo."""
    return {
        "SHOWCASE_ASSETS_MANIFEST": os.path.join(options.public_dir, "assets", MANIFEST),
        "SHOWCASE_ASSETS_URL": f"{options.root_path}/assets/",
        "SHOWCASE_PUBLIC_DIR": options.public_dir,  # where SHOWCASE_LOGO files are (PDFs)
    }


def _replay_rules(catalog: Catalog, options: GenerateOptions) -> list[dict[str, Any]]:
    """The appliance's rule first: every PDF but the demo's (each machine has its own demo,
    the appliance none: the demo renders its PDFs itself); then each event of another
    region to its region."""
    rules: list[dict[str, Any]] = []
    if options.appliance_app:
        demo = re.escape(f"{options.root_path}/demo/")
        rules.append({"path": f"^(?!{demo}).*\\.pdf$", "app": options.appliance_app})
    for event in catalog.events:
        region = event.location.region
        if owned(event, options) or region is None:
            continue
        prefix = tenant_path(event, options).rstrip("/")
        rules.append({"path": f"^{re.escape(prefix)}(?:/|$)", "region": region})
    return rules


def _auth_section(catalog: Catalog, options: GenerateOptions) -> dict[str, Any]:
    return {
        "enabled": True,
        "realm": REALM,
        "htpasswd": options.htpasswd_path,
        "public_paths": _public_paths(catalog, options),
    }


def _machine_server(options: GenerateOptions) -> dict[str, Any]:
    """``server`` of a running machine: the maintenance config's, plus ``idle``."""
    server = server_section(options)
    idle = idle_section(options)
    if idle is not None:
        server["idle"] = idle
    return server


def router_text(
    catalog: Catalog, options: GenerateOptions, logger_secret: str | None = None
) -> str:
    """The full router config (``<out>/showcase.yml``).  With ``--backup`` the backup
    hooks push only when there is a peer to push to."""
    push = options.backup and bool(backup_peers(catalog, options))
    tenants = [_index_tenant(options), _demo_tenant(options)]
    tenants += [
        _event_tenant(event, options, push, catalog.users)
        for event in catalog.events
        if owned(event, options)
    ]
    config: dict[str, Any] = {
        "server": _machine_server(options),
        "auth": _auth_section(catalog, options),
        "maintenance": _maintenance_section(options, enabled=False),
        "applications": {"env": _tenants_env(options), "tenants": tenants},
    }
    rules = _replay_rules(catalog, options)
    if rules:
        config["routes"] = {"fly": {"replay": rules}}
    if push:
        hook = showcase_command(*_backup_args(options))
        config["hooks"] = {"server": {"idle": [{**hook, "timeout": HOOK_TIMEOUT}]}}
    if options.backup:
        config["backup"] = backup_section(catalog, options)
    config["cable"] = {"enabled": True}
    config["logging"] = logging_section(options, logger_secret)
    return dump(config)


def _appliance_rules(catalog: Catalog, options: GenerateOptions) -> list[dict[str, Any]]:
    """A rule giving every event's PDFs to its region: how the appliance finds the owner.
    Only PDFs match, so any other request for an event matches no rule (a 404 on the
    appliance, never a region replay, which would stay inside the printer app)."""
    rules: list[dict[str, Any]] = []
    for event in catalog.events:
        if event.location.region is None:
            continue
        prefix = tenant_path(event, options)
        rules.append({"path": f"^{re.escape(prefix)}.+\\.pdf$", "region": event.location.region})
    return rules


def appliance_text(
    catalog: Catalog, options: GenerateOptions, logger_secret: str | None = None
) -> str:
    """The PDF appliance's router config (``<out>/appliance.yml``): no tenants; a PDF of
    any event is rendered from the print data its region's router serves to the token.
    Basic auth as on the event machines (a PDF holds an event's data), from the same
    htpasswd path: the appliance needs a copy of that file beside this one."""
    config: dict[str, Any] = {
        "server": _machine_server(options),
        "auth": _auth_section(catalog, options),
        "maintenance": _maintenance_section(options, enabled=False),
        "routes": {
            "fly": {
                "replay": _appliance_rules(catalog, options),
                "internal": appliance_internal(options),
            }
        },
        "appliance": {"token_file": options.print_token_file},
        "cable": {"enabled": False},
        "logging": logging_section(options, logger_secret),
    }
    return dump(config)


def maintenance_text(options: GenerateOptions) -> str:
    """The boot config (``<out>/maintenance.yml``): every tenant request gets the 503 page
    while the ``server.ready`` hook generates, then the router switches to the full config."""
    hook = showcase_command(*options.to_args())
    ready = {**hook, "reload_config": options.config_path, "timeout": HOOK_TIMEOUT}
    config: dict[str, Any] = {
        "server": server_section(options),
        "maintenance": _maintenance_section(options, enabled=True),
        "hooks": {"server": {"ready": [ready]}},
        "cable": {"enabled": True},
        "logging": {"format": "json"},
    }
    return dump(config)
