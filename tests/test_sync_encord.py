"""`sync --project` against the local Encord API emulator, through the real SDK, on both warehouses."""

from __future__ import annotations

import copy
import json
import os
import re
import threading
import time
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from connector import sync
from connector.cli import cli
from connector.lock import warehouse_lock
from examples import sdk_sample
from readme_examples import blocks, run_python_example
from sdk_counts import sdk_counts
from sync_helpers import before_first_fetch, last_run, run_sync, snapshot
from tests.encord_emulator.fixtures import encord_emulator, encord_key  # noqa: F401 (fixtures)


@pytest.fixture
def project(encord_emulator):
    ontology = sdk_sample.build_ontology().to_dict()
    project_hash = encord_emulator.add_project(title="Streets", ontology=ontology)
    rows = {
        "video": sdk_sample.video_row(1).to_encord_dict(),
        "image": sdk_sample.image_row(2).to_encord_dict(),
        "img_group": sdk_sample.img_group_row(4).to_encord_dict(),
        "dicom": sdk_sample.server_label_dict(sdk_sample.dicom_row(3)),
    }
    for row in rows.values():
        encord_emulator.put_row(project_hash, row)
    return SimpleNamespace(hash=project_hash, rows=rows, ontology=ontology)


@pytest.fixture
def key_path(encord_key, tmp_path):
    return tmp_path / "encord_key"  # written there by the encord_key fixture


def test_first_sync_loads_every_row_as_the_sdk_reads_it(warehouse, encord_emulator, key_path, project):
    result = run_sync(warehouse, encord_emulator, key_path, project.hash)
    assert result.exit_code == 0, result.output
    assert last_run(warehouse) == ("succeeded", 4, 4, 4, 0, 0, 0, 0)
    for row in project.rows.values():
        expected = sdk_counts(row, project.ontology)
        label_hash = row["label_hash"]
        per_frame = dict(warehouse.rows(
            "SELECT frame, count(*) FROM object_frames WHERE label_hash = :h GROUP BY frame", h=label_hash))
        assert per_frame == expected.annotations_per_frame
        assert warehouse.scalar("SELECT count(*) FROM classification_frames WHERE label_hash = :h",
                                h=label_hash) == expected.classification_frame_count
    dicom = project.rows["dicom"]
    unit = next(iter(dicom["data_units"].values()))
    slice_sizes = {int(f): (v["metadata"]["width"], v["metadata"]["height"]) for f, v in unit["labels"].items()}
    stored = dict((f, (w, h)) for f, w, h in warehouse.rows(
        "SELECT frame, width, height FROM frames WHERE label_hash = :h", h=dicom["label_hash"]))
    assert {f: stored[f] for f in slice_sizes} == slice_sizes
    assert warehouse.scalar("SELECT title FROM projects WHERE project_hash = :p", p=project.hash) == "Streets"
    assert warehouse.scalar("SELECT count(*) FROM ontology_objects") == len(project.ontology["objects"])
    assert encord_emulator.log.creates() == [] and encord_emulator.log.writes() == []


def test_no_change_resync_fetches_nothing(warehouse, encord_emulator, key_path, project):
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    before = snapshot(warehouse)
    encord_emulator.log.clear()
    result = run_sync(warehouse, encord_emulator, key_path, project.hash)
    assert result.exit_code == 0
    assert encord_emulator.log.fetched_label_hashes() == []
    assert last_run(warehouse) == ("succeeded", 4, 0, 0, 0, 4, 0, 0)
    assert snapshot(warehouse) == before


def test_an_edit_fetches_only_the_edited_row(warehouse, encord_emulator, key_path, project):
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    video = encord_emulator.row(project.rows["video"]["label_hash"])
    labels = next(iter(video["data_units"].values()))["labels"]
    first_frame = min(labels, key=int)
    removed = labels[first_frame]["objects"].pop(0)
    encord_emulator.clock.advance(30)
    encord_emulator.put_row(project.hash, video)
    encord_emulator.log.clear()
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    assert encord_emulator.log.fetched_label_hashes() == [video["label_hash"]]
    assert last_run(warehouse) == ("succeeded", 4, 1, 0, 1, 3, 0, 0)
    assert warehouse.scalar(
        "SELECT count(*) FROM object_frames WHERE label_hash = :h AND object_hash = :o AND frame = :f",
        h=video["label_hash"], o=removed["objectHash"], f=int(first_frame)) == 0
    cursor = warehouse.scalar("SELECT cursor FROM sync_state WHERE project_hash = :p", p=project.hash)
    listed = encord_emulator.metadata(project.hash)
    assert cursor.isoformat()[:19] == max(m["last_edited_at"] for m in listed if m["label_hash"])[:19]


def test_a_task_moved_without_a_label_edit_is_fetched_again(warehouse, encord_emulator, key_path, project):
    """Approving or returning a task moves its workflow stage, not last_edited_at."""
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    image = encord_emulator.row(project.rows["image"]["label_hash"])
    stage = "SELECT workflow_stage, workflow_stage_uuid, last_edited_at FROM branches WHERE label_hash = :h"
    (title, _, edited_at), = warehouse.rows(stage, h=image["label_hash"])
    review = {"uuid": "3d6f7b4a-8b2e-4d66-ae8f-3c4d5e6f7081", "title": "Review 1"}
    assert title != review["title"]
    encord_emulator.put_row(project.hash, image, keep_timestamps=True,
                            meta={"annotation_task_status": "IN_REVIEW", "workflow_graph_node": review})
    encord_emulator.log.clear()
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    assert encord_emulator.log.fetched_label_hashes() == [image["label_hash"]]
    assert last_run(warehouse) == ("succeeded", 4, 1, 0, 1, 3, 0, 0)
    assert warehouse.rows(stage, h=image["label_hash"]) == [("Review 1", review["uuid"], edited_at)]
    encord_emulator.log.clear()
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    assert encord_emulator.log.fetched_label_hashes() == []


def test_a_save_in_the_second_of_the_one_fetched_is_fetched_by_the_next_run(warehouse, encord_emulator, key_path, project):
    """Encord lists edit times in whole seconds: a row fetched in the second of its last save and saved again in that
    second lists as before. Until 2026-11-30 the later save was never fetched; now a row fetched within --overlap
    (and a second) of its edit is fetched again by the next run, until a run fetches it outside that window."""
    image = encord_emulator.row(project.rows["image"]["label_hash"])
    saved_at = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=3)
    encord_emulator.put_row(project.hash, image, last_edited_at=saved_at)
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    objects = "SELECT count(*) FROM objects WHERE label_hash = :h"
    stored_objects = warehouse.scalar(objects, h=image["label_hash"])
    removed = next(iter(image["data_units"].values()))["labels"]["objects"].pop()
    encord_emulator.put_row(project.hash, image, last_edited_at=saved_at)  # the same second, one object fewer
    encord_emulator.log.clear()
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    assert encord_emulator.log.fetched_label_hashes() == [image["label_hash"]]
    assert last_run(warehouse) == ("succeeded", 4, 1, 0, 1, 3, 0, 0)
    assert warehouse.scalar(objects, h=image["label_hash"]) == stored_objects - 1
    assert warehouse.scalar("SELECT count(*) FROM objects WHERE object_hash = :o", o=removed["objectHash"]) == 0

    encord_emulator.log.clear()
    run_sync(warehouse, encord_emulator, key_path, project.hash)  # still within 5m of the save: fetched, not rewritten
    assert (encord_emulator.log.fetched_label_hashes(), last_run(warehouse)) == (
        [image["label_hash"]], ("succeeded", 4, 1, 0, 0, 4, 0, 0))
    run_sync(warehouse, encord_emulator, key_path, project.hash, "--overlap", "0s")  # now outside: rewritten settled
    assert last_run(warehouse) == ("succeeded", 4, 1, 0, 1, 3, 0, 0)
    encord_emulator.log.clear()
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    assert (encord_emulator.log.fetched_label_hashes(), last_run(warehouse)) == ([], ("succeeded", 4, 0, 0, 0, 4, 0, 0))


