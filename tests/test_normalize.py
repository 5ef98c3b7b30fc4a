"""The normalizer against what the real SDK says about the same label rows, plus edge cases."""

from __future__ import annotations

import ast
import copy
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from connector import schema
from connector.normalize import RANGE_FRAMES_WITHOUT_COUNT, TABLE_COLUMNS, LabelRowError, RowContext, normalize_label_row
from connector.ontology import OntologyIndex, build_index, normalize_ontology
from connector.rowcheck import flagged
from connector.sources import archive_json, parse_json
from examples import sdk_sample
from sdk_counts import load_label_row, sdk_counts

SYNCED_AT = datetime(2026, 1, 1)


@pytest.fixture(scope="module")
def ontology():
    return sdk_sample.build_ontology().to_dict()


@pytest.fixture(scope="module")
def context(ontology):
    return RowContext("project", SYNCED_AT, build_index(ontology))


def sdk_rows():
    dicom = sdk_sample.dicom_row(3)
    return {
        "video": sdk_sample.video_row(1).to_encord_dict(),
        "image": sdk_sample.image_row(2).to_encord_dict(),
        "img_group": sdk_sample.img_group_row(4).to_encord_dict(),
        "dicom": sdk_sample.server_label_dict(dicom),
    }


ROWS = sdk_rows()


def named(tables, name):
    return [dict(zip(TABLE_COLUMNS[name], row)) for row in tables[name]]


def test_columns_match_the_schema():
    """Every label-row table but the raw archive, which the loader writes from the JSON as delivered."""
    assert set(TABLE_COLUMNS) == {table.name for table in (schema.data_units, *schema.LABEL_ROW_TABLES)} - {"raw_label_rows"}
    for name, columns in TABLE_COLUMNS.items():
        assert columns == tuple(column.name for column in schema.metadata.tables[name].columns), name


def test_normalize_imports_no_database_http_or_ffmpeg_code():
    source = Path(__file__).resolve().parents[1] / "connector" / "normalize.py"
    imported = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"sqlalchemy", "duckdb", "psycopg", "requests", "encord", "ffmpeg", "pyarrow", "fsspec"}


@pytest.mark.parametrize("kind", sorted(ROWS))
def test_objects_and_annotations_match_the_sdk(kind, context, ontology):
    row = ROWS[kind]
    expected = sdk_counts(row, ontology)
    tables = normalize_label_row(row, context)
    objects = named(tables, "objects")
    assert len(objects) == expected.object_instances > 0
    object_frames = named(tables, "object_frames")
    assert len(object_frames) == expected.object_annotations
    assert Counter(f["frame"] for f in object_frames) == Counter(expected.annotations_per_frame)
    for obj in objects:
        frames = expected.object_frames[obj["object_hash"]]
        assert (obj["first_frame"], obj["last_frame"], obj["frame_count"]) == (min(frames), max(frames), len(frames))
        assert obj["shape"] == expected.object_shapes[obj["object_hash"]]


@pytest.mark.parametrize("kind", sorted(ROWS))
def test_classification_frames_match_the_sdk(kind, context, ontology):
    row = ROWS[kind]
    expected = sdk_counts(row, ontology)
    tables = normalize_label_row(row, context)
    got: dict[str, list[int]] = {}
    for entry in named(tables, "classification_frames"):
        got.setdefault(entry["classification_hash"], []).append(entry["frame"])
    assert {h: tuple(sorted(f)) for h, f in got.items()} == expected.classification_frames
    assert len(tables["classifications"]) == expected.classification_instances


@pytest.mark.parametrize("kind", sorted(ROWS))
def test_answers_match_the_sdk(kind, context, ontology):
    row = ROWS[kind]
    expected = sdk_counts(row, ontology)
    attributes = named(named_tables := normalize_label_row(row, context), "attributes")
    static = [a for a in attributes if not a["dynamic"]]
    dynamic = [a for a in attributes if a["dynamic"]]
    assert len(static) == expected.static_answer_rows
    assert len(dynamic) == expected.dynamic_answer_rows
    if kind == "video":
        assert dynamic and static
    for owner, answers in expected.object_dynamic_answers.items():
        for attribute_hash, items in answers.items():
            got = sorted(
                (a["option_hash"], (a["start_frame"], a["end_frame"]))
                for a in dynamic if a["owner_hash"] == owner and a["attribute_hash"] == attribute_hash
            )
            want = sorted((answer, frame_range) for answer, ranges in items for frame_range in ranges)
            assert got == want
    assert named_tables["branches"][0][0] == row["label_hash"]


