"""The deploy scripts run for real: the git post-update hook, deploy/prepare, the boot config.

A bare repository under the test's directory gets ``deploy/git/post-update`` as its hook;
commits of a small tree (this checkout's ``deploy/`` plus a marker file) are pushed to
it with ``git push``, which runs the hook.  ``SHOWCASE_PIP`` and ``SHOWCASE_RELOAD``
replace the pip and reload steps with commands that record their call (fast, offline);
``deploy/prepare`` runs for real against this virtualenv.  One test lets the real reload
step signal a real router; the last boots a real router on the image's maintenance
config (its paths moved under the test's directory).  Every router is stopped.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .routerproc import Router, alive, kill_leftovers, wait_for

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent


class Deployment:
    """A source tree, the bare repository it pushes to, and the server's layout."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.src = tmp / "src"
        self.bare = tmp / "showcase.git"
        self.home = tmp / "srv"
        self.calls = tmp / "calls.log"
        self.git_env = {
            **os.environ,
            "HOME": str(tmp),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.org",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.org",
        }
        shutil.copytree(REPO / "deploy", self.src / "deploy")
        (self.src / "marker.txt").write_text("first\n")
        self.git("init", "-q", "-b", "main", cwd=self.src)
        self.commit("first")
        self.git("init", "-q", "--bare", str(self.bare), cwd=tmp)
        hook = self.bare / "hooks" / "post-update"
        shutil.copy(REPO / "deploy" / "git" / "post-update", hook)
        hook.chmod(0o755)
        (self.home / "config").mkdir(parents=True)
        (self.home / "config" / "showcase.yml").write_text(
            "applications:\n"
            "  tenants:\n"
            "    - path: /2026/boston/\n"
            "      env:\n"
            f"        SHOWCASE_DB: {self.home / 'db' / '2026-boston.sqlite3'}\n"
        )
        self.env = {
            **self.git_env,
            "SHOWCASE_HOME": str(self.home),
            "SHOWCASE_VENV": str(VENV),
            "SHOWCASE_PIP": f'echo "pip $PWD" >> {self.calls}',
            "SHOWCASE_RELOAD": f'echo "reload $PWD" >> {self.calls}',
        }

    def git(self, *args: str, cwd: Path | None = None) -> str:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd or self.src,
            env=self.git_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")

    def push(self, ref: str = "main", **env: str) -> str:
        """``git push`` (which runs the hook); the hook's output."""
        done = subprocess.run(
            ["git", "push", "-q", str(self.bare), ref],
            cwd=self.src,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stderr

    def calls_made(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []

    @property
    def work_tree(self) -> Path:
        return self.home / "app"


@pytest.fixture
def deployment(tmp_path: Path) -> Deployment:
    return Deployment(tmp_path)


def test_a_push_checks_out_installs_prepares_and_reloads(deployment: Deployment) -> None:
    """Pushing main checks the commit out into the work tree, then runs pip install, the
    asset compilation, prepare (which creates the configured event's missing database) and
    reload, in that order."""
    rev = deployment.git("rev-parse", "HEAD")
    head = deployment.git("symbolic-ref", "HEAD", cwd=deployment.bare)
    output = deployment.push()
    tree = deployment.work_tree
    assert (tree / "marker.txt").read_text() == "first\n"
    assert (tree / "REVISION").read_text() == f"{rev}\n"
    assert deployment.calls_made() == [f"pip {tree}", f"reload {tree}"]
    assert (tree / "public" / "assets" / ".manifest.json").is_file()
    db = deployment.home / "db" / "2026-boston.sqlite3"
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    assert f"prepare: created {db}" in output
    assert deployment.git("symbolic-ref", "HEAD", cwd=deployment.bare) == head  # untouched
    assert not (deployment.bare / "index").exists()


def test_the_generated_config_serves_the_assets_the_hook_compiled(deployment: Deployment) -> None:
    """With an index database, prepare (run by the hook from the bare repository) writes a
    router config whose static files are the work tree's public/, where the hook compiled
    the assets, and whose tenants read that manifest."""
    from showcase.config import load_config
    from showcase.index.db import open_index

    open_index(str(deployment.home / "db" / "index.sqlite3")).close()
    deployment.push()
    public = deployment.work_tree / "public"
    config = load_config(str(deployment.home / "config" / "showcase.yml"))
    assert config.server.static.public_dir == str(public)
    manifest = dict(config.applications.tenants[0].env)["SHOWCASE_ASSETS_MANIFEST"]
    assert Path(manifest) == public / "assets" / ".manifest.json"
    assert Path(manifest).is_file()


def test_a_later_push_removes_deleted_files_and_keeps_the_rest(deployment: Deployment) -> None:
    """A file deleted upstream disappears from the work tree; files the deploy made stay."""
    deployment.push()
    (deployment.src / "marker.txt").unlink()
    (deployment.src / "second.txt").write_text("second\n")
    rev = deployment.commit("second")
    deployment.push()
    tree = deployment.work_tree
    assert not (tree / "marker.txt").exists()
    assert (tree / "second.txt").read_text() == "second\n"
    assert (tree / "REVISION").read_text() == f"{rev}\n"
    assert len(deployment.calls_made()) == 4


def test_a_push_of_another_branch_deploys_nothing(deployment: Deployment) -> None:
    """Only the deployed branch deploys: pushing another branch leaves everything alone."""
    deployment.git("branch", "feature")
    output = deployment.push("feature")
    assert "nothing to deploy" in output
    assert not deployment.work_tree.exists()
    assert deployment.calls_made() == []


def test_running_the_hook_again_is_idempotent(deployment: Deployment) -> None:
    """Running the hook by hand after a deploy ends the same, with the same tree."""
    deployment.push()
    tree = deployment.work_tree
    before = sorted(str(p.relative_to(tree)) for p in tree.rglob("*"))
    done = subprocess.run(
        [str(deployment.bare / "hooks" / "post-update"), "refs/heads/main"],
        cwd=deployment.bare,
        env={**deployment.env, "GIT_DIR": "."},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(str(p.relative_to(tree)) for p in tree.rglob("*")) == before
    assert deployment.calls_made()[-2:] == [f"pip {tree}", f"reload {tree}"]
    assert "prepare: created" not in done.stdout


@pytest.fixture
def routers() -> Iterator[list[Router]]:
    started: list[Router] = []
    yield started
    for router in started:
        router.stop()
    pids = [r.proc.pid for r in started]
    for router in started:  # and every tenant they started
        pids += [int(pid) for pid in re.findall(r"tenant \S+ started: pid (\d+)", router.log())]
    try:
        wait_for(lambda: not any(alive(pid) for pid in pids), 15, "the routers to end")
    finally:
        kill_leftovers(pids)


def test_the_real_reload_step_signals_the_running_router(
    deployment: Deployment, routers: list[Router], tmp_path: Path
) -> None:
    """Without SHOWCASE_RELOAD the hook runs ``showcase reload --pidfile``: the router
    re-reads its config."""
    router_dir = tmp_path / "router"
    router_dir.mkdir()
    router = Router(router_dir, "cable:\n  enabled: false\n")
    routers.append(router)
    wait_for(router.pidfile.exists, 10, "the pid file")
    env = {k: v for k, v in deployment.env.items() if k != "SHOWCASE_RELOAD"}
    deployment.env = env
    deployment.push(SHOWCASE_PIDFILE=str(router.pidfile))
    wait_for(lambda: "reloaded" in router.log(), 10, "the router to reload")


def test_the_boot_config_waits_in_maintenance_then_switches(
    routers: list[Router], tmp_path: Path
) -> None:
    """On the image's boot config, event requests get 503 and /up answers while prepare has
    nothing to serve; once a config exists, SIGHUP re-runs prepare, which creates the
    event's database, and the router switches to the full config and serves the event."""
    data = tmp_path / "data"
    (tmp_path / "public").mkdir()
    boot = (REPO / "deploy" / "examples" / "maintenance.yml").read_text()
    boot = boot.replace("/app/deploy/prepare", str(REPO / "deploy" / "prepare"))
    boot = boot.replace("/app/public", str(tmp_path / "public")).replace("/data", str(data))
    env = {"SHOWCASE_DATA": str(data), "PATH": f"{VENV / 'bin'}:{os.environ['PATH']}"}
    router_dir = tmp_path / "router"
    router_dir.mkdir()
    router = Router(router_dir, boot, env)
    routers.append(router)
    assert router.get("/up")[0] == 200
    assert router.get("/showcase/2026/boston/")[0] == 503
    wait_for(lambda: "nothing to serve yet" in router.log(), 30, "prepare to give up")

    db = data / "db" / "2026-boston.sqlite3"
    (data / "config" / "showcase.yml").write_text(
        "server:\n"
        "  root_path: /showcase\n"
        "  health_check: {path: /up, response: {status: 200, body: OK}}\n"
        "applications:\n"
        "  preload: false\n"
        "  pools: {start_port: 25100, stop_timeout: 2s}\n"
        "  startup_timeout: 10s\n"
        "  tenants:\n"
        "    - path: /showcase/2026/boston/\n"
        f"      env: {{SHOWCASE_DB: {db}, SHOWCASE_SCOPE: 2026/boston}}\n"
        "cable:\n"
        "  enabled: false\n"
    )
    router.signal(signal.SIGHUP)
    wait_for(lambda: f"reloaded {data / 'config' / 'showcase.yml'}" in router.log(), 30, "switch")
    assert db.is_file()
    status, _, body = router.get("/showcase/2026/boston/")
    assert status == 200, body
