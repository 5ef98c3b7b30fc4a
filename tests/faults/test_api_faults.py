"""Encord API faults, emulated under the real SDK: each run ends equal, table by table, to a clean
full sync of the same source state (after one normal re-run where the fault made the run fail)."""

from __future__ import annotations

import copy
import socket

import pytest

from conftest import listed_cursor, reference_snapshot, sample_rows
from examples import sdk_sample
from connector.db import create_warehouse_engine
from connector.sources.encord import BranchScope, EncordSource, EncordSourceConfig, EncordSourceError
from connector.sync_encord import EncordSyncConfig, sync_encord
from sync_helpers import last_run, run_sync, snapshot
from tests.encord_emulator import EncordEmulator

SMALL = ("--batch-size", "2", "--bundle-size", "3")


def library_sync(warehouse, emulator, key_path, project_hash, sleeps=None, **source):
    """sync_encord through the library, with the source's sleep recorded instead of slept."""
    config = EncordSourceConfig(project_hash, key_path.read_text(), domain=emulator.url, scope=BranchScope(),
                                bundle_size=3, **{"max_retries": 8, "backoff_seconds": 0, **source})
    engine = create_warehouse_engine(warehouse.url, warehouse.schema)
    try:
        return sync_encord(engine, EncordSyncConfig(config, batch_size=2),
                           EncordSource(config, sleep=(sleeps.append if sleeps is not None else lambda s: None)))
    finally:
        engine.dispose()


def test_429_storm_honours_retry_after(warehouse, other_warehouse, encord_emulator, key_path, project):
    emulator, sleeps = encord_emulator, []
    emulator.inject("status", status=429, retry_after="7", path="projects/", times=2)
    emulator.inject("status", status=429, retry_after="3", query_type="labelrowmetadata", times=3)
    emulator.inject("status", status=429, retry_after="5", query_type="labelrow", times=4)
    result = library_sync(warehouse, emulator, key_path, project.hash, sleeps)
    assert result.ok and len(emulator.log.faulted()) == 9
    assert sorted(sleeps) == [3.0] * 3 + [5.0] * 4 + [7.0] * 2  # each wait is the server's Retry-After
    assert snapshot(warehouse) == reference_snapshot(other_warehouse, emulator, key_path, project.hash)


@pytest.mark.parametrize("faults", [
    [("status", {"status": 500, "query_type": "labelrow", "times": 2}),
     ("status", {"status": 502, "query_type": "labelrowmetadata", "times": 1}),
     ("status", {"status": 503, "path": "ontologies/", "times": 2})],
    [("drop", {"query_type": "labelrow", "times": 2}), ("drop", {"path": "projects/", "times": 1})],
    [("truncate", {"query_type": "labelrow", "times": 2, "keep": 100}),
     ("truncate", {"query_type": "labelrowmetadata", "times": 1}), ("truncate", {"path": "ontologies/", "times": 1})],
    [("envelope", {"error": "RATE_LIMIT_ERROR", "envelope_status": 429, "query_type": "labelrow", "times": 2})],
], ids=["5xx", "dropped-connections", "truncated-json", "rate-limit-envelope"])
def test_transient_faults_are_retried(warehouse, other_warehouse, encord_emulator, key_path, project, faults):
    for kind, params in faults:
        encord_emulator.inject(kind, **params)
    run_sync(warehouse, encord_emulator, key_path, project.hash, *SMALL, "--max-retries", "3", "--retry-backoff", "0")
    assert len(encord_emulator.log.faulted()) == sum(p["times"] for _, p in faults)
    assert snapshot(warehouse) == reference_snapshot(other_warehouse, encord_emulator, key_path, project.hash)


def test_a_timeout_is_retried(warehouse, other_warehouse, encord_emulator, key_path, project):
    encord_emulator.inject("delay", seconds=3, query_type="labelrow", times=1)
    result = library_sync(warehouse, encord_emulator, key_path, project.hash, timeout_seconds=1)
    assert result.ok
    assert snapshot(warehouse) == reference_snapshot(other_warehouse, encord_emulator, key_path, project.hash)


def test_faults_past_the_limit_mid_run_keep_what_committed_and_the_rerun_converges(
        warehouse, other_warehouse, encord_emulator, key_path, project):
    emulator = encord_emulator
    original, calls = emulator.store.fetch_rows, []

    def then_fail(*args, **kwargs):  # the first bundle is served, then the API fails for good
        calls.append(1)
        if len(calls) == 1:
            emulator.inject("status", status=500, query_type="labelrow", times=None)
        return original(*args, **kwargs)

    emulator.store.fetch_rows = then_fail
    run_sync(warehouse, emulator, key_path, project.hash, *SMALL, "--retry-backoff", "0", expect=2)
    assert last_run(warehouse)[0] == "failed"
    loaded = warehouse.scalar("SELECT count(*) FROM branches")
    assert 0 < loaded < len(project.rows)
    cursor = warehouse.scalar("SELECT cursor FROM sync_state")
    assert cursor == max(t for (t,) in warehouse.rows("SELECT last_edited_at FROM branches"))
    emulator.clear_faults()
    run_sync(warehouse, emulator, key_path, project.hash, *SMALL)
    assert snapshot(warehouse) == reference_snapshot(other_warehouse, emulator, key_path, project.hash)
    assert warehouse.scalar("SELECT cursor FROM sync_state") == listed_cursor(emulator, project.hash)


