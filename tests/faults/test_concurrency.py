"""Concurrency, with real processes: two syncs started at once, a sync and a frame extraction at
once, and a migration while an old-version sync holds the warehouse lock."""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import CLI, ROOT, reference_snapshot, sample_rows, spawn_sync
from connector import migrate
from connector.db import create_warehouse_engine
from connector.lock import warehouse_lock
from connector.sync import ExportSyncConfig, sync_export
from sync_helpers import SYNC_TABLES, run_sync, snapshot
from test_bad_input import write
from test_kill import hold_label_row_request
from tests.encord_emulator import clone_row
from tests.media import make_video
from tests.test_frames_job import PROJECT, label_row

OLD_VERSION = "8e229aa"  # the last commit whose head revision is 0002


def finish(process, timeout=60):
    stdout, stderr = process.communicate(timeout=timeout)
    return process.returncode, stdout, stderr


def runs(warehouse):
    return warehouse.rows("SELECT status, fetched, unchanged FROM sync_runs WHERE source = 'encord' ORDER BY started_at")


def test_two_syncs_started_at_once(warehouse, other_warehouse, encord_emulator, key_path, project):
    reached, release = hold_label_row_request(encord_emulator, 1)
    first = spawn_sync(warehouse, encord_emulator, key_path, project.hash)
    assert reached.wait(30)  # the first is mid-run, holding the lock, when the others start
    waiting = spawn_sync(warehouse, encord_emulator, key_path, project.hash, "--wait-for-lock", "60")
    impatient = spawn_sync(warehouse, encord_emulator, key_path, project.hash)
    code, _, stderr = finish(impatient)
    assert code == 2 and "another encord-warehouse command is writing to" in stderr
    time.sleep(0.5)
    assert waiting.poll() is None  # it waits for the lock rather than interleaving
    release.set()
    for process in (first, waiting):
        code, _, stderr = finish(process)
        assert code == 0, stderr[-2000:]
    assert [r[0] for r in runs(warehouse)] == ["succeeded", "succeeded"]
    assert sorted(r[1] for r in runs(warehouse)) == [0, len(project.rows)]  # whichever went second had nothing to do
    assert snapshot(warehouse) == reference_snapshot(other_warehouse, encord_emulator, key_path, project.hash)


