"""Helpers shared by the tests that drive `sync --project` against the Encord emulator."""

from __future__ import annotations

import json
import math
import re
import sys

from click.testing import CliRunner

from connector import schema
from connector.cli import cli

CLI = [sys.executable, "-c", "from connector.cli import main; main()"]
"""The command line as a process of its own (the console script need not be on PATH)."""

_INFO_EVENT = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d info ")


def without_info_events(stderr: str) -> list[str]:
    """The lines of a text-format stderr that are not the run's info events (sync started, batch committed…)."""
    return [line for line in stderr.splitlines() if not _INFO_EVENT.match(line)]


SYNC_TABLES = ["data_units", "branches", "frames", "objects", "object_frames", "classifications",
               "classification_frames", "attributes", "annotation_ranges", "ontology_objects", "ontology_classifications",
               "ontology_attributes", "ontology_options"]
VOLATILE = {"synced_at", "content_sha256"}  # when a row was written, and a hash that includes signed links


def sync_args(warehouse, emulator, key_path, project_hash, *extra) -> list[str]:
    return ["sync", "--project", project_hash, "--domain", emulator.url, "--ssh-key-file", str(key_path),
            "--max-retries", "0", *warehouse.cli_args, *extra]


def run_sync(warehouse, emulator, key_path, project_hash, *extra, expect=0):
    result = CliRunner().invoke(cli, sync_args(warehouse, emulator, key_path, project_hash, *extra),
                                catch_exceptions=False)
    assert result.exit_code == expect, result.output
    return result


def _comparable(value):
    """NaN never equals itself; compare it (and JSON text) by a stable spelling."""
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return value


JSON_COLUMNS = ("points", "rings", "geometry", "html_range")


def snapshot(warehouse, tables=SYNC_TABLES, skip=VOLATILE):
    """Every row of every synced table (volatile columns left out), sorted: equal snapshots, equal warehouses.
    JSON columns are compared as documents, not as text (spacing differs between writers)."""
    result = {}
    for name in tables:
        columns = [c.name for c in schema.metadata.tables[name].columns if c.name not in skip]
        cast = [f"CAST({c} AS VARCHAR)" if c in JSON_COLUMNS else c for c in columns]
        parse = [c in JSON_COLUMNS for c in columns]
        rows = [tuple(json.loads(v) if p and isinstance(v, str) else _comparable(v) for p, v in zip(parse, row))
                for row in warehouse.rows(f"SELECT {', '.join(cast)} FROM {name}")]
        result[name] = sorted(rows, key=repr)
    return result


def last_run(warehouse):
    return warehouse.rows(
        "SELECT status, listed, fetched, inserted, updated, unchanged, deleted, failed FROM sync_runs "
        "ORDER BY started_at DESC LIMIT 1")[0]


def before_first_fetch(emulator, action):
    """Runs `action` when the emulator is first asked for label rows, then serves them: between a run's
    listing and its fetches."""
    original = emulator.store.fetch_rows

    def fetch_rows(*args, **kwargs):
        emulator.store.fetch_rows = original
        action()
        return original(*args, **kwargs)

    emulator.store.fetch_rows = fetch_rows