def sdk_classification_answers(row: dict, ontology: dict) -> dict[str, tuple]:
    """{classification hash: (name, answer)} as the SDK reads them: the name of the classification's
    top-level attribute and its answer (an option's label, the set of a checklist's, or the text)."""
    found = {}
    for instance in load_label_row(row, ontology).get_classification_instances():
        top = instance.ontology_item.attributes[0]
        answer = instance.get_answer(top)
        if isinstance(answer, list):
            answer = frozenset(option.label for option in answer)
        found[instance.classification_hash] = (top.name, getattr(answer, "label", answer))
    return found


@pytest.mark.parametrize("with_ontology", [True, False], ids=["ontology", "no-ontology"])
@pytest.mark.parametrize("kind", sorted(ROWS))
def test_classification_names_and_answers_match_the_sdk(kind, with_ontology, ontology):
    """The SDK writes a classification's nested answers before its own: Weather = Rain is stored as
    Weather, not as the Intensity nested under Rain. Without the ontology the order alone says so."""
    row = ROWS[kind]
    context = RowContext("project", SYNCED_AT, build_index(ontology) if with_ontology else OntologyIndex())
    expected = sdk_classification_answers(row, ontology)
    got = {c["classification_hash"]: (c["name"], c["answer"])
           for c in named(normalize_label_row(row, context), "classifications")}
    got = {h: (name, frozenset(answer.split(", ")) if isinstance(expected[h][1], frozenset) else answer)
           for h, (name, answer) in got.items()}
    assert got == expected
    nested_first = [len(answer["classifications"]) > 1 for answer in row["classification_answers"].values()]
    assert any(nested_first) or kind not in ("video", "image")


def renamed(ontology: dict) -> dict:
    """The ontology with every object, attribute and option renamed, as after an edit in Encord."""
    renamed = copy.deepcopy(ontology)

    def rename(node: dict) -> None:
        for key in ("name", "label"):
            if key in node:
                node[key] = f"{node[key]} (renamed)"
        for child in [*node.get("attributes", []), *node.get("options", [])]:
            rename(child)

    for node in renamed["objects"] + renamed["classifications"]:
        rename(node)
    return renamed


def test_names_follow_the_ontology_not_the_names_saved_in_the_row(ontology):
    """A label row keeps the names its features had when it was saved; the SDK and the docs' scripts
    name them as the ontology does now, and so does the warehouse."""
    row = ROWS["video"]
    tables = normalize_label_row(row, RowContext("project", SYNCED_AT, build_index(renamed(ontology))))
    saved = normalize_label_row(row, RowContext("project", SYNCED_AT, OntologyIndex()))
    for table, columns in (("objects", ["name"]), ("classifications", ["name"]),
                           ("attributes", ["attribute_name", "option_name"])):
        now, before = named(tables, table), named(saved, table)
        assert len(now) == len(before) > 0
        for row_now, row_before in zip(now, before):
            for column in columns:
                if row_before[column] is not None:
                    assert row_now[column] == f"{row_before[column]} (renamed)", (table, column)
    option_names = {a["option_name"] for a in named(saved, "attributes")} - {None}
    option_answers = 0
    for now, before in zip(named(tables, "classifications"), named(saved, "classifications")):
        options = (before["answer"] or "").split(", ")
        if set(options) <= option_names:
            assert now["answer"] == ", ".join(f"{option} (renamed)" for option in options)
            option_answers += 1
    assert option_answers >= 2


def test_img_group_frames_are_images_with_their_own_size(context):
    row = ROWS["img_group"]
    frames = named(normalize_label_row(row, context), "frames")
    units = sorted(row["data_units"].values(), key=lambda unit: int(unit["data_sequence"]))
    assert [(f["frame"], f["data_hash"], f["data_title"], f["width"], f["height"]) for f in frames] == [
        (int(u["data_sequence"]), u["data_hash"], u["data_title"], u["width"], u["height"]) for u in units
    ]
    assert len({(f["width"], f["height"]) for f in frames}) == len(frames) > 1