def test_a_save_during_a_run_then_again_in_its_second_is_fetched_by_the_next_run(warehouse, encord_emulator, key_path,
                                                                                 project):
    """Listed with an old edit, saved between the listing and the fetch, then saved again in that second: the
    window is the fetched row's edit time, not the listed one (which left the last save unsynced)."""
    image = encord_emulator.row(project.rows["image"]["label_hash"])
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    encord_emulator.clock.advance(30)
    encord_emulator.put_row(project.hash, image)  # an edit the next run lists, at the emulator's (old) time
    saved_at = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=3)
    before_first_fetch(encord_emulator, lambda: encord_emulator.put_row(project.hash, image, last_edited_at=saved_at))
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    objects = "SELECT count(*) FROM objects WHERE label_hash = :h"
    stored_objects = warehouse.scalar(objects, h=image["label_hash"])
    next(iter(image["data_units"].values()))["labels"]["objects"].pop()
    encord_emulator.put_row(project.hash, image, last_edited_at=saved_at)  # the same second, one object fewer
    encord_emulator.log.clear()
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    assert encord_emulator.log.fetched_label_hashes() == [image["label_hash"]]
    assert warehouse.scalar(objects, h=image["label_hash"]) == stored_objects - 1


def test_a_label_status_set_without_a_label_edit_is_fetched_again(warehouse, encord_emulator, key_path):
    """A project without workflows (manual QA): a review sets the row's label status."""
    project_hash = encord_emulator.add_project(ontology=sdk_sample.build_ontology().to_dict(), project_type="manual_qa")
    image = sdk_sample.image_row(2).to_encord_dict()
    encord_emulator.put_row(project_hash, image)
    run_sync(warehouse, encord_emulator, key_path, project_hash)
    status = "SELECT label_status FROM branches WHERE label_hash = :h"
    assert warehouse.scalar(status, h=image["label_hash"]) == "LABELLED"
    encord_emulator.put_row(project_hash, {**encord_emulator.row(image["label_hash"]), "label_status": "REVIEWED"},
                            keep_timestamps=True)
    encord_emulator.log.clear()
    run_sync(warehouse, encord_emulator, key_path, project_hash)
    assert encord_emulator.log.fetched_label_hashes() == [image["label_hash"]]
    assert warehouse.scalar(status, h=image["label_hash"]) == "REVIEWED"


def test_a_video_renamed_without_a_label_edit_is_fetched_again(warehouse, encord_emulator, key_path, project):
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    video = encord_emulator.row(project.rows["video"]["label_hash"])
    video["data_title"] = next(iter(video["data_units"].values()))["data_title"] = "renamed.mp4"
    encord_emulator.put_row(project.hash, video, keep_timestamps=True)
    assert {m["data_title"] for m in encord_emulator.metadata(project.hash) if m["label_hash"] == video["label_hash"]} \
        == {"renamed.mp4"}
    encord_emulator.log.clear()
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    assert encord_emulator.log.fetched_label_hashes() == [video["label_hash"]]
    title = "SELECT data_title FROM data_units WHERE data_hash = :d"
    assert warehouse.scalar(title, d=video["data_hash"]) == "renamed.mp4"
    assert {t for (t,) in warehouse.rows("SELECT DISTINCT data_title FROM frame_labels WHERE label_hash = :h",
                                          h=video["label_hash"])} == {"renamed.mp4"}


def test_deleted_rows_and_data_units_are_removed(warehouse, encord_emulator, key_path, project):
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    image, group = project.rows["image"], project.rows["img_group"]
    encord_emulator.delete_row(image["label_hash"])
    encord_emulator.delete_data_unit(group["data_hash"])
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    assert last_run(warehouse)[6] == 2
    for label_hash in (image["label_hash"], group["label_hash"]):
        for table in ("branches", "frames", "objects", "object_frames", "classification_frames", "attributes"):
            assert warehouse.scalar(f"SELECT count(*) FROM {table} WHERE label_hash = :h", h=label_hash) == 0, table
    units = {h for (h,) in warehouse.rows("SELECT data_hash FROM data_units")}
    assert units == {project.rows["video"]["data_hash"], project.rows["dicom"]["data_hash"]}


def test_a_data_unit_moved_to_a_dataset_of_the_same_title_is_fetched_again(warehouse, encord_emulator, key_path,
                                                                           project):
    """Only its dataset_hash changed (no edit, same titles): fetched once, then left alone again (until
    2026-11-29 the old dataset_hash stayed for good)."""
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    image = encord_emulator.row(project.rows["image"]["label_hash"])
    image["dataset_hash"] = "11111111-2222-3333-4444-555555555555"
    encord_emulator.put_row(project.hash, image, keep_timestamps=True)
    encord_emulator.log.clear()
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    assert encord_emulator.log.fetched_label_hashes() == [image["label_hash"]]
    assert warehouse.scalar("SELECT dataset_hash FROM data_units WHERE data_hash = :d", d=image["data_hash"]) == \
        "11111111-2222-3333-4444-555555555555"
    encord_emulator.log.clear()
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    assert encord_emulator.log.fetched_label_hashes() == []


def test_keep_deleted_marks_rows_instead(warehouse, encord_emulator, key_path, project):
    run_sync(warehouse, encord_emulator, key_path, project.hash, "--keep-deleted")
    image = project.rows["image"]
    encord_emulator.delete_row(image["label_hash"])
    run_sync(warehouse, encord_emulator, key_path, project.hash, "--keep-deleted")
    assert warehouse.scalar("SELECT deleted_at IS NOT NULL FROM branches WHERE label_hash = :h", h=image["label_hash"])
    assert warehouse.scalar("SELECT count(*) FROM object_frames WHERE label_hash = :h", h=image["label_hash"]) > 0


def test_rows_marked_deleted_go_with_the_first_full_listing_without_keep_deleted(warehouse, other_warehouse,
                                                                                encord_emulator, key_path, project):
    """--keep-deleted's marks are not for good: a run without it removes the marked rows Encord still lacks,
    their data unit with them, as a fresh sync would not hold them (until 2026-11-29 they stayed)."""
    run_sync(warehouse, encord_emulator, key_path, project.hash, "--keep-deleted")
    image = project.rows["image"]
    encord_emulator.delete_row(image["label_hash"])
    run_sync(warehouse, encord_emulator, key_path, project.hash, "--keep-deleted")
    assert warehouse.scalar("SELECT count(*) FROM object_frames WHERE label_hash = :h", h=image["label_hash"]) > 0
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    assert last_run(warehouse)[0] == "succeeded" and last_run(warehouse)[6] == 1  # deleted
    assert warehouse.scalar("SELECT count(*) FROM branches WHERE label_hash = :h", h=image["label_hash"]) == 0
    run_sync(other_warehouse, encord_emulator, key_path, project.hash)
    assert snapshot(warehouse) == snapshot(other_warehouse)


