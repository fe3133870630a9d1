"""Fly-Replay (spec/fly-replay.md): replay on Fly, proxy elsewhere, never a loop.

Dispatch-level: a real :class:`Dispatcher` on YAML configs, with where it runs
(:class:`FlyHere`) given explicitly; the proxying through a real router on fake
wires (``routerfakes``).  Configs are in the shape the generator writes: the
appliance's ``.pdf`` rule first, then one region rule per other region's event.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from routerfakes import RouterHarness, bare_exchange, load, request

from showcase.config import ConfigError, parse_config
from showcase.config.model import Config
from showcase.router.auth import Authenticator
from showcase.router.dispatch import Decision, Dispatcher, ToOrigin, ToTenant
from showcase.router.message import Headers, Reply
from showcase.router.replay import FlyHere, eligible, listen_port

REGIONS = """
applications:
  tenants:
    - path: /2025/chicago/
cable:
  enabled: false
routes:
  fly:
    replay:
      - {path: "\\\\.pdf$", app: showcase-printer}
      - {path: "^/2025/boston/", region: bos}
      - {path: "^/2025/raleigh/", region: rdu}
"""
ORD = FlyHere(app="showcase", region="ord", machine="e2865013", port=3000)
BOS = FlyHere(app="showcase", region="bos", machine="d8dd7e0c", port=3000)
OFF_FLY = FlyHere(port=3000)
KAMAL = FlyHere(app="showcase", port=3000)  # FLY_APP_NAME set by hand, no FLY_REGION
RETRY = (b"x-navigator-retry", b"true")
FAILED = (b"fly-replay-failed", b"timeout")
AUTH = (b"authorization", b"Basic YWxpY2U6czNjcmV0")


def regions(tmp_path: Path, *extra: str) -> Config:
    return load(tmp_path, REGIONS, *extra)


def decide(
    config: Config, here: FlyHere, target: str, headers: Headers = (), **kw: bytes
) -> Decision:
    head = request(target, headers=headers, **kw)
    return Dispatcher(config, Authenticator(config.auth, None), here).decide(bare_exchange(head))


def replayed(decision: Decision, status: int = 307) -> object:
    assert isinstance(decision, Reply), decision
    assert decision.status == status
    assert (decision.kind, decision.headers) == (
        "fly-replay",
        ((b"content-type", b"application/vnd.fly.replay+json"),),
    )
    return json.loads(decision.body)


def proxied(decision: Decision) -> tuple[str, str, int, bytes, dict[str, str]]:
    """(route name, host, port, target, route headers) of a proxy decision."""
    assert isinstance(decision, ToOrigin), decision
    o = decision.origin
    return o.route.name or "", o.host, o.port, o.target, dict(o.route.headers)


def maintenance(decision: Decision) -> None:
    assert isinstance(decision, Reply), decision
    assert (decision.status, decision.kind) == (503, "maintenance")


def hard(*headers: dict[str, str]) -> dict[str, object]:
    """The timeout/fallback/transform part of region and machine answers."""
    set_headers = [{"name": "X-Navigator-Retry", "value": "true"}, *headers]
    return {"timeout": "30s", "fallback": "force_self", "transform": {"set_headers": set_headers}}


# -- where the router runs ---------------------------------------------------------------------


def test_on_fly_needs_both_app_and_region() -> None:
    """FLY_APP_NAME and FLY_REGION together mean "on Fly"; either alone does not."""
    both = FlyHere.from_environ({"FLY_APP_NAME": "a", "FLY_REGION": "ord"}, 80)
    assert both.on_fly and (both.app, both.region, both.port) == ("a", "ord", 80)
    assert not FlyHere.from_environ({"FLY_APP_NAME": "a"}, 80).on_fly
    assert not FlyHere.from_environ({"FLY_REGION": "ord", "FLY_APP_NAME": ""}, 80).on_fly
    assert FlyHere.from_environ({"FLY_MACHINE_ID": "m1"}, None).machine == "m1"


@pytest.mark.parametrize(
    ("endpoint", "port"),
    [
        ("tcp:3000", 3000),
        ("tcp:8080:interface=127.0.0.1", 8080),
        ("tcp6:port=9000:interface=\\:\\:1", 9000),
        ("tcp:0", None),
        ("unix:/run/showcase.sock", None),
        ("systemd:domain=INET:index=0", None),
    ],
)
def test_listen_port_of_an_endpoint(endpoint: str, port: int | None) -> None:
    """``{port}`` is the TCP port of the listen endpoint; none for sockets and port 0."""
    assert listen_port(endpoint) == port


def test_the_environment_is_read_when_a_config_is_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dispatcher made without ``here`` takes FLY_* from the environment once, at creation;
    a later change of the environment does not affect it."""
    monkeypatch.setenv("FLY_APP_NAME", "showcase")
    monkeypatch.setenv("FLY_REGION", "ord")
    config = regions(tmp_path, "server:\n  listen: 3000\n")
    dispatcher = Dispatcher(config, Authenticator(config.auth, None))
    monkeypatch.delenv("FLY_REGION")
    assert dispatcher.here == FlyHere("showcase", "ord", None, 3000)
    head = request("/2025/boston/heats")
    assert replayed(dispatcher.decide(bare_exchange(head))) == {"region": "bos", **hard()}