@pytest.mark.parametrize("sequence", ["0", None])
def test_img_group_images_sharing_a_data_sequence_are_refused(sequence, context):
    """Without the check the frames row of one image was overwritten by the other's, and the labels of
    both were reported on the last image (its data hash, title and size)."""
    row = copy.deepcopy(ROWS["img_group"])
    units = list(row["data_units"].values())  # read in this order: the second is the one refused
    for unit in units:
        unit["labels"] = {"objects": [], "classifications": []}  # no duplicate object to stop it earlier
        if sequence is None:
            unit.pop("data_sequence")
        else:
            unit["data_sequence"] = sequence
    with pytest.raises(LabelRowError) as raised:
        normalize_label_row(row, context)
    assert raised.value.field == f"data_units.{units[1]['data_hash']}.data_sequence"
    assert raised.value.reason == (f"frame 0 is data unit {units[0]['data_hash']}'s too: two data units of one label "
                                   "row cannot share a frame")


def test_two_video_units_labeling_one_frame_are_refused(context):
    row = minimal_video()
    second = copy.deepcopy(row["data_units"]["dh-1"]) | {"data_hash": "dh-2"}
    second["labels"]["3"]["objects"][0]["objectHash"] = "o2"
    row["data_units"]["dh-2"] = second
    with pytest.raises(LabelRowError) as raised:
        normalize_label_row(row, context)
    assert raised.value.field == "data_units.dh-2.labels['3']"
    assert "frame 3 is data unit dh-1's too" in raised.value.reason


def test_dicom_slices_take_their_size_from_frame_metadata(context, ontology):
    row = ROWS["dicom"]
    expected = sdk_counts(row, ontology)
    frames = named(normalize_label_row(row, context), "frames")
    unit = next(iter(row["data_units"].values()))
    sizes = {f["frame"]: (f["width"], f["height"]) for f in frames}
    for frame, labels in unit["labels"].items():
        meta = labels["metadata"]
        assert sizes[int(frame)] == (meta["width"], meta["height"])
    assert {frame: sizes[frame] for frame in expected.frame_sizes} == expected.frame_sizes


def test_every_shape_lands_with_its_geometry(context):
    row = ROWS["image"]
    labels = next(iter(row["data_units"].values()))["labels"]
    by_hash = {o["objectHash"]: o for o in labels["objects"]}
    got = {f["object_hash"]: f for f in named(normalize_label_row(row, context), "object_frames")}
    shapes = {o["shape"] for o in by_hash.values()}
    assert {"bounding_box", "rotatable_bounding_box", "polygon", "polyline", "point", "skeleton", "bitmask",
            "circle", "ellipse"} <= shapes
    for object_hash, obj in by_hash.items():
        frame = got[object_hash]
        shape = obj["shape"]
        if shape == "bounding_box":
            box = obj["boundingBox"]
            assert (frame["x"], frame["y"], frame["w"], frame["h"]) == (box["x"], box["y"], box["w"], box["h"])
        elif shape == "rotatable_bounding_box":
            box = obj["rotatableBoundingBox"]
            assert (frame["x"], frame["w"], frame["theta"]) == (box["x"], box["w"], box["theta"])
        elif shape in ("polygon", "polyline", "point", "skeleton"):
            key = shape
            vertices = [obj[key][k] for k in sorted(obj[key], key=int)]
            assert frame["points"] == [[v["x"], v["y"]] for v in vertices]
            if shape == "polygon":
                assert frame["rings"] == obj["polygons"]
        elif shape == "bitmask":
            assert frame["geometry"]["rleString"] == obj["bitmask"]["rleString"]
        elif shape in ("circle", "ellipse"):
            assert (frame["x"], frame["y"]) == (obj[shape]["x"], obj[shape]["y"])
            assert frame["geometry"] == obj[shape]


def test_nested_attributes_record_their_parent(context, ontology):
    attributes = named(normalize_label_row(ROWS["video"], context), "attributes")
    nested = {a["attribute_hash"] for a in attributes if a["parent_option_hash"]}
    expected = {
        child["featureNodeHash"]
        for obj in ontology["objects"] + ontology["classifications"]
        for attribute in obj.get("attributes", [])
        for option in attribute.get("options", [])
        for child in option.get("options", [])
    }
    assert nested and nested <= expected
    for a in attributes:
        if a["parent_option_hash"]:
            assert a["parent_attribute_hash"] is not None


