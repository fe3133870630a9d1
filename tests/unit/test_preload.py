"""The preloaded spawner's protocol and the router's side of it, on fake reactors.

The spawner process is played by the test: its control socket is a
``StringTransport`` that records descriptors sent alongside the bytes, and the
test sends its messages (``hello``, ``forked``, ``exited``, ...) to the
router's protocol.  Pipes are real (a forked child's stdout/stderr are pipes the
router makes), so each test ends with every descriptor closed.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import pytest
from processfakes import FakeProcess, FakeProcessReactor
from routerfakes import RouterHarness, load
from twisted.internet.defer import Deferred
from twisted.internet.error import ProcessDone, ProcessTerminated
from twisted.internet.interfaces import IProcessProtocol
from twisted.internet.protocol import ProcessProtocol
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from showcase.config.model import Applications, Config, Pools, Tenant, TenantHooks
from showcase.tenants.forked import ForkedProcess, SpawnerGone, exit_reason
from showcase.tenants.instance import Kill
from showcase.tenants.preload import RESTART_DELAYS, SOURCE, Preloader
from showcase.tenants.spawner import LineBuffer, encode
from showcase.tenants.supervisor import Supervisor

# -- the protocol -------------------------------------------------------------------------


def test_messages_are_json_lines() -> None:
    """A message is one compact JSON object and a newline."""
    assert encode({"op": "retire"}) == b'{"op":"retire"}\n'


def test_line_buffer_pairs_descriptors_with_their_message() -> None:
    """Descriptors go to the message that counts them, even when lines arrive in pieces."""
    buffer = LineBuffer()
    first = encode({"op": "forked", "id": 1, "fds": 1})
    second = encode({"op": "exited", "id": 1})
    assert list(buffer.feed(first[:5], [11])) == []
    got = list(buffer.feed(first[5:] + second, []))
    assert got == [
        ({"op": "forked", "id": 1, "fds": 1}, [11]),
        ({"op": "exited", "id": 1}, []),
    ]


def test_line_buffer_refuses_a_message_without_its_descriptors() -> None:
    """A message counting more descriptors than arrived is an error."""
    with pytest.raises(ValueError):
        list(LineBuffer().feed(encode({"op": "spawn", "fds": 2}), [5]))


@pytest.mark.parametrize(
    ("status", "kind", "code", "sig"),
    [
        (0, ProcessDone, 0, None),
        (3 << 8, ProcessTerminated, 3, None),
        (signal.SIGKILL, ProcessTerminated, None, signal.SIGKILL),
    ],
)
def test_exit_status_reads_as_twisted_reports_it(
    status: int, kind: type, code: int | None, sig: int | None
) -> None:
    """A raw wait status becomes the ProcessDone/ProcessTerminated a spawned child would give."""
    value = exit_reason(status).value
    assert isinstance(value, kind)
    assert isinstance(value, ProcessDone | ProcessTerminated)
    assert (value.exitCode, value.signal) == (code, sig)


# -- a forked child as its TenantProcess sees it ------------------------------------------


class Recorder(ProcessProtocol):
    """A process protocol that writes down what happens to it."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def connectionMade(self) -> None:
        self.events.append(("connected",))

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        self.events.append(("data", childFD, data))

    def processExited(self, reason: Failure) -> None:
        self.events.append(("exited", reason.value))

    def processEnded(self, reason: Failure) -> None:
        self.events.append(("ended", reason.value))

    def kinds(self) -> list[str]:
        return [e[0] for e in self.events]


class Launched:
    """What a direct launch records, standing in for a spawned process."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], dict[str, str], str | None]] = []

    def __call__(
        self,
        reactor: Any,
        protocol: IProcessProtocol,
        argv: Sequence[str],
        env: Mapping[str, str],
        cwd: str | None,
    ) -> Any:
        self.calls.append((list(argv), dict(env), cwd))
        process = FakeProcess(protocol, argv, env, cwd, 777)
        protocol.makeConnection(cast(Any, process))
        return process


@pytest.fixture
def kills() -> list[tuple[int, int]]:
    return []


def record_kill(kills: list[tuple[int, int]]) -> Kill:
    def kill(pid: int, signum: int) -> bool:
        kills.append((pid, signum))
        return True

    return kill


def forked_process(
    reactor: FakeProcessReactor, kills: list[tuple[int, int]], direct: Launched | None = None
) -> tuple[ForkedProcess, Recorder]:
    protocol = Recorder()
    child = ForkedProcess(
        reactor,
        protocol,
        ["python", "-m", "showcase.event"],
        {"SHOWCASE_DB": "a.sqlite3"},
        "/srv/a",
        record_kill(kills),
        direct or Launched(),
    )
    return child, protocol


def close_pipes(child: ForkedProcess) -> None:
    """The child's output pipes reach EOF (as when it and its group are gone)."""
    for fd in (1, 2):
        child.childConnectionLost(fd, Failure(Exception("closed")))


