"""Redirects, rewrites and reverse-proxy routes as compiled by :class:`Rules`."""

from __future__ import annotations

from pathlib import Path

import pytest
from routerfakes import load, request

from showcase.router.message import Reply
from showcase.router.rules import OriginTarget, Rules, redirect


def rules(tmp_path: Path, routes: str) -> Rules:
    return Rules(load(tmp_path, routes))


def proxied(tmp_path: Path, route: str, target: str) -> OriginTarget:
    found = rules(tmp_path, f"routes:\n  reverse_proxies:\n    - {route}\n").reverse_proxy(
        request(target), request(target).path
    )
    assert found is not None
    return found


def location(reply: Reply) -> bytes | None:
    return dict(reply.headers).get(b"location")


# -- reverse-proxy targets ------------------------------------------------------------------


def test_group_references_in_the_target_name_the_whole_path(tmp_path: Path) -> None:
    """``$1``/``$2`` in the target are filled from the path regex, and replace the path."""
    origin = proxied(
        tmp_path,
        "{path: '^/api/(\\w+)/(\\d+)$', target: 'http://backend:8080/v2/$2/$1'}",
        "/api/users/42?full=1",
    )
    assert (origin.host, origin.port, origin.tls) == ("backend", 8080, False)
    assert origin.target == b"/v2/42/users?full=1"
    assert origin.host_header == b"backend:8080"


def test_a_group_that_did_not_take_part_is_empty(tmp_path: Path) -> None:
    """A ``$n`` whose group did not match becomes empty."""
    origin = proxied(
        tmp_path, "{path: '^/img(/thumb)?/(.+)$', target: 'http://img/x$1/$2'}", "/img/cat.png"
    )
    assert origin.target == b"/x/cat.png"


def test_prefix_route_keeps_the_path_without_strip_path(tmp_path: Path) -> None:
    """Without strip_path the whole request path is appended to the target's path."""
    origin = proxied(tmp_path, "{prefix: /api/, target: 'http://h/base/'}", "/api/users")
    assert origin.target == b"/base/api/users"


def test_prefix_route_with_strip_path_drops_the_prefix(tmp_path: Path) -> None:
    """With strip_path the prefix is removed and the rest goes under the target's path."""
    origin = proxied(
        tmp_path, "{prefix: /api/, target: 'http://h/base/', strip_path: true}", "/api/users"
    )
    assert origin.target == b"/base/users"


def test_prefix_route_with_strip_path_on_the_bare_prefix_sends_the_base(tmp_path: Path) -> None:
    """Stripping a path equal to the prefix leaves ``/`` under the target's path."""
    origin = proxied(tmp_path, "{prefix: /api/, target: 'http://h', strip_path: true}", "/api/")
    assert origin.target == b"/"


def test_regex_route_with_strip_path_keeps_the_first_group(tmp_path: Path) -> None:
    """With a regex and strip_path the first group is the path sent."""
    origin = proxied(
        tmp_path, "{path: '^/svc/(.*)$', target: 'http://h:9000', strip_path: true}", "/svc/a/b"
    )
    assert origin.target == b"/a/b"


def test_regex_route_without_a_group_strips_the_matched_prefix(tmp_path: Path) -> None:
    """With strip_path and a regex without groups, the matched part is stripped, not the rest."""
    origin = proxied(
        tmp_path, "{path: '^/svc/', target: 'http://h:9000', strip_path: true}", "/svc/a/b"
    )
    assert origin.target == b"/a/b"


def test_query_strings_of_target_and_request_are_merged(tmp_path: Path) -> None:
    """The target's own query comes first, then the request's."""
    origin = proxied(tmp_path, "{prefix: /q/, target: 'http://h/s?key=k'}", "/q/x?a=1&b=2")
    assert origin.target == b"/s/q/x?key=k&a=1&b=2"