def test_marked_rows_are_removed_only_by_a_run_whose_scope_covers_their_branch(warehouse, encord_emulator, key_path,
                                                                               project):
    """A `--branch` run's listing shows none of `main`'s rows, and a `main` run's none of the annotators': until
    2026-11-30 either removed the other's rows that a --keep-deleted run had marked, even rows Encord had again."""
    video, image = project.rows["video"], project.rows["image"]
    first, second = (encord_emulator.add_branch_row(project.hash, copy.deepcopy(video), f"encord-annotator-{n}")
                     for n in (1, 2))
    run_sync(warehouse, encord_emulator, key_path, project.hash, "--all-branches", "--keep-deleted")
    stored_image = encord_emulator.row(image["label_hash"])
    for label_hash in (image["label_hash"], first, second):
        encord_emulator.delete_row(label_hash)
    run_sync(warehouse, encord_emulator, key_path, project.hash, "--all-branches", "--keep-deleted")
    marked = "SELECT label_hash FROM branches WHERE deleted_at IS NOT NULL ORDER BY label_hash"
    assert warehouse.rows(marked) == sorted([(image["label_hash"],), (first,), (second,)])

    encord_emulator.put_row(project.hash, stored_image, keep_timestamps=True)  # back in Encord
    run_sync(warehouse, encord_emulator, key_path, project.hash, "--branch", "encord-annotator-1")
    assert last_run(warehouse)[6] == 1 and warehouse.rows(marked) == sorted([(image["label_hash"],), (second,)])
    run_sync(warehouse, encord_emulator, key_path, project.hash)  # main: the image again, the annotator's row left
    assert last_run(warehouse)[6] == 0 and warehouse.rows(marked) == [(second,)]
    assert warehouse.scalar("SELECT count(*) FROM objects WHERE label_hash = :h", h=image["label_hash"]) > 0
    run_sync(warehouse, encord_emulator, key_path, project.hash, "--all-branches")  # covers it, and it is gone
    assert last_run(warehouse)[6] == 1 and warehouse.rows(marked) == []
    assert warehouse.scalar("SELECT count(*) FROM branches WHERE label_hash IN (:a, :b)", a=first, b=second) == 0


def test_a_row_marked_deleted_that_comes_back_unchanged_is_unmarked(warehouse, encord_emulator, key_path, project):
    """Its content (and edit time) as stored: the fingerprint matches, but it must not stay marked deleted."""
    run_sync(warehouse, encord_emulator, key_path, project.hash, "--keep-deleted")
    image = project.rows["image"]
    stored = encord_emulator.row(image["label_hash"])
    encord_emulator.delete_row(image["label_hash"])
    run_sync(warehouse, encord_emulator, key_path, project.hash, "--keep-deleted")
    assert warehouse.scalar("SELECT deleted_at IS NOT NULL FROM branches WHERE label_hash = :h", h=image["label_hash"])
    encord_emulator.put_row(project.hash, stored, keep_timestamps=True)
    run_sync(warehouse, encord_emulator, key_path, project.hash, "--keep-deleted")
    assert warehouse.rows("SELECT deleted_at FROM branches WHERE label_hash = :h", h=image["label_hash"]) == [(None,)]
    assert last_run(warehouse)[:2] == ("succeeded", len(project.rows))


def test_a_row_quarantined_on_its_first_fetch_and_deleted_in_encord_is_no_longer_a_problem(
        warehouse, encord_emulator, key_path, project):
    """Never stored, the row is no deletion of the warehouse's: a full, unfiltered listing that no longer shows
    it, and no branch of Encord that has it, resolve its problem. A main-branch listing leaves a consensus
    branch's row to the runs that list it."""
    def unreadable(number):  # a frame past the video's end: the SDK refuses the row
        row = sdk_sample.video_row(number).to_encord_dict()
        labels = next(iter(row["data_units"].values()))["labels"]
        labels["5000"] = labels.pop(max(labels, key=int))
        return row

    main_row = unreadable(9)
    encord_emulator.put_row(project.hash, main_row)
    branch_hash = encord_emulator.add_branch_row(project.hash, unreadable(10), "encord-annotator-2")
    run_sync(warehouse, encord_emulator, key_path, project.hash, "--all-branches", expect=1)
    open_problems = "SELECT DISTINCT label_hash FROM sync_errors WHERE resolved_at IS NULL ORDER BY label_hash"
    assert warehouse.rows(open_problems) == sorted([(main_row["label_hash"],), (branch_hash,)])
    encord_emulator.delete_row(main_row["label_hash"])
    run_sync(warehouse, encord_emulator, key_path, project.hash, "--title", project.rows["image"]["data_title"])
    assert warehouse.rows(open_problems) == sorted([(main_row["label_hash"],), (branch_hash,)])
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    assert warehouse.rows(open_problems) == [(branch_hash,)]
    encord_emulator.delete_row(branch_hash)
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    assert warehouse.rows(open_problems) == []


def test_a_bundle_refused_for_a_vanished_row_leaves_the_cursor_at_the_listed_edits(warehouse, other_warehouse,
                                                                                    encord_emulator, key_path, project):
    """The API refuses a bundle with a row deleted since the listing; its other rows, listed again, may have
    been edited since too. The cursor stays at the edits this run listed, so the next run lists the image,
    edited meanwhile, which this run never listed."""
    every = ("--full-listing-every", "3")
    run_sync(warehouse, encord_emulator, key_path, project.hash, *every)
    video, group, image = (encord_emulator.row(project.rows[name]["label_hash"]) for name in ("video", "img_group", "image"))
    encord_emulator.clock.advance(3600)
    for row in (video, group):
        encord_emulator.put_row(project.hash, row)

    def edit_the_image_touch_the_video_and_delete_the_group():
        next(iter(image["data_units"].values()))["labels"]["objects"] = []
        encord_emulator.put_row(project.hash, image)
        encord_emulator.clock.advance(600)
        encord_emulator.put_row(project.hash, video)
        encord_emulator.delete_row(group["label_hash"])

    before_first_fetch(encord_emulator, edit_the_image_touch_the_video_and_delete_the_group)
    run_sync(warehouse, encord_emulator, key_path, project.hash, *every)
    encord_emulator.log.clear()
    run_sync(warehouse, encord_emulator, key_path, project.hash, *every)
    assert encord_emulator.log.fetched_label_hashes() == [image["label_hash"]]
    run_sync(warehouse, encord_emulator, key_path, project.hash)  # a full listing: the group goes
    run_sync(other_warehouse, encord_emulator, key_path, project.hash)
    assert snapshot(warehouse) == snapshot(other_warehouse)