def test_a_sync_and_a_frame_extraction_at_once(warehouse, other_warehouse, encord_emulator, key_path, project, tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    make_video(media / "street.mp4")
    export = tmp_path / "export.json"
    export.write_text(json.dumps([label_row("street.mp4", "dh-street", [5, 17, 60])]))
    from click.testing import CliRunner
    from connector.cli import cli

    assert CliRunner().invoke(cli, ["sync", "--from-export", str(export), "--project-hash", PROJECT,
                                    *warehouse.cli_args]).exit_code == 0
    reached, release = hold_label_row_request(encord_emulator, 1)
    sync = spawn_sync(warehouse, encord_emulator, key_path, project.hash)
    assert reached.wait(30)
    extract = subprocess.Popen(
        [*CLI, "extract-frames", "--media-root", str(media), "--dest", str(tmp_path / "frames"), "--format", "png",
         "--project-hash", PROJECT, "--wait-for-lock", "60", *warehouse.cli_args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if warehouse.dialect == "duckdb":  # one process per DuckDB file: the extraction waits for the sync's lock
        time.sleep(1)
        assert extract.poll() is None
        release.set()
    else:  # Postgres: both run at once, each in its own transactions
        code, stdout, stderr = finish(extract)
        assert code == 0, stderr
        release.set()
    assert finish(sync)[0] == 0
    code, stdout, stderr = finish(extract)
    assert code == 0, stderr
    assert warehouse.rows("SELECT frame FROM extracted_frames ORDER BY frame") == [(5,), (17,), (60,)]
    assert sorted(p.name for p in (tmp_path / "frames" / PROJECT / "dh-street").glob("*.png")) == \
        ["000005.png", "000017.png", "000060.png"]
    with warehouse.engine.begin() as connection:  # leave only the Encord project, to compare with its clean sync
        from sqlalchemy import text

        for table in ("branches", "frames", "objects", "object_frames", "classifications", "classification_frames",
                      "attributes"):
            connection.execute(text(f"DELETE FROM {table} WHERE label_hash = 'lh-dh-street-main'"))
        connection.execute(text("DELETE FROM data_units WHERE project_hash = :p"), {"p": PROJECT})
    assert snapshot(warehouse) == reference_snapshot(other_warehouse, encord_emulator, key_path, project.hash)


@pytest.fixture
def old_version(tmp_path):
    """The connector as it was at revision 0002, unpacked from git history."""
    target = tmp_path / "old"
    target.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", OLD_VERSION, "connector", "migrations", "sql", "alembic.ini"],
                             capture_output=True)
    if archive.returncode != 0:
        pytest.fail(f"git history without {OLD_VERSION} (shallow clone?): {archive.stderr.decode()[:200]}")
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def test_a_migration_waits_for_an_old_version_sync(warehouse, other_warehouse, encord_emulator, key_path, project,
                                                   old_version):
    reached, release = hold_label_row_request(encord_emulator, 1)
    warehouse.engine.dispose()
    env = {k: v for k, v in os.environ.items() if k != "ENCORD_WAREHOUSE_TEST_KILL_AT"}
    old_sync = subprocess.Popen(
        [*CLI, "sync", "--project", project.hash,
         "--domain", encord_emulator.url, "--ssh-key-file", str(key_path), *warehouse.cli_args],
        cwd=old_version, env={**env, "PYTHONPATH": str(old_version)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    assert reached.wait(30)
    new_migrate = subprocess.Popen([*CLI, "migrate", "--wait-for-lock", "60", *warehouse.cli_args], cwd=ROOT, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1)
    assert new_migrate.poll() is None  # waits: tables never change under a running sync
    if warehouse.dialect == "postgresql":  # (a DuckDB file cannot be opened while the sync has it)
        assert migrate.current_revision(warehouse.engine) == "0002"
    release.set()
    code, _, stderr = finish(old_sync)
    assert code == 0, stderr
    code, stdout, stderr = finish(new_migrate)
    assert code == 0, stderr
    assert stdout.strip() == f"warehouse at revision {migrate.head_revision()}"
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    assert snapshot(warehouse) == reference_snapshot(other_warehouse, encord_emulator, key_path, project.hash)
    assert SYNC_TABLES


HOLD_WAREHOUSE = """
import sys, time
from sqlalchemy import text
from connector.db import create_warehouse_engine
url, schema, mode, seconds = sys.argv[1:]
engine = create_warehouse_engine(url, schema or None, read_only=mode == "read")
with engine.connect() as connection:
    if mode == "write":
        connection.execute(text("DELETE FROM object_frames"))  # not committed
    else:
        connection.execute(text("SELECT count(*) FROM object_frames"))
    print("open", flush=True)
    time.sleep(float(seconds))  # then ends, its transaction not committed
"""

READERS = (["status", "--format", "json"], ["labels", "--title", "video_0001.mp4", "--start", "0", "--end", "20"])


def hold_warehouse(warehouse, mode, seconds=60):
    """Another process with the warehouse open for `seconds`: `write` in an open transaction, `read` as a
    read-only reader."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_WAREHOUSE, warehouse.url, warehouse.schema or "", mode,
                               str(seconds)],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "open\n"
    return holder


def read(warehouse, together=True, *options) -> list[tuple[int, str, str]]:
    """Each of READERS as its own process, all started together or one after the other: (exit code,
    stdout, stderr) of each."""
    def start(command):
        return subprocess.Popen([*CLI, *command, *options, *warehouse.cli_args], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    if not together:
        return [finish(start(command)) for command in READERS]
    return [finish(reader) for reader in [start(command) for command in READERS]]


@pytest.fixture
def loaded_sample(warehouse):
    """The sample synced, and what each reader prints with no other process on the warehouse."""
    from click.testing import CliRunner
    from connector.cli import cli
    sync = CliRunner().invoke(cli, ["sync", "--from-export", str(ROOT / "examples/sample_export.json"),
                                    "--ontology", str(ROOT / "examples/ontology.json"), *warehouse.cli_args])
    assert sync.exit_code == 0, sync.output
    warehouse.engine.dispose()  # from here on, no connection of this process has the file open
    alone = read(warehouse, together=False)
    assert [code for code, _, _ in alone] == [0, 0], alone
    assert json.loads(alone[0][1])["tables"]["object_frames"] > 0 and json.loads(alone[1][1])
    return [stdout for _, stdout, _ in alone]


def test_status_and_labels_while_another_process_reads(warehouse, loaded_sample):
    """Two readers and a read-only client (a BI tool, a notebook) at once: DuckDB lets them share the file."""
    holder = hold_warehouse(warehouse, "read")
    try:
        beside_a_reader = read(warehouse)  # status and labels at once, beside the holder
    finally:
        holder.kill()
        holder.wait()
    assert beside_a_reader == [(0, stdout, "") for stdout in loaded_sample]


def test_status_and_labels_while_another_process_writes(warehouse, loaded_sample):
    """DuckDB lets no other process open a file one has open to write: one line naming it. Postgres readers
    go on, and see nothing of the writer's open transaction."""
    holder = hold_warehouse(warehouse, "write")
    try:
        beside_a_writer = read(warehouse)
    finally:
        holder.kill()
        holder.wait()
    if warehouse.dialect == "duckdb":
        path = warehouse.url.removeprefix("duckdb:///")
        assert beside_a_writer == [(2, "", f"encord-warehouse: the DuckDB file {path} is open for writing in another "
                                           f"process (PID {holder.pid}); try again once it has closed the file or "
                                           "pass --wait-for-lock SECONDS\n")] * 2
    else:
        assert beside_a_writer == [(0, stdout, "") for stdout in loaded_sample]
    assert [stdout for _, stdout, _ in read(warehouse)] == loaded_sample  # the writer's delete never landed


def test_status_and_labels_wait_for_a_writer_to_close_the_file(warehouse, loaded_sample):
    """With --wait-for-lock, a DuckDB reader waits for the writer to close the file; a Postgres one never waits."""
    holder = hold_warehouse(warehouse, "write", seconds=3)
    readers = read(warehouse, True, "--wait-for-lock", "60")
    writer_ended_first = holder.poll() is not None
    assert holder.wait() == 0
    assert readers == [(0, stdout, "") for stdout in loaded_sample]  # the writer's delete never committed
    assert writer_ended_first == (warehouse.dialect == "duckdb")


def test_first_syncs_into_two_warehouses_in_two_threads_of_one_process(warehouse, other_warehouse):
    """Dagster, Prefect or a web app runs syncs in threads. Alembic's context is a module global: two first
    syncs migrating at once ran each other's statements on the wrong connection and both failed (KeyError:
    'script', "Table attributes already exists", "relation branches does not exist"), every time."""
    config = ExportSyncConfig(str(ROOT / "examples" / "sample_export.json"), "p",
                              str(ROOT / "examples" / "ontology.json"), workers=0)
    barrier = threading.Barrier(2)

    def first_sync(into):
        barrier.wait()
        return sync_export(into.engine, config)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(first_sync, [warehouse, other_warehouse]))
    assert [(result.stats.inserted, result.stats.failed) for result in results] == [(10, 0), (10, 0)]
    assert snapshot(warehouse, SYNC_TABLES) == snapshot(other_warehouse, SYNC_TABLES)
    assert {migrate.current_revision(into.engine) for into in (warehouse, other_warehouse)} == {migrate.head_revision()}


def _sync_in_child(url, schema, export, results):
    try:
        engine = create_warehouse_engine(url, schema)
        with warehouse_lock(engine, wait_seconds=0):
            result = sync_export(engine, ExportSyncConfig(str(export), "p2", workers=0))
        results.put(("synced", result.stats.inserted))
    except BaseException as error:  # noqa: BLE001  reported to the parent, which asserts on it
        results.put((type(error).__name__, str(error)))


def test_a_process_forked_while_the_warehouse_is_open(warehouse, tmp_path):
    """Airflow's LocalExecutor and Celery fork the process that holds the engine. On DuckDB the child got the parent's
    DuckDB instance from DuckDB's cache, synced with no lock in its way, and the parent's copy later wrote its stale
    state over the child's rows (or the child crashed on the parent's pooled connection): now the child is refused
    the file in one line. Disposed before the fork, the file is the child's to open. Postgres shares nothing."""
    assert sync_export(warehouse.engine, ExportSyncConfig(str(ROOT / "examples" / "sample_export.json"))).stats.inserted == 10
    export = write(tmp_path, "more.jsonl", [clone_row(row) for row in sample_rows()[:3]])
    fork = multiprocessing.get_context("fork")
    results = fork.Queue()

    def forked_sync(url=warehouse.url):
        child = fork.Process(target=_sync_in_child, args=(url, warehouse.schema, export, results))
        child.start()
        child.join(120)
        assert child.exitcode == 0
        return results.get(timeout=5)

    if warehouse.dialect == "duckdb":
        path = Path(warehouse.url.removeprefix("duckdb:///"))
        spelled_otherwise = f"duckdb:///{path.parent}/./{path.name}"  # DuckDB's cache knows the file by either name
        assert [forked_sync(url) for url in (warehouse.url, spelled_otherwise)] == [("WarehouseError", (
            f"the DuckDB file {name} was open in process {os.getpid()} when it forked this one, and DuckDB cannot "
            "share it with a forked process: dispose of the engine (engine.dispose()) before forking, or start "
            "processes with spawn")) for name in (path, spelled_otherwise.removeprefix("duckdb:///"))]
        assert warehouse.scalar("SELECT count(*) FROM branches") == 10  # the parent reads and writes on
        assert sync_export(warehouse.engine, ExportSyncConfig(str(export), "p3", workers=0)).stats.inserted == 3
        warehouse.engine.dispose()
        dropped = create_warehouse_engine(warehouse.url)
        assert dropped.connect().close() is None
        del dropped  # gone without dispose(): its pool closed the file
        gc.collect()
        export = write(tmp_path, "later.jsonl", [clone_row(row) for row in sample_rows()[:3]])
    assert forked_sync() == ("synced", 3)
    assert warehouse.scalar("SELECT count(*) FROM branches") == (16 if warehouse.dialect == "duckdb" else 13)


def test_overlapping_syncs_in_threads_give_the_process_its_settings_back(warehouse, other_warehouse):
    """A sync pauses the cyclic garbage collector and shortens the switch interval for its process. Each sync put
    back what it found: the second of two overlapping syncs found the first one's 0.2 ms, and ending last, left it
    for good. Here A starts, B starts, A ends, B ends."""
    config = ExportSyncConfig(str(ROOT / "examples" / "sample_export.json"), batch_size=2, workers=0)
    b_loading, a_done = threading.Event(), threading.Event()
    host_interval = sys.getswitchinterval()

    def sync_b():
        def on_progress(rows):
            b_loading.set()
            assert a_done.wait(60)
        return sync_export(other_warehouse.engine, config, on_progress=on_progress)

    with ThreadPoolExecutor(1) as pool:
        started_b = []

        def on_progress_a(rows):
            if not started_b:
                started_b.append(pool.submit(sync_b))
                assert b_loading.wait(60)

        result_a = sync_export(warehouse.engine, config, on_progress=on_progress_a)
        assert (sys.getswitchinterval() < 0.001, gc.isenabled()) == (True, False)  # B is loading still
        a_done.set()
        result_b = started_b[0].result(timeout=120)
    assert (sys.getswitchinterval(), gc.isenabled()) == (host_interval, True)
    assert (result_a.stats.inserted, result_b.stats.inserted) == (10, 10)
