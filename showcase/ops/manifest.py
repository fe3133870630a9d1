"""Digested asset names and the ``.manifest.json`` that maps logical names to them.

A compiled asset is named ``<stem>-<digest><ext>`` where the digest is the
first 16 hex digits of the SHA-256 of its content, in the same
subdirectory as its source: ``vendor/stimulus/stimulus.js`` becomes
``vendor/stimulus/stimulus-3f2a….js``.  The manifest is a JSON object from
each logical name (``/``-separated, relative to ``static/``) to its digested
name (relative to ``public/assets/``).  Every write here is atomic: a
temporary file beside the target, then a rename, so a reader sees the old
file or the new one and never half of one (:func:`~showcase.ops.atomic.write_atomically`).
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re

from .atomic import write_atomically

MANIFEST = ".manifest.json"
DIGEST_LENGTH = 16
_DIGESTED = re.compile(rf"(?P<stem>.+)-(?P<digest>[0-9a-f]{{{DIGEST_LENGTH}}})(?P<ext>\.[^./]*)?")


def digest(content: bytes) -> str:
    """The digest a file of ``content`` is named with."""
    return hashlib.sha256(content).hexdigest()[:DIGEST_LENGTH]


def digested_name(name: str, content: bytes) -> str:
    """``controllers/app.js`` with ``content`` → ``controllers/app-<digest>.js``."""
    directory, base = posixpath.split(name)
    stem, ext = posixpath.splitext(base)
    return posixpath.join(directory, f"{stem}-{digest(content)}{ext}")


def logical_name(digested: str) -> str | None:
    """The name a digested file was compiled from (``a/app-<digest>.css`` → ``a/app.css``).

    None for a name that is not ``<stem>-<16 hex digits><ext>``.
    """
    directory, base = posixpath.split(digested)
    match = _DIGESTED.fullmatch(base)
    if match is None:
        return None
    return posixpath.join(directory, match["stem"] + (match["ext"] or ""))


def write_manifest(assets_dir: str, manifest: dict[str, str]) -> str:
    """Write ``manifest`` (sorted, indented) as ``<assets_dir>/.manifest.json``; its path."""
    path = os.path.join(assets_dir, MANIFEST)
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    write_atomically(path, text.encode("utf-8"))
    return path


def read_manifest(path: str) -> dict[str, str]:
    """The manifest at ``path``; ValueError when it is not an object of strings."""
    with open(path, encoding="utf-8") as f:
        try:
            value = json.load(f)
        except ValueError as e:
            raise ValueError(f"{path}: not JSON ({e})") from None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError(f"{path}: not a JSON object of names to digested names")
    return value
