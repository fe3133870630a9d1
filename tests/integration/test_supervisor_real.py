"""The tenant supervisor with the real reactor and real child processes on 127.0.0.1.

Each tenant runs ``tests/support/tenant_app.py``, a plain twisted.web program
that takes ``PORT``.  Every supervisor a test makes is stopped by the fixture,
which then checks that none of the children it started is still alive.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import pytest
import pytest_twisted
import treq
from twisted.internet import reactor as _reactor
from twisted.internet.defer import Deferred, TimeoutError
from twisted.internet.error import ProcessDone
from twisted.internet.interfaces import IProcessProtocol
from twisted.internet.protocol import ProcessProtocol
from twisted.internet.task import deferLater
from twisted.python.failure import Failure
from twisted.web.client import HTTPConnectionPool

from showcase.config.model import Applications, Config, Hook, Hooks, Pools, Tenant, TenantHooks
from showcase.tenants.spawn import spawn
from showcase.tenants.supervisor import Supervisor

pytestmark = pytest.mark.integration

reactor: Any = _reactor
APP = str(Path(__file__).resolve().parent.parent / "support" / "tenant_app.py")
START_PORT = 20000 + (os.getpid() % 200) * 100  # apart from other test runs on this machine
RUN_ID = f"supervisor-test-{uuid.uuid4()}"
"""Put in every test tenant's env, so the fixture can find any process left behind."""


class _HookProtocol(ProcessProtocol):
    def __init__(self, ended: Deferred[Failure]) -> None:
        self.ended = ended

    def processEnded(self, reason: Failure) -> None:
        self.ended.callback(reason)


def run_hooks(
    hooks: Sequence[Hook], label: str, env: Mapping[str, str] | None, cwd: str | None
) -> Deferred[bool]:
    """A minimal hook runner for these tests: each hook in turn, through spawn()."""

    async def run() -> bool:
        for hook in hooks:
            ended: Deferred[Failure] = Deferred()
            hook_env = {**os.environ, **(env or {}), **dict(hook.env)}
            protocol = cast(IProcessProtocol, _HookProtocol(ended))
            spawn(reactor, protocol, [hook.command, *hook.args], hook_env, cwd)
            if not isinstance((await ended).value, ProcessDone):
                return False
        return True

    return Deferred.fromCoroutine(run())


def make_tenant(name: str, root: Path, ready_line: bool = True, **env: str) -> Tenant:
    values = {
        "TENANT_NAME": name,
        "TENANT_READY_LINE": "1" if ready_line else "0",
        "SHOWCASE_TEST_RUN": RUN_ID,
        **env,
    }
    return Tenant(
        path=f"/{name}/",
        name=name,
        root=str(root),
        var=(),
        env=tuple(values.items()),
        command=(sys.executable, APP),
        port_env_var="PORT",
        health_check="/up",
        startup_timeout=5.0,
        track_websockets=True,
        bot_detection=None,
        hooks=TenantHooks(),
        memory_limit=None,
    )


