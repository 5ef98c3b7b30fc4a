"""The SDK-built fixtures (examples/sdk_sample.py) contain what they are meant to, and the SDK
reads them back to the same counts (tests/sdk_counts.py)."""

import json
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
for path in (str(ROOT), str(ROOT / "tests")):
    if path not in sys.path:
        sys.path.insert(0, path)

import pytest  # noqa: E402
from encord.common.time_parser import parse_datetime  # noqa: E402
from encord.objects import Shape  # noqa: E402
from encord.objects.bitmask import BitmaskCoordinates  # noqa: E402
from encord.objects.constants import ROOT_SPACE_ID  # noqa: E402

from examples import sdk_ontology as ont  # noqa: E402
from examples.sdk_sample import (  # noqa: E402
    DICOM_SLICES, IMG_GROUP_SIZES, build_ontology, classification_hash_for, consensus_rows, dicom_row,
    image_row, img_group_row, layered_image_row, metadata_item, object_hash_for, sample_export, sample_rows,
    server_label_dict, video_row,
    video_spans,
)
from examples.sdk_ranges import range_ontology, series_row  # noqa: E402
from examples.sdk_rows import OfflineOntology, annotator_branch, annotator_email  # noqa: E402
from sdk_counts import counts_by_branch, load_label_row, row_counts, sdk_counts  # noqa: E402

EXAMPLES = ROOT / "examples"
RFC_1123 = re.compile(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} UTC$")


@pytest.fixture(scope="module")
def ontology():
    return build_ontology()


@pytest.fixture(scope="module")
def video(ontology):
    return video_row(0, ontology=ontology)


@pytest.fixture(scope="module")
def video_dict(video):
    return video.to_encord_dict()


@pytest.fixture(scope="module")
def image_dict(ontology):
    return image_row(0, ontology=ontology).to_encord_dict()


@pytest.fixture(scope="module")
def img_group_dict(ontology):
    return img_group_row(0, ontology=ontology).to_encord_dict()


@pytest.fixture(scope="module")
def export(ontology):
    return sample_export(ontology=ontology)


def frame_objects(label_dict, object_hash):
    """{frame: frame object} for one object of a video/DICOM dict."""
    unit = next(iter(label_dict["data_units"].values()))
    return {int(frame): obj for frame, entry in unit["labels"].items()
            for obj in entry["objects"] if obj["objectHash"] == object_hash}


def image_objects(label_dict):
    unit = next(iter(label_dict["data_units"].values()))
    return {obj["objectHash"]: obj for obj in unit["labels"]["objects"]}


def span_frames(spans):
    return [frame for start, end in spans for frame in range(start, end + 1)]


# --------------------------------------------------------------------------- ontology

def test_ontology_has_every_shape_and_the_attribute_kinds(ontology):
    shapes = {obj.shape for obj in ontology.objects}
    assert {Shape.BOUNDING_BOX, Shape.ROTATABLE_BOUNDING_BOX, Shape.POLYGON, Shape.POLYLINE, Shape.POINT,
            Shape.SKELETON, Shape.BITMASK, Shape.CIRCLE, Shape.ELLIPSE} <= shapes
    car = ontology.to_dict()["objects"][0]
    color, plate, occlusion, motion = car["attributes"]
    assert [color["type"], plate["type"], occlusion["type"], motion["type"]] == ["radio", "text", "numeric", "radio"]
    assert motion["dynamic"] is True and color["dynamic"] is False
    red = color["options"][0]
    assert red["featureNodeHash"] == ont.CAR_COLOR_RED
    assert [(nested["name"], nested["type"]) for nested in red["options"]] == [("Damage", "checklist")]
    assert ontology.skeleton_templates["Person pose"].feature_node_hash == ont.PERSON


def test_classification_radio_has_a_nested_radio(ontology):
    weather = ontology.to_dict()["classifications"][0]
    rain = weather["attributes"][0]["options"][1]
    assert rain["label"] == "Rain"
    assert [(nested["name"], nested["type"]) for nested in rain["options"]] == [("Intensity", "radio")]
    assert [c["attributes"][0]["type"] for c in ontology.to_dict()["classifications"]] == ["radio", "checklist", "text"]


def test_committed_ontology_json_is_current(ontology):
    assert json.loads((EXAMPLES / "ontology.json").read_text()) == ontology.to_dict()


# --------------------------------------------------------------------------- video