# -- on Fly: the answers -----------------------------------------------------------------------


def test_region_rule_on_fly_answers_a_region_replay(tmp_path: Path) -> None:
    """On Fly a request for another region's event gets the region instruction, which
    carries the request's Authorization header."""
    answer = replayed(decide(regions(tmp_path), ORD, "/2025/boston/heats", (AUTH,)))
    auth = {"name": "Authorization", "value": "Basic YWxpY2U6czNjcmV0"}
    assert answer == {"region": "bos", **hard(auth)}


def test_app_rule_on_fly_answers_the_app_only(tmp_path: Path) -> None:
    """A PDF goes to the appliance app: ``{"app": A}``, no timeout (it may be cold)."""
    answer = replayed(decide(regions(tmp_path), ORD, "/2025/chicago/heats.pdf"))
    assert answer == {"app": "showcase-printer"}


def test_machine_rule_names_this_app_and_the_instance(tmp_path: Path) -> None:
    """A machine rule answers app (this app unless given), instance and the hard fields."""
    config = load(
        tmp_path,
        REGIONS,
        """
routes:
  fly:
    replay:
      - {path: "^/m/", machine: 3d8d1234}
      - {path: "^/o/", machine: 5e1f, app: other}
""",
    )
    assert replayed(decide(config, ORD, "/m/x")) == {
        "app": "showcase",
        "instance": "3d8d1234",
        **hard(),
    }
    assert replayed(decide(config, ORD, "/o/x"))["app"] == "other"  # type: ignore[index]


def test_the_rules_status_is_used(tmp_path: Path) -> None:
    """A rule's ``status`` is the answer's status (307 when not given)."""
    config = load(tmp_path, "routes: {fly: {replay: [{path: '^/x/', region: bos, status: 302}]}}")
    replayed(decide(config, ORD, "/x/1"), status=302)


def test_rules_see_the_rewritten_path(tmp_path: Path) -> None:
    """Replay rules match the path after rewrites."""
    config = regions(
        tmp_path, "routes:\n  rewrites:\n    - {from: '^/bos/', to: '/2025/boston/'}\n"
    )
    assert replayed(decide(config, ORD, "/bos/heats"))["region"] == "bos"  # type: ignore[index]


def test_a_path_no_rule_matches_is_served_here(tmp_path: Path) -> None:
    """This region's own event matches no rule: its tenant gets it."""
    decision = decide(regions(tmp_path), ORD, "/2025/chicago/heats")
    assert isinstance(decision, ToTenant) and decision.tenant.path == "/2025/chicago/"


# -- eligibility -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "length", "expected"),
    [
        (b"GET", None, True),
        (b"HEAD", None, False),
        (b"OPTIONS", None, True),
        (b"DELETE", None, True),
        (b"POST", b"10", True),
        (b"PUT", b"0", True),
        (b"POST", b"1048575", True),
        (b"POST", b"1048576", False),
        (b"GET", b"2097152", False),
        (b"POST", None, False),
        (b"PUT", None, False),
        (b"PATCH", None, False),
        (b"POST", b"ten", False),
    ],
)
def test_eligibility(method: bytes, length: bytes | None, expected: bool) -> None:
    """Replayed: a Content-Length under 1 MiB, or no body; not: 1 MiB or more, or a
    POST/PUT/PATCH without Content-Length (chunked), or a length that is not a number,
    or a HEAD (its answer has no body to carry the replay instruction)."""
    headers = ((b"content-length", length),) if length is not None else ()
    assert eligible(request("/x", method, headers)) is expected


