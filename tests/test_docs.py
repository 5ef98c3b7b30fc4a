"""The README documents every command, and CI runs the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

from connector.cli import cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def readme_commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", README, flags=re.S)[:2]


def test_readme_starts_with_the_sample_sync_and_the_test_command():
    sample_sync, tests = readme_commands()
    assert "encord-warehouse sync --from-export examples/sample_export.json" in sample_sync
    assert "pytest" in tests


def test_ci_runs_the_readme_test_command():
    assert readme_commands()[1] in (ROOT / ".ci" / "run").read_text()


def test_every_command_is_documented_with_an_example():
    for name, command in cli.commands.items():
        assert f"encord-warehouse {name}" in README, f"README does not mention `encord-warehouse {name}`"
        assert "Example" in (command.help or ""), f"`{name}` --help has no example"