@pytest.mark.parametrize("bundle_size", ["1", "100"])
def test_rows_deleted_between_the_listing_and_the_fetch_are_counted_as_vanished(warehouse, encord_emulator, key_path,
                                                                                 project, bundle_size):
    """Alone in their request, or in a bundle the API refuses for them: counted in sync_runs.vanished, said in the
    run's line and by `status`; the next full listing removes them. Until 2026-11-30 they were counted nowhere:
    listed 4, fetched 2, unchanged 0."""
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    encord_emulator.clock.advance(3600)
    for row in project.rows.values():
        encord_emulator.put_row(project.hash, encord_emulator.row(row["label_hash"]))
    gone = sorted(project.rows[name]["label_hash"] for name in ("image", "img_group"))
    before_first_fetch(encord_emulator, lambda: [encord_emulator.delete_row(label_hash) for label_hash in gone])
    result = run_sync(warehouse, encord_emulator, key_path, project.hash, "--bundle-size", bundle_size)
    assert last_run(warehouse) == ("succeeded", 4, 2, 0, 2, 0, 0, 0)
    assert warehouse.scalar("SELECT vanished FROM sync_runs ORDER BY run_seq DESC LIMIT 1") == 2
    assert result.stdout.splitlines()[0].endswith(", 0 failed, 2 vanished (deleted in Encord since the listing)")
    warehouse.engine.dispose()  # DuckDB: status opens the file read-only
    status = CliRunner().invoke(cli, ["status", *warehouse.cli_args], catch_exceptions=False).stdout
    runs = [line for line in status.splitlines() if "  listed " in line]
    assert runs[0].endswith("  listed 4  fetched 2  inserted 0  updated 2  unchanged 0  deleted 0  failed 0  vanished 2")
    assert runs[1].endswith("  failed 0")
    run_sync(warehouse, encord_emulator, key_path, project.hash, "--full-refresh")
    assert warehouse.scalar("SELECT count(*) FROM branches WHERE label_hash IN (:a, :b)", a=gone[0], b=gone[1]) == 0
    assert warehouse.scalar("SELECT vanished FROM sync_runs ORDER BY run_seq DESC LIMIT 1") == 0


def test_a_row_the_sdk_cannot_read_deleted_before_its_own_request_is_vanished_not_loaded_cut_short(
        warehouse, encord_emulator, key_path, project):
    """The SDK chokes on a row in a bundle (a label past the video's end), so each row is asked for alone; the row
    is deleted just before its own request. Until 2026-11-30 the sync loaded what the SDK had read of it from the
    bundle (labels cut short), as a good row; it is vanished, and a row the SDK cannot read is still quarantined."""
    unreadable = [sdk_sample.video_row(seed).to_encord_dict() for seed in (8, 9)]
    for row in unreadable:
        labels = next(iter(row["data_units"].values()))["labels"]
        labels["5000"] = labels.pop(max(labels, key=int))
        encord_emulator.put_row(project.hash, row)
    gone, kept = (row["label_hash"] for row in unreadable)
    original = encord_emulator.store.fetch_rows

    def delete_before_its_own_request(project_hash, label_hashes, *args, **kwargs):
        if list(label_hashes) == [gone]:
            encord_emulator.store.fetch_rows = original
            encord_emulator.delete_row(gone)
        return original(project_hash, label_hashes, *args, **kwargs)

    encord_emulator.store.fetch_rows = delete_before_its_own_request
    run_sync(warehouse, encord_emulator, key_path, project.hash, expect=1)
    assert last_run(warehouse) == ("partial", 6, 5, 4, 0, 0, 0, 1)
    assert warehouse.scalar("SELECT vanished FROM sync_runs ORDER BY run_seq DESC LIMIT 1") == 1
    assert warehouse.rows("SELECT label_hash FROM sync_errors") == [(kept,)]
    assert warehouse.scalar("SELECT count(*) FROM branches WHERE label_hash IN (:a, :b)", a=gone, b=kept) == 0


def test_consensus_branches(warehouse, encord_emulator, key_path, project):
    video = project.rows["video"]
    annotator = copy.deepcopy(video)
    branch_hash = encord_emulator.add_branch_row(project.hash, annotator, "encord-annotator-1")
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    assert warehouse.scalar("SELECT count(*) FROM branches WHERE branch_name <> 'main'") == 0
    run_sync(warehouse, encord_emulator, key_path, project.hash, "--all-branches")
    branches = dict(warehouse.rows("SELECT label_hash, branch_name FROM branches WHERE data_hash = :d", d=video["data_hash"]))
    assert branches == {video["label_hash"]: "main", branch_hash: "encord-annotator-1"}
    assert warehouse.scalar("SELECT count(*) FROM object_frames WHERE label_hash = :h", h=branch_hash) == \
        warehouse.scalar("SELECT count(*) FROM object_frames WHERE label_hash = :h", h=video["label_hash"]) > 0
    run_sync(warehouse, encord_emulator, key_path, project.hash, "--branch", "encord-annotator-1")
    assert encord_emulator.log.listings()[-1].payload["branch_name"] == "encord-annotator-1"
    encord_emulator.delete_row(branch_hash)
    run_sync(warehouse, encord_emulator, key_path, project.hash, "--all-branches")
    assert warehouse.scalar("SELECT count(*) FROM branches WHERE label_hash = :h", h=branch_hash) == 0
    assert warehouse.scalar("SELECT count(*) FROM branches WHERE label_hash = :h", h=video["label_hash"]) == 1


def test_ontology_change_renamed_and_new_features(warehouse, encord_emulator, key_path, project):
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    ontology = copy.deepcopy(project.ontology)
    car = next(obj for obj in ontology["objects"] if obj["name"] == "Car")
    car["name"] = "Automobile"
    ontology["objects"].append({**copy.deepcopy(car), "id": 99, "name": "Tram", "featureNodeHash": "tram0001",
                                "attributes": []})
    encord_emulator.set_ontology(project.hash, ontology)
    encord_emulator.log.clear()
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    assert warehouse.scalar("SELECT name FROM ontology_objects WHERE feature_hash = :f", f=car["featureNodeHash"]) == "Automobile"
    assert warehouse.scalar("SELECT name FROM ontology_objects WHERE feature_hash = 'tram0001'") == "Tram"
    names = {n for (n,) in warehouse.rows("SELECT DISTINCT name FROM objects WHERE feature_hash = :f", f=car["featureNodeHash"])}
    assert names == {"Automobile"}
    assert sorted(encord_emulator.log.fetched_label_hashes()) == sorted(r["label_hash"] for r in project.rows.values())


def test_a_filtered_run_during_an_ontology_change_leaves_every_other_row_to_the_next_run(
        warehouse, other_warehouse, encord_emulator, key_path, project):
    """The filtered run loads its rows and the ontology's tables as the new ontology says; the rows it did
    not list are the next unfiltered run's, even when the ontology is back as that scope last synced it."""
    image = project.rows["image"]["data_title"]
    renamed = copy.deepcopy(project.ontology)
    next(obj for obj in renamed["objects"] if obj["name"] == "Car")["name"] = "Automobile"
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    for filtered_with, then in ((renamed, renamed), (project.ontology, renamed)):
        encord_emulator.set_ontology(project.hash, filtered_with)
        run_sync(warehouse, encord_emulator, key_path, project.hash, "--title", image)
        encord_emulator.set_ontology(project.hash, then)
        run_sync(warehouse, encord_emulator, key_path, project.hash)
        run_sync(other_warehouse, encord_emulator, key_path, project.hash, "--full-refresh")
        assert snapshot(warehouse) == snapshot(other_warehouse)
    fetched = []
    for _ in range(2):  # each state fetches its rows again once, then the two keep to the one ontology
        encord_emulator.log.clear()
        run_sync(warehouse, encord_emulator, key_path, project.hash, "--title", image)
        run_sync(warehouse, encord_emulator, key_path, project.hash)
        fetched.append(encord_emulator.log.fetched_label_hashes())
    assert fetched == [[project.rows["image"]["label_hash"]], []]