def test_video_unit_size_rate_and_length(video_dict):
    unit = next(iter(video_dict["data_units"].values()))
    assert (unit["width"], unit["height"], unit["data_fps"], unit["data_duration"]) == (1280, 720, 25.0, 10.0)
    assert unit["data_type"] == "video/mp4" and unit["data_sequence"] == 0
    assert video_dict["data_type"] == "video" and unit["data_hash"] == video_dict["data_hash"]


def test_video_tracks_cover_their_spans_and_move(video, video_dict):
    spans = video_spans(250)
    car_a = frame_objects(video_dict, object_hash_for(video, "car_a"))
    assert sorted(car_a) == span_frames(spans["car_a"]) == list(range(0, 121))
    assert car_a[0]["boundingBox"]["x"] < car_a[60]["boundingBox"]["x"] < car_a[120]["boundingBox"]["x"]
    car_b = frame_objects(video_dict, object_hash_for(video, "car_b"))
    assert sorted(car_b) == span_frames(spans["car_b"])
    assert 150 not in car_b and 169 in car_b  # left the view and came back
    bus = frame_objects(video_dict, object_hash_for(video, "bus"))
    assert bus[min(bus)]["rotatableBoundingBox"]["theta"] == 0.0
    assert bus[max(bus)]["rotatableBoundingBox"]["theta"] == 30.0


def test_video_dynamic_answers_cover_the_right_frames(video, video_dict):
    actions = video_dict["object_actions"][object_hash_for(video, "car_a")]["actions"]
    by_option = {action["answers"][0]["featureHash"]: action for action in actions}
    assert by_option[ont.CAR_MOTION_MOVING]["range"] == [[0, 60]]
    assert by_option[ont.CAR_MOTION_PARKED]["range"] == [[61, 120]]
    assert all(action["featureHash"] == ont.CAR_MOTION and action["dynamic"] for action in actions)
    light_actions = video_dict["object_actions"][object_hash_for(video, "light")]["actions"]
    assert sorted(tuple(a["range"][0]) for a in light_actions) == [(25, 62), (63, 100)]
    assert object_hash_for(video, "bus") not in video_dict["object_actions"]


def test_nested_attributes_are_flat_siblings_in_object_answers(video, video_dict):
    answers = video_dict["object_answers"][object_hash_for(video, "car_a")]["classifications"]
    by_feature = {answer["featureHash"]: answer for answer in answers}
    assert set(by_feature) == {ont.CAR_COLOR, ont.CAR_DAMAGE, ont.CAR_PLATE, ont.CAR_OCCLUSION}
    assert by_feature[ont.CAR_COLOR]["answers"] == [{"name": "Red", "value": "red", "featureHash": ont.CAR_COLOR_RED}]
    assert [a["featureHash"] for a in by_feature[ont.CAR_DAMAGE]["answers"]] == [
        ont.CAR_DAMAGE_SCRATCH, ont.CAR_DAMAGE_DENT]
    assert by_feature[ont.CAR_PLATE]["answers"] == "KA-123-XY"
    assert by_feature[ont.CAR_OCCLUSION]["answers"] == 12.5
    assert ont.CAR_MOTION not in by_feature  # dynamic answers live in object_actions


def test_video_classifications_carry_ranges_not_frame_entries(video, video_dict):
    answers = video_dict["classification_answers"]
    notes = answers[classification_hash_for(video, "notes")]
    assert notes["range"] == [[10, 20], [124, 129]]
    assert notes["classifications"][0]["answers"] == "glare from low sun"
    rain = answers[classification_hash_for(video, "weather_rain")]
    assert {a["featureHash"] for a in rain["classifications"]} == {ont.WEATHER_ATTRIBUTE, ont.WEATHER_INTENSITY}
    unit = next(iter(video_dict["data_units"].values()))
    assert all(entry["classifications"] == [] for entry in unit["labels"].values())  # SDK 0.1.211


def test_timestamps_are_rfc_1123_utc(video_dict):
    frame_object = frame_objects(video_dict, next(iter(video_dict["object_answers"])))
    stamps = [video_dict["created_at"], video_dict["last_edited_at"],
              *(frame_object[min(frame_object)][key] for key in ("createdAt", "lastEditedAt"))]
    assert all(RFC_1123.match(stamp) for stamp in stamps), stamps
    assert parse_datetime(video_dict["created_at"]).isoformat() == "2025-03-03T09:00:00+00:00"


# --------------------------------------------------------------------------- image

