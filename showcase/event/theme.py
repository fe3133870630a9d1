"""An event's look: logo, colours and fonts, as CSS custom properties.

The values come from two places only: the ``events`` row (``counter_color``,
``font_family``, ``font_size``) and the location the config generator names in
the tenant's environment (``SHOWCASE_LOGO``: a URL, or a path under the site's
``public/``; ``SHOWCASE_OWNER``: the location's name).  Nothing from either
reaches a page unchecked: a :class:`Theme` can only hold a colour that is a
hex or a plain colour word, fonts made of letters, digits, spaces and hyphens,
a size such as ``100%`` or ``12pt`` and a logo URL of plain URL characters, so
its :meth:`Theme.css` cannot break out of a declaration or of the ``<style>``
element.  An invalid database value is replaced by the default.

The PDFs can reuse a :class:`Theme` (:func:`theme_for`) for their fonts and logo.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs
from markupsafe import Markup

HEX_COLOR = re.compile(r"#(?:[0-9A-Fa-f]{3,4}|[0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})", re.ASCII)
NAMED_COLOR = re.compile(r"[A-Za-z]{3,30}", re.ASCII)
FONT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 \-]{0,59}", re.ASCII)
FONT_SIZE = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3})?(?:%|px|pt|em|rem)", re.ASCII)
_SEGMENT = r"[A-Za-z0-9_~\-][A-Za-z0-9._~\-]*"
LOGO_URL = re.compile(
    rf"https?://[A-Za-z0-9.\-]+(?::[0-9]{{1,5}})?(?:/{_SEGMENT})*/?|/?{_SEGMENT}(?:/{_SEGMENT})*",
    re.ASCII,
)
GENERIC_FAMILIES = frozenset(
    [
        "serif",
        "sans-serif",
        "monospace",
        "cursive",
        "fantasy",
        "system-ui",
        "ui-serif",
        "ui-sans-serif",
        "ui-monospace",
        "ui-rounded",
        "math",
        "emoji",
        "fangsong",
    ]
)
FALLBACK_FONTS = ("system-ui", "sans-serif")
DEFAULT_FONTS = ("Helvetica", "Arial", *FALLBACK_FONTS)
DEFAULT_COUNTER = "#FFFFFF"


def is_color(value: str) -> bool:
    """A ``#rgb``/``#rgba``/``#rrggbb``/``#rrggbbaa`` colour or a colour word."""
    return bool(HEX_COLOR.fullmatch(value) or NAMED_COLOR.fullmatch(value))


def _check_color(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not is_color(value):
        raise ValueError(f"{attribute.name}: {value!r} is not a colour")


def _check_fonts(_: object, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    if not value or not all(FONT_NAME.fullmatch(name) and name == name.strip() for name in value):
        raise ValueError(f"{attribute.name}: {value!r} is not a list of font names")


def _check_size(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not FONT_SIZE.fullmatch(value):
        raise ValueError(f"{attribute.name}: {value!r} is not a font size")


def _check_logo(_: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None and not LOGO_URL.fullmatch(value):
        raise ValueError(f"{attribute.name}: {value!r} is not a plain URL")


@attrs.frozen
class Location:
    """What the tenant's environment says about the event's location."""

    logo: str | None = attrs.field(default=None, validator=_check_logo)
    owner: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Location:
        """``SHOWCASE_LOGO`` (a URL kept as is, or a path under the site's public files)
        and ``SHOWCASE_OWNER``; a logo that is not a plain URL or path is dropped."""
        return cls(
            logo_url(env.get("SHOWCASE_LOGO", ""), site_root(env)),
            env.get("SHOWCASE_OWNER", "").strip(),
        )


@attrs.frozen
class Theme:
    """One event's look; every field is checked, so :meth:`css` is safe to embed."""

    logo: str | None = attrs.field(default=None, validator=_check_logo)
    owner: str = ""
    primary: str = attrs.field(default="#1f2328", validator=_check_color)
    accent: str = attrs.field(default="#7c3aed", validator=_check_color)
    counter: str = attrs.field(default=DEFAULT_COUNTER, validator=_check_color)
    fonts: tuple[str, ...] = attrs.field(default=DEFAULT_FONTS, validator=_check_fonts)
    font_size: str = attrs.field(default="100%", validator=_check_size)

    @property
    def font_family(self) -> str:
        """The CSS font stack: names with spaces quoted, generic families bare."""
        return ", ".join(
            name if name in GENERIC_FAMILIES or " " not in name else f'"{name}"'
            for name in self.fonts
        )

    def css(self) -> Markup:
        """The custom properties app.css and counter.css use, as one ``:root`` rule."""
        return Markup(
            f":root{{--brand:{self.primary};--accent:{self.accent};--counter:{self.counter};"
            f"--font:{self.font_family};--font-size:{self.font_size}}}"
        )


def font_stack(text: str) -> tuple[str, ...] | None:
    """``Helvetica, Arial`` → the names plus a generic fallback; None when any name is unsafe."""
    names = tuple(" ".join(part.split()) for part in text.split(","))
    names = tuple(name for name in names if name)
    if not names or not all(FONT_NAME.fullmatch(name) for name in names):
        return None
    if names[-1].lower() in GENERIC_FAMILIES:
        return names
    return names + FALLBACK_FONTS


def theme_for(event: Mapping[str, Any] | Any, location: Location | None = None) -> Theme:
    """The theme of the ``events`` row ``event`` at ``location``; invalid values → defaults."""
    row: Mapping[str, Any] = event if isinstance(event, Mapping) else {}
    location = location or Location()
    values: dict[str, Any] = {"logo": location.logo, "owner": location.owner}
    counter = str(row.get("counter_color") or "").strip()
    if is_color(counter):
        values["counter"] = counter
    fonts = font_stack(str(row.get("font_family") or ""))
    if fonts is not None:
        values["fonts"] = fonts
    size = str(row.get("font_size") or "").strip()
    if FONT_SIZE.fullmatch(size):
        values["font_size"] = size
    return Theme(**values)


def site_root(env: Mapping[str, str]) -> str:
    """The site's ``root_path``: ``SHOWCASE_ROOT``, else the tenant's prefix less its scope."""
    root = env.get("SHOWCASE_ROOT")
    if root is not None:
        return root.strip().rstrip("/")
    prefix = env.get("SHOWCASE_PREFIX", "").strip().rstrip("/")
    scope = env.get("SHOWCASE_SCOPE", "").strip().strip("/")
    if scope and prefix.endswith("/" + scope):
        return prefix[: -len(scope) - 1]
    return ""


def logo_url(value: str, root: str = "") -> str | None:
    """The logo's URL: an ``http(s)://`` URL or ``/path`` as is, a relative path (a file
    under the site's ``public/``) below ``root``; None when empty or not a plain URL."""
    value = value.strip()
    if not value or not LOGO_URL.fullmatch(value):
        return None
    if value.startswith(("http://", "https://", "/")):
        return value
    url = f"{root}/{value}"
    return url if LOGO_URL.fullmatch(url) else None
