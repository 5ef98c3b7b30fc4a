"""The installed package, not the checkout: a wheel carries the migrations and the views' SQL (which
live beside connector/), so it creates a warehouse from any directory. Until 2026-11-29 a wheel (and
`pip install .`) held connector/ alone, and its first sync failed in a traceback from Alembic."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from connector import migrate
from connector.cli import cli
from sync_helpers import SYNC_TABLES, snapshot

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ["--from-export", str(ROOT / "examples/sample_export.json"), "--ontology", str(ROOT / "examples/ontology.json")]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The wheel built from a copy of the sources (the checkout is left as it is) and installed, without
    its dependencies (this environment's serve), into a folder of its own."""
    work = tmp_path_factory.mktemp("wheel")
    for name in ("connector", "migrations", "sql"):
        shutil.copytree(ROOT / name, work / "src" / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, work / "src" / name)
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", work / "dist", work / "src"], check=True)
    [wheel] = (work / "dist").glob("*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", work / "site", wheel], check=True)
    return work / "site"


def test_a_wheel_creates_and_fills_a_warehouse_from_another_directory(installed, warehouse, other_warehouse, tmp_path):
    """The same warehouse as the checkout's code makes, views included."""
    warehouse.engine.dispose()
    command = [sys.executable, "-c", "import sys, connector; from connector.cli import main; "
               "print(connector.__file__, file=sys.stderr); main()",
               "sync", *SAMPLE, *warehouse.cli_args]
    result = subprocess.run(command, cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(installed)},
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr.splitlines()[0] == str(installed / "connector" / "__init__.py")
    assert migrate.current_revision(warehouse.engine) == migrate.SCHEMA_REVISION
    assert CliRunner().invoke(cli, ["sync", *SAMPLE, *other_warehouse.cli_args]).exit_code == 0
    assert snapshot(warehouse, SYNC_TABLES) == snapshot(other_warehouse, SYNC_TABLES)
    for view in ("labels_export", "frame_labels", "attribute_answers", "object_frames_px", "label_row_json"):
        assert warehouse.scalar(f"SELECT count(*) FROM {view}") == other_warehouse.scalar(f"SELECT count(*) FROM {view}") > 0
