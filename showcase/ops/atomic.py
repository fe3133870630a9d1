"""Files that are replaced whole or not at all, and made to last (fsync).

:func:`write_atomically` writes a temporary file beside the target (its name
holds ``.tmp-``), syncs it and moves it over the target with :func:`os.replace`:
a reader sees the old file or the new one, never half of one, and a failed
write leaves the old file and no temporary file.  :func:`sync_directory` makes
a rename in a directory last too.
"""

from __future__ import annotations

import os
import tempfile


def new_file_mode() -> int:
    """The mode an ordinary new file gets (``0o666`` less the umask), not mkstemp's 0600."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomically(path: str, content: bytes, mode: int | None = None) -> None:
    """Replace ``path`` with ``content``; the file gets ``mode`` (default: as a new file would)."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.tmp-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temporary, new_file_mode() if mode is None else mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def sync_directory(directory: str | os.PathLike[str]) -> None:
    """fsync ``directory``, so that the renames and new names in it last."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
