"""Field parsers of the admin forms, in the style of :mod:`showcase.event.forms`.

Each takes a field's text and returns the value to store, or raises
:class:`~showcase.event.forms.Invalid` with the message shown beside the field.
Keys become URL segments and database names, so they are lower-case letters
and digits only (a ``-`` would make ``<year>-<location>-<event>`` ambiguous).
"""

from __future__ import annotations

import re
from collections.abc import Collection

from showcase.event import forms
from showcase.event.forms import Invalid

from .access import ADMIN_SITE, BCRYPT_MAX

_KEY = re.compile(r"[a-z0-9]{1,40}", re.ASCII)
_LOGIN = re.compile(r"[A-Za-z0-9._@+-]{1,64}", re.ASCII)
_REGION = re.compile(r"[a-z0-9]{2,10}", re.ASCII)
_LOCALE = re.compile(r"[a-z]{2}(?:[_-][A-Z]{2})?", re.ASCII)
_LOGO = re.compile(r"[A-Za-z0-9._-]{1,100}", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
REGION_TYPES = ("fly", "kamal")
MIN_PASSWORD = 8


def key(raw: str, *, what: str = "key") -> str:
    """A URL segment: lower-case letters and digits."""
    value = raw.strip()
    if not value:
        raise Invalid(f"Enter a {what}.")
    if not _KEY.fullmatch(value):
        raise Invalid("Use lower-case letters and digits only (at most 40).")
    return value


def year(raw: str) -> int:
    return forms.whole(raw, minimum=2000, maximum=2100, required="Enter the year.")


def name(raw: str, *, what: str = "name") -> str:
    """A display name; no commas (a user's sites list location names with commas)."""
    value = forms.text(raw, required=f"Enter the {what}.", max_length=100)
    if "," in value:
        raise Invalid("A name may not contain a comma.")
    return value


def login(raw: str) -> str:
    value = raw.strip()
    if not value:
        raise Invalid("Enter the login name.")
    if not _LOGIN.fullmatch(value):
        raise Invalid("Use letters, digits and . _ @ + - only (no spaces or colons).")
    return value


def password(raw: str, *, required: bool) -> str | None:
    """A new password, or None (keep the old one) when empty and not ``required``."""
    if not raw:
        if required:
            raise Invalid("Enter a password.")
        return None
    if len(raw) < MIN_PASSWORD:
        raise Invalid(f"At least {MIN_PASSWORD} characters.")
    if len(raw.encode("utf-8")) > BCRYPT_MAX:
        raise Invalid(f"At most {BCRYPT_MAX} bytes.")
    if _CONTROL.search(raw):
        raise Invalid("Control characters are not allowed.")
    return raw


def site_list(raw: str, locations: Collection[str]) -> str:
    """Comma-separated location names or ``index``; each must exist."""
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    unknown = [p for p in parts if p != ADMIN_SITE and p not in locations]
    if unknown:
        raise Invalid(f"No location called {', '.join(unknown)}.")
    return ",".join(dict.fromkeys(parts))


def region_code(raw: str) -> str:
    value = raw.strip()
    if not _REGION.fullmatch(value):
        raise Invalid("Enter a region code: 2 to 10 lower-case letters or digits, e.g. iad.")
    return value


def locale(raw: str) -> str:
    value = raw.strip() or "en_US"
    if not _LOCALE.fullmatch(value):
        raise Invalid("Enter a locale like en_US.")
    return value.replace("-", "_")


def logo(raw: str) -> str | None:
    value = raw.strip()
    if not value:
        return None
    if not _LOGO.fullmatch(value):
        raise Invalid("Enter a file name in the public/images folder, e.g. boston.png.")
    return value
