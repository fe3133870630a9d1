"""``python -m showcase.event``: serve one event, as a tenant of the router or standalone.

Environment: ``SHOWCASE_DB`` (the event's SQLite file; created with a new
event's defaults if missing), ``SHOWCASE_SCOPE`` (``2025/boston``, the
event's path below the site root; a value starting with ``/`` is the whole
URL prefix), ``SHOWCASE_ROOT`` (the site's ``root_path``, e.g.
``/showcase``), ``SHOWCASE_TENANT`` (its name, for logs), ``PORT`` (0 = any
free port), ``HOST`` (default 127.0.0.1), ``SHOWCASE_POPULATE=demo`` (a missing database
is created as the demo event instead of an empty one), ``SHOWCASE_ASSETS_MANIFEST`` and
``SHOWCASE_ASSETS_URL`` (compiled assets, :mod:`showcase.event.assets_url`),
``SHOWCASE_LOGO`` and ``SHOWCASE_OWNER`` (the location, :mod:`showcase.event.theme`).
Once listening it prints one JSON line, ``{"ready": true, "port": N, "pid": P}``.

Start-up time is what a judge waits for after an idle stop, so the imports
are kept lean: the TLS stack is never imported (this process only talks
plain HTTP on loopback) and the garbage collector is off while importing.

The work is split for the preloaded spawner (:mod:`showcase.tenants.spawner`):
:func:`prepare` only imports (no reactor started, no database, no threads),
:func:`serve` does the rest from an environment, and :func:`preload` is what
the spawner calls once before it forks children that each call the ``serve``
it returned.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from klein import Klein

    from showcase.event.context import Context

SERVING = (
    "json",
    "twisted.web.server",
    "showcase.event.context",
    "showcase.event.db",
    "showcase.event.defaults",
    "showcase.event.users_only",
    "showcase.event.web",
)
PAGES_LOADED_LAZILY = (
    "showcase.event.demo",
    "showcase.event.scheduler",
    "showcase.event.score_sheet",
    "showcase.event.score_tables",
    "showcase.event.tallies",
)

Serve = Callable[[Mapping[str, str], Any], None]
"""``serve(env, reactor)``: open the database, listen, print the ready line, run."""


def prefix_from_env(env: Mapping[str, str]) -> str:
    """The URL prefix the event is served under.

    Under the router, ``SHOWCASE_PREFIX`` (the tenant's path, set by the router)
    says it exactly; standalone it is ``SHOWCASE_ROOT`` + ``SHOWCASE_SCOPE``.
    """
    prefix = env.get("SHOWCASE_PREFIX")
    if prefix is not None:
        return prefix.strip().rstrip("/")
    scope = env.get("SHOWCASE_SCOPE", "").strip()
    if scope.startswith("/"):
        return scope.rstrip("/")
    root = env.get("SHOWCASE_ROOT", "").strip().rstrip("/")
    return f"{root}/{scope.strip('/')}".rstrip("/") if scope else root


def prepare(everything: bool = False) -> None:
    """Import what serving needs, with the collector off and without the TLS stack.

    With ``everything`` the modules some pages load lazily are imported too:
    in the spawner that is paid once and shared by every child.
    """
    enabled = gc.isenabled()
    gc.disable()
    sys.modules.setdefault("OpenSSL", None)  # type: ignore[arg-type]
    for module in SERVING + (PAGES_LOADED_LAZILY if everything else ()):
        importlib.import_module(module)
    if enabled:
        gc.enable()


def serve(env: Mapping[str, str], reactor: Any, prebuilt: Prebuilt | None = None) -> None:
    """Open the event's database, listen, print the ready line and run ``reactor``.

    ``prebuilt`` is the app :func:`preload` built before the database was known;
    without it the app is built here.
    """
    import json

    from twisted.logger import (
        FilteringLogObserver,
        LogLevel,
        LogLevelFilterPredicate,
        globalLogBeginner,
        textFileLogObserver,
    )
    from twisted.web.server import Site

    from showcase.event.context import Context
    from showcase.event.db import EventDB, create
    from showcase.event.defaults import populate_new_event
    from showcase.event.publisher import make_publisher
    from showcase.event.users_only import UsersOnly, allowed_users
    from showcase.event.web import build_app, mount

    # Warnings and failures go to stderr, which the router logs per tenant.
    globalLogBeginner.beginLoggingTo(
        [
            FilteringLogObserver(
                textFileLogObserver(sys.stderr), [LogLevelFilterPredicate(LogLevel.warn)]
            )
        ],
        redirectStandardIO=False,
    )

    path = env.get("SHOWCASE_DB") or os.path.join("db", "demo.sqlite3")
    name = env.get("SHOWCASE_TENANT") or os.path.splitext(os.path.basename(path))[0]
    if env.get("SHOWCASE_POPULATE") == "demo":
        from showcase.event.demo import populate_demo

        create(path, populate_demo)
    else:
        create(path, lambda conn: populate_new_event(conn, name))
    if prebuilt is None:
        ctx = Context(EventDB(path), prefix_from_env(env))
        app = build_app(ctx)
    else:
        ctx, app = prebuilt.open(path, prefix_from_env(env))
    ctx.page.configure(env)  # compiled assets and the location's logo
    ctx.publish = make_publisher(env.get("SHOWCASE_REDIS"), reactor, ctx.db.name)
    root = mount(app, ctx.prefix)
    users = allowed_users(env)
    if users is not None:
        root = UsersOnly(root, users)  # only this event's users (router-authenticated)
    site = Site(root)
    site.noisy = False
    port = reactor.listenTCP(
        int(env.get("PORT", "0")), site, interface=env.get("HOST", "127.0.0.1")
    )
    ready = {"ready": True, "port": port.getHost().port, "pid": os.getpid()}
    print(json.dumps(ready), flush=True)
    try:
        reactor.run()
    finally:
        ctx.db.close()


class Prebuilt:
    """The event app built in the spawner, before any database is known.

    Building it costs ~45 ms (werkzeug compiles every route) and its templates
    ~15 ms more on first use, so the spawner does both once, and every child
    shares the result copy-on-write.  Routes hold the :class:`Context` and its
    database object, so those exist already; :meth:`open` (in the child) opens
    the database into that object and sets the URL prefix.
    """

    def __init__(self) -> None:
        from showcase.event.context import Context
        from showcase.event.db import EventDB
        from showcase.event.web import build_app

        self.db = EventDB.__new__(EventDB)  # opened by open(), in the child
        self.ctx = Context(self.db, "")
        for template in self.ctx.env.list_templates(extensions=["html"]):
            self.ctx.env.get_template(template)
        self.app = build_app(self.ctx)

    def open(self, path: str, prefix: str) -> tuple[Context, Klein]:
        """Open the database at ``path`` and serve under ``prefix`` (once, in the child)."""
        from showcase.event.db import EventDB

        EventDB.__init__(self.db, path)
        self.ctx.prefix = prefix.rstrip("/")
        return self.ctx, self.app


def preload() -> Serve:
    """For the spawner: import everything and build the app; returns ``serve``."""
    prepare(everything=True)
    return partial(serve, prebuilt=Prebuilt())


def main() -> None:
    prepare()
    from twisted.internet import reactor

    serve(os.environ, reactor)


if __name__ == "__main__":
    main()
