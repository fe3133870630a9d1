"""A real logger instance and two real routers shipping to it (``twistd -n showcase``):
lines arrive in order per router, survive the logger's restart exactly once, and the
browse page filters them over HTTP."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from .routerproc import Router, free_port, wait_for

pytestmark = pytest.mark.integration

SECRET = "s3cret"
BASIC = "Basic " + base64.b64encode(b"alice:pw").decode()


class PinnedRouter(Router):
    """A router on a port the test picks, so a logger can come back on the same one."""

    def __init__(self, directory: Path, config: str, port: int) -> None:
        directory.mkdir()
        super().__init__(directory, config, listen=f"tcp:{port}:interface=127.0.0.1")


def logger_config(tmp: Path) -> str:
    digest = base64.b64encode(hashlib.sha1(b"pw").digest()).decode()
    (tmp / "htpasswd").write_text(f"alice:{{SHA}}{digest}\n")
    return (
        "server:\n  listen: 0\n"
        "cable:\n  enabled: false\n"
        f"auth:\n  enabled: true\n  htpasswd: {tmp / 'htpasswd'}\n"
        f"logger:\n  dir: {tmp / 'logs'}\n  secret: {SECRET}\n"
    )


def shipping_config(tmp: Path, name: str, port: int) -> str:
    (tmp / "public").mkdir(exist_ok=True)
    return (
        f"server:\n  listen: 0\n  hostname: {name}\n"
        "cable:\n  enabled: false\n"
        "logging:\n  logger:\n"
        f"    url: http://127.0.0.1:{port}/logs\n"
        f"    secret: {SECRET}\n"
        f"    buffer_dir: {tmp / 'buffer'}\n"
    )


@pytest.fixture
def started() -> Iterator[list[Router]]:
    """Every process a test starts; all stopped afterwards, the shipping routers first (a
    router's stop sends its last lines, waiting up to 2 s for a logger that is gone)."""
    processes: list[Router] = []
    yield processes
    for process in sorted(processes, key=lambda p: isinstance(p, PinnedRouter)):
        process.stop()


def request_ids(logs: Path, machine: str) -> list[str]:
    """The request ids of ``machine``'s access lines in the day files, in file order."""
    found = []
    for day in sorted(logs.glob("*.log")):
        for raw in day.read_text().splitlines():
            record = json.loads(raw)
            if record.get("machine") == machine and "uri" in record:
                rid = record["request_id"]
                if rid.startswith(("a-", "b-")):
                    found.append(rid)
    return found


def test_two_routers_ship_through_a_logger_restart_exactly_once_in_order(
    tmp_path: Path, started: list[Router]
) -> None:
    """Access lines from two routers reach the logger in order per router; while the logger
    is stopped they wait in each router's buffer, and after a new logger starts on the same
    directory and port every line is there exactly once, in order.  The browse page then
    filters by request id, machine, level and text over HTTP, behind Basic auth."""
    port = free_port()
    logger_dir = tmp_path / "logger"
    logger_dir.mkdir()
    logs = logger_dir / "logs"
    config = logger_config(logger_dir)
    logger = PinnedRouter(logger_dir / "run-1", config, port)
    started.append(logger)
    routers = {}
    for name in ("router-a", "router-b"):
        directory = tmp_path / name
        directory.mkdir()
        routers[name] = Router(directory, shipping_config(directory, name, port))
        started.append(routers[name])
    sent: dict[str, list[str]] = {"router-a": [], "router-b": []}

    def make_requests(count: int) -> None:
        for _ in range(count):
            for name, router in routers.items():
                rid = f"{name[-1]}-{len(sent[name]):03d}"
                status, _, _ = router.get(f"/r/{rid}", headers={"X-Request-Id": rid})
                assert status == 404
                sent[name].append(rid)

    def all_arrived() -> bool:
        return all(request_ids(logs, name) == ids for name, ids in sent.items())

    make_requests(15)
    wait_for(all_arrived, 15, "the first lines to arrive")

    logger.stop()
    make_requests(15)  # the logger is down: these wait in the routers' buffers
    logger = PinnedRouter(logger_dir / "run-2", config, port)
    started.append(logger)
    make_requests(10)
    wait_for(all_arrived, 30, "every line after the logger's restart")
    for name, ids in sent.items():
        assert request_ids(logs, name) == ids  # once each, in order
        assert len(ids) == 40

    def page(query: str, auth: str | None = BASIC) -> tuple[int, str]:
        status, _, body = logger.get(f"/logs/?{query}", {"Authorization": auth} if auth else {})
        return status, body.decode()

    assert page("", auth=None)[0] == 401
    status, body = page("request_id=a-007")
    assert status == 200
    assert "/r/a-007" in body and "/r/a-006" not in body and "/r/b-007" not in body
    _, body = page("machine=router-b&q=/r/b-00")
    assert all(f"/r/b-00{i}" in body for i in range(10))
    assert "/r/b-010" not in body and "/r/a-00" not in body
    _, body = page("machine=router-a&q=listening")
    assert "showcase listening" in body
    _, body = page("machine=router-a&q=listening&level=warn")
    assert "showcase listening" not in body
    _, body = page("machine=router-a&level=warn&q=/r/a-039")
    assert "/r/a-039" in body