def test_a_large_upload_on_fly_is_proxied_to_the_owner(tmp_path: Path) -> None:
    """On Fly a 2 MiB POST for another region's event is proxied to that region's
    internal address (default template), not replayed."""
    big = ((b"content-length", b"2097152"), (b"host", b"smooth.fly.dev"))
    decision = decide(regions(tmp_path), ORD, "/2025/boston/upload", big, method=b"POST")
    name, host, port, target, headers = proxied(decision)
    assert (name, host, port, target) == (
        "fly-internal:bos",
        "bos.showcase.internal",
        3000,
        b"/2025/boston/upload",
    )
    assert headers == {"X-Navigator-Retry": "true"}
    assert isinstance(decision, ToOrigin) and decision.origin.host_header == b"smooth.fly.dev"


def test_a_chunked_upload_on_fly_is_proxied(tmp_path: Path) -> None:
    """A POST without Content-Length (chunked) is proxied, not replayed."""
    chunked = ((b"transfer-encoding", b"chunked"),)
    decision = decide(regions(tmp_path), ORD, "/2025/boston/upload", chunked, method=b"POST")
    assert proxied(decision)[1] == "bos.showcase.internal"


# -- off Fly: the same rules proxy -------------------------------------------------------------


def test_off_fly_a_region_rule_proxies(tmp_path: Path) -> None:
    """Without FLY_REGION the rule proxies to the internal address, keeping the request's
    own target (rewrites are the target router's business) and query."""
    config = regions(
        tmp_path, "routes:\n  rewrites:\n    - {from: '^/bos/', to: '/2025/boston/'}\n"
    )
    name, host, port, target, _ = proxied(decide(config, KAMAL, "/bos/heats?x=1"))
    assert (name, host, port, target) == (
        "fly-internal:bos",
        "bos.showcase.internal",
        3000,
        b"/bos/heats?x=1",
    )


def test_off_fly_an_app_rule_proxies_to_the_app(tmp_path: Path) -> None:
    """An app target off Fly goes to ``<app>.internal`` (the default template names a region)."""
    _, host, port, _, _ = proxied(decide(regions(tmp_path), OFF_FLY, "/2025/chicago/heats.pdf"))
    assert (host, port) == ("showcase-printer.internal", 3000)


def test_off_fly_a_machine_rule_proxies_to_the_machine(tmp_path: Path) -> None:
    """A machine target off Fly goes to ``<machine>.vm.<app>.internal``."""
    config = load(tmp_path, "routes: {fly: {replay: [{path: '^/m/', machine: 3d8d1234}]}}")
    assert proxied(decide(config, KAMAL, "/m/x"))[1] == "3d8d1234.vm.showcase.internal"


def test_a_configured_template_is_filled_in(tmp_path: Path) -> None:
    """``routes.fly.internal`` gets ``{region}``, ``{app}``, ``{machine}`` and ``{port}``
    (this router's port); a path in the template prefixes the request target."""
    config = load(
        tmp_path,
        """
routes:
  fly:
    internal: "https://{app}-{region}{machine}.example:{port}/via"
    replay:
      - {path: "^/r/", region: bos}
      - {path: "^/m/", machine: m1, app: other}
""",
    )
    _, host, port, target, _ = proxied(decide(config, KAMAL, "/r/x"))
    assert (host, port, target) == ("showcase-bos.example", 3000, b"/via/r/x")
    origin = decide(config, ORD, "/m/x", ((b"content-length", b"2000000"),), method=b"PUT")
    assert isinstance(origin, ToOrigin) and origin.origin.tls
    assert origin.origin.host == "other-ordm1.example"


def test_a_template_may_fix_the_port(tmp_path: Path) -> None:
    """A template with a number instead of ``{port}`` keeps it."""
    config = regions(
        tmp_path, "routes:\n  fly:\n    internal: 'http://{region}.{app}.internal:8080'\n"
    )
    assert proxied(decide(config, KAMAL, "/2025/boston/"))[2] == 8080


