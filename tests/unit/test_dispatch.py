"""Where a request goes: :meth:`Dispatcher.decide` in the order of the spec.

Configs are real YAML through ``parse_config``; static files live in a
temporary ``public`` directory; the htpasswd file holds one ``{SHA}`` user.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from routerfakes import bare_exchange, load, request

from showcase.config.model import Config
from showcase.router.auth import Authenticator
from showcase.router.dispatch import Decision, Dispatcher, ToBroadcast, ToOrigin, ToTenant
from showcase.router.htpasswd import Htpasswd
from showcase.router.message import Headers, Reply, RequestHead

PASSWORD = "s3cret"
GOOD_AUTH = (b"authorization", b"Basic " + base64.b64encode(b"alice:" + PASSWORD.encode()))

TENANTS = """
applications:
  tenants:
    - path: /a/
    - path: /a/b/
    - path: /zoo/
cable:
  enabled: false
"""


def dispatcher(config: Config) -> Dispatcher:
    htpasswd = Htpasswd(config.auth.htpasswd) if config.auth.htpasswd else None
    return Dispatcher(config, Authenticator(config.auth, htpasswd))


def decide(config: Config, head: RequestHead) -> Decision:
    return dispatcher(config).decide(bare_exchange(head))


def get(
    config: Config, target: str, headers: Headers = (), client_ip: str = "203.0.113.9"
) -> Decision:
    return decide(config, request(target, headers=headers, client_ip=client_ip))


def reply(decision: Decision) -> Reply:
    assert isinstance(decision, Reply), decision
    return decision


def header(answer: Reply, name: bytes) -> bytes | None:
    values = [v for k, v in answer.headers if k.lower() == name]
    return values[0] if values else None


def tenant_of(decision: Decision) -> tuple[str, bytes]:
    assert isinstance(decision, ToTenant), decision
    return decision.tenant.name, decision.target


def with_auth(tmp_path: Path, extra: str = "") -> Config:
    digest = base64.b64encode(hashlib.sha1(PASSWORD.encode()).digest()).decode()
    (tmp_path / "htpasswd").write_text(f"alice:{{SHA}}{digest}\n")
    return load(
        tmp_path,
        TENANTS,
        """
auth:
  enabled: true
  htpasswd: htpasswd
  public_paths: ["*.css", "/open/"]
""",
        extra,
    )


def public_file(tmp_path: Path, name: str, data: bytes = b"file\n") -> Path:
    path = tmp_path / "public" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# -- health check and broadcast ------------------------------------------------------------


def test_health_check_is_answered_before_auth(tmp_path: Path) -> None:
    """A configured health response is answered without credentials, even with auth on."""
    config = with_auth(
        tmp_path,
        """
server:
  health_check:
    path: /healthz
    response: {status: 200, body: "fine", headers: {X-Health: "yes"}}
