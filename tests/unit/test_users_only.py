"""Only an event's own users (SHOWCASE_USERS) may open its non-public pages."""

from __future__ import annotations

from typing import Any

import pytest_twisted
from treq.testing import StubTreq
from twisted.web.resource import Resource
from twisted.web.static import Data

from showcase.event.users_only import UsersOnly, allowed_users


def event_site(users: frozenset[str]) -> Any:
    root = Resource()
    root.putChild(b"heats", Data(b"the heats", "text/plain"))
    return StubTreq(UsersOnly(root, users))


async def status(treq: Any, user: str | None) -> tuple[int, bytes]:
    headers = {"X-Remote-User": [user]} if user is not None else {}
    response = await treq.get("http://event.test/heats", headers=headers)
    return response.code, await response.content()


@pytest_twisted.ensureDeferred
async def test_a_listed_user_gets_the_page() -> None:
    """A user named in SHOWCASE_USERS (forwarded by the router) is served."""
    assert await status(event_site(frozenset({"alice", "bob"})), "bob") == (200, b"the heats")


@pytest_twisted.ensureDeferred
async def test_another_locations_user_is_refused() -> None:
    """A signed-in user of another location gets 403, not the page."""
    code, body = await status(event_site(frozenset({"alice"})), "mallory")
    assert code == 403 and b"the heats" not in body


@pytest_twisted.ensureDeferred
async def test_a_request_without_a_user_goes_on() -> None:
    """Without a forwarded user (a public page, or auth off) the request is served."""
    assert await status(event_site(frozenset()), None) == (200, b"the heats")


def test_allowed_users_from_the_environment() -> None:
    """SHOWCASE_USERS is a comma-separated list; unset means no restriction, empty means
    nobody signed in may open the event's pages."""
    assert allowed_users({"SHOWCASE_USERS": "alice, bob,"}) == {"alice", "bob"}
    assert allowed_users({}) is None
    assert allowed_users({"SHOWCASE_USERS": ""}) == frozenset()
