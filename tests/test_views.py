"""The analyst views on DuckDB and Postgres, checked against values computed in Python from the
SDK-built label-row dicts (tests/views_expected.py), never by the views' own SQL."""

from __future__ import annotations

import json
import math

import pytest
from sqlalchemy import text

import views_expected as ex
from connector import migrate
from connector.sync import ExportSyncConfig, sync_export
from tests.encord_emulator import clone_row

TOL = 1e-3  # pixels


@pytest.fixture
def loaded(warehouse, tmp_path):
    export, ontology_path, rows, ontology = ex.write_sample(tmp_path)
    result = sync_export(warehouse.engine, ExportSyncConfig(str(export), "p1", str(ontology_path)))
    assert result.ok, result.failures
    by_type = {}
    for row in rows:
        by_type.setdefault(row["data_type"], row)
    return warehouse, rows, by_type, ontology


def _close(actual, expected) -> bool:
    return actual is not None and math.isclose(actual, expected, abs_tol=TOL)


PX_COLUMNS = ("width", "height", "x_px", "y_px", "w_px", "h_px", "x_max_px", "y_max_px", "theta", "rx_px", "ry_px")


def test_object_frames_px_matches_every_shape_and_data_type(loaded):
    warehouse, rows, _by_type, _ontology = loaded
    expected = {}
    for row in rows:
        expected.update(ex.expected_pixels(row))
    actual = {
        (r[0], r[1], r[2]): dict(zip(PX_COLUMNS, r[3:]))
        for r in warehouse.rows(f"SELECT label_hash, object_hash, frame, {', '.join(PX_COLUMNS)} FROM object_frames_px")
    }
    assert set(actual) == set(expected)
    shapes_checked = set()
    for key, values in expected.items():
        for column, value in values.items():
            assert _close(actual[key][column], value), (key, column, actual[key][column], value)
        shapes_checked.add(tuple(sorted(values)))
    assert len(shapes_checked) >= 5  # box, rotatable box, point, circle/ellipse, bitmask, vertex shapes


def test_img_group_and_dicom_use_the_frame_size(loaded):
    warehouse, _rows, by_type, _ontology = loaded
    group = by_type["img_group"]
    sizes = {int(u["data_sequence"]): (u["width"], u["height"], u["data_hash"], u["data_title"])
             for u in group["data_units"].values()}
    got = warehouse.rows(
        "SELECT DISTINCT frame, width, height, frame_data_hash, frame_data_title FROM object_frames_px "
        "WHERE label_hash = :h ORDER BY frame", h=group["label_hash"])
    assert got == [(0, *sizes[0]), (2, *sizes[2])]
    assert sizes[0][:2] != sizes[2][:2]
    car = warehouse.rows(
        "SELECT frame, x_px, w_px, y_px, h_px FROM object_frames_px WHERE label_hash = :h AND shape = 'bounding_box' "
        "ORDER BY frame", h=group["label_hash"])
    unit_by_frame = {int(u["data_sequence"]): u for u in group["data_units"].values()}
    for frame, x_px, w_px, y_px, h_px in car:
        unit = unit_by_frame[frame]
        box = next(o for o in unit["labels"]["objects"] if o["shape"] == "bounding_box")["boundingBox"]
        assert _close(x_px, box["x"] * unit["width"]) and _close(w_px, box["w"] * unit["width"])
        assert _close(y_px, box["y"] * unit["height"]) and _close(h_px, box["h"] * unit["height"])
    dicom = by_type["dicom"]
    slices = dict(warehouse.rows(
        "SELECT frame, width FROM object_frames_px WHERE label_hash = :h AND shape = 'polygon'", h=dicom["label_hash"]))
    assert slices == {5: 512, 6: 256, 7: 512, 8: 640, 9: 512}


