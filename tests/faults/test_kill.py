"""kill -9 of a real `encord-warehouse sync --project` process at 26 points, on both warehouses.

Each case: the source is in some state (a first sync into an empty warehouse, or an incremental
one after edits, additions and deletions), a sync subprocess dies by SIGKILL at one point, and:
  - right after the kill, every label row in the warehouse is entirely its old or entirely its
    new version (never half of each), and the cursor never passes a row that is not loaded;
  - a normal re-run makes the warehouse equal, table by table, to a clean full sync of the same
    source into an empty warehouse; the cursor is the newest listed edit; no run stays 'running'.

A sync stopped by SIGTERM or SIGINT at those points instead unwinds: rolled back, run recorded as failed.

Kill points come from ENCORD_WAREHOUSE_TEST_KILL_AT (connector/crashpoint.py) and, for fetches,
from outside: the test kills the process while the emulator holds its label-row request.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import duckdb
import pytest

from connector import migrate
from connector.cli import Stopped, _repeat, _stops_unwind
from connector.state import recorded_run
from conftest import listed_cursor, reference_snapshot, spawn_sync
from sync_helpers import CLI, run_sync, snapshot
from tests.encord_emulator import clone_row

SYNC = ("--batch-size", "2", "--bundle-size", "3")

# 8 rows to fetch on a first sync: 3 bundles, 4 batches; 5 on the incremental one: 2 bundles, 3 batches.
INITIAL_POINTS = ["listed:1", "fetch:1", "fetch:2", "fetch:3", "normalize:1", "normalize:4", "normalize:8",
                  "load:1", "load:2", "load:4", "commit:1", "commit:3", "deletes:1", "finish:1"]
INCREMENTAL_POINTS = ["listed:1", "fetch:1", "fetch:2", "normalize:2", "normalize:5", "load:1", "load:3",
                      "commit:2", "deletes:1", "finish:1"]
EXTERNAL_POINTS = [("initial", 2), ("incremental", 1)]  # (scenario, which label-row request is held)
CASES = ([("initial", p) for p in INITIAL_POINTS] + [("incremental", p) for p in INCREMENTAL_POINTS]
         + [(s, f"external-fetch:{n}") for s, n in EXTERNAL_POINTS])

LABEL_ROW_TABLES = ("branches", "frames", "objects", "object_frames", "classifications", "classification_frames",
                    "attributes")


def by_label_row(tables: dict) -> dict:
    """{label_hash: {table: rows}} from a snapshot (label_hash is each table's first column)."""
    grouped: dict = {}
    for name in LABEL_ROW_TABLES:
        for row in tables[name]:
            grouped.setdefault(row[0], {n: [] for n in LABEL_ROW_TABLES})[name].append(row)
    return grouped


def change_source(emulator, project):
    """Edits to three rows, two new rows, one deleted row, one deleted data unit."""
    videos, images = project.rows[:3], project.rows[3:6]
    for row in (videos[0], images[0], videos[1]):
        stored = emulator.row(row["label_hash"])
        for unit in stored["data_units"].values():
            labels = unit["labels"]
            frames = [labels] if "objects" in labels else [labels[k] for k in sorted(labels, key=int)[:1]]
            for frame in frames:
                frame["objects"] = frame["objects"][1:]
        emulator.clock.advance(10)
        emulator.put_row(project.hash, stored)
    for row in images[1:3]:
        emulator.put_row(project.hash, clone_row(row))
    emulator.delete_row(videos[2]["label_hash"])
    emulator.delete_data_unit(project.rows[6]["data_hash"])


def hold_label_row_request(emulator, which: int):
    """Make the emulator hold its `which`-th label-row fetch until released; returns (reached, release)."""
    reached, release = threading.Event(), threading.Event()
    original, calls = emulator.store.fetch_rows, []

    def held(*args, **kwargs):
        calls.append(1)
        if len(calls) == which:
            reached.set()
            release.wait(20)
        return original(*args, **kwargs)

    emulator.store.fetch_rows = held
    return reached, release


@pytest.mark.parametrize("scenario,point", CASES, ids=[f"{s}-{p}" for s, p in CASES])
def test_kill_then_rerun_converges(warehouse, other_warehouse, encord_emulator, key_path, project, scenario, point):
    emulator = encord_emulator
    migrate.upgrade(warehouse.engine)
    if scenario == "incremental":
        run_sync(warehouse, emulator, key_path, project.hash, *SYNC)
        change_source(emulator, project)
    before = by_label_row(snapshot(warehouse))
    cursor_before = warehouse.scalar("SELECT cursor FROM sync_state")

    if point.startswith("external-fetch:"):
        if point.endswith(":1"):  # the emulator's own delay fault holds the first fetch
            emulator.inject("delay", seconds=20, query_type="labelrow", times=1)
            process = spawn_sync(warehouse, emulator, key_path, project.hash, *SYNC)
            _wait_for(lambda: emulator.log.requests_of("labelrow", "GET"))
        else:
            reached, release = hold_label_row_request(emulator, int(point.rsplit(":", 1)[1]))
            process = spawn_sync(warehouse, emulator, key_path, project.hash, *SYNC)
            assert reached.wait(30), "the sync never fetched that far"
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
        emulator.clear_faults()
        if not point.endswith(":1"):
            release.set()
    else:
        process = spawn_sync(warehouse, emulator, key_path, project.hash, *SYNC, kill_at=point)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == -signal.SIGKILL, f"{point} was never reached: {stderr[-2000:]}"

    after_kill = snapshot(warehouse)
    reference = reference_snapshot(other_warehouse, emulator, key_path, project.hash)
    assert_each_row_old_or_new(by_label_row(after_kill), before, by_label_row(reference))
    assert_cursor_never_passes_a_missing_row(warehouse, emulator, project.hash, cursor_before, reference)

    run_sync(warehouse, emulator, key_path, project.hash, *SYNC)
    assert snapshot(warehouse) == reference
    assert warehouse.scalar("SELECT cursor FROM sync_state") == listed_cursor(emulator, project.hash)
    assert warehouse.scalar("SELECT count(*) FROM sync_runs WHERE status = 'running'") == 0
    assert emulator.log.creates() == [] and emulator.log.writes() == []


def assert_each_row_old_or_new(after_kill: dict, before: dict, reference: dict) -> None:
    for label_hash, tables in after_kill.items():
        assert tables in (before.get(label_hash), reference.get(label_hash)), f"label row {label_hash} is half-written"


def assert_cursor_never_passes_a_missing_row(warehouse, emulator, project_hash, cursor_before, reference) -> None:
    cursor = warehouse.scalar("SELECT cursor FROM sync_state")
    if cursor is None or cursor == cursor_before:
        return
    stored = dict(warehouse.rows("SELECT label_hash, last_edited_at FROM branches"))
    from connector.timestamps import parse_timestamp

    for meta in emulator.metadata(project_hash):
        if meta["label_hash"] and parse_timestamp(meta["last_edited_at"]) < cursor:
            assert stored.get(meta["label_hash"]) == parse_timestamp(meta["last_edited_at"]), \
                f"cursor {cursor} passed {meta['label_hash']}, which is not loaded"


def test_a_killed_first_sync_resumes_where_its_last_batch_left(warehouse, other_warehouse, encord_emulator, key_path,
                                                             project):
    """A first sync killed after its second batch committed (4 of 8 rows): the next run fetches the 4 it
    had not (until 2026-11-29 it fetched all 8 again, as after an ontology change) and converges."""
    migrate.upgrade(warehouse.engine)
    process = spawn_sync(warehouse, encord_emulator, key_path, project.hash, *SYNC, kill_at="commit:2")
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    committed = warehouse.scalar("SELECT count(*) FROM branches")
    assert committed == 4
    run_sync(warehouse, encord_emulator, key_path, project.hash, *SYNC)
    assert warehouse.rows("SELECT fetched, inserted, updated FROM sync_runs WHERE status = 'succeeded'") == [
        (8 - committed, 8 - committed, 0)]
    assert snapshot(warehouse) == reference_snapshot(other_warehouse, encord_emulator, key_path, project.hash)


def _wait_for(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


EVERY = ("--every", "1h")
STOPS = [("normalize:3:SIGTERM", 143, "terminated (SIGTERM)", "terminated (SIGTERM)", ()),
         ("commit:1:SIGTERM", 143, "terminated (SIGTERM)", "terminated (SIGTERM)", ()),
         ("load:2:SIGTERM", 143, "terminated (SIGTERM)", "terminated (SIGTERM)", ()),
         ("commit:1:SIGINT", 130, "aborted", "interrupted (Ctrl-C)", ()),
         ("load:2:SIGTERM", 143, "terminated (SIGTERM)", "terminated (SIGTERM)", EVERY),
         ("commit:1:SIGINT", 130, "aborted", "interrupted (Ctrl-C)", EVERY)]


@pytest.mark.parametrize("point, exit_code, message, recorded, every", STOPS,
                         ids=[" ".join((stop[0], *stop[4])) for stop in STOPS])
def test_a_stopped_sync_rolls_back_records_the_run_and_rerun_converges(warehouse, other_warehouse, encord_emulator,
                                                                      key_path, project, point, exit_code, message,
                                                                      recorded, every):
    """SIGTERM (a scheduler stopping the job) unwinds like Ctrl-C: the open transaction rolls back, the run
    is recorded as failed at once (not left 'running' until the next run), the lock is let go. With --every
    the same: a stop does not wait for the run to finish (a scheduler's grace period is seconds)."""
    emulator = encord_emulator
    migrate.upgrade(warehouse.engine)
    process = spawn_sync(warehouse, emulator, key_path, project.hash, *SYNC, *every, kill_at=point)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == exit_code, stderr[-2000:]
    assert stderr.strip().splitlines()[-1] == f"encord-warehouse: {message}"
    assert warehouse.rows("SELECT status, error FROM sync_runs") == [("failed", recorded)]

    reference = reference_snapshot(other_warehouse, emulator, key_path, project.hash)
    assert_each_row_old_or_new(by_label_row(snapshot(warehouse)), {}, by_label_row(reference))
    assert_cursor_never_passes_a_missing_row(warehouse, emulator, project.hash, None, reference)
    loaded = warehouse.scalar("SELECT count(*) FROM branches")
    assert loaded < len(reference["branches"]) and (loaded >= 2 if point.startswith("commit") else True)

    run_sync(warehouse, emulator, key_path, project.hash, *SYNC)  # no --wait-for-lock: the lock was let go
    assert snapshot(warehouse) == reference
    assert warehouse.scalar("SELECT count(*) FROM sync_runs WHERE status = 'running'") == 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_between_scheduled_runs_ends_the_loop_cleanly(warehouse, other_warehouse, encord_emulator, key_path,
                                                             project, signum):
    process = spawn_sync(warehouse, encord_emulator, key_path, project.hash, *SYNC, *EVERY)
    for line in process.stderr:  # the DuckDB file is not polled instead: that would take it from the sync
        if "waiting for the next run" in line:
            break
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0 and "Traceback" not in stderr
    assert warehouse.rows("SELECT status FROM sync_runs") == [("succeeded",)]
    assert snapshot(warehouse) == reference_snapshot(other_warehouse, encord_emulator, key_path, project.hash)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_ctrl_c_in_a_terminal_stops_a_sync_and_its_workers_in_one_line(warehouse, other_warehouse, tmp_path,
                                                                       log_format):
    """Ctrl-C in a terminal signals the whole process group, the worker processes too: they ignore it and
    the sync ends them, so stderr has the one line (under --log-format json, only JSON), exit 130, the
    run recorded failed; the next run converges. Until 2026-11-29 every worker printed a KeyboardInterrupt
    traceback, and click an empty line."""
    sample = json.loads((Path(__file__).resolve().parents[2] / "examples" / "sample_export.json").read_text())
    rows = [clone_row(row) for _ in range(8) for row in sample]  # 6 MB: workers start at 2 MB
    export = tmp_path / "export.json"
    export.write_text(json.dumps(rows))
    command = [*CLI, "sync", "--from-export", str(export),
               "--workers", "2", "--log-format", log_format, *warehouse.cli_args]
    environment = {**os.environ, "ENCORD_WAREHOUSE_TEST_KILL_AT": "prepare:2:SIGINT:group"}  # from inside a worker
    stopped = subprocess.run(command, env=environment, start_new_session=True, capture_output=True, text=True,
                             timeout=120)
    assert stopped.returncode == 130, stopped.stderr[-2000:]
    lines = stopped.stderr.splitlines()
    if log_format == "json":
        events = [json.loads(line) for line in lines]  # every line is JSON
        assert [event["event"] for event in events if event["event"] != "batch_committed"] == [
            "sync_started", "workers_started", "sync_failed", "command_failed"]
        assert (events[-2]["error"], events[-1]["message"]) == ("interrupted (Ctrl-C)", "aborted")
    else:
        assert [line for line in lines if " info " not in line] == ["encord-warehouse: aborted"]
    assert warehouse.rows("SELECT status, error FROM sync_runs") == [("failed", "interrupted (Ctrl-C)")]
    del environment["ENCORD_WAREHOUSE_TEST_KILL_AT"]
    warehouse.engine.dispose()  # DuckDB: one process has the file open at a time
    again = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr[-2000:]
    fresh = subprocess.run([*command[:-len(warehouse.cli_args)], *other_warehouse.cli_args], capture_output=True,
                           text=True, timeout=120)
    assert fresh.returncode == 0
    assert snapshot(warehouse) == snapshot(other_warehouse)


def test_a_hosts_ctrl_c_during_a_warehouse_query_reaches_it_as_keyboardinterrupt(warehouse):
    """A notebook's or a scheduler's cancel is Python's KeyboardInterrupt. DuckDB replaces what a signal handler
    raises during a query with RuntimeError('Query interrupted'), so the host saw a failed sync (and might retry
    it) where it had cancelled one. The run is recorded as failed either way, and as interrupted on both databases
    (until 2026-11-30 as "Query interrupted" on DuckDB and "KeyboardInterrupt" on Postgres)."""
    migrate.upgrade(warehouse.engine)
    long_query = ("SELECT count(*) FROM range(5000000000) AS t(i) WHERE i % 7 = 3" if warehouse.dialect == "duckdb"
                  else "SELECT pg_sleep(20)")
    with pytest.raises(KeyboardInterrupt):
        with recorded_run(warehouse.engine, "export", "p"):
            timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
            timer.start()
            with warehouse.engine.connect() as connection:
                connection.exec_driver_sql(long_query).all()
    timer.join()
    assert warehouse.rows("SELECT status, error FROM sync_runs") == [("failed", "interrupted")]


def test_a_stop_that_lands_in_a_duckdb_query_between_scheduled_runs_still_stops_the_loop():
    """DuckDB-only: `sync --every` treats an error of one run as that run's and goes on. A SIGTERM that landed in a
    DuckDB query outside the run's record (the report after it, a migration) came back as RuntimeError('Query
    interrupted'): the loop went on with SIGTERM and Ctrl-C ignored from then on, stoppable only by SIGKILL."""
    runs = []

    def run_once():
        runs.append(1)
        if len(runs) == 1:
            threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM)).start()
            duckdb.connect().execute("SELECT count(*) FROM range(5000000000) AS t(i) WHERE i % 7 = 3").fetchall()

    with pytest.raises(Stopped) as stopped, _stops_unwind():
        _repeat(run_once, period_s=0.1, max_runs=2)
    assert (stopped.value.signum, len(runs)) == (signal.SIGTERM, 1)
