"""An index site for tests: an index database, its generated config and a real router on it.

:func:`build_index` makes the index (Boston, an administrator with ``sites: index``, and
any site users asked for); :func:`serve` runs ``twistd -n showcase`` on the config the
real generator writes for it, with the embedded Redis (the cable is on), and tells the
index app where the router listens so it can check new events through it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from showcase.event.db import insert_row
from showcase.index.access import hash_password
from showcase.index.db import open_index
from showcase.index.gen_options import GenerateOptions
from showcase.index.generate import generate

from .routerproc import Router, wait_for

PASSWORD = "waltz-2025"


def build_index(directory: Path, site_users: Mapping[str, str] | None = None) -> int:
    """An index with Boston and an admin; the admin's user id.

    ``site_users`` maps more user ids (all with :data:`PASSWORD`) to the location their
    sites name; a location other than Boston is added with its lower-cased name as key.
    """
    (directory / "db").mkdir()
    (directory / "public").mkdir()
    db = open_index(str(directory / "db" / "index.sqlite3"))
    try:
        with db.transaction():
            insert_row(db.conn, "locations", name="Boston", key="boston")
            admin = insert_row(
                db.conn,
                "users",
                userid="admin",
                password=hash_password(PASSWORD, rounds=4),
                sites="index",
            )
            for userid, location in (site_users or {}).items():
                if location != "Boston":
                    insert_row(db.conn, "locations", name=location, key=location.lower())
                insert_row(
                    db.conn,
                    "users",
                    userid=userid,
                    password=hash_password(PASSWORD, rounds=4),
                    sites=location,
                )
            return admin
    finally:
        db.close()


def options(directory: Path, listen: str) -> GenerateOptions:
    """The generator's options for the index in ``directory``, the router at ``listen``."""
    return GenerateOptions(
        db_dir=str(directory / "db"),
        out=str(directory / "config"),
        public_dir=str(directory / "public"),
        listen=listen,
    )


def serve(directory: Path, started: list[Router]) -> Router:
    """A router on the generated config of the index in ``directory``, added to ``started``
    (the caller stops it), once reloaded with its own address and its bus connected."""
    generate(options(directory, "tcp:9999"), warn=lambda message: None)
    config = (directory / "config" / "showcase.yml").read_text()
    router = Router(directory / "config", config)  # its --config is the generated file
    started.append(router)
    # The index app checks new events through the router at SHOWCASE_LISTEN: say where.
    generate(options(directory, f"tcp:{router.port}:interface=127.0.0.1"), warn=lambda m: None)
    router.reload((directory / "config" / "showcase.yml").read_text())
    wait_for(lambda: "reloaded " in router.log(), 10, "the router to reload")
    wait_for(lambda: "cable bus connected to " in router.log(), 20, "the embedded redis")
    return router