def test_internal_hosts_name_a_targets_address(tmp_path: Path) -> None:
    """``routes.fly.internal_hosts`` gives a region, app or machine its own host:port."""
    config = regions(
        tmp_path,
        "routes:\n  fly:\n    internal_hosts: {bos: '127.0.0.1:9101', "
        "showcase-printer: 'localhost:9103'}\n",
    )
    assert proxied(decide(config, OFF_FLY, "/2025/boston/x"))[1:3] == ("127.0.0.1", 9101)
    assert proxied(decide(config, OFF_FLY, "/a.pdf"))[1:3] == ("localhost", 9103)
    assert proxied(decide(config, OFF_FLY, "/2025/raleigh/"))[1] == "rdu..internal"


@pytest.mark.parametrize("value", ["9101", "127.0.0.1", ":80", "h:0", "h:70000", "h:x"])
def test_internal_hosts_must_be_host_and_port(value: str) -> None:
    """A bad ``internal_hosts`` entry is a config error naming the key."""
    text = f"routes: {{fly: {{internal_hosts: {{bos: '{value}'}}}}}}"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "<test>", "/etc/showcase")
    assert caught.value.path == "routes.fly.internal_hosts.bos"
    assert "host:port" in caught.value.message


# -- never to oneself --------------------------------------------------------------------------


def test_a_rule_for_this_region_is_served_here(tmp_path: Path) -> None:
    """A region rule naming this router's own region is not replayed: the local tenant
    (or the rest of the chain) gets it, on Fly and off it."""
    config = regions(tmp_path, "applications:\n  tenants:\n    - path: /2025/boston/\n")
    for here in (BOS, FlyHere(region="bos")):
        decision = decide(config, here, "/2025/boston/heats")
        assert isinstance(decision, ToTenant) and decision.tenant.path == "/2025/boston/"


def test_a_rule_for_this_app_is_not_replayed(tmp_path: Path) -> None:
    """On the appliance itself the ``.pdf`` rule naming its own app is not replayed."""
    printer = FlyHere(app="showcase-printer", region="iad", port=3000)
    decision = decide(regions(tmp_path), printer, "/2025/chicago/heats.pdf")
    assert isinstance(decision, ToTenant)


def test_a_rule_for_this_machine_is_not_replayed(tmp_path: Path) -> None:
    """A machine rule naming this machine of this app is served here."""
    config = load(
        tmp_path, REGIONS, "routes: {fly: {replay: [{path: '^/2025/', machine: e2865013}]}}"
    )
    assert isinstance(decide(config, ORD, "/2025/chicago/x"), ToTenant)
    other = load(tmp_path, REGIONS, "routes: {fly: {replay: [{path: '^/2025/', machine: aaaa}]}}")
    assert replayed(decide(other, ORD, "/2025/chicago/x"))["instance"] == "aaaa"  # type: ignore[index]


# -- loops -------------------------------------------------------------------------------------


@pytest.mark.parametrize("mark", [RETRY, FAILED, (b"x-navigator-retry", b"TRUE")])
@pytest.mark.parametrize("here", [ORD, OFF_FLY], ids=["on-fly", "off-fly"])
def test_a_replayed_request_is_never_sent_on_again(
    tmp_path: Path, mark: tuple[bytes, bytes], here: FlyHere
) -> None:
    """A request already replayed (X-Navigator-Retry: true, or Fly's fly-replay-failed)
    that matches a rule gets the maintenance page, whether it would be replayed or proxied."""
    maintenance(decide(regions(tmp_path), here, "/2025/boston/heats", (mark,)))


def test_a_large_retried_request_is_not_proxied_again(tmp_path: Path) -> None:
    """A retried upload that would be proxied gets the maintenance page too."""
    big = (RETRY, (b"content-length", b"2097152"))
    maintenance(decide(regions(tmp_path), ORD, "/2025/boston/up", big, method=b"POST"))


def test_a_retried_request_for_this_region_is_served(tmp_path: Path) -> None:
    """The replayed request arriving where it belongs is served, not refused."""
    config = regions(tmp_path, "applications:\n  tenants:\n    - path: /2025/boston/\n")
    assert isinstance(decide(config, BOS, "/2025/boston/heats", (RETRY,)), ToTenant)


def test_retry_header_other_than_true_is_not_a_loop(tmp_path: Path) -> None:
    """``X-Navigator-Retry: false`` is no mark: the request is replayed."""
    retry = ((b"x-navigator-retry", b"false"),)
    assert replayed(decide(regions(tmp_path), ORD, "/2025/boston/", retry))


# -- fly-prefer-region -------------------------------------------------------------------------

