"""The tenant supervisor on a fake reactor: spawns are recorded, time is moved by hand.

Child processes are fakes whose protocol we drive: a ready line through
``childDataReceived``, an exit through ``processEnded``.  Health probes, hooks
and signals are injected recorders.
"""

from __future__ import annotations

import signal
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import pytest
from processfakes import FakeProcess, FakeProcessReactor
from twisted.internet.defer import CancelledError, Deferred, succeed
from twisted.python.failure import Failure

from showcase.config.model import (
    Applications,
    Config,
    Hook,
    Hooks,
    Pools,
    Tenant,
    TenantHooks,
)
from showcase.tenants.ports import PortAllocator
from showcase.tenants.supervisor import Supervisor, TenantUnavailable

TIMEOUT = 300.0
GRACE = 10.0


def make_tenant(name: str = "a", **changes: Any) -> Tenant:
    tenant = Tenant(
        path=f"/{name}/",
        name=name,
        root=f"/srv/{name}",
        var=(),
        env=(("DATABASE", "db-${port}.sqlite3"), ("LANG", "tenant")),
        command=("app", "--port", "${port}", "--bind={{port}}"),
        port_env_var="PORT",
        health_check="/up",
        startup_timeout=5.0,
        track_websockets=True,
        bot_detection=None,
        hooks=TenantHooks(),
        memory_limit=None,
    )
    return attrs.evolve(tenant, **changes)


def make_config(*tenants: Tenant, hooks: Hooks | None = None, **pools: Any) -> Config:
    settings = {"timeout": TIMEOUT, "stop_timeout": GRACE, **pools}
    apps = Applications(pools=Pools(**settings), tenants=tenants or (make_tenant(),))
    return Config(applications=apps, hooks=hooks or Hooks())


@attrs.define
class Harness:
    reactor: FakeProcessReactor
    supervisor: Supervisor
    events: list[tuple[Any, ...]]  # hooks and signals, in order
    hook_results: list[Deferred[bool]]
    probes: dict[int, bool]
    output: list[tuple[str, str, bytes]]
    ports: PortAllocator

    @property
    def process(self) -> FakeProcess:
        return self.reactor.processes[-1]

    def kills(self) -> list[tuple[int, int]]:
        return [(e[1], e[2]) for e in self.events if e[0] == "kill"]

    def hooks(self) -> list[str]:
        return [e[1] for e in self.events if e[0] == "hooks"]

    def start_ready(self, name: str = "a") -> FakeProcess:
        d = self.supervisor.ready(name)
        self.process.ready_line()
        assert d.called
        return self.process


def harness(
    config: Config, hooks_wait: bool = False, base_env: Mapping[str, str] | None = None
) -> Harness:
    reactor = FakeProcessReactor(first_pid=1000)
    events: list[tuple[Any, ...]] = []
    hook_results: list[Deferred[bool]] = []
    probes: dict[int, bool] = {}
    output: list[tuple[str, str, bytes]] = []

    def run_hooks(
        hooks: Sequence[Hook], label: str, env: Mapping[str, str] | None, cwd: str | None
    ) -> Deferred[bool]:
        events.append(("hooks", label, [h.command for h in hooks], env, cwd))
        d: Deferred[bool] = Deferred() if hooks_wait else succeed(True)
        hook_results.append(d)
        return d

    def kill(pid: int, signum: int) -> bool:
        events.append(("kill", pid, signum))
        return True

    def probe(port: int, path: str) -> Deferred[bool]:
        events.append(("probe", port, path))
        return succeed(probes.get(port, False))

    ports = PortAllocator(4000, is_free=lambda port: True)
    supervisor = Supervisor(
        reactor,
        config,
        run_hooks,
        lambda *args: output.append(args),
        kill=kill,
        base_env={"PATH": "/bin", "LANG": "C", "PORT": "1"} if base_env is None else base_env,
        probe=probe,
        ports=ports,
    )
    supervisor.startService()
    return Harness(reactor, supervisor, events, hook_results, probes, output, ports)


