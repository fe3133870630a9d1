"""``showcase config generate``: the index database in, showcases.yml, htpasswd, the router
config and the maintenance config out (golden files under ``tests/unit/golden/``)."""

from __future__ import annotations

import argparse
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
ALL_FILES = (*FILES, "config/appliance.yml")


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
    """3 regions (one without coordinates, so it owns no location), 3 locations (one with a
    single ``showcase`` event, one with several, one placed by its coordinates), users
    with a bcrypt hash, a {SHA} hash, plain text, none."""
    conn = empty_index(path)
    insert(conn, "regions", code="iad", type="fly", latitude=38.94, longitude=-77.46)
    insert(conn, "regions", code="ewr", type="fly", latitude=40.69, longitude=-74.17)
    insert(conn, "regions", code="syd", type="fly")
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


LOGGER_URL = "http://smooth-logger.internal:9999/logs"
FAKE_SECRET = "fake-logger-secret"  # a test value: the golden files hold it
SECRET_FILES = {
    "print-token": "fake-print-token\n",
    "logger-secret": FAKE_SECRET + "\n",
    "rsync.password": "fake-rsync-password\n",
    "rsyncd.secrets": "showcase:fake-rsync-password\n",
}


def everything(site: Path, **changes: Any) -> GenerateOptions:
    """Every option on (region iad, Fly app smooth); the files they name in <site>/secrets."""
    secrets = site / "secrets"
    secrets.mkdir(exist_ok=True)
    for name, text in SECRET_FILES.items():
        (secrets / name).write_text(text)
    values: dict[str, Any] = {
        "fly_app": "smooth",
        "print_token_file": str(secrets / "print-token"),
        "backup": True,
        "backup_secrets": str(secrets),
        "idle": "suspend",
        "appliance_config": True,
        "logger_url": LOGGER_URL,
        "logger_secret_file": str(secrets / "logger-secret"),
        **changes,
    }
    return options(site, **values)


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
    for name in ALL_FILES:
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


def test_every_option_on_writes_the_full_golden_files(site: Path) -> None:
    """With every option the router config, the maintenance config and the appliance's
    config are exactly as their golden files (``golden/full/``); the rest as without."""
    written = gen.generate(everything(site), warn=lambda message: None)
    assert written == [str(site / name) for name in (*FILES, "config/appliance.yml")]
    for name in ("showcase.yml", "maintenance.yml", "appliance.yml"):
        text = (site / "config" / name).read_text(encoding="utf-8")
        assert text == golden(f"full/{name}", site), name
    for name in FILES[:2]:
        assert (site / name).read_text(encoding="utf-8") == golden(Path(name).name, site), name


VARIANTS: dict[str, dict[str, Any]] = {
    "plain": {},
    "no region": {"region": None, "appliance_app": None},
    "backup": {"fly_app": "smooth", "backup": True},
    "idle": {"idle": "stop", "idle_timeout": "90s"},
    "appliance": {"fly_app": "smooth", "appliance_config": True, "print_token_file": "token"},
    "logger": {"logger_url": LOGGER_URL},
}


