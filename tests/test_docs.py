"""The README documents every command, its Python example runs as written, and CI runs the README's
test command."""

from __future__ import annotations

import json
import re
import subprocess

from click.testing import CliRunner

from connector.cli import cli
from readme_examples import README, ROOT, blocks, run_python_example
from sync_helpers import CLI, snapshot


def readme_commands() -> list[str]:
    return blocks("sh")[:2]


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


def test_the_bare_command_prints_its_help_not_an_error_line():
    bare = subprocess.run(CLI, capture_output=True, text=True, timeout=60)
    helped = subprocess.run([*CLI, "--help"], capture_output=True, text=True, timeout=60)
    assert (bare.returncode, bare.stdout) == (2, "")  # a scheduler given no command still sees a failure
    assert bare.stderr.strip() == helped.stdout.strip()
    assert bare.stderr.startswith("Usage: ")


def test_the_readme_python_export_example_writes_what_the_command_writes(warehouse, other_warehouse, tmp_path):
    example = next(code for code in blocks("python") if "sync_export" in code)
    printed = run_python_example(example, tmp_path, warehouse.env)
    label_rows = len(json.loads((ROOT / "examples/sample_export.json").read_text()))
    run_id = warehouse.scalar("SELECT run_id FROM sync_runs WHERE status = 'succeeded'")
    object_frames = warehouse.scalar("SELECT count(*) FROM object_frames")
    assert printed == [f"run {run_id}: {label_rows} inserted, 0 failed", f"{object_frames} object frames"]
    assert object_frames > 0
    command = CliRunner().invoke(cli, ["sync", "--from-export", str(ROOT / "examples/sample_export.json"), "--ontology",
                                       str(ROOT / "examples/ontology.json"), *other_warehouse.cli_args])
    assert command.exit_code == 0, command.output
    assert snapshot(warehouse) == snapshot(other_warehouse)


def test_the_readme_maps_every_command_to_its_library_function():
    table = README.split("| command | library |", 1)[1].split("\n\n", 1)[0]
    mapped = set(re.findall(r"^\| `([a-z-]+)", table, flags=re.M))
    assert mapped == set(cli.commands)
    for module, function in re.findall(r"`(connector(?:\.\w+)+)\.(\w+)\(", table):
        assert callable(getattr(__import__(module, fromlist=[function]), function)), f"{module}.{function}"
