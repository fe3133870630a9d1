"""Which streams a cable connection may subscribe to (pure rules, no I/O).

A stream's tenant is its ``<db>`` part: ``current-heat-<db>``,
``live-scores-<db>``, ``config_update_<db>_<user>``.  A tenant's db name is
the base name, without extension, of its ``SHOWCASE_DB`` (else its name).

- A connection under a tenant's path (``<tenant path>cable``) may subscribe
  to that tenant's three kinds of stream only.
- The root connection (``<root_path>/cable``) may subscribe to the public
  streams (``current-heat-*``, ``live-scores-*``) of any tenant.  The router
  does not know which sites a Basic-auth user manages, so with auth enabled
  it allows public streams only; with auth disabled it allows every known
  stream.
- Any other stream name is unknown and refused everywhere.
"""

from __future__ import annotations

import os.path

import attrs

from showcase.config.model import Tenant

PUBLIC_PREFIXES = ("current-heat-", "live-scores-")
CONFIG_PREFIX = "config_update_"
MAX_STREAM_LENGTH = 256

UNKNOWN = "unknown stream"
OTHER_TENANT = "not this tenant's stream"
NOT_PUBLIC = "not a public stream"


def tenant_db(tenant: Tenant) -> str:
    """The db name streams use for ``tenant``: its SHOWCASE_DB's base name, else its name."""
    path = dict(tenant.env).get("SHOWCASE_DB", "")
    base = os.path.splitext(os.path.basename(path))[0]
    return base or tenant.name


def stream_db(stream: str) -> str | None:
    """The ``<db>`` part of a known stream, or None for an unknown stream."""
    if not stream or len(stream) > MAX_STREAM_LENGTH:
        return None
    for prefix in PUBLIC_PREFIXES:
        if stream.startswith(prefix):
            return stream[len(prefix) :] or None
    if stream.startswith(CONFIG_PREFIX):
        db, sep, user = stream[len(CONFIG_PREFIX) :].partition("_")
        return db if db and sep and user else None
    return None


def is_public(stream: str) -> bool:
    return stream_db(stream) is not None and stream.startswith(PUBLIC_PREFIXES)


def belongs_to(stream: str, db: str) -> bool:
    """Is ``stream`` one of the streams of the tenant whose db name is ``db``?"""
    if len(stream) > MAX_STREAM_LENGTH:
        return False
    if any(stream == prefix + db for prefix in PUBLIC_PREFIXES):
        return True
    # Compared as a prefix, not parsed: a db name may itself hold "_".
    own = f"{CONFIG_PREFIX}{db}_"
    return stream.startswith(own) and len(stream) > len(own)


@attrs.frozen
class Scope:
    """What one connection may subscribe to.

    ``tenant_db``: the connection was opened under that tenant's path.
    ``every_tenant``: a root connection that may also subscribe to non-public
    streams (auth is disabled).
    ``with_public``: a tenant's connection that may also subscribe to every
    tenant's public streams (the root connection, when a tenant -- the index --
    sits at the root path and so shares its cable path).
    """

    tenant_db: str | None = None
    every_tenant: bool = False
    with_public: bool = False

    def refusal(self, stream: str) -> str | None:
        """Why ``stream`` is refused to this connection, or None if it is allowed."""
        if self.tenant_db is not None:
            if belongs_to(stream, self.tenant_db):
                return None
            if self.with_public and is_public(stream):
                return None
            return OTHER_TENANT if stream_db(stream) is not None else UNKNOWN
        if stream_db(stream) is None:
            return UNKNOWN
        if self.every_tenant or is_public(stream):
            return None
        return NOT_PUBLIC