@pytest.fixture
def h() -> Harness:
    return harness(make_config())


def failure_of(d: Deferred[Any]) -> BaseException:
    errors: list[Failure] = []
    d.addErrback(errors.append)
    assert errors, "the Deferred did not fail"
    return errors[0].value


# -- starting -----------------------------------------------------------------


def test_cold_start_ready_line(h: Harness) -> None:
    """A stopped tenant is started by ready(), which fires once the ready line is printed."""
    d = h.supervisor.ready("a")
    assert not d.called
    assert h.supervisor.state("a") == "starting"
    h.process.out(b"booting\n")
    assert not d.called
    h.process.ready_line()
    assert d.result == ("127.0.0.1", 4000)
    assert h.supervisor.state("a") == "ready"
    assert h.supervisor.ready_now("a") == ("127.0.0.1", 4000)
    assert h.supervisor.describe("a")["ready_via"] == "ready line"


def test_ready_line_split_across_reads(h: Harness) -> None:
    """A ready line that arrives in pieces is still recognised."""
    d = h.supervisor.ready("a")
    h.process.out(b'{"rea')
    h.process.out(b'dy": true}')
    assert not d.called
    h.process.out(b"\n")
    assert d.called


def test_command_env_and_cwd(h: Harness) -> None:
    """argv and env get the port; env is base, then PORT, name and prefix, then the tenant's env."""
    h.supervisor.ready("a")
    process = h.process
    assert process.argv == ["app", "--port", "4000", "--bind=4000"]
    assert process.path == "/srv/a"
    assert process.env == {
        "PATH": "/bin",
        "PORT": "4000",
        "SHOWCASE_TENANT": "a",
        "SHOWCASE_PREFIX": "/a",
        "LANG": "tenant",
        "DATABASE": "db-4000.sqlite3",
    }


def test_output_is_forwarded_raw(h: Harness) -> None:
    """Everything the child writes, ready line included, goes to output()."""
    h.supervisor.ready("a")
    h.process.out(b"out\n")
    h.process.ready_line()
    h.process.err(b"err")
    assert h.output == [
        ("a", "stdout", b"out\n"),
        ("a", "stdout", b'{"ready": true, "port": 0}\n'),
        ("a", "stderr", b"err"),
    ]


def test_cold_start_health_check(h: Harness) -> None:
    """Without a ready line the tenant is ready when the health probe answers; polling stops."""
    d = h.supervisor.ready("a")
    h.reactor.advance(0.025)
    assert not d.called
    assert ("probe", 4000, "/up") in h.events
    h.probes[4000] = True
    h.reactor.advance(0.025)
    assert d.result == ("127.0.0.1", 4000)
    assert h.supervisor.describe("a")["ready_via"] == "health check"
    probes = len([e for e in h.events if e[0] == "probe"])
    h.reactor.advance(1)
    assert len([e for e in h.events if e[0] == "probe"]) == probes


def test_polling_stops_when_the_process_exits(h: Harness) -> None:
    """No probe is sent after the child has exited."""
    h.supervisor.ready("a").addErrback(lambda _: None)
    h.process.end(1)
    probes = len([e for e in h.events if e[0] == "probe"])
    h.reactor.advance(1)
    assert len([e for e in h.events if e[0] == "probe"]) == probes


def test_each_call_gets_its_own_deferred(h: Harness) -> None:
    """Concurrent ready() calls get distinct Deferreds, all fired by one start."""
    first, second = h.supervisor.ready("a"), h.supervisor.ready("a")
    assert first is not second
    assert len(h.reactor.processes) == 1
    h.process.ready_line()
    assert first.result == second.result == ("127.0.0.1", 4000)


def test_cancelling_a_waiter_does_not_cancel_the_start(h: Harness) -> None:
    """A request that gives up (startup_timeout) leaves the start running."""
    d = h.supervisor.ready("a")
    d.cancel()
    assert isinstance(failure_of(d), CancelledError)
    assert h.supervisor.state("a") == "starting"
    h.process.ready_line()
    assert h.supervisor.state("a") == "ready"
    assert h.supervisor.ready("a").result == ("127.0.0.1", 4000)


