"""The rsync daemon's files and process definition (``backup.serve``), and its config keys."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from showcase.config import ConfigError, parse_config
from showcase.config.model import Backup, BackupServe, Config
from showcase.machine import not_yet_supported
from showcase.ops.rsyncd import (
    PROCESS_NAME,
    DaemonConfigError,
    RsyncDaemon,
    filter_rules,
    read_users,
)

SHOWCASES = """\
2026:
  alpha: {name: Alpha, region: aaa, date: "2026-05-01"}
  bravo: {name: Bravo, region: bbb, events: {spring: {name: Spring}, fall: {name: Fall}}}
  nowhere: {name: Nowhere}
"""


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    """A config directory with a database directory, showcases.yml and a users file."""
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "showcases.yml").write_text(SHOWCASES)
    (tmp_path / "users").write_text("# peers\nalice:pw1\n\nbob:pw:2\n")
    return tmp_path


def config_in(directory: Path, serve: str = "") -> Config:
    text = (
        f"backup:\n  db_dir: db\n  module: dbs\n  serve: {{port: 8873, users_file: users{serve}}}\n"
    )
    return parse_config(text, "showcase.yml", str(directory))


@pytest.fixture
def daemon() -> Iterator[RsyncDaemon]:
    """A daemon for region bbb with a stand-in binary path; its runtime files removed after."""
    made = RsyncDaemon("bbb", "/usr/bin/rsync")
    yield made
    made.cleanup()


def files(daemon: RsyncDaemon) -> dict[str, str]:
    assert daemon.runtime_dir is not None
    names = ("rsyncd.conf", "secrets", "filter.rules")
    return {name: Path(daemon.runtime_dir, name).read_text() for name in names}


def test_filter_keeps_owned_databases_out_and_lets_other_regions_in() -> None:
    """The filter excludes this region's databases first, includes other regions', and
    refuses everything else; nobody's databases are refused too."""
    regions = {
        "2026-alpha.sqlite3": frozenset({"aaa"}),
        "2026-bravo-fall.sqlite3": frozenset({"bbb"}),
        "2026-nowhere.sqlite3": frozenset(),
    }
    rules = [line for line in filter_rules(regions, "bbb", None).splitlines() if line[0] != "#"]
    assert rules == ["- /2026-bravo-fall.sqlite3", "+ /2026-alpha.sqlite3", "- *"]


def test_filter_places_the_index_by_its_region() -> None:
    """index.sqlite3 is protected where it is owned and accepted elsewhere."""
    assert "- /index.sqlite3" in filter_rules({}, "iad", "iad").splitlines()
    assert "+ /index.sqlite3" in filter_rules({}, "ewr", "iad").splitlines()
    assert "index" not in filter_rules({}, "ewr", None)


def test_filter_refuses_everything_without_a_usable_showcases_file() -> None:
    """Without a readable showcases.yml the only rule is to refuse every push."""
    rules = [line for line in filter_rules(None, "bbb", "bbb").splitlines() if line[0] != "#"]
    assert rules == ["- *"]


def test_files_are_written_private_with_the_module(layout: Path, daemon: RsyncDaemon) -> None:
    """rsyncd.conf, secrets and filter.rules are written with mode 0600: the module's
    path is the database directory, writable, for the users of users_file only."""
    (process,) = daemon.processes(config_in(layout))
    written = files(daemon)
    for name in written:
        mode = stat.S_IMODE(os.stat(Path(str(daemon.runtime_dir), name)).st_mode)
        assert mode == 0o600, name
    conf = written["rsyncd.conf"]
    assert "[dbs]" in conf
    assert f"path = {layout / 'db'}\n" in conf
    assert "read only = false" in conf and "use chroot = no" in conf
    assert "munge symlinks = yes" in conf
    assert "auth users = alice, bob\n" in conf
    assert f"secrets file = {daemon.runtime_dir}/secrets" in conf
    assert f"exclude from = {daemon.runtime_dir}/filter.rules" in conf
    assert "refuse options = delete inplace append*" in conf
    assert f"uid = {os.getuid()}" in conf
    assert "hosts allow" not in conf
    assert written["secrets"] == "alice:pw1\nbob:pw:2\n"
    assert "- /2026-bravo-fall.sqlite3" in written["filter.rules"]
    assert "+ /2026-alpha.sqlite3" in written["filter.rules"]
    assert process.name == PROCESS_NAME and process.auto_restart
    assert process.args == (
        "--daemon",
        "--no-detach",
        "--address=0.0.0.0",
        "--port=8873",
        f"--config={daemon.runtime_dir}/rsyncd.conf",
    )


def test_address_and_hosts_allow(layout: Path, daemon: RsyncDaemon) -> None:
    """backup.serve.address is the daemon's --address; hosts_allow becomes `hosts allow`."""
    extra = ", address: 127.0.0.1, hosts_allow: [127.0.0.1, 'fdaa::/16']"
    (process,) = daemon.processes(config_in(layout, extra))
    assert "--address=127.0.0.1" in process.args
    assert "    hosts allow = 127.0.0.1 fdaa::/16\n" in files(daemon)["rsyncd.conf"]


