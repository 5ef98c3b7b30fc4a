"""Realistic Encord label rows, built offline with the real SDK (encord 0.1.211).

Pure functions, no I/O. Every builder returns a ``LabelRowV2``; ``row.to_encord_dict()`` gives the
label-row dict that Encord's "Export labels as JSON" script writes. ``seed`` selects a distinct
row deterministically (fresh label/data/object hashes; videos also shift their geometry);
explicit hashes, titles and branch names can be passed instead.

    build_ontology()            the ontology (see examples/sdk_ontology.py)
    video_row(seed)             1280x720 @ 25 fps, 250 frames: tracked objects, dynamic answers
                                (examples/sdk_video.py; video_spans(n) gives its frame ranges)
    image_row(seed)             one 1920x1080 image with every shape
    layered_image_row(seed)     a multilayer image: a car and the weather on its own (root) space,
                                a parked car in its data unit
    img_group_row(seed)         three images of different sizes, labels on images 0 and 2
    dicom_row(seed)             20 slices with per-slice DICOM metadata (width/height)
    consensus_rows(seed)        one video on 'main' plus annotator branches 'encord-<hash>'
    sample_rows(seed)           the LabelRowV2 objects behind sample_export
    sample_export(seed)         a small export: list of to_encord_dict() dicts
    server_label_dict(row)      to_encord_dict() plus what the server also sends for DICOM
    metadata_item(row)          the row's list_label_rows_v2 metadata entry (for an emulator)
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Dict, List, Optional, Sequence, Tuple

from encord.objects import LabelRowV2, OntologyStructure
from encord.objects.classification_instance import ClassificationInstance
from encord.objects.constants import ROOT_SPACE_ID

from examples import sdk_ontology as ont
from examples.sdk_geometry import (
    lane_polyline, light_point, moving_box, pose, rectangle_mask, road_polygon, sign_ellipse,
    turning_box, two_part_polygon, wheel_circle,
)
from examples.sdk_ontology import build_ontology
from examples.sdk_rows import (
    MEDIA_ROOT, Labeller, Media, annotator_branch, annotator_email, empty_label_row, listed_spaces, row_identity,
    short_hash, stable_uuid,
)
from examples.sdk_video import VIDEO_TRACKS, video_row, video_spans

__all__ = [
    "build_ontology", "video_row", "image_row", "layered_image_row", "img_group_row", "dicom_row", "consensus_rows",
    "sample_export", "sample_rows", "server_label_dict", "video_spans", "object_hash_for",
    "classification_hash_for", "metadata_item", "CONSENSUS_VARIATIONS", "IMG_GROUP_SIZES", "DICOM_SLICES",
    "VIDEO_TRACKS",
]

IMG_GROUP_SIZES: Tuple[Tuple[int, int], ...] = ((1920, 1080), (1024, 768), (800, 1280))
DICOM_SLICES = 20


def _labeller(row: LabelRowV2, ids, ontology: OntologyStructure) -> Labeller:
    return Labeller(row=row, ids=ids, ontology=ontology)


# --------------------------------------------------------------------------- image

def image_media(data_hash: str, title: str, width: int, height: int) -> Media:
    link = f"{MEDIA_ROOT}/{title}"
    unit = {"data_hash": data_hash, "data_title": title, "data_link": link, "data_type": "image/jpeg",
            "data_sequence": 0, "width": width, "height": height, "labels": {}}
    return Media("image", 1, {data_hash: unit}, file_type="image/jpeg", data_link=link,
                 width=width, height=height)


def image_row(
    seed: int = 0,
    *,
    ontology: Optional[OntologyStructure] = None,
    width: int = 1920,
    height: int = 1080,
    branch_name: str = "main",
    data_hash: Optional[str] = None,
    label_hash: Optional[str] = None,
    data_title: Optional[str] = None,
) -> LabelRowV2:
    """One image carrying every shape (incl. a polygon with a hole and a two-part polygon) and
    the three classifications."""
    ontology = ontology or build_ontology()
    ids = row_identity("image", seed, extension="jpg", branch_name=branch_name,
                       data_hash=data_hash, label_hash=label_hash, data_title=data_title)
    labeller = _labeller(empty_label_row(ontology, ids, image_media(ids.data_hash, ids.data_title, width, height)),
                         ids, ontology)
    _label_image_objects(labeller, width, height)
    _label_image_classifications(labeller)
    return labeller.row


def layered_image_row(seed: int = 0, *, ontology: Optional[OntologyStructure] = None) -> LabelRowV2:
    """A multilayer image: its listing gives it a space of its own (id "root"), and what is put on that
    space the SDK writes to spaces.root.labels["0"], not to the data unit's labels (where the label
    row's own add_object_instance still puts the parked car)."""
    ontology = ontology or build_ontology()
    ids = row_identity("layered", seed, extension="png")
    root = {"space_type": "image", "width": 1024, "height": 768, "labels": {}, "root_info": {"file_name": ids.data_title}}
    media = replace(image_media(ids.data_hash, ids.data_title, 1024, 768), spaces={ROOT_SPACE_ID: root})
    labeller = _labeller(empty_label_row(ontology, ids, media), ids, ontology)
    space = labeller.row.get_space(id=ROOT_SPACE_ID, type_="image")
    car = labeller.new_object(ont.CAR, "car")
    space.put_object_instance(car, moving_box(0.0, x0=0.2, x1=0.2, y=0.4, w=0.3, h=0.2), confidence=0.9,
                              manual_annotation=True, **labeller.stamp(1))
    car.set_answer(labeller.option(ont.CAR_COLOR_BLUE), attribute=labeller.attribute(ont.CAR_COLOR))
    weather = ClassificationInstance(ontology.get_child_by_hash(ont.WEATHER),
                                     classification_hash=short_hash(ids.label_hash, "classification", "weather"))
    space.put_classification_instance(weather, manual_annotation=True, **labeller.stamp(2))
    weather.set_answer(labeller.option(ont.WEATHER_RAIN), attribute=labeller.attribute(ont.WEATHER_ATTRIBUTE))
    labeller.add(_place_one(labeller, ont.CAR, "parked car", moving_box(0.0, x0=0.6, x1=0.6, y=0.5, w=0.2, h=0.3)))
    return labeller.row