def test_a_start_nobody_waits_for_is_stopped_after_the_idle_timeout(h: Harness) -> None:
    """A tenant that never becomes ready is stopped pools.timeout after its last waiter left."""
    first = h.supervisor.ready("a")
    first.cancel()
    first.addErrback(lambda _: None)
    h.reactor.advance(TIMEOUT - 0.001)
    assert h.supervisor.state("a") == "starting"
    waiter = h.supervisor.ready("a")  # a new request holds it again
    h.reactor.advance(TIMEOUT)
    assert h.supervisor.state("a") == "starting"
    waiter.cancel()
    waiter.addErrback(lambda _: None)
    h.reactor.advance(TIMEOUT)
    assert h.supervisor.state("a") == "draining"
    assert h.supervisor.describe("a")["last_stop"] == "idle, never ready"


def test_start_hooks_run_without_blocking_readiness() -> None:
    """tenant.start hooks (global, then the tenant's) run with the tenant env and root."""
    hooks = Hooks(tenant=TenantHooks(start=(Hook("global-start"),)))
    tenant = make_tenant(hooks=TenantHooks(start=(Hook("own-start"),)))
    h = harness(make_config(tenant, hooks=hooks), hooks_wait=True)
    d = h.supervisor.ready("a")
    (event,) = [e for e in h.events if e[0] == "hooks"]
    assert event[2] == ["global-start", "own-start"]
    assert event[3]["DATABASE"] == "db-4000.sqlite3"
    assert event[4] == "/srv/a"
    h.process.ready_line()
    assert d.called and not h.hook_results[0].called


def test_start_delay_is_honoured() -> None:
    """A tenant with start_delay is spawned that long after it was asked for."""
    h = harness(make_config(make_tenant(start_delay=2.0)))
    d = h.supervisor.ready("a")
    h.reactor.advance(1.999)
    assert h.reactor.processes == []
    h.reactor.advance(0.001)
    assert len(h.reactor.processes) == 1
    h.process.ready_line()
    assert d.called


def test_spawn_failure_is_unavailable(h: Harness) -> None:
    """If the process cannot be spawned the waiter gets TenantUnavailable and the port is freed."""
    h.reactor.refuse = OSError("fork failed")
    error = failure_of(h.supervisor.ready("a"))
    assert isinstance(error, TenantUnavailable) and error.status == 503
    assert h.supervisor.state("a") == "stopped"
    assert h.ports.allocated == frozenset()


def test_no_free_port_is_unavailable() -> None:
    """When the port range is exhausted the waiter gets TenantUnavailable."""
    h = harness(make_config())
    h.supervisor._shared.ports = PortAllocator(4000, is_free=lambda port: False)
    assert isinstance(failure_of(h.supervisor.ready("a")), TenantUnavailable)
    assert h.supervisor.state("a") == "stopped"


def test_unknown_tenant_is_a_key_error(h: Harness) -> None:
    """Names the config does not have raise KeyError."""
    for call in (h.supervisor.ready, h.supervisor.ready_now, h.supervisor.state):
        with pytest.raises(KeyError):
            call("nope")


def test_ready_now_is_none_until_ready(h: Harness) -> None:
    """ready_now() answers None for a stopped or starting tenant."""
    assert h.supervisor.ready_now("a") is None
    h.supervisor.ready("a")
    assert h.supervisor.ready_now("a") is None


# -- idle stop ------------------------------------------------------------------