def test_forked_child_reports_like_a_spawned_one(kills: list[tuple[int, int]]) -> None:
    """Output flows to the protocol; exit comes with the report, the end once pipes closed."""
    reactor = FakeProcessReactor()
    child, protocol = forked_process(reactor, kills)
    assert child.pid is None and child.started_via == "preload"
    assert len(child.request_fds) == 2
    child.forked(4321, None)
    assert child.pid == 4321 and child.request_fds == ()
    child.childDataReceived(1, b'{"ready": true}\n')
    child.exited(signal.SIGKILL)
    assert protocol.kinds() == ["connected", "data", "exited"]
    close_pipes(child)
    assert protocol.kinds() == ["connected", "data", "exited", "ended"]
    ended = protocol.events[-1][1]
    assert isinstance(ended, ProcessTerminated) and ended.signal == signal.SIGKILL


def test_a_stop_before_the_pid_is_known_is_delivered_with_it(kills: list[tuple[int, int]]) -> None:
    """SIGTERM asked for while the fork is pending reaches the group once the pid arrives."""
    child, _ = forked_process(FakeProcessReactor(), kills)
    child.signalProcess(signal.SIGTERM)
    assert kills == []
    child.forked(4321, None)
    assert kills == [(4321, signal.SIGTERM)]
    child.exited(0)
    close_pipes(child)


def test_refused_fork_spawns_directly(kills: list[tuple[int, int]]) -> None:
    """If the spawner does not fork, the same command is spawned and pending signals follow it."""
    direct = Launched()
    child, _ = forked_process(FakeProcessReactor(), kills, direct)
    child.signalProcess(signal.SIGKILL)
    child.not_forked("retiring")
    assert direct.calls == [
        (["python", "-m", "showcase.event"], {"SHOWCASE_DB": "a.sqlite3"}, "/srv/a")
    ]
    assert child.started_via == "spawn" and child.pid == 777
    assert kills == [(777, signal.SIGKILL)]


def test_spawner_death_is_survived_and_the_pidfd_tells_the_exit(
    kills: list[tuple[int, int]],
) -> None:
    """After the spawner died, the child's pidfd turning readable is its exit (status unknown)."""
    reactor = FakeProcessReactor()
    child, protocol = forked_process(reactor, kills)
    pidfd, other_end = os.pipe()  # stands in for the pidfd the spawner sent
    child.forked(4321, pidfd)
    child.spawner_lost()
    assert "exited" not in protocol.kinds()
    (watch,) = [r for r in reactor.getReaders() if r.fileno() == pidfd]
    cast(Any, watch).doRead()
    assert isinstance(protocol.events[-1][1], SpawnerGone)
    close_pipes(child)
    assert protocol.kinds()[-1] == "ended"
    os.close(other_end)


# -- the spawner's life, as the preloader runs it -----------------------------------------


class ControlWire(StringTransport):
    """The router's end of the control socket: bytes written, descriptors sent."""

    def __init__(self) -> None:
        super().__init__()
        self.fds: list[int] = []

    def sendFileDescriptor(self, fd: int) -> None:
        self.fds.append(fd)

    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.value().splitlines()]


class SpawnerPlay:
    """A preloader on a fake reactor, with the spawner processes played by hand."""

    def __init__(self) -> None:
        self.reactor = FakeProcessReactor(first_pid=500)
        self.kills: list[tuple[int, int]] = []
        self.output: list[tuple[str, str, bytes]] = []
        self.direct = Launched()
        self.preloader = Preloader(
            self.reactor,
            lambda *args: self.output.append(args),
            {"PATH": "/bin"},
            kill=record_kill(self.kills),
            direct=self.direct,
        )
        self.wires: list[ControlWire] = []

    def connect(self) -> tuple[FakeProcess, Any, ControlWire]:
        """The spawner just started: its process, and the router's protocol on its socket."""
        _, _, factory = self.reactor.adoptedStreamConnections[len(self.wires)]
        protocol = factory.buildProtocol(None)
        wire = ControlWire()
        protocol.makeConnection(wire)
        self.wires.append(wire)
        return self.reactor.processes[-1], protocol, wire

    def close(self) -> None:
        for wire in self.wires:
            for fd in wire.fds:
                os.close(fd)
        self.preloader._close_lifeline()


