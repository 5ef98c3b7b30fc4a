"""Labels a row keeps in `spaces` rather than in its data units. A multilayer image's own (root) space
holds what was put on it (spaces.root.labels["0"]): built with the real SDK, normalized, synced from an
export and from the Encord emulator through the SDK on DuckDB and Postgres, and rebuilt. A space whose
labels are not loaded (a group's or scene's child) gets its row refused in one line, never loaded
without them. (A time series' root space is in tests/test_ranges.py.)"""

from __future__ import annotations

import copy
import json
from datetime import datetime

import pytest
from encord.objects.constants import ROOT_SPACE_ID

from connector.normalize import LabelRowError, RowContext, normalize_label_row
from examples import sdk_sample
from examples.sdk_ranges import series_row
from sync_helpers import run_sync, snapshot
from tests.encord_emulator.fixtures import encord_emulator, encord_key  # noqa: F401 (fixtures)
from tests.test_sync_export import run_cli

CONTEXT = RowContext("p", datetime(2026, 1, 1))


def sdk_boxes(row) -> list[tuple]:
    """(object hash, frame, x, y, w, h, confidence) of every box, on the row and on its root space, as the SDK holds them."""
    space = row.get_space(id=ROOT_SPACE_ID, type_="image")
    boxes = []
    for instance in [*row.get_object_instances(), *space.get_object_instances()]:
        for annotation in instance.get_annotations():
            box = annotation.coordinates
            boxes.append((instance.object_hash, 0, box.top_left_x, box.top_left_y, box.width, box.height, annotation.confidence))
    return sorted(boxes)


def sdk_classifications(row) -> list[tuple]:
    """(classification hash, answer) of the root space's classifications."""
    space = row.get_space(id=ROOT_SPACE_ID, type_="image")
    return sorted((c.classification_hash, c.get_answer(c.ontology_item.attributes[0]).label)
                  for c in space.get_classification_instances())


def test_a_multilayer_image_loads_the_labels_of_its_own_space_beside_its_data_units():
    row = sdk_sample.layered_image_row(1)
    tables = normalize_label_row(row.to_encord_dict(), CONTEXT)
    got = sorted((o[1], o[2], *o[4:8], o[12]) for o in tables["object_frames"])
    assert got == sdk_boxes(row) and len(got) == 2
    assert {o[1] for o in tables["objects"]} == {b[0] for b in got}
    assert sorted((c[1], c[4]) for c in tables["classifications"]) == sdk_classifications(row)
    assert [c[1:] for c in tables["classification_frames"]] == [(h, 0) for h, _ in sdk_classifications(row)]
    space_object = row.get_space(id=ROOT_SPACE_ID, type_="image").get_object_instances()[0]
    color = space_object.get_answer(space_object.ontology_item.attributes[0])
    assert [(a[1], a[5], a[8]) for a in tables["attributes"] if a[3] == "object"] == [
        (space_object.object_hash, "Color", color.label)]


def test_a_multilayer_image_syncs_from_an_export_and_from_encord_the_same(warehouse, encord_emulator, key_path, tmp_path):  # noqa: F811
    row = sdk_sample.layered_image_row(1)
    export = tmp_path / "export.json"
    export.write_text(json.dumps([row.to_encord_dict()]))
    assert run_cli(warehouse, "sync", "--from-export", str(export)).exit_code == 0
    stored = warehouse.rows("SELECT object_hash, frame, x, y, w, h, confidence FROM object_frames ORDER BY object_hash")
    assert sorted(stored) == sdk_boxes(row)
    before = snapshot(warehouse)
    assert run_cli(warehouse, "rebuild").exit_code == 0
    assert snapshot(warehouse) == before

    project = encord_emulator.add_project(title="Layers", ontology=sdk_sample.build_ontology().to_dict())
    moved = copy.deepcopy(row.to_encord_dict())
    moved["spaces"][ROOT_SPACE_ID]["labels"]["0"]["objects"][0]["boundingBox"]["x"] = 0.25
    encord_emulator.put_row(project, moved)
    run_sync(warehouse, encord_emulator, key_path, project)
    assert warehouse.scalar("SELECT count(*) FROM sync_errors") == 0
    space_hash = moved["spaces"][ROOT_SPACE_ID]["labels"]["0"]["objects"][0]["objectHash"]
    assert warehouse.rows("SELECT x FROM object_frames WHERE object_hash = :h AND label_hash = :l",
                          h=space_hash, l=row.label_hash) == [(0.25,)]