def test_https_target_defaults_to_port_443_and_a_bare_host_header(tmp_path: Path) -> None:
    """An https target is TLS on 443, and its Host header has no port."""
    origin = proxied(tmp_path, "{prefix: /s/, target: 'https://secure.example'}", "/s/x")
    assert (origin.host, origin.port, origin.tls) == ("secure.example", 443, True)
    assert origin.host_header == b"secure.example"


def test_first_matching_route_wins(tmp_path: Path) -> None:
    """Routes are tried in order; a non-matching one is skipped."""
    found = rules(
        tmp_path,
        """
routes:
  reverse_proxies:
    - {prefix: /other/, target: 'http://one'}
    - {path: '^/x/', target: 'http://two'}
    - {prefix: /x/, target: 'http://three'}
""",
    ).reverse_proxy(request("/x/y"), "/x/y")
    assert found is not None and found.host == "two"


def test_no_route_matches(tmp_path: Path) -> None:
    """A path no route claims is not proxied."""
    found = rules(
        tmp_path, "routes:\n  reverse_proxies:\n    - {prefix: /api/, target: 'http://h'}\n"
    ).reverse_proxy(request("/apix"), "/apix")
    assert found is None


# -- redirects and rewrites -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"), [("", 302), (", status: 301", 301), (", status: 308", 308)]
)
def test_redirect_status_comes_from_config(tmp_path: Path, status: str, expected: int) -> None:
    """A redirect rule answers 302 unless its ``status`` says otherwise."""
    found = rules(
        tmp_path, f"routes:\n  redirects:\n    - {{from: '^/old$', to: /new{status}}}\n"
    ).redirect_for(request("/old"), "/old")
    assert found is not None
    assert found.status == expected
    assert location(found) == b"/new"


def test_redirect_expands_groups_and_keeps_the_query(tmp_path: Path) -> None:
    """``$1`` and ``${name}`` expand; the request's query is appended (after any in ``to``)."""
    found = rules(
        tmp_path,
        "routes:\n  redirects:\n"
        "    - {from: '^/e/(?P<year>\\d+)/(.*)$', to: '/events/${year}/$2?src=old'}\n",
    ).redirect_for(request("/e/2025/boston?x=1"), "/e/2025/boston")
    assert found is not None
    assert location(found) == b"/events/2025/boston?src=old&x=1"


def test_first_matching_redirect_wins(tmp_path: Path) -> None:
    """Of several matching redirects the first one is used."""
    found = rules(
        tmp_path,
        """
routes:
  redirects:
    - {from: '^/a', to: /first}
    - {from: '^/a/b', to: /second}
""",
    ).redirect_for(request("/a/b"), "/a/b")
    assert found is not None and location(found) == b"/first"


def test_rewrites_apply_in_order_each_seeing_the_last(tmp_path: Path) -> None:
    """Every matching rewrite applies, to the result of the one before."""
    compiled = rules(
        tmp_path,
        """
routes:
  rewrites:
    - {from: '^/old/', to: '/mid/'}
    - {from: '^/mid/(.*)$', to: '/new/$1.html'}
    - {from: '^/never/', to: '/x/'}
""",
    )
    assert compiled.rewrite("/old/page") == "/new/page.html"
    assert compiled.rewrite("/other") == "/other"


def test_redirect_location_is_percent_encoded_but_keeps_url_characters() -> None:
    """A redirect's Location quotes spaces but keeps ``:/?=&``."""
    found = redirect("https://x.example/a b?c=d", b"e=f")
    assert location(found) == b"https://x.example/a%20b?c=d&e=f"


def test_automatic_trailing_slash_redirect_is_302_for_tenant_paths(tmp_path: Path) -> None:
    """A tenant path without its slash (and only that) gets a 302 to the path with it."""
    compiled = rules(tmp_path, "applications:\n  tenants:\n    - path: /t/\n")
    found = compiled.auto_redirect(request("/t?x=1"), "/t")
    assert found is not None
    assert (found.status, location(found)) == (302, b"/t/?x=1")
    assert compiled.auto_redirect(request("/t/"), "/t/") is None