def test_a_reload_rewrites_the_filter_without_restarting(layout: Path, daemon: RsyncDaemon) -> None:
    """After showcases.yml moved alpha to this region, the next call (a reload) protects it;
    the definition is unchanged, so the daemon keeps running (it re-reads per connection)."""
    config = config_in(layout)
    first = daemon.processes(config)
    assert "+ /2026-alpha.sqlite3" in files(daemon)["filter.rules"]
    (layout / "db" / "showcases.yml").write_text(SHOWCASES.replace("region: aaa", "region: bbb"))
    assert daemon.processes(config) == first
    assert "- /2026-alpha.sqlite3" in files(daemon)["filter.rules"]


def test_a_bad_showcases_file_refuses_every_push(layout: Path, daemon: RsyncDaemon) -> None:
    """An invalid showcases.yml leaves the daemon running but accepting nothing."""
    (layout / "db" / "showcases.yml").write_text("2026: [not, a, mapping]\n")
    assert daemon.processes(config_in(layout)) != ()
    rules = [line for line in files(daemon)["filter.rules"].splitlines() if line[0] != "#"]
    assert rules == ["- *"]


def test_no_daemon_without_serve_region_binary_or_users(layout: Path) -> None:
    """No backup.serve, no FLY_REGION, no rsync binary or a bad users file: no daemon."""
    config = config_in(layout)
    assert RsyncDaemon("bbb", "/usr/bin/rsync").processes(Config(backup=Backup())) == ()
    assert RsyncDaemon(None, "/usr/bin/rsync").processes(config) == ()
    assert RsyncDaemon("bbb", None).processes(config) == ()
    (layout / "users").write_text("alice\n")
    broken = RsyncDaemon("bbb", "/usr/bin/rsync")
    try:
        assert broken.processes(config) == ()
    finally:
        broken.cleanup()


def test_from_environ_reads_the_region_and_finds_rsync(tmp_path: Path) -> None:
    """The region is $FLY_REGION and the binary the rsync on $PATH."""
    binary = tmp_path / "rsync"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    made = RsyncDaemon.from_environ({"FLY_REGION": "ord", "PATH": str(tmp_path)})
    assert (made.region, made.binary) == ("ord", str(binary))
    assert RsyncDaemon.from_environ({"PATH": "/nonexistent"}).binary is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("alice\n", "users:1: expected user:password"),
        ("al ice:pw\n", "users:1: expected user:password"),
        ("# only a comment\n", "no users"),
        ("alice:\n", "users:1: expected user:password"),
    ],
)
def test_bad_users_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    """A users file needs user:password lines with plain user names."""
    (tmp_path / "users").write_text(text)
    with pytest.raises(DaemonConfigError, match=message):
        read_users(str(tmp_path / "users"))


def test_paths_that_cannot_be_written_to_the_config_are_refused(tmp_path: Path) -> None:
    """A database directory whose name rsyncd.conf would misread (a % or a newline) is an
    error, not a different path."""
    (tmp_path / "users").write_text("alice:pw\n")
    serve = BackupServe(873, str(tmp_path / "users"))
    made = RsyncDaemon("bbb", "/usr/bin/rsync")
    try:
        config = Config(backup=Backup(db_dir=str(tmp_path / "100%db"), serve=serve))
        assert made.processes(config) == ()
        with pytest.raises(DaemonConfigError, match="cannot be written"):
            made.write(Backup(db_dir=str(tmp_path / "a\nb"), serve=serve), serve, "bbb")
    finally:
        made.cleanup()


def test_backup_keys_are_read(tmp_path: Path) -> None:
    """db_dir is resolved against the config's directory; address and hosts_allow are read;
    db_dir and index_region default to None, the address to 0.0.0.0."""
    config = config_in(tmp_path, ", hosts_allow: [10.0.0.0/8]")
    assert config.backup is not None and config.backup.serve is not None
    assert config.backup.db_dir == str(tmp_path / "db")
    assert config.backup.index_region is None
    assert config.backup.serve.address == "0.0.0.0"
    assert config.backup.serve.hosts_allow == ("10.0.0.0/8",)
    assert parse_config("backup: {}", "x.yml", str(tmp_path)).backup == Backup()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("backup: {serve: {port: 873}}", "'users_file' is required"),
        ("backup: {module: 'a b'}", "not an rsync module name"),
        ("backup: {module: 'x]'}", "not an rsync module name"),
        ("backup: {serve: {port: 1, users_file: u, hosts_allow: ['a b']}}", "one address"),
        ("backup: {serve: {port: 1, users_file: u, address: 'a,b'}}", "one address"),
    ],
)
def test_bad_backup_values_are_config_errors(tmp_path: Path, text: str, message: str) -> None:
    """The daemon's settings are validated when the config is loaded."""
    with pytest.raises(ConfigError, match=message):
        parse_config(text, "x.yml", str(tmp_path))


def test_backup_is_no_longer_reported_as_unsupported(tmp_path: Path) -> None:
    """A config with a backup section is acted on, so the router does not call it ignored."""
    assert "backup" not in not_yet_supported(config_in(tmp_path))