def vanish_on_first_fetch(emulator, label_hash):
    original, calls = emulator.store.fetch_rows, []

    def fetch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            emulator.delete_row(label_hash)
        return original(*args, **kwargs)

    emulator.store.fetch_rows = fetch


@pytest.mark.parametrize("mode", ["error", "skip"])
def test_a_row_that_vanishes_between_listing_and_fetching(warehouse, other_warehouse, tmp_path, mode):
    with EncordEmulator(missing_label_rows=mode) as emulator:
        from conftest import sample_rows
        from examples import sdk_sample

        emulator.new_key(tmp_path / "key")
        project_hash = emulator.add_project(title="Vanishing", ontology=sdk_sample.build_ontology().to_dict())
        rows = sample_rows()
        for row in rows:
            emulator.put_row(project_hash, row)
        vanish_on_first_fetch(emulator, rows[1]["label_hash"])
        run_sync(warehouse, emulator, tmp_path / "key", project_hash, *SMALL)
        assert warehouse.scalar("SELECT count(*) FROM branches WHERE label_hash = :h", h=rows[1]["label_hash"]) == 0
        assert warehouse.scalar("SELECT count(*) FROM branches") == len(rows) - 1
        assert snapshot(warehouse) == reference_snapshot(other_warehouse, emulator, tmp_path / "key", project_hash)
        assert emulator.log.creates() == [] and emulator.log.writes() == []


def test_a_row_edited_while_the_sync_runs(warehouse, other_warehouse, encord_emulator, key_path, project):
    emulator = encord_emulator
    original, calls = emulator.store.fetch_rows, []
    late, early = project.rows[5], project.rows[0]  # fetched in the last bundle, in the first

    def edit_during_the_run(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            for row in (late, early):
                edited = emulator.row(row["label_hash"])
                objects = next(iter(edited["data_units"].values()))["labels"]
                frame = objects if "objects" in objects else objects[min(objects, key=int)]
                frame["objects"] = frame["objects"][1:]
                emulator.clock.advance(30)
                emulator.put_row(project.hash, edited)
        return original(*args, **kwargs)

    emulator.store.fetch_rows = edit_during_the_run
    run_sync(warehouse, emulator, key_path, project.hash, *SMALL)
    emulator.store.fetch_rows = original
    run_sync(warehouse, emulator, key_path, project.hash, *SMALL)
    assert snapshot(warehouse) == reference_snapshot(other_warehouse, emulator, key_path, project.hash)
    assert warehouse.scalar("SELECT cursor FROM sync_state") == listed_cursor(emulator, project.hash)


def test_an_unreachable_api_fails_with_one_line_and_changes_nothing(warehouse, encord_emulator, key_path, project):
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    before = snapshot(warehouse)
    encord_emulator.inject("status", status=503, times=None)
    result = run_sync(warehouse, encord_emulator, key_path, project.hash, "--max-retries", "2", "--retry-backoff", "0",
                      expect=2)
    assert result.stderr.count("\n") >= 1 and "Traceback" not in result.output
    assert snapshot(warehouse) == before
    with pytest.raises(EncordSourceError):
        library_sync(warehouse, encord_emulator, key_path, project.hash, max_retries=1)



def test_an_api_that_cannot_be_reached_is_named_with_what_the_network_said(warehouse, encord_emulator, key_path, project):
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    before = snapshot(warehouse)
    with socket.socket() as closed:  # a port that was free a moment ago: nothing listens there
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}"
    result = run_sync(warehouse, encord_emulator, key_path, project.hash, "--domain", nowhere, "--max-retries", "1",
                      "--retry-backoff", "0", expect=2)
    reason = f"cannot open project {project.hash} after 2 attempts: cannot reach {nowhere}: Connection refused"
    assert result.stderr.splitlines()[-1] == f"encord-warehouse: {reason}"
    assert warehouse.rows("SELECT status, error FROM sync_runs ORDER BY started_at DESC LIMIT 1") == [("failed", reason)]
    assert snapshot(warehouse) == before


def test_an_api_that_never_answers_in_time_is_named_with_the_timeout(warehouse, encord_emulator, key_path, project):
    encord_emulator.inject("delay", seconds=3, query_type="labelrow", times=None)
    with pytest.raises(EncordSourceError) as failed:
        library_sync(warehouse, encord_emulator, key_path, project.hash, timeout_seconds=1, max_retries=1)
    assert str(failed.value) == f"cannot fetch label rows after 2 attempts: {encord_emulator.url} did not answer within 1s"
    assert warehouse.scalar("SELECT count(*) FROM object_frames") == 0