def _place_one(labeller: Labeller, feature_hash: str, key: str, coordinates, frame: int = 0):
    instance = labeller.new_object(feature_hash, key)
    labeller.place(instance, frame, coordinates)
    return instance


def _label_image_objects(labeller: Labeller, width: int, height: int) -> None:
    car = _place_one(labeller, ont.CAR, "car", moving_box(0.0, x0=0.1, x1=0.1, y=0.5, w=0.2, h=0.15))
    labeller.answer(car, ont.CAR_COLOR, ont.CAR_COLOR_RED)
    labeller.answer(car, ont.CAR_DAMAGE, [ont.CAR_DAMAGE_DENT])
    labeller.answer(car, ont.CAR_PLATE, "B-XY-77")
    labeller.answer(car, ont.CAR_MOTION, ont.CAR_MOTION_PARKED, frames=[(0, 0)])
    bus = _place_one(labeller, ont.BUS, "bus", turning_box(0.5, x=0.4, y=0.3, w=0.3, h=0.2, turn_degrees=20))
    road = _place_one(labeller, ont.ROAD, "road", road_polygon(1.0, with_hole=True))
    labeller.answer(road, ont.ROAD_SURFACE, ont.ROAD_SURFACE_GRAVEL)
    shoulders = _place_one(labeller, ont.ROAD, "shoulders", two_part_polygon())
    lane = _place_one(labeller, ont.LANE, "lane", lane_polyline(0.25, vertices=5))
    light = _place_one(labeller, ont.TRAFFIC_LIGHT, "light", light_point(0.0))
    labeller.answer(light, ont.TRAFFIC_LIGHT_STATE, ont.TRAFFIC_LIGHT_GREEN, frames=[(0, 0)])
    template = labeller.ontology.skeleton_templates["Person pose"]
    person = _place_one(labeller, ont.PERSON, "person", pose(template, 0.25, x=0.7, y=0.35))
    sky = _place_one(labeller, ont.SKY, "sky", rectangle_mask(width, height, (0.0, 0.0, 1.0, 0.35)))
    wheel = _place_one(labeller, ont.WHEEL, "wheel", wheel_circle(0.5))
    sign = _place_one(labeller, ont.SIGN, "sign", sign_ellipse(0.5))
    for instance in (car, bus, road, shoulders, lane, light, person, sky, wheel, sign):
        labeller.add(instance)