def test_an_export_sync_with_the_same_ontology_leaves_the_encord_sync_incremental(
        warehouse, encord_emulator, key_path, project, tmp_path):
    """An export of the project whose --ontology file names every feature as Encord's does (it differs in a field
    the warehouse does not keep): the next Encord sync fetches again only the row the export wrote (its listing
    unknown), not every row as after a change of ontology."""
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    (tmp_path / "ontology.json").write_text(json.dumps({**project.ontology, "description": "exported in March"}))
    (tmp_path / "export.json").write_text(json.dumps([project.rows["image"]]))
    result = CliRunner().invoke(cli, ["sync", "--from-export", str(tmp_path / "export.json"), "--project-hash", project.hash,
                                      "--ontology", str(tmp_path / "ontology.json"), *warehouse.cli_args])
    assert result.exit_code == 0, result.output
    encord_emulator.log.clear()
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    assert encord_emulator.log.fetched_label_hashes() == [project.rows["image"]["label_hash"]]


def test_rows_naming_a_feature_deleted_from_the_ontology_are_quarantined_whole(
        warehouse, other_warehouse, encord_emulator, key_path, project):
    """Bus deleted from the project's ontology in Encord (not archived) while the video and the image still use it:
    the SDK refuses those two (OntologyError). They are quarantined, keeping what the warehouse had, and the
    others load. Until 2026-11-29 the error was retried, and the retry skipped the row the SDK had choked on,
    which it leaves marked read with the labels before Bus: the rows loaded cut short, exit 0, nothing recorded."""
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    before = snapshot(warehouse)
    without_bus = copy.deepcopy(project.ontology)
    without_bus["objects"] = [obj for obj in without_bus["objects"] if obj["name"] != "Bus"]
    encord_emulator.set_ontology(project.hash, without_bus)
    result = run_sync(warehouse, encord_emulator, key_path, project.hash, "--max-retries", "3", "--retry-backoff", "0",
                      expect=1)
    assert last_run(warehouse) == ("partial", 4, 4, 0, 2, 0, 0, 2)
    refused = {project.rows[name]["label_hash"] for name in ("video", "image")}
    problems = warehouse.rows("SELECT label_hash, field, reason FROM sync_errors WHERE resolved_at IS NULL")
    assert {label_hash for label_hash, _, _ in problems} == refused
    assert all(field == "<source>" and "OntologyError" in reason and "bu5Rbb01" in reason for _, field, reason in problems)
    assert "retrying" not in result.output
    after = snapshot(warehouse)
    for table in ("objects", "object_frames", "classifications", "attributes"):
        kept = [row for row in after[table] if row[0] in refused]
        assert kept == [row for row in before[table] if row[0] in refused] != [], table
    run_sync(other_warehouse, encord_emulator, key_path, project.hash, expect=1)
    for table in ("objects", "object_frames", "attributes"):
        assert [row for row in after[table] if row[0] not in refused] == snapshot(other_warehouse)[table], table


def test_an_export_sync_with_another_ontology_is_undone_by_the_next_encord_sync(
        warehouse, other_warehouse, encord_emulator, key_path, project, tmp_path):
    """An export of the project with an older ontology file (Car named OLD_Car) replaces the ontology tables;
    the next Encord sync puts Encord's back and normalizes its rows with it, and a rebuild then gives what
    that sync wrote. Until 2026-11-29 the Encord sync kept the export's tables (its own ontology had not
    changed), and a rebuild wrote OLD_Car into objects for good."""
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    older = copy.deepcopy(project.ontology)
    car = next(obj for obj in older["objects"] if obj["name"] == "Car")
    car["name"] = "OLD_Car"
    (tmp_path / "ontology.json").write_text(json.dumps(older))
    (tmp_path / "export.json").write_text(json.dumps([project.rows["image"]]))
    result = CliRunner().invoke(cli, ["sync", "--from-export", str(tmp_path / "export.json"), "--project-hash", project.hash,
                                      "--ontology", str(tmp_path / "ontology.json"), *warehouse.cli_args])
    assert result.exit_code == 0, result.output
    car_name = "SELECT name FROM ontology_objects WHERE feature_hash = :f"
    assert warehouse.scalar(car_name, f=car["featureNodeHash"]) == "OLD_Car"

    run_sync(warehouse, encord_emulator, key_path, project.hash)
    assert warehouse.scalar(car_name, f=car["featureNodeHash"]) == "Car"
    run_sync(other_warehouse, encord_emulator, key_path, project.hash)
    assert snapshot(warehouse) == snapshot(other_warehouse)
    assert CliRunner().invoke(cli, ["rebuild", *warehouse.cli_args]).exit_code == 0
    assert snapshot(warehouse) == snapshot(other_warehouse)
    assert {name for (name,) in warehouse.rows("SELECT DISTINCT name FROM objects WHERE feature_hash = :f",
                                               f=car["featureNodeHash"])} == {"Car"}


def test_retries_then_success(warehouse, encord_emulator, key_path, project):
    encord_emulator.inject("status", status=429, retry_after="0", query_type="labelrowmetadata", times=2)
    encord_emulator.inject("status", status=503, query_type="labelrow", times=1)
    encord_emulator.inject("drop", query_type="labelrow", times=1)
    encord_emulator.inject("truncate", query_type="labelrow", times=1)
    result = run_sync(warehouse, encord_emulator, key_path, project.hash, "--max-retries", "4", "--retry-backoff", "0",
                      "--log-format", "json")
    assert result.exit_code == 0, result.output
    assert last_run(warehouse)[:4] == ("succeeded", 4, 4, 4)
    assert len(encord_emulator.log.faulted()) == 5
    retries = [event for event in map(json.loads, result.stderr.splitlines()) if event["event"] == "retry"]
    [run_id] = warehouse.rows("SELECT run_id FROM sync_runs")[0]
    assert len(retries) == 5 and {event["run_id"] for event in retries} == {run_id}  # the run each belongs to


def test_faults_beyond_the_limit_fail_cleanly_with_the_cursor_unmoved(warehouse, encord_emulator, key_path, project):
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    before, cursor = snapshot(warehouse), warehouse.scalar("SELECT cursor FROM sync_state")
    video = encord_emulator.row(project.rows["video"]["label_hash"])
    next(iter(video["data_units"].values()))["labels"].clear()
    encord_emulator.put_row(project.hash, video)
    encord_emulator.inject("status", status=500, query_type="labelrow", times=None)
    result = run_sync(warehouse, encord_emulator, key_path, project.hash, "--max-retries", "2", "--retry-backoff", "0",
                      expect=2)
    assert result.stderr.strip().splitlines()[-1].startswith(
        "encord-warehouse: cannot fetch label rows after 3 attempts: RequestException")
    assert "Traceback" not in result.output
    assert snapshot(warehouse) == before
    assert warehouse.scalar("SELECT cursor FROM sync_state") == cursor
    assert warehouse.rows("SELECT status FROM sync_runs ORDER BY started_at DESC LIMIT 1") == [("failed",)]
    encord_emulator.clear_faults()
    assert run_sync(warehouse, encord_emulator, key_path, project.hash).exit_code == 0
    assert warehouse.scalar("SELECT count(*) FROM object_frames WHERE label_hash = :h", h=video["label_hash"]) == 0


