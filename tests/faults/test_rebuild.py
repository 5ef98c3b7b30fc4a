"""`encord-warehouse rebuild` re-derives every label table from raw_label_rows without calling Encord,
and the result equals what the syncs wrote, column for column (synced_at, fingerprints and raw too)."""

from __future__ import annotations

import json

from click.testing import CliRunner
from pathlib import Path

from sqlalchemy import event, text

from connector.db import create_warehouse_engine

from connector import stage
from connector.cli import cli
from connector.rebuild import RebuildConfig, rebuild as rebuild_label_rows
from sync_helpers import SYNC_TABLES, run_sync, snapshot
from warehouses import Warehouse
from test_bad_input import KEPT, image_objects, write
from conftest import sample_rows
from tests.encord_emulator import clone_row

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample_export.json"


def rebuild(warehouse, *extra, expect=0):
    result = CliRunner().invoke(cli, ["rebuild", *warehouse.cli_args, *extra], catch_exceptions=False)
    assert result.exit_code == expect, result.output
    return result


def test_rebuild_equals_the_original(warehouse, encord_emulator, key_path, project, tmp_path):
    run_sync(warehouse, encord_emulator, key_path, project.hash, "--all-branches")
    encord_emulator.add_branch_row(project.hash, project.rows[0], "encord-annotator-1")
    run_sync(warehouse, encord_emulator, key_path, project.hash, "--all-branches", "--keep-deleted")
    encord_emulator.delete_row(project.rows[4]["label_hash"])
    run_sync(warehouse, encord_emulator, key_path, project.hash, "--all-branches", "--keep-deleted")
    flagged = []
    for name, (_, mutate, _) in KEPT.items():  # NaN, infinities, out-of-range coordinates: kept, flagged
        row = clone_row(sample_rows()[3], data_title=name)
        mutate(row)
        flagged.append(row)
    image_objects(flagged[0])[0]["name"] = "O'Brien; DROP TABLE branches; -- 🚗"
    result = CliRunner().invoke(cli, ["sync", "--from-export", str(write(tmp_path, "kept.jsonl", flagged)),
                                      "--project-hash", "export-project", *warehouse.cli_args])
    assert result.exit_code == 0, result.output
    exported_before_a_rename = clone_row(sample_rows()[4], data_title="exported before a rename")
    renamed = image_objects(exported_before_a_rename)[0]
    renamed["name"] = "Name in the export"  # the ontology given names it now, and rebuild does so too
    ontology_file = tmp_path / "ontology.json"
    ontology_file.write_text(json.dumps(project.ontology))
    result = CliRunner().invoke(cli, ["sync", "--from-export", str(write(tmp_path, "old.jsonl", [exported_before_a_rename])),
                                      "--project-hash", "renamed-project", "--ontology", str(ontology_file),
                                      *warehouse.cli_args])
    assert result.exit_code == 0, result.output
    ontology_name = next(o["name"] for o in project.ontology["objects"] if o["featureNodeHash"] == renamed["featureHash"])
    assert warehouse.rows("SELECT name FROM objects WHERE label_hash = :l AND object_hash = :o",
                          l=exported_before_a_rename["label_hash"], o=renamed["objectHash"]) == [(ontology_name,)]
    everything = [*SYNC_TABLES, "projects", "raw_label_rows"]
    original = snapshot(warehouse, everything, skip=set())
    assert warehouse.scalar("SELECT count(*) FROM branches WHERE deleted_at IS NOT NULL") == 1

    with warehouse.engine.begin() as connection:  # damage the derived tables
        connection.execute(text("DELETE FROM object_frames WHERE frame % 2 = 0"))
        connection.execute(text("UPDATE objects SET name = 'wrong'"))
        connection.execute(text("DELETE FROM attributes"))
    encord_emulator.log.clear()
    encord_emulator.inject("status", status=500, times=None)  # Encord is not asked anything
    output = rebuild(warehouse).output
    assert f"{len(original['branches'])} label rows rebuilt, 0 failed" in output
    assert len(encord_emulator.log) == 0
    assert snapshot(warehouse, everything, skip=set()) == original

    with warehouse.engine.begin() as connection:
        connection.execute(text("DELETE FROM object_frames"))
    rebuild(warehouse, "--project-hash", "export-project")
    assert warehouse.scalar("SELECT count(DISTINCT label_hash) FROM object_frames") == len(flagged)
    assert warehouse.rows("SELECT status, source FROM sync_runs ORDER BY started_at DESC LIMIT 1") == [("succeeded", "rebuild")]


