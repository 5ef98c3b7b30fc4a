"""`sync --from-export` end to end, on DuckDB and on Postgres."""

from __future__ import annotations

import fcntl
import gc
import gzip
import json
import logging
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, text, update

from connector import migrate, schema, stage, sync
from connector.cli import cli
from connector.db import DUCKDB_MEMORY_LIMIT, create_schema_if_missing, create_warehouse_engine
from connector.frames.job import extract_frames
from connector.lock import warehouse_lock
from connector.optimize import optimize
from connector.rebuild import RebuildConfig, rebuild
from connector.sources.export import ExportError
from connector.status import COUNTED_TABLES
from connector.stage import ARCHIVE_PART_BYTES
from connector.sync import ExportSyncConfig, sync_export
from connector.sync_encord import sync_encord
from connector.workers import WorkerError
from examples import sdk_sample
from sdk_counts import sdk_counts
from sync_helpers import CLI, without_info_events
from tests.encord_emulator import clone_row
from tests.test_workers import children

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "sample_export.json"
ONTOLOGY = ROOT / "examples" / "ontology.json"
LABEL_TABLES = ["data_units", "branches", "frames", "objects", "object_frames", "classifications",
                "classification_frames", "attributes", "ontology_objects", "ontology_classifications",
                "ontology_attributes", "ontology_options"]


def run_cli(warehouse, *args):
    return CliRunner().invoke(cli, [*args, *warehouse.cli_args], catch_exceptions=False)


def snapshot(warehouse, skip_columns=("synced_at",)):
    tables = {}
    for name in LABEL_TABLES:
        columns = [c.name for c in schema.metadata.tables[name].columns if c.name not in skip_columns]
        cast = [f"CAST({c} AS VARCHAR)" if c in ("points", "rings", "geometry") else c for c in columns]
        tables[name] = sorted(warehouse.rows(f"SELECT {', '.join(cast)} FROM {name}"), key=repr)
    return tables


def test_migrations_create_exactly_the_schema(warehouse):
    """What migrations build equals connector/schema.py: columns, nullability, keys, indexes."""
    migrate.upgrade(warehouse.engine)
    assert migrate.current_revision(warehouse.engine) == migrate.head_revision()
    if warehouse.dialect == "postgresql":
        with warehouse.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, schema.metadata) == []
    current = "current_schema()"
    columns = warehouse.rows(
        "SELECT c.table_name, c.column_name, c.is_nullable FROM information_schema.columns c "
        "JOIN information_schema.tables t ON t.table_name = c.table_name AND t.table_schema = c.table_schema "
        f"WHERE t.table_type = 'BASE TABLE' AND c.table_schema = {current}")
    expected = [(t.name, c.name, "YES" if c.nullable else "NO") for t in schema.metadata.sorted_tables for c in t.columns]
    assert sorted(c for c in columns if c[0] != "alembic_version") == sorted(expected)
    keys = warehouse.rows(
        "SELECT k.table_name, k.column_name FROM information_schema.table_constraints c "
        "JOIN information_schema.key_column_usage k ON k.constraint_name = c.constraint_name "
        f"AND k.table_name = c.table_name AND k.table_schema = c.table_schema "
        f"WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = {current}")
    keyed = [t for t in schema.metadata.sorted_tables
             if warehouse.dialect == "postgresql" or t not in schema.UNKEYED_ON_DUCKDB]
    expected_keys = [(t.name, c.name) for t in keyed for c in t.primary_key.columns]
    assert sorted(k for k in keys if k[0] != "alembic_version") == sorted(expected_keys)
    if warehouse.dialect == "duckdb":
        indexes = warehouse.rows("SELECT index_name FROM duckdb_indexes() WHERE schema_name = current_schema()")
    else:
        indexes = warehouse.rows("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND indexname LIKE 'ix_%'")
    expected_indexes = [i.name for t in keyed for i in t.indexes]
    assert sorted(name for (name,) in indexes) == sorted(expected_indexes)


def test_downgrade_to_base_and_back(warehouse):
    migrate.upgrade(warehouse.engine)
    migrate.downgrade(warehouse.engine, "base")
    assert migrate.current_revision(warehouse.engine) is None
    migrate.upgrade(warehouse.engine)
    assert warehouse.scalar("SELECT count(*) FROM object_frames") == 0


def test_a_warehouse_at_the_newest_revision_is_checked_without_alembic(warehouse):
    """SCHEMA_REVISION is Alembic's head; a warehouse at it is checked with one query, Alembic not even imported."""
    assert migrate.SCHEMA_REVISION == migrate.head_revision()
    probe = ("import sys; from connector import migrate; from connector.db import create_warehouse_engine; "
             "engine = create_warehouse_engine(sys.argv[1], sys.argv[2] or None); migrate.upgrade(engine); "
             "engine.dispose(); print('alembic' in sys.modules)")

    def upgrade_imports_alembic() -> str:
        warehouse.engine.dispose()  # DuckDB: one process at a time
        return subprocess.run([sys.executable, "-c", probe, warehouse.url, warehouse.schema or ""], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()

    assert upgrade_imports_alembic() == "True"  # a new warehouse: migrated
    assert migrate.current_revision(warehouse.engine) == migrate.SCHEMA_REVISION
    assert upgrade_imports_alembic() == "False"


def test_sample_export_matches_what_the_sdk_reports(warehouse):
    result = sync_export(warehouse.engine, ExportSyncConfig(str(SAMPLE), "proj", str(ONTOLOGY)))
    rows = json.loads(SAMPLE.read_text())
    ontology = json.loads(ONTOLOGY.read_text())
    assert result.ok and result.stats.inserted == len(rows)
    assert {t for (t,) in warehouse.rows("SELECT DISTINCT data_type FROM data_units")} >= {"video", "image", "img_group", "dicom"}
    for row in rows:
        expected = sdk_counts(row, ontology)
        label_hash = row["label_hash"]
        assert warehouse.scalar("SELECT count(*) FROM objects WHERE label_hash = :h", h=label_hash) == expected.object_instances
        per_frame = dict(warehouse.rows(
            "SELECT frame, count(*) FROM object_frames WHERE label_hash = :h GROUP BY frame", h=label_hash))
        assert per_frame == expected.annotations_per_frame
        assert warehouse.scalar(
            "SELECT count(*) FROM classification_frames WHERE label_hash = :h", h=label_hash
        ) == expected.classification_frame_count
        answers = Counter(dict(warehouse.rows(
            "SELECT dynamic, count(*) FROM attributes WHERE label_hash = :h GROUP BY dynamic", h=label_hash)))
        assert answers[False] == expected.static_answer_rows
        assert answers[True] == expected.dynamic_answer_rows
        assert warehouse.scalar("SELECT branch_name FROM branches WHERE label_hash = :h", h=label_hash) == expected.branch_name


def test_rerunning_the_same_export_leaves_identical_tables(warehouse):
    config = ExportSyncConfig(str(SAMPLE), "proj", str(ONTOLOGY))
    sync_export(warehouse.engine, config)
    first = snapshot(warehouse, skip_columns=())
    again = sync_export(warehouse.engine, config)
    assert again.stats.unchanged == again.stats.listed and again.stats.inserted == again.stats.updated == 0
    assert snapshot(warehouse, skip_columns=()) == first
    refreshed = sync_export(warehouse.engine, ExportSyncConfig(str(SAMPLE), "proj", str(ONTOLOGY), full_refresh=True))
    assert refreshed.stats.updated == refreshed.stats.listed
    assert snapshot(warehouse) == {name: sorted_rows for name, sorted_rows in snapshot_without_synced_at(first).items()}
    assert repeated_keys(warehouse) == {}


def repeated_keys(warehouse) -> dict[str, int]:
    """Key values stored more than once, per table: none, though DuckDB does not enforce these keys."""
    repeated = {}
    for table in schema.UNKEYED_ON_DUCKDB:
        keys = ", ".join(c.name for c in table.primary_key.columns)
        count = warehouse.scalar(
            f"SELECT count(*) FROM (SELECT {keys} FROM {table.name} GROUP BY {keys} HAVING count(*) > 1) AS r")
        if count:
            repeated[table.name] = count
    return repeated


def snapshot_without_synced_at(tables):
    # `synced_at` is the 11th column of branches; the other tables do not have it.
    position = [c.name for c in schema.branches.columns].index("synced_at")
    stripped = dict(tables)
    stripped["branches"] = sorted((row[:position] + row[position + 1:] for row in tables["branches"]), key=repr)
    return stripped


def test_consensus_branches_share_one_data_unit(warehouse, tmp_path):
    rows = [row.to_encord_dict() for row in sdk_sample.consensus_rows(7)]
    export = tmp_path / "consensus.json"
    export.write_text(json.dumps(rows))
    sync_export(warehouse.engine, ExportSyncConfig(str(export), "proj"))
    assert warehouse.scalar("SELECT count(*) FROM data_units") == 1
    branches = warehouse.rows("SELECT branch_name, count(*) FROM branches GROUP BY branch_name ORDER BY branch_name")
    assert len(branches) == len(rows) and all(count == 1 for _, count in branches)
    per_branch = dict(warehouse.rows(
        "SELECT b.branch_name, count(*) FROM object_frames o JOIN branches b USING (label_hash) GROUP BY b.branch_name"))
    assert per_branch == {row["branch_name"]: sdk_counts(row, sdk_sample.build_ontology()).object_annotations for row in rows}


def test_without_an_ontology_names_come_from_the_label_rows(warehouse):
    sync_export(warehouse.engine, ExportSyncConfig(str(SAMPLE), "proj"))
    assert warehouse.scalar("SELECT count(*) FROM ontology_objects") == 0
    rows = json.loads(SAMPLE.read_text())
    unit = next(iter(rows[0]["data_units"].values()))
    first = next(o for labels in unit["labels"].values() for o in labels["objects"])
    assert warehouse.rows(
        "SELECT name, color, shape FROM objects WHERE label_hash = :h AND object_hash = :o",
        h=rows[0]["label_hash"], o=first["objectHash"],
    ) == [(first["name"], first["color"], first["shape"])]


def bad_export(tmp_path, good_rows):
    unknown_shape = json.loads(json.dumps(good_rows[1]))
    unknown_shape["label_hash"] = "bad-shape"
    for unit in unknown_shape["data_units"].values():
        for labels in unit["labels"].values():
            for obj in labels["objects"]:
                obj["shape"] = "hexagon"
    text_coordinate = json.loads(json.dumps(good_rows[1]))
    text_coordinate["label_hash"] = "bad-coordinate"
    unit = next(iter(text_coordinate["data_units"].values()))
    for labels in unit["labels"].values():
        for obj in labels["objects"]:
            if obj["shape"] == "bounding_box":
                obj["boundingBox"]["x"] = "left"
    bad_frame = json.loads(json.dumps(good_rows[1]))
    bad_frame["label_hash"] = "bad-frame"
    next(iter(bad_frame["data_units"].values()))["labels"]["ten"] = {"objects": [], "classifications": []}
    missing_key = {"label_hash": "bad-missing", "data_title": "x.mp4", "data_type": "video"}
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps([good_rows[0], unknown_shape, text_coordinate, bad_frame, missing_key, good_rows[1]]))
    return path


def test_bad_rows_are_quarantined_and_the_rest_load(warehouse, tmp_path):
    good = [r for r in json.loads(SAMPLE.read_text()) if r["data_type"] == "video"][:2]
    path = bad_export(tmp_path, good)
    result = run_cli(warehouse, "sync", "--from-export", str(path), "--project-hash", "proj")
    assert result.exit_code == 1
    summary = result.stderr.strip().splitlines()[-1]
    assert summary.startswith("encord-warehouse: 4 of 6 label rows failed and are recorded in sync_errors")
    assert "Traceback" not in result.output + result.stderr
    errors = {label_hash: (field, reason) for label_hash, field, reason in warehouse.rows(
        "SELECT label_hash, field, reason FROM sync_errors")}
    assert errors["bad-shape"][1] == "unknown shape 'hexagon'"
    assert errors["bad-coordinate"][0].endswith("boundingBox.x") and "expected a number" in errors["bad-coordinate"][1]
    assert "labels['ten']" in errors["bad-frame"][0]
    assert errors["bad-missing"] == ("data_hash", "missing")
    loaded = {h for (h,) in warehouse.rows("SELECT label_hash FROM branches")}
    assert loaded == {good[0]["label_hash"], good[1]["label_hash"]}
    assert warehouse.scalar("SELECT status FROM sync_runs") == "partial"


@pytest.mark.parametrize("rows", [1, 2])
def test_a_sync_whose_every_row_fails_says_so(warehouse, tmp_path, rows):
    path = tmp_path / "bad.jsonl"
    path.write_text("".join(json.dumps({"data_title": f"x{n}.mp4", "data_type": "video"}) + "\n" for n in range(rows)))
    result = run_cli(warehouse, "sync", "--from-export", str(path))
    run_id = warehouse.scalar("SELECT run_id FROM sync_runs")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == ("encord-warehouse: " + (
        "the one label row failed and is" if rows == 1 else f"all {rows} label rows failed and are") +
        f" recorded in sync_errors (run {run_id})")
    assert warehouse.rows("SELECT field FROM sync_errors") == [("label_hash",)] * rows
    assert warehouse.scalar("SELECT count(*) FROM branches") == 0


