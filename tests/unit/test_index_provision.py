"""Live provisioning with fakes: generate → create this region's database → SIGHUP the router
→ tell the peers → wait for the event, with progress published in order on the user's
``config_update_index_<user>`` stream."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from twisted.internet.defer import Deferred, succeed

from showcase.index.provision import Settings
from tests.indexsupport import PREFIX, ROUTER_PID, IndexClient, fast_directory


@pytest.fixture
def index_dir() -> Iterator[Path]:
    """Where this test's index and event databases live (in memory when possible)."""
    yield from fast_directory()


ADMIN = "admin"


def new_event(c: IndexClient, city: str = "boston", key: str = "showcase") -> tuple[int, str]:
    """Create a 2025 event at ``city`` through the form; status and Location."""
    status, body, location = c.post_form(
        "/showcases/new",
        {"year": "2025", "key": key, "name": f"{city} 25", "location": str(c.ids[city])},
        ADMIN,
    )
    assert status == 303, body[:500]
    return status, location


def database(c: IndexClient, name: str) -> str:
    return os.path.join(c.settings.db_dir, name + ".sqlite3")


def test_steps_run_in_order_and_end_completed_with_the_url(index_dir: Path) -> None:
    """Generate, create the database, SIGHUP the router's pid, check the event, completed."""
    c = IndexClient(index_dir)
    seen_at_kill: list[bool] = []

    def kill(pid: int, signum: int) -> None:
        seen_at_kill.append(os.path.exists(database(c, "2025-boston")))
        c.signals.append((pid, signum))
        c.steps.append("kill")

    c.provisioner.kill = kill
    _, location = new_event(c)
    assert location == f"{PREFIX}/config/progress"
    assert c.generated == ["1"]  # generated after the row was saved
    assert seen_at_kill == [True]  # the database existed before the router reloaded
    assert c.signals == [(ROUTER_PID, signal.SIGHUP)]
    assert c.http.checked == ["http://router.test/showcase/2025/boston/public/current.json"]
    assert c.steps.index("generate") < c.steps.index("kill")
    messages = c.messages(ADMIN)
    assert [m["progress"] for m in messages] == sorted(m["progress"] for m in messages)
    assert all(m["status"] == "processing" for m in messages[:-1])
    assert messages[-1] == {
        "status": "completed",
        "progress": 100,
        "message": "boston 25 is ready.",
        "url": "/showcase/2025/boston/",
    }
    assert "Created 2025-boston.sqlite3." in [m["message"] for m in messages]


def test_new_database_has_the_event_defaults(index_dir: Path) -> None:
    """The created database holds the new event's row (name, location) and defaults."""
    import sqlite3

    c = IndexClient(index_dir)
    new_event(c)
    conn = sqlite3.connect(database(c, "2025-boston"))
    try:
        assert conn.execute("SELECT name, location FROM events").fetchall() == [
            ("boston 25", "Boston")
        ]
        assert conn.execute("SELECT count(*) FROM dances").fetchone()[0] > 0
    finally:
        conn.close()


def test_database_is_created_only_for_this_region(index_dir: Path) -> None:
    """An event of another region gets no database here; it is that region's job."""
    c = IndexClient(index_dir, region="iad")
    new_event(c, "raleigh")  # Raleigh is in ord
    assert not os.path.exists(database(c, "2025-raleigh"))
    assert c.generated == ["1"] and c.signals == [(ROUTER_PID, signal.SIGHUP)]
    assert c.http.checked == []  # nothing to wait for here
    last = c.messages(ADMIN)[-1]
    assert last["status"] == "error"
    assert "region ord" in last["message"]


def test_without_a_region_every_event_is_local(index_dir: Path) -> None:
    """A machine without a region (a single machine) creates every event's database."""
    c = IndexClient(index_dir, region=None)
    new_event(c, "raleigh")
    assert os.path.exists(database(c, "2025-raleigh"))


def test_progress_waits_until_the_event_answers(index_dir: Path) -> None:
    """Completed is published only once the event answers 200 through the router."""
    c = IndexClient(index_dir)
    c.http.statuses = [404, 503, 503]
    new_event(c)
    assert c.messages(ADMIN)[-1]["status"] == "processing"
    for _ in range(3):
        c.clock.advance(c.settings.poll_interval)
    assert len(c.http.checked) == 4
    assert c.messages(ADMIN)[-1]["status"] == "completed"