def test_consensus_branches_keep_their_branch_name(context):
    rows = [row.to_encord_dict() for row in sdk_sample.consensus_rows(5)]
    branches = [named(normalize_label_row(row, context), "branches")[0] for row in rows]
    assert len({b["data_hash"] for b in branches}) == 1
    assert len({b["label_hash"] for b in branches}) == len(rows) > 1
    names = [b["branch_name"] for b in branches]
    assert "main" in names and any(name.startswith("encord-") for name in names)


# ---- hand-written rows the SDK would not write


def minimal_video(**changes):
    row = {
        "label_hash": "lh-1", "branch_name": "main", "data_hash": "dh-1", "data_title": "clip.mp4",
        "data_type": "video", "created_at": "Thu, 09 Feb 2023 14:12:03 UTC", "last_edited_at": "2023-09-05 13:31:24",
        "data_units": {"dh-1": {
            "data_hash": "dh-1", "data_title": "clip.mp4", "data_type": "video/mp4", "width": 640, "height": 480,
            "data_fps": 10.0, "data_duration": 5.0,
            "labels": {"3": {"objects": [{
                "objectHash": "o1", "featureHash": "f1", "name": "Car", "shape": "bounding_box",
                "createdAt": "2024-01-02T03:04:05+01:00",
                "boundingBox": {"x": 0.1, "y": 0.2, "w": 0.3, "h": 0.4},
            }], "classifications": [{"classificationHash": "c1", "featureHash": "cf1", "name": "Weather"}]}},
        }},
        "object_answers": {}, "object_actions": {},
        "classification_answers": {"c1": {"classificationHash": "c1", "featureHash": "cf1", "range": [[5, 6]],
                                          "classifications": [{"name": "Weather", "featureHash": "a1",
                                                               "answers": [{"name": "Rain", "featureHash": "o9"}]}]}},
    }
    row.update(changes)
    return row


def test_classification_frames_are_the_union_of_ranges_and_frame_entries(context):
    tables = normalize_label_row(minimal_video(), context)
    assert sorted(f for _, _, f in tables["classification_frames"]) == [3, 5, 6]
    assert [f["frame"] for f in named(tables, "frames")] == [3, 5, 6]
    assert [f["timestamp_s"] for f in named(tables, "frames")] == [0.3, 0.5, 0.6]
    assert named(tables, "classifications")[0]["answer"] == "Rain"


def test_three_timestamp_formats_become_utc(context):
    tables = normalize_label_row(minimal_video(), context)
    branch = named(tables, "branches")[0]
    assert branch["created_at"] == datetime(2023, 2, 9, 14, 12, 3)
    assert branch["last_edited_at"] == datetime(2023, 9, 5, 13, 31, 24)
    assert named(tables, "object_frames")[0]["created_at"] == datetime(2024, 1, 2, 2, 4, 5)


@pytest.mark.parametrize("text", ["Tue, 05 Nov 2024 10:00:00 UTC", "Tue, 05 Nov 2024 10:00:00 GMT",
                                  "Tue, 05 Nov 2024 10:00:00 +0000", "Tue, 05 Nov 2024 11:00:00 +0100",
                                  "Tue, 05 Nov 2024 04:30:00 -0530", "2024-11-05 10:00:00", "2024-11-05T10:00:00Z",
                                  "2024-11-05T12:00:00.250+02:00"])
def test_timestamps_read_as_the_sdk_reads_them_in_utc(text):
    from encord.common.time_parser import parse_datetime

    from connector.timestamps import parse_timestamp

    theirs = parse_datetime(text)
    theirs = theirs.astimezone(timezone.utc).replace(tzinfo=None) if theirs.tzinfo else theirs
    assert parse_timestamp(text) == theirs
    assert theirs.replace(microsecond=0) == datetime(2024, 11, 5, 10, 0, 0)


@pytest.mark.parametrize("written", [640, 640.0, "640", None])
def test_a_width_written_as_a_whole_number_in_any_form_is_that_number(written, context):
    row = minimal_video()
    row["data_units"]["dh-1"]["width"] = written
    tables = normalize_label_row(row, context)
    assert named(tables, "data_units")[0]["width"] == named(tables, "frames")[0]["width"] == (
        None if written is None else 640)