def test_an_ontology_given_as_the_export_is_named_as_such(warehouse):
    result = run_cli(warehouse, "sync", "--from-export", str(ONTOLOGY))
    reason = "missing: this is an ontology (OntologyStructure.to_dict()), not a label row"
    assert result.exit_code == 1 and f"error: {ONTOLOGY.name}: label_hash: {reason}\n" in result.stderr
    assert warehouse.rows("SELECT field, reason, source FROM sync_errors") == [("label_hash", reason, ONTOLOGY.name)]


def test_a_row_that_turns_bad_keeps_its_last_good_version(warehouse, tmp_path):
    good = json.loads(SAMPLE.read_text())[0]
    path = tmp_path / "one.json"
    path.write_text(json.dumps([good]))
    sync_export(warehouse.engine, ExportSyncConfig(str(path), "proj"))
    before = warehouse.scalar("SELECT count(*) FROM object_frames WHERE label_hash = :h", h=good["label_hash"])
    broken = json.loads(json.dumps(good))
    next(iter(broken["data_units"].values()))["labels"]["x"] = {"objects": []}
    path.write_text(json.dumps([broken]))
    result = sync_export(warehouse.engine, ExportSyncConfig(str(path), "proj"))
    assert result.stats.failed == 1
    assert warehouse.scalar("SELECT count(*) FROM object_frames WHERE label_hash = :h", h=good["label_hash"]) == before > 0


def test_a_failed_run_the_warehouse_cannot_record_fails_with_its_own_error(warehouse, tmp_path, caplog):
    """If recording the failed run fails too (here sync_runs is renamed away while the sync reads a
    pipe), the sync raises its own error, not the warehouse's, and a warning says it went unrecorded."""
    row = json.loads(SAMPLE.read_text())[0]
    pipe = tmp_path / "export.json"
    os.mkfifo(pipe)
    raised: list[BaseException] = []

    def run() -> None:
        try:
            sync_export(warehouse.engine, ExportSyncConfig(str(pipe), "proj", workers=0))
        except Exception as error:
            raised.append(error)

    syncing = threading.Thread(target=run)
    with caplog.at_level(logging.WARNING, logger="encord_warehouse.sync"):
        syncing.start()
        with open(pipe, "wb", buffering=0) as sink:  # opens once the sync reads: its run is recorded
            sink.write(b"[" + json.dumps(row).encode() + b",")
            assert warehouse.scalar("SELECT status FROM sync_runs") == "running"
            with warehouse.engine.begin() as connection:
                connection.execute(text("ALTER TABLE sync_runs RENAME TO sync_runs_away"))
            sink.write(b"{ not json ]")
        syncing.join(timeout=120)

    assert len(raised) == 1 and isinstance(raised[0], ExportError), raised
    assert "sync_runs" not in str(raised[0])
    unrecorded = [record for record in caplog.records if getattr(record, "event", None) == "run_not_recorded"]
    assert len(unrecorded) == 1 and "sync_runs" in unrecorded[0].getMessage()
    assert warehouse.scalar("SELECT status FROM sync_runs_away") == "running"  # the next run closes it


def test_a_sync_marks_every_dead_locked_run_interrupted_but_leaves_frame_jobs_alone(warehouse):
    """Runs left 'running' by a killed process, of another project and source too (a one-off project's
    would otherwise stay running for good): the next run that holds the writer's lock marks them
    interrupted. An extract-frames run may be alive beside it (it takes no lock on Postgres): left alone."""
    migrate.upgrade(warehouse.engine)
    dead = [("r-encord", "encord", "other-project"), ("r-export", "export", None), ("r-rebuild", "rebuild", None),
            ("r-frames", "extract-frames", None)]
    with warehouse.engine.begin() as connection:
        for run_id, source, project_hash in dead:
            connection.execute(text("INSERT INTO sync_runs (run_id, source, project_hash, started_at, status) "
                                    "VALUES (:r, :s, :p, CURRENT_TIMESTAMP, 'running')"),
                               {"r": run_id, "s": source, "p": project_hash})
    assert run_cli(warehouse, "sync", "--from-export", str(SAMPLE), "--project-hash", "proj").exit_code == 0
    assert warehouse.rows("SELECT run_id, status FROM sync_runs WHERE run_id LIKE 'r-%' ORDER BY run_id") == [
        ("r-encord", "interrupted"), ("r-export", "interrupted"), ("r-frames", "running"),
        ("r-rebuild", "interrupted")]


def test_many_workers_start_no_more_processes_than_the_chunks_in_flight(warehouse, tmp_path, monkeypatch):
    """--workers 64 on a small machine must not start 64 processes: chunks of at most two batches
    are in flight at once (the one writing and the one read next), and a process starts only for a
    chunk that finds none idle."""
    monkeypatch.setattr(sync, "CHUNK_BYTES", 40_000)
    monkeypatch.setattr(stage, "BATCH_BYTES", 250_000)
    before = children()
    started: list[int] = []
    result = sync_export(warehouse.engine, ExportSyncConfig(str(SAMPLE), "proj", str(ONTOLOGY), workers=64),
                         on_progress=lambda rows: started.append(len(children() - before)))
    rows = json.loads(SAMPLE.read_text())
    assert (result.stats.inserted, result.stats.failed) == (len(rows), 0)
    assert len(started) >= 4  # batches
    assert 0 < max(started) <= 2 * (250_000 // 40_000 + 1)
    assert not children() - before  # (an earlier test's unreaped child may have been reaped meanwhile)


def test_worker_processes_load_what_the_sync_process_loads(warehouse, other_warehouse, tmp_path, monkeypatch, caplog):
    """With chunks and batches small enough that worker processes normalize most rows, that
    consensus branches of one data unit land in different chunks, and that a label row which comes
    twice in a row is split into two batches, the tables equal those of a sync that normalizes in its own process;
    a bad row is quarantined from inside a worker; a chunk with NaN tokens is read too."""
    rows = json.loads(SAMPLE.read_text())
    branches = [row.to_encord_dict() for row in sdk_sample.consensus_rows(4)]
    edited = json.loads(json.dumps(rows[0]))
    next(labels for labels in next(iter(edited["data_units"].values()))["labels"].values() if labels["objects"])[
        "objects"].pop()
    with_nan = json.loads(json.dumps(rows[1]))
    with_nan["label_hash"] = "with-nan"
    next(o for labels in next(iter(with_nan["data_units"].values()))["labels"].values() for o in labels["objects"]
         if o["shape"] == "bounding_box")["boundingBox"]["x"] = float("nan")
    bad = json.loads(bad_export(tmp_path, rows[:2]).read_text())[1]
    path = tmp_path / "export.json"
    path.write_text(json.dumps([rows[0], edited, *rows[1:], *branches, bad, with_nan], allow_nan=True))
    monkeypatch.setattr(sync, "CHUNK_BYTES", 40_000)
    monkeypatch.setattr(stage, "BATCH_BYTES", 250_000)

    with caplog.at_level(logging.INFO, logger="encord_warehouse.sync"):
        pooled = sync_export(warehouse.engine, ExportSyncConfig(str(path), "proj", str(ONTOLOGY), workers=2))
    assert [record.workers for record in caplog.records if getattr(record, "event", None) == "workers_started"] == [2]
    alone = sync_export(other_warehouse.engine, ExportSyncConfig(str(path), "proj", str(ONTOLOGY), workers=0))

    assert repr(snapshot(warehouse)) == repr(snapshot(other_warehouse))  # repr: NaN == NaN
    assert pooled.stats == alone.stats
    assert (pooled.stats.fetched, pooled.stats.inserted, pooled.stats.updated, pooled.stats.failed) == (
        len(rows) + len(branches) + 3, len(rows) + len(branches) + 1, 1, 1)
    assert warehouse.rows("SELECT label_hash, reason FROM sync_errors WHERE kept IS NULL") == [
        ("bad-shape", "unknown shape 'hexagon'")]
    expected = sdk_counts(edited, json.loads(ONTOLOGY.read_text())).object_annotations
    assert warehouse.scalar("SELECT count(*) FROM object_frames WHERE label_hash = :h", h=edited["label_hash"]) == expected
    assert warehouse.scalar("SELECT count(*) FROM data_units WHERE data_hash = :d", d=branches[0]["data_hash"]) == 1
    assert warehouse.scalar("SELECT count(*) FROM object_frames WHERE label_hash = 'with-nan' AND problems IS NOT NULL") == 1


def test_a_data_unit_of_several_branches_keeps_the_later_rows_facts_however_chunks_fall(warehouse, other_warehouse,
                                                                                       tmp_path, monkeypatch):
    """Two branches of one video whose title changed between the exports they came from: the later row's
    title is kept whether the two are in one chunk or in chunks apart, in worker processes or not; a rebuild
    keeps the last edited branch's, whatever order the database returns rows in."""
    old, new = (row.to_encord_dict() for row in sdk_sample.consensus_rows(6, annotators=1))
    old.update(data_title="OLD.mp4", last_edited_at="2024-01-01 10:00:00")
    new.update(data_title="NEW.mp4", last_edited_at="2024-01-02 10:00:00", label_hash="0-edited-last")
    padding = json.loads(SAMPLE.read_text())
    monkeypatch.setattr(sync, "CHUNK_BYTES", 40_000)
    exports = {"together": [*padding, old, new], "apart": [old, *padding, new]}
    for (name, rows), (target, workers) in zip(exports.items(), ((warehouse, 2), (other_warehouse, 0))):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(rows))
        sync_export(target.engine, ExportSyncConfig(str(path), "proj", str(ONTOLOGY), workers=workers))
        assert target.rows("SELECT data_title FROM data_units WHERE data_hash = :d", d=old["data_hash"]) == [
            ("NEW.mp4",)], name
    for batch_size in (500, 1):  # the two in one transaction; each in its own
        rebuild(warehouse.engine, RebuildConfig(batch_size=batch_size))
        assert warehouse.rows("SELECT data_title FROM data_units WHERE data_hash = :d", d=old["data_hash"]) == [
            ("NEW.mp4",)], batch_size


