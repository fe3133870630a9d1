"""The rsync daemon a router runs for ``backup.serve``: its files and its managed process.

With ``backup.serve{port, users_file, address, hosts_allow}`` the router runs
``rsync --daemon --no-detach`` as a managed process (``auto_restart``) that
exposes the database directory (``backup.db_dir``, default ``db/`` under the
router's working directory) as the writable module ``backup.module``.  Its
files live in a private runtime directory, each written atomically with mode
0600 at start and on every reload (rsync re-reads its config on each
connection, so a reload needs no restart):

* ``rsyncd.conf``: the module, ``auth users`` (always required: the users of
  ``users_file``), ``hosts allow`` (when given), ``use chroot = no``,
  ``munge symlinks``, the router's own uid/gid (as root, rsync would otherwise
  write as ``nobody``), and refused options (``delete``, ``inplace``,
  ``append``: a peer can neither remove a file nor write one in place);
* ``secrets``: the ``user:password`` lines of ``users_file``;
* ``filter.rules``: the daemon filter.  The databases this region owns (from
  ``<db_dir>/showcases.yml`` and ``FLY_REGION``) are excluded first, so a
  peer's push of one is refused (rsync exit 23) and the file left alone; then
  the databases other regions own are let in; everything else is refused
  (``demo.sqlite3``, ``showcases.yml``, ``-wal`` files).  When showcases.yml
  cannot be read or is invalid, everything is refused (and the reason logged).

Without ``FLY_REGION``, without an ``rsync`` binary or with an unreadable
``users_file`` the daemon is not run and the reason is logged.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping

from twisted.logger import Logger

from showcase.config.model import Backup, BackupServe, Config, ManagedProcess
from showcase.ops.atomic import write_atomically
from showcase.ops.owned import SHOWCASES_FILE, owned_by, owned_elsewhere, read_showcases

PROCESS_NAME = "backup-rsyncd"
DEFAULT_DB_DIR = "db"
IO_TIMEOUT = 600
"""Seconds of silence after which the daemon drops a peer's connection."""

USER = re.compile(r"[A-Za-z0-9._-]+")
REFUSED_OPTIONS = "delete inplace append*"

log = Logger()


class DaemonConfigError(ValueError):
    """The daemon cannot be configured; the message says why."""


def read_users(path: str) -> list[tuple[str, str]]:
    """The ``(user, password)`` pairs of a secrets file; blank and ``#`` lines skipped."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    users: list[tuple[str, str]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not sep or not USER.fullmatch(user) or not password:
            raise DaemonConfigError(f"{path}:{number}: expected user:password")
        users.append((user, password))
    if not users:
        raise DaemonConfigError(f"{path}: no users (user:password lines)")
    return users


def filter_rules(
    regions: Mapping[str, frozenset[str]] | None, region: str, index: str | None
) -> str:
    """The daemon filter: this region's databases out, other regions' in, the rest out.

    ``regions`` is None when showcases.yml could not be read: then nothing is let in.
    """
    lines = [f"# written by showcase for region {region}; first match wins"]
    if regions is None:
        lines.append("# showcases.yml unreadable: every push is refused")
    else:
        lines.append("# owned here: a peer never writes these")
        lines += [f"- /{name}" for name in sorted(owned_by(regions, region, index))]
        lines.append("# owned by other regions: their peers push them here")
        lines += [f"+ /{name}" for name in sorted(owned_elsewhere(regions, region, index))]
    lines.append("- *")
    return "\n".join(lines) + "\n"


def render_conf(
    backup: Backup,
    serve: BackupServe,
    *,
    db_dir: str,
    users: Iterable[str],
    runtime_dir: str,
    uid: int,
    gid: int,
) -> str:
    """The text of ``rsyncd.conf`` for ``backup`` (its ``serve`` section given apart)."""
    settings = [
        ("path", db_dir),
        ("comment", "showcase databases"),
        ("read only", "false"),
        ("list", "false"),
        ("use chroot", "no"),
        ("munge symlinks", "yes"),
        ("uid", str(uid)),
        ("gid", str(gid)),
        ("auth users", ", ".join(users)),
        ("secrets file", os.path.join(runtime_dir, "secrets")),
        ("strict modes", "yes"),
        ("exclude from", os.path.join(runtime_dir, "filter.rules")),
        ("refuse options", REFUSED_OPTIONS),
        ("timeout", str(IO_TIMEOUT)),
        ("transfer logging", "yes"),
    ]
    if serve.hosts_allow:
        settings.append(("hosts allow", " ".join(serve.hosts_allow)))
    lines = [
        "# written by showcase (backup.serve); rewritten at every start and reload",
        "log file = /dev/stderr",
        f"lock file = {os.path.join(runtime_dir, 'rsyncd.lock')}",
        "",
        f"[{backup.module}]",
        *(f"    {key} = {_value(key, value)}" for key, value in settings),
    ]
    return "\n".join(lines) + "\n"


def _value(key: str, value: str) -> str:
    if "\n" in value or "%" in value or value != value.strip():
        raise DaemonConfigError(f"{key} {value!r} cannot be written to rsyncd.conf")
    return value


def write_private(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable by the owner only (0600)."""
    write_atomically(path, text.encode("utf-8"), mode=0o600)