""",
    )
    answer = reply(get(config, "/healthz"))
    assert (answer.status, answer.body, answer.kind) == (200, b"fine", "health")
    assert header(answer, b"x-health") == b"yes"
    assert header(answer, b"content-type") == b"text/plain"


def test_health_check_without_response_goes_to_the_owning_tenant_unauthenticated(
    tmp_path: Path,
) -> None:
    """A health path without a synthetic response is proxied to its tenant, before auth."""
    config = with_auth(tmp_path, "server:\n  health_check:\n    path: /a/up\n")
    assert tenant_of(get(config, "/a/up")) == ("a", b"/a/up")


def test_broadcast_path_is_forbidden_from_other_hosts(tmp_path: Path) -> None:
    """The broadcast endpoint answers 403 to a non-loopback client, before auth asks."""
    config = with_auth(tmp_path, "cable:\n  enabled: true\n")
    answer = reply(get(config, "/_broadcast", client_ip="198.51.100.4"))
    assert answer.status == 403
    assert answer.kind == "broadcast"


def test_broadcast_path_from_loopback_needs_no_credentials(tmp_path: Path) -> None:
    """From loopback a POST to the broadcast endpoint is not challenged: it is a broadcast."""
    config = with_auth(tmp_path, "cable:\n  enabled: true\n")
    head = request("/_broadcast", method=b"POST", client_ip="127.0.0.1")
    assert isinstance(decide(config, head), ToBroadcast)


# -- auth ------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["/old", "/logo.png", "/a/page", "/nowhere"])
def test_auth_challenge_comes_before_redirects_static_files_and_tenants(
    tmp_path: Path, target: str
) -> None:
    """Without credentials, a redirect, a static file, a tenant and a 404 all get 401."""
    public_file(tmp_path, "logo.png")
    config = with_auth(tmp_path, "routes:\n  redirects:\n    - {from: '^/old$', to: /new}\n")
    answer = reply(get(config, target))
    assert answer.status == 401
    assert header(answer, b"www-authenticate") == b'Basic realm="Restricted"'


def test_good_credentials_pass_and_name_the_user(tmp_path: Path) -> None:
    """With a valid user and password the request reaches its tenant, and the user is kept."""
    config = with_auth(tmp_path)
    ex = bare_exchange(request("/a/page", headers=(GOOD_AUTH,)))
    assert tenant_of(dispatcher(config).decide(ex)) == ("a", b"/a/page")
    assert ex.remote_user == "alice"


def test_public_paths_skip_auth(tmp_path: Path) -> None:
    """A public path (suffix or prefix entry) passes without credentials."""
    public_file(tmp_path, "site.css")
    config = with_auth(tmp_path, "applications:\n  tenants:\n    - path: /open/\n")
    assert reply(get(config, "/site.css")).kind == "static"
    assert tenant_of(get(config, "/open/x")) == ("open", b"/open/x")


def test_public_paths_are_matched_before_rewrites(tmp_path: Path) -> None:
    """A public path rewritten onto a protected tenant still passes (matched as sent)."""
    config = with_auth(tmp_path, "routes:\n  rewrites:\n    - {from: '^/open/(.*)', to: '/a/$1'}\n")
    assert tenant_of(get(config, "/open/x")) == ("a", b"/a/x")


# -- redirects and rewrites ---------------------------------------------------------------


def test_configured_redirect_keeps_the_query_string(tmp_path: Path) -> None:
    """A configured redirect answers 302 with the query string carried over."""
    config = load(
        tmp_path, TENANTS, "routes:\n  redirects:\n    - {from: '^/old/(.*)', to: '/a/$1'}\n"
    )
    answer = reply(get(config, "/old/page?x=1&y=2"))
    assert answer.status == 302
    assert header(answer, b"location") == b"/a/page?x=1&y=2"
    assert answer.kind == "redirect"


def test_configured_redirect_wins_over_the_trailing_slash_redirect(tmp_path: Path) -> None:
    """A configured rule for a tenant path without its slash beats the automatic 302 to it."""
    config = load(tmp_path, TENANTS, "routes:\n  redirects:\n    - {from: '^/a$', to: /zoo/}\n")
    assert header(reply(get(config, "/a?q=1")), b"location") == b"/zoo/?q=1"


def test_tenant_path_without_slash_redirects_to_it(tmp_path: Path) -> None:
    """With no configured rule, ``/a`` redirects to ``/a/``, keeping the query string."""
    config = load(tmp_path, TENANTS)
    answer = reply(get(config, "/a?q=1"))
    assert (answer.status, header(answer, b"location")) == (302, b"/a/?q=1")


def test_root_path_without_slash_redirects_to_it(tmp_path: Path) -> None:
    """``root_path`` without its slash redirects to ``root_path/``."""
    config = load(
        tmp_path,
        "server:\n  root_path: /showcase\napplications:\n  tenants:\n    - path: /showcase/x/\n",
    )
    assert header(reply(get(config, "/showcase")), b"location") == b"/showcase/"


def test_rewrites_chain_and_the_tenant_sees_the_rewritten_target(tmp_path: Path) -> None:
    """Each rewrite sees the previous one's result; the tenant gets the final path and query."""
    config = load(
        tmp_path,
        TENANTS,
        """
routes:
  rewrites:
    - {from: '^/old/(.*)', to: '/mid/$1'}
    - {from: '^/mid/(.*)', to: '/a/b/$1'}
""",
    )
    assert tenant_of(get(config, "/old/x%20y?q=1")) == ("a-b", b"/a/b/x%20y?q=1")


def test_an_unrewritten_target_is_passed_exactly_as_sent(tmp_path: Path) -> None:
    """Without a rewrite the tenant gets the raw target, encoding untouched."""
    config = load(tmp_path, TENANTS)
    assert tenant_of(get(config, "/a/%7Euser?x=%41")) == ("a", b"/a/%7Euser?x=%41")


def test_redirect_status_comes_from_the_rule(tmp_path: Path) -> None:
    """A redirect rule with ``status: 301`` answers 301."""
    config = load(
        tmp_path, "routes:\n  redirects:\n    - {from: '^/old$', to: /new, status: 301}\n"
    )
    assert reply(get(config, "/old")).status == 301


# -- static files, try_files, maintenance ---------------------------------------------------


def test_static_file_is_served_before_the_tenant(tmp_path: Path) -> None:
    """A file under public_dir inside a tenant's path is served directly."""
    path = public_file(tmp_path, "a/logo.png")
    answer = reply(get(load(tmp_path, TENANTS), "/a/logo.png"))
    assert (answer.status, answer.kind) == (200, "static")
    assert answer.file is not None and answer.file.path == str(path)


def test_try_files_is_tried_before_the_tenant(tmp_path: Path) -> None:
    """An extension-less path is served from ``path + suffix`` when that file exists."""
    path = public_file(tmp_path, "a/about.html")
    config = load(tmp_path, TENANTS, "server:\n  static:\n    try_files: [.html]\n")
    answer = reply(get(config, "/a/about"))
    assert answer.file is not None and answer.file.path == str(path)
    assert tenant_of(get(config, "/a/contact")) == ("a", b"/a/contact")