def test_a_sync_in_a_terminal_shows_a_progress_bar_and_loads(warehouse, tmp_path):
    """stderr on a terminal (a pty, as an interactive user has it): a tqdm bar, and the rows load (until
    2026-11-29 asking the bar, which has no total, for its truth value crashed every such sync)."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a new pty is 0 columns wide
    seen = bytearray()
    reader = threading.Thread(target=lambda: _drain(controller, seen), daemon=True)
    reader.start()
    try:
        result = subprocess.run([*CLI, "sync",
                                 "--from-export", str(SAMPLE), *warehouse.cli_args],
                                stdout=subprocess.PIPE, stderr=terminal, text=True, timeout=300, cwd=ROOT)
    finally:
        os.close(terminal)
        reader.join(timeout=10)
        os.close(controller)
    rows = len(json.loads(SAMPLE.read_text()))
    assert result.returncode == 0, seen.decode(errors="replace")[-2000:]
    assert f"{rows} inserted" in result.stdout
    assert f"sync: {rows} rows" in seen.decode(errors="replace")
    assert warehouse.scalar("SELECT COUNT(*) FROM branches") == rows


def test_a_sync_whose_output_reader_left_exits_with_the_pipes_code_and_no_traceback(warehouse):
    """`sync | head -1`: the report hits a closed pipe; the rows are loaded, stderr has the run's events only, and the code
    is the shell's for a pipe's end (141), not 1, which says rows failed."""
    warehouse.engine.dispose()
    process = subprocess.Popen([*CLI, "sync",
                                "--from-export", str(SAMPLE), *warehouse.cli_args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    process.stdout.close()  # the reader is gone before the report
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141
    assert [line.split()[2:4] for line in stderr.splitlines()] == [  # the run's events, no error, no traceback
        ["info", "sync"], ["info", "batch"], ["info", "sync"]]
    assert warehouse.scalar("SELECT COUNT(*) FROM branches") == len(json.loads(SAMPLE.read_text()))


def test_a_sync_started_with_stderr_closed_loads_and_opens_no_file_on_its_number(warehouse, tmp_path):
    """`2>&-` in a scheduler's command: until 2026-11-30 sync did nothing and exited 1, silently (its progress bar
    asked the missing stderr whether it was a terminal), and a DuckDB lock file opened on descriptor 2."""
    warehouse.engine.dispose()
    listing = tmp_path / "descriptors.txt"
    probe = (f"import atexit, os; atexit.register(lambda: open({str(listing)!r}, 'w').write("
             "os.readlink('/proc/self/fd/2'))); from connector.cli import main; main()")
    process = subprocess.run([sys.executable, "-c", probe, "sync", "--from-export", str(SAMPLE), *warehouse.cli_args],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT, timeout=120,
                             preexec_fn=lambda: os.close(2))
    assert process.returncode == 0, process.stdout[-2000:]
    assert warehouse.scalar("SELECT COUNT(*) FROM branches") == len(json.loads(SAMPLE.read_text()))
    assert listing.read_text() == os.devnull


def test_output_the_machine_refuses_is_one_line_and_exit_code_2(warehouse):
    """stdout on a full disk (/dev/full): until 2026-11-30 a traceback and exit code 1, the code of a run with failed
    label rows, as for a reached open-files, memory or thread limit."""
    run_cli(warehouse, "sync", "--from-export", str(SAMPLE))
    warehouse.engine.dispose()
    with open("/dev/full", "w") as full:
        process = subprocess.run([*CLI, "status", *warehouse.cli_args], stdout=full, stderr=subprocess.PIPE,
                                 text=True, cwd=ROOT, timeout=120)
    assert (process.returncode, process.stderr) == (
        2, "encord-warehouse: OSError: [Errno 28] No space left on device (a full disk)\n")
    with open("/dev/full", "w") as full:  # a scheduled loop's run too (its report on stdout)
        process = subprocess.run([*CLI, "sync", "--from-export", str(SAMPLE), "--every", "1s", "--max-runs", "1",
                                  *warehouse.cli_args], stdout=full, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                                 timeout=120)
    assert (process.returncode, process.stderr.splitlines()[-1]) == (
        2, "encord-warehouse: OSError: [Errno 28] No space left on device (a full disk)")


def _drain(descriptor, into: bytearray) -> None:
    while True:
        try:
            chunk = os.read(descriptor, 4096)
        except OSError:  # the terminal's other end closed
            return
        if not chunk:
            return
        into.extend(chunk)


def test_a_bad_rows_line_escapes_line_breaks_in_its_title(warehouse, tmp_path):
    """A title with a newline, tab or Unicode line separator still gives one line per bad row; sync_errors
    keeps the title as it is."""
    row = json.loads(bad_export(tmp_path, json.loads(SAMPLE.read_text())[:2]).read_text())[1]
    assert row["label_hash"] == "bad-shape"
    row["data_title"] = "night\nshift\tcam\u2028two.mp4"
    path = tmp_path / "export.json"
    path.write_text(json.dumps([row]))
    result = run_cli(warehouse, "sync", "--from-export", str(path))
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if "bad-shape" in line]
    assert lines == ["error: label row bad-shape (night\\nshift\\tcam\\u2028two.mp4): "
                     + lines[0].split("two.mp4): ", 1)[1]]
    assert "unknown shape 'hexagon'" in lines[0] and len(without_info_events(result.stderr)) == 2
    assert warehouse.rows("SELECT data_title FROM sync_errors") == [("night\nshift\tcam\u2028two.mp4",)]


def test_non_finite_numbers_in_polygons_and_raw_geometry_rebuild_as_synced(warehouse, tmp_path):
    """NaN in a polygon's hole and an ellipse's radius (as Python's json writes them): the sync stores them
    flagged, and a rebuild from the archive, which spells them as text, stores the same."""
    row = json.loads(SAMPLE.read_text())[0]
    objects = next(labels["objects"] for labels in next(iter(row["data_units"].values()))["labels"].values()
                   if labels["objects"])
    box = objects[0]
    objects.append({**{k: v for k, v in box.items() if k != "boundingBox"}, "objectHash": "ring-nan", "shape": "polygon",
                    "polygon": {"0": {"x": 0.1, "y": 0.1}, "1": {"x": 0.9, "y": 0.1}, "2": {"x": 0.5, "y": 0.9}},
                    "polygons": [[[0.1, 0.1, 0.9, 0.1, 0.5, 0.9], [0.4, float("nan"), 0.6, 0.4, 0.5, 0.6]]]})
    objects.append({**{k: v for k, v in box.items() if k != "boundingBox"}, "objectHash": "ellipse-nan",
                    "shape": "ellipse", "ellipse": {"x": 0.5, "y": 0.5, "rx": float("inf"), "ry": 0.1, "theta": 0.0}})
    path = tmp_path / "export.json"
    path.write_text(json.dumps([row], allow_nan=True))
    assert run_cli(warehouse, "sync", "--from-export", str(path)).exit_code == 0
    assert warehouse.rows("SELECT object_hash, problems FROM object_frames WHERE object_hash IN ('ellipse-nan', "
                          "'ring-nan') ORDER BY object_hash") == [("ellipse-nan", "geometry.rx=inf not finite"),
                                                                  ("ring-nan", "polygons[0][1][1]=nan not finite")]
    synced = snapshot(warehouse)
    assert run_cli(warehouse, "rebuild").exit_code == 0
    assert snapshot(warehouse) == synced


def test_a_worker_that_dies_fails_the_run_and_the_next_run_converges(warehouse, other_warehouse, tmp_path,
                                                                     monkeypatch):
    """A worker process killed (SIGKILL, as the out-of-memory killer does) while it normalizes: the run
    fails with one error, the label rows it had committed are whole, and the next run makes the
    warehouse what a clean sync makes it."""
    rows = json.loads(SAMPLE.read_text())
    path = tmp_path / "export.json"
    path.write_text(json.dumps(rows))
    monkeypatch.setattr(sync, "CHUNK_BYTES", 40_000)
    monkeypatch.setattr(stage, "BATCH_BYTES", 250_000)
    monkeypatch.setenv("ENCORD_WAREHOUSE_TEST_KILL_AT", "prepare:3")  # read by each worker process as it starts
    with pytest.raises(WorkerError, match=r"^a worker process ended unexpectedly \(exit code -9\)$"):
        sync_export(warehouse.engine, ExportSyncConfig(str(path), "proj", str(ONTOLOGY), workers=2))
    assert warehouse.rows("SELECT status FROM sync_runs") == [("failed",)]
    ontology = json.loads(ONTOLOGY.read_text())
    for row in rows:
        stored = warehouse.scalar("SELECT count(*) FROM object_frames WHERE label_hash = :h", h=row["label_hash"])
        assert stored in (0, sdk_counts(row, ontology).object_annotations)

    monkeypatch.delenv("ENCORD_WAREHOUSE_TEST_KILL_AT")
    sync_export(warehouse.engine, ExportSyncConfig(str(path), "proj", str(ONTOLOGY), workers=2))
    sync_export(other_warehouse.engine, ExportSyncConfig(str(path), "proj", str(ONTOLOGY), workers=0))
    assert snapshot(warehouse) == snapshot(other_warehouse)


def test_the_command_reports_a_dead_worker_in_one_line(warehouse, tmp_path):
    """The console script, on an export large enough to start workers and give each two chunks, each killed
    at its second chunk (the sync's own process normalizes only the first)."""
    rows = json.loads(SAMPLE.read_text())
    path = tmp_path / "export.json"
    path.write_text(json.dumps([clone_row(row) for _ in range(10) for row in rows]))  # 11 MB
    done = subprocess.run([str(Path(sys.executable).with_name("encord-warehouse")), "sync", "--from-export", str(path),
                           "--workers", "2", *warehouse.cli_args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "ENCORD_WAREHOUSE_TEST_KILL_AT": "prepare:2"})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "encord-warehouse: a worker process ended unexpectedly (exit code -9)"), done.stderr
    assert "Traceback" not in done.stderr
    assert warehouse.rows("SELECT status FROM sync_runs") == [("failed",)]


def test_a_label_row_that_comes_twice_ends_as_its_last_version(warehouse, tmp_path):
    """The second version is compared with the first, not with what the warehouse held before the run
    (the first may still be writing when the second is looked at)."""
    old = json.loads(SAMPLE.read_text())[0]
    new = json.loads(json.dumps(old))
    next(labels for labels in next(iter(new["data_units"].values()))["labels"].values() if labels["objects"])[
        "objects"].pop()
    path = tmp_path / "export.json"
    path.write_text(json.dumps([old]))
    sync_export(warehouse.engine, ExportSyncConfig(str(path), "proj"))
    path.write_text(json.dumps([new, old]))
    result = sync_export(warehouse.engine, ExportSyncConfig(str(path), "proj", batch_size=1))
    assert (result.stats.updated, result.stats.unchanged) == (2, 0)
    expected = sdk_counts(old, json.loads(ONTOLOGY.read_text())).object_annotations
    assert warehouse.scalar("SELECT count(*) FROM object_frames WHERE label_hash = :h", h=old["label_hash"]) == expected
    path.write_text(json.dumps([new, new]))  # the same copy again is not written again
    result = sync_export(warehouse.engine, ExportSyncConfig(str(path), "proj"))
    assert (result.stats.updated, result.stats.unchanged) == (1, 1)
    assert warehouse.scalar("SELECT count(*) FROM object_frames WHERE label_hash = :h", h=old["label_hash"]) == expected - 1


def test_full_exports_collected_in_a_directory_write_each_row_once(warehouse, tmp_path):
    """A folder that gets a full export every day: each sync writes a label row once, from the newest
    file, and a sync of the same folder again reads nothing (export_files: the files are as read)."""
    rows = json.loads(SAMPLE.read_text())
    edited = json.loads(json.dumps(rows[0]))
    next(labels for labels in next(iter(edited["data_units"].values()))["labels"].values() if labels["objects"])[
        "objects"].pop()
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "2026-11-01.json").write_text(json.dumps(rows))
    (folder / "2026-11-02.json").write_text(json.dumps([edited, *rows[1:]]))
    first = sync_export(warehouse.engine, ExportSyncConfig(str(folder), "proj"))
    assert (first.stats.fetched, first.stats.inserted, first.stats.updated) == (len(rows), len(rows), 0)
    again = sync_export(warehouse.engine, ExportSyncConfig(str(folder), "proj"))
    assert (again.stats.fetched, again.stats.inserted, again.stats.updated) == (0, 0, 0)
    expected = sdk_counts(edited, json.loads(ONTOLOGY.read_text())).object_annotations
    assert expected == sdk_counts(rows[0], json.loads(ONTOLOGY.read_text())).object_annotations - 1
    assert warehouse.scalar("SELECT count(*) FROM object_frames WHERE label_hash = :h", h=edited["label_hash"]) == expected


def test_a_bad_json_line_is_recorded_and_the_rest_load(warehouse, tmp_path):
    rows = json.loads(SAMPLE.read_text())[:3]
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join([json.dumps(rows[0]), '{"label_hash": "cut-off", "data_units": {', *map(json.dumps, rows[1:])]))
    result = sync_export(warehouse.engine, ExportSyncConfig(str(path), "proj"))
    assert (result.stats.inserted, result.stats.failed) == (3, 1)
    [(label_hash, field, reason, source)] = warehouse.rows("SELECT label_hash, field, reason, source FROM sync_errors")
    assert (label_hash, field, source) == (None, "<json>", "rows.jsonl:2") and reason.startswith("invalid JSON: ")


@pytest.mark.parametrize("name", ["rows.json", "rows.jsonl"])
def test_a_row_not_in_utf8_is_recorded_naming_the_byte_and_where_it_is(warehouse, tmp_path, name):
    """A title saved as Latin-1 by some tool: that row is quarantined, the rest load."""
    rows = json.loads(SAMPLE.read_text())[:3]
    rows[1]["data_title"] = "caf\u00e9.mp4"
    texts = [json.dumps(row, ensure_ascii=False).encode("latin-1" if row is rows[1] else "utf-8") for row in rows]
    path = tmp_path / name
    path.write_bytes(b"\n".join(texts) if name.endswith("jsonl") else b"[" + b",".join(texts) + b"]")
    result = sync_export(warehouse.engine, ExportSyncConfig(str(path), "proj"))
    assert (result.stats.inserted, result.stats.failed) == (2, 1)
    at = texts[1].index(b"\xe9")
    assert warehouse.rows("SELECT label_hash, field, reason, source FROM sync_errors") == [(
        rows[1]["label_hash"], "<json>", f"invalid JSON: not UTF-8 (byte 0xe9): line 1 column {at + 1} (char {at})",
        "rows.json[1]" if name == "rows.json" else "rows.jsonl:2")]


def test_the_raw_archive_is_each_row_as_the_file_has_it_in_parts_cut_between_characters(warehouse, tmp_path):
    """Parts end every ARCHIVE_PART_BYTES bytes, moved back so that no character is split; the view
    joins them back into the row's text as the file has it, multi-byte characters and spacing included."""
    rows = json.loads(SAMPLE.read_text())[:2]
    rows[0]["note"] = "caf\u00e9 \u6f22\U0001f697|" * 20000  # 2-, 3- and 4-byte characters across part ends
    texts = [json.dumps(rows[0], ensure_ascii=False, indent=1), json.dumps(rows[1])]
    path = tmp_path / "rows.json"
    path.write_text("[" + ",\n".join(texts) + "]", encoding="utf-8")
    result = sync_export(warehouse.engine, ExportSyncConfig(str(path), "proj"))
    assert (result.stats.inserted, result.stats.failed) == (2, 0)
    for row, row_text in zip(rows, texts):
        parts = [part for (part,) in warehouse.rows(
            "SELECT json_text FROM raw_label_rows WHERE label_hash = :h ORDER BY part", h=row["label_hash"])]
        assert "".join(parts) == row_text
        sizes = [len(part.encode()) for part in parts]
        assert all(size <= ARCHIVE_PART_BYTES for size in sizes)
        assert any(size < ARCHIVE_PART_BYTES for size in sizes[:-1]) == (row is rows[0])  # an end moved back
        assert warehouse.scalar("SELECT CAST(raw AS VARCHAR) FROM label_row_json WHERE label_hash = :h",
                                h=row["label_hash"]) == row_text