def test_polygon_without_rings_gets_one_ring_from_its_vertices(context):
    row = minimal_video()
    obj = row["data_units"]["dh-1"]["labels"]["3"]["objects"][0]
    obj.pop("boundingBox")
    obj.update(shape="polygon", polygon={"1": {"x": 0.5, "y": 0.6}, "0": {"x": 0.1, "y": 0.2}, "2": {"x": 0.9, "y": 0.1}})
    frame = named(normalize_label_row(row, context), "object_frames")[0]
    assert frame["points"] == [[0.1, 0.2], [0.5, 0.6], [0.9, 0.1]]
    assert frame["rings"] == [[[0.1, 0.2, 0.5, 0.6, 0.9, 0.1]]]


@pytest.mark.parametrize("shape", ["polygon", "polyline"])
def test_vertices_given_as_a_list_read_as_the_sdk_reads_them(shape, context):
    """The SDK reads a polygon or polyline written as a list of points (an older form) in list order."""
    vertices = [{"x": 0.1, "y": 0.2}, {"x": 0.9, "y": 0.1}, {"x": 0.5, "y": 0.6}]
    tables = {}
    for form, value in (("list", vertices), ("keyed", {str(i): v for i, v in enumerate(vertices)})):
        row = minimal_video()
        obj = row["data_units"]["dh-1"]["labels"]["3"]["objects"][0]
        obj.pop("boundingBox")
        obj.update(shape=shape, **{shape: value})
        tables[form] = normalize_label_row(row, context)
    assert named(tables["list"], "object_frames")[0]["points"] == [[0.1, 0.2], [0.9, 0.1], [0.5, 0.6]]
    assert tables["list"] == tables["keyed"]


def test_polygon_with_an_empty_rings_list_gets_one_ring_from_its_vertices(context):
    """The SDK reads `"polygons": []` as no rings given: the outline in `polygon` is the one ring."""
    row = minimal_video()
    obj = row["data_units"]["dh-1"]["labels"]["3"]["objects"][0]
    obj.pop("boundingBox")
    obj.update(shape="polygon", polygon={"0": {"x": 0.1, "y": 0.2}, "1": {"x": 0.9, "y": 0.1}, "2": {"x": 0.5, "y": 0.6}},
               polygons=[])
    frame = named(normalize_label_row(row, context), "object_frames")[0]
    assert frame["rings"] == [[[0.1, 0.2, 0.9, 0.1, 0.5, 0.6]]]


def _frame_objects(row):
    return row["data_units"]["dh-1"]["labels"]["3"]["objects"]


def _object(row):
    return _frame_objects(row)[0]


BAD_ROWS = {
    "missing data_units": (lambda r: r.pop("data_units"), "data_units", "missing"),
    "unknown shape": (lambda r: _object(r).update(shape="hexagon"), "objects[0].shape", "unknown shape 'hexagon'"),
    "non-numeric coordinate": (lambda r: _object(r)["boundingBox"].update(x="0.1x"), "boundingBox.x", "expected a number"),
    "frame key not an integer": (
        lambda r: r["data_units"]["dh-1"]["labels"].update({"1.5": {"objects": []}}), "labels['1.5']", "not a non-negative integer"),
    "missing objectHash": (lambda r: _object(r).pop("objectHash"), "objects[0].objectHash", "missing"),
    "unreadable timestamp": (lambda r: r.update(created_at="yesterday"), "created_at", "unreadable timestamp"),
    "unsupported data type": (lambda r: r.update(data_type="group"), "data_type", "unsupported data type"),
    "bad range": (lambda r: r["classification_answers"]["c1"].update(range=[[6, 5]]), "range[0]", "ends before it starts"),
    "duplicate object in a frame": (
        lambda r: r["data_units"]["dh-1"]["labels"]["3"]["objects"].append(copy.deepcopy(_object(r))),
        "objects[1].objectHash", "duplicate object o1 in frame 3"),
}


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_bad_rows_raise_one_line_errors_naming_row_and_field(case, context):
    mutate, field, reason = BAD_ROWS[case]
    row = minimal_video()
    mutate(row)
    with pytest.raises(LabelRowError) as raised:
        normalize_label_row(row, context)
    error = raised.value
    assert error.label_hash == "lh-1"
    assert field in error.field
    assert reason in error.reason
    assert "\n" not in str(error) and str(error).startswith("label row lh-1 (clip.mp4): ")


