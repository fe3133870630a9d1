"""Compiled assets: digested names, the manifest, clean/clobber, and pages that use them."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from showcase import cli
from showcase.event.assets_url import AssetUrls
from showcase.event.defaults import populate_new_event
from showcase.event.paths import STATIC
from showcase.ops.assets import clean, clobber, precompile, static_files
from showcase.ops.manifest import (
    MANIFEST,
    digested_name,
    logical_name,
    read_manifest,
    write_atomically,
)
from tests.eventsupport import PREFIX, EventClient

ASSETS_URL = "/showcase/assets/"
DIGESTED = re.compile(r".*-[0-9a-f]{16}(\.[a-z]+)?")


def make_static(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / "static" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def manifest_of(root: Path) -> dict[str, str]:
    return read_manifest(str(root / "public" / "assets" / MANIFEST))


def asset(root: Path, digested: str) -> Path:
    return root / "public" / "assets" / digested


# -- names ----------------------------------------------------------------------------

_SEGMENT = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,12}", fullmatch=True)


@given(st.lists(_SEGMENT, min_size=1, max_size=3), st.binary(max_size=64))
def test_digested_name_leads_back_to_its_source(segments: list[str], content: bytes) -> None:
    """Every digested name keeps the directory and extension, and names its source file."""
    name = "/".join(segments)
    digested = digested_name(name, content)
    assert logical_name(digested) == name
    assert os.path.splitext(digested)[1] == os.path.splitext(name)[1]
    assert digested.rsplit("/", 1)[:-1] == name.rsplit("/", 1)[:-1]


def test_not_digested_names_have_no_source() -> None:
    """Names without a 16-hex-digit digest are not compiled files."""
    assert logical_name("app.css") is None
    assert logical_name("app-1234.css") is None
    assert logical_name("vendor/app-0123456789abcdeg.css") is None


# -- precompile -----------------------------------------------------------------------


def test_precompile_digests_every_file_keeping_subdirectories(tmp_path: Path) -> None:
    """Each static file is copied as <name>-<digest>.<ext> in its subdirectory, and the
    manifest names every one of them."""
    make_static(
        tmp_path, {"app.css": "body{}", "controllers/x.js": "export default 1", "a/b/c.txt": "c"}
    )
    done = precompile(str(tmp_path))
    manifest = manifest_of(tmp_path)
    assert manifest == done.manifest
    assert sorted(manifest) == ["a/b/c.txt", "app.css", "controllers/x.js"]
    assert manifest["controllers/x.js"].startswith("controllers/x-")
    assert manifest["a/b/c.txt"].startswith("a/b/c-")
    for name, digested in manifest.items():
        assert DIGESTED.fullmatch(digested)
        assert asset(tmp_path, digested).read_bytes() == (tmp_path / "static" / name).read_bytes()
    assert done.new == 3


def test_digests_change_with_content_and_only_then(tmp_path: Path) -> None:
    """Compiling unchanged files gives the same names and writes nothing new; a changed
    file gets a new name, the old version stays until cleaned."""
    make_static(tmp_path, {"app.css": "body{}", "counter.css": ".c{}"})
    first = precompile(str(tmp_path))
    again = precompile(str(tmp_path))
    assert again.manifest == first.manifest and again.new == 0
    (tmp_path / "static" / "app.css").write_text("body{color:red}")
    changed = precompile(str(tmp_path))
    assert changed.new == 1
    assert changed.manifest["counter.css"] == first.manifest["counter.css"]
    assert changed.manifest["app.css"] != first.manifest["app.css"]
    assert asset(tmp_path, first.manifest["app.css"]).exists()


def test_manifest_is_replaced_atomically(tmp_path: Path) -> None:
    """A reader that opened the manifest before a precompile still reads the whole old
    manifest; the path then holds the whole new one, and no temporary file is left."""
    make_static(tmp_path, {"app.css": "one"})
    precompile(str(tmp_path))
    path = tmp_path / "public" / "assets" / MANIFEST
    with open(path) as old:
        (tmp_path / "static" / "app.css").write_text("two")
        (tmp_path / "static" / "more.js").write_text("x")
        precompile(str(tmp_path))
        assert set(json.load(old)) == {"app.css"}
    assert set(json.loads(path.read_text())) == {"app.css", "more.js"}
    assert not [p for p in path.parent.iterdir() if ".tmp-" in p.name]


def test_failed_write_leaves_the_old_file(tmp_path: Path) -> None:
    """A write that fails part way leaves the previous file whole and no temporary file."""
    target = tmp_path / "file.json"
    target.write_text("old")
    with pytest.raises(TypeError):
        write_atomically(str(target), "not bytes")  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.json"]


def test_root_without_static_compiles_the_packages_files(tmp_path: Path) -> None:
    """With no <root>/static the installed package's static files are compiled."""
    done = precompile(str(tmp_path))
    assert sorted(done.manifest) == static_files(STATIC)
    assert "vendor/stimulus/stimulus.js" in done.manifest