def test_batches_read_before_a_broken_tail_are_committed(warehouse, tmp_path):
    """Batches are written in a second thread while the next is read: when reading fails, every
    batch already complete is committed, nothing of the incomplete one, and the run is failed."""
    rows = json.loads(SAMPLE.read_text())
    text = json.dumps(rows)
    cut = text.index(json.dumps(rows[5])) + 40  # inside the sixth row
    path = tmp_path / "broken.json"
    path.write_text(text[:cut])
    with pytest.raises(ExportError, match="broken.json: invalid JSON in item 5"):
        sync_export(warehouse.engine, ExportSyncConfig(str(path), "proj", batch_size=2))
    stored = {h for (h,) in warehouse.rows("SELECT label_hash FROM branches")}
    assert stored == {row["label_hash"] for row in rows[:4]}
    assert warehouse.scalar("SELECT count(*) FROM object_frames") == sum(
        sdk_counts(row, json.loads(ONTOLOGY.read_text())).object_annotations for row in rows[:4])
    assert warehouse.rows("SELECT status FROM sync_runs") == [("failed",)]


def test_with_log_format_json_every_line_on_stderr_is_json_failures_included(warehouse, tmp_path):
    """A scheduler that reads JSON lines gets the row failures and the one-line reasons as error events."""
    rows = json.loads(SAMPLE.read_text())
    export = tmp_path / "export.jsonl"
    export.write_text("\n".join([json.dumps(rows[0]), "{not json", json.dumps(rows[1])]))
    partial = run_cli(warehouse, "sync", "--from-export", str(export), "--project-hash", "proj", "--log-format", "json")
    events = [json.loads(line) for line in partial.stderr.splitlines()]
    assert partial.exit_code == 1 and [(e["level"], e["event"]) for e in events if e["level"] == "error"] == [
        ("error", "row_failed"), ("error", "sync_partial")]
    [run_id] = warehouse.rows("SELECT run_id FROM sync_runs")[0]
    failed = next(e for e in events if e["event"] == "row_failed")
    assert (failed["run_id"], failed["source"], failed["field"], failed["label_hash"]) == (run_id, "export.jsonl:2", "<json>", None)
    assert failed["message"].startswith("export.jsonl:2: <json>: invalid JSON")
    assert events[-1]["message"] == f"1 of 3 label rows failed and are recorded in sync_errors (run {run_id}); the rest loaded"

    with warehouse_lock(warehouse.engine):
        busy = run_cli(warehouse, "sync", "--from-export", str(export), "--log-format", "json")
    [event] = [json.loads(line) for line in busy.stderr.splitlines()]
    assert busy.exit_code == 2 and (event["level"], event["event"]) == ("error", "command_failed")
    assert event["message"].startswith("another encord-warehouse command is writing to ") and event["message"].endswith(
        "; try again later or pass --wait-for-lock SECONDS")


@pytest.mark.parametrize("usage", [["--batch-size", "0"], ["--workers", "x"], ["--no-such-option"]])
def test_under_log_format_json_a_usage_error_is_a_json_line_too(warehouse, usage):
    """click checks option values before the command sets its log format: a scheduler's parser must not
    meet a plain line when a templated option is bad."""
    for log_format in (["--log-format", "json"], ["--log-format=json"]):
        result = run_cli(warehouse, "sync", "--from-export", str(SAMPLE), *log_format, *usage)
        [event] = [json.loads(line) for line in result.stderr.splitlines()]
        assert (result.exit_code, event["level"], event["event"]) == (2, "error", "command_failed")
        assert event["message"].endswith("(see --help)") and usage[0] in event["message"]
    plain = run_cli(warehouse, "sync", "--from-export", str(SAMPLE), *usage)
    assert plain.stderr.startswith("encord-warehouse: ") and plain.stderr.count("\n") == 1


def test_a_library_caller_that_set_up_no_logging_gets_the_exception_and_nothing_printed(warehouse, tmp_path):
    (tmp_path / "garbage.json").write_text("<html>")
    code = ("from connector.db import create_warehouse_engine\n"
            "from connector.sources.export import ExportError\n"
            "from connector.sync import ExportSyncConfig, sync_export\n"
            "try:\n"
            "    sync_export(create_warehouse_engine(), ExportSyncConfig('garbage.json'))\n"
            "except ExportError as error:\n"
            "    print('raised:', error)\n")
    warehouse.engine.dispose()
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={**os.environ, **warehouse.env},
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("raised: ") and "garbage.json: not JSON" in done.stdout
    assert warehouse.scalar("SELECT status FROM sync_runs") == "failed"


def test_an_export_sync_logs_its_run_batches_and_end_as_an_encord_sync_does(warehouse, tmp_path):
    """A scheduler watching the JSON events sees an export sync start, commit each batch and finish or
    fail, with the counts sync_runs records (until 2026-11-29 an export sync logged none of them)."""
    rows = json.loads(SAMPLE.read_text())
    export = tmp_path / "export.json"
    export.write_text(json.dumps(rows))
    done = run_cli(warehouse, "sync", "--from-export", str(export), "--batch-size", "4", "--log-format", "json")
    assert done.exit_code == 0, done.stderr
    events = [json.loads(line) for line in done.stderr.splitlines()]
    [run_id] = warehouse.rows("SELECT run_id FROM sync_runs")[0]
    assert [e["event"] for e in events] == ["sync_started", *["batch_committed"] * 3, "sync_finished"]
    assert {e["run_id"] for e in events} == {run_id}
    assert (events[0]["source"], events[0]["project"], events[0]["export"]) == ("export", "export", str(export))
    assert [(e["rows"], e["written"], e["failed"]) for e in events[1:4]] == [(4, 4, 0), (4, 4, 0), (2, 2, 0)]
    recorded = warehouse.rows("SELECT status, listed, fetched, inserted, updated, unchanged, deleted, failed "
                              "FROM sync_runs")[0]
    counts = ("listed", "fetched", "inserted", "updated", "unchanged", "deleted", "failed")
    assert (events[-1]["status"], *(events[-1][name] for name in counts)) == tuple(recorded)
    assert recorded == ("succeeded", len(rows), len(rows), len(rows), 0, 0, 0, 0)

    export.write_text(json.dumps(rows)[:-200])  # cut off: the run fails on reading it
    failed = run_cli(warehouse, "sync", "--from-export", str(export), "--full-refresh", "--log-format", "json")
    events = [json.loads(line) for line in failed.stderr.splitlines()]
    [(run_id, error)] = warehouse.rows("SELECT run_id, error FROM sync_runs WHERE status = 'failed'")
    assert failed.exit_code == 2 and [e["event"] for e in events if e["event"] != "batch_committed"] == [
        "sync_started", "sync_failed", "command_failed"]
    assert (events[-2]["run_id"], events[-2]["error"]) == (run_id, error)


def test_file_and_folder_names_that_are_not_utf8_are_stored_as_escapes_and_read_once(warehouse, tmp_path):
    """A Latin-1 name from a Windows share: recording the file read failed every run (no database takes
    the lone surrogates Python holds such bytes as), after its rows had loaded."""
    folder = tmp_path / os.fsdecode(b"d\xe9p")
    (folder / os.fsdecode(b"sub\xff")).mkdir(parents=True)
    rows = json.loads(SAMPLE.read_text())
    (folder / os.fsdecode(b"sub\xff") / os.fsdecode(b"caf\xe9.json")).write_text(json.dumps(rows[1:]))
    bad = {**rows[0], "data_units": "not a dict"}
    (folder / os.fsdecode(b"z\xe9.json")).write_text(json.dumps([bad]))  # a bad row, in the last file: read again
    for run in range(2):
        result = run_cli(warehouse, "sync", "--from-export", str(folder))
        assert result.exit_code == 1, result.output
        assert ("9 inserted" if run == 0 else "1 listed, 1 fetched, 0 inserted") in result.output  # the other file: skipped
    shown = str(tmp_path / "d\\xe9p")
    assert warehouse.rows("SELECT DISTINCT export FROM sync_runs") == [(shown,)]
    assert warehouse.rows("SELECT name FROM export_files") == [("sub\\xff/caf\\xe9.json",)]
    assert warehouse.rows("SELECT source, field FROM sync_errors") == [("z\\xe9.json[0]", "data_units")]
    assert warehouse.scalar("SELECT count(*) FROM branches") == len(rows) - 1


def test_a_failure_seen_again_is_one_sync_errors_row_that_keeps_when_it_was_first_seen(warehouse, tmp_path):
    """A bad row (and a broken file) fails at every run until it is fixed: sync_errors keeps one row per
    problem, with the last run and time and the first time; another problem of the same row is a row
    of its own, and another project's the same problem too."""
    rows = json.loads(SAMPLE.read_text())
    bad = json.loads(json.dumps(rows[0]))
    bad["data_units"] = "not a dict"
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps([bad, *rows[1:3]]))
    (folder / "b.json").write_text("hello")
    errors = "SELECT label_hash, field, source, run_id, first_occurred_at, occurred_at FROM sync_errors"
    runs = []
    for _ in range(3):
        assert run_cli(warehouse, "sync", "--from-export", str(folder), "--project-hash", "p").exit_code == 1
        runs.append(warehouse.rows("SELECT run_id, started_at FROM sync_runs ORDER BY started_at DESC LIMIT 1")[0])
        recorded = sorted(warehouse.rows(errors), key=repr)
        assert [row[:4] for row in recorded] == sorted([(bad["label_hash"], "data_units", "a.json[0]", runs[-1][0]),
                                                        (None, "<json>", "b.json", runs[-1][0])], key=repr)
    first_run, second_run, last_run = (started for _, started in runs)
    assert all(first_run <= first < second_run < last_run <= last for *_, first, last in warehouse.rows(errors))

    bad["data_units"] = {"d": "not a dict"}  # another problem of the same row
    (folder / "a.json").write_text(json.dumps([bad, *rows[1:3]]))
    assert run_cli(warehouse, "sync", "--from-export", str(folder), "--project-hash", "p").exit_code == 1
    assert sorted(field for _, field, *_ in warehouse.rows(errors)) == ["<json>", "data_units", "data_units.d"]
    assert run_cli(warehouse, "sync", "--from-export", str(folder), "--project-hash", "q").exit_code == 1
    assert warehouse.scalar("SELECT count(*) FROM sync_errors WHERE project_hash = 'q'") == 2
    assert warehouse.scalar("SELECT count(*) FROM sync_errors") == 5


def test_a_folder_of_daily_exports_is_read_from_its_first_new_file_on(warehouse, other_warehouse, tmp_path):
    """export_files: a file read whole before, as it is now, with the same ontology, is not read again;
    a new file is read (and what follows it); a file changed or gone since, another ontology,
    --full-refresh or --delete-missing read them all. After each run the warehouse equals a sync of
    the folder as it is into an empty warehouse."""
    rows = json.loads(SAMPLE.read_text())
    edited = json.loads(json.dumps(rows[0]))
    edited["label_status"] = "REVIEWED"
    folder = tmp_path / "exports"
    folder.mkdir()
    day1, day2 = folder / "2026-11-01.json", folder / "2026-11-02.json"

    def sync(*options, expect=0):
        result = run_cli(warehouse, "sync", "--from-export", str(folder), "--project-hash", "p", *options)
        assert result.exit_code == expect, result.output
        return re.search(r"(\d+) listed, \d+ fetched, (\d+) inserted, (\d+) updated, (\d+) unchanged", result.output).groups()

    def equals_a_fresh_sync():
        migrate.upgrade(other_warehouse.engine)
        with other_warehouse.engine.begin() as connection:  # empty
            for table in schema.metadata.sorted_tables:
                connection.execute(table.delete())
        assert run_cli(other_warehouse, "sync", "--from-export", str(folder), "--project-hash", "p").exit_code == 0
        return snapshot(warehouse) == snapshot(other_warehouse)

    day1.write_text(json.dumps(rows[:5]))
    assert sync() == ("5", "5", "0", "0")
    assert sync() == ("0", "0", "0", "0")  # nothing new: nothing read
    assert warehouse.rows("SELECT name, ontology_fingerprint FROM export_files") == [("2026-11-01.json", "")]

    day2.write_text(json.dumps([edited, *rows[5:]]))
    assert sync() == (str(len(rows) - 4), str(len(rows) - 5), "1", "0")  # day 2 only
    assert equals_a_fresh_sync()

    day1.write_text(json.dumps(rows[1:5]))  # changed: all read (day 2's copy of rows[0] still wins)
    assert sync() == (str(len(rows)), "0", "0", str(len(rows)))
    assert equals_a_fresh_sync()
    day2.write_text(json.dumps([rows[0], *rows[5:]]))
    assert sync() == (str(len(rows)), "0", "1", str(len(rows) - 1))  # changed too: all read, rows[0] as it was
    assert equals_a_fresh_sync()

    assert sync("--ontology", str(ONTOLOGY))[0] == str(len(rows))  # rows normalized with another ontology
    assert sync("--ontology", str(ONTOLOGY))[0] == "0"
    assert sync("--ontology", str(ONTOLOGY), "--full-refresh") == (str(len(rows)), "0", str(len(rows)), "0")
    assert sync("--ontology", str(ONTOLOGY), "--delete-missing") == (str(len(rows)), "0", "0", str(len(rows)))

    broken = json.loads(json.dumps(rows[1]))
    broken["data_units"] = "not a dict"
    day3 = folder / "2026-11-03.json"
    day3.write_text(json.dumps([broken]))
    assert sync("--ontology", str(ONTOLOGY), expect=1)[0] == "1"
    assert sync("--ontology", str(ONTOLOGY), expect=1)[0] == "1"  # a file with a failed row is read again
    day3.unlink()  # never read whole: its going changes nothing
    assert sync("--ontology", str(ONTOLOGY))[0] == "0"
    day2.unlink()  # gone: the rest is read again
    assert sync("--ontology", str(ONTOLOGY))[0] == "4"
    assert warehouse.rows("SELECT name FROM export_files") == [(day1.name,)]

    flagged = clone_row(rows[0])  # loads, with a box past the image's edge flagged: its file was read whole
    box = next(obj for unit in flagged["data_units"].values() for labels in unit["labels"].values()
               for obj in labels.get("objects", ()) if "boundingBox" in obj)["boundingBox"]
    box["x"] = 1.5
    (folder / "2026-11-04.json").write_text(json.dumps([flagged]))
    assert sync("--ontology", str(ONTOLOGY)) == ("1", "1", "0", "0")
    assert warehouse.scalar("SELECT count(*) FROM sync_errors WHERE kept") == 1
    assert sync("--ontology", str(ONTOLOGY))[0] == "0"