def test_a_second_sync_waits_for_the_lock_or_exits(warehouse, encord_emulator, key_path, project):
    with warehouse_lock(warehouse.engine):
        result = run_sync(warehouse, encord_emulator, key_path, project.hash, expect=2)
    assert "another encord-warehouse command is writing to" in result.stderr and "--wait-for-lock" in result.stderr
    assert encord_emulator.log.listings() == []
    held, release = threading.Event(), threading.Event()

    def hold_then_release():
        with warehouse_lock(warehouse.engine):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold_then_release)
    holder.start()
    held.wait(10)
    threading.Timer(0.5, release.set).start()
    started = time.monotonic()
    result = run_sync(warehouse, encord_emulator, key_path, project.hash, "--wait-for-lock", "20")
    holder.join()
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started >= 0.4


def test_incremental_syncs_equal_a_fresh_full_sync(warehouse, other_warehouse, encord_emulator, key_path, project):
    emulator = encord_emulator
    run_sync(warehouse, emulator, key_path, project.hash, "--all-branches", "--full-listing-every", "2")
    video = emulator.row(project.rows["video"]["label_hash"])
    emulator.add_branch_row(project.hash, video, "encord-annotator-2")
    image = emulator.row(project.rows["image"]["label_hash"])
    next(iter(image["data_units"].values()))["labels"]["objects"].pop()
    emulator.put_row(project.hash, image)
    run_sync(warehouse, emulator, key_path, project.hash, "--all-branches", "--full-listing-every", "2")
    assert emulator.log.listings()[-1].payload["edited_after"] is not None
    extra = sdk_sample.video_row(9).to_encord_dict()
    emulator.put_row(project.hash, extra)
    emulator.delete_row(project.rows["dicom"]["label_hash"])
    run_sync(warehouse, emulator, key_path, project.hash, "--all-branches", "--full-listing-every", "2")
    emulator.delete_data_unit(project.rows["img_group"]["data_hash"])
    for _ in range(2):
        run_sync(warehouse, emulator, key_path, project.hash, "--all-branches", "--full-listing-every", "2")
    run_sync(other_warehouse, emulator, key_path, project.hash, "--all-branches")
    incremental, fresh = snapshot(warehouse), snapshot(other_warehouse)
    assert incremental == fresh
    assert len(fresh["branches"]) == 4
    assert emulator.log.creates() == [] and emulator.log.writes() == []


def test_rows_without_labels_are_never_initialised(warehouse, encord_emulator, key_path, project):
    fresh = sdk_sample.video_row(11).to_encord_dict()
    encord_emulator.add_data_unit(project.hash, fresh)
    run_sync(warehouse, encord_emulator, key_path, project.hash, "--all-branches")
    assert encord_emulator.log.creates() == [] and encord_emulator.log.writes() == []
    assert warehouse.scalar("SELECT count(*) FROM branches") == 4


def test_title_filter_fetches_one_row_and_deletes_nothing(warehouse, encord_emulator, key_path, project):
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    image = project.rows["image"]
    encord_emulator.delete_row(project.rows["video"]["label_hash"])
    encord_emulator.log.clear()
    found = run_sync(warehouse, encord_emulator, key_path, project.hash, "--title", image["data_title"], "--full-refresh")
    assert encord_emulator.log.listings()[-1].payload["data_title_eq"] == image["data_title"]
    assert encord_emulator.log.fetched_label_hashes() == [image["label_hash"]]
    assert warehouse.scalar("SELECT count(*) FROM branches") == 4  # a filtered listing proves no deletion
    assert "no label row matches" not in found.stderr

    for selection, said in ((("--title", "imgae.jpg"), "title=imgae.jpg"), (("--branch", "nosuch"), "branch=nosuch"),
                            (("--title", "x", "--label-status", "QUEUED"), "title=x label_status=QUEUED")):
        typo = run_sync(warehouse, encord_emulator, key_path, project.hash, *selection)
        warnings = [line for line in typo.stderr.splitlines() if " warning " in line]
        assert len(warnings) == 1 and "no label row matches" in warnings[0] and warnings[0].endswith(said)
    assert warehouse.scalar("SELECT count(*) FROM branches") == 4


def test_a_filtered_run_leaves_the_cursor_where_unfiltered_runs_put_it(warehouse, other_warehouse, encord_emulator,
                                                                       key_path, project):
    """The filtered run lists (and fetches) an image edited after the video: the next unfiltered run still
    lists the video's edit, which the filtered run never saw."""
    every = ("--full-listing-every", "3")
    run_sync(warehouse, encord_emulator, key_path, project.hash, *every)
    video, image = (encord_emulator.row(project.rows[name]["label_hash"]) for name in ("video", "image"))
    next(iter(video["data_units"].values()))["labels"].clear()
    encord_emulator.put_row(project.hash, video)
    encord_emulator.clock.advance(3600)
    encord_emulator.put_row(project.hash, image)
    run_sync(warehouse, encord_emulator, key_path, project.hash, *every, "--title", image["data_title"])
    encord_emulator.log.clear()
    run_sync(warehouse, encord_emulator, key_path, project.hash, *every)
    assert encord_emulator.log.listings()[-1].payload["edited_after"] is not None
    assert encord_emulator.log.fetched_label_hashes() == [video["label_hash"]]
    run_sync(other_warehouse, encord_emulator, key_path, project.hash)
    assert snapshot(warehouse) == snapshot(other_warehouse)


def test_a_filtered_run_on_the_full_listing_turn_leaves_that_turn_to_the_next_unfiltered_run(
        warehouse, encord_emulator, key_path, project):
    """A filtered listing proves no deletion, so it does not count as the full listing that finds them."""
    every = ("--full-listing-every", "2")
    for _ in range(2):
        run_sync(warehouse, encord_emulator, key_path, project.hash, *every)
    video = project.rows["video"]["label_hash"]
    encord_emulator.delete_row(video)
    run_sync(warehouse, encord_emulator, key_path, project.hash, *every, "--title", project.rows["image"]["data_title"])
    assert encord_emulator.log.listings()[-1].payload["edited_after"] is None
    run_sync(warehouse, encord_emulator, key_path, project.hash, *every)
    assert encord_emulator.log.listings()[-1].payload["edited_after"] is None
    assert warehouse.scalar("SELECT count(*) FROM branches WHERE label_hash = :h", h=video) == 0


def test_every_runs_on_a_period_and_logs_json(warehouse, encord_emulator, encord_key, key_path, project):
    result = run_sync(warehouse, encord_emulator, key_path, project.hash, "--every", "0.2s", "--max-runs", "3",
                      "--log-format", "json")
    assert result.exit_code == 0
    assert warehouse.rows("SELECT status, count(*) FROM sync_runs GROUP BY status") == [("succeeded", 3)]
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert [e["event"] for e in events if e["event"] == "sync_finished"] == ["sync_finished"] * 3
    assert all({"ts", "level", "message", "event"} <= set(e) for e in events)
    [first_run] = warehouse.rows("SELECT run_id, cursor_after, fetched FROM sync_runs ORDER BY started_at LIMIT 1")
    committed = [e for e in events if e["event"] == "batch_committed" and e["run_id"] == first_run[0]]
    assert sum(e["written"] for e in committed) == first_run[2] > 0
    assert committed[-1]["cursor"].replace("T", " ").startswith(str(first_run[1]))
    assert encord_key.private_key_text.split("\n")[1][:20] not in result.output + result.stderr