def _label_image_classifications(labeller: Labeller) -> None:
    labeller.classify(ont.WEATHER, "weather", [(0, 0)],
                      [(ont.WEATHER_ATTRIBUTE, ont.WEATHER_RAIN), (ont.WEATHER_INTENSITY, ont.WEATHER_INTENSITY_LIGHT)])
    labeller.classify(ont.SCENE_TAGS, "scene_tags", [(0, 0)],
                      [(ont.SCENE_TAGS_ATTRIBUTE, [ont.SCENE_TAG_URBAN, ont.SCENE_TAG_HIGHWAY])])
    labeller.classify(ont.NOTES, "notes", [(0, 0)], [(ont.NOTES_ATTRIBUTE, "wet road, reflections")])


# --------------------------------------------------------------------------- image group

def img_group_media(seed: int, group_title: str, sizes: Sequence[Tuple[int, int]]) -> Media:
    units = {}
    for index, (width, height) in enumerate(sizes):
        image_hash = stable_uuid("img_group image", seed, index)
        title = f"{group_title}_{index:02d}.jpg"
        units[image_hash] = {"data_hash": image_hash, "data_title": title, "data_link": f"{MEDIA_ROOT}/{title}",
                             "data_type": "image/jpeg", "data_sequence": str(index),
                             "width": width, "height": height, "labels": {}}
    return Media("img_group", len(sizes), units)


def img_group_row(
    seed: int = 0,
    *,
    ontology: Optional[OntologyStructure] = None,
    sizes: Sequence[Tuple[int, int]] = IMG_GROUP_SIZES,
    branch_name: str = "main",
    data_hash: Optional[str] = None,
    label_hash: Optional[str] = None,
) -> LabelRowV2:
    """An image group of images with different sizes; labels on images 0 and 2, none on 1.
    The Car is one object instance seen on images 0 and 2."""
    ontology = ontology or build_ontology()
    ids = row_identity("img_group", seed, extension="", branch_name=branch_name,
                       data_hash=data_hash, label_hash=label_hash, data_title=f"img_group_{seed:04d}")
    media = img_group_media(seed, ids.data_title, sizes)
    labeller = _labeller(empty_label_row(ontology, ids, media), ids, ontology)
    last = len(sizes) - 1
    car = labeller.new_object(ont.CAR, "car")
    labeller.place(car, 0, moving_box(0.0, x0=0.2, x1=0.2, y=0.4, w=0.3, h=0.2))
    labeller.place(car, last, moving_box(1.0, x0=0.2, x1=0.5, y=0.45, w=0.3, h=0.2))
    labeller.answer(car, ont.CAR_COLOR, ont.CAR_COLOR_OTHER)
    labeller.answer(car, ont.CAR_MOTION, ont.CAR_MOTION_MOVING, frames=[(0, 0)])
    labeller.answer(car, ont.CAR_MOTION, ont.CAR_MOTION_PARKED, frames=[(last, last)])
    labeller.add(car)
    last_width, last_height = sizes[last]
    labeller.add(_place_one(labeller, ont.ROAD, "road", road_polygon(0.5), frame=last))
    labeller.add(_place_one(labeller, ont.SKY, "sky", rectangle_mask(last_width, last_height, (0.0, 0.0, 1.0, 0.25)),
                            frame=last))
    labeller.classify(ont.WEATHER, "weather", [(0, 0), (last, last)], [(ont.WEATHER_ATTRIBUTE, ont.WEATHER_FOG)])
    return labeller.row


# --------------------------------------------------------------------------- DICOM