def with_a_nan_token(row):
    """`row` with a box coordinate the emulator writes as a NaN token: JSON has none, the SDK's orjson refuses it."""
    frames = next(iter(row["data_units"].values()))["labels"]
    next(o for f in frames for o in frames[f]["objects"] if o["shape"] == "bounding_box")["boundingBox"]["x"] = float("nan")
    return row


def rows_of(warehouse, label_hash):
    return {name: warehouse.rows(f"SELECT * FROM {name} WHERE label_hash = :h ORDER BY 1, 2, 3", h=label_hash)
            for name in ("branches", "objects", "object_frames")}


@pytest.mark.parametrize("also_changed", [(), (3, 6)], ids=["alone", "in-a-bundle"])
def test_a_row_whose_answer_the_sdk_cannot_parse_is_quarantined_and_the_rest_load(
        warehouse, other_warehouse, encord_emulator, key_path, project, also_changed):
    """The SDK refuses the API's answer for one label row (a NaN token; it quotes the whole body in its error).
    Fetched alone it still fails while another row's answer reads, so the row is quarantined with one short line,
    its stored version kept, the rows beside it loaded; once fixed, the next sync converges."""
    emulator = encord_emulator
    run_sync(warehouse, emulator, key_path, project.hash)
    video = project.rows[0]
    stored = rows_of(warehouse, video["label_hash"])
    emulator.put_row(project.hash, with_a_nan_token(copy.deepcopy(video)))
    for index in also_changed:
        emulator.put_row(project.hash, project.rows[index])
    emulator.log.clear()
    result = run_sync(warehouse, emulator, key_path, project.hash, "--bundle-size", "3", "--max-retries", "1",
                      "--retry-backoff", "0", expect=1)
    assert max(map(len, result.stderr.splitlines())) < 800
    [(label_hash, field, reason)] = warehouse.rows("SELECT label_hash, field, reason FROM sync_errors")
    assert (label_hash, field) == (video["label_hash"], "<source>")
    assert reason.startswith("the SDK cannot parse the Encord API's answer for this label row: RequestException: "
                             "Error parsing JSON response: {") and reason.endswith(" [...]") and len(reason) < 600
    assert rows_of(warehouse, video["label_hash"]) == stored
    assert last_run(warehouse)[0] == "partial" and last_run(warehouse)[7] == 1
    # 2 attempts in a bundle of its own, or in the bundle of 3 and then alone; the evidence that the API
    # answers is a fetch of another row that reads: the probe, or (also) the rows beside it; then the row
    # alone once more (an outage may have ended just then)
    assert emulator.log.fetched_label_hashes().count(video["label_hash"]) == (5 if also_changed else 3)
    others = set(emulator.log.fetched_label_hashes()) - {video["label_hash"]}
    assert others >= {project.rows[i]["label_hash"] for i in also_changed} and others
    emulator.put_row(project.hash, video)
    run_sync(warehouse, emulator, key_path, project.hash)
    assert snapshot(warehouse) == reference_snapshot(other_warehouse, emulator, key_path, project.hash)


def test_an_outage_that_ends_as_the_retries_run_out_quarantines_no_row(warehouse, encord_emulator, key_path, project):
    """Error pages (503) for every attempt at a row, then the API is back for the probe: the row is asked for
    once more and loads, instead of being recorded as an answer the SDK cannot parse."""
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    encord_emulator.clock.advance(10)
    encord_emulator.put_row(project.hash, project.rows[0])
    encord_emulator.inject("status", status=503, query_type="labelrow", times=3)
    run_sync(warehouse, encord_emulator, key_path, project.hash, "--max-retries", "2", "--retry-backoff", "0")
    assert warehouse.rows("SELECT count(*) FROM sync_errors") == [(0,)]
    assert last_run(warehouse)[:3] == ("succeeded", len(project.rows), 1)
    assert len(encord_emulator.log.faulted()) == 3


def test_an_answer_that_cannot_be_parsed_fails_the_run_when_no_other_row_shows_the_api_answers(
        warehouse, encord_emulator, key_path):
    """A project of one label row: nothing tells a bad row from an API answering error pages, so the run fails,
    with one line of a few hundred characters (not the megabytes of the body), and the warehouse keeps what it had."""
    row = sample_rows()[0]
    project_hash = encord_emulator.add_project(title="One", ontology=sdk_sample.build_ontology().to_dict())
    encord_emulator.put_row(project_hash, row)
    run_sync(warehouse, encord_emulator, key_path, project_hash)
    before = snapshot(warehouse)
    encord_emulator.put_row(project_hash, with_a_nan_token(row))
    result = run_sync(warehouse, encord_emulator, key_path, project_hash, "--max-retries", "1", "--retry-backoff", "0",
                      expect=2)
    lines = result.stderr.strip().splitlines()  # the log, then the error
    message = lines[-1]
    assert message.startswith("encord-warehouse: cannot fetch label rows after 2 attempts: RequestException: "
                              "Error parsing JSON response: {")
    assert message.endswith(" [...]") and max(map(len, lines)) < 800, message[:1000]
    stored = warehouse.scalar("SELECT error FROM sync_runs WHERE status = 'failed'")
    assert stored in message and len(stored) < 600
    assert snapshot(warehouse) == before