def test_event_that_never_answers_ends_in_an_error(index_dir: Path) -> None:
    """An event still not answering after the timeout is reported as an error with why."""
    c = IndexClient(index_dir)
    c.http.statuses = [503] * 10_000
    new_event(c)
    c.clock.pump([c.settings.poll_interval] * int(c.settings.ready_timeout / 0.1 + 5))
    last = c.messages(ADMIN)[-1]
    assert last["status"] == "error"
    assert "did not answer" in last["message"]


def test_standalone_has_no_router_to_signal(index_dir: Path) -> None:
    """Without SHOWCASE_ROUTER_PID nothing is signalled or polled; the event is ready."""
    c = IndexClient(index_dir, router_pid=None)
    new_event(c)
    assert c.signals == [] and c.http.checked == []
    assert c.messages(ADMIN)[-1]["status"] == "completed"


def test_a_router_that_is_gone_is_reported(index_dir: Path) -> None:
    """A pid that is no process any more ends the run with an error naming it."""
    c = IndexClient(index_dir)

    def gone(pid: int, signum: int) -> None:
        raise ProcessLookupError(pid)

    c.provisioner.kill = gone
    new_event(c)
    last = c.messages(ADMIN)[-1]
    assert last["status"] == "error" and str(ROUTER_PID) in last["message"]


def test_a_failing_generator_stops_before_the_reload(index_dir: Path) -> None:
    """When generating fails the router is not signalled and the error is reported."""

    def broken() -> None:
        raise RuntimeError("disk full")

    c = IndexClient(index_dir, generate=broken)
    new_event(c)
    assert c.signals == []
    last = c.messages(ADMIN)[-1]
    assert last["status"] == "error" and "disk full" in last["message"]
    assert not os.path.exists(database(c, "2025-boston"))


def test_runs_are_serialised(index_dir: Path) -> None:
    """A second change waits for the first run's generation to finish before its own."""
    c = IndexClient(index_dir)
    pending: list[Deferred[Any]] = []

    def in_thread(work: Any) -> Deferred[Any]:
        d: Deferred[Any] = Deferred()
        pending.append(d)
        d.addCallback(lambda _: work())
        return d

    c.provisioner.in_thread = in_thread
    first = c.provisioner.provision("config_update_index_1")
    second = c.provisioner.provision("config_update_index_2")
    assert len(pending) == 1  # the second waits for the lock
    while pending:
        pending.pop(0).callback(None)
    assert c.steps.count("generate") == 2
    assert first.called and second.called


def test_progress_page_shows_the_latest_state(index_dir: Path) -> None:
    """The progress page (and its JSON) carry the user's last message, for a late subscriber."""
    c = IndexClient(index_dir)
    new_event(c)
    status, body, _ = c.get("/config/progress", ADMIN)
    assert status == 200
    assert f"config_update_index_{c.ids[ADMIN]}" in body
    assert 'href="/showcase/2025/boston/"' in body
    status, body, _ = c.get("/config/progress.json", ADMIN)
    assert '"status":"completed"' in body


# -- several machines ------------------------------------------------------------------------

TOKEN = "s3cret-token"


def bearer(token: str = TOKEN) -> dict[bytes, list[bytes]]:
    return {b"authorization": [b"Bearer " + token.encode()]}


def linked(index_dir: Path) -> tuple[IndexClient, IndexClient]:
    """An admin machine in iad whose peer (ord) takes updates through its real endpoint."""
    admin = IndexClient(index_dir, region="iad", peers=("http://ord.test/showcase",), token=TOKEN)
    peer = IndexClient(index_dir, region="ord", token=TOKEN, name="peer")

    def post(url: str, body: bytes, headers: dict[bytes, list[bytes]]) -> Deferred[Any]:
        assert url == "http://ord.test/showcase/config/update"
        status, answer = peer.post_body("/config/update", body, headers)
        import json

        return succeed((status, json.dumps(answer).encode()))

    admin.http.peer = post
    return admin, peer


def test_peers_get_the_index_and_create_their_own_databases(index_dir: Path) -> None:
    """A Raleigh event made in iad is sent to ord, which creates its database and reloads."""
    admin, peer = linked(index_dir)
    new_event(admin, "raleigh")
    assert peer.count("showcases") == 1  # the peer's index was replaced by the admin's
    assert os.path.exists(database(peer, "2025-raleigh"))
    assert not os.path.exists(database(admin, "2025-raleigh"))
    assert peer.steps.count("generate") == 1 and peer.signals == [(ROUTER_PID, signal.SIGHUP)]
    messages = [m["message"] for m in admin.messages(ADMIN)]
    assert "http://ord.test/showcase: updated (region ord, 1 events)" in messages
    assert admin.messages(ADMIN)[-1]["status"] == "completed"
    assert admin.messages(ADMIN)[-1]["url"] == "/showcase/2025/raleigh/"