def test_every_logs_a_failed_run_and_runs_again(warehouse, encord_emulator, key_path, project):
    """A run that fails (the API's 500 with no retries left) is one JSON event; the next run still happens."""
    encord_emulator.inject("status", status=500, query_type="labelrowmetadata", times=1)
    result = run_sync(warehouse, encord_emulator, key_path, project.hash, "--every", "0.2s", "--max-runs", "2",
                      "--max-retries", "0", "--log-format", "json")
    events = [json.loads(line) for line in result.stderr.splitlines()]
    failed = [e for e in events if e.get("event") == "run_failed"]
    assert [e["level"] for e in failed] == ["error"] and "500" in failed[0]["message"]
    assert [e["event"] for e in events if e["event"] in ("sync_failed", "run_failed", "next_run", "sync_finished")] == [
        "sync_failed", "run_failed", "next_run", "sync_finished"]
    assert warehouse.rows("SELECT status FROM sync_runs ORDER BY started_at") == [("failed",), ("succeeded",)]
    assert warehouse.scalar("SELECT count(*) FROM branches") == len(project.rows)


def test_the_sdks_own_warnings_come_out_in_the_log_format_one_line_each(warehouse, encord_emulator, key_path, project):
    """The SDK warns through Python's logging (here about data unit metadata on a video, which a newer
    server sends and this SDK does not know); with --log-format json that is a JSON line like ours."""
    video = copy.deepcopy(project.rows["video"])
    next(iter(video["data_units"].values()))["metadata"] = {"fps": 25.0}
    encord_emulator.put_row(project.hash, video)
    for log_format in ("json", "text"):
        result = run_sync(warehouse, encord_emulator, key_path, project.hash, "--full-refresh", "--log-format", log_format)
        lines = result.stderr.splitlines()
        sdk = [line for line in lines if "Unexpected metadata for the data type" in line]
        assert len(sdk) == 1, result.stderr
        if log_format == "json":
            events = [json.loads(line) for line in lines]
            assert [e["level"] for e in events if "Unexpected metadata" in e["message"]] == ["warning"]
            assert [e["event"] for e in events if "event" in e][-1] == "sync_finished"
        else:
            assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d warning +Unexpected metadata for the data type: "
                                r"VIDEO\. .*", sdk[0])
    assert last_run(warehouse)[0] == "succeeded"


def test_workflow_stage_and_label_status_filters(warehouse, encord_emulator, key_path, project):
    image = project.rows["image"]
    review = {"uuid": "3d6f7b4a-8b2e-4d66-ae8f-3c4d5e6f7081", "title": "Review 1"}
    encord_emulator.put_row(project.hash, image, meta={"annotation_task_status": "IN_REVIEW", "workflow_graph_node": review})
    run_sync(warehouse, encord_emulator, key_path, project.hash, "--workflow-stage", "Review 1")
    assert encord_emulator.log.listings()[-1].payload["workflow_graph_node_title_eq"] == "Review 1"
    assert warehouse.rows("SELECT label_hash, workflow_stage, workflow_stage_uuid FROM branches") == [
        (image["label_hash"], "Review 1", review["uuid"])]
    encord_emulator.log.clear()
    run_sync(other := warehouse, encord_emulator, key_path, project.hash, "--label-status", "completed")
    assert encord_emulator.log.listings()[-1].payload["label_statuses"] == ["COMPLETED"]
    fetched = set(encord_emulator.log.fetched_label_hashes())
    # the image too: a filter's first run fetches every row it lists (its own state records no ontology yet)
    assert fetched == {r["label_hash"] for r in project.rows.values()}
    assert other.scalar("SELECT count(*) FROM branches") == 4
    encord_emulator.log.clear()
    run_sync(warehouse, encord_emulator, key_path, project.hash, "--label-status", "completed")
    assert encord_emulator.log.fetched_label_hashes() == []  # a schedule of filtered runs stays incremental
    assert warehouse.rows("SELECT branch_scope FROM sync_state ORDER BY branch_scope") == [
        ("main?label_status=COMPLETED",), ("main?workflow_stage=Review+1",)]


def test_unknown_label_status_and_missing_key_are_one_line_errors(warehouse, encord_emulator, key_path, project, monkeypatch):
    result = run_sync(warehouse, encord_emulator, key_path, project.hash, "--label-status", "DONE-ISH", expect=2)
    assert result.stderr.startswith("encord-warehouse: unknown --label-status 'DONE-ISH': choose from ")
    monkeypatch.delenv("ENCORD_SSH_KEY_FILE", raising=False)
    monkeypatch.delenv("ENCORD_SSH_KEY", raising=False)
    args = ["sync", "--project", project.hash, "--domain", encord_emulator.url, *warehouse.cli_args]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert result.stderr.strip() == "encord-warehouse: no Encord SSH key: pass --ssh-key-file, or set $ENCORD_SSH_KEY_FILE or $ENCORD_SSH_KEY"
    der = key_path.parent / "key.der"
    der.write_bytes(b"\x30\x82\x01\x22\x30\x0d\x06\x09\x2a\x86\xff")  # a binary key, not text
    refused = CliRunner().invoke(cli, [*args, "--ssh-key-file", str(der)])
    assert (refused.exit_code, refused.stderr.strip()) == (
        2, f"encord-warehouse: the SSH key file {der} is not text: it is not an OpenSSH private key")
    monkeypatch.setenv("ENCORD_SSH_KEY", key_path.read_text())
    assert CliRunner().invoke(cli, args).exit_code == 0
    assert warehouse.scalar("SELECT count(*) FROM branches") == 4


def test_rows_deleted_one_after_another_while_a_bundle_is_fetched_leave_the_others_loaded(
        warehouse, other_warehouse, encord_emulator, key_path, project):
    """A bulk delete in Encord during a sync: one row gone when the bundle is fetched, another when its
    survivors are; the others load, and the next full listing removes both."""
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    rows = [encord_emulator.row(row["label_hash"]) for row in project.rows.values()]
    encord_emulator.clock.advance(60)
    for row in rows:
        next(iter(row["data_units"].values()))["data_title"] += " (edited)"
        encord_emulator.put_row(project.hash, row)
    first, second = rows[0]["label_hash"], rows[1]["label_hash"]

    def delete_one_now_and_another_at_the_next_fetch():
        encord_emulator.delete_row(first)
        before_first_fetch(encord_emulator, lambda: encord_emulator.delete_row(second))

    before_first_fetch(encord_emulator, delete_one_now_and_another_at_the_next_fetch)
    run_sync(warehouse, encord_emulator, key_path, project.hash, "--full-listing-every", "3")
    assert last_run(warehouse)[:5] == ("succeeded", 4, 2, 0, 2)
    run_sync(warehouse, encord_emulator, key_path, project.hash, "--full-refresh")
    run_sync(other_warehouse, encord_emulator, key_path, project.hash)
    assert snapshot(warehouse) == snapshot(other_warehouse)
    assert warehouse.scalar("SELECT count(*) FROM branches") == 2