@pytest.fixture
def play() -> Iterator[SpawnerPlay]:
    p = SpawnerPlay()
    yield p
    p.close()


def hello(protocol: Any, pid: int = 500) -> None:
    protocol.dataReceived(encode({"op": "hello", "pid": pid, "app": "x", "prepare_ms": 900.0}))


def launch(play: SpawnerPlay) -> tuple[Any, Recorder]:
    protocol = Recorder()
    env = {"SHOWCASE_TENANT": "a", "PORT": "4000"}
    child = play.preloader.launch(play.reactor, protocol, ["python", "-m", "x"], env, "/srv/a")
    return child, protocol


def test_spawner_is_a_launched_child_with_its_socket_and_lifeline(play: SpawnerPlay) -> None:
    """It runs under the launcher like every child; its output is logged as ``spawner``."""
    play.preloader.start()
    process, _, _ = play.connect()
    assert process.argv[-2:] == ["-m", "showcase.tenants.spawner"]
    process.err(b"spawner: hi\n")
    assert play.output == [(SOURCE, "stderr", b"spawner: hi\n")]


def test_tenants_start_directly_until_the_spawner_said_hello(play: SpawnerPlay) -> None:
    """Before its hello the spawner is not asked; the tenant is spawned instead."""
    play.preloader.start()
    play.connect()
    child, _ = launch(play)
    assert play.direct.calls and not isinstance(child, ForkedProcess)


def test_a_fork_request_carries_the_tenant_and_its_pipes(play: SpawnerPlay) -> None:
    """The request names argv, env and cwd and sends the two write ends with it."""
    play.preloader.start()
    _, control, wire = play.connect()
    hello(control)
    child, protocol = launch(play)
    assert isinstance(child, ForkedProcess)
    (request,) = wire.messages()
    assert request["op"] == "spawn" and request["tenant"] == "a" and request["fds"] == 2
    assert (request["argv"], request["cwd"]) == (["python", "-m", "x"], "/srv/a")
    assert request["env"] == {"SHOWCASE_TENANT": "a", "PORT": "4000"}
    assert wire.fds == list(child.request_fds)
    wire.fds = []  # the router closes them on the reply
    control.dataReceived(encode({"op": "forked", "id": request["id"], "pid": 4321}))
    assert child.pid == 4321
    control.dataReceived(encode({"op": "exited", "id": request["id"], "pid": 4321, "status": 0}))
    assert protocol.kinds()[-1] == "exited"
    close_pipes(child)


def test_a_lost_spawner_hands_pending_forks_to_direct_starts(play: SpawnerPlay) -> None:
    """A request the spawner never answered is spawned directly when its socket closes."""
    play.preloader.start()
    _, control, wire = play.connect()
    hello(control)
    child, _ = launch(play)
    wire.fds = []
    control.connectionLost(Failure(Exception("gone")))
    assert child.started_via == "spawn" and child.pid == 777


def test_a_dead_spawner_is_restarted_after_a_delay(play: SpawnerPlay) -> None:
    """Meanwhile tenants start directly; after the delay a new spawner is started."""
    play.preloader.start()
    process, control, _ = play.connect()
    hello(control)
    control.connectionLost(Failure(Exception("gone")))
    process.finish(sig=signal.SIGKILL)
    assert len(play.reactor.processes) == 1
    launch(play)
    assert len(play.direct.calls) == 1
    play.reactor.advance(RESTART_DELAYS[0])
    assert len(play.reactor.processes) == 2


def test_replace_retires_the_old_spawner_and_starts_a_new_one(play: SpawnerPlay) -> None:
    """A reload: the old spawner is told to retire (its children live on), a new one starts."""
    play.preloader.start()
    old, control, wire = play.connect()
    hello(control)
    play.preloader.replace()
    assert wire.messages() == [{"op": "retire"}]
    assert len(play.reactor.processes) == 2
    old.finish()  # it exited once it had no children: not restarted
    play.reactor.advance(max(RESTART_DELAYS))
    assert len(play.reactor.processes) == 2


def test_stop_terminates_each_spawner_and_waits_for_it(play: SpawnerPlay) -> None:
    """Shutdown: SIGTERM to the spawner's group, done once it is reaped."""
    play.preloader.start()
    process, control, _ = play.connect()
    hello(control)
    done = play.preloader.stop()
    assert play.kills == [(process.pid, signal.SIGTERM)] and not done.called
    process.finish()
    assert done.called


# -- choosing, and saying so -------------------------------------------------------------


