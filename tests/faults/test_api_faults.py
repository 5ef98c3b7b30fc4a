"""Encord API faults, emulated under the real SDK: each run ends equal, table by table, to a clean
full sync of the same source state (after one normal re-run where the fault made the run fail)."""

from __future__ import annotations

import pytest

from conftest import listed_cursor, reference_snapshot
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


def test_a_response_the_sdk_cannot_parse_fails_the_run_with_one_short_line(warehouse, encord_emulator, key_path, project):
    """The SDK quotes a response body it cannot parse in its error: here a label row with a NaN token (the SDK
    reads responses with orjson, and JSON has no NaN). The run fails with one line of a few hundred characters,
    not the megabytes of the bundle, and the warehouse keeps what it had."""
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    before = snapshot(warehouse)
    video = project.rows[0]
    frames = next(iter(video["data_units"].values()))["labels"]
    next(o for f in frames for o in frames[f]["objects"] if o["shape"] == "bounding_box")["boundingBox"]["x"] = float("nan")
    encord_emulator.put_row(project.hash, video)
    result = run_sync(warehouse, encord_emulator, key_path, project.hash, "--max-retries", "1", "--retry-backoff", "0",
                      expect=2)
    lines = result.stderr.strip().splitlines()  # the log, then the error
    message = lines[-1]
    assert message.startswith("encord-warehouse: cannot fetch label rows after 2 attempts: RequestException: "
                              "Error parsing JSON response: {")
    assert message.endswith(" [...]") and max(map(len, lines)) < 800, message[:1000]
    stored = warehouse.scalar("SELECT error FROM sync_runs WHERE status = 'failed'")
    assert stored in message and len(stored) < 600
    assert snapshot(warehouse) == before