class RsyncDaemon:
    """The rsync daemon of one router: its runtime files and its process definition."""

    def __init__(self, region: str | None, binary: str | None) -> None:
        self.region = region
        self.binary = binary
        self.runtime_dir: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> RsyncDaemon:
        """The daemon for region ``$FLY_REGION``, with the ``rsync`` found on ``$PATH``."""
        return cls(environ.get("FLY_REGION"), shutil.which("rsync", path=environ.get("PATH")))

    def processes(self, config: Config) -> tuple[ManagedProcess, ...]:
        """The daemon's definition for ``config`` (none without ``backup.serve``).

        Writes the daemon's files first: call it at start and on every reload.
        """
        backup = config.backup
        if backup is None or backup.serve is None:
            return ()
        if self.binary is None:
            log.error("backup.serve: no rsync on PATH; the rsync daemon is not run")
            return ()
        if not self.region:
            log.error("backup.serve: FLY_REGION is not set; the rsync daemon is not run")
            return ()
        try:
            conf = self.write(backup, backup.serve, self.region)
        except (OSError, DaemonConfigError) as e:
            log.error("backup.serve: {e}; the rsync daemon is not run", e=e)
            return ()
        serve = backup.serve
        return (
            ManagedProcess(
                name=PROCESS_NAME,
                command=self.binary,
                args=(
                    "--daemon",
                    "--no-detach",
                    f"--address={serve.address}",
                    f"--port={serve.port}",
                    f"--config={conf}",
                ),
                working_dir=self.runtime_dir,
                auto_restart=True,
            ),
        )

    def write(self, backup: Backup, serve: BackupServe, region: str) -> str:
        """Write ``secrets``, ``filter.rules`` and ``rsyncd.conf``; the config's path."""
        if self.runtime_dir is None:
            self.runtime_dir = tempfile.mkdtemp(prefix="showcase-rsyncd-")
        db_dir = os.path.abspath(backup.db_dir or DEFAULT_DB_DIR)
        users = read_users(serve.users_file)
        text = render_conf(
            backup,
            serve,
            db_dir=db_dir,
            users=[user for user, _ in users],
            runtime_dir=self.runtime_dir,
            uid=os.getuid(),
            gid=os.getgid(),
        )
        write_private(
            os.path.join(self.runtime_dir, "secrets"),
            "".join(f"{user}:{password}\n" for user, password in users),
        )
        rules = filter_rules(_regions(db_dir), region, backup.index_region)
        write_private(os.path.join(self.runtime_dir, "filter.rules"), rules)
        conf = os.path.join(self.runtime_dir, "rsyncd.conf")
        write_private(conf, text)
        return conf

    def cleanup(self) -> None:
        """Remove the runtime directory (after the daemon stopped)."""
        if self.runtime_dir is not None:
            shutil.rmtree(self.runtime_dir, ignore_errors=True)
            self.runtime_dir = None


def _regions(db_dir: str) -> dict[str, frozenset[str]] | None:
    path = os.path.join(db_dir, SHOWCASES_FILE)
    try:
        return read_showcases(path)
    except FileNotFoundError:
        log.warn("backup.serve: no {path} yet; peers can push nothing here", path=path)
        return {}
    except (OSError, ValueError) as e:
        log.error("backup.serve: {e}; every push is refused until it is fixed", e=e)
        return None
