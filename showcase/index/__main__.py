"""``python -m showcase.index``: serve the admin (index) app, as the router's index tenant.

Environment (the generated router config gives the index tenant most of it, see
:meth:`showcase.index.gen_options.GenerateOptions.to_env`):

- ``SHOWCASE_DB``: index.sqlite3 (created with the schema if missing);
  ``SHOWCASE_DB_DIR``, ``SHOWCASE_CONFIG_OUT``, ``SHOWCASE_REGION``,
  ``SHOWCASE_ROOT_PATH``, ``SHOWCASE_LISTEN``, ``SHOWCASE_PUBLIC_DIR``: what
  the generator is run with after each change;
- ``SHOWCASE_PREFIX``: the tenant's path (set by the router), else ``SHOWCASE_ROOT_PATH``;
- ``SHOWCASE_ROUTER_PID``: the router to SIGHUP after generating (set by the router);
- ``SHOWCASE_ROUTER_URL``: where to check a new event answers (default: loopback at
  the port of ``SHOWCASE_LISTEN``);
- ``SHOWCASE_REDIS``: where progress is published (set by the router);
- ``SHOWCASE_PEERS``: comma-separated base URLs of the other machines' index apps;
  ``SHOWCASE_UPDATE_TOKEN`` or ``SHOWCASE_UPDATE_TOKEN_FILE``: the Bearer token of
  ``POST <root>/config/update`` (sent to peers, checked on updates; absent: no endpoint);
- ``SHOWCASE_ASSETS_MANIFEST`` and ``SHOWCASE_ASSETS_URL``: compiled assets
  (:mod:`showcase.event.assets_url`);
- ``PORT`` (0 = any free port), ``HOST`` (default 127.0.0.1).

Once listening it prints one JSON line, ``{"ready": true, "port": N, "pid": P}``.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from typing import Any

from .provision import Settings

_UNESCAPED_COLON = re.compile(r"(?<!\\):")

GENERATE_IN_THREAD = True
"""Generating validates the router config it writes (~tens of ms): off the reactor thread."""


def router_url(env: Mapping[str, str]) -> str | None:
    """``SHOWCASE_ROUTER_URL``, else ``http://<loopback>:<port>`` of a TCP ``SHOWCASE_LISTEN``."""
    explicit = env.get("SHOWCASE_ROUTER_URL", "").strip()
    if explicit:
        return explicit.rstrip("/")
    listen = env.get("SHOWCASE_LISTEN", "").strip()
    if listen.isdigit():
        return f"http://127.0.0.1:{listen}"
    kind, *args = [part.replace("\\:", ":") for part in _UNESCAPED_COLON.split(listen)]
    if kind not in ("tcp", "tcp6"):
        return None
    port, host = None, "127.0.0.1" if kind == "tcp" else "::1"
    for i, arg in enumerate(args):
        name, eq, value = arg.partition("=")
        if (eq and name == "port") or (not eq and i == 0):
            port = value if eq else name
        elif eq and name == "interface" and value not in ("", "0.0.0.0", "::"):
            host = value
    if not port or not port.isdigit() or port == "0":
        return None
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def update_token(env: Mapping[str, str]) -> str | None:
    """``SHOWCASE_UPDATE_TOKEN``, else the first line of ``SHOWCASE_UPDATE_TOKEN_FILE``."""
    token = env.get("SHOWCASE_UPDATE_TOKEN", "").strip()
    path = env.get("SHOWCASE_UPDATE_TOKEN_FILE", "").strip()
    if not token and path:
        with open(path) as f:
            token = f.readline().strip()
    return token or None


def settings_from_env(env: Mapping[str, str], db_dir: str, region: str | None) -> Settings:
    from showcase.config.values import normalize_root_path

    pid = env.get("SHOWCASE_ROUTER_PID", "").strip()
    peers = tuple(p.strip() for p in env.get("SHOWCASE_PEERS", "").split(",") if p.strip())
    return Settings(
        db_dir=db_dir,
        region=region,
        root_path=normalize_root_path(env.get("SHOWCASE_ROOT_PATH", "/showcase").strip()),
        router_pid=int(pid) if pid.isdigit() else None,
        router_url=router_url(env),
        peers=peers,
        token=update_token(env),
    )


def serve(env: Mapping[str, str], reactor: Any) -> None:
    """Open the index, listen, print the ready line and run ``reactor``."""
    from treq.client import HTTPClient
    from twisted.internet import threads
    from twisted.logger import (
        FilteringLogObserver,
        LogLevel,
        LogLevelFilterPredicate,
        globalLogBeginner,
        textFileLogObserver,
    )
    from twisted.web.client import Agent
    from twisted.web.server import Site

    from showcase.event.__main__ import prefix_from_env
    from showcase.event.publisher import make_publisher
    from showcase.event.web import mount

    from .app import IndexContext, build_app
    from .db import open_index
    from .gen_options import GenerateOptions
    from .generate import generate
    from .provision import Provisioner, TreqHttp, synchronously

    globalLogBeginner.beginLoggingTo(
        [
            FilteringLogObserver(
                textFileLogObserver(sys.stderr), [LogLevelFilterPredicate(LogLevel.warn)]
            )
        ],
        redirectStandardIO=False,
    )
    env = dict(env)
    env.setdefault("SHOWCASE_DB", os.path.join(env.get("SHOWCASE_DB_DIR") or "db", "index.sqlite3"))
    options = GenerateOptions.from_env(env)
    db = open_index(options.index)
    if "SHOWCASE_PREFIX" not in env and "SHOWCASE_SCOPE" not in env:
        env["SHOWCASE_PREFIX"] = options.root_path
    publish = make_publisher(env.get("SHOWCASE_REDIS"), reactor, db.name)

    def in_thread(work: Any) -> Any:
        return threads.deferToThreadPool(reactor, reactor.getThreadPool(), work)

    provisioner = Provisioner(
        reactor,
        settings_from_env(env, options.db_dir, options.region),
        db,
        lambda: generate(options),
        publish,
        TreqHttp(HTTPClient(Agent(reactor))),
        in_thread=in_thread if GENERATE_IN_THREAD else synchronously,
    )
    ctx = IndexContext(db, prefix_from_env(env), provisioner, publish)
    ctx.page.configure(env)  # compiled assets, as the event app's pages
    site = Site(mount(build_app(ctx), ctx.prefix))
    site.noisy = False
    port = reactor.listenTCP(
        int(env.get("PORT", "0")), site, interface=env.get("HOST", "127.0.0.1")
    )
    print(json.dumps({"ready": True, "port": port.getHost().port, "pid": os.getpid()}), flush=True)
    try:
        reactor.run()
    finally:
        db.close()


def main() -> None:
    from twisted.internet import reactor

    serve(os.environ, reactor)


if __name__ == "__main__":
    main()
