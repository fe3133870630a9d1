"""Who is asking, and what they may change in the index.

The router checks the Basic-auth password and forwards the user name as
``X-Remote-User``; no header means an anonymous visitor.  The user's row in
``users`` gives their ``sites``: location names, or ``index`` for everything.

The rule:

- ``index`` in sites (an administrator): everything.
- Otherwise a *site user*, for the locations named in their sites only: create
  and edit those locations' showcases (and request one), see those locations
  and edit their logo and locale (not name, key or region: those decide routing
  and who may do what), and edit their own e-mail and password.  Users, regions
  and new locations are the administrators'.
- Anonymous (or a name with no row): the public pages only (the index page,
  the studios index).

Anything else is refused with 403 and nothing changes.
"""

from __future__ import annotations

import attrs
import bcrypt
from twisted.web.iweb import IRequest

from showcase.event.db import EventDB

from .gen_catalog import sites

ADMIN_SITE = "index"
REMOTE_USER = b"x-remote-user"
BCRYPT_MAX = 72  # bytes bcrypt reads; longer passwords are refused, not truncated


class Denied(Exception):
    """The signed-in user (or an anonymous visitor) may not do this; answered 403."""


@attrs.frozen
class User:
    login: str | None  # None: anonymous
    id: int | None = None  # the users row, if any
    sites: frozenset[str] = frozenset()

    @property
    def signed_in(self) -> bool:
        return self.login is not None

    @property
    def admin(self) -> bool:
        return ADMIN_SITE in self.sites

    def manages(self, location_name: str | None) -> bool:
        """May this user change what belongs to the location called ``location_name``?"""
        return self.admin or (location_name is not None and location_name in self.sites)

    @property
    def stream_id(self) -> str:
        """The ``<user>`` part of this user's ``config_update_index_<user>`` stream."""
        return str(self.id) if self.id is not None else (self.login or "anonymous")


ANONYMOUS = User(None)


def current_user(db: EventDB, request: IRequest) -> User:
    """The user the router let in (``X-Remote-User``), with their sites."""
    raw = request.getHeader(REMOTE_USER)
    if not raw:
        return ANONYMOUS
    login = raw.decode("utf-8", "replace")
    row = db.one("SELECT id, sites FROM users WHERE userid = ?", [login])
    if row is None:
        return User(login)
    return User(login, int(row["id"]), sites(row["sites"]))


def require(allowed: bool, why: str = "You may not do this.") -> None:
    """Refuse with 403 unless ``allowed``."""
    if not allowed:
        raise Denied(why)


def require_signed_in(user: User) -> None:
    require(user.signed_in, "Sign in first.")


def require_admin(user: User) -> None:
    require_signed_in(user)
    require(user.admin, "Only administrators (sites: index) may do this.")


def hash_password(password: str, rounds: int = 12) -> str:
    """A bcrypt hash as Apache's ``htpasswd -B`` writes it (``$2y$``)."""
    hashed = bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=rounds)).decode()
    return "$2y$" + hashed[4:]
