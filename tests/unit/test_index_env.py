"""How the index tenant reads its environment, and where its progress page subscribes.

The generated router config puts the index tenant at ``<root>/``, so its cable path
``<root>/cable`` is also the root's: there, with auth on, a connection may subscribe to
the index's own streams (``config_update_index_<user>``) and every public stream.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from routerfakes import bare_exchange, request

from showcase.cable.streams import NOT_PUBLIC, OTHER_TENANT
from showcase.config import load_config
from showcase.event.db import insert_row
from showcase.index.__main__ import router_url, settings_from_env, update_token
from showcase.index.access import hash_password
from showcase.index.db import open_index
from showcase.index.gen_options import GenerateOptions
from showcase.index.generate import generate
from showcase.router.auth import Authenticator
from showcase.router.dispatch import Dispatcher, ToHub
from showcase.router.htpasswd import Htpasswd


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"SHOWCASE_ROUTER_URL": "http://10.0.0.2:8080/"}, "http://10.0.0.2:8080"),
        ({"SHOWCASE_LISTEN": "tcp:9999"}, "http://127.0.0.1:9999"),
        ({"SHOWCASE_LISTEN": "9999"}, "http://127.0.0.1:9999"),
        ({"SHOWCASE_LISTEN": "tcp:port=8000:interface=127.0.0.2"}, "http://127.0.0.2:8000"),
        ({"SHOWCASE_LISTEN": "tcp:8000:interface=0.0.0.0"}, "http://127.0.0.1:8000"),
        ({"SHOWCASE_LISTEN": "tcp6:8000:interface=\\:\\:1"}, "http://[::1]:8000"),
        ({"SHOWCASE_LISTEN": "unix:/run/showcase.sock"}, None),
        ({"SHOWCASE_LISTEN": "tcp:0"}, None),
        ({}, None),
    ],
)
def test_router_url(env: dict[str, str], expected: str | None) -> None:
    """The router is checked at SHOWCASE_ROUTER_URL, else on loopback at SHOWCASE_LISTEN's port."""
    assert router_url(env) == expected


def test_update_token_from_env_or_file(tmp_path: Path) -> None:
    """The update token is SHOWCASE_UPDATE_TOKEN, else the first line of the token file."""
    token_file = tmp_path / "token"
    token_file.write_text("from-file\nignored\n")
    assert update_token({"SHOWCASE_UPDATE_TOKEN": "direct"}) == "direct"
    assert update_token({"SHOWCASE_UPDATE_TOKEN_FILE": str(token_file)}) == "from-file"
    assert update_token({}) is None


def test_settings_from_env() -> None:
    """Router pid, peers and root path come from the tenant's environment."""
    settings = settings_from_env(
        {
            "SHOWCASE_ROUTER_PID": "123",
            "SHOWCASE_PEERS": "http://a.test/showcase, http://b.test/showcase,",
            "SHOWCASE_ROOT_PATH": "/showcase/",
            "SHOWCASE_LISTEN": "tcp:9999",
        },
        "/data/db",
        "iad",
    )
    assert settings.router_pid == 123
    assert settings.peers == ("http://a.test/showcase", "http://b.test/showcase")
    assert settings.root_path == "/showcase"
    assert settings.router_url == "http://127.0.0.1:9999"
    assert (settings.db_dir, settings.region, settings.token) == ("/data/db", "iad", None)


def generated_dispatcher(tmp_path: Path) -> Dispatcher:
    """The router's dispatcher over the config the real generator writes for an index."""
    (tmp_path / "db").mkdir()
    (tmp_path / "public").mkdir()
    db = open_index(str(tmp_path / "db" / "index.sqlite3"))
    with db.transaction():
        loc = insert_row(db.conn, "locations", name="Boston", key="boston")
        insert_row(db.conn, "showcases", year=2025, key="showcase", name="B", location_id=loc)
        insert_row(db.conn, "users", userid="admin", password=hash_password("pw", 4), sites="index")
    db.close()
    options = GenerateOptions(
        db_dir=str(tmp_path / "db"),
        out=str(tmp_path / "config"),
        public_dir=str(tmp_path / "public"),
    )
    generate(options, warn=lambda message: None)
    config = load_config(options.config_path)
    assert config.auth.htpasswd is not None
    return Dispatcher(config, Authenticator(config.auth, Htpasswd(config.auth.htpasswd)))


def test_root_cable_carries_the_index_progress_stream(tmp_path: Path) -> None:
    """On <root>/cable a signed-in admin may follow config_update_index_<user> and public
    streams, not another tenant's progress."""
    dispatcher = generated_dispatcher(tmp_path)
    auth = (b"authorization", b"Basic " + base64.b64encode(b"admin:pw"))
    decision = dispatcher.decide(bare_exchange(request("/showcase/cable", headers=(auth,))))
    assert isinstance(decision, ToHub)
    from showcase.cable.streams import Scope

    scope = Scope(decision.tenant_db, decision.every_tenant, decision.with_public)
    assert scope.refusal("config_update_index_1") is None
    assert scope.refusal("current-heat-2025-boston") is None
    assert scope.refusal("config_update_2025-boston_1") == OTHER_TENANT


def test_event_cable_keeps_its_own_scope(tmp_path: Path) -> None:
    """An event's own cable path stays scoped to that event."""
    dispatcher = generated_dispatcher(tmp_path)
    decision = dispatcher.decide(bare_exchange(request("/showcase/2025/boston/cable")))
    assert isinstance(decision, ToHub)
    assert (decision.tenant_db, decision.with_public) == ("2025-boston", False)
    from showcase.cable.streams import Scope

    assert Scope(decision.tenant_db).refusal("live-scores-2025-other") == OTHER_TENANT
    assert Scope(None).refusal("config_update_index_1") == NOT_PUBLIC