def test_vertices_in_pixels(loaded):
    warehouse, rows, _by_type, _ontology = loaded
    expected = {}
    for row in rows:
        expected.update(ex.expected_vertices(row))
    actual = {
        r[:6]: r[6:]
        for r in warehouse.rows(
            "SELECT label_hash, object_hash, frame, polygon_index, ring_index, vertex_index, x_px, y_px "
            "FROM object_vertices_px")
    }
    assert set(actual) == set(expected)
    for key, (x, y) in expected.items():
        assert _close(actual[key][0], x) and _close(actual[key][1], y), key
    # a polygon with a hole (ring 1) and a two-part polygon (polygon 1) are among them
    assert any(key[4] == 1 for key in expected) and any(key[3] == 1 for key in expected)


def test_skeleton_keypoints_are_named(loaded):
    warehouse, _rows, by_type, _ontology = loaded
    image = by_type["image"]
    person = next(o for _f, _u, _w, _h, o in ex.object_frames(image) if o["shape"] == "skeleton")
    got = warehouse.rows(
        "SELECT vertex_index, keypoint_name, keypoint_feature_hash FROM object_vertices_px "
        "WHERE label_hash = :l AND object_hash = :o ORDER BY vertex_index",
        l=image["label_hash"], o=person["objectHash"])
    keypoints = person["skeleton"]
    assert got == [(i, keypoints[k]["name"], keypoints[k]["featureHash"]) for i, k in enumerate(sorted(keypoints, key=int))]


@pytest.mark.parametrize("selection", ["range", "list"])
def test_frame_range_and_frame_list(loaded, selection):
    warehouse, _rows, by_type, _ontology = loaded
    video = by_type["video"]
    if selection == "range":
        frames = set(range(100, 121))
        where, params = "frame BETWEEN :a AND :b", {"a": 100, "b": 120}
    else:
        frames = {10, 20, 30, 40}
        where, params = "frame IN (10, 20, 30, 40)", {}
    sql = f"SELECT frame, label_kind, instance_hash FROM frame_labels WHERE data_title = :t AND {where}"
    got = warehouse.rows(sql, t=video["data_title"], **params)
    expected = ex.labels_on(video, frames)
    assert len(got) == len(set(got))
    assert set(got) == expected and expected
    if selection == "range":
        via_function = warehouse.rows(
            "SELECT frame, label_kind, instance_hash FROM frame_labels_range(:t, 100, 120)", t=video["data_title"])
        assert sorted(via_function) == sorted(got)


def test_dynamic_attributes_resolve_to_their_frames(loaded):
    warehouse, _rows, by_type, _ontology = loaded
    video = by_type["video"]
    got: dict[tuple, set] = {}
    for object_hash, frame, attribute, option, answer in warehouse.rows(
            "SELECT object_hash, frame, attribute_feature_hash, attribute_answer_feature_hash, attribute_answer "
            "FROM labels_export WHERE label_hash = :l AND label_kind = 'object'", l=video["label_hash"]):
        if attribute is not None:
            got.setdefault((object_hash, frame), set()).add((attribute, option, answer))
    expected = {}
    for frame, _u, _w, _h, obj in ex.object_frames(video):
        answers = ex.object_answers_on(video, obj["objectHash"], frame)
        if answers:
            expected[(obj["objectHash"], frame)] = answers
    assert got == expected
    motions = {answer for answers in expected.values() for (_a, _o, answer) in answers if answer in ("Moving", "Parked")}
    assert motions == {"Moving", "Parked"}


def test_frame_labels_answers_hold_on_the_frame(loaded):
    warehouse, _rows, by_type, _ontology = loaded
    video = by_type["video"]
    for frame in (0, 60, 61, 130):
        got = dict(warehouse.rows(
            "SELECT instance_hash, answers FROM frame_labels WHERE label_hash = :l AND frame = :f "
            "AND label_kind = 'object'", l=video["label_hash"], f=frame))
        for object_hash, answers in got.items():
            expected = ex.object_answers_on(video, object_hash, frame)
            names = {entry["featureHash"]: entry["name"] for entry in _answer_entries(video, object_hash)}
            expected_text = sorted(f"{names[attr]}: {answer}" for attr, _o, answer in expected)
            assert sorted(answers.split("; ") if answers else []) == expected_text, (frame, object_hash)


