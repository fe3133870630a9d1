"""``showcase config generate``: the index database in, showcases.yml, htpasswd, the router
config and the maintenance config out (golden files under ``tests/unit/golden/``)."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import string
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from showcase import cli
from showcase.config import load_config, parse_config
from showcase.index import generate as gen
from showcase.index.gen_catalog import choose_region
from showcase.index.gen_files import GenerateError, Output, write_outputs
from showcase.index.gen_options import GenerateOptions, options_from_args
from showcase.index.gen_text import PACKAGED_MAINTENANCE_PAGE

GOLDEN = Path(__file__).parent / "golden"
SCHEMA = Path(gen.__file__).parent / "schema.sql"
NOW = "2025-01-01 00:00:00"
ALICE_HASH = "$2y$04$wJ3/Ztb9N9wK4yHWWYX.Z.EPvfRop1ErbSkQS2dqnSkQdl8cgOdYm"
CAROL_HASH = "{SHA}hsAaMBat8aKiQgxhKhAqvbXOPbw="
FILES = ("db/showcases.yml", "config/htpasswd", "config/showcase.yml", "config/maintenance.yml")


def insert(conn: sqlite3.Connection, table: str, **values: Any) -> None:
    values = {"created_at": NOW, "updated_at": NOW, **values}
    columns = ", ".join(f'"{name}"' for name in values)
    marks = ", ".join("?" for _ in values)
    conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(values.values()))


def empty_index(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA.read_text())
    return conn


def build_index(path: Path) -> None:
    """2 regions, 3 locations (one with a single ``showcase`` event, one with several, one
    placed by its coordinates), users with a bcrypt hash, a {SHA} hash, plain text, none."""
    conn = empty_index(path)
    insert(conn, "regions", code="iad", type="fly", latitude=38.94, longitude=-77.46)
    insert(conn, "regions", code="ewr", type="fly", latitude=40.69, longitude=-74.17)
    insert(conn, "locations", id=1, key="boston", name="Boston", region="iad", locale="en_US")
    insert(conn, "locations", id=2, key="raleigh", name="Raleigh", region="ewr", logo="raleigh.png")
    insert(
        conn,
        "locations",
        id=3,
        key="barcelona",
        name="Barcelona: Sant Martí",
        locale="es_ES",
        latitude=41.39,
        longitude=2.17,
    )
    insert(
        conn, "showcases", year=2025, key="showcase", name="Boston Showcase",
        date="2025-04-12", location_id=1,
    )  # fmt: skip
    insert(conn, "showcases", year=2025, key="disney", name="Disney Nights", order=2, location_id=2)
    insert(
        conn, "showcases", year=2025, key="spring", name="Spring Fling", order=1,
        date="2025-03-01", location_id=2,
    )  # fmt: skip
    insert(
        conn, "showcases", year=2024, key="showcase", name="Showcase",
        date="2024-11-02 - 2024-11-03", location_id=3,
    )  # fmt: skip
    insert(
        conn, "showcases", year=2026, key="april", name="Abril", order=1,
        date="2026-04-18", location_id=3,
    )  # fmt: skip
    insert(conn, "users", userid="carol", password=CAROL_HASH, sites="index")
    insert(conn, "users", userid="bob", password="hunter2-plain", sites="boston")
    insert(conn, "users", userid="alice", password=ALICE_HASH, sites="index")
    insert(conn, "users", userid="dave", sites="raleigh")
    conn.commit()
    conn.close()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A site directory: db/index.sqlite3 built as above, public/ with its own 503 page."""
    build_index(tmp_path / "db" / "index.sqlite3")
    (tmp_path / "public").mkdir()
    shutil.copy(PACKAGED_MAINTENANCE_PAGE, tmp_path / "public" / "503.html")
    return tmp_path


def options(site: Path, **changes: Any) -> GenerateOptions:
    values: dict[str, Any] = {
        "db_dir": str(site / "db"),
        "out": str(site / "config"),
        "public_dir": str(site / "public"),
        "region": "iad",
        "appliance_app": "smooth-pdf",
        **changes,
    }
    return GenerateOptions(**values)