@pytest.mark.parametrize("as_url", [False, True], ids=["path", "file-url"])
def test_a_file_rewritten_in_place_with_its_size_and_modification_time_kept_is_read_again(warehouse, tmp_path,
                                                                                          as_url):
    """export_files keeps a file's inode change time too: rewriting it (`cp -p`, `touch -r`) cannot put
    that back, so a row edited to the same length in a file whose mtime was restored is read."""
    rows = json.loads(SAMPLE.read_text())
    folder = tmp_path / "exports"
    folder.mkdir()
    day1 = folder / "2026-11-01.json"
    day1.write_text(json.dumps(rows))
    export = folder.as_uri() + "/" if as_url else str(folder)

    def sync():
        result = run_cli(warehouse, "sync", "--from-export", export, "--project-hash", "p")
        assert result.exit_code == 0, result.output
        return re.search(r"(\d+) listed, \d+ fetched, \d+ inserted, (\d+) updated", result.output).groups()

    assert sync() == (str(len(rows)), "0")
    before = day1.stat()
    edited = json.loads(json.dumps(rows))
    edited[0]["data_title"] = edited[0]["data_title"][:-1] + ("X" if edited[0]["data_title"][-1] != "X" else "Y")
    day1.write_text(json.dumps(edited))
    os.utime(day1, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (day1.stat().st_size, day1.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)

    assert sync() == (str(len(rows)), "1")
    assert warehouse.scalar("SELECT data_title FROM label_rows WHERE label_hash = :h",
                            h=rows[0]["label_hash"]) == edited[0]["data_title"]
    assert sync() == ("0", "0")  # as read: not read again


@pytest.mark.parametrize("folder_of_b", ["", "2026-11-02/"], ids=["flat", "in-a-subdirectory"])
def test_a_broken_file_in_a_directory_is_recorded_and_the_other_files_load(warehouse, tmp_path, folder_of_b):
    """One bad download in a folder of exports: its readable rows and every other file load, the file is
    one sync_errors row naming it (by its path in the folder), the command says so and exits 1; once the
    file is whole, it loads."""
    rows = json.loads(SAMPLE.read_text())
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps(rows[:3]))
    whole = json.dumps(rows[3:6])
    broken = folder / f"{folder_of_b}b.json"
    broken.parent.mkdir(exist_ok=True)
    broken.write_text(whole[:whole.index(json.dumps(rows[4])) + 40])  # cut inside its second row
    (folder / "c.jsonl").write_text("\n".join(json.dumps(row) for row in rows[6:]))
    result = run_cli(warehouse, "sync", "--from-export", str(folder), "--project-hash", "proj")
    assert result.exit_code == 1
    assert without_info_events(result.stderr)[0].startswith(f"error: {folder_of_b}b.json: <json>: invalid JSON in item 1: ")
    loaded = {h for (h,) in warehouse.rows("SELECT label_hash FROM branches")}
    assert loaded == {row["label_hash"] for row in rows[:4] + rows[6:]}
    [(label_hash, field, reason, source)] = warehouse.rows("SELECT label_hash, field, reason, source FROM sync_errors")
    assert (label_hash, field, source) == (None, "<json>", f"{folder_of_b}b.json") and reason.startswith("invalid JSON in item 1: ")
    assert warehouse.scalar("SELECT status FROM sync_runs") == "partial"

    broken.write_text(whole)
    again = sync_export(warehouse.engine, ExportSyncConfig(str(folder), "proj"))
    read_again = rows[3:] if folder_of_b == "" else rows  # from b on in name order: a.json was read whole before
    assert (again.stats.inserted, again.stats.unchanged, again.stats.failed) == (2, len(read_again) - 2, 0)
    assert warehouse.scalar("SELECT count(*) FROM branches") == len(rows)


def test_a_database_error_is_one_line_printed_and_recorded_alike(warehouse):
    """A disk full, a constraint the warehouse's owner added: the database's own words, one line, in the
    command's output and in sync_runs alike (not SQLAlchemy's statement, its parameters and a link)."""
    assert run_cli(warehouse, "migrate").exit_code == 0
    with warehouse.engine.begin() as connection:  # the sample's data units all have project_hash 'export'
        connection.execute(text("CREATE UNIQUE INDEX one_unit_per_project ON data_units (project_hash)"))
    result = run_cli(warehouse, "sync", "--from-export", str(SAMPLE))
    assert result.exit_code == 2
    (status, stored), = warehouse.rows("SELECT status, error FROM sync_runs")
    assert status == "failed" and "\n" not in stored
    assert re.search(r"(?i)duplicate key", stored), stored  # the constraint's error, not one it led to
    assert "sqlalche.me" not in stored and "[SQL" not in stored and "[parameters" not in stored
    [reason] = without_info_events(result.stderr)
    assert reason.startswith("encord-warehouse: warehouse ") and reason.endswith(f": {stored}")


def test_unreadable_export_is_a_one_line_error(warehouse, tmp_path):
    path = tmp_path / "garbage.json"
    path.write_text("<html>")
    result = run_cli(warehouse, "sync", "--from-export", str(path))
    assert result.exit_code == 2
    assert without_info_events(result.stderr) == [
        f"encord-warehouse: {path}: not JSON: expected '[' or '{{' at the start, found b'<'"]
    assert warehouse.scalar("SELECT status FROM sync_runs") == "failed"


def test_an_export_path_that_cannot_be_looked_at_is_a_one_line_error(warehouse, tmp_path):
    """A name too long for the file system, a loop of links: one line, exit 2, the run recorded as failed. Until
    2026-11-29 a traceback (the same for a folder on the way that the user may not enter)."""
    long_name = tmp_path / ("a" * 300 + ".json")
    (tmp_path / "loop-a").symlink_to(tmp_path / "loop-b")
    (tmp_path / "loop-b").symlink_to(tmp_path / "loop-a")
    for path, reason in ((long_name, "File name too long"), (tmp_path / "loop-a", "cannot open: Too many levels of symbolic links")):
        result = run_cli(warehouse, "sync", "--from-export", str(path))
        assert result.exit_code == 2
        assert without_info_events(result.stderr) == [f"encord-warehouse: {path}: {reason}"]
    assert warehouse.rows("SELECT status FROM sync_runs") == [("failed",), ("failed",)]


@pytest.mark.parametrize("command", [["sync", "--from-export", str(SAMPLE)], ["migrate"], ["optimize"], ["rebuild"],
                                     ["status"]])
def test_a_duckdb_file_in_a_missing_directory_is_a_one_line_error(tmp_path, command):
    """The commands that make a warehouse cannot make its lock file; those that need one say there is none."""
    path = tmp_path / "no" / "such" / "warehouse.duckdb"
    result = CliRunner().invoke(cli, [*command, "--db", f"duckdb:///{path}"], catch_exceptions=False)
    assert result.exit_code == 2
    if command[0] in ("sync", "migrate"):
        assert result.stderr.strip() == (f"encord-warehouse: the DuckDB file {path}: cannot create its lock file: "
                                         "No such file or directory")
    else:
        assert result.stderr.strip() == (f"encord-warehouse: no DuckDB warehouse at {path}: "
                                         "run `encord-warehouse sync` (or `migrate`) first")
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("command", [["optimize"], ["rebuild"], ["status"], ["labels", "--title", "t", "--frames", "0"]])
def test_a_duckdb_file_that_cannot_be_looked_at_is_not_called_missing(tmp_path, command):
    """A name too long (or, for a user other than root, a folder it may not enter): why, not "run sync first",
    which failed in turn (until 2026-11-29)."""
    path = tmp_path / ("w" * 300 + ".duckdb")
    result = CliRunner().invoke(cli, [*command, "--db", f"duckdb:///{path}"], catch_exceptions=False)
    assert (result.exit_code, result.stderr) == (2, f"encord-warehouse: the DuckDB file {path}: cannot open: File name too long\n")