def _polygon(row):
    obj = _object(row)
    obj.pop("boundingBox")
    obj.update(shape="polygon", polygon={"0": {"x": 0.1, "y": 0.2}, "1": {"x": 0.5, "y": 0.6}, "2": {"x": 0.9, "y": 0.1}})
    return obj


OBJECT = "data_units.dh-1.labels['3'].objects[0]"
EXACT_FIELDS = {
    "box coordinate": (lambda r: _object(r)["boundingBox"].update(h=None), f"{OBJECT}.boundingBox.h"),
    "object timestamp": (lambda r: _object(r).update(lastEditedAt="soon"), f"{OBJECT}.lastEditedAt"),
    "confidence": (lambda r: _object(r).update(confidence="high"), f"{OBJECT}.confidence"),
    "featureHash": (lambda r: _object(r).pop("featureHash"), f"{OBJECT}.featureHash"),
    "vertex coordinate": (lambda r: _polygon(r)["polygon"]["1"].update(y=[0.5]), f"{OBJECT}.polygon['1'].y"),
    "vertex not an object": (lambda r: _polygon(r)["polygon"].update({"2": [0.9, 0.1]}), f"{OBJECT}.polygon['2']"),
    "ring coordinate": (lambda r: _polygon(r).update(polygons=[[[0.1, "x"]]]), f"{OBJECT}.polygons[0][0][1]"),
    "second object": (lambda r: _frame_objects(r).append({**_object(r), "objectHash": "o2", "shape": None}),
                      "data_units.dh-1.labels['3'].objects[1].shape"),
}


@pytest.mark.parametrize("case", sorted(EXACT_FIELDS))
def test_errors_inside_an_object_name_the_whole_path(case, context):
    """Per-annotation code builds field paths only on failure; the error still names the full path."""
    mutate, field = EXACT_FIELDS[case]
    row = minimal_video()
    mutate(row)
    with pytest.raises(LabelRowError) as raised:
        normalize_label_row(row, context)
    assert raised.value.field == field


@pytest.mark.parametrize("vertex, problem", [
    ({"x": 0.5, "y": 0.6}, None),
    ({"x": 0.0, "y": 1.0}, None),
    ({"x": 1.5, "y": 0.6}, "points[1].x=1.5 > 1"),
    ({"x": 0.5, "y": -0.01}, "points[1].y=-0.01 < 0"),
    ({"x": float("nan"), "y": 0.6}, "points[1].x=nan not finite"),
    ({"x": float("-inf"), "y": float("nan")}, "points[1].x=-inf not finite; points[1].y=nan not finite"),
])
def test_coordinate_problems_name_each_bad_value(vertex, problem, context):
    row = minimal_video()
    _polygon(row)["polygon"]["1"] = vertex
    frame = named(normalize_label_row(row, context), "object_frames")[0]
    assert frame["problems"] == problem


def _ellipse(row, **geometry):
    obj = _object(row)
    obj.pop("boundingBox")
    obj.update(shape="ellipse", ellipse={"x": 0.5, "y": 0.5, "rx": 0.1, "ry": 0.2, "theta": 0.3, **geometry})
    return obj


def _skeleton(row):
    obj = _object(row)
    obj.pop("boundingBox")
    obj.update(shape="skeleton", skeleton={"0": {"x": 0.1, "y": 0.2, "name": "head", "score": 0.9},
                                           "1": {"x": 0.3, "y": 0.4, "name": "neck", "score": 0.8}})
    return obj


NON_FINITE_PLACES = {
    "box": lambda r: _object(r)["boundingBox"].update(w=float("nan")),
    "vertex": lambda r: _polygon(r)["polygon"]["2"].update(y=float("nan")),
    "ring": lambda r: _polygon(r).update(polygons=[[[0.1, 0.2, 0.5, 0.6, 0.9, float("inf")]]]),
    "hole": lambda r: _polygon(r).update(polygons=[[[0.1, 0.2, 0.5, 0.6, 0.9, 0.1], [0.3, float("nan"), 0.4, 0.4]]]),
    "ellipse radius": lambda r: _ellipse(r, rx=float("nan")),
    "skeleton vertex": lambda r: _skeleton(r)["skeleton"]["1"].update(score=float("-inf")),
    "unread": lambda r: _object(r).update(extra=[float("-inf")]),  # a field normalize does not read
}