def test_an_unreachable_peer_is_reported(index_dir: Path) -> None:
    """A peer that cannot be reached is named in a progress message; local events complete."""
    c = IndexClient(index_dir, peers=("http://down.test",), token=TOKEN)
    new_event(c)
    messages = [m["message"] for m in c.messages(ADMIN)]
    assert any(m.startswith("http://down.test: unreachable") for m in messages)
    assert c.messages(ADMIN)[-1]["status"] == "completed"


def test_update_endpoint_is_absent_without_a_token(index_dir: Path) -> None:
    """Without a configured token POST config/update is 404 and nothing changes."""
    c = IndexClient(index_dir)
    status, _ = c.post_body("/config/update", c.db.conn.serialize(), bearer())
    assert status == 404
    assert c.generated == []


@pytest.mark.parametrize("headers", [{}, bearer("wrong"), {b"authorization": [b"Basic eDp5"]}])
def test_update_endpoint_refuses_a_wrong_token(
    index_dir: Path, headers: dict[bytes, list[bytes]]
) -> None:
    """A missing or wrong Bearer token is 401 and the index is not replaced."""
    c = IndexClient(index_dir, token=TOKEN)
    other = IndexClient(index_dir, name="other")
    with other.db.transaction():
        other.db.execute("DELETE FROM users")
    status, _ = c.post_body("/config/update", other.db.conn.serialize(), headers)
    assert status == 401
    assert c.count("users") == 3 and c.generated == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not a database at all",
        b"SQLite format 3\x00" + b"\x10\x00" + b"\x00" * 200,
    ],
)
def test_corrupt_upload_is_refused_and_nothing_replaced(index_dir: Path, body: bytes) -> None:
    """A body that is not a sound SQLite database is 422; the index and config stay."""
    c = IndexClient(index_dir, token=TOKEN)
    before = c.db.conn.serialize()
    status, answer = c.post_body("/config/update", body, bearer())
    assert status == 422, answer
    assert answer["status"] == "error"
    assert c.db.conn.serialize() == before
    assert c.generated == [] and c.signals == []
    assert sorted(os.listdir(c.settings.db_dir)) == ["index.sqlite3", *_wal(c)]


def _wal(c: IndexClient) -> list[str]:
    return sorted(n for n in os.listdir(c.settings.db_dir) if n.startswith("index.sqlite3-"))


def test_upload_of_another_kind_of_database_is_refused(index_dir: Path) -> None:
    """A sound SQLite file without the index tables (an event database) is refused."""
    import sqlite3

    c = IndexClient(index_dir, token=TOKEN)
    other = sqlite3.connect(":memory:")
    other.execute("CREATE TABLE events (id integer)")
    status, answer = c.post_body("/config/update", other.serialize(), bearer())
    assert status == 422
    assert "locations" in answer["message"]
    assert c.count("users") == 3


def test_update_replaces_the_index_and_applies_it(index_dir: Path) -> None:
    """A sound upload replaces the index, then generate, create and reload run; JSON answer."""
    c = IndexClient(index_dir, token=TOKEN, region="iad")
    source = IndexClient(index_dir, name="source")
    new_event(source)
    status, answer = c.post_body("/config/update", source.db.conn.serialize(), bearer())
    assert status == 200
    assert answer == {
        "status": "ok",
        "region": "iad",
        "events": 1,
        "created": ["2025-boston.sqlite3"],
    }
    assert c.count("showcases") == 1
    assert c.steps[:2] == ["generate", "kill"]
    assert os.path.exists(database(c, "2025-boston"))


def test_settings_name_events_local_to_their_region() -> None:
    """(Settings) an event is local when the machine has no region or the same one."""
    from showcase.index.db import EventName

    event = EventName(1, 2025, "boston", None, "B", None, "Boston", "iad")
    assert Settings(region=None).local(event)
    assert Settings(region="iad").local(event)
    assert not Settings(region="ord").local(event)
    assert Settings(root_path="/showcase").url(event) == "/showcase/2025/boston/"