def test_precompile_command_reports_files_and_new_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``showcase assets precompile`` says how many files it compiled and how many are new."""
    make_static(tmp_path, {"app.css": "a", "b.js": "b"})
    assert cli.main(["assets", "precompile", "--root", str(tmp_path)]) == 0
    assert cli.main(["assets", "precompile", "--root", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    where = os.path.join(str(tmp_path), "public", "assets")
    assert lines[-1] == f"precompiled 2 files into {where} (0 new)"
    assert f"precompiled 2 files into {where} (2 new)" in lines


# -- clean and clobber ----------------------------------------------------------------


def versions(tmp_path: Path, count: int) -> list[str]:
    """``count`` compiled versions of app.css, the first the oldest (mtimes 1000 s apart)."""
    names = []
    for n in range(count):
        (tmp_path / "static" / "app.css").write_text(f"v{n}")
        names.append(precompile(str(tmp_path)).manifest["app.css"])
        os.utime(asset(tmp_path, names[-1]), (1_000_000 + n * 1000, 1_000_000 + n * 1000))
    return names


def test_clean_keeps_the_newest_versions(tmp_path: Path) -> None:
    """clean --keep 2 removes all but the two newest versions of each file."""
    make_static(tmp_path, {"app.css": "", "other.js": "o"})
    names = versions(tmp_path, 5)
    done = clean(str(tmp_path), 2)
    assert sorted(done.removed) == sorted(names[:3])
    for name in names[3:]:
        assert asset(tmp_path, name).exists()
    assert asset(tmp_path, manifest_of(tmp_path)["other.js"]).exists()


def test_clean_always_keeps_the_manifests_version(tmp_path: Path) -> None:
    """The version the manifest names survives even when it is not among the newest."""
    make_static(tmp_path, {"app.css": ""})
    names = versions(tmp_path, 4)
    (tmp_path / "static" / "app.css").write_text("v0")  # back to the oldest content
    assert precompile(str(tmp_path)).manifest["app.css"] == names[0]
    os.utime(asset(tmp_path, names[0]), (1, 1))  # and make it the oldest by mtime again
    clean(str(tmp_path), 1)
    left = sorted(p.name for p in (tmp_path / "public" / "assets").iterdir())
    assert left == sorted([MANIFEST, names[0], names[3]])


def test_clean_leaves_files_that_are_not_compiled(tmp_path: Path) -> None:
    """Files in public/assets without a digested name are not clean's to remove."""
    make_static(tmp_path, {"app.css": ""})
    versions(tmp_path, 2)
    (tmp_path / "public" / "assets" / "robots.txt").write_text("keep me")
    clean(str(tmp_path), 0)
    assert (tmp_path / "public" / "assets" / "robots.txt").exists()