@pytest.mark.parametrize("command", [["optimize"], ["rebuild"]])
def test_maintenance_of_a_warehouse_that_is_not_there_creates_none(tmp_path, command):
    path = tmp_path / "typo.duckdb"
    result = CliRunner().invoke(cli, [*command, "--db", f"duckdb:///{path}"], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.stderr == f"encord-warehouse: no DuckDB warehouse at {path}: run `encord-warehouse sync` (or `migrate`) first\n"
    assert list(tmp_path.iterdir()) == []  # no file, no lock file


def test_the_command_runs_from_a_thread_that_is_not_the_main_one(warehouse):
    """An orchestrator may call the CLI from a worker thread, where no signal handler can be set."""
    results = []
    thread = threading.Thread(target=lambda: results.append(
        run_cli(warehouse, "sync", "--from-export", str(SAMPLE), "--ontology", str(ONTOLOGY))))
    thread.start()
    thread.join()
    assert results[0].exit_code == 0, results[0].output
    assert warehouse.scalar("SELECT count(*) FROM branches") == len(json.loads(SAMPLE.read_text()))


def test_status_shows_runs_and_counts(warehouse):
    run_cli(warehouse, "sync", "--from-export", str(SAMPLE), "--ontology", str(ONTOLOGY))
    result = run_cli(warehouse, "status")
    assert result.exit_code == 0
    objects = warehouse.scalar("SELECT count(*) FROM object_frames")
    assert any(line.split() == ["object_frames", f"{objects:,}"] for line in result.output.splitlines())
    started = warehouse.scalar("SELECT started_at FROM sync_runs")
    assert result.output.splitlines()[0] == "recent runs (UTC):"
    run = result.output.splitlines()[1]
    assert run.startswith(f"  {started:%Y-%m-%d %H:%M:%S}  succeeded   export ")  # room for 'interrupted'
    rows = len(json.loads(SAMPLE.read_text()))
    assert f"listed {rows}  fetched {rows}  inserted {rows}  updated 0  unchanged 0  deleted 0  failed 0" in run
    assert run.endswith(f"  from {SAMPLE.resolve()}")  # sync_runs.export


def test_a_sync_under_another_project_hash_moves_the_label_rows(warehouse, other_warehouse, tmp_path):
    """An export first synced with the default --project-hash, then with the real one: the rows move (they
    were 'unchanged' before, so the fix of the project hash did nothing), and no data unit is left behind."""
    sample = ("sync", "--from-export", str(SAMPLE), "--ontology", str(ONTOLOGY))
    run_cli(warehouse, *sample)
    moved = run_cli(warehouse, *sample, "--project-hash", "p-real")
    rows = len(json.loads(SAMPLE.read_text()))
    assert f"0 inserted, {rows} updated, 0 unchanged" in moved.output
    assert warehouse.rows("SELECT DISTINCT project_hash FROM branches") == [("p-real",)]
    assert warehouse.rows("SELECT DISTINCT project_hash FROM data_units") == [("p-real",)]
    run_cli(other_warehouse, *sample, "--project-hash", "p-real")
    ours, reference = snapshot(warehouse), snapshot(other_warehouse)  # the 'export' project keeps its ontology rows
    assert [name for name in ours if ours[name] != reference[name]] == [name for name in ours if name.startswith("ontology_")]
    copy = tmp_path / "copy.json"  # the same rows in a file not read before: read, and every row unchanged
    copy.write_bytes(SAMPLE.read_bytes())
    again = run_cli(warehouse, "sync", "--from-export", str(copy), "--ontology", str(ONTOLOGY), "--project-hash", "p-real")
    assert f"0 inserted, 0 updated, {rows} unchanged" in again.output


def test_an_export_synced_back_under_its_first_project_takes_its_rows_back(warehouse, tmp_path):
    """P, then Q, then P again: the last run reads the export again (its rows are under Q), though P's
    record of the file is as the file still is."""
    rows = len(json.loads(SAMPLE.read_text()))
    for project, inserted, updated in (("p", rows, 0), ("q", 0, rows), ("p", 0, rows)):
        result = run_cli(warehouse, "sync", "--from-export", str(SAMPLE), "--project-hash", project)
        assert f"{inserted} inserted, {updated} updated, 0 unchanged" in result.output, result.output
        assert warehouse.rows("SELECT DISTINCT project_hash FROM branches") == [(project,)]
    assert warehouse.rows("SELECT DISTINCT project_hash FROM export_files") == [("p",)]


def test_a_gzip_export_loads_as_the_plain_one(warehouse, other_warehouse, tmp_path):
    packed = tmp_path / "export.json.gz"
    packed.write_bytes(gzip.compress(SAMPLE.read_bytes()))
    assert run_cli(warehouse, "sync", "--from-export", str(packed), "--ontology", str(ONTOLOGY)).exit_code == 0
    assert run_cli(other_warehouse, "sync", "--from-export", str(SAMPLE), "--ontology", str(ONTOLOGY)).exit_code == 0
    assert snapshot(warehouse) == snapshot(other_warehouse) and snapshot(warehouse)["object_frames"]
    again = run_cli(warehouse, "sync", "--from-export", str(SAMPLE), "--ontology", str(ONTOLOGY))
    assert f"0 inserted, 0 updated, {len(json.loads(SAMPLE.read_text()))} unchanged" in again.output  # the same rows


def test_a_utf16_export_loads_as_the_utf8_one(warehouse, other_warehouse, tmp_path):
    """Windows PowerShell 5 writes `python export.py > export.json` as UTF-16 with a byte order mark."""
    wide = tmp_path / "export.json"
    wide.write_bytes(SAMPLE.read_text().encode("utf-16"))
    assert run_cli(warehouse, "sync", "--from-export", str(wide), "--ontology", str(ONTOLOGY)).exit_code == 0
    assert run_cli(other_warehouse, "sync", "--from-export", str(SAMPLE), "--ontology", str(ONTOLOGY)).exit_code == 0
    assert snapshot(warehouse) == snapshot(other_warehouse) and snapshot(warehouse)["object_frames"]
    again = run_cli(warehouse, "sync", "--from-export", str(SAMPLE), "--ontology", str(ONTOLOGY))
    assert f"0 inserted, 0 updated, {len(json.loads(SAMPLE.read_text()))} unchanged" in again.output  # archived alike


def test_delete_missing_removes_the_label_rows_a_complete_export_lacks(warehouse, other_warehouse, tmp_path):
    """A full export synced day after day: label rows deleted in Encord since (the three consensus
    branches here, and so their data unit) go with everything they own; the rows it still has are
    unchanged; another project's rows are untouched. The result equals a fresh sync of that export."""
    rows = json.loads(SAMPLE.read_text())
    full, smaller, elsewhere = tmp_path / "full.json", tmp_path / "smaller.json", tmp_path / "elsewhere.json"
    full.write_text(json.dumps(rows))
    smaller.write_text(json.dumps(rows[:7]))
    elsewhere.write_text(json.dumps([clone_row(rows[8])]))
    for path, project in ((full, "p"), (elsewhere, "q")):
        assert run_cli(warehouse, "sync", "--from-export", str(path), "--project-hash", project).exit_code == 0
    result = run_cli(warehouse, "sync", "--from-export", str(smaller), "--project-hash", "p", "--delete-missing")
    assert result.exit_code == 0 and "7 listed, 7 fetched, 0 inserted, 0 updated, 7 unchanged, 3 deleted, 0 failed" in result.output
    for path, project in ((smaller, "p"), (elsewhere, "q")):
        assert run_cli(other_warehouse, "sync", "--from-export", str(path), "--project-hash", project).exit_code == 0
    assert snapshot(warehouse) == snapshot(other_warehouse)
    assert warehouse.scalar("SELECT count(*) FROM data_units WHERE data_title = 'consensus_0000.mp4'") == 1  # q's clone
    assert warehouse.scalar("SELECT count(DISTINCT label_hash) FROM raw_label_rows") == 8
    assert warehouse.rows("SELECT status, deleted FROM sync_runs ORDER BY started_at DESC LIMIT 1") == [("succeeded", 3)]


def test_delete_missing_with_keep_deleted_marks_the_rows_instead(warehouse, tmp_path):
    """--keep-deleted: the label rows the export lacks stay, with everything they own, marked with
    deleted_at (the views leave them out); a later run keeps the first mark; a row that comes back
    in a later export, unchanged, is unmarked."""
    rows = json.loads(SAMPLE.read_text())
    full, smaller = tmp_path / "full.json", tmp_path / "smaller.json"
    full.write_text(json.dumps(rows))
    smaller.write_text(json.dumps(rows[:7]))
    missing = sorted(row["label_hash"] for row in rows[7:])
    assert run_cli(warehouse, "sync", "--from-export", str(full), "--project-hash", "p").exit_code == 0
    before = snapshot(warehouse)
    keep = ("--project-hash", "p", "--delete-missing", "--keep-deleted")
    result = run_cli(warehouse, "sync", "--from-export", str(smaller), *keep)
    assert result.exit_code == 0 and "7 unchanged, 3 deleted, 0 failed" in result.output
    marked = warehouse.rows("SELECT label_hash, deleted_at FROM branches WHERE deleted_at IS NOT NULL ORDER BY label_hash")
    assert [label_hash for label_hash, _ in marked] == missing
    assert snapshot(warehouse, skip_columns=("synced_at", "deleted_at")) == snapshot_without_deleted_at(before)
    assert warehouse.scalar("SELECT count(*) FROM label_rows") == 7
    again = run_cli(warehouse, "sync", "--from-export", str(smaller), *keep)
    assert again.exit_code == 0 and "7 unchanged, 0 deleted, 0 failed" in again.output
    assert warehouse.rows("SELECT label_hash, deleted_at FROM branches WHERE deleted_at IS NOT NULL ORDER BY label_hash") == marked
    back = run_cli(warehouse, "sync", "--from-export", str(full), *keep)
    assert back.exit_code == 0 and "0 inserted, 3 updated, 7 unchanged, 0 deleted, 0 failed" in back.output
    assert warehouse.scalar("SELECT count(*) FROM branches WHERE deleted_at IS NOT NULL") == 0
    assert snapshot(warehouse) == before


def test_rows_marked_deleted_go_with_the_first_delete_missing_run_without_keep_deleted(warehouse, other_warehouse,
                                                                                      tmp_path):
    """The marks of --keep-deleted are not for good: a --delete-missing run without it removes the rows the
    export still lacks (until 2026-11-29 they stayed, and the warehouse never again equalled a fresh sync)."""
    rows = json.loads(SAMPLE.read_text())
    full, smaller = tmp_path / "full.json", tmp_path / "smaller.json"
    full.write_text(json.dumps(rows))
    smaller.write_text(json.dumps(rows[:7]))
    assert run_cli(warehouse, "sync", "--from-export", str(full), "--project-hash", "p").exit_code == 0
    marking = run_cli(warehouse, "sync", "--from-export", str(smaller), "--project-hash", "p", "--delete-missing",
                      "--keep-deleted")
    assert "3 deleted" in marking.output and warehouse.scalar("SELECT count(*) FROM branches") == 10
    removing = run_cli(warehouse, "sync", "--from-export", str(smaller), "--project-hash", "p", "--delete-missing")
    assert removing.exit_code == 0 and "7 unchanged, 3 deleted, 0 failed" in removing.output
    assert run_cli(other_warehouse, "sync", "--from-export", str(smaller), "--project-hash", "p").exit_code == 0
    assert snapshot(warehouse) == snapshot(other_warehouse)


def snapshot_without_deleted_at(tables):
    position = [c.name for c in schema.branches.columns if c.name != "synced_at"].index("deleted_at")
    stripped = dict(tables)
    stripped["branches"] = sorted((row[:position] + row[position + 1:] for row in tables["branches"]), key=repr)
    return stripped


def test_delete_missing_deletes_nothing_that_the_export_does_not_prove_gone(warehouse, tmp_path):
    """Part of the export unreadable (a broken file of a directory), or an export with no label row:
    nothing is deleted, and a warning says why. A row the export has but that fails is not gone:
    its stored version stays."""
    rows = json.loads(SAMPLE.read_text())
    assert run_cli(warehouse, "sync", "--from-export", str(SAMPLE), "--project-hash", "p").exit_code == 0
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps(rows[:5]))
    (folder / "b.json").write_text("hello")
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    for path, exit_code, why in ((folder, 1, "part of the export could not be read (see sync_errors)"),
                                 (empty, 0, "the export holds no label row")):
        result = run_cli(warehouse, "sync", "--from-export", str(path), "--project-hash", "p", "--delete-missing")
        assert result.exit_code == exit_code and ", 0 deleted, " in result.output
        assert f"warning --delete-missing: nothing deleted: {why}" in result.stderr
        assert warehouse.scalar("SELECT count(*) FROM branches") == len(rows)

    broken = json.loads(json.dumps(rows[8]))
    broken["data_units"] = "not a dict"
    (folder / "b.json").write_text(json.dumps([broken]))
    result = run_cli(warehouse, "sync", "--from-export", str(folder), "--project-hash", "p", "--delete-missing")
    assert result.exit_code == 1 and ", 4 deleted, 1 failed" in result.output  # rows[5:8] and rows[9]
    assert {h for (h,) in warehouse.rows("SELECT label_hash FROM branches")} == {
        row["label_hash"] for row in rows[:5] + rows[8:9]}
    assert warehouse.scalar("SELECT count(*) FROM object_frames WHERE label_hash = :h", h=rows[8]["label_hash"]) > 0


def test_an_export_piped_to_standard_input_loads_as_the_file(warehouse, other_warehouse):
    """`--from-export -`: `aws s3 cp s3://…/export.json.gz - | encord-warehouse sync --from-export -`."""
    command = [str(Path(sys.executable).with_name("encord-warehouse")), "sync", "--from-export", "-",
               "--ontology", str(ONTOLOGY), *warehouse.cli_args]
    warehouse.engine.dispose()  # DuckDB: one process may have the file open
    piped = subprocess.run(command, input=gzip.compress(SAMPLE.read_bytes()), capture_output=True, timeout=300)
    assert piped.returncode == 0, piped.stderr.decode()[-2000:]
    assert run_cli(other_warehouse, "sync", "--from-export", str(SAMPLE), "--ontology", str(ONTOLOGY)).exit_code == 0
    assert snapshot(warehouse) == snapshot(other_warehouse) and snapshot(warehouse)["object_frames"]
    again = run_cli(warehouse, "sync", "--from-export", str(SAMPLE), "--ontology", str(ONTOLOGY))
    assert f"0 inserted, 0 updated, {len(json.loads(SAMPLE.read_text()))} unchanged" in again.output

    warehouse.engine.dispose()
    empty = subprocess.run(command, input=b"", capture_output=True, timeout=300)
    assert (empty.returncode, without_info_events(empty.stderr.decode())) == (
        2, ["encord-warehouse: <stdin>: the file is empty"])


@pytest.mark.parametrize("args, message", [
    (["--from-export", str(SAMPLE), "--all-branches"], "--all-branches applies to --project syncs only"),
    (["--from-export", str(SAMPLE), "--title", "video_0000.mp4"], "--title applies to --project syncs only"),
    (["--from-export", str(SAMPLE), "--keep-deleted"], "--keep-deleted applies to --from-export syncs with --delete-missing only"),
    (["--project", "p1", "--ontology", str(ONTOLOGY)], "--ontology applies to --from-export syncs only"),
    (["--project", "p1", "--project-hash", "p1"], "--project-hash applies to --from-export syncs only"),
    (["--project", "p1", "--delete-missing"], "--delete-missing applies to --from-export syncs only"),  # full listings do it
    (["--project", "p1", "--storage-option", "anon=true"], "--storage-option applies to --from-export syncs only"),
    (["--from-export", str(SAMPLE), "--ontology", str(ONTOLOGY), "--storage-option", "anon=true"],
     "--storage-option applies only when --from-export or --ontology is a URL (s3://…)"),
    (["--from-export", str(SAMPLE), "--max-runs", "3"], "--max-runs applies only with --every DURATION"),
    (["--from-export", str(SAMPLE), "--every", "0s"], "--every must be longer than 0s, got '0s'"),  # else a busy loop
    (["--project", "p1", "--every", "0h0m"], "--every must be longer than 0s, got '0h0m'"),
    (["--from-export", "-", "--every", "1h"],  # the first run would read it all, every later one nothing
     "--every cannot read standard input again: give --from-export a file or directory"),
])
def test_an_option_that_would_be_ignored_or_spin_is_refused(warehouse, args, message, monkeypatch):
    monkeypatch.setenv("ENCORD_DOMAIN", "https://api.encord.com")  # from the environment: not a mistake
    result = run_cli(warehouse, "sync", *args)
    assert result.exit_code == 2
    assert result.output == f"encord-warehouse: {message}\n"
    assert migrate.current_revision(warehouse.engine) is None  # refused before the warehouse was touched


def test_encord_settings_in_the_environment_do_not_stop_an_export_sync(warehouse, monkeypatch):
    monkeypatch.setenv("ENCORD_DOMAIN", "https://api.encord.com")
    monkeypatch.setenv("ENCORD_SSH_KEY_FILE", "/nonexistent/key")
    assert run_cli(warehouse, "sync", "--from-export", str(SAMPLE)).exit_code == 0
    assert warehouse.scalar("SELECT count(*) FROM branches") == len(json.loads(SAMPLE.read_text()))