def test_image_labels_are_not_frame_keyed_and_have_every_geometry(image_dict):
    unit = next(iter(image_dict["data_units"].values()))
    assert set(unit["labels"]) == {"objects", "classifications"}
    keys = {key for obj in unit["labels"]["objects"] for key in obj} & {
        "boundingBox", "rotatableBoundingBox", "polygon", "polygons", "polyline", "point", "skeleton", "bitmask",
        "circle", "ellipse"}
    assert len(keys) == 10


def test_polygons_carry_flat_rings(ontology, image_dict):
    row = image_row(0, ontology=ontology)
    objects = image_objects(image_dict)
    road = objects[object_hash_for(row, "road")]
    (outer, hole), = road["polygons"]  # one polygon, two rings
    assert outer == [v for i in range(4) for v in (road["polygon"][str(i)]["x"], road["polygon"][str(i)]["y"])]
    assert len(hole) == 8 and all(isinstance(v, float) for v in hole)
    shoulders = objects[object_hash_for(row, "shoulders")]
    assert [len(polygon) for polygon in shoulders["polygons"]] == [1, 1]  # two polygons, one ring each
    assert len(shoulders["polygon"]) == 4  # `polygon` is the first ring only


def test_image_bitmask_skeleton_circle_ellipse(ontology, image_dict):
    row = image_row(0, ontology=ontology)
    objects = image_objects(image_dict)
    bitmask = objects[object_hash_for(row, "sky")]["bitmask"]
    assert (bitmask["width"], bitmask["height"], bitmask["top"], bitmask["left"]) == (1920, 1080, 0, 0)
    pixels = bytes(BitmaskCoordinates.from_dict(bitmask).__array_interface__["data"])
    assert sum(pixels) == 1920 * int(0.35 * 1080)
    skeleton = objects[object_hash_for(row, "person")]["skeleton"]
    assert [skeleton[str(i)]["name"] for i in range(5)] == list(ont.SKELETON_KEYPOINTS)
    assert objects[object_hash_for(row, "wheel")]["circle"] == {"x": 0.35, "y": 0.75, "r": 0.035, "stretch": 1.0,
                                                                 "theta": 0.0}
    assert set(objects[object_hash_for(row, "sign")]["ellipse"]) == {"x", "y", "rx", "ry", "theta"}


# --------------------------------------------------------------------------- image group

def test_img_group_units_have_their_own_hash_title_and_size(img_group_dict):
    units = sorted(img_group_dict["data_units"].values(), key=lambda unit: int(unit["data_sequence"]))
    assert [(unit["width"], unit["height"]) for unit in units] == list(IMG_GROUP_SIZES)
    assert [unit["data_sequence"] for unit in units] == ["0", "1", "2"]  # strings for img_group
    assert len({unit["data_hash"] for unit in units} | {img_group_dict["data_hash"]}) == 4
    assert len({unit["data_title"] for unit in units}) == 3
    assert [len(unit["labels"]["objects"]) for unit in units] == [1, 0, 3]


def test_img_group_object_spans_images_and_sizes_follow_the_image(ontology, img_group_dict):
    row = img_group_row(0, ontology=ontology)
    counts = sdk_counts(img_group_dict, ontology)
    assert counts.object_frames[object_hash_for(row, "car")] == (0, 2)
    assert counts.frame_sizes == {0: (1920, 1080), 2: (800, 1280)}
    last_unit = next(u for u in img_group_dict["data_units"].values() if u["data_sequence"] == "2")
    bitmask = next(obj["bitmask"] for obj in last_unit["labels"]["objects"] if "bitmask" in obj)
    assert (bitmask["width"], bitmask["height"]) == (800, 1280)
    assert counts.classification_frames[classification_hash_for(row, "weather")] == (0, 2)


# --------------------------------------------------------------------------- DICOM

def test_dicom_slices_carry_metadata_in_the_sdk_and_the_server_dict(ontology):
    row = dicom_row(0, ontology=ontology)
    sizes = {(row.get_frame_view(i).metadata.width, row.get_frame_view(i).metadata.height) for i in range(DICOM_SLICES)}
    assert sizes == {(512, 512)}
    plain = next(iter(row.to_encord_dict()["data_units"].values()))
    assert "data_link" not in plain and sorted(map(int, plain["labels"])) == [5, 6, 7, 8, 9, 10]
    assert not any("metadata" in entry for entry in plain["labels"].values())  # to_encord_dict drops it
    served = server_label_dict(row)
    unit = next(iter(served["data_units"].values()))
    assert len(unit["labels"]) == DICOM_SLICES
    assert unit["labels"]["3"]["metadata"] == {
        "dicom_instance_uid": "1.2.826.0.1.3680043.8.498.0.4", "multiframe_frame_number": None,
        "file_uri": "encord-sample-dicoms/series_0000/slice_003.dcm", "width": 512, "height": 512}
    assert set(unit["metadata"]) == {"patient_id", "study_uid", "series_uid"}
    reloaded = load_label_row(served, ontology)
    assert reloaded.get_frame_view(7).metadata.file_uri.endswith("slice_007.dcm")


