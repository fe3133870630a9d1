"""The URLs pages give static files: compiled and digested when the router serves them.

With ``SHOWCASE_ASSETS_MANIFEST`` (the path of ``public/assets/.manifest.json``
that ``showcase assets precompile`` wrote) and ``SHOWCASE_ASSETS_URL`` (the URL
the router serves ``public/assets/`` at, e.g. ``/showcase/assets/``) a name
such as ``app.css`` becomes ``/showcase/assets/app-<digest>.css``.  The manifest
is read on first use and again whenever its file changes (a precompile
replaces it by a rename).  A name the manifest lacks, a manifest that is gone
or unreadable, or no manifest configured at all: the event app's own
``<prefix>/static/<name>``, which it always serves.

The import map names Stimulus, Turbo and each controller module; the
controllers import each other by those bare names, so digested files need no
rewriting.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from twisted.logger import Logger

from showcase.ops.manifest import read_manifest

log = Logger()

StaticUrl = Callable[[str], str]
"""``static_url(name)``: the event app's own URL of static file ``name``."""

IMPORTS = {
    "@hotwired/turbo": "vendor/turbo/turbo.js",
    "@hotwired/stimulus": "vendor/stimulus/stimulus.js",
}
CONTROLLERS = "controllers/"


class AssetUrls:
    """Asset URLs through a compiled manifest when there is one, else the app's ``/static/``."""

    def __init__(
        self,
        static_url: StaticUrl,
        manifest_path: str | None = None,
        base_url: str | None = None,
        stat: Callable[[str], os.stat_result] = os.stat,
    ) -> None:
        self._static_url = static_url
        self._path = manifest_path if manifest_path and base_url else None
        self._base = (base_url or "").rstrip("/") + "/"
        self._stat = stat
        self._seen: tuple[int, int, int] | None = None
        self._names: dict[str, str] = {}

    @classmethod
    def from_env(cls, env: Mapping[str, str], static_url: StaticUrl) -> AssetUrls:
        """From ``SHOWCASE_ASSETS_MANIFEST`` and ``SHOWCASE_ASSETS_URL`` (both, or neither)."""
        return cls(
            static_url,
            env.get("SHOWCASE_ASSETS_MANIFEST", "").strip() or None,
            env.get("SHOWCASE_ASSETS_URL", "").strip() or None,
        )

    def names(self) -> Mapping[str, str]:
        """The manifest in force: re-read when its file changed, empty when there is none."""
        if self._path is None:
            return self._names
        try:
            info = self._stat(self._path)
        except OSError:
            self._seen, self._names = None, {}
            return self._names
        seen = (info.st_mtime_ns, info.st_size, info.st_ino)
        if seen != self._seen:
            self._seen = seen
            try:
                self._names = read_manifest(self._path)
            except (OSError, ValueError) as e:
                log.warn("asset manifest ignored: {error}", error=str(e))
                self._names = {}
        return self._names

    def _resolve(self, names: Mapping[str, str], name: str) -> str:
        digested = names.get(name)
        return self._base + digested if digested else self._static_url(name)

    def url(self, name: str) -> str:
        """The URL of static file ``name`` (``app.css``, ``vendor/turbo/turbo.js``)."""
        name = name.lstrip("/")
        return self._resolve(self.names(), name)

    def importmap(self) -> dict[str, dict[str, str]]:
        """The page's import map: Stimulus, Turbo, and ``controllers/…`` modules.

        ``controllers/`` maps to the app's own directory; each compiled
        controller also gets an exact entry for its digested URL, which wins.
        """
        names = self.names()
        imports = {spec: self._resolve(names, name) for spec, name in IMPORTS.items()}
        imports[CONTROLLERS] = self._static_url(CONTROLLERS)
        for name in sorted(names):
            if name.startswith(CONTROLLERS) and name.endswith(".js"):
                imports[name] = self._base + names[name]
        return {"imports": imports}
