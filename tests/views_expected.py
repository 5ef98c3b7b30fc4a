"""Expected view contents computed in plain Python from label-row dicts (never from the views' SQL).

Used by tests/test_views*.py. Rules applied here, written from Encord's format and the SDK's COCO
exporter, not from sql/: pixel x, w = fraction * width; y, h = fraction * height; frame size is the
img_group image's own, the DICOM slice's metadata, else the data unit's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from examples import sdk_sample
from examples.sdk_sample import build_ontology

GEOMETRY_KEY = {
    "bounding_box": "boundingBox", "rotatable_bounding_box": "rotatableBoundingBox", "polygon": "polygon",
    "polyline": "polyline", "point": "point", "skeleton": "skeleton", "bitmask": "bitmask", "circle": "circle",
    "ellipse": "ellipse",
}
DICOM_SLICE_SIZES = {6: (256, 300), 8: (640, 480)}  # slices whose metadata differs from the series size


def sample_rows() -> list[dict[str, Any]]:
    """video, image, img_group (3 sizes), DICOM with per-slice sizes, consensus (main + 2 branches)."""
    ontology = build_ontology()
    dicom = sdk_sample.server_label_dict(sdk_sample.dicom_row(0, ontology=ontology))
    unit = next(iter(dicom["data_units"].values()))
    for index, (width, height) in DICOM_SLICE_SIZES.items():
        unit["labels"][str(index)]["metadata"].update(width=width, height=height)
    return [
        sdk_sample.video_row(0, ontology=ontology).to_encord_dict(),
        sdk_sample.image_row(0, ontology=ontology).to_encord_dict(),
        sdk_sample.img_group_row(0, ontology=ontology).to_encord_dict(),
        dicom,
        *(row.to_encord_dict() for row in sdk_sample.consensus_rows(0, ontology=ontology, annotators=2)),
    ]


def write_sample(directory: Path) -> tuple[Path, Path, list[dict[str, Any]], dict[str, Any]]:
    rows = sample_rows()
    ontology = build_ontology().to_dict()
    export, ontology_path = directory / "export.json", directory / "ontology.json"
    export.write_text(json.dumps(rows))
    ontology_path.write_text(json.dumps(ontology))
    return export, ontology_path, rows, ontology


def frames_of(row: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any], int, int, dict[str, Any]]]:
    """(frame, data unit, width, height, frame labels) for every labels entry of the row."""
    for unit in row["data_units"].values():
        labels = unit.get("labels") or {}
        if row["data_type"] in ("image", "img_group"):
            yield int(unit.get("data_sequence", 0)), unit, unit["width"], unit["height"], labels
            continue
        for key, entry in labels.items():
            meta = entry.get("metadata") or {}
            yield int(key), unit, meta.get("width") or unit["width"], meta.get("height") or unit["height"], entry


def object_frames(row: dict[str, Any]) -> Iterator[tuple[int, dict, int, int, dict]]:
    for frame, unit, width, height, entry in frames_of(row):
        for obj in entry.get("objects") or []:
            yield frame, unit, width, height, obj


def expected_pixels(row: dict[str, Any]) -> dict[tuple, dict[str, float]]:
    """(label_hash, object_hash, frame) -> the pixel values object_frames_px should hold."""
    expected = {}
    for frame, _unit, width, height, obj in object_frames(row):
        geometry = obj[GEOMETRY_KEY[obj["shape"]]]
        values: dict[str, float] = {"width": width, "height": height}
        if obj["shape"] in ("bounding_box", "rotatable_bounding_box"):
            x, y, w, h = (geometry[k] for k in "xywh")
            values.update(x_px=x * width, y_px=y * height, w_px=w * width, h_px=h * height,
                          x_max_px=(x + w) * width, y_max_px=(y + h) * height)
            if obj["shape"] == "rotatable_bounding_box":
                values["theta"] = geometry["theta"]
        elif obj["shape"] == "point":
            values.update(x_px=geometry["0"]["x"] * width, y_px=geometry["0"]["y"] * height)
        elif obj["shape"] == "circle":
            values.update(x_px=geometry["x"] * width, y_px=geometry["y"] * height, rx_px=geometry["r"] * width,
                          ry_px=geometry["r"] * geometry.get("stretch", 1.0) * width)
        elif obj["shape"] == "ellipse":
            values.update(x_px=geometry["x"] * width, y_px=geometry["y"] * height, rx_px=geometry["rx"] * width,
                          ry_px=geometry["ry"] * height)
        elif obj["shape"] == "bitmask":
            values.update(x_px=geometry["left"], y_px=geometry["top"], w_px=geometry["width"],
                          h_px=geometry["height"])
        expected[(row["label_hash"], obj["objectHash"], frame)] = values
    return expected


def expected_vertices(row: dict[str, Any]) -> dict[tuple, tuple[float, float]]:
    """(label_hash, object_hash, frame, polygon, ring, vertex) -> (x_px, y_px)."""
    expected = {}
    for frame, _unit, width, height, obj in object_frames(row):
        shape = obj["shape"]
        if shape == "polygon":
            polygons = obj.get("polygons") or [[[c for i in sorted(obj["polygon"], key=int)
                                                   for c in (obj["polygon"][i]["x"], obj["polygon"][i]["y"])]]]
            for p, polygon in enumerate(polygons):
                for r, ring in enumerate(polygon):
                    for v in range(len(ring) // 2):
                        key = (row["label_hash"], obj["objectHash"], frame, p, r, v)
                        expected[key] = (ring[2 * v] * width, ring[2 * v + 1] * height)
        elif shape in ("polyline", "point", "skeleton"):
            vertices = obj[GEOMETRY_KEY[shape]]
            for v, index in enumerate(sorted(vertices, key=int)):
                key = (row["label_hash"], obj["objectHash"], frame, 0, 0, v)
                expected[key] = (vertices[index]["x"] * width, vertices[index]["y"] * height)
    return expected


def classification_frames(row: dict[str, Any]) -> set[tuple[str, int]]:
    """(classification_hash, frame): the union of `range` and frame-keyed entries."""
    found = set()
    for classification_hash, answer in (row.get("classification_answers") or {}).items():
        for start, end in answer.get("range") or []:
            found.update((classification_hash, frame) for frame in range(start, end + 1))
    for frame, _unit, _w, _h, entry in frames_of(row):
        found.update((c["classificationHash"], frame) for c in entry.get("classifications") or [])
    return found


def _answers(entry: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    """(attribute featureHash, option featureHash or None, printable answer) for one answer entry."""
    answers = entry["answers"]
    if isinstance(answers, list):
        return [(entry["featureHash"], option["featureHash"], option["name"]) for option in answers]
    if isinstance(answers, float) and answers.is_integer():
        answers = int(answers)
    return [(entry["featureHash"], None, str(answers))]


def object_answers_on(row: dict[str, Any], object_hash: str, frame: int) -> set[tuple]:
    """Attribute answers of an object holding on `frame`: every static one, dynamic ones by range."""
    found = set()
    for entry in (row.get("object_answers") or {}).get(object_hash, {}).get("classifications", []):
        found.update(_answers(entry))
    for entry in (row.get("object_actions") or {}).get(object_hash, {}).get("actions", []):
        if any(start <= frame <= end for start, end in entry.get("range") or []):
            found.update(_answers(entry))
    return found


def classification_answers_of(row: dict[str, Any], classification_hash: str) -> set[tuple]:
    found = set()
    for entry in row["classification_answers"][classification_hash].get("classifications", []):
        found.update(_answers(entry))
    return found


def labels_on(row: dict[str, Any], frames: set[int]) -> set[tuple[int, str, str]]:
    """(frame, 'object'|'classification', hash) present on the given frames."""
    found = {(frame, "object", obj["objectHash"]) for frame, _u, _w, _h, obj in object_frames(row) if frame in frames}
    found |= {(frame, "classification", h) for h, frame in classification_frames(row) if frame in frames}
    return found


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


def boxes_by_frame_feature(row: dict[str, Any]) -> dict[tuple[int, str], list[tuple[float, ...]]]:
    boxes: dict[tuple[int, str], list] = {}
    for frame, _u, _w, _h, obj in object_frames(row):
        if obj["shape"] == "bounding_box":
            box = obj["boundingBox"]
            boxes.setdefault((frame, obj["featureHash"]), []).append((box["x"], box["y"], box["w"], box["h"]))
    return boxes