@pytest.fixture
def key_path(encord_key, tmp_path):  # noqa: F811
    return tmp_path / "encord_key"


def child_space(row: dict) -> None:
    row["spaces"]["child-1"] = {"space_type": "video", "labels": {"0": {"objects": [], "classifications": []}}}


def classification_in_child(row: dict) -> None:
    answer = next(iter(row["classification_answers"].values()))
    answer["spaces"] = {"child-1": {"range": [[0, 3]], "type": "frame"}}


def series_object(change):
    def edit(row: dict) -> None:
        change(next(iter(row["object_answers"].values())))
    return edit


@pytest.mark.parametrize("build, change, field, reason", [
    (lambda: sdk_sample.layered_image_row(2), child_space, "spaces.child-1.labels",
     "labels in a 'video' space are not supported yet for image label rows"),
    (lambda: sdk_sample.video_row(2), lambda r: r.update(spaces={ROOT_SPACE_ID: {"space_type": "video", "labels": {"3": {}}}}),
     "spaces.root.labels", "labels in a 'video' space are not supported yet for video label rows"),
    (lambda: sdk_sample.video_row(2), classification_in_child, ".spaces.child-1",
     "ranges in a space other than the root are not supported yet"),
    (lambda: series_row(2), classification_in_child, ".spaces.child-1",
     "ranges in a space other than the root are not supported yet"),
    (lambda: series_row(2, root_space=True), series_object(lambda o: o["spaces"].update({"child-1": {"range": [[1, 2]]}})),
     ".spaces.child-1", "ranges in a space other than the root are not supported yet"),
    (lambda: series_row(2, root_space=True), series_object(lambda o: o["spaces"][ROOT_SPACE_ID].update(type="html")),
     ".spaces.root", "expected {type: frame, range: [[start, end], ...]}"),
    (lambda: series_row(2, root_space=True), series_object(lambda o: o["spaces"][ROOT_SPACE_ID].update(range=[[9, 1]])),
     ".spaces.root.range[0]", "range ends before it starts: [9, 1]"),
    (lambda: sdk_sample.layered_image_row(2), lambda r: r.update(spaces=[ROOT_SPACE_ID]), "spaces", "expected an object keyed by space id"),
    (lambda: sdk_sample.layered_image_row(2), lambda r: r["spaces"][ROOT_SPACE_ID]["labels"].update({"1": {}}),
     "spaces.root.labels", 'expected {"0": labels} of the row\'s one image'),
    (lambda: sdk_sample.layered_image_row(2),
     lambda r: r["spaces"][ROOT_SPACE_ID]["labels"]["0"]["objects"][0].pop("shape"),
     "spaces.root.labels.0.objects[0].shape", "missing"),
])
def test_labels_in_a_space_that_is_not_loaded_refuse_the_row_in_one_line(build, change, field, reason):
    row = build().to_encord_dict()
    change(row)
    with pytest.raises(LabelRowError) as refused:
        normalize_label_row(row, CONTEXT)
    assert refused.value.field.endswith(field) and refused.value.reason == reason
    assert "\n" not in str(refused.value) and str(refused.value).startswith(f"label row {row['label_hash']} ({row['data_title']}): ")


def test_a_row_refused_for_a_child_space_is_quarantined_and_the_rest_loads(warehouse, tmp_path):
    good, bad = sdk_sample.layered_image_row(3).to_encord_dict(), sdk_sample.layered_image_row(4).to_encord_dict()
    child_space(bad)
    export = tmp_path / "export.json"
    export.write_text(json.dumps([good, bad]))
    result = run_cli(warehouse, "sync", "--from-export", str(export))
    assert result.exit_code == 1 and "1 inserted, 0 updated, 0 unchanged, 0 deleted, 1 failed" in result.output
    assert warehouse.rows("SELECT label_hash, field FROM sync_errors") == [(bad["label_hash"], "spaces.child-1.labels")]
    assert warehouse.rows("SELECT DISTINCT label_hash FROM object_frames") == [(good["label_hash"],)]