def dicom_slice_metadata(seed: int, index: int, width: int, height: int) -> Dict[str, Any]:
    """One slice's metadata as the server sends it (labels[frame]["metadata"])."""
    return {"dicom_instance_uid": f"1.2.826.0.1.3680043.8.498.{seed}.{index + 1}",
            "multiframe_frame_number": None,
            "file_uri": f"encord-sample-dicoms/series_{seed:04d}/slice_{index:03d}.dcm",
            "width": width, "height": height}


def dicom_media(seed: int, data_hash: str, title: str, slices: int, width: int, height: int) -> Media:
    labels = {str(i): {"objects": [], "classifications": [], "metadata": dicom_slice_metadata(seed, i, width, height)}
              for i in range(slices)}
    unit = {"data_hash": data_hash, "data_title": title, "data_type": "application/dicom", "data_sequence": 0,
            "width": width, "height": height, "labels": labels,
            "metadata": {"patient_id": stable_uuid("patient", seed).replace("-", ""),
                         "study_uid": f"1.2.826.0.1.3680043.8.498.{seed}.100",
                         "series_uid": f"1.2.826.0.1.3680043.8.498.{seed}.200"},
            "data_links": [labels[str(i)]["metadata"]["file_uri"] for i in range(slices)]}
    return Media("dicom", slices, {data_hash: unit}, file_type="application/dicom", width=width, height=height)


def dicom_row(
    seed: int = 0,
    *,
    ontology: Optional[OntologyStructure] = None,
    slices: int = DICOM_SLICES,
    width: int = 512,
    height: int = 512,
    branch_name: str = "main",
    data_hash: Optional[str] = None,
    label_hash: Optional[str] = None,
) -> LabelRowV2:
    """A CT series: a lesion outlined on slices 5..9, an organ mask on slices 8..10, a note
    over slices 0..slices-1. The SDK holds each slice's DICOMSliceMetadata (width/height)."""
    ontology = ontology or build_ontology()
    ids = row_identity("dicom", seed, extension="", branch_name=branch_name,
                       data_hash=data_hash, label_hash=label_hash, data_title=f"ct_series_{seed:04d}")
    labeller = _labeller(empty_label_row(ontology, ids, dicom_media(seed, ids.data_hash, ids.data_title,
                                                                    slices, width, height)), ids, ontology)
    lesion = labeller.new_object(ont.LESION, "lesion")
    labeller.track(lesion, 5, 9, lambda t: road_polygon(t))
    labeller.answer(lesion, ont.LESION_MALIGNANCY, ont.LESION_BENIGN)
    labeller.add(lesion)
    organ = labeller.new_object(ont.ORGAN, "organ")
    for index in (8, 9, 10):
        labeller.place(organ, index, rectangle_mask(width, height, (0.3, 0.3, 0.2 + 0.02 * index, 0.25)))
    labeller.add(organ)
    labeller.classify(ont.NOTES, "notes", [(0, slices - 1)], [(ont.NOTES_ATTRIBUTE, "contrast enhanced")])
    return labeller.row


def server_label_dict(row: LabelRowV2) -> Dict[str, Any]:
    """``to_encord_dict()`` plus the DICOM fields the server sends but the SDK does not write back:
    per-slice ``labels[frame]["metadata"]`` (every slice, labelled or not) and the series
    ``metadata`` of the data unit. Other data types: exactly ``to_encord_dict()``."""
    label_dict = row.to_encord_dict()
    if label_dict["data_type"] != "dicom":
        return label_dict
    unit = label_dict["data_units"][row.data_hash]
    for frame in range(row.number_of_frames):
        slice_metadata = row.get_frame_view(frame).metadata
        if slice_metadata is None:
            continue
        entry = unit["labels"].setdefault(str(frame), {"objects": [], "classifications": []})
        entry["metadata"] = slice_metadata.to_dict(by_alias=False, exclude_none=False)
    if row.metadata is not None:
        unit["metadata"] = row.metadata.to_dict(by_alias=False, exclude_none=False)
    unit["labels"] = dict(sorted(unit["labels"].items(), key=lambda item: int(item[0])))
    return label_dict


# --------------------------------------------------------------------------- consensus