def test_nifti_slices_of_their_own_size_reach_the_frames_table_from_the_sdk(ontology):
    """to_encord_dict() drops a NIfTI row's per-slice sizes, as a DICOM row's; a sync from Encord puts them back
    from the SDK's frame views (connector.sources.encord._restore_slice_metadata), as an export has them."""
    import copy
    from dataclasses import replace
    from datetime import datetime

    from connector.normalize import RowContext, normalize_label_row
    from connector.sources.encord import _restore_slice_metadata
    from examples import sdk_sample
    from examples.sdk_rows import Labeller, empty_label_row, row_identity

    ids = row_identity("nifti", 1, extension="nii")
    media = sdk_sample.dicom_media(1, ids.data_hash, ids.data_title, 4, 400, 300)
    unit = next(iter(media.data_units.values()))
    unit["data_type"] = "application/x-nifti"
    for index, labels in unit["labels"].items():
        labels["metadata"].update(width=200 + int(index), height=100 + int(index))
    row = empty_label_row(ontology, ids, replace(media, data_type="nifti"))
    labeller = Labeller(row, ids, ontology)
    lesion = labeller.new_object(ont.LESION, "lesion")
    labeller.track(lesion, 0, 3, lambda t: sdk_sample.road_polygon(t))
    labeller.add(lesion)
    synced = row.to_encord_dict()
    _restore_slice_metadata(row, synced)
    tables = normalize_label_row(copy.deepcopy(synced), RowContext("p", datetime(2026, 1, 1)))
    sizes = {frame[1]: frame[4:6] for frame in tables["frames"]}
    assert sizes == {int(index): (200 + int(index), 100 + int(index)) for index in unit["labels"]} and sizes


# --------------------------------------------------------------------------- consensus

def test_consensus_branches_share_the_data_unit(ontology):
    main, first, second = [row.to_encord_dict() for row in consensus_rows(0, ontology=ontology)]
    assert main["data_hash"] == first["data_hash"] == second["data_hash"]
    assert main["data_title"] == first["data_title"] == second["data_title"]
    assert len({main["label_hash"], first["label_hash"], second["label_hash"]}) == 3
    assert main["branch_name"] == "main"
    assert all(re.fullmatch(r"encord-[0-9a-f]{32}", row["branch_name"]) for row in (first, second))
    assert first["branch_name"] != second["branch_name"]
    assert not set(main["object_answers"]) & set(first["object_answers"])


def test_consensus_annotators_disagree_as_documented(ontology):
    rows = consensus_rows(0, ontology=ontology)
    main, first, second = [row_counts(row) for row in rows]
    car_a = object_hash_for(rows[1], "car_a")
    assert first.object_static_answers[car_a][ont.CAR_COLOR] == ont.CAR_COLOR_BLUE
    assert ont.CAR_DAMAGE not in first.object_static_answers[car_a]
    assert (main.object_instances, first.object_instances, second.object_instances) == (10, 10, 8)


# --------------------------------------------------------------------------- seeds and determinism

def test_seeds_give_fresh_hashes_and_same_seed_gives_same_row(ontology):
    a, b = video_row(0, ontology=ontology, number_of_frames=60), video_row(1, ontology=ontology, number_of_frames=60)
    assert a.label_hash != b.label_hash and a.data_hash != b.data_hash
    assert not set(a.to_encord_dict()["object_answers"]) & set(b.to_encord_dict()["object_answers"])
    assert video_row(0, ontology=ontology, number_of_frames=60).to_encord_dict() == a.to_encord_dict()


def test_committed_sample_export_is_current(export):
    assert json.loads((EXAMPLES / "sample_export.json").read_text()) == json.loads(json.dumps(export))
    assert (EXAMPLES / "sample_export.json").stat().st_size < 2_000_000