def make_tenant(name: str, is_event_app: bool = False) -> Tenant:
    return Tenant(
        path=f"/{name}/",
        name=name,
        root=None,
        var=(),
        env=(),
        command=("app", "${port}"),
        port_env_var="PORT",
        health_check="/up",
        startup_timeout=5.0,
        track_websockets=True,
        bot_detection=None,
        hooks=TenantHooks(),
        memory_limit=None,
        is_event_app=is_event_app,
    )


def make_config(*tenants: Tenant, preload: bool = True) -> Config:
    apps = Applications(pools=Pools(), preload=preload, tenants=tenants or (make_tenant("a"),))
    return Config(applications=apps)


class FakePreloader:
    """The preloader surface the supervisor uses, recording calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def start(self) -> None:
        self.calls.append("start")

    def replace(self) -> None:
        self.calls.append("replace")

    def retire(self) -> None:
        self.calls.append("retire")

    def stop(self) -> Any:
        self.calls.append("stop")

    def launch(
        self,
        reactor: Any,
        protocol: IProcessProtocol,
        argv: Sequence[str],
        env: Mapping[str, str],
        cwd: str | None,
    ) -> Any:
        self.calls.append("launch")
        return reactor.spawnProcess(protocol, argv[0], argv, env, cwd)


def supervisor_with(config: Config) -> tuple[Supervisor, FakePreloader, FakeProcessReactor]:
    reactor = FakeProcessReactor()
    preloader = FakePreloader()
    supervisor = Supervisor(
        reactor,
        config,
        lambda *args: Deferred(),
        lambda *args: None,
        kill=lambda pid, signum: True,
        base_env={},
        probe=lambda port, path: Deferred(),
        preloader=cast(Preloader, preloader),
    )
    supervisor.startService()
    return supervisor, preloader, reactor


def test_event_app_tenants_are_forked_when_preload_is_on() -> None:
    """With an event-app tenant the spawner is started, and that tenant launched through it."""
    config = make_config(make_tenant("a", is_event_app=True), make_tenant("b"))
    supervisor, preloader, reactor = supervisor_with(config)
    assert preloader.calls == ["start"]
    supervisor.ready("a")
    supervisor.ready("b")
    assert preloader.calls == ["start", "launch"]
    assert len(reactor.processes) == 2


def test_preload_off_spawns_everything_and_starts_no_spawner() -> None:
    """``applications.preload: false``: no spawner, event tenants spawned directly."""
    config = make_config(make_tenant("a", is_event_app=True), preload=False)
    supervisor, preloader, _ = supervisor_with(config)
    supervisor.ready("a")
    assert preloader.calls == []


def test_reload_replaces_the_spawner_and_shutdown_stops_it_last() -> None:
    """A reload gives new code a new spawner; on stop it goes after every tenant."""
    config = make_config(make_tenant("a", is_event_app=True))
    supervisor, preloader, reactor = supervisor_with(config)
    supervisor.update(config)
    assert preloader.calls == ["start", "replace"]
    supervisor.ready("a")
    reactor.processes[-1].ready_line()
    supervisor.stopService()
    assert preloader.calls[-1] == "launch"
    reactor.processes[-1].finish()
    assert preloader.calls[-1] == "stop"


def test_describe_says_how_the_tenant_was_started() -> None:
    """``started_via`` is ``spawn`` for a directly spawned tenant."""
    supervisor, _, reactor = supervisor_with(make_config())
    supervisor.ready("a")
    reactor.processes[-1].ready_line()
    assert supervisor.describe("a")["started_via"] == "spawn"


ROUTER_CONFIG = """
applications:
  tenants:
    - path: /a/
cable:
  enabled: false
"""


def test_access_line_of_a_request_that_waited_for_a_start(tmp_path: Path) -> None:
    """It carries ``started_via`` and ``start_ms``; a request to a ready tenant does not."""
    h = RouterHarness(load(tmp_path, ROUTER_CONFIG))
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    cold_client = h.client()
    cold_client.send(b"GET /a/ HTTP/1.1\r\nHost: x\r\n\r\n")
    h.supervisor.make_ready("a")
    h.upstream().reply(answer)
    warm_client = h.client()
    warm_client.send(b"GET /a/ HTTP/1.1\r\nHost: x\r\n\r\n")
    h.upstream().reply(answer)
    assert cold_client.response().status == warm_client.response().status == 200
    cold, warm = h.access()
    assert (cold["started_via"], cold["start_ms"]) == ("spawn", 1.5)
    assert "started_via" not in warm and "start_ms" not in warm
