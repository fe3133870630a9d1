"""Only this event's users: a signed-in user of another location gets 403.

The router lets in every user of its htpasswd file and forwards the one it let
in as ``X-Remote-User`` (it drops a client's own).  The generated config gives
each event tenant ``SHOWCASE_USERS``: the administrators and the users whose
sites name the event's location.  A request with a forwarded user not in that
list is refused; a request with none (a public page, or auth off) goes on.
"""

from __future__ import annotations

from collections.abc import Mapping

from twisted.web.iweb import IRequest
from twisted.web.pages import forbidden
from twisted.web.resource import IResource, Resource

REMOTE_USER = "x-remote-user"


def allowed_users(env: Mapping[str, str]) -> frozenset[str] | None:
    """The users named by ``SHOWCASE_USERS``; None when it is not set (everyone)."""
    value = env.get("SHOWCASE_USERS")
    if value is None:
        return None
    return frozenset(name.strip() for name in value.split(",") if name.strip())


class UsersOnly(Resource):
    """``inner``, for requests whose forwarded user (if any) is one of ``users``."""

    def __init__(self, inner: IResource, users: frozenset[str]) -> None:
        super().__init__()
        self.inner = inner
        self.users = users

    def _refused(self, request: IRequest) -> bool:
        user = request.getHeader(REMOTE_USER)
        return user is not None and user not in self.users

    def getChildWithDefault(self, path: bytes, request: IRequest) -> IResource:
        if self._refused(request):
            return forbidden("Forbidden", "You may not open this event's pages.")
        return self.inner.getChildWithDefault(path, request)

    def render(self, request: IRequest) -> bytes:
        if self._refused(request):
            return forbidden("Forbidden", "You may not open this event's pages.").render(request)
        result: bytes = self.inner.render(request)
        return result
