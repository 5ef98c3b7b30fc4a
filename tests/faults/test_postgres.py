"""Postgres going away: a load transaction's connection terminated (pg_terminate_backend), the
server restarted between runs and during one. The failed run changes nothing it did not commit;
a normal re-run makes the warehouse equal to a clean full sync."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from conftest import listed_cursor, reference_snapshot
from connector import load
from pg_cluster import PostgresCluster
from sync_helpers import last_run, run_sync, snapshot
from warehouses import new_postgres_warehouse

SMALL = ("--batch-size", "2", "--bundle-size", "3")


new_warehouse = new_postgres_warehouse


@pytest.fixture(scope="module")
def cluster():
    """A cluster of this module's own: restarting the shared one would cut other tests' sessions."""
    try:
        cluster = PostgresCluster().start()
    except Exception as error:  # initdb missing, no postgres user, ...
        pytest.fail(f"cannot start a Postgres cluster: {error}")
    yield cluster
    cluster.stop()


def on_nth_load(monkeypatch, n: int, action):
    """Run `action(connection)` inside the n-th load transaction, just before its rows are written."""
    original, calls = load.replace_label_rows, []

    def replace(connection, batch):
        calls.append(1)
        if len(calls) == n:
            action(connection)
        return original(connection, batch)

    monkeypatch.setattr(load, "replace_label_rows", replace)


def test_connection_terminated_mid_load(cluster, encord_emulator, key_path, project, monkeypatch):
    warehouse, reference = new_warehouse(cluster.url()), new_warehouse(cluster.url())
    admin = create_engine(cluster.url(), isolation_level="AUTOCOMMIT")

    def terminate(connection):
        pid = connection.connection.dbapi_connection.info.backend_pid
        with admin.connect() as other:
            assert other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()

    on_nth_load(monkeypatch, 2, terminate)
    result = run_sync(warehouse, encord_emulator, key_path, project.hash, *SMALL, expect=2)
    assert "Traceback" not in result.output and result.stderr.strip().splitlines()[-1].startswith("encord-warehouse: ")
    assert last_run(warehouse)[0] == "failed"
    assert warehouse.scalar("SELECT count(*) FROM branches") == 2  # the first batch committed, the second did not
    monkeypatch.undo()
    run_sync(warehouse, encord_emulator, key_path, project.hash, *SMALL)
    assert snapshot(warehouse) == reference_snapshot(reference, encord_emulator, key_path, project.hash)
    assert warehouse.scalar("SELECT cursor FROM sync_state") == listed_cursor(encord_emulator, project.hash)
    admin.dispose()


def test_an_engine_kept_across_a_postgres_restart_syncs_once_the_server_is_back(cluster, tmp_path):
    """A scheduler's long-lived process keeps one engine: its pooled connections died with the restart."""
    from connector.db import create_warehouse_engine
    from connector.lock import warehouse_lock
    from connector.sync import ExportSyncConfig, sync_export

    export = Path(__file__).resolve().parents[2] / "examples" / "sample_export.json"
    engine = create_warehouse_engine(cluster.url(), schema="kept_engine")
    for restart in (False, True, False):
        if restart:
            cluster.restart("fast")
        with warehouse_lock(engine):
            assert sync_export(engine, ExportSyncConfig(str(export), full_refresh=True)).ok
    with engine.connect() as connection:
        assert connection.execute(text("SELECT status, count(*) FROM sync_runs GROUP BY status")).all() == [
            ("succeeded", 3)]
    engine.dispose()


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_postgres_restarted_between_runs_and_during_one(cluster, encord_emulator, key_path, project, monkeypatch, mode):
    warehouse, reference = new_warehouse(cluster.url()), new_warehouse(cluster.url())
    run_sync(warehouse, encord_emulator, key_path, project.hash, *SMALL)
    warehouse.engine.dispose()
    cluster.restart(mode)  # between runs
    edited = encord_emulator.row(project.rows[0]["label_hash"])
    next(iter(edited["data_units"].values()))["labels"].clear()
    encord_emulator.clock.advance(60)
    encord_emulator.put_row(project.hash, edited)
    for row in project.rows[3:6]:
        encord_emulator.put_row(project.hash, {**row, "label_status": "REVIEWED"})
    on_nth_load(monkeypatch, 2, lambda connection: cluster.restart(mode))  # during one
    run_sync(warehouse, encord_emulator, key_path, project.hash, *SMALL, expect=2)
    monkeypatch.undo()
    warehouse.engine.dispose()
    assert last_run(warehouse)[0] == "failed"
    run_sync(warehouse, encord_emulator, key_path, project.hash, *SMALL)
    assert snapshot(warehouse) == reference_snapshot(reference, encord_emulator, key_path, project.hash)
    assert warehouse.scalar("SELECT cursor FROM sync_state") == listed_cursor(encord_emulator, project.hash)


def test_an_extract_frames_run_the_server_left_ends_with_that_error(cluster, tmp_path, monkeypatch):
    """The server stops while a video is extracted: the run cannot be recorded either (said in a warning), and the
    command ends with the error that stopped it; until 2026-11-30 that of recording the failure ("connection
    refused") replaced it."""
    import json

    from click.testing import CliRunner

    import connector.frames.job as job
    from connector.cli import cli
    from connector.sync import ExportSyncConfig, sync_export
    from tests.media import make_video
    from tests.test_frames_job import PROJECT, label_row

    warehouse = new_warehouse(cluster.url())
    make_video(tmp_path / "a.mp4")
    export = tmp_path / "export.json"
    export.write_text(json.dumps([label_row("a.mp4", "dh-a", [3, 40])]))
    assert sync_export(warehouse.engine, ExportSyncConfig(path=str(export), project_hash=PROJECT)).ok
    warehouse.engine.dispose()
    extracting = job.process_video

    def the_server_stops_meanwhile(task):
        cluster.stop_server("fast")
        return extracting(task)

    monkeypatch.setattr(job, "process_video", the_server_stops_meanwhile)
    try:
        result = CliRunner().invoke(cli, ["extract-frames", "--media-root", str(tmp_path), "--dest",
                                          str(tmp_path / "frames"), *warehouse.cli_args])
    finally:
        cluster.start_server()
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert " warning the failed run could not be recorded in sync_runs: connection failed: " in lines[0]
    assert lines[1:] == [f"encord-warehouse: warehouse {cluster.url()}: terminating connection due to administrator command"]