def test_idle_stop_exactly_at_timeout() -> None:
    """An idle tenant runs until pools.timeout, then stop hooks run, then SIGTERM."""
    hooks = Hooks(tenant=TenantHooks(stop=(Hook("backup"),)))
    h = harness(make_config(hooks=hooks))
    process = h.start_ready()
    h.supervisor.request_started("a")
    h.supervisor.request_finished("a")
    h.reactor.advance(TIMEOUT - 0.001)
    assert h.supervisor.state("a") == "ready" and h.kills() == []
    h.reactor.advance(0.001)
    assert h.supervisor.state("a") == "draining"
    assert [e[:2] for e in h.events if e[0] != "probe"] == [
        ("hooks", "tenant.stop a"),
        ("kill", process.pid),
    ]
    assert h.kills() == [(process.pid, signal.SIGTERM)]
    process.end(0)
    assert h.supervisor.state("a") == "stopped"
    assert h.supervisor.pid("a") is None
    assert h.ports.allocated == frozenset()


def test_sigterm_waits_for_stop_hooks() -> None:
    """SIGTERM is only sent once the tenant.stop hooks (the backup) have finished."""
    hooks = Hooks(tenant=TenantHooks(stop=(Hook("backup"),)))
    h = harness(make_config(hooks=hooks), hooks_wait=True)
    process = h.start_ready()
    h.reactor.advance(TIMEOUT)
    assert h.hooks() == ["tenant.stop a"] and h.kills() == []
    h.hook_results[-1].callback(True)
    assert h.kills() == [(process.pid, signal.SIGTERM)]


def test_sigkill_after_stop_timeout(h: Harness) -> None:
    """A tenant that ignores SIGTERM gets SIGKILL after pools.stop_timeout."""
    process = h.start_ready()
    h.reactor.advance(TIMEOUT)
    h.reactor.advance(GRACE - 0.001)
    assert h.kills() == [(process.pid, signal.SIGTERM)]
    h.reactor.advance(0.001)
    assert h.kills() == [(process.pid, signal.SIGTERM), (process.pid, signal.SIGKILL)]
    process.end(None, signal.SIGKILL)
    assert h.supervisor.state("a") == "stopped"


def test_no_sigkill_after_a_prompt_exit(h: Harness) -> None:
    """A tenant that exits on SIGTERM is not sent SIGKILL later."""
    process = h.start_ready()
    h.reactor.advance(TIMEOUT)
    process.end(0)
    h.reactor.advance(GRACE * 2)
    assert h.kills() == [(process.pid, signal.SIGTERM)]


def test_in_flight_request_keeps_the_tenant(h: Harness) -> None:
    """A tenant with a request in flight is never idle-stopped."""
    h.start_ready()
    h.supervisor.request_started("a")
    h.reactor.advance(TIMEOUT * 3)
    assert h.supervisor.state("a") == "ready"


def test_activity_restarts_the_idle_clock(h: Harness) -> None:
    """The idle timeout counts from the end of the last request."""
    h.start_ready()
    h.reactor.advance(TIMEOUT - 1)
    h.supervisor.request_started("a")
    h.supervisor.request_finished("a")
    h.reactor.advance(TIMEOUT - 0.001)
    assert h.supervisor.state("a") == "ready"
    h.reactor.advance(0.001)
    assert h.supervisor.state("a") == "draining"


def test_websocket_keeps_the_tenant(h: Harness) -> None:
    """An open tracked WebSocket keeps the tenant; after it closes the idle clock runs."""
    h.start_ready()
    h.supervisor.websocket_opened("a")
    h.reactor.advance(TIMEOUT * 2)
    assert h.supervisor.state("a") == "ready"
    h.supervisor.websocket_closed("a")
    h.reactor.advance(TIMEOUT)
    assert h.supervisor.state("a") == "draining"


def test_untracked_websocket_does_not_keep_the_tenant() -> None:
    """With track_websockets off an open WebSocket does not prevent the idle stop."""
    h = harness(make_config(make_tenant(track_websockets=False)))
    h.start_ready()
    h.supervisor.websocket_opened("a")
    h.reactor.advance(TIMEOUT)
    assert h.supervisor.state("a") == "draining"