def golden(name: str, site: Path) -> str:
    text = (GOLDEN / name).read_text(encoding="utf-8")
    return text.replace("{tmp}", str(site)).replace("{python}", sys.executable)


def cli_args(site: Path, *extra: str) -> list[str]:
    return [
        "config", "generate", "--db-dir", str(site / "db"), "--out", str(site / "config"),
        "--public-dir", str(site / "public"), "--region", "iad", *extra,
    ]  # fmt: skip


def stamps(site: Path) -> dict[str, tuple[bytes, int]]:
    """Content and mtime of each generated file that exists."""
    found = {}
    for name in FILES:
        path = site / name
        if path.exists():
            found[name] = (path.read_bytes(), path.stat().st_mtime_ns)
    return found


# -- golden files -----------------------------------------------------------------------


def test_writes_every_file_as_the_golden_files_say(site: Path) -> None:
    """One run writes showcases.yml, htpasswd, showcase.yml and maintenance.yml, each
    exactly as its golden file."""
    written = gen.generate(options(site), warn=lambda message: None)
    assert written == [str(site / name) for name in FILES]
    for name in FILES:
        assert (site / name).read_text(encoding="utf-8") == golden(Path(name).name, site), name


def test_showcases_yaml_is_a_function_of_the_connection(site: Path) -> None:
    """``showcases_yaml(conn)`` gives the golden showcases.yml from an open connection."""
    conn = sqlite3.connect(site / "db" / "index.sqlite3")
    try:
        text = gen.showcases_yaml(conn, warn=lambda message: None)
    finally:
        conn.close()
    assert text == golden("showcases.yml", site)