def renamed_ontology(tmp_path, name: str = "Automobile") -> tuple[Path, str]:
    """examples/ontology.json with Car renamed: the file, and Car's feature hash."""
    ontology = json.loads(ONTOLOGY.read_text())
    car = next(obj for obj in ontology["objects"] if obj["name"] == "Car")
    car["name"] = name
    path = tmp_path / f"ontology-{name}.json"
    path.write_text(json.dumps(ontology))
    return path, car["featureNodeHash"]


def names_of(warehouse, feature_hash: str) -> set[str]:
    return {name for (name,) in warehouse.rows("SELECT DISTINCT name FROM objects WHERE feature_hash = :f", f=feature_hash)}


def test_an_export_sync_without_ontology_uses_the_one_the_warehouse_holds(warehouse, other_warehouse, tmp_path):
    """Once a run gave --ontology, a run without it (a scheduled job's, say) normalizes with that ontology: nothing
    is rewritten, names stay the ontology's, nested answers keep their parents, and a rebuild agrees. Until
    2026-11-29 it used none: every row was rewritten with the rows' own names and no parents."""
    ontology, car = renamed_ontology(tmp_path)
    assert run_cli(warehouse, "sync", "--from-export", str(SAMPLE), "--ontology", str(ontology)).exit_code == 0
    before = snapshot(warehouse)
    nested = "SELECT count(*) FROM attributes WHERE parent_attribute_hash IS NOT NULL"
    assert names_of(warehouse, car) == {"Automobile"} and warehouse.scalar(nested) > 0
    copy = tmp_path / "copy.json"  # another file with the same rows: read again (the same file would be skipped)
    copy.write_bytes(SAMPLE.read_bytes())
    again = run_cli(warehouse, "sync", "--from-export", str(copy))
    assert again.exit_code == 0, again.output
    assert ": 10 listed, 10 fetched, 0 inserted, 0 updated, 10 unchanged," in again.output
    assert snapshot(warehouse) == before
    assert run_cli(warehouse, "rebuild").exit_code == 0
    assert snapshot(warehouse) == before


def test_an_export_sync_without_ontology_names_as_ontology_tables_written_before_0016(warehouse, tmp_path):
    """Ontology tables with no fingerprint recorded (written before 0016): a run without --ontology still normalizes
    with them. It rewrites the rows once, since their fingerprints named the ontology otherwise, then skips."""
    ontology, car = renamed_ontology(tmp_path)
    assert run_cli(warehouse, "sync", "--from-export", str(SAMPLE), "--ontology", str(ontology)).exit_code == 0
    with warehouse.engine.begin() as connection:
        connection.execute(update(schema.projects).values(ontology_fingerprint=None))
    before = snapshot(warehouse, skip_columns=("synced_at", "content_sha256"))
    again = run_cli(warehouse, "sync", "--from-export", str(SAMPLE))
    assert again.exit_code == 0, again.output
    assert ": 10 listed, 10 fetched, 0 inserted, 10 updated, 0 unchanged," in again.output  # once: the rows' fingerprints name the ontology
    assert snapshot(warehouse, skip_columns=("synced_at", "content_sha256")) == before
    assert names_of(warehouse, car) == {"Automobile"}
    assert ": 0 listed, 0 fetched, 0 inserted, 0 updated, 0 unchanged," in run_cli(warehouse, "sync", "--from-export", str(SAMPLE)).output


def folder_synced_then_first_file_gone(warehouse, tmp_path) -> tuple[Path, list[dict]]:
    """The sample in a daily folder of two files synced with examples/ontology.json, then its first file (4 of the
    10 label rows) removed, as a retention rule does: the folder, and the rows."""
    rows = json.loads(SAMPLE.read_text())
    folder = tmp_path / "daily"
    folder.mkdir()
    (folder / "day-1.json").write_text(json.dumps(rows[:4]))
    (folder / "day-2.json").write_text(json.dumps(rows[4:]))
    assert run_cli(warehouse, "sync", "--from-export", str(folder), "--ontology", str(ONTOLOGY)).exit_code == 0
    (folder / "day-1.json").unlink()
    return folder, rows


def test_a_changed_ontology_reaches_the_rows_of_files_gone_from_the_folder(warehouse, other_warehouse, tmp_path):
    """A daily folder whose oldest file was removed (a retention rule), then a newer --ontology: the rows only that
    file held are re-derived from the raw archive too, and the warehouse equals a rebuild's. Until 2026-11-29
    they kept the old names until a rebuild."""
    folder, rows = folder_synced_then_first_file_gone(warehouse, tmp_path)
    with warehouse.engine.begin() as connection:  # as a warehouse upgraded to 0016 has it
        connection.execute(update(schema.projects).values(ontology_fingerprint=None))
    same = run_cli(warehouse, "sync", "--from-export", str(folder), "--ontology", str(ONTOLOGY))
    assert ": 6 listed, 6 fetched, 0 inserted, 0 updated, 6 unchanged," in same.output  # the same ontology: nothing re-derived
    ontology, car = renamed_ontology(tmp_path)
    typo = run_cli(warehouse, "sync", "--from-export", f"{folder}-typo", "--ontology", str(ontology))
    assert typo.exit_code == 2  # the change is recorded as pending: the next run re-derives
    assert warehouse.rows("SELECT ontology_pending FROM projects") == [(True,)]
    changed = run_cli(warehouse, "sync", "--from-export", str(folder), "--ontology", str(ontology))
    assert changed.exit_code == 0, changed.output
    assert ": 10 listed, 6 fetched, 0 inserted, 10 updated, 0 unchanged," in changed.output  # 6 read, 4 re-derived
    assert names_of(warehouse, car) == {"Automobile"}
    assert warehouse.scalar("SELECT count(*) FROM branches") == 10
    after = snapshot(warehouse)
    assert run_cli(warehouse, "rebuild").exit_code == 0
    assert snapshot(warehouse) == after

    (folder / "day-1.json").write_text(json.dumps(rows[:4]))  # the same rows back: nothing to change
    again = run_cli(warehouse, "sync", "--from-export", str(folder), "--ontology", str(ontology))
    assert ": 10 listed, 10 fetched, 0 inserted, 0 updated, 10 unchanged," in again.output
    assert snapshot(warehouse) == after
    back = run_cli(warehouse, "sync", "--from-export", str(folder), "--ontology", str(ONTOLOGY))  # it was the wrong one
    assert back.exit_code == 0, back.output
    assert names_of(warehouse, car) == {"Car"}
    assert run_cli(other_warehouse, "sync", "--from-export", str(folder), "--ontology", str(ONTOLOGY)).exit_code == 0
    assert snapshot(warehouse) == snapshot(other_warehouse)  # content fingerprints too: the next runs agree


