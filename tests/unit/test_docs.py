"""The README's commands are the ones CI runs; the plugin is found by twistd."""

from __future__ import annotations

import re
from pathlib import Path

from twisted.application.service import IServiceMaker
from twisted.plugin import getPlugins

ROOT = Path(__file__).resolve().parents[2]


def readme_commands() -> list[str]:
    block = re.search(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_readme_starts_with_the_run_and_test_commands() -> None:
    """The README's first block has two commands: run on embedded defaults, run the tests."""
    run, test = readme_commands()
    assert run.endswith("twistd -n showcase")
    assert "pytest" in test


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run runs the README's test command (the part after the install)."""
    test = readme_commands()[1]
    command = test.split("&&")[-1].strip()
    assert command in (ROOT / ".ci" / "run").read_text()


def test_twistd_finds_the_showcase_plugin() -> None:
    """getPlugins(IServiceMaker) finds `showcase`, pointing at showcase.tap."""
    import twisted.plugins

    makers = {m.tapname: m for m in getPlugins(IServiceMaker, twisted.plugins)}
    assert "showcase" in makers
    assert makers["showcase"].module == "showcase.tap"  # type: ignore[attr-defined]