def test_plain_text_password_is_left_out_with_a_warning(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A password that is not a hash is not written anywhere; stderr names the user only."""
    assert cli.main(cli_args(site)) == 0
    err = capsys.readouterr().err
    assert "'bob'" in err and "not a recognised hash" in err
    assert "hunter2" not in err
    for name in FILES:
        assert b"hunter2" not in (site / name).read_bytes()
    assert not re.search(r"^(bob|dave):", (site / "config/htpasswd").read_text(), re.M)


def test_router_config_passes_config_check(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``showcase config check`` accepts both generated router configs."""
    gen.generate(options(site), warn=lambda message: None)
    paths = [str(site / "config/showcase.yml"), str(site / "config/maintenance.yml")]
    assert cli.main(["config", "check", *paths]) == 0
    assert "showcase.yml: ok (3 tenants)" in capsys.readouterr().out


# -- determinism and replacing --------------------------------------------------------------


def test_second_run_rewrites_nothing(site: Path) -> None:
    """The same index gives the same bytes; an unchanged file keeps its mtime."""
    assert len(gen.generate(options(site), warn=lambda message: None)) == 4
    before = stamps(site)
    assert gen.generate(options(site), warn=lambda message: None) == []
    assert stamps(site) == before


def test_a_change_rewrites_only_the_files_it_changes(site: Path) -> None:
    """A new user rewrites htpasswd only; the other files keep their bytes and mtime."""
    gen.generate(options(site), warn=lambda message: None)
    before = stamps(site)
    conn = sqlite3.connect(site / "db/index.sqlite3")
    insert(conn, "users", userid="erin", password=CAROL_HASH)
    conn.commit()
    conn.close()
    assert gen.generate(options(site), warn=lambda message: None) == [str(site / "config/htpasswd")]
    after = stamps(site)
    assert (
        after["config/htpasswd"][0].startswith(b"alice:")
        and b"\nerin:" in after["config/htpasswd"][0]
    )
    for name in FILES[:1] + FILES[2:]:
        assert after[name] == before[name]


def test_missing_table_exits_1_and_replaces_nothing(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An index without a ``showcases`` table: exit 1, a one-line reason, old files kept."""
    assert cli.main(cli_args(site)) == 0
    before = stamps(site)
    conn = sqlite3.connect(site / "db/index.sqlite3")
    conn.execute("DROP TABLE showcases")
    conn.commit()
    conn.close()
    capsys.readouterr()
    assert cli.main(cli_args(site)) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such table: showcases" in err
    assert stamps(site) == before


def test_missing_index_exits_1_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No index database: exit 1 naming it; no database or config file is created."""
    assert cli.main(cli_args(tmp_path)) == 1
    assert "index.sqlite3 does not exist" in capsys.readouterr().err
    assert not (tmp_path / "db").exists() and not (tmp_path / "config").exists()


def test_a_file_that_is_not_a_database_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An index file that is not SQLite: exit 1 with the reason, nothing written."""
    (tmp_path / "db").mkdir()
    (tmp_path / "db/index.sqlite3").write_bytes(b"not a database, just text\n" * 100)
    assert cli.main(cli_args(tmp_path)) == 1
    assert "not a database" in capsys.readouterr().err
    assert not (tmp_path / "config").exists()


def test_a_failed_check_replaces_no_file(tmp_path: Path) -> None:
    """When one output fails its check, no output replaces its old file, no temp is left."""
    first, second = tmp_path / "first.txt", tmp_path / "second.txt"
    first.write_text("old first\n")
    second.write_text("old second\n")

    def refuse(temp: str, text: str) -> None:
        raise GenerateError("refused")

    outputs = [
        Output(str(first), "new first\n", lambda temp, text: None),
        Output(str(second), "new second\n", refuse),
    ]
    with pytest.raises(GenerateError, match="refused"):
        write_outputs(outputs)
    assert first.read_text() == "old first\n" and second.read_text() == "old second\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first.txt", "second.txt"]


def test_bad_options_are_usage_errors(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A root path without a leading slash is bad usage: exit 2, nothing written."""
    assert cli.main(cli_args(site, "--root-path", "showcase")) == 2
    assert "must start with '/'" in capsys.readouterr().err
    assert stamps(site) == {}


# -- regions and replay -------------------------------------------------------------------------


def tenant_paths(site: Path) -> list[str]:
    config = load_config(str(site / "config/showcase.yml"))
    return [tenant.path for tenant in config.applications.tenants]


def test_without_a_region_every_event_is_served_here(site: Path) -> None:
    """No region: a tenant for every event, and no region replay rules."""
    gen.generate(options(site, region=None, appliance_app=None), warn=lambda message: None)
    assert tenant_paths(site) == [
        "/showcase/",
        "/showcase/demo/",
        "/showcase/2024/barcelona/",
        "/showcase/2025/boston/",
        "/showcase/2025/raleigh/spring/",
        "/showcase/2025/raleigh/disney/",
        "/showcase/2026/barcelona/april/",
    ]
    config = load_config(str(site / "config/showcase.yml"))
    assert config.routes.fly.replay == ()


def test_another_region_serves_its_own_events_and_replays_the_rest(site: Path) -> None:
    """Region ewr (also Barcelona's, the nearest to its coordinates) serves Raleigh and
    Barcelona; Boston is replayed to iad, for its bare path and everything below it."""
    gen.generate(options(site, region="ewr", appliance_app=None), warn=lambda message: None)
    assert tenant_paths(site) == [
        "/showcase/",
        "/showcase/demo/",
        "/showcase/2024/barcelona/",
        "/showcase/2025/raleigh/spring/",
        "/showcase/2025/raleigh/disney/",
        "/showcase/2026/barcelona/april/",
    ]
    (rule,) = load_config(str(site / "config/showcase.yml")).routes.fly.replay
    assert rule.region == "iad" and rule.app is None
    for path in ("/showcase/2025/boston", "/showcase/2025/boston/", "/showcase/2025/boston/heats"):
        assert rule.path.search(path), path
    for path in ("/showcase/2025/bostonian/", "/showcase/2024/boston/", "/showcase/x.pdf"):
        assert not rule.path.search(path), path


def test_appliance_rule_comes_first_and_matches_pdfs(site: Path) -> None:
    """With an appliance app, ``.pdf`` requests are replayed to it before any region rule."""
    gen.generate(options(site), warn=lambda message: None)
    rules = load_config(str(site / "config/showcase.yml")).routes.fly.replay
    assert rules[0].app == "smooth-pdf" and rules[0].region is None
    assert rules[0].path.search("/showcase/2025/boston/heats.pdf")
    assert not rules[0].path.search("/showcase/2025/boston/heats.pdf.html")
    assert all(rule.region == "ewr" for rule in rules[1:])


def test_explicit_region_not_in_the_regions_table_falls_back_to_the_nearest() -> None:
    """A location whose region is unknown goes to the nearest known region; without
    coordinates (or without any known region) its own value stays."""
    regions = {"iad": (38.94, -77.46), "ewr": (40.69, -74.17), "cdg": (49.0, 2.55)}
    assert choose_region("iad", 41.39, 2.17, regions) == "iad"
    assert choose_region("mad", 41.39, 2.17, regions) == "cdg"
    assert choose_region(None, 40.0, -75.0, regions) == "ewr"
    assert choose_region("mad", None, None, regions) == "mad"
    assert choose_region("mad", 41.39, 2.17, {}) == "mad"
    assert choose_region(None, None, None, regions) is None


def test_rows_that_cannot_be_served_are_skipped_with_a_warning(site: Path) -> None:
    """A location key with a slash, an event key with a space and a duplicate event are
    left out with a warning each; the rest is generated."""
    conn = sqlite3.connect(site / "db/index.sqlite3")
    insert(conn, "locations", id=4, key="new/york", name="New York", region="iad")
    insert(conn, "showcases", year=2025, key="fall show", location_id=1)
    insert(conn, "showcases", year=2025, key="spring", name="Again", location_id=2)
    conn.commit()
    conn.close()
    warnings: list[str] = []
    gen.generate(options(site), warn=warnings.append)
    assert len(warnings) == 4, warnings  # + bob's password
    assert any("'new/york'" in w for w in warnings)
    assert any("'fall show'" in w for w in warnings)
    assert any("2025/raleigh/spring exists already" in w for w in warnings)
    assert (site / "db/showcases.yml").read_text() == golden("showcases.yml", site)


# -- options, hooks and the environment the admin app reads -------------------------------------


def test_index_tenant_env_gives_back_the_same_options(site: Path) -> None:
    """The index tenant's env holds exactly the keys the admin app needs, and
    ``GenerateOptions.from_env`` of it gives back the options that wrote it."""
    given_options = options(site, backup=True, print_token_file=str(site / "token"))
    gen.generate(given_options, warn=lambda message: None)
    index = load_config(str(site / "config/showcase.yml")).applications.tenants[0]
    env = dict(index.env)
    assert index.command == (sys.executable, "-m", "showcase.index")
    assert set(env) == {
        "SHOWCASE_DB", "SHOWCASE_DB_DIR", "SHOWCASE_CONFIG_OUT", "SHOWCASE_REGION",
        "SHOWCASE_ROOT_PATH", "SHOWCASE_LISTEN", "SHOWCASE_PUBLIC_DIR",
        "SHOWCASE_APPLIANCE_APP", "SHOWCASE_PRINT_TOKEN_FILE", "SHOWCASE_BACKUP",
    }  # fmt: skip
    assert GenerateOptions.from_env(env) == given_options


def test_ready_hook_regenerates_with_the_same_options(site: Path) -> None:
    """The maintenance config's ready hook runs ``config generate`` with arguments that
    parse back to the very same options, then reloads into showcase.yml."""
    given_options = options(site, region=None, backup=True, root_path="")
    gen.generate(given_options, warn=lambda message: None)
    config = load_config(str(site / "config/maintenance.yml"))
    assert config.maintenance.enabled
    (hook,) = config.hooks.server.ready
    assert hook.command == sys.executable and hook.args[:2] == ("-m", "showcase.cli")
    assert hook.reload_config == str(site / "config/showcase.yml")
    assert hook.timeout == 300
    args = cli.parser().parse_args(list(hook.args[2:]))
    assert args.run is gen.run
    assert options_from_args(args) == given_options


def test_backup_hooks_only_with_backup(site: Path) -> None:
    """``--backup`` adds a stop hook per event tenant (its database only) and a server idle
    hook (every database); without it there are no hooks in the full config."""
    gen.generate(options(site, region=None), warn=lambda message: None)
    config = load_config(str(site / "config/showcase.yml"))
    assert config.hooks.server.idle == ()
    assert all(tenant.hooks.stop == () for tenant in config.applications.tenants)
    gen.generate(options(site, region=None, backup=True), warn=lambda message: None)
    config = load_config(str(site / "config/showcase.yml"))
    backup = ("-m", "showcase.cli", "backup", "--db-dir", str(site / "db"))
    (idle,) = config.hooks.server.idle
    assert idle.args == backup
    stops = {tenant.name: tenant.hooks.stop for tenant in config.applications.tenants}
    assert stops["index"] == () and stops["demo"] == ()
    (stop,) = stops["2025-raleigh-spring"]
    assert stop.args == (*backup, "--only", "2025-raleigh-spring")


def test_event_tenants_get_database_scope_owner_and_token_file(site: Path) -> None:
    """Each event tenant's env names its database, scope and owner (and the print token
    file when one is given); the demo is populated as the demo."""
    token = str(site / "print-token")
    gen.generate(options(site, region="ewr", print_token_file=token), warn=lambda message: None)
    tenants = {t.name: dict(t.env) for t in load_config(str(site / "config/showcase.yml"))
               .applications.tenants}  # fmt: skip
    assert tenants["2026-barcelona-april"] == {
        "SHOWCASE_DB": str(site / "db/2026-barcelona-april.sqlite3"),
        "SHOWCASE_SCOPE": "2026/barcelona/april",
        "SHOWCASE_OWNER": "Barcelona: Sant Martí",
        "SHOWCASE_PRINT_TOKEN_FILE": token,
    }
    assert tenants["demo"]["SHOWCASE_POPULATE"] == "demo"


def test_maintenance_only_needs_no_index(tmp_path: Path) -> None:
    """``--maintenance-only`` writes maintenance.yml alone, with no index database."""
    assert cli.main(cli_args(tmp_path, "--maintenance-only")) == 0
    assert sorted(os.listdir(tmp_path / "config")) == ["maintenance.yml"]
    assert not (tmp_path / "db").exists()


def test_packaged_503_page_when_the_public_dir_has_none(tmp_path: Path) -> None:
    """Without ``<public_dir>/503.html`` the maintenance page is the packaged
    auto-refreshing one."""
    assert cli.main(cli_args(tmp_path, "--maintenance-only")) == 0
    config = load_config(str(tmp_path / "config/maintenance.yml"))
    assert os.path.samefile(config.maintenance_page(), PACKAGED_MAINTENANCE_PAGE)
    assert 'http-equiv="refresh"' in Path(config.maintenance_page()).read_text()


# -- names round-trip ------------------------------------------------------------------------

NAMES = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40).filter(
    lambda name: name.strip() == name and name != ""
)
KEYS = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=10)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(location_name=NAMES, event_name=NAMES, key=KEYS)
def test_any_name_round_trips_through_yaml(location_name: str, event_name: str, key: str) -> None:
    """Names with quotes, colons, unicode or YAML syntax come back unchanged from
    showcases.yml and from the router config's SHOWCASE_OWNER."""
    conn = empty_index_in_memory()
    insert(conn, "locations", id=1, key=key, name=location_name, region="iad")
    insert(conn, "showcases", year=2025, key="spring", name=event_name, location_id=1)
    data = yaml.safe_load(gen.showcases_yaml(conn, warn=lambda message: None))
    entry = data[2025][key]
    assert entry["name"] == location_name
    assert entry["events"]["spring"]["name"] == event_name
    text = gen.router_config(conn, GenerateOptions(db_dir="/srv/db", out="/srv/config"))
    config = parse_config(text, "generated", "/srv/config")
    assert dict(config.applications.tenants[-1].env)["SHOWCASE_OWNER"] == location_name


def empty_index_in_memory() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.executescript(SCHEMA.read_text())
    return conn