def test_clean_refuses_a_broken_manifest_and_removes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With a manifest that is not JSON, clean exits 1 with the reason and removes nothing."""
    make_static(tmp_path, {"app.css": ""})
    versions(tmp_path, 3)
    (tmp_path / "public" / "assets" / MANIFEST).write_text("{not json")
    before = sorted((tmp_path / "public" / "assets").iterdir())
    assert cli.main(["assets", "clean", "--root", str(tmp_path), "--keep", "0"]) == 1
    assert "nothing removed" in capsys.readouterr().err
    assert sorted((tmp_path / "public" / "assets").iterdir()) == before


def test_clean_command_rejects_a_negative_keep(tmp_path: Path) -> None:
    """--keep below 0 is bad usage (exit 2)."""
    assert cli.main(["assets", "clean", "--root", str(tmp_path), "--keep", "-1"]) == 2


def test_clean_command_defaults_to_three_versions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --keep, clean keeps three versions of each file and lists what it removed."""
    make_static(tmp_path, {"app.css": ""})
    names = versions(tmp_path, 5)
    assert cli.main(["assets", "clean", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"removed {names[0]}" in out and f"removed {names[1]}" in out
    assert "removed 2 old files" in out
    assert len(list((tmp_path / "public" / "assets").glob("app-*.css"))) == 3


def test_clobber_removes_every_compiled_file(tmp_path: Path) -> None:
    """clobber removes public/assets and the manifest; public/ itself stays."""
    make_static(tmp_path, {"app.css": "", "vendor/x/y.js": ""})
    precompile(str(tmp_path))
    (tmp_path / "public" / "index.html").write_text("home")
    assert clobber(str(tmp_path)) is True
    assert not (tmp_path / "public" / "assets").exists()
    assert (tmp_path / "public" / "index.html").exists()
    assert clobber(str(tmp_path)) is False
    assert cli.main(["assets", "clobber", "--root", str(tmp_path)]) == 0


# -- URLs in pages ----------------------------------------------------------------------

LINKS = re.compile(r'<(?:link|script)\b[^>]*?\b(?:href|src)="([^"]+)"')
IMPORT_MAP = re.compile(r'<script type="importmap">(.*?)</script>', re.S)
INLINE_MODULES = re.compile(r'<script type="module">(.*?)</script>', re.S)
IMPORTS = re.compile(r'(?:^|\n)\s*(?:import|export)\b[^"\n]*?"([^"]+)"')
PAGES = ("/", "/public/counter", "/public/heats", "/heats")


def page_references(body: str) -> tuple[list[str], dict[str, str], list[str]]:
    """The stylesheet/script URLs, the import map, and the specifiers inline modules import."""
    found = IMPORT_MAP.search(body)
    assert found, body
    imports: dict[str, str] = json.loads(found.group(1))["imports"]
    inline = [spec for script in INLINE_MODULES.findall(body) for spec in IMPORTS.findall(script)]
    return LINKS.findall(body), imports, inline


def resolve(imports: dict[str, str], spec: str) -> str:
    """What a browser's import map does with a bare specifier: exact, else longest prefix."""
    if spec in imports:
        return imports[spec]
    prefix = max((key for key in imports if key.endswith("/") and spec.startswith(key)), key=len)
    return imports[prefix] + spec[len(prefix) :]


@pytest.fixture
def compiled(tmp_path: Path) -> tuple[EventClient, Path]:
    """An event whose pages use a manifest compiled from the package's static files."""
    root = tmp_path / "site"
    precompile(str(root))
    client = EventClient(tmp_path, lambda conn: populate_new_event(conn, "Spring"))
    client.ctx.page.configure(
        {
            "SHOWCASE_ASSETS_MANIFEST": str(root / "public" / "assets" / MANIFEST),
            "SHOWCASE_ASSETS_URL": ASSETS_URL,
        }
    )
    return client, root / "public" / "assets"


def compiled_file(assets: Path, url: str) -> Path:
    assert url.startswith(ASSETS_URL), url
    path = assets / url[len(ASSETS_URL) :]
    assert path.is_file(), url
    return path


@pytest.mark.parametrize("page", PAGES)
def test_pages_reference_only_compiled_files(compiled: tuple[EventClient, Path], page: str) -> None:
    """With a manifest, every stylesheet, script and module a page loads, and every module
    those modules import, is a digested file that exists in public/assets."""
    client, assets = compiled
    status, body = client.get(page)
    assert status == 200
    links, imports, inline = page_references(body)
    for url in links:
        compiled_file(assets, url)
    assert any(url.endswith(".css") for url in links)
    pending = [resolve(imports, spec) for spec in inline] + [
        url for key, url in imports.items() if not key.endswith("/")
    ]
    seen: set[str] = set()
    while pending:
        url = pending.pop()
        if url in seen:
            continue
        seen.add(url)
        source = compiled_file(assets, url).read_text()
        if url.endswith(".js"):
            pending += [resolve(imports, spec) for spec in IMPORTS.findall(source)]
    assert any("stimulus-" in url for url in seen) and any("turbo-" in url for url in seen)


def test_pages_without_a_manifest_use_the_apps_static_files(tmp_path: Path) -> None:
    """Without a manifest, pages name <prefix>/static/<file>, files of the app's static dir."""
    client = EventClient(tmp_path, lambda conn: populate_new_event(conn, "Spring"))
    _, body = client.get("/public/counter")
    links, imports, inline = page_references(body)
    urls = links + [resolve(imports, spec) for spec in inline] + list(imports.values())
    for url in urls:
        assert url.startswith(PREFIX + "/static/"), url
        assert os.path.exists(os.path.join(STATIC, url[len(PREFIX + "/static/") :])), url


def test_manifest_is_reread_when_it_changes(tmp_path: Path) -> None:
    """A new precompile's names are used without a restart; when the manifest goes away the
    app's own static URLs are used again."""
    make_static(tmp_path, {"app.css": "one"})
    urls = AssetUrls(
        lambda name: "/static/" + name,
        str(tmp_path / "public" / "assets" / MANIFEST),
        "/assets",
    )
    assert urls.url("app.css") == "/static/app.css"
    first = precompile(str(tmp_path)).manifest["app.css"]
    assert urls.url("app.css") == "/assets/" + first
    (tmp_path / "static" / "app.css").write_text("two")
    second = precompile(str(tmp_path)).manifest["app.css"]
    assert urls.url("/app.css") == "/assets/" + second != "/assets/" + first
    clobber(str(tmp_path))
    assert urls.url("app.css") == "/static/app.css"


def test_a_broken_manifest_falls_back_to_static_urls(tmp_path: Path) -> None:
    """A manifest that cannot be parsed is ignored: pages still name files that exist."""
    path = tmp_path / MANIFEST
    path.write_text('["not", "an", "object"]')
    urls = AssetUrls(lambda name: "/static/" + name, str(path), "/assets/")
    assert urls.url("app.css") == "/static/app.css"
    assert urls.importmap()["imports"]["controllers/"] == "/static/controllers/"


def test_manifest_needs_an_assets_url(tmp_path: Path) -> None:
    """A manifest without SHOWCASE_ASSETS_URL is not used (its files' URL is unknown)."""
    precompile(str(tmp_path))
    urls = AssetUrls.from_env(
        {"SHOWCASE_ASSETS_MANIFEST": str(tmp_path / "public" / "assets" / MANIFEST)},
        lambda name: "/static/" + name,
    )
    assert urls.url("app.css") == "/static/app.css"