def test_make_sample_export_script_writes_the_same_files(tmp_path):
    subprocess.run([sys.executable, str(EXAMPLES / "make_sample_export.py"), str(tmp_path)], check=True,
                   capture_output=True)
    for name in ("sample_export.json", "ontology.json"):
        assert (tmp_path / name).read_bytes() == (EXAMPLES / name).read_bytes()


# --------------------------------------------------------------------------- SDK round trip and counts

def test_video_counts_match_the_spans(video_dict, ontology):
    spans = video_spans(250)
    counts = sdk_counts(video_dict, ontology)
    tracks = ("car_a", "car_b", "bus", "road", "lane", "light", "person", "wheel", "sign", "sky")
    assert counts.object_instances == len(tracks)
    assert counts.object_annotations == sum(len(span_frames(spans[key])) for key in tracks)
    expected_per_frame = {}
    for key in tracks:
        for frame in span_frames(spans[key]):
            expected_per_frame[frame] = expected_per_frame.get(frame, 0) + 1
    assert counts.annotations_per_frame == expected_per_frame
    assert counts.annotations_per_frame[0] == 4  # car_a, road, lane, sky
    assert counts.classification_instances == 4
    assert counts.classification_frame_count == sum(
        len(span_frames(spans[key])) for key in ("weather_sunny", "weather_rain", "scene_tags", "notes"))


def test_export_round_trips_through_the_sdk_to_the_same_counts(ontology, export):
    ontology_dict = json.loads((EXAMPLES / "ontology.json").read_text())
    for row, label_dict in zip(sample_rows(ontology=ontology), export):
        assert sdk_counts(json.loads(json.dumps(label_dict)), ontology_dict) == row_counts(row), row.data_title


def test_counts_by_branch(export, ontology):
    totals = counts_by_branch(export, ontology)
    assert list(totals) == sorted(totals) and "main" in totals
    assert totals["main"].label_rows == 8 and sum(t.label_rows for t in totals.values()) == 10
    first, second = (annotator_branch(annotator_email(i)) for i in (1, 2))
    assert (totals[first].object_instances, totals[second].object_instances) == (10, 8)
    consensus_main = sdk_counts(export[7], ontology)
    assert consensus_main.branch_name == "main" and export[7]["data_hash"] == export[8]["data_hash"]
    # annotator 1 chose Blue: no nested Damage answer (two checklist options) -> two answer rows fewer
    assert totals[first].static_answer_rows == consensus_main.static_answer_rows - 2


def test_metadata_items_load_as_sdk_metadata(ontology):
    from encord.orm.label_row import LabelRowMetadata

    for row in sample_rows(ontology=ontology):
        item = metadata_item(row)
        metadata = LabelRowMetadata.from_dict(json.loads(json.dumps(item)))
        assert (metadata.label_hash, metadata.branch_name, metadata.data_hash) == (
            row.label_hash, row.branch_name, row.data_hash)
        assert metadata.number_of_frames == row.number_of_frames
    video_item = metadata_item(video_row(0, ontology=ontology))
    assert (video_item["data_type"], video_item["number_of_frames"], video_item["frames_per_second"]) == (
        "VIDEO", 250, 25.0)


@pytest.mark.parametrize("build, make_ontology, space_type", [
    (layered_image_row, build_ontology, "image"),
    (lambda seed, ontology: series_row(seed, root_space=True, ontology=ontology), range_ontology, "time_series"),
], ids=["layered image", "series in its own space"])
def test_a_row_with_its_own_space_reads_back_through_its_metadata_item(build, make_ontology, space_type):
    """A listing item of a row with a root space lets the SDK open that space and read its labels back."""
    from encord.objects import LabelRowV2
    from encord.orm.label_row import LabelRowMetadata

    ontology = make_ontology()
    row = build(1, ontology=ontology)
    item = metadata_item(row)
    assert "labels" not in item["spaces"][ROOT_SPACE_ID]
    assert item["spaces"][ROOT_SPACE_ID]["root_info"] == {"file_name": row.data_title}
    read = LabelRowV2(LabelRowMetadata.from_dict(json.loads(json.dumps(item))), None, OfflineOntology(ontology))
    read.from_labels_dict(json.loads(json.dumps(row.to_encord_dict())))
    hashes = [i.object_hash for i in read.get_space(id=ROOT_SPACE_ID, type_=space_type).get_object_instances()]
    assert hashes == [i.object_hash for i in row.get_space(id=ROOT_SPACE_ID, type_=space_type).get_object_instances()] and hashes
