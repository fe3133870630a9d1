"""``python -m showcase.event``: serve one event, as a tenant of the router or standalone.

Environment: ``SHOWCASE_DB`` (the event's SQLite file; created with a new
event's defaults if missing), ``SHOWCASE_SCOPE`` (``2025/boston``, the
event's path below the site root; a value starting with ``/`` is the whole
URL prefix), ``SHOWCASE_ROOT`` (the site's ``root_path``, e.g.
``/showcase``), ``SHOWCASE_TENANT`` (its name, for logs), ``PORT`` (0 = any
free port), ``HOST`` (default 127.0.0.1), ``SHOWCASE_POPULATE=demo`` (a missing database
is created as the demo event instead of an empty one).  Once listening it prints one JSON
line, ``{"ready": true, "port": N}``.

Start-up time is what a judge waits for after an idle stop, so the imports
are kept lean: the TLS stack is never imported (this process only talks
plain HTTP on loopback) and the garbage collector is off while importing.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import Any


def prefix_from_env(env: dict[str, str] | os._Environ[str]) -> str:
    """The URL prefix the event is served under, from SHOWCASE_ROOT and SHOWCASE_SCOPE."""
    scope = env.get("SHOWCASE_SCOPE", "").strip()
    if scope.startswith("/"):
        return scope.rstrip("/")
    root = env.get("SHOWCASE_ROOT", "").strip().rstrip("/")
    return f"{root}/{scope.strip('/')}".rstrip("/") if scope else root


def main() -> None:
    gc.disable()
    sys.modules.setdefault("OpenSSL", None)  # type: ignore[arg-type]
    import json

    from twisted.internet import reactor as _reactor
    from twisted.web.server import Site

    from showcase.event.context import Context
    from showcase.event.db import EventDB, create
    from showcase.event.defaults import populate_new_event
    from showcase.event.web import build_app, mount

    gc.enable()
    reactor: Any = _reactor
    env = os.environ
    path = env.get("SHOWCASE_DB") or os.path.join("db", "demo.sqlite3")
    name = env.get("SHOWCASE_TENANT") or os.path.splitext(os.path.basename(path))[0]
    if env.get("SHOWCASE_POPULATE") == "demo":
        from showcase.event.demo import populate_demo

        create(path, populate_demo)
    else:
        create(path, lambda conn: populate_new_event(conn, name))
    ctx = Context(EventDB(path), prefix_from_env(env))
    site = Site(mount(build_app(ctx), ctx.prefix))
    site.noisy = False
    port = reactor.listenTCP(
        int(env.get("PORT", "0")), site, interface=env.get("HOST", "127.0.0.1")
    )
    print(json.dumps({"ready": True, "port": port.getHost().port}), flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