def test_maintenance_answers_tenant_paths_with_503_and_no_cache(tmp_path: Path) -> None:
    """With maintenance enabled a tenant request gets the page, 503, not cached."""
    public_file(tmp_path, "503.html", b"<p>back soon</p>")
    config = load(tmp_path, TENANTS, "maintenance:\n  enabled: true\n")
    answer = reply(get(config, "/a/page"))
    assert (answer.status, answer.body, answer.kind) == (503, b"<p>back soon</p>", "maintenance")
    assert header(answer, b"cache-control") == b"no-cache, no-store, must-revalidate"


def test_maintenance_still_serves_static_files_and_redirects(tmp_path: Path) -> None:
    """During maintenance static files and configured redirects still answer."""
    public_file(tmp_path, "a/logo.png")
    config = load(
        tmp_path,
        TENANTS,
        "maintenance:\n  enabled: true\n",
        "routes:\n  redirects:\n    - {from: '^/old$', to: /a/}\n",
    )
    assert reply(get(config, "/a/logo.png")).status == 200
    assert reply(get(config, "/old")).status == 302


def test_maintenance_without_a_page_file_uses_the_built_in_page(tmp_path: Path) -> None:
    """A missing maintenance page file falls back to the built-in 503 page."""
    config = load(tmp_path, TENANTS, "maintenance:\n  enabled: true\n")
    answer = reply(get(config, "/a/page"))
    assert answer.status == 503
    assert b"Service Temporarily Unavailable" in answer.body


# -- tenants ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "name"),
    [("/a/b/c", "a-b"), ("/a/b/", "a-b"), ("/a/c", "a"), ("/a/bc", "a"), ("/a/", "a")],
)
def test_longest_tenant_prefix_wins(tmp_path: Path, target: str, name: str) -> None:
    """Of nested tenant paths the longest one that is a prefix of the path gets the request."""
    assert tenant_of(get(load(tmp_path, TENANTS), target))[0] == name


@pytest.mark.parametrize("target", ["/", "/b/", "/zo", "/zoology/x"])
def test_no_tenant_is_404(tmp_path: Path, target: str) -> None:
    """A path that no tenant, file or rule claims gets 404."""
    answer = reply(get(load(tmp_path, TENANTS), target))
    assert (answer.status, answer.kind) == (404, "not-found")


BOT = ((b"user-agent", b"Mozilla/5.0 (compatible; Googlebot/2.1)"),)
BROWSER = ((b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"),)


def test_bots_reach_tenants_when_detection_is_off(tmp_path: Path) -> None:
    """Without bot_detection a crawler is proxied like anyone else."""
    assert tenant_of(get(load(tmp_path, TENANTS), "/a/", BOT))[0] == "a"


def test_bots_get_403_when_detection_is_on(tmp_path: Path) -> None:
    """With bot_detection enabled a crawler gets 403 instead of waking a tenant."""
    config = load(tmp_path, TENANTS, "server:\n  bot_detection: {enabled: true}\n")
    answer = reply(get(config, "/a/", BOT))
    assert (answer.status, answer.kind) == (403, "bot-blocked")
    assert tenant_of(get(config, "/a/", BROWSER))[0] == "a"


def test_bot_detection_action_ignore_lets_bots_through(tmp_path: Path) -> None:
    """``action: ignore`` keeps detection from blocking anything."""
    config = load(tmp_path, TENANTS, "server:\n  bot_detection: {enabled: true, action: ignore}\n")
    assert tenant_of(get(config, "/a/", BOT))[0] == "a"


def test_tenant_bot_detection_overrides_the_server_setting(tmp_path: Path) -> None:
    """A tenant's own bot_detection beats the server's."""
    config = load(
        tmp_path,
        """
server:
  bot_detection: {enabled: true}
applications:
  tenants:
    - path: /a/
      bot_detection: {enabled: false}
    - path: /b/
""",
    )
    assert tenant_of(get(config, "/a/", BOT))[0] == "a"
    assert reply(get(config, "/b/", BOT)).status == 403


def test_bots_still_get_static_files(tmp_path: Path) -> None:
    """Bot detection applies to tenants only: files are served to crawlers."""
    public_file(tmp_path, "a/robots.txt")
    config = load(tmp_path, TENANTS, "server:\n  bot_detection: {enabled: true}\n")
    assert reply(get(config, "/a/robots.txt", BOT)).status == 200


# -- reverse proxies --------------------------------------------------------------------


def test_reverse_proxy_route_comes_before_static_files_and_tenants(tmp_path: Path) -> None:
    """A reverse-proxy route wins over a tenant whose path also matches."""
    public_file(tmp_path, "a/api/x.json")
    config = load(
        tmp_path,
        TENANTS,
        "routes:\n  reverse_proxies:\n    - {prefix: /a/api/, target: 'http://api:81'}\n",
    )
    decision = get(config, "/a/api/x.json")
    assert isinstance(decision, ToOrigin)
    assert (decision.origin.host, decision.origin.port) == ("api", 81)


# Fly replay (on Fly, off Fly, eligibility, loops): tests/unit/test_replay.py
