"""Fly-Replay answers for ``routes.fly.replay`` rules (spec/fly-replay.md)."""

from __future__ import annotations

import json

from showcase.config.model import FlyReplay

from .message import Reply, RequestHead

MAX_REPLAY_BODY = 1024 * 1024
_BODY_METHODS = frozenset({b"POST", b"PUT", b"PATCH"})


def eligible(head: RequestHead) -> bool:
    """Can Fly's proxy replay this request (small, known-length body)?"""
    length = head.header(b"content-length")
    if length is not None:
        return length.isdigit() and int(length) < MAX_REPLAY_BODY
    return head.method not in _BODY_METHODS


def is_retry(head: RequestHead) -> bool:
    """Was this request already replayed once (a loop if replayed again)?"""
    retry = head.header(b"x-navigator-retry")
    return head.header(b"fly-replay-failed") is not None or (
        retry is not None and retry.lower() == b"true"
    )


def answer(rule: FlyReplay, head: RequestHead, this_app: str | None) -> Reply:
    """The replay instruction for ``rule``."""
    transform_headers = [{"name": "X-Navigator-Retry", "value": "true"}]
    auth = head.header(b"authorization")
    if auth is not None:
        transform_headers.append({"name": "Authorization", "value": auth.decode("latin-1")})
    hard = {
        "timeout": "30s",
        "fallback": "force_self",
        "transform": {"set_headers": transform_headers},
    }
    body: dict[str, object]
    if rule.machine is not None:
        body = {"app": rule.app or this_app or "", "instance": rule.machine, **hard}
        target = f"machine={rule.machine}"
    elif rule.region is not None:
        body = {"region": rule.region, **hard}
        target = f"region={rule.region}"
    else:
        body = {"app": rule.app}
        target = f"app={rule.app}"
    return Reply(
        rule.status,
        ((b"content-type", b"application/vnd.fly.replay+json"),),
        json.dumps(body).encode(),
        kind="fly-replay",
        destination=target,
    )