def _answer_entries(row, object_hash):
    yield from (row.get("object_answers") or {}).get(object_hash, {}).get("classifications", [])
    yield from (row.get("object_actions") or {}).get(object_hash, {}).get("actions", [])


def test_labels_export_has_the_docs_columns(loaded):
    warehouse, _rows, by_type, ontology = loaded
    image = by_type["image"]
    objects = {o["featureNodeHash"]: o for o in ontology["objects"]}
    got = warehouse.rows(
        "SELECT DISTINCT object_hash, object_name, feature_hash, uid, object_color, ontology_shape FROM labels_export "
        "WHERE label_hash = :l AND label_kind = 'object'", l=image["label_hash"])
    expected = {
        (o["objectHash"], o["name"], o["featureHash"], int(objects[o["featureHash"]]["id"]), objects[o["featureHash"]]["color"],
         objects[o["featureHash"]]["shape"])
        for _f, _u, _w, _h, o in ex.object_frames(image)
    }
    assert set(got) == expected
    classifications = {c["featureNodeHash"]: c for c in ontology["classifications"]}
    got = warehouse.rows(
        "SELECT classification_hash, feature_hash, uid, classification_name, attribute_feature_hash, "
        "classification_answer_hash, classification_answer FROM labels_export "
        "WHERE label_hash = :l AND label_kind = 'classification'", l=image["label_hash"])
    expected = set()
    for classification_hash, answer in image["classification_answers"].items():
        node = classifications[answer["featureHash"]]
        for attribute, option, answer_text in ex.classification_answers_of(image, classification_hash):
            expected.add((classification_hash, answer["featureHash"], int(node["id"]), node["attributes"][0]["name"],
                          attribute, option, answer_text))
    assert set(got) == expected


@pytest.mark.parametrize("number", [1e20, -1e20, math.inf, math.nan, 9007199254740991.0, 2.0 ** 53])
def test_a_numeric_answer_of_any_double_prints_and_leaves_the_views_answering(loaded, tmp_path, number):
    """One answer beyond BIGINT's range (or NaN, or an infinity) failed every query of the views
    that print answers, whatever they selected (attribute_answers v1)."""
    warehouse, _rows, by_type, _ontology = loaded
    row = clone_row(by_type["video"], data_title="numbers.mp4")
    entry = next(entry for answer in row["object_answers"].values() for entry in answer["classifications"]
                 if isinstance(entry["answers"], (int, float)))
    entry["answers"] = number
    export = tmp_path / "numbers.json"
    export.write_text(json.dumps([row], allow_nan=True))
    assert sync_export(warehouse.engine, ExportSyncConfig(str(export), "p1", None)).ok
    answer = warehouse.scalar("SELECT answer FROM attribute_answers WHERE label_hash = :l AND attribute_hash = :a",
                              l=row["label_hash"], a=entry["featureHash"])
    assert float(answer) == number or (math.isnan(number) and math.isnan(float(answer)))
    assert answer.lstrip("-").isdigit() == (abs(number) < 2 ** 53)  # whole numbers a double holds exactly: digits
    other_rows = warehouse.scalar("SELECT COUNT(*) FROM labels_export WHERE label_hash <> :l", l=row["label_hash"])
    assert other_rows == warehouse.scalar("SELECT COUNT(*) FROM labels_export") - warehouse.scalar(
        "SELECT COUNT(*) FROM labels_export WHERE label_hash = :l", l=row["label_hash"]) > 0
    answers = warehouse.rows("SELECT answers FROM frame_labels WHERE label_hash = :l AND instance_hash = :o",
                             l=row["label_hash"], o=entry_owner(row, entry))
    assert answers and all(f"{entry['name']}: {answer}" in text for text, in answers)


def entry_owner(row, entry):
    return next(object_hash for object_hash, answer in row["object_answers"].items() if entry in answer["classifications"])