def test_request_while_draining_starts_a_fresh_process() -> None:
    """A request arriving during a stop waits for it, then gets a new process."""
    h = harness(make_config(), hooks_wait=False)
    old = h.start_ready()
    h.reactor.advance(TIMEOUT)
    d = h.supervisor.ready("a")
    assert not d.called and len(h.reactor.processes) == 1
    old.end(0)
    assert h.supervisor.state("a") == "starting"
    h.process.ready_line()
    assert d.called and h.process is not old
    assert h.supervisor.pid("a") == h.process.pid


# -- crashes --------------------------------------------------------------------


def test_crash_is_noticed_and_next_request_restarts(h: Harness) -> None:
    """A ready tenant that dies is stopped at once; the next ready() starts a new one."""
    old = h.start_ready()
    old.end(1)
    assert h.supervisor.state("a") == "stopped"
    assert h.supervisor.ready_now("a") is None
    assert h.ports.allocated == frozenset()
    assert h.supervisor.describe("a")["last_stop"] == "crashed: exit status 1"
    d = h.supervisor.ready("a")
    h.process.ready_line()
    assert d.called and h.process is not old


def test_crash_before_ready_fails_the_waiters(h: Harness) -> None:
    """A tenant that dies while starting fails its waiters with a 503 naming the exit."""
    d = h.supervisor.ready("a")
    h.process.end(None, signal.SIGSEGV)
    error = failure_of(d)
    assert isinstance(error, TenantUnavailable) and error.status == 503
    assert "SIGSEGV" in error.message


def crash_three_times(h: Harness) -> None:
    for _ in range(3):
        h.supervisor.ready("a").addErrback(lambda _: None)
        h.process.end(1)
        h.reactor.advance(1)


def test_crash_loop_refuses_then_recovers(h: Harness) -> None:
    """After 3 crashes within 60 s ready() refuses until 60 s after the last crash."""
    crash_three_times(h)
    error = failure_of(h.supervisor.ready("a"))
    assert isinstance(error, TenantUnavailable) and error.status == 503
    assert "crashed 3 times" in error.message
    assert len(h.reactor.processes) == 3
    h.reactor.advance(59 - 0.001)
    assert failure_of(h.supervisor.ready("a"))
    h.reactor.advance(0.001)
    d = h.supervisor.ready("a")
    h.process.ready_line()
    assert d.called and len(h.reactor.processes) == 4


def test_changed_definition_ends_a_crash_loop(h: Harness) -> None:
    """A reload that changes the tenant's definition lets it start again at once."""
    crash_three_times(h)
    h.supervisor.update(make_config(make_tenant(command=("fixed", "${port}"))))
    h.supervisor.ready("a")
    assert h.process.argv == ["fixed", "4000"]


# -- pools.max_size -------------------------------------------------------------


def test_max_size_evicts_the_least_recently_used_idle_tenant() -> None:
    """At max_size, starting another tenant stops the idle one used longest ago."""
    h = harness(make_config(make_tenant("a"), make_tenant("b"), make_tenant("c"), max_size=2))
    a = h.start_ready("a")
    h.reactor.advance(1)
    b = h.start_ready("b")
    h.reactor.advance(1)
    h.supervisor.request_started("a")
    h.supervisor.request_finished("a")  # a is now used more recently than b
    h.supervisor.ready("c")
    assert h.supervisor.state("b") == "draining"
    assert h.supervisor.state("a") == "ready"
    assert h.kills() == [(b.pid, signal.SIGTERM)]
    assert a.pid != b.pid


def test_max_size_never_evicts_busy_tenants() -> None:
    """If no tenant is idle the new one starts anyway and nothing is stopped."""
    h = harness(make_config(make_tenant("a"), make_tenant("b"), max_size=1))
    h.start_ready("a")
    h.supervisor.request_started("a")
    h.supervisor.ready("b")
    assert h.supervisor.state("a") == "ready"
    assert h.supervisor.state("b") == "starting"
    assert h.kills() == []


def test_distinct_ports_for_concurrent_starts() -> None:
    """Two tenants starting at once get different ports."""
    h = harness(make_config(make_tenant("a"), make_tenant("b")))
    h.supervisor.ready("a")
    h.supervisor.ready("b")
    assert [p.env["PORT"] for p in h.reactor.processes] == ["4000", "4001"]