def test_a_label_row_larger_than_duckdbs_memory_limit_rebuilds(tmp_path):
    """DuckDB-only (a memory limit of the embedded database). A long video's label row can come near
    the warehouse's DuckDB memory limit (128MB by default; a 113 MB row failed with "Out of Memory
    Error" when its archived parts were sorted by the database): here 24 MB of JSON under a 48MB limit,
    where that sort fails the same way."""
    video = next(row for row in sample_rows() if row["data_type"] == "video")
    unit = next(iter(video["data_units"].values()))
    frame = max(unit["labels"].values(), key=lambda labels: len(labels["objects"]))
    frames = 24_000_000 // len(json.dumps(frame))
    unit["labels"] = {str(number): frame for number in range(frames)}
    unit["data_duration"], unit["data_fps"] = frames, 1
    path = tmp_path / "long.json"
    path.write_text(json.dumps([video]))
    url = f"duckdb:///{tmp_path}/w.duckdb"
    result = CliRunner().invoke(cli, ["sync", "--from-export", str(path), "--db", url], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    warehouse = Warehouse("duckdb", url, None, create_warehouse_engine(url))
    everything = [*SYNC_TABLES, "raw_label_rows"]
    original = snapshot(warehouse, everything, skip=set())
    assert len(original["object_frames"]) == frames * len(frame["objects"])
    assert warehouse.scalar("SELECT count(*) FROM raw_label_rows") > 700  # parts of at most 32,000 bytes
    with warehouse.engine.begin() as connection:
        connection.execute(text("DELETE FROM object_frames"))
    warehouse.engine.dispose()

    result = CliRunner().invoke(cli, ["rebuild", "--db", f"{url}?memory_limit=48MB"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "1 label rows rebuilt, 0 failed" in result.output
    assert snapshot(warehouse, everything, skip=set()) == original
    warehouse.engine.dispose()


def test_rebuild_closes_a_transaction_at_a_syncs_volume_of_json_not_only_at_its_row_count(warehouse, monkeypatch):
    """500 label rows a batch whatever their size held 4.8 GB for 300 rows of 2.4 MB each; batches now close at
    stage.BATCH_BYTES of archived JSON as a sync's do. Counted here by the commits a rebuild makes."""
    result = CliRunner().invoke(cli, ["sync", "--from-export", str(SAMPLE), *warehouse.cli_args])
    assert result.exit_code == 0, result.output
    original = snapshot(warehouse, [*SYNC_TABLES, "raw_label_rows"], skip=set())
    label_rows, default = len(original["branches"]), stage.BATCH_BYTES
    commits = []
    event.listen(warehouse.engine, "commit", lambda connection: commits.append(1))

    def rebuilt_with(batch_bytes):
        monkeypatch.setattr(stage, "BATCH_BYTES", batch_bytes)
        commits.clear()
        outcome = rebuild_label_rows(warehouse.engine, RebuildConfig())
        assert (outcome.stats.updated, outcome.stats.failed) == (label_rows, 0)
        assert snapshot(warehouse, [*SYNC_TABLES, "raw_label_rows"], skip=set()) == original
        return len(commits)

    assert rebuilt_with(1) - rebuilt_with(default) == label_rows - 1  # one label row per transaction
    smallest = warehouse.scalar("SELECT min(n) FROM (SELECT count(*) AS n FROM raw_label_rows GROUP BY label_hash) AS p")
    assert 0 < rebuilt_with(2 * smallest * stage.ARCHIVE_PART_BYTES) - rebuilt_with(default) < label_rows - 1