@pytest.mark.parametrize("next_ontology", [None, "renamed", "first"])
def test_an_ontology_change_killed_mid_run_is_finished_by_the_next_run(warehouse, other_warehouse, tmp_path,
                                                                        next_ontology):
    """kill -9 after the first batch of a run with a newer --ontology: the next run, with that ontology, without
    --ontology (the tables hold the newer one) or with the first one again, reads every file and re-derives
    the rows of the file gone from the folder: every row is named as the tables say, as a rebuild makes them,
    and (with an ontology given) as a fresh sync of the folder. Until 2026-11-29 no later run re-derived them."""
    folder, rows = folder_synced_then_first_file_gone(warehouse, tmp_path)
    ontology, car = renamed_ontology(tmp_path)
    command = [*CLI, "sync", "--from-export", str(folder), "--ontology", str(ontology), "--batch-size", "2",
               *warehouse.cli_args]
    warehouse.engine.dispose()
    killed = subprocess.run(command, env={**os.environ, "ENCORD_WAREHOUSE_TEST_KILL_AT": "commit:1"},
                            capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr
    assert len(names_of(warehouse, car)) == 2  # some rows re-normalized, the others not yet
    given = {None: [], "renamed": ["--ontology", str(ontology)], "first": ["--ontology", str(ONTOLOGY)]}[next_ontology]
    finished = run_cli(warehouse, "sync", "--from-export", str(folder), *given)
    assert ": 10 listed, 6 fetched, 0 inserted, " in finished.output
    assert names_of(warehouse, car) == {"Car" if next_ontology == "first" else "Automobile"}
    assert warehouse.rows("SELECT ontology_pending FROM projects") == [(False,)]
    after = snapshot(warehouse)
    assert run_cli(warehouse, "rebuild").exit_code == 0
    assert snapshot(warehouse) == after
    if given:
        (folder / "day-1.json").write_text(json.dumps(rows[:4]))
        assert run_cli(other_warehouse, "sync", "--from-export", str(folder), *given).exit_code == 0
        assert snapshot(warehouse) == snapshot(other_warehouse)


def test_an_ontology_with_numbers_for_attribute_and_option_ids_loads(warehouse, tmp_path):
    """A hand-written ontology whose attribute and option ids are numbers (the SDK writes "1.2"): stored as text.
    Until 2026-11-29 DuckDB's load of the ontology tables failed in a pyarrow traceback."""
    ontology = json.loads(ONTOLOGY.read_text())
    attribute = next(a for obj in ontology["objects"] for a in obj.get("attributes") or [] if a.get("options"))
    attribute["id"], attribute["options"][0]["id"] = 7, 8
    (tmp_path / "ontology.json").write_text(json.dumps(ontology))
    result = run_cli(warehouse, "sync", "--from-export", str(SAMPLE), "--ontology", str(tmp_path / "ontology.json"))
    assert result.exit_code == 0, result.output
    assert warehouse.scalar("SELECT uid FROM ontology_attributes WHERE feature_hash = :f",
                            f=attribute["featureNodeHash"]) == "7"
    assert warehouse.scalar("SELECT uid FROM ontology_options WHERE feature_hash = :f",
                            f=attribute["options"][0]["featureNodeHash"]) == "8"


def test_status_as_json_for_monitoring(warehouse, tmp_path):
    first = run_cli(warehouse, "sync", "--from-export", str(SAMPLE), "--ontology", str(ONTOLOGY))
    copy = tmp_path / "copy.json"  # another file with the same rows: read, and every row unchanged
    copy.write_bytes(SAMPLE.read_bytes())
    run_cli(warehouse, "sync", "--from-export", str(copy), "--ontology", str(ONTOLOGY))
    result = run_cli(warehouse, "status", "--format", "json", "--runs", "5")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    stored = warehouse.rows("SELECT run_id, status, inserted, unchanged, started_at FROM sync_runs ORDER BY started_at DESC")
    assert [(r["run_id"], r["status"], r["inserted"], r["unchanged"]) for r in document["runs"]] == [row[:4] for row in stored]
    assert document["runs"][1]["run_id"] in first.output and document["runs"][0]["unchanged"] == len(json.loads(SAMPLE.read_text()))
    assert [datetime.fromisoformat(r["started_at"]) for r in document["runs"]] == [
        row[4].replace(tzinfo=timezone.utc) for row in stored]
    assert document["tables"]["object_frames"] == warehouse.scalar("SELECT count(*) FROM object_frames") > 0
    assert set(document["tables"]) == set(COUNTED_TABLES)


def test_status_shows_the_latest_run_first_after_the_clock_stepped_back(warehouse):
    """The machine's clock ran a day ahead during the first run, then was corrected (a VM snapshot restored,
    NTP fixed): status, text and JSON, still names the second run as the latest. Until 2026-11-29 it
    ordered by started_at and showed the first run first until the clock caught up."""
    first = run_cli(warehouse, "sync", "--from-export", str(SAMPLE), "--ontology", str(ONTOLOGY))
    assert first.exit_code == 0, first.output
    with warehouse.engine.begin() as connection:
        connection.execute(update(schema.sync_runs).values(started_at=schema.sync_runs.c.started_at + timedelta(days=1)))
    second = run_cli(warehouse, "sync", "--from-export", str(SAMPLE), "--ontology", str(ONTOLOGY), "--full-refresh")
    assert second.exit_code == 0, second.output
    [(latest, latest_started, seq), (earlier, earlier_started, earlier_seq)] = warehouse.rows(
        "SELECT run_id, started_at, run_seq FROM sync_runs ORDER BY run_seq DESC")
    assert latest in second.output and earlier in first.output
    assert latest_started < earlier_started and seq == earlier_seq + 1
    warehouse.engine.dispose()  # status opens a DuckDB file read-only: not in a process that has it open to write
    document = json.loads(run_cli(warehouse, "status", "--format", "json").output)
    assert [run["run_id"] for run in document["runs"]] == [latest, earlier]
    assert document["runs"][0]["run_seq"] == seq
    lines = run_cli(warehouse, "status").output.splitlines()
    assert lines[1].startswith(f"  {latest_started:%Y-%m-%d %H:%M:%S}  succeeded")
    assert lines[2].startswith(f"  {earlier_started:%Y-%m-%d %H:%M:%S}  succeeded")


def test_status_lists_the_export_files_read(warehouse, tmp_path):
    """Per export synced, how many of its files a sync will skip and when the last was read, in text
    and JSON; a file added to the folder counts once the next sync has read it."""
    rows = json.loads(SAMPLE.read_text())
    folder = tmp_path / "exports"
    folder.mkdir()
    for day, part in enumerate((rows[:3], rows[3:6]), start=1):
        (folder / f"day-{day}.json").write_text(json.dumps(part))
    single = ("sync", "--from-export", str(SAMPLE), "--ontology", str(ONTOLOGY), "--project-hash", "p-single")
    from_folder = ("sync", "--from-export", str(folder), "--ontology", str(ONTOLOGY), "--project-hash", "p-daily")
    assert run_cli(warehouse, *single).exit_code == 0 and run_cli(warehouse, *from_folder).exit_code == 0
    (folder / "day-3.json").write_text(json.dumps(rows[6:]))
    assert run_cli(warehouse, *from_folder).exit_code == 0

    text_lines = run_cli(warehouse, "status").output.splitlines()
    document = json.loads(run_cli(warehouse, "status", "--format", "json").output)
    stored = warehouse.rows("SELECT project_hash, export, count(*), max(read_at) FROM export_files "
                            "GROUP BY project_hash, export ORDER BY max(read_at) DESC")
    assert [(p, files) for p, _, files, _ in stored] == [("p-daily", 3), ("p-single", 1)]
    assert [(e["project_hash"], e["export"], e["files"], datetime.fromisoformat(e["last_read_at"]))
            for e in document["exports"]] == [(p, export, files, last.replace(tzinfo=timezone.utc))
                                              for p, export, files, last in stored]
    heading = text_lines.index("export files read (a sync of the same export reads only the files new or changed since):")
    assert text_lines[heading + 1:heading + 4] == [
        f"  {stored[0][3]:%Y-%m-%d %H:%M:%S}  project p-daily  3 files  {folder}",
        f"  {stored[1][3]:%Y-%m-%d %H:%M:%S}  project p-single  1 file  {SAMPLE.resolve()}", ""]
    assert "export files read" not in run_cli(warehouse, "status", "--runs", "0").output


def test_status_with_no_runs_asked_for_shows_the_counts_only(warehouse):
    assert run_cli(warehouse, "sync", "--from-export", str(SAMPLE), "--ontology", str(ONTOLOGY)).exit_code == 0
    text_output = run_cli(warehouse, "status", "--runs", "0")
    document = json.loads(run_cli(warehouse, "status", "--runs", "0", "--format", "json").output)
    refused = [run_cli(warehouse, "status", "--runs", runs) for runs in ("-1", str(2**63))]  # LIMIT is a bigint
    counts = {name: warehouse.scalar(f"SELECT count(*) FROM {name}") for name in COUNTED_TABLES}
    assert text_output.exit_code == 0 and text_output.output.splitlines() == [
        "rows per table:", *(f"{name:<{max(map(len, counts))}}  {count:>10,}" for name, count in counts.items())]
    assert document == {"runs": [], "exports": [], "open_problems": None, "tables": counts} and counts["object_frames"] > 0
    assert [(result.exit_code, result.output.splitlines()[-1]) for result in refused] == [
        (2, f"encord-warehouse: Invalid value for '--runs': {runs} is not in the range 0<=x<={2**63 - 1}. (see --help)")
        for runs in (-1, 2**63)]


def test_status_of_a_duckdb_file_that_is_not_there_says_so_and_creates_none(tmp_path):
    path = tmp_path / "typo.duckdb"
    result = CliRunner().invoke(cli, ["status", "--db", f"duckdb:///{path}"])
    assert result.exit_code == 2 and not path.exists()
    assert result.output == f"encord-warehouse: no DuckDB warehouse at {path}: run `encord-warehouse sync` (or `migrate`) first\n"


def test_postgres_tables_live_in_the_configured_schema(postgres_url):
    schema_name = "encord_schema_test"
    result = CliRunner().invoke(cli, ["migrate", "--db", postgres_url, "--schema", schema_name])
    assert result.exit_code == 0, result.output
    engine = create_engine(postgres_url)
    with engine.connect() as connection:
        tables = {name for (name,) in connection.execute(text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = :s"), {"s": schema_name})}
        connection.execute(text(f"DROP SCHEMA {schema_name} CASCADE"))
        connection.commit()
    engine.dispose()
    assert {"branches", "object_frames", "alembic_version"} <= tables


def test_schema_option_is_refused_for_duckdb(tmp_path):
    result = CliRunner().invoke(cli, ["migrate", "--db", f"duckdb:///{tmp_path}/w.duckdb", "--schema", "x"])
    assert result.exit_code == 2
    assert result.output.strip() == "encord-warehouse: --schema applies to Postgres only; a DuckDB warehouse is one file"


@pytest.mark.parametrize("command", [["optimize"], ["rebuild"],
                                     ["extract-frames", "--media-root", ".", "--dest", "frames"]])
def test_jobs_on_what_a_sync_loaded_refuse_a_warehouse_never_synced_and_create_no_tables(warehouse, tmp_path,
                                                                                          monkeypatch, command):
    """A mistyped --schema or database (or an empty DuckDB file) must not become a new warehouse."""
    monkeypatch.chdir(tmp_path)
    create_schema_if_missing(warehouse.engine)  # Postgres: the schema exists, with no tables
    warehouse.scalar("SELECT 1")  # DuckDB: the file exists, with no tables
    result = CliRunner().invoke(cli, [*command, *warehouse.cli_args])
    assert (result.exit_code, result.output) == (
        2, "encord-warehouse: the warehouse is empty: run `encord-warehouse sync` (or `migrate`) first\n")
    assert migrate.current_revision(warehouse.engine) is None
    with warehouse.engine.connect() as connection:
        assert inspect(connection).get_table_names() == []


@pytest.mark.parametrize("command", [["status"], ["migrate"], ["sync", "--from-export", str(SAMPLE)]])
@pytest.mark.parametrize("db, message", [
    ("labels.duckdb", "'labels.duckdb' is not a warehouse URL: a DuckDB file is duckdb:///labels.duckdb"),
    ("/data/labels.duckdb", "'/data/labels.duckdb' is not a warehouse URL: a DuckDB file is duckdb:////data/labels.duckdb"),
    ("duckdb://data/labels.duckdb",
     "duckdb://data/labels.duckdb names a host, not a file: a DuckDB file is duckdb:///data/labels.duckdb (three slashes)"),
    *[(memory, "the warehouse URL names an in-memory DuckDB, gone when the command ends (and each connection "
       "would see its own): give a file, e.g. duckdb:///encord.duckdb") for memory in ("duckdb:///:memory:", "duckdb://")],
    ("postgresql://me:s3cret@db.internal:port/analytics", "the warehouse URL cannot be parsed (not shown: it may hold a "
     "password); use duckdb:///PATH or postgresql://USER@HOST/DATABASE"),
    ("postgresql+pg8000://me:s3cret@db.internal/analytics", "postgresql+pg8000://me:***@db.internal/analytics: its "
     "driver is not installed (No module named 'pg8000'); postgresql:// uses psycopg, which is"),
])
def test_a_warehouse_url_that_is_not_one_gets_a_line_that_shows_the_fix(tmp_path, monkeypatch, command, db, message):
    """Not a database test: the URL is refused before anything connects, and nothing is created."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, [*command, "--db", db])
    assert (result.exit_code, result.output) == (2, f"encord-warehouse: {message}\n")
    assert list(tmp_path.iterdir()) == []


def test_a_postgres_password_given_in_the_query_is_not_shown(tmp_path):
    """Not a database test: libpq takes `?password=` as well as `user:password@`; a server that cannot be
    reached gets the URL in its line, the query redacted, in text and in JSON logs alike."""
    db = "postgresql://bob@127.0.0.1:9/analytics?password=s3cret&connect_timeout=2"
    for logs in ([], ["--log-format", "json"]):
        result = CliRunner().invoke(cli, ["sync", "--from-export", str(SAMPLE), "--db", db, *logs])
        assert result.exit_code == 2 and "s3cret" not in result.output
        assert "postgresql+psycopg://bob@127.0.0.1:9/analytics?<redacted>: " in result.output


def test_a_schema_set_for_postgres_in_the_environment_leaves_duckdb_alone(tmp_path, monkeypatch):
    """DuckDB-only: $ENCORD_WAREHOUSE_SCHEMA exported for Postgres work; --schema typed is still refused."""
    monkeypatch.setenv("ENCORD_WAREHOUSE_SCHEMA", "analytics")
    db = f"duckdb:///{tmp_path / 'w.duckdb'}"
    assert CliRunner().invoke(cli, ["sync", "--from-export", str(SAMPLE), "--db", db]).exit_code == 0
    assert CliRunner().invoke(cli, ["status", "--db", db]).exit_code == 0
    refused = CliRunner().invoke(cli, ["status", "--db", db, "--schema", "analytics"])
    assert (refused.exit_code, refused.output) == (
        2, "encord-warehouse: --schema applies to Postgres only; a DuckDB warehouse is one file\n")


def test_a_duckdb_path_under_home_written_with_a_tilde(tmp_path, monkeypatch):
    """DuckDB-only (a file path). `~` in $ENCORD_WAREHOUSE_DB reaches us unexpanded: the lock file and
    the no-file check must look where the database goes, not in a directory named `~`."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ENCORD_WAREHOUSE_DB", "duckdb:///~/labels.duckdb")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "home").mkdir()
    runner = CliRunner()
    assert runner.invoke(cli, ["status"]).output.strip() == (
        f"encord-warehouse: no DuckDB warehouse at {tmp_path}/home/labels.duckdb: run `encord-warehouse sync` "
        "(or `migrate`) first")
    synced = runner.invoke(cli, ["sync", "--from-export", str(SAMPLE)])
    assert synced.exit_code == 0, synced.output
    assert sorted(p.name for p in (tmp_path / "home").iterdir()) == ["labels.duckdb", "labels.duckdb.lock"]
    assert not (tmp_path / "~").exists()
    status = json.loads(runner.invoke(cli, ["status", "--format", "json"]).output)
    assert status["runs"][0]["status"] == "succeeded" and status["runs"][0]["inserted"] == 10


def test_duckdb_memory_limit_caps_the_jobs_that_write_and_queries_have_duckdbs_default(tmp_path):
    """DuckDB-only: Postgres keeps its memory in the server. A sync runs at DUCKDB_MEMORY_LIMIT (seen from
    its progress hook, called while it loads) and gives DuckDB's default back; `?memory_limit=` holds throughout."""
    def limit(engine):
        with engine.connect() as connection:
            return connection.exec_driver_sql("SELECT current_setting('memory_limit')").scalar()

    assert DUCKDB_MEMORY_LIMIT == "128MB"
    for name, capped in (("a.duckdb", "122.0 MiB"), ("b.duckdb?memory_limit=1GB", "953.6 MiB")):  # 128e6, 1e9 bytes
        engine = create_warehouse_engine(f"duckdb:///{tmp_path}/{name}")
        before, during = limit(engine), []
        sync_export(engine, ExportSyncConfig(str(SAMPLE), "proj"), on_progress=lambda _: during.append(limit(engine)))
        assert during and set(during) == {capped}
        assert limit(engine) == before
        assert (before == capped) == ("?" in name)  # else DuckDB's own default, a share of the machine's memory
        engine.dispose()
    assert all(job.__wrapped__ for job in (sync_export, sync_encord, rebuild, optimize, extract_frames))


def test_a_label_row_of_20_mb_reads_back_whole_through_label_row_json(warehouse, tmp_path):
    """Joining a row's parts takes several times its size at once: at the jobs' 128MB cap DuckDB failed
    with Out of Memory for a 15 MB row. Through the library's engine a query has DuckDB's default."""
    row = json.loads(SAMPLE.read_text())[0]
    row["note"] = "0123456789abcdef" * (20 << 16)
    row_text = json.dumps(row)
    path = tmp_path / "large.json"
    path.write_text(f"[{row_text}]")
    result = sync_export(warehouse.engine, ExportSyncConfig(str(path), "proj"))
    assert (result.stats.inserted, result.stats.failed) == (1, 0) and len(row_text) > 20 << 20
    assert warehouse.scalar("SELECT CAST(raw AS VARCHAR) FROM label_row_json WHERE label_hash = :h",
                            h=row["label_hash"]) == row_text


def test_a_load_leaves_the_collector_switch_interval_and_duckdb_settings_as_it_found_them(warehouse):
    def duckdb_settings():
        if warehouse.dialect != "duckdb":
            return None
        with warehouse.engine.connect() as connection:
            return [connection.exec_driver_sql(f"SELECT current_setting('{name}')").scalar()
                    for name in ("threads", "checkpoint_threshold")]

    before = sys.getswitchinterval(), gc.isenabled(), duckdb_settings()
    sync_export(warehouse.engine, ExportSyncConfig(str(SAMPLE), "proj"))
    assert (sys.getswitchinterval(), gc.isenabled(), duckdb_settings()) == before


def test_readme_command_on_a_fresh_directory(tmp_path):
    """The README's first command: the console script syncs the bundled sample into DuckDB."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("encord-warehouse")), "sync", "--from-export", str(SAMPLE),
         "--ontology", str(ONTOLOGY)],
        cwd=tmp_path, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "encord.duckdb").exists()
    rows = json.loads(SAMPLE.read_text())
    assert f"{len(rows)} listed, {len(rows)} fetched, {len(rows)} inserted" in result.stdout