@pytest.mark.parametrize("where", sorted(NON_FINITE_PLACES))
def test_a_non_finite_number_anywhere_is_spelled_out_in_the_archive_json_and_reads_back_the_same(where, context):
    """orjson writes NaN as null; the archive must keep what was sent, wherever it is, and a rebuild from it
    (the spelling read back) must give the tables a sync from the row gives: JSON columns included."""
    row = minimal_video()
    NON_FINITE_PLACES[where](row)
    text = archive_json(row)
    assert (b'"NaN"' in text or b'Infinity"' in text) and b"null" not in text
    read_back, sent = normalize_label_row(parse_json(text), context), normalize_label_row(row, context)
    assert repr(read_back) == repr(sent)
    if where != "unread":
        assert named(sent, "object_frames")[0]["problems"]


@pytest.mark.parametrize("mutate, problem", [
    (lambda r: _polygon(r).update(polygons=[[[0.1, 0.2, 0.5, 0.6, 0.9, 0.1], [0.3, 0.3, 1.25, 0.4, 0.35, 0.5]]]),
     "polygons[0][1][2]=1.25 > 1"),
    (lambda r: _polygon(r).update(polygons=[[[0.1, 0.2, 0.5, 0.6, 0.9, 0.1]], [[0.7, float("inf"), 0.8, 0.8]]]),
     "polygons[1][0][1]=inf not finite"),
    (lambda r: _polygon(r).update(polygons=[[[0.1, 0.2, 0.5, 0.6, 0.9, 0.1]]]), None),  # the outline: fine
    (lambda r: _ellipse(r, rx=float("nan")), "geometry.rx=nan not finite"),
    (lambda r: _ellipse(r, x=float("nan")), "x=nan not finite"),  # named once, as the column
    (lambda r: _skeleton(r)["skeleton"]["0"].update(score=float("inf")), "geometry.0.score=inf not finite"),
    (lambda r: _skeleton(r)["skeleton"]["0"].update(x=float("inf")), "points[0].x=inf not finite"),
    (lambda r: _object(r).update(shape="cuboid", cuboid={"position": [0.1, float("nan"), 3.0],
                                                         "orientation": [0, 0, 0], "size": [1, 2, 3]}),
     "geometry.position[1]=nan not finite"),
])
def test_raw_geometry_and_polygons_are_checked_like_the_columns(mutate, problem, context):
    """A hole or second polygon, an ellipse's radii, a skeleton's or cuboid's numbers: flagged in `problems`
    as the coordinate columns are, and stored."""
    row = minimal_video()
    mutate(row)
    tables = normalize_label_row(row, context)
    assert named(tables, "object_frames")[0]["problems"] == problem


def test_3d_points_keep_their_z_in_the_raw_geometry(context):
    """The SDK writes a PointCoordinate3D (and a polyline of them) as x, y, z: `points` holds x and y,
    `geometry` the vertices as written."""
    row = minimal_video()
    obj = _object(row)
    obj.pop("boundingBox")
    obj.update(shape="polyline", polyline={"0": {"x": 0.1, "y": 0.2, "z": 0.3}, "1": {"x": 0.4, "y": 0.5, "z": 0.6}})
    frame = named(normalize_label_row(row, context), "object_frames")[0]
    assert frame["points"] == [[0.1, 0.2], [0.4, 0.5]]
    assert frame["geometry"] == obj["polyline"] and frame["problems"] is None
    flat = minimal_video()
    _polygon(flat)
    assert named(normalize_label_row(flat, context), "object_frames")[0]["geometry"] is None


def test_a_cuboid_is_kept_as_raw_geometry(context):
    row = minimal_video()
    cuboid = {"position": [0.1, 0.2, 3.0], "orientation": [0.0, 0.5, 0.0], "size": [1.0, 2.0, 3.0]}
    _object(row).update(shape="cuboid", cuboid=cuboid)
    _object(row).pop("boundingBox")
    frame = named(normalize_label_row(row, context), "object_frames")[0]
    assert (frame["shape"], frame["geometry"], frame["x"], frame["problems"]) == ("cuboid", cuboid, None, None)