OVERLAP = """
routes:
  fly:
    replay:
      - {path: "\\\\.pdf$", app: showcase-printer}
      - {path: "^/2025/", region: rdu}
      - {path: "^/2025/boston/", region: bos}
      - {path: "^/2025/chicago/", region: ord}
"""


def test_prefer_region_picks_the_matching_rule_for_that_region(tmp_path: Path) -> None:
    """With ``fly-prefer-region: R``, a matching region rule naming R wins over an earlier
    one; without the header (or naming a region no rule gives the path to) the first
    matching rule decides."""
    config = load(tmp_path, OVERLAP)
    prefer = ((b"fly-prefer-region", b"bos"),)
    assert replayed(decide(config, ORD, "/2025/boston/x", prefer))["region"] == "bos"  # type: ignore[index]
    assert replayed(decide(config, ORD, "/2025/boston/x"))["region"] == "rdu"  # type: ignore[index]
    other = ((b"fly-prefer-region", b"syd"),)
    assert replayed(decide(config, ORD, "/2025/boston/x", other))["region"] == "rdu"  # type: ignore[index]


def test_prefer_region_never_sends_an_event_to_a_region_that_does_not_own_it(
    tmp_path: Path,
) -> None:
    """``fly-prefer-region: bos`` on a Raleigh path (no rule gives it to bos) follows the rule."""
    config = regions(tmp_path)
    prefer = ((b"fly-prefer-region", b"bos"),)
    assert replayed(decide(config, ORD, "/2025/raleigh/x", prefer))["region"] == "rdu"  # type: ignore[index]


def test_prefer_region_for_this_region_serves_here(tmp_path: Path) -> None:
    """Preferring this router's region, with a matching rule naming it, is served here."""
    config = load(tmp_path, REGIONS, OVERLAP)
    prefer = ((b"fly-prefer-region", b"ord"),)
    assert isinstance(decide(config, ORD, "/2025/chicago/x", prefer), ToTenant)


def test_prefer_region_does_not_override_the_appliance_rule(tmp_path: Path) -> None:
    """A PDF still goes to the appliance whatever region is preferred."""
    prefer = ((b"fly-prefer-region", b"bos"),)
    answer = replayed(decide(load(tmp_path, OVERLAP), ORD, "/2025/boston/x.pdf", prefer))
    assert answer == {"app": "showcase-printer"}


# -- through a real router on fake wires -------------------------------------------------------


def test_router_streams_a_large_upload_to_the_owner(tmp_path: Path) -> None:
    """On Fly, a 2 MiB POST for a Boston path is sent, body streamed as it arrives, to
    bos's internal address with X-Navigator-Retry; bos's answer comes back."""
    config = regions(tmp_path, "routes:\n  fly:\n    internal_hosts: {bos: '10.0.0.2:3000'}\n")
    h = RouterHarness(config)
    h.router.environ = {"FLY_APP_NAME": "showcase", "FLY_REGION": "ord"}
    h.router.apply(config)
    client = h.client()
    size = 2 * 1024 * 1024
    client.send(b"POST /2025/boston/upload HTTP/1.1\r\nHost: e.example\r\n")
    client.send(b"Content-Length: %d\r\n\r\n" % size + b"x" * 1000)
    upstream = h.upstream()
    assert (upstream.host, upstream.port) == ("10.0.0.2", 3000)
    line, headers = upstream.head()
    assert line == b"POST /2025/boston/upload HTTP/1.1"
    assert (b"x-navigator-retry", b"true") in headers
    assert (b"host", b"e.example") in headers
    assert upstream.body() == b"x" * 1000  # what arrived so far, before the rest
    client.send(b"y" * (size - 1000))
    assert len(upstream.body()) == size
    upstream.reply(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
    assert (client.response().status, client.response().body) == (201, b"ok")
    assert h.access()[-1]["response_type"] == "proxy"


def test_router_uses_the_bound_port_once_listening(tmp_path: Path) -> None:
    """``{port}`` is the port the router actually bound (``tcp:0`` in the config)."""
    config = regions(tmp_path, "server:\n  listen: 0\n")
    h = RouterHarness(config)
    h.router.environ = {"FLY_APP_NAME": "showcase"}
    h.router.listening_on(43210)
    client = h.client()
    client.send(b"GET /2025/boston/ HTTP/1.1\r\nHost: e.example\r\n\r\n")
    upstream = h.upstream()
    assert (upstream.host, upstream.port) == ("bos.showcase.internal", 43210)