def test_labeled_frames(loaded):
    warehouse, rows, by_type, _ontology = loaded
    expected = {}
    for row in rows:
        fps = next(iter(row["data_units"].values())).get("data_fps")
        labelled = {frame for frame, *_ in ex.object_frames(row)} | {f for _h, f in ex.classification_frames(row)}
        sizes = {frame: (w, h, unit["data_hash"], unit["data_title"]) for frame, unit, w, h, _e in ex.frames_of(row)}
        for frame in labelled:
            if frame not in sizes:  # a classification range over frames without labels entries
                unit = next(iter(row["data_units"].values()))
                sizes[frame] = (unit["width"], unit["height"], unit["data_hash"], unit["data_title"])
            expected[(row["label_hash"], frame)] = (
                row["data_hash"], row["data_title"], row["data_type"], row["branch_name"], fps,
                frame / fps if fps else None, *sizes[frame])
    got = {
        (r[0], r[1]): r[2:]
        for r in warehouse.rows(
            "SELECT label_hash, frame, data_hash, data_title, data_type, branch_name, fps, timestamp_s, width, height, "
            "frame_data_hash, frame_data_title FROM labeled_frames")
    }
    assert set(got) == set(expected)
    for key, values in expected.items():
        actual = got[key]
        assert actual[:4] == values[:4] and actual[6:] == values[6:], key
        for a, e in zip(actual[4:6], values[4:6]):
            assert (a is None and e is None) or math.isclose(a, e, abs_tol=1e-6), key
    img_group = by_type["img_group"]
    titles = warehouse.rows("SELECT frame, frame_data_title FROM labeled_frames WHERE label_hash = :l ORDER BY frame",
                            l=img_group["label_hash"])
    assert [t for _f, t in titles] == [img_group["data_title"] + "_00.jpg", img_group["data_title"] + "_02.jpg"]


def test_deleted_label_rows_leave_the_views(loaded):
    warehouse, _rows, by_type, _ontology = loaded
    video = by_type["video"]
    with warehouse.engine.begin() as connection:
        connection.execute(text("UPDATE branches SET deleted_at = CURRENT_TIMESTAMP WHERE label_hash = :l"),
                           {"l": video["label_hash"]})
    for view in ("labels_export", "frame_labels", "object_frames_px", "labeled_frames"):
        assert warehouse.scalar(f"SELECT COUNT(*) FROM {view} WHERE label_hash = :l", l=video["label_hash"]) == 0


def test_every_view_is_empty_once_every_label_row_is_deleted(loaded):
    """As --keep-deleted leaves them: every view leaves them out, helpers included (until migration 0014
    label_row_json, attribute_answers and object_vertices did not)."""
    warehouse = loaded[0]
    names = [name for (name,) in warehouse.rows(
        "SELECT table_name FROM information_schema.tables WHERE table_type = 'VIEW' AND table_schema = current_schema()")]
    before = {name: warehouse.scalar(f"SELECT COUNT(*) FROM {name}") for name in names}
    assert {name for name, count in before.items() if count} >= {
        "label_rows", "attribute_answers", "object_frames_px", "object_vertices", "object_vertices_px", "labels_export",
        "frame_labels", "labeled_frames", "branch_labels", "label_row_json"}
    with warehouse.engine.begin() as connection:
        connection.execute(text("UPDATE branches SET deleted_at = CURRENT_TIMESTAMP"))
    assert {name: warehouse.scalar(f"SELECT COUNT(*) FROM {name}") for name in names} == dict.fromkeys(names, 0)


def test_downgrade_drops_the_views_and_upgrade_restores_them(loaded):
    warehouse, _rows, _by_type, _ontology = loaded
    before = warehouse.scalar("SELECT COUNT(*) FROM labels_export")
    migrate.downgrade(warehouse.engine, "0001")
    with pytest.raises(Exception):
        warehouse.scalar("SELECT COUNT(*) FROM labels_export")
    migrate.upgrade(warehouse.engine)
    assert warehouse.scalar("SELECT COUNT(*) FROM labels_export") == before