def test_ontology_tables(ontology):
    tables = normalize_ontology(ontology, "p")
    assert len(tables["ontology_objects"]) == len(ontology["objects"])
    assert len(tables["ontology_classifications"]) == len(ontology["classifications"])
    shapes = {row[5] for row in tables["ontology_objects"]}
    assert {"bounding_box", "polygon", "skeleton", "bitmask"} <= shapes
    types = {row[4] for row in tables["ontology_attributes"]}
    assert {"radio", "checklist", "text", "numeric"} <= types
    nested = [row for row in tables["ontology_attributes"] if row[7] is not None]
    assert nested, "nested attributes carry their parent option"


# ---- classification ranges past the last frame

def test_a_classification_range_past_the_last_frame_is_cut_there_and_flagged(context):
    """An SDK-written video row whose classification range was edited to end at 2**31 - 1 (as a client might
    write "the whole video"): a row for each of the video's frames, not two billion."""
    row = copy.deepcopy(ROWS["video"])
    unit = next(iter(row["data_units"].values()))
    last = round(unit["data_duration"] * unit["data_fps"]) - 1
    classification_hash, answer = next((h, a) for h, a in row["classification_answers"].items() if a.get("range"))
    start = answer["range"][-1][0]
    answer["range"][-1][1] = 2**31 - 1
    tables = normalize_label_row(row, context)
    frames = {f for _, h, f in tables["classification_frames"] if h == classification_hash}
    assert max(frames) == last and set(range(start, last + 1)) <= frames
    assert max(f["frame"] for f in named(tables, "frames")) == last
    problems = {c["classification_hash"]: c["problems"] for c in named(tables, "classifications")}
    assert problems.pop(classification_hash) == \
        f"range [{start}, {2**31 - 1}] past the last frame ({last}): frames {last + 1}-{2**31 - 1} left out"
    assert set(problems.values()) == {None}
    [failure] = flagged(row["label_hash"], tables, row["data_title"], "export.json")
    assert (failure.field, failure.kept) == ("classifications.problems", True)
    assert failure.reason.startswith(f"1 classification(s) kept and flagged in classifications.problems; "
                                     f"first: classification {classification_hash}: range [{start}, ")


@pytest.mark.parametrize("ranges, metadata, frames, problem", [
    ([[5, 49]], None, range(5, 50), None),  # 10 fps x 5 s: frames 0..49
    ([[5, 50]], None, range(5, 50), "range [5, 50] past the last frame (49): frame 50 left out"),
    ([[5, 6], [60, 70]], None, [5, 6], "range [60, 70] past the last frame (49): frames 60-70 left out"),
    ([[5, 30]], {"number_of_frames": 20}, range(5, 20), "range [5, 30] past the last frame (19): frames 20-30 left out"),
])
def test_where_a_classification_range_is_cut(ranges, metadata, frames, problem, ontology):
    """The last frame is the listing's frame count when there is one, else the video's duration x fps."""
    row = minimal_video()
    row["classification_answers"]["c1"]["range"] = ranges
    tables = normalize_label_row(row, RowContext("project", SYNCED_AT, build_index(ontology), metadata))
    assert sorted(f for _, _, f in tables["classification_frames"]) == sorted({3, *frames})  # 3: its frame entry
    assert named(tables, "classifications")[0]["problems"] == problem


def test_without_a_frame_count_classification_ranges_are_bounded(context):
    """No listing and no duration or fps: the ranges of a row may cover RANGE_FRAMES_WITHOUT_COUNT frames in
    all; one past that refuses the row (it would be a row per frame), before it is expanded."""
    row = minimal_video()
    unit = row["data_units"]["dh-1"]
    del unit["data_fps"], unit["data_duration"]
    row["classification_answers"]["c1"]["range"] = [[5, 60]]
    assert sorted(f for _, _, f in normalize_label_row(row, context)["classification_frames"]) == [3, *range(5, 61)]
    row["classification_answers"]["c1"]["range"] = [[0, 9], [100, 100 + RANGE_FRAMES_WITHOUT_COUNT - 10]]
    with pytest.raises(LabelRowError) as raised:
        normalize_label_row(row, context)
    assert raised.value.field == "classification_answers.c1.range[1]"
    assert f"more than {RANGE_FRAMES_WITHOUT_COUNT:,} frames" in raised.value.reason
