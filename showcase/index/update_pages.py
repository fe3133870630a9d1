"""``POST <root>/config/update``: another machine sends its index database.

Authenticated by ``Authorization: Bearer <token>`` (``SHOWCASE_UPDATE_TOKEN``
or the file ``SHOWCASE_UPDATE_TOKEN_FILE``); without a configured token the
endpoint does not exist (404).  The body is an index.sqlite3 image.  It is
written to a temporary file beside the index and checked (``PRAGMA
integrity_check``, the index tables present); only then is it copied over the
live index with SQLite's backup API, in one step, so a reader sees the old
index or the new one and never a mix.  Then this machine applies it
(generate, create this region's databases, reload) and answers
``{"status": "ok", "region": R, "events": N}`` (N: this region's events).
A refused upload answers 422 and changes nothing.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import sqlite3
import tempfile
from typing import TYPE_CHECKING, Any

from klein import Klein
from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.web.server import Request

from showcase.event.db import EventDB

from .db import events, missing_tables

if TYPE_CHECKING:
    from .app import IndexContext

log = Logger()


class Refused(Exception):
    """The uploaded database is not a sound index; nothing was replaced."""


def bearer(request: Request) -> bytes:
    header = request.getHeader(b"authorization") or b""
    scheme, _, token = header.partition(b" ")
    return token.strip() if scheme.lower() == b"bearer" else b""


def check_upload(path: str) -> None:
    """Raise :class:`Refused` unless ``path`` is a sound SQLite index database."""
    try:
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchall()
            if result != [("ok",)]:
                raise Refused("integrity check failed: " + "; ".join(str(r[0]) for r in result))
            missing = missing_tables(conn)
            if missing:
                raise Refused("not an index database: no table " + ", ".join(missing))
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:
        raise Refused(f"not a database: {error}") from None


def replace_index(db: EventDB, body: bytes) -> None:
    """Check ``body`` and copy it over the index ``db``; :class:`Refused` if it is unsound."""
    if not body:
        raise Refused("empty body")
    directory = os.path.dirname(os.path.abspath(db.path))
    fd, tmp = tempfile.mkstemp(prefix=".upload-", suffix=".sqlite3", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(body)
        check_upload(tmp)
        source = sqlite3.connect(tmp, isolation_level=None)
        try:
            source.backup(db.conn)
        except sqlite3.Error as error:
            raise Refused(f"cannot copy it over the index: {error}") from None
        finally:
            source.close()
    finally:
        for leftover in (tmp, tmp + "-wal", tmp + "-shm", tmp + "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(leftover)


def register(app: Klein, ctx: IndexContext) -> None:
    @app.route("/config/update", methods=["POST"], endpoint="index_config_update")
    def update(request: Request) -> bytes | Deferred[bytes]:
        settings = ctx.provisioner.settings
        if not settings.token:
            return ctx.not_found(request)
        if not hmac.compare_digest(bearer(request), settings.token.encode()):
            request.setHeader(b"www-authenticate", b'Bearer realm="showcase"')
            return ctx.json(request, {"status": "error", "message": "wrong token"}, 401)
        assert request.content is not None
        try:
            replace_index(ctx.db, request.content.read())
        except Refused as refused:
            log.warn("index update refused: {why}", why=refused)
            return ctx.json(request, {"status": "error", "message": str(refused)}, 422)

        def answered(created: list[str]) -> bytes:
            local = [e for e in events(ctx.db) if settings.local(e)]
            value: dict[str, Any] = {"status": "ok", "region": settings.region}
            value.update(events=len(local), created=created)
            return ctx.json(request, value)

        def failed(failure: Any) -> bytes:
            log.failure("applying an index update failed", failure)
            message = f"saved, but applying it failed: {failure.value}"
            return ctx.json(request, {"status": "error", "message": message}, 500)

        return ctx.provisioner.apply().addCallbacks(answered, failed)