@pytest.mark.parametrize("variant", [*VARIANTS, "everything"])
def test_every_variant_passes_config_check(
    site: Path, variant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``showcase config check`` accepts every router config generated, with each option
    alone and with all of them."""
    given = everything(site) if variant == "everything" else options(site, **VARIANTS[variant])
    gen.generate(given, warn=lambda message: None)
    paths = sorted(str(path) for path in (site / "config").glob("*.yml"))
    assert len(paths) == (3 if given.appliance_config else 2)
    assert cli.main(["config", "check", *paths]) == 0
    out = capsys.readouterr().out
    tenants = 7 if given.region is None else 3
    assert f"showcase.yml: ok ({tenants} tenants)" in out
    assert given.appliance_config == ("appliance.yml: ok (0 tenants)" in out)


# -- determinism and replacing --------------------------------------------------------------


@pytest.mark.parametrize("every_option", [False, True])
def test_second_run_rewrites_nothing(site: Path, every_option: bool) -> None:
    """The same index gives the same bytes (with or without every option); an unchanged
    file keeps its mtime."""
    given = everything(site) if every_option else options(site)
    assert len(gen.generate(given, warn=lambda message: None)) == 4 + every_option
    before = stamps(site)
    assert gen.generate(given, warn=lambda message: None) == []
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
    """With an appliance app, ``.pdf`` requests are replayed to it before any region rule,
    except the demo's (every machine has its own demo, the appliance none)."""
    gen.generate(options(site), warn=lambda message: None)
    rules = load_config(str(site / "config/showcase.yml")).routes.fly.replay
    assert rules[0].app == "smooth-pdf" and rules[0].region is None
    assert rules[0].path.search("/showcase/2025/boston/heats.pdf")
    assert rules[0].path.search("/showcase/2025/raleigh/spring/people/3/heats.pdf")
    assert not rules[0].path.search("/showcase/2025/boston/heats.pdf.html")
    assert not rules[0].path.search("/showcase/demo/heats.pdf")
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
    """The index tenant's env holds exactly the keys the admin app needs (no secret), and
    ``GenerateOptions.from_env`` of it gives back the options that wrote it."""
    given_options = everything(
        site, backup_user="pusher", backup_port=9873, idle_timeout="1h", logger_buffer_dir="buf"
    )
    gen.generate(given_options, warn=lambda message: None)
    index = load_config(str(site / "config/showcase.yml")).applications.tenants[0]
    env = dict(index.env)
    assert index.command == (sys.executable, "-m", "showcase.index")
    assert set(env) == {
        "SHOWCASE_DB", "SHOWCASE_DB_DIR", "SHOWCASE_CONFIG_OUT", "SHOWCASE_REGION",
        "SHOWCASE_FLY_APP", "SHOWCASE_ROOT_PATH", "SHOWCASE_LISTEN", "SHOWCASE_PUBLIC_DIR",
        "SHOWCASE_APPLIANCE_APP", "SHOWCASE_PRINT_TOKEN_FILE", "SHOWCASE_BACKUP",
        "SHOWCASE_BACKUP_USER", "SHOWCASE_BACKUP_PORT", "SHOWCASE_BACKUP_SECRETS",
        "SHOWCASE_IDLE", "SHOWCASE_IDLE_TIMEOUT", "SHOWCASE_APPLIANCE_CONFIG",
        "SHOWCASE_LOGGER_URL", "SHOWCASE_LOGGER_SECRET_FILE", "SHOWCASE_LOGGER_BUFFER_DIR",
        "SHOWCASE_ASSETS_MANIFEST", "SHOWCASE_ASSETS_URL",
    }  # fmt: skip
    assert FAKE_SECRET not in env.values()
    assert GenerateOptions.from_env(env) == given_options


@pytest.mark.parametrize("every_option", [False, True])
def test_ready_hook_regenerates_with_the_same_options(site: Path, every_option: bool) -> None:
    """The maintenance config's ready hook runs ``config generate`` with arguments that
    parse back to the very same options, then reloads into showcase.yml; it neither
    idles the machine nor ships logs (its file holds no secret)."""
    if every_option:
        given_options = everything(site, backup_user="pusher", backup_port=9873)
    else:
        given_options = options(site, region=None, root_path="", idle="stop", idle_timeout="1m")
    gen.generate(given_options, warn=lambda message: None)
    config = load_config(str(site / "config/maintenance.yml"))
    assert config.maintenance.enabled
    assert config.server.idle.action is None and config.logging.logger is None
    (hook,) = config.hooks.server.ready
    assert hook.command == sys.executable and hook.args[:2] == ("-m", "showcase.cli")
    assert hook.reload_config == str(site / "config/showcase.yml")
    assert hook.timeout == 300
    args = cli.parser().parse_args(list(hook.args[2:]))
    assert args.run is gen.run
    assert options_from_args(args) == given_options
    assert FAKE_SECRET not in (site / "config/maintenance.yml").read_text()


def test_fly_app_and_region_are_explicit_in_the_ready_hook(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a region or app the hook says so (``--region ''``, ``--fly-app ''``), so the
    machine's ``$FLY_REGION`` and ``$FLY_APP_NAME`` cannot change what it generates."""
    given_options = options(site, region=None, appliance_app=None)
    gen.generate(given_options, warn=lambda message: None)
    (hook,) = load_config(str(site / "config/maintenance.yml")).hooks.server.ready
    monkeypatch.setenv("FLY_REGION", "ewr")
    monkeypatch.setenv("FLY_APP_NAME", "elsewhere")
    assert options_from_args(cli.parser().parse_args(list(hook.args[2:]))) == given_options


# -- backups between regions --------------------------------------------------------------------


def backup_config(site: Path, **changes: Any) -> Any:
    given = options(site, fly_app="smooth", backup=True, **changes)
    gen.generate(given, warn=lambda message: None)
    return load_config(given.config_path)


def test_backup_hooks_only_with_backup(site: Path) -> None:
    """``--backup`` adds a stop hook per event tenant (its database only) and a server idle
    hook (every database of the region), both naming the generated config; without it
    there are no hooks and no backup section in the full config."""
    gen.generate(options(site), warn=lambda message: None)
    config = load_config(str(site / "config/showcase.yml"))
    assert config.hooks.server.idle == () and config.backup is None
    assert all(tenant.hooks.stop == () for tenant in config.applications.tenants)
    config = backup_config(site, region="ewr")
    backup = (
        "-m", "showcase.cli", "backup", "--db-dir", str(site / "db"), "--region", "ewr",
        "--config", str(site / "config/showcase.yml"),
    )  # fmt: skip
    (idle,) = config.hooks.server.idle
    assert idle.args == backup
    stops = {tenant.name: tenant.hooks.stop for tenant in config.applications.tenants}
    assert stops["index"] == () and stops["demo"] == ()
    (stop,) = stops["2025-raleigh-spring"]
    assert stop.args == (*backup, "--only", "2025-raleigh-spring")


def test_backup_hooks_resolve_to_the_generated_peers(site: Path) -> None:
    """``showcase backup`` run with a generated hook's arguments finds its peers, password
    file, database directory and region in the generated config: it would push, not
    exit 2 for want of peers."""
    from showcase.ops.backup import resolve
    from showcase.ops.backup_push import Rsync

    config = backup_config(site)
    tenant = config.applications.tenants[-1]
    (stop,) = tenant.hooks.stop
    args = cli.parser().parse_args(list(stop.args[2:]))
    plan, push = resolve(args, {"PATH": os.environ["PATH"]})
    assert (
        plan.peers
        == config.backup.peers
        == (
            "rsync://showcase@ewr.smooth.internal:8873/showcase/",
            "rsync://showcase@syd.smooth.internal:8873/showcase/",
        )
    )
    assert (plan.region, plan.db_dir, plan.only) == ("iad", str(site / "db"), ("2025-boston",))
    assert isinstance(push, Rsync) and push.password_file == str(site / "config/rsync.password")


def test_backup_peers_are_the_other_fly_regions(site: Path) -> None:
    """Each other Fly region of the regions table is a peer at
    ``<region>.<app>.internal`` with the given user and port; a Kamal host is not (with
    a warning); the daemon serves the given users file on that port."""
    conn = sqlite3.connect(site / "db/index.sqlite3")
    insert(conn, "regions", code="hetzner", type="kamal")
    conn.commit()
    conn.close()
    warnings: list[str] = []
    given = options(
        site, region="ewr", fly_app="smooth", backup=True, backup_user="pusher",
        backup_port=9873, backup_secrets=str(site / "secrets"),
    )  # fmt: skip
    gen.generate(given, warn=warnings.append)
    backup = load_config(given.config_path).backup
    assert backup is not None and backup.serve is not None
    assert backup.peers == (
        "rsync://pusher@iad.smooth.internal:9873/showcase/",
        "rsync://pusher@syd.smooth.internal:9873/showcase/",
    )
    assert backup.password_file == str(site / "secrets/rsync.password")
    assert (backup.serve.port, backup.serve.users_file) == (
        9873,
        str(site / "secrets/rsyncd.secrets"),
    )
    assert backup.db_dir == str(site / "db")
    assert any("'hetzner' is a kamal host" in w for w in warnings), warnings
    missing = [w for w in warnings if "does not exist" in w]
    assert len(missing) == 2 and "rsync.password" in missing[0] and "rsyncd.secrets" in missing[1]


def test_the_default_rsync_daemon_port_needs_no_root(site: Path) -> None:
    """By default the generated rsync daemon listens, and the peers are reached, on a port
    the router's user may bind without root (the image runs it as uid 1000)."""
    given = options(site, fly_app="smooth", backup=True)
    gen.generate(given, warn=lambda message: None)
    backup = load_config(given.config_path).backup
    assert backup is not None and backup.serve is not None
    assert backup.serve.port >= 1024
    assert all(peer.endswith(f":{backup.serve.port}/showcase/") for peer in backup.peers)


def test_backup_without_another_region_has_no_hooks(site: Path) -> None:
    """With no other region there is nobody to push to: a warning, the backup section
    (the daemon, peers empty) and no hooks that would fail on every stop."""
    conn = sqlite3.connect(site / "db/index.sqlite3")
    conn.execute("DELETE FROM regions WHERE code != 'iad'")
    conn.commit()
    conn.close()
    warnings: list[str] = []
    given = options(site, fly_app="smooth", backup=True)
    gen.generate(given, warn=warnings.append)
    config = load_config(given.config_path)
    assert config.backup is not None and config.backup.peers == ()
    assert config.hooks.server.idle == ()
    assert all(tenant.hooks.stop == () for tenant in config.applications.tenants)
    assert any("nothing to push to" in w for w in warnings), warnings


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--backup", "--fly-app", ""], "--backup needs --fly-app"),
        (["--backup", "--fly-app", "smooth", "--region", ""], "--backup needs --region"),
        (["--backup", "--fly-app", "smooth", "--backup-port", "0"], "not a port number"),
        (["--backup", "--fly-app", "smooth", "--backup-user", "a b"], "--backup-user 'a b'"),
    ],
)
def test_bad_backup_options_are_usage_errors(
    site: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Backups need a region and the Fly app (the peers' names), a port and a plain user
    name: otherwise exit 2 with the reason, nothing written."""
    assert cli.main(cli_args(site, *extra)) == 2
    assert message in capsys.readouterr().err
    assert stamps(site) == {}


# -- idle ----------------------------------------------------------------------------------------


def test_idle_option_sets_server_idle(site: Path) -> None:
    """``--idle`` suspends (or stops) the machine after ``--idle-timeout`` (default 15
    minutes) without a request; without it the machine never goes idle."""
    gen.generate(options(site), warn=lambda message: None)
    assert load_config(str(site / "config/showcase.yml")).server.idle.action is None
    gen.generate(options(site, idle="suspend"), warn=lambda message: None)
    idle = load_config(str(site / "config/showcase.yml")).server.idle
    assert (idle.action, idle.timeout) == ("suspend", 900.0)
    assert cli.main(cli_args(site, "--idle", "stop", "--idle-timeout", "1h30m")) == 0
    idle = load_config(str(site / "config/showcase.yml")).server.idle
    assert (idle.action, idle.timeout) == ("stop", 5400.0)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--idle", "suspend", "--idle-timeout", "15"], "needs a unit"),
        (["--idle", "suspend", "--idle-timeout", "0"], "longer than 0"),
        (["--idle", "sleep"], "invalid choice"),
    ],
)
def test_bad_idle_options_are_usage_errors(
    site: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """An idle timeout without a unit or of 0, or an unknown action: exit 2, nothing written."""
    try:
        status: object = cli.main(cli_args(site, *extra))
    except SystemExit as exit:  # argparse's own usage errors
        status = exit.code
    assert status == 2
    assert message in capsys.readouterr().err
    assert stamps(site) == {}


# -- the PDF appliance -------------------------------------------------------------------------


def appliance_decision(site: Path, target: str) -> Any:
    """What the router on the generated appliance config does with ``target`` on Fly (app
    smooth-pdf, region iad; auth left to the event machines' test above)."""
    from routerfakes import bare_exchange, request

    from showcase.router.auth import Authenticator
    from showcase.router.dispatch import Dispatcher
    from showcase.router.replay import FlyHere

    config = load_config(str(site / "config/appliance.yml"))
    here = FlyHere(app="smooth-pdf", region="iad", port=9999)
    dispatcher = Dispatcher(config, Authenticator(config.auth, None), here)
    return dispatcher.decide(bare_exchange(request(target)))


def test_appliance_config_finds_the_owner_of_every_event(site: Path) -> None:
    """The appliance's config has no tenants and asks each event's region for its print
    data, at ``<region>.<event app>.internal`` with the token file: its own region's
    events and the others alike."""
    from showcase.router.appliance import PrintJob

    given = everything(site)
    gen.generate(given, warn=lambda message: None)
    config = load_config(given.appliance_path)
    assert config.applications.tenants == () and not config.cable.enabled
    token = str(site / "secrets/print-token")
    assert config.appliance is not None and config.appliance.token_file == token
    for scope, relative, region in [
        ("/showcase/2025/boston", "people/12/heats.pdf", "iad"),
        ("/showcase/2025/raleigh/spring", "heats.pdf", "ewr"),
        ("/showcase/2026/barcelona/april", "people/backs.pdf", "ewr"),
    ]:
        data_url = f"http://{region}.smooth.internal:9999{scope}/print.json"
        decision = appliance_decision(site, f"{scope}/{relative}")
        assert decision == PrintJob(
            f"{scope}/", relative, region, data_url, token, str(site / "public")
        )


def test_appliance_replays_nothing_but_renders_pdfs(site: Path) -> None:
    """On the appliance only PDFs match a region rule: an event's page gets a 404 there,
    never a replay (a region replay would stay inside the printer app)."""
    from showcase.router.message import Reply

    gen.generate(everything(site), warn=lambda message: None)
    for path in ("/showcase/2025/raleigh/spring/heats", "/showcase/2025/boston/"):
        decision = appliance_decision(site, path)
        assert isinstance(decision, Reply) and decision.status == 404, decision
    decision = appliance_decision(site, "/showcase/demo/heats.pdf")
    assert isinstance(decision, Reply) and decision.status == 404


def test_no_appliance_config_without_the_option(site: Path) -> None:
    """Without ``--appliance-config`` no appliance.yml is written."""
    gen.generate(everything(site, appliance_config=False), warn=lambda message: None)
    assert not (site / "config/appliance.yml").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--fly-app", "", "--print-token-file", "t"], "--appliance-config needs --fly-app"),
        (["--fly-app", "smooth"], "needs --print-token-file"),
        (
            ["--fly-app", "smooth", "--print-token-file", "t", "--listen", "unix:/tmp/s"],
            "needs a TCP --listen port",
        ),
    ],
)
def test_appliance_config_needs_app_token_and_port(
    site: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The appliance's config needs the event machines' app and port and the token file:
    otherwise exit 2 with the reason, nothing written."""
    assert cli.main(cli_args(site, "--appliance-config", *extra)) == 2
    assert message in capsys.readouterr().err
    assert stamps(site) == {}


# -- log shipping --------------------------------------------------------------------------------


def test_logger_options_ship_logs_with_the_secret_from_its_file(site: Path) -> None:
    """``--logger-url`` and ``--logger-secret-file`` give ``logging.logger`` (the secret
    read from the file, the buffer beside the db directory) in the router config and the
    appliance's; both files are then readable by their owner only, even one that was not
    before."""
    gen.generate(options(site), warn=lambda message: None)
    assert load_config(str(site / "config/showcase.yml")).logging.logger is None
    os.chmod(site / "config/showcase.yml", 0o644)
    gen.generate(everything(site), warn=lambda message: None)
    for name in ("showcase.yml", "appliance.yml"):
        logger = load_config(str(site / "config" / name)).logging.logger
        assert logger is not None
        assert (logger.url, logger.secret) == (LOGGER_URL, FAKE_SECRET)
        assert logger.buffer_dir == str(site / "log/buffer")
        assert (site / "config" / name).stat().st_mode & 0o077 == 0, name
    assert (site / "config/maintenance.yml").stat().st_mode & 0o077 != 0


@pytest.mark.parametrize("content", [None, "", "two words\n"])
def test_an_unusable_logger_secret_file_replaces_nothing(
    site: Path, content: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    """A logger secret file that is missing, empty or not one word: exit 1 naming it,
    every old file kept."""
    assert cli.main(cli_args(site)) == 0
    before = stamps(site)
    secret = site / "logger-secret"
    if content is not None:
        secret.write_text(content)
    capsys.readouterr()
    extra = ("--logger-url", LOGGER_URL, "--logger-secret-file", str(secret))
    assert cli.main(cli_args(site, *extra)) == 1
    assert f"logger secret file {secret}" in capsys.readouterr().err
    assert stamps(site) == before


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--logger-secret-file", "s"], "need --logger-url"),
        (["--logger-url", "smooth-logger:9999"], "is not an http(s) URL"),
    ],
)
def test_bad_logger_options_are_usage_errors(
    site: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A secret without a logger URL, or a URL that is not http(s): exit 2, nothing written."""
    assert cli.main(cli_args(site, *extra)) == 2
    assert message in capsys.readouterr().err
    assert stamps(site) == {}


def test_event_tenants_get_database_scope_owner_and_token_file(site: Path) -> None:
    """Each event tenant's env names its database, scope and owner (and the print token
    file when one is given), and where the compiled assets are; the location's logo is
    the file of that name in ``<public_dir>/images/``; the demo is populated as the demo."""
    token = str(site / "print-token")
    gen.generate(options(site, region="ewr", print_token_file=token), warn=lambda message: None)
    tenants = {t.name: dict(t.env) for t in load_config(str(site / "config/showcase.yml"))
               .applications.tenants}  # fmt: skip
    assets = {
        "SHOWCASE_ASSETS_MANIFEST": str(site / "public/assets/.manifest.json"),
        "SHOWCASE_ASSETS_URL": "/showcase/assets/",
        "SHOWCASE_PUBLIC_DIR": str(site / "public"),
    }
    assert tenants["2026-barcelona-april"] == {
        "SHOWCASE_DB": str(site / "db/2026-barcelona-april.sqlite3"),
        "SHOWCASE_SCOPE": "2026/barcelona/april",
        "SHOWCASE_OWNER": "Barcelona: Sant Martí",
        "SHOWCASE_USERS": "alice,carol",
        "SHOWCASE_PRINT_TOKEN_FILE": token,
        **assets,
    }
    assert tenants["2025-raleigh-spring"]["SHOWCASE_LOGO"] == "images/raleigh.png"
    assert "SHOWCASE_LOGO" not in tenants["2026-barcelona-april"]
    assert tenants["demo"]["SHOWCASE_POPULATE"] == "demo"
    assert {k: tenants["index"][k] for k in assets} == assets


def test_each_event_names_the_users_who_may_open_it(site: Path) -> None:
    """An event's SHOWCASE_USERS lists the administrators and the users whose sites name its
    location, and nobody else (users without a usable password are in no list)."""
    conn = sqlite3.connect(site / "db/index.sqlite3")
    insert(conn, "users", userid="rhea", password=CAROL_HASH, sites="Raleigh, Elsewhere")
    conn.commit()
    conn.close()
    gen.generate(options(site, region=""), warn=lambda message: None)
    users = {
        t.name: dict(t.env).get("SHOWCASE_USERS")
        for t in load_config(str(site / "config/showcase.yml")).applications.tenants
    }
    assert users["2025-raleigh-spring"] == "alice,carol,rhea"
    assert users["2025-boston"] == "alice,carol"
    assert users["index"] is None and users["demo"] is None


@pytest.mark.parametrize("compiled", [False, True])
def test_what_public_pages_link_to_needs_no_password(site: Path, compiled: bool) -> None:
    """The stylesheet, scripts and location logo that an event's public pages (and the
    studios index) link to, compiled or not, need no password on the generated config;
    the event's own pages still do."""
    from showcase.event.page_globals import PageGlobals
    from showcase.ops.assets import precompile
    from showcase.router.auth import Authenticator

    if compiled:
        precompile(str(site))
    gen.generate(options(site, region="ewr"), warn=lambda message: None)
    config = load_config(str(site / "config/showcase.yml"))
    auth = Authenticator(config.auth, None)
    root = config.server.root_path
    urls = []
    for tenant in config.applications.tenants:
        if tenant.name not in ("index", "2025-raleigh-spring"):
            continue
        prefix = tenant.path.rstrip("/")
        env = {**dict(tenant.env), "SHOWCASE_PREFIX": prefix, "SHOWCASE_ROOT": root}

        def url(path: str, prefix: str = prefix) -> str:
            return prefix + path

        page = PageGlobals(url, env)
        imports = page.importmap()["imports"]
        urls += [page.asset_url("app.css"), page.asset_url("controllers/index.js")]
        urls += [imports["@hotwired/turbo"], imports["controllers/"] + "heat_controller.js"]
        urls += [page.theme({}).logo or ""]
    assert urls[-1] == f"{root}/images/raleigh.png"
    assert all(url.startswith("/showcase/assets/") for url in urls[:2]) is compiled
    assert [url for url in urls if not auth.is_public(url)] == [""]  # the index has no logo
    assert not auth.is_public("/showcase/2025/raleigh/spring/")
    assert not auth.is_public("/showcase/2025/raleigh/spring/people")


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

NAMES = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Zl", "Zp")),
    min_size=1,
    max_size=40,
).filter(lambda name: name.strip() == name and name != "")
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


def test_control_characters_in_names_become_spaces() -> None:
    """A name holding a control character or a line separator (which YAML would fold on
    reading) is written with spaces in their place, the same in showcases.yml and the config."""
    conn = empty_index_in_memory()
    insert(conn, "locations", id=1, key="boston", name="Back\x85Bay\u2028Studio\t1", region="iad")
    insert(conn, "showcases", year=2025, key="spring", name="Spring\nGala", location_id=1)
    data = yaml.safe_load(gen.showcases_yaml(conn, warn=lambda message: None))
    assert data[2025]["boston"]["name"] == "Back Bay Studio 1"
    assert data[2025]["boston"]["events"]["spring"]["name"] == "Spring Gala"
    text = gen.router_config(conn, GenerateOptions(db_dir="/srv/db", out="/srv/config"))
    config = parse_config(text, "generated", "/srv/config")
    assert dict(config.applications.tenants[-1].env)["SHOWCASE_OWNER"] == "Back Bay Studio 1"


def empty_index_in_memory() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.executescript(SCHEMA.read_text())
    return conn


def test_every_option_is_in_the_readme() -> None:
    """The README's "Administering events" section names every ``config generate`` option."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Administering events", 1)[1].split("\n## ", 1)[0]
    parser = argparse.ArgumentParser()
    gen.configure(parser)
    flags = {flag for action in parser._actions for flag in action.option_strings}
    assert {flag for flag in flags - {"-h", "--help"} if f"`{flag}" not in section} == set()