# How each consensus annotator's labels differ from main's (annotator 1, 2, ...).
CONSENSUS_VARIATIONS: Tuple[Dict[str, Any], ...] = (
    {"car_a_color": ont.CAR_COLOR_BLUE},  # disagrees on a color: no nested Damage answer either
    {"omit": ("wheel", "sign")},          # missed two objects
)


def consensus_rows(
    seed: int = 0,
    *,
    ontology: Optional[OntologyStructure] = None,
    annotators: int = 2,
    number_of_frames: int = 60,
) -> List[LabelRowV2]:
    """One video labelled on 'main' (by the reviewer) and by `annotators` annotators on their own
    branches ('encord-<hash>'): same data_hash and title, own label_hash and object hashes, slightly
    shifted geometry, and the differences listed in CONSENSUS_VARIATIONS."""
    ontology = ontology or build_ontology()
    shared = dict(ontology=ontology, number_of_frames=number_of_frames, data_title=f"consensus_{seed:04d}.mp4",
                  data_hash=stable_uuid("data", "consensus video", seed))
    rows = [video_row(seed, label_hash=stable_uuid("label", "consensus", seed, "main"),
                      annotator="reviewer@example.com", **shared)]
    for index in range(1, annotators + 1):
        email = annotator_email(index)
        branch = annotator_branch(email)
        variation = CONSENSUS_VARIATIONS[(index - 1) % len(CONSENSUS_VARIATIONS)]
        rows.append(video_row(seed, branch_name=branch, annotator=email,
                              label_hash=stable_uuid("label", "consensus", seed, branch), **variation, **shared))
    return rows


# --------------------------------------------------------------------------- export

def sample_rows(seed: int = 0, ontology: Optional[OntologyStructure] = None) -> List[LabelRowV2]:
    """The rows of the sample export: 3 videos, 2 images, 1 image group, 1 DICOM series and a
    consensus video on main + 2 annotator branches (10 label rows)."""
    ontology = ontology or build_ontology()
    base = seed * 100
    return [
        video_row(base + 0, ontology=ontology),
        video_row(base + 1, ontology=ontology, number_of_frames=120),
        video_row(base + 2, ontology=ontology, number_of_frames=90, fps=30.0, width=1920, height=1080),
        image_row(base + 0, ontology=ontology),
        image_row(base + 1, ontology=ontology, width=1280, height=960),
        img_group_row(base + 0, ontology=ontology),
        dicom_row(base + 0, ontology=ontology),
        *consensus_rows(base + 0, ontology=ontology, annotators=2),
    ]


def sample_export(seed: int = 0, ontology: Optional[OntologyStructure] = None) -> List[Dict[str, Any]]:
    """What the docs' "Export labels as JSON" script would write: [row.to_encord_dict(), ...]."""
    return [row.to_encord_dict() for row in sample_rows(seed, ontology)]


def metadata_item(row: LabelRowV2) -> Dict[str, Any]:
    """The row's entry in a ``list_label_rows_v2`` listing (shape of samples/label_row_metadata_*.json),
    for an API emulator serving these rows."""
    label_dict = row.to_encord_dict()
    return {
        "label_hash": row.label_hash, "branch_name": row.branch_name,
        "created_at": row.created_at.isoformat(), "last_edited_at": row.last_edited_at.isoformat(),
        "data_hash": row.data_hash, "dataset_hash": row.dataset_hash, "dataset_title": row.dataset_title,
        "data_title": row.data_title, "data_type": row.data_type.to_upper_case_string(),
        "data_link": row.data_link, "label_status": label_dict["label_status"],
        "annotation_task_status": label_dict["annotation_task_status"], "is_shadow_data": row.is_shadow_data,
        "number_of_frames": row.number_of_frames, "frames_per_second": row.fps, "duration": row.duration,
        "width": row.width, "height": row.height, "file_type": row.file_type,
        "spaces": listed_spaces(label_dict),
    }


def object_hash_for(row: LabelRowV2, key: str) -> str:
    """The objectHash the builders gave the object they call `key` (e.g. 'car_a')."""
    return short_hash(row.label_hash, "object", key)


def classification_hash_for(row: LabelRowV2, key: str) -> str:
    return short_hash(row.label_hash, "classification", key)