def make_config(*tenants: Tenant, timeout: float = 60.0, hooks: Hooks | None = None) -> Config:
    pools = Pools(timeout=timeout, stop_timeout=5.0, start_port=START_PORT)
    return Config(applications=Applications(pools=pools, tenants=tenants), hooks=hooks or Hooks())


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``condition`` every 20 ms until it holds; fail after ``timeout`` seconds."""
    deadline = reactor.seconds() + timeout
    while not condition():
        assert reactor.seconds() < deadline, "condition not met in time"
        await deferLater(reactor, 0.02, lambda: None)


Make = Callable[[Config], Supervisor]


def survivors() -> list[int]:
    """Pids of live processes whose environment carries :data:`RUN_ID`."""
    found = []
    marker = f"SHOWCASE_TEST_RUN={RUN_ID}".encode()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if marker in f.read().split(b"\0"):
                        found.append(int(entry))
            except OSError:
                continue
    return found


@pytest_twisted.async_yield_fixture
async def make() -> Any:
    """Builds supervisors; stops each at the end and checks that no child of theirs lives."""
    made: list[Supervisor] = []

    def factory(config: Config) -> Supervisor:
        supervisor = Supervisor(reactor, config, run_hooks, lambda *_: None)
        supervisor.startService()
        made.append(supervisor)
        return supervisor

    yield factory
    for supervisor in made:
        await supervisor.stopService()
    assert survivors() == []


@pytest.fixture
def pool() -> Any:
    return HTTPConnectionPool(reactor, persistent=False)


async def get_text(url: str, pool: HTTPConnectionPool) -> str:
    response = await treq.get(url, pool=pool)
    text: str = await response.text()
    return text


@pytest_twisted.ensureDeferred
async def test_cold_start_with_ready_line(make: Make, tmp_path: Path, pool: Any) -> None:
    """A stopped tenant that prints a ready line is started by ready() and then serves."""
    supervisor = make(make_config(make_tenant("alpha", tmp_path)))
    host, port = await supervisor.ready("alpha")
    assert supervisor.state("alpha") == "ready"
    assert supervisor.describe("alpha")["ready_via"] == "ready line"
    assert await get_text(f"http://{host}:{port}/x", pool) == "hello from alpha path=/x"


@pytest_twisted.ensureDeferred
async def test_cold_start_with_health_check(make: Make, tmp_path: Path, pool: Any) -> None:
    """A tenant that prints nothing is ready once its health path answers; it got PORT."""
    supervisor = make(make_config(make_tenant("beta", tmp_path, ready_line=False)))
    host, port = await supervisor.ready("beta")
    assert supervisor.describe("beta")["ready_via"] == "health check"
    assert await get_text(f"http://{host}:{port}/env?name=PORT", pool) == str(port)


@pytest_twisted.ensureDeferred
async def test_waiter_timeout_does_not_stop_a_slow_start(make: Make, tmp_path: Path) -> None:
    """A request that gives up on a slow boot leaves the start running to completion."""
    tenant = make_tenant("slow", tmp_path, TENANT_START_DELAY_MS="700")
    supervisor = make(make_config(tenant))
    with pytest.raises(TimeoutError):
        await supervisor.ready("slow").addTimeout(0.1, reactor)
    assert supervisor.state("slow") == "starting"
    await supervisor.ready("slow")
    assert supervisor.state("slow") == "ready"


@pytest_twisted.ensureDeferred
async def test_idle_stop_runs_the_stop_hook_and_reaps(
    make: Make, tmp_path: Path, pool: Any
) -> None:
    """After pools.timeout without requests the stop hook runs and the process is gone."""
    marker = tmp_path / "stopped.txt"
    hook = Hook("/bin/sh", ("-c", f"echo stopped >> {marker}"))
    config = make_config(
        make_tenant("gamma", tmp_path),
        timeout=0.3,
        hooks=Hooks(tenant=TenantHooks(stop=(hook,))),
    )
    supervisor = make(config)
    host, port = await supervisor.ready("gamma")
    pid = supervisor.pid("gamma")
    assert pid is not None
    supervisor.request_started("gamma")
    await get_text(f"http://{host}:{port}/", pool)
    supervisor.request_finished("gamma")
    await wait_for(lambda: supervisor.state("gamma") == "stopped")
    assert marker.read_text() == "stopped\n"
    assert gone(pid)
    assert supervisor.describe("gamma")["last_stop"] == "idle"


@pytest_twisted.ensureDeferred
async def test_crash_then_restart_with_a_new_pid(make: Make, tmp_path: Path, pool: Any) -> None:
    """A tenant that dies is noticed at once; the next ready() starts a new process."""
    supervisor = make(make_config(make_tenant("delta", tmp_path)))
    host, port = await supervisor.ready("delta")
    old_pid = supervisor.pid("delta")
    assert old_pid is not None
    with pytest.raises(Exception):  # noqa: B017 - the connection just drops
        await treq.get(f"http://{host}:{port}/crash", pool=pool)
    await wait_for(lambda: supervisor.state("delta") == "stopped")
    assert gone(old_pid)
    assert "exit status 3" in supervisor.describe("delta")["last_stop"]
    host, port = await supervisor.ready("delta")
    new_pid = int(await get_text(f"http://{host}:{port}/pid", pool))
    assert new_pid == supervisor.pid("delta") != old_pid


@pytest_twisted.ensureDeferred
async def test_stop_service_leaves_no_child(make: Make, tmp_path: Path) -> None:
    """stopService stops every running tenant and fires only when all are reaped."""
    config = make_config(
        make_tenant("one", tmp_path), make_tenant("two", tmp_path, ready_line=False)
    )
    supervisor = make(config)
    await supervisor.ready("one")
    await supervisor.ready("two")
    pids = [supervisor.pid("one"), supervisor.pid("two")]
    await supervisor.stopService()
    assert [supervisor.state(n) for n in ("one", "two")] == ["stopped", "stopped"]
    assert all(pid is not None and gone(pid) for pid in pids)
