"""What the layout asks of the process: ``asset_url``, ``importmap`` and ``event_theme``.

:class:`PageGlobals` is made with the :class:`~showcase.event.context.Context`
(so it exists in the preloaded spawner, before any tenant is known) and is
configured from the tenant's environment when it starts serving
(:func:`showcase.event.__main__.serve`).  Unconfigured it serves today's
behaviour: the app's own ``/static/`` URLs and a theme from the database only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jinja2

from .assets_url import AssetUrls
from .theme import Location, Theme, theme_for


class PageGlobals:
    """Asset URLs and the event's theme for templates, as Jinja globals."""

    def __init__(self, url: Callable[[str], str], env: Mapping[str, str] | None = None) -> None:
        self._url = url  # Context.url: reads the prefix when called
        self.assets: AssetUrls
        self.location: Location
        self.configure(env or {})

    def configure(self, env: Mapping[str, str]) -> None:
        """Take the compiled-assets manifest and the location from the environment ``env``."""
        self.assets = AssetUrls.from_env(env, self.static_url)
        self.location = Location.from_env(env)

    def install(self, jinja_env: jinja2.Environment) -> None:
        """Make ``asset_url(name)``, ``importmap()`` and ``event_theme(event)`` template globals."""
        jinja_env.globals["asset_url"] = self.asset_url
        jinja_env.globals["importmap"] = self.importmap
        jinja_env.globals["event_theme"] = self.theme

    def static_url(self, name: str) -> str:
        """The event app's own URL of static file ``name``."""
        return self._url("/static/" + name.lstrip("/"))

    def asset_url(self, name: str) -> str:
        return self.assets.url(name)

    def importmap(self) -> dict[str, dict[str, str]]:
        return self.assets.importmap()

    def theme(self, event: Mapping[str, Any] | Any = None) -> Theme:
        return theme_for(event, self.location)