# -- reload ---------------------------------------------------------------------


def test_changed_tenant_restarts_once_idle(h: Harness) -> None:
    """A running tenant whose definition changed is stopped when its last request ends."""
    old = h.start_ready()
    h.supervisor.request_started("a")
    h.supervisor.update(make_config(make_tenant(command=("v2", "${port}"))))
    assert h.supervisor.state("a") == "ready"
    h.supervisor.request_finished("a")
    assert h.supervisor.state("a") == "draining"
    assert h.supervisor.describe("a")["last_stop"] == "reload"
    old.end(0)
    h.supervisor.ready("a")
    assert h.process.argv == ["v2", "4000"]


def test_unchanged_tenant_is_left_alone(h: Harness) -> None:
    """A reload with the same definition does not touch the running tenant."""
    h.start_ready()
    h.supervisor.update(make_config())
    assert h.supervisor.state("a") == "ready" and h.kills() == []


def test_starting_tenant_with_changed_definition_restarts_for_its_waiters(h: Harness) -> None:
    """A tenant changed while starting is stopped and its waiters get the new process."""
    d = h.supervisor.ready("a")
    old = h.process
    h.supervisor.update(make_config(make_tenant(command=("v2", "${port}"))))
    assert h.supervisor.state("a") == "draining"
    old.end(None, signal.SIGTERM)
    assert h.process.argv == ["v2", "4000"]
    h.process.ready_line()
    assert d.called


def test_removed_tenant_stops_after_its_requests(h: Harness) -> None:
    """A tenant removed by a reload finishes its in-flight request, then stops and is gone."""
    process = h.start_ready()
    h.supervisor.request_started("a")
    h.supervisor.update(make_config(make_tenant("b")))
    with pytest.raises(KeyError):
        h.supervisor.ready("a")
    assert h.supervisor.state("a") == "ready"
    h.supervisor.request_finished("a")
    assert h.supervisor.state("a") == "draining"
    process.end(0)
    with pytest.raises(KeyError):
        h.supervisor.state("a")
    h.supervisor.request_finished("a")  # late bookkeeping for a gone tenant is ignored
    assert not h.supervisor.ready("b").called


# -- shutdown -------------------------------------------------------------------


def test_stop_service_stops_every_tenant() -> None:
    """stopService runs stop hooks, SIGTERMs every tenant and fires when all are reaped."""
    hooks = Hooks(tenant=TenantHooks(stop=(Hook("backup"),)))
    h = harness(make_config(make_tenant("a"), make_tenant("b"), make_tenant("c"), hooks=hooks))
    a, b = h.start_ready("a"), h.start_ready("b")
    h.supervisor.request_started("a")
    done = h.supervisor.stopService()
    assert h.hooks() == ["tenant.stop a", "tenant.stop b"]
    assert sorted(h.kills()) == [(a.pid, signal.SIGTERM), (b.pid, signal.SIGTERM)]
    a.end(0)
    assert not done.called
    b.end(0)
    assert done.called
    assert [h.supervisor.state(n) for n in "abc"] == ["stopped"] * 3


def test_stop_service_fails_waiters_and_refuses_starts(h: Harness) -> None:
    """Requests waiting at shutdown get a 503, and no new start begins."""
    d = h.supervisor.ready("a")
    h.supervisor.stopService()
    assert isinstance(failure_of(d), TenantUnavailable)
    h.process.end(None, signal.SIGTERM)
    assert isinstance(failure_of(h.supervisor.ready("a")), TenantUnavailable)
    assert len(h.reactor.processes) == 1


def test_stop_during_start_delay_spawns_nothing() -> None:
    """Shutting down while a start_delay runs cancels the spawn."""
    h = harness(make_config(make_tenant(start_delay=5.0)))
    h.supervisor.ready("a").addErrback(lambda _: None)
    assert h.supervisor.stopService().called
    h.reactor.advance(10)
    assert h.reactor.processes == []