def test_an_answer_this_sdk_cannot_read_is_one_line_and_the_schedule_goes_on(warehouse, encord_emulator, key_path,
                                                                            project):
    """A newer API's answer (a shape this SDK version does not know): each run fails with one line, the
    next still runs, and --max-runs ends with the last run's exit code."""
    ontology = copy.deepcopy(project.ontology)
    ontology["objects"].append({**ontology["objects"][0], "id": "99", "featureNodeHash": "c0ffee00",
                                "name": "Lidar", "shape": "point_cloud_blob"})
    encord_emulator.set_ontology(project.hash, ontology)
    result = run_sync(warehouse, encord_emulator, key_path, project.hash, "--every", "0.2s", "--max-runs", "2",
                      expect=2)
    failed = [line for line in result.stderr.splitlines() if line.startswith("encord-warehouse: ")]
    assert len(failed) == 2 and "Traceback" not in result.stderr
    assert "the encord SDK cannot read the API's answer (a newer SDK may): " in failed[0]
    assert warehouse.rows("SELECT status FROM sync_runs") == [("failed",), ("failed",)]


def test_each_signed_urls_run_fetches_every_row_to_sign_its_links_afresh(warehouse, encord_emulator, key_path,
                                                                        project):
    """Signed links expire: a run that stores them fetches every row, not only those edited since."""
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    for _ in range(2):
        encord_emulator.log.clear()
        run_sync(warehouse, encord_emulator, key_path, project.hash, "--signed-urls")
        assert sorted(encord_emulator.log.fetched_label_hashes()) == sorted(
            row["label_hash"] for row in project.rows.values())
    encord_emulator.log.clear()
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    assert encord_emulator.log.fetched_label_hashes() == []


def test_a_project_that_cannot_be_opened_or_a_domain_without_scheme_is_one_clear_line(warehouse, encord_emulator,
                                                                                      key_path, project):
    unknown = "00000000-0000-0000-0000-000000000000"
    result = run_sync(warehouse, encord_emulator, key_path, unknown, expect=2)
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"encord-warehouse: cannot open project {unknown}: Encord has no such project, or it is "
                           "not shared with this key's user (ResourceNotFoundError: ")
    assert warehouse.rows("SELECT status, project_hash, error FROM sync_runs") == [
        ("failed", unknown, line.removeprefix("encord-warehouse: "))]

    hidden = encord_emulator.add_project(title="Someone else's")
    restricted = key_path.parent / "restricted_key"
    encord_emulator.new_key(restricted, projects=[project.hash])
    result = run_sync(warehouse, encord_emulator, restricted, hidden, expect=2)
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"encord-warehouse: cannot open project {hidden}: AuthorisationError: You are not authorised")

    host = encord_emulator.url.removeprefix("http://")
    args = ["sync", "--project", project.hash, "--domain", host, "--ssh-key-file", str(key_path), *warehouse.cli_args]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert result.stderr == f"encord-warehouse: --domain must be a URL such as https://api.us.encord.com, got {host!r}\n"


def test_bundles_hold_about_bundle_mb_of_json_many_short_rows_or_one_long(warehouse, encord_emulator, key_path):
    """The first bundle (10 rows) measures the JSON per frame; after it, no bundle holds two long
    videos (they would pass --bundle-mb) and the short ones share bundles."""
    ontology = sdk_sample.build_ontology()
    project_hash = encord_emulator.add_project(title="Mixed", ontology=ontology.to_dict())
    short = [sdk_sample.video_row(100 + i, ontology=ontology, number_of_frames=20).to_encord_dict() for i in range(20)]
    long = [sdk_sample.video_row(200 + i, ontology=ontology, number_of_frames=400).to_encord_dict() for i in range(3)]
    order = short[:10] + long + short[10:]  # listed and fetched in this order (oldest edit first)
    for row in order:
        encord_emulator.put_row(project_hash, row)
    json_size = {row["label_hash"]: len(json.dumps(row, separators=(",", ":"))) for row in order}
    long_hashes = {row["label_hash"] for row in long}
    budget = 1.5 * max(json_size[h] for h in long_hashes)
    assert budget > 15 * max(json_size[row["label_hash"]] for row in short)

    run_sync(warehouse, encord_emulator, key_path, project_hash, "--bundle-mb", str(budget / 2**20))
    bundles = [request.label_hashes for request in encord_emulator.log.requests_of("labelrow", "GET")]
    assert [h for bundle in bundles for h in bundle] == [row["label_hash"] for row in order]
    assert bundles[0] == [row["label_hash"] for row in short[:10]]
    assert all(len(long_hashes & set(bundle)) <= 1 for bundle in bundles)
    # "about": sizes are predicted from frame counts, and these short videos have more JSON per frame
    assert all(len(bundle) == 1 or sum(json_size[h] for h in bundle) <= 1.1 * budget for bundle in bundles[1:])
    assert len(bundles) <= 6, bundles  # not one request per short row
    assert last_run(warehouse) == ("succeeded", 23, 23, 23, 0, 0, 0, 0)
    fetched = snapshot(warehouse)

    encord_emulator.log.clear()
    run_sync(warehouse, encord_emulator, key_path, project_hash, "--full-refresh")  # the default 8 MB: two bundles
    assert [len(request.label_hashes) for request in encord_emulator.log.requests_of("labelrow", "GET")] == [10, 13]
    assert snapshot(warehouse) == fetched


def test_by_default_the_workers_leave_the_sdk_a_core(warehouse, encord_emulator, key_path, project, monkeypatch):
    """The SDK builds every fetched row into its objects and back in the sync's own process, which it keeps
    busy: one worker per core but that one (at least one), unless --workers says otherwise."""
    monkeypatch.setattr(sync, "CHUNK_BYTES", 20_000)  # the fixture's four rows start the workers
    first = run_sync(warehouse, encord_emulator, key_path, project.hash)
    assert f"normalizing in worker processes (up to {max(1, len(os.sched_getaffinity(0)) - 1)})" in first.output
    loaded = snapshot(warehouse)
    chosen = run_sync(warehouse, encord_emulator, key_path, project.hash, "--full-refresh", "--workers", "3")
    assert "normalizing in worker processes (up to 3)" in chosen.output
    assert snapshot(warehouse) == loaded and last_run(warehouse)[:4] == ("succeeded", 4, 4, 0)


def test_the_readme_python_encord_example_writes_what_the_command_writes(warehouse, other_warehouse, encord_emulator,
                                                                        key_path, project, tmp_path):
    example = next(code for code in blocks("python") if "sync_encord" in code)
    placeholder = "00000000-aaaa-bbbb-cccc-000000000000"
    assert placeholder in example
    env = {**warehouse.env, "ENCORD_SSH_KEY_FILE": str(key_path), "ENCORD_DOMAIN": encord_emulator.url}
    printed = run_python_example(example.replace(placeholder, project.hash), tmp_path, env)
    run_id = warehouse.scalar("SELECT run_id FROM sync_runs WHERE status = 'succeeded'")
    assert printed == [f"run {run_id}: {len(project.rows)} fetched, 0 deleted"]
    run_sync(other_warehouse, encord_emulator, key_path, project.hash)
    assert snapshot(warehouse) == snapshot(other_warehouse)
