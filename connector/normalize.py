"""Label-row dict (the `LabelRowV2.to_encord_dict()` shape) -> rows for each warehouse table.

Pure: dicts in, tuples out, no database, HTTP or ffmpeg code. Each table's tuples follow
TABLE_COLUMNS; a test checks that these match connector/schema.py. A row that cannot be
read raises LabelRowError naming the label row and the field, and yields nothing. The raw
archive (raw_label_rows) is not made here: it is the row's JSON as the source delivered it,
staged where the batch is written (stage.stage_archive).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import datetime
from math import isfinite
from typing import Any, Iterable, Iterator

import orjson

from connector.ontology import OntologyIndex
from connector.timestamps import parse_timestamp

_AUDIT = ("created_by", "created_at", "last_edited_by", "last_edited_at")

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "data_units": (
        "project_hash", "data_hash", "data_title", "data_type", "file_type", "width", "height", "fps",
        "duration_s", "frame_count", "dataset_hash", "dataset_title", "data_link",
    ),
    "branches": (
        "label_hash", "project_hash", "data_hash", "branch_name", "label_status", "annotation_task_status",
        "workflow_stage", "workflow_stage_uuid", "created_at", "last_edited_at", "synced_at", "deleted_at",
        "content_sha256", "listing_sha256",
    ),
    "frames": ("label_hash", "frame", "data_hash", "data_title", "width", "height", "timestamp_s", "data_link"),
    "objects": (
        "label_hash", "object_hash", "feature_hash", "name", "value", "color", "shape", "object_number",
        "first_frame", "last_frame", "frame_count", *_AUDIT,
    ),
    "object_frames": (
        "label_hash", "object_hash", "frame", "shape", "x", "y", "w", "h", "theta", "points", "rings", "geometry",
        "confidence", "manual_annotation", "event", "is_deleted", *_AUDIT, "problems",
    ),
    "classifications": (
        "label_hash", "classification_hash", "feature_hash", "name", "answer", "confidence", "manual_annotation",
        *_AUDIT, "problems",
    ),
    "classification_frames": ("label_hash", "classification_hash", "frame"),
    "attributes": (
        "label_hash", "owner_hash", "answer_seq", "owner_kind", "attribute_hash", "attribute_name", "attribute_type",
        "option_hash", "option_name", "option_value", "text_value", "number_value", "dynamic", "start_frame",
        "end_frame", "parent_attribute_hash", "parent_option_hash", "manual_annotation", "track_hash",
    ),
    "annotation_ranges": ("label_hash", "owner_hash", "range_seq", "owner_kind", "range_start", "range_end", "html_range"),
}

FRAME_KEYED_TYPES = {"video", "dicom", "nifti", "pdf"}
SINGLE_FRAME_TYPES = {"image", "img_group"}
RANGE_TYPES = {"audio", "plain_text", "time_series"}
"""Labeled by ranges, not frames (no labels in the data units): audio in milliseconds, plain text in
characters, HTML as spans between nodes (xpath and offset), time series in the units of its file's
timestamp column. Objects are in object_answers."""

ROOT_SPACE = "root"
"""The SDK's id of a label row's own space (encord.objects.constants.ROOT_SPACE_ID): a multilayer
image keeps its labels in it, a time series its objects' ranges. Other spaces are the children of
groups and scenes, which are not loaded."""

# shape -> the key of a frame object that holds its geometry
GEOMETRY_KEYS = {
    "bounding_box": "boundingBox",
    "rotatable_bounding_box": "rotatableBoundingBox",
    "polygon": "polygon",
    "polyline": "polyline",
    "point": "point",
    "skeleton": "skeleton",
    "bitmask": "bitmask",
    "circle": "circle",
    "ellipse": "ellipse",
    "cuboid_2d": "cuboid_2d",
    "cuboid": "cuboid",
}


BOX_SHAPES = ("bounding_box", "rotatable_bounding_box")
VERTEX_SHAPES = ("polygon", "polyline", "point", "skeleton")

RANGE_FRAMES_WITHOUT_COUNT = 1_000_000
"""How many frames the classification ranges of a label row whose frame count is not known (no listing,
no duration and fps) may cover in all. Each frame of a range becomes a row, so a range written as
[0, 2147483647] for "the whole video" would take all of a sync's memory; with the count known, a
range is cut at the last frame instead."""


# JSON has no NaN or Infinity (orjson writes null, Postgres json refuses the tokens), so the raw
# archive spells them as these strings (sources.archive_json), and number() reads them back
# (rebuild equals the sync).
NON_FINITE_TEXT = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class LabelRowError(ValueError):
    """A label row that cannot be normalized; `field` is a path into the label-row dict."""

    def __init__(self, label_hash: str | None, field: str, reason: str, data_title: str | None = None):
        self.label_hash = label_hash
        self.field = field
        self.reason = reason
        self.data_title = data_title
        title = f" ({data_title})" if data_title else ""
        super().__init__(f"label row {label_hash or '?'}{title}: {field}: {reason}")


@dataclass(slots=True)
class _ObjectSeen:
    """An object instance while its frames are read: what the `objects` row is made of."""

    entry: dict
    """Its first frame entry: name, color, shape."""
    feature_hash: str
    first: int
    last: int
    count: int
    created: tuple
    """(created_by, created_at), the earliest."""
    edited: tuple
    """(last_edited_by, last_edited_at), the latest."""


@dataclass(frozen=True)
class RowContext:
    project_hash: str
    synced_at: datetime
    ontology: OntologyIndex = field(default_factory=OntologyIndex)
    metadata: dict[str, Any] | None = None  # the row's list_label_rows_v2 metadata, when the source has it
    content_sha256: str | None = None  # fingerprint of row + metadata; an unchanged row is not rewritten
    listing_sha256: str | None = None  # listing_fingerprint of the metadata; a changed listing fetches the row


# The metadata fields that normalize reads; the rest (signed links, priorities) would make
# every listing look like a change.
FINGERPRINT_METADATA = ("workflow_graph_node", "label_status", "annotation_task_status", "number_of_frames")
# What a listing says of a label row that its warehouse rows show: the fields normalize reads, and the
# titles the fetched row repeats. Any of them may change without an edit to the row's labels (a task
# approved, a video renamed), which leaves last_edited_at as it was.
LISTING_METADATA = (*FINGERPRINT_METADATA, "data_title", "dataset_title")
UNSETTLED = "fetched_within_its_edit_window"
"""Set in a fetched row's metadata when the fetch came so soon after its last edit that another save could still
carry the same edit time (sync_encord.marked_unsettled): its stored listing fingerprint then matches no listing."""


def content_fingerprint(row_json: bytes, metadata: dict[str, Any] | None, ontology: OntologyIndex) -> str:
    """A hash of everything a label row's warehouse rows are made from: its JSON, the listing fields
    normalize reads and the ontology."""
    relevant = {key: metadata.get(key) for key in FINGERPRINT_METADATA} if metadata else None
    context = orjson.dumps([relevant, ontology.fingerprint], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(row_json + b"\n" + context).hexdigest()


def listing_fingerprint(metadata: dict[str, Any] | None) -> str | None:
    """A hash of LISTING_METADATA (None without a listing: an export's rows), kept in branches.listing_sha256:
    an Encord sync fetches a row whose listing says otherwise again, though its labels were not edited."""
    if not metadata:
        return None
    listed = {key: metadata.get(key) for key in LISTING_METADATA}
    if metadata.get(UNSETTLED):
        listed[UNSETTLED] = True
    return hashlib.sha256(orjson.dumps(listed, option=orjson.OPT_SORT_KEYS)).hexdigest()


def normalize_label_row(row: dict[str, Any], context: RowContext) -> dict[str, list[tuple]]:
    """All warehouse rows of one label row, keyed by table name."""
    if not isinstance(row, dict):
        raise LabelRowError(None, "<row>", f"expected a JSON object, got {type(row).__name__}")
    normalizer = _RowNormalizer(row, context)
    try:
        return normalizer.run()
    except LabelRowError:
        raise
    except Exception as error:  # a shape normalize did not foresee quarantines the row, not the sync
        raise normalizer.fail("<row>", f"cannot read: {type(error).__name__}: {error}"[:300]) from error


class _RowNormalizer:
    def __init__(self, row: dict[str, Any], context: RowContext):
        self.row = row
        self.context = context
        label_hash = row.get("label_hash")
        self.label_hash = label_hash if isinstance(label_hash, str) else None  # else refused by run()
        self.tables: dict[str, list[tuple]] = {name: [] for name in TABLE_COLUMNS}
        self.frame_rows: dict[int, tuple] = {}
        self.objects: dict[str, _ObjectSeen] = {}
        self.object_frame_keys: set[tuple[str, int]] = set()
        self.classifications: dict[str, dict[str, Any]] = {}
        self.classification_frames: dict[str, set[int]] = {}
        self.classification_problems: dict[str, list[str]] = {}
        self.frames_without_count = 0
        self.range_seq: dict[str, int] = {}
        self.data_type = ""
        frames = (context.metadata or {}).get("number_of_frames")
        self.frame_limit = frames if isinstance(frames, int) and not isinstance(frames, bool) and frames > 0 else None

    def fail(self, field_path: str, reason: str) -> LabelRowError:
        title = self.row.get("data_title")
        return LabelRowError(self.label_hash, field_path, reason, title if isinstance(title, str) else None)

    def run(self) -> dict[str, list[tuple]]:
        if "label_hash" not in self.row and {"objects", "classifications"} <= self.row.keys():
            raise self.fail("label_hash", "missing: this is an ontology (OntologyStructure.to_dict()), not a label row")
        for key in ("label_hash", "data_hash", "data_type", "data_units"):
            if not self.row.get(key):
                raise self.fail(key, "missing")
        for key in ("label_hash", "data_hash"):  # keys of dicts and sets from here on
            if not isinstance(self.row[key], str):
                raise self.fail(key, _not_text(self.row[key]))
        if not isinstance(self.row["data_units"], dict):
            raise self.fail("data_units", "expected an object keyed by data hash")
        self.data_type = data_type = str(self.row["data_type"]).lower()
        if data_type not in FRAME_KEYED_TYPES | SINGLE_FRAME_TYPES | RANGE_TYPES:
            raise self.fail("data_type", f"unsupported data type {self.row['data_type']!r}")
        for data_hash, unit in self.row["data_units"].items():
            self.read_data_unit(data_type, data_hash, unit)
        self.read_spaces(data_type)
        if data_type in RANGE_TYPES:
            self.read_range_objects()
        self.read_classification_answers()
        self.emit_branch_and_data_unit(data_type)
        self.emit_objects()
        self.emit_classifications()
        self.emit_attributes()
        self.tables["frames"] = [self.frame_rows[frame] for frame in sorted(self.frame_rows)]
        return self.tables

    # ---- data units and frames

    def read_data_unit(self, data_type: str, data_hash: str, unit: Any) -> None:
        where = f"data_units.{data_hash}"
        if not isinstance(unit, dict):
            raise self.fail(where, "expected an object")
        labels = unit.get("labels") or {}
        if not isinstance(labels, dict):
            raise self.fail(f"{where}.labels", "expected an object")
        if data_type in RANGE_TYPES:
            if labels:
                raise self.fail(f"{where}.labels", f"expected none: {data_type} is labeled by ranges, in object_answers")
            return
        if data_type not in FRAME_KEYED_TYPES:
            self.frame_limit = None
        elif self.frame_limit is None and data_type == "video":  # no listing: the unit's duration x fps
            duration, fps = unit.get("data_duration"), unit.get("data_fps")
            if _finite_positive(duration) and _finite_positive(fps) and math.isfinite(duration * fps):
                self.frame_limit = round(duration * fps)
        if data_type in SINGLE_FRAME_TYPES:
            frame = self.to_frame(unit.get("data_sequence", 0), f"{where}.data_sequence")
            self.add_frame(frame, data_hash, unit, unit.get("width"), unit.get("height"), f"{where}.data_sequence",
                           with_link=True)
            self.read_frame_labels(labels, frame, f"{where}.labels")
            return
        for key, frame_labels in labels.items():
            try:
                self.read_frame(key, frame_labels, data_hash, unit)
            except LabelRowError as error:  # its field is relative to the frame: built only now
                raise self.fail(f"{where}.labels[{key!r}]{error.field}", error.reason) from None

    def read_frame(self, key: str, frame_labels: Any, data_hash: str, unit: dict) -> None:
        """One entry of a frame-keyed unit's labels; runs once per frame, so error fields are relative to it."""
        frame = self.to_frame(key, "")
        if not isinstance(frame_labels, dict):
            raise self.fail("", "expected an object")
        slice_meta = frame_labels.get("metadata") or {}
        if not isinstance(slice_meta, dict):
            raise self.fail(".metadata", "expected an object")
        width = slice_meta.get("width") or unit.get("width")
        height = slice_meta.get("height") or unit.get("height")
        self.add_frame(frame, data_hash, unit, width, height, "", with_link=False)
        self.read_frame_labels(frame_labels, frame, "")

    def read_spaces(self, data_type: str) -> None:
        """The labels a row keeps in `spaces` rather than in its data units: a multilayer image's root
        space holds the image's (labels["0"]). A space with labels anywhere else is refused: loading the
        row without them would drop them without a word."""
        for space_id, space in self.mapping("spaces", "space id").items():
            where = f"spaces.{space_id}"
            if not isinstance(space, dict):
                raise self.fail(where, "expected an object")
            labels = space.get("labels") or {}
            if not labels:
                continue
            if not (space_id == ROOT_SPACE and data_type == "image" and space.get("space_type") == "image"):
                raise self.fail(f"{where}.labels", f"labels in a {space.get('space_type')!r} space are not supported "
                                                   f"yet for {data_type} label rows")
            if not isinstance(labels, dict) or set(labels) != {"0"} or len(self.frame_rows) != 1:
                raise self.fail(f"{where}.labels", "expected {\"0\": labels} of the row's one image")
            self.read_frame_labels(labels["0"], next(iter(self.frame_rows)), f"{where}.labels.0")

    def add_frame(self, frame: int, data_hash: str, unit: dict, width: Any, height: Any, path: str,
                  with_link: bool) -> None:
        """The frames row of `frame`, which one data unit may have: two images of a group with one
        data_sequence would otherwise leave one frames row, the last, for the labels of both."""
        data_hash = unit.get("data_hash", data_hash)
        other = self.frame_rows.get(frame)
        if other is not None and other[2] != data_hash:
            raise self.fail(path, f"frame {frame} is data unit {other[2]}'s too: two data units of one label row "
                                  "cannot share a frame")
        fps = unit.get("data_fps")
        timestamp = frame / fps if isinstance(fps, (int, float)) and fps > 0 and not with_link else None
        size_path = f"data_units.{data_hash}"
        self.frame_rows[frame] = (
            self.label_hash, frame, data_hash, unit.get("data_title"), self.integer(width, size_path, "width"),
            self.integer(height, size_path, "height"), timestamp, unit.get("data_link") if with_link else None,
        )

    def read_frame_labels(self, labels: dict, frame: int, where: str) -> None:
        for index, obj in enumerate(self.answer_list(labels, "objects", where)):
            try:
                self.read_object(obj, frame)
            except LabelRowError as error:  # its field is relative to the object: built only now
                raise self.fail(f"{where}.objects[{index}]{error.field}", error.reason) from None
        for index, entry in enumerate(self.answer_list(labels, "classifications", where)):
            path = f"{where}.classifications[{index}]"
            if not isinstance(entry, dict):
                raise self.fail(path, "expected an object")
            classification_hash = self.text(entry, "classificationHash", path)
            self.classifications.setdefault(classification_hash, {}).setdefault("frame_entry", entry)
            self.classification_frames.setdefault(classification_hash, set()).add(frame)

    # ---- objects

    def read_object(self, obj: Any, frame: int) -> None:
        """One object in one frame; runs once per annotation, so error fields are relative to the
        object (read_frame_labels puts the whole path together)."""
        if not isinstance(obj, dict):
            raise self.fail("", "expected an object")
        object_hash, shape = obj.get("objectHash"), obj.get("shape")
        if not (type(object_hash) is str and object_hash and type(shape) is str and shape):  # text() names it
            self.text(obj, "objectHash", "")
            self.text(obj, "shape", "")
        if (object_hash, frame) in self.object_frame_keys:
            raise self.fail(".objectHash", f"duplicate object {object_hash} in frame {frame}")
        self.object_frame_keys.add((object_hash, frame))
        geometry, in_unit_square = self.read_geometry(obj, shape)
        audit = self.audit(obj, "")
        self.tables["object_frames"].append((
            self.label_hash, object_hash, frame, shape, *geometry,
            self.number(obj.get("confidence"), "", "confidence"), obj.get("manualAnnotation"),
            obj.get("event"), obj.get("isDeleted"), *audit, self.problems(shape, geometry, in_unit_square, frame),
        ))
        self.track_object(object_hash, obj, frame, audit)

    def track_object(self, object_hash: str, obj: dict, frame: int, audit: tuple) -> None:
        seen = self.objects.get(object_hash)
        if seen is None:
            self.objects[object_hash] = _ObjectSeen(obj, self.text(obj, "featureHash", ""), frame, frame, 1,
                                                    audit[:2], audit[2:])
            return
        if frame < seen.first:
            seen.first = frame
        if frame > seen.last:
            seen.last = frame
        seen.count += 1
        if audit[1] is not None and (seen.created[1] is None or audit[1] < seen.created[1]):
            seen.created = audit[:2]
        if audit[3] is not None and (seen.edited[1] is None or audit[3] > seen.edited[1]):
            seen.edited = audit[2:]

    def read_geometry(self, obj: dict, shape: str) -> tuple[tuple, bool]:
        """(x, y, w, h, theta, points, rings, geometry) for one frame object, and whether its coordinates are
        all finite and within 0..1 (a comparison with NaN is false); error fields relative to the object."""
        key = GEOMETRY_KEYS.get(shape)
        if key is None:
            raise self.fail(".shape", f"unknown shape {shape!r}")
        value = obj.get(key)
        path = "." + key
        if isinstance(value, list) and shape in ("polygon", "polyline"):  # the SDK reads a list of points too
            value = dict(enumerate(value))
        if not isinstance(value, dict):
            raise self.fail(path, "missing" if value is None else "expected an object")
        if shape in BOX_SHAPES:
            x, y, w, h = box = value.get("x"), value.get("y"), value.get("w"), value.get("h")
            in_unit_square = (type(x) is type(y) is type(w) is type(h) is float
                              and 0.0 <= x <= 1.0 and 0.0 <= y <= 1.0 and 0.0 <= w <= 1.0 and 0.0 <= h <= 1.0)
            if not in_unit_square:  # number() converts, or names the problem
                x, y, w, h = (self.number(v, path, k, True) for k, v in zip("xywh", box))
                in_unit_square = 0.0 <= x <= 1.0 and 0.0 <= y <= 1.0 and 0.0 <= w <= 1.0 and 0.0 <= h <= 1.0
            theta = self.number(value.get("theta"), path, "theta", shape != "bounding_box")
            return (x, y, w, h, theta, None, None, None), in_unit_square
        if shape in VERTEX_SHAPES:
            points, in_unit_square, has_z = self.vertices(value, path)
            rings, rings_in_unit_square = self.rings(obj.get("polygons"), points, ".polygons") if shape == "polygon" \
                else (None, True)
            x, y = points[0] if shape == "point" and points else (None, None)
            raw, finite = self.raw_geometry(value, path) if shape == "skeleton" or has_z else (None, True)
            return (x, y, None, None, None, points, rings, raw), in_unit_square and rings_in_unit_square and finite
        if shape in ("circle", "ellipse"):
            x, y = (self.number(value.get(k), path, k, required=True) for k in "xy")
            theta = self.number(value.get("theta"), path, "theta")
            raw, finite = self.raw_geometry(value, path)
            return (x, y, None, None, theta, None, None, raw), 0.0 <= x <= 1.0 and 0.0 <= y <= 1.0 and finite
        if shape == "bitmask":
            self.required(value, "rleString", path)
        raw, finite = self.raw_geometry(value, path)  # bitmask and cuboid geometry stays raw JSON
        return (None, None, None, None, None, None, None, raw), finite

    def problems(self, shape: str, geometry: tuple, in_unit_square: bool, frame: int) -> str | None:
        """What is wrong with a kept annotation: coordinates not finite or outside 0..1, a frame past the end."""
        found = [] if in_unit_square else self.coordinate_problems(shape, geometry)
        if self.frame_limit is not None and frame >= self.frame_limit:
            found.append(f"frame {frame} beyond the video's {self.frame_limit} frames")
        return "; ".join(found) if found else None

    @staticmethod
    def coordinate_problems(shape: str, geometry: tuple) -> list[str]:
        points, rings, raw = geometry[5:8]
        named = [(name, value) for name, value in zip("xywh", geometry[:4]) if value is not None]
        if shape != "point":
            named += [(f"points[{i}].{c}", v) for i, point in enumerate(points or ()) for c, v in zip("xy", point)]
        if rings and rings != [[[coordinate for point in points for coordinate in point]]]:  # not points again
            named += [(f"polygons[{p}][{r}][{c}]", v) for p, polygon in enumerate(rings)
                      for r, ring in enumerate(polygon) for c, v in enumerate(ring)]
        found = [_coordinate_problem(name, value) for name, value in named if not 0.0 <= value <= 1.0]
        return found + [_coordinate_problem(f"geometry.{name}", value) for name, value in _non_finite(raw)
                        if not _named_already(shape, name)]

    def vertices(self, value: dict, path: str) -> tuple[list[list[float]], bool, bool]:
        """The points in vertex order, whether all are finite and within 0..1, and whether any has a z
        (3D points: `points` holds x and y, the raw geometry keeps z)."""
        try:
            keys = sorted(value, key=int)
        except (TypeError, ValueError):
            keys = sorted(value, key=lambda k: self.vertex_index(k, path))  # raises, naming the bad key
        points = []
        in_unit_square, has_z = True, False
        number = self.number
        for key in keys:
            vertex = value[key]
            if not isinstance(vertex, dict):
                raise self.fail(f"{path}[{key!r}]", "expected an object with x and y")
            if "z" in vertex:
                has_z = True
            x, y = vertex.get("x"), vertex.get("y")
            if not (type(x) is type(y) is float and 0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
                try:  # number() converts, or names the problem
                    x, y = number(x, "", "x", True), number(y, "", "y", True)
                except LabelRowError as error:
                    raise self.fail(f"{path}[{key!r}]{error.field}", error.reason) from None
                in_unit_square = in_unit_square and 0.0 <= x <= 1.0 and 0.0 <= y <= 1.0
            points.append([x, y])
        return points, in_unit_square, has_z

    def vertex_index(self, key: str, path: str) -> int:
        try:
            return int(key)
        except (TypeError, ValueError):
            raise self.fail(f"{path}[{key!r}]", "vertex key is not an integer") from None

    def rings(self, polygons: Any, points: list, path: str) -> tuple[list, bool]:
        """Encord's `polygons` (NaN and infinities as the archive spells them read back as numbers), and
        whether every coordinate is within 0..1."""
        if not polygons:  # the SDK reads a missing or empty list as the one ring of `polygon`
            return [[[coordinate for point in points for coordinate in point]]], True
        if not isinstance(polygons, list):
            raise self.fail(path, "expected a list of polygons")
        in_unit_square = True
        for p, polygon in enumerate(polygons):
            for r, ring in enumerate(polygon if isinstance(polygon, list) else [None]):
                if not isinstance(ring, list):
                    raise self.fail(f"{path}[{p}][{r}]", "expected a flat list of coordinates")
                for c, coordinate in enumerate(ring):
                    if type(coordinate) is not float or not 0.0 <= coordinate <= 1.0:  # also false for NaN
                        number = self.number(coordinate, f"{path}[{p}][{r}][{c}]", required=True)
                        if isinstance(coordinate, str):
                            ring[c] = number
                        in_unit_square = in_unit_square and 0.0 <= number <= 1.0
        return polygons, in_unit_square

    def emit_objects(self) -> None:
        answers = self.row.get("object_answers") or {}
        ontology_name = self.context.ontology.name
        for object_hash, seen in self.objects.items():
            entry = seen.entry
            answer = answers.get(object_hash) if isinstance(answers, dict) else None
            number = answer.get("objectNumber") if isinstance(answer, dict) else None
            self.tables["objects"].append((
                self.label_hash, object_hash, seen.feature_hash, ontology_name(seen.feature_hash, entry.get("name")),
                entry.get("value"), entry.get("color"), entry.get("shape"),
                self.integer(number, f"object_answers.{object_hash}", "objectNumber"), seen.first,
                seen.last, seen.count, *seen.created, *seen.edited,
            ))

    # ---- audio, text and time series: objects with ranges

    def read_range_objects(self) -> None:
        """The objects of a range-based label row, from object_answers, with their ranges (no frames)."""
        for object_hash, answer in self.mapping("object_answers").items():
            path = f"object_answers.{object_hash}"
            if not isinstance(answer, dict):
                raise self.fail(path, "expected an object")
            feature_hash = self.text(answer, "featureHash", path)
            name = self.context.ontology.name(feature_hash, answer.get("name"))
            self.tables["objects"].append((
                self.label_hash, object_hash, feature_hash, name, answer.get("value"), answer.get("color"),
                answer.get("shape"), self.integer(answer.get("objectNumber"), path, "objectNumber"),
                None, None, None, *self.audit(answer, path),
            ))
            self.add_ranges(object_hash, "object", answer, path)

    def add_ranges(self, owner: str, kind: str, answer: dict, path: str) -> None:
        """annotation_ranges rows of an object or classification: its `range` pairs, then its `range_html` parts."""
        html = answer.get("range_html") or []
        if not isinstance(html, list):
            raise self.fail(f"{path}.range_html", "expected a list of {start, end}")
        for index, part in enumerate(html):
            if not (isinstance(part, dict) and isinstance(part.get("start"), dict) and isinstance(part.get("end"), dict)):
                raise self.fail(f"{path}.range_html[{index}]", "expected {start: {xpath, offset}, end: {xpath, offset}}")
            self.raw_json(part, f"{path}.range_html[{index}]")  # kept as raw JSON
        value, value_path = self.range_value(answer, path, kind)
        spans = [(start, end, None) for start, end in joined_ranges(self.ranges(value, value_path, "range bound"))]
        for start, end, html_range in spans + [(None, None, part) for part in html]:
            seq = self.range_seq.get(owner, 0)
            self.range_seq[owner] = seq + 1
            self.tables["annotation_ranges"].append((self.label_hash, owner, seq, kind, start, end, html_range))

    def range_value(self, answer: dict, path: str, kind: str) -> tuple[Any, str]:
        """An answer's list of ranges and its path. The SDK writes the ranges of an object on a root
        space (a time series') to spaces.root.range, `range` left empty, and reads them from there; a
        classification's are always in `range` (the SDK ignores a root entry in its spaces)."""
        root = self.child_spaces_refused(answer, path).get(ROOT_SPACE)
        if kind != "object" or root is None:
            return answer.get("range"), f"{path}.range"
        if not isinstance(root, dict) or root.get("type", "frame") != "frame":
            raise self.fail(f"{path}.spaces.{ROOT_SPACE}", "expected {type: frame, range: [[start, end], ...]}")
        return root.get("range"), f"{path}.spaces.{ROOT_SPACE}.range"

    def child_spaces_refused(self, answer: dict, path: str) -> dict:
        """An answer's spaces, after refusing the row if it places ranges in a space other than the root
        (a group's or scene's child): loading the row without them would drop them without a word."""
        spaces = answer.get("spaces") or {}
        if not isinstance(spaces, dict):
            raise self.fail(f"{path}.spaces", "expected an object keyed by space id")
        for space_id, placed in spaces.items():
            if space_id != ROOT_SPACE and (not isinstance(placed, dict) or placed.get("range")):
                raise self.fail(f"{path}.spaces.{space_id}", "ranges in a space other than the root are not supported yet")
        return spaces

    # ---- classifications

    def read_classification_answers(self) -> None:
        for classification_hash, answer in self.mapping("classification_answers", "classification hash").items():
            path = f"classification_answers.{classification_hash}"
            if not isinstance(answer, dict):
                raise self.fail(path, "expected an object")
            self.classifications.setdefault(classification_hash, {})["answer"] = answer
            if self.data_type in RANGE_TYPES:
                self.add_ranges(classification_hash, "classification", answer, path)
                continue
            self.child_spaces_refused(answer, path)
            for index, (start, end) in enumerate(self.ranges(answer.get("range"), f"{path}.range")):
                frames = self.range_frames(classification_hash, start, end, f"{path}.range[{index}]")
                self.classification_frames.setdefault(classification_hash, set()).update(frames)
                self.add_range_frames(frames)

    def range_frames(self, classification_hash: str, start: int, end: int, path: str) -> range:
        """The frames of a classification's range that the data has: a range reaching past the last frame
        is cut there and its classification flagged. Without a frame count, see RANGE_FRAMES_WITHOUT_COUNT."""
        if self.frame_limit is None:
            self.frames_without_count += end - start + 1
            if self.frames_without_count > RANGE_FRAMES_WITHOUT_COUNT:
                raise self.fail(path, f"range [{start}, {end}]: the classification ranges cover more than "
                                      f"{RANGE_FRAMES_WITHOUT_COUNT:,} frames, and the row's frame count is not known")
            return range(start, end + 1)
        last = self.frame_limit - 1
        if end > last:
            first_out = max(start, last + 1)
            left_out = f"frame {end}" if first_out == end else f"frames {first_out}-{end}"
            self.classification_problems.setdefault(classification_hash, []).append(
                f"range [{start}, {end}] past the last frame ({last}): {left_out} left out")
        return range(start, min(end, last) + 1)

    def add_range_frames(self, frames: range) -> None:
        """A `frames` table row for each frame of a classification's range that no label has, when the
        label row has one frame-keyed data unit (the range's frames are that unit's)."""
        units = self.row["data_units"]
        if str(self.row["data_type"]).lower() not in FRAME_KEYED_TYPES or len(units) != 1:
            return
        (data_hash, unit), = units.items()
        for frame in set(frames).difference(self.frame_rows):
            self.add_frame(frame, data_hash, unit, unit.get("width"), unit.get("height"), "", with_link=False)

    def emit_classifications(self) -> None:
        for classification_hash, parts in self.classifications.items():
            answer = parts.get("answer") or {}
            entry = parts.get("frame_entry") or {}
            source = answer if answer else entry
            path = f"classification_answers.{classification_hash}"
            feature_hash = answer.get("featureHash") or entry.get("featureHash")
            if not feature_hash:
                raise self.fail(f"{path}.featureHash", "missing")
            own = self.own_answer(answer.get("classifications"))
            name = self.context.ontology.name(feature_hash, entry.get("name") or own.get("name"))
            self.tables["classifications"].append((
                self.label_hash, classification_hash, feature_hash, name, self.answer_text(own),
                self.number(source.get("confidence"), f"{path}.confidence"), source.get("manualAnnotation"),
                *self.audit(source, path), "; ".join(self.classification_problems.get(classification_hash, ())) or None,
            ))
        self.tables["classification_frames"] = [
            (self.label_hash, classification_hash, frame)
            for classification_hash, frames in sorted(self.classification_frames.items())
            for frame in sorted(frames)
        ]

    def own_answer(self, entries: Any) -> Any:
        """A classification's answer to its top-level attribute among its answers: the SDK writes the
        nested ones first and that one last; the ontology, when it knows them, says which it is."""
        if not isinstance(entries, list) or not entries:
            return {}
        for entry in entries:
            feature_hash = entry.get("featureHash") if isinstance(entry, dict) else None
            info = self.context.ontology.attribute(feature_hash) if isinstance(feature_hash, str) else None
            if info is not None and info.parent_attribute_hash is None:
                return entry
        return entries[-1] if isinstance(entries[-1], dict) else {}

    def answer_text(self, entry: dict) -> str | None:
        answers = entry.get("answers")
        if isinstance(answers, list):
            names = [str(self.context.ontology.name(option.get("featureHash"), option.get("name")))
                     for option in answers if isinstance(option, dict)]
            return ", ".join(names) if names else None
        return None if answers is None else _answer_as_text(answers)

    # ---- attributes

    def emit_attributes(self) -> None:
        sequence: dict[str, int] = {}
        object_answers = self.mapping("object_answers")
        for object_hash, answer in object_answers.items():
            for index, entry in enumerate(self.answer_list(answer, "classifications", f"object_answers.{object_hash}")):
                self.add_answers(object_hash, "object", entry, None, f"object_answers.{object_hash}.classifications[{index}]", sequence)
        for object_hash, action in self.mapping("object_actions").items():
            for index, entry in enumerate(self.answer_list(action, "actions", f"object_actions.{object_hash}")):
                path = f"object_actions.{object_hash}.actions[{index}]"
                if not isinstance(entry, dict):
                    raise self.fail(path, "expected an object")
                for frame_range in self.ranges(entry.get("range"), f"{path}.range"):
                    self.add_answers(object_hash, "object", entry, frame_range, path, sequence)
        for classification_hash, parts in self.classifications.items():
            answer = parts.get("answer") or {}
            path = f"classification_answers.{classification_hash}"
            for index, entry in enumerate(self.answer_list(answer, "classifications", path)):
                self.add_answers(classification_hash, "classification", entry, None, f"{path}.classifications[{index}]", sequence)

    def add_answers(self, owner: str, kind: str, entry: Any, frame_range, path: str, sequence: dict) -> None:
        if not isinstance(entry, dict):
            raise self.fail(path, "expected an object")
        attribute_hash = self.text(entry, "featureHash", path)
        info = self.context.ontology.attribute(attribute_hash)
        answers = entry.get("answers")
        values = self.answer_values(answers, f"{path}.answers")
        attribute_type = info.type if info and info.type else _answer_type(answers)
        start, end = frame_range if frame_range else (None, None)
        name = self.context.ontology.name(attribute_hash, entry.get("name"))
        for option_hash, option_name, option_value, text, number in values:
            seq = sequence.get(owner, 0)
            sequence[owner] = seq + 1
            self.tables["attributes"].append((
                self.label_hash, owner, seq, kind, attribute_hash, name, attribute_type,
                option_hash, option_name, option_value, text, number, frame_range is not None, start, end,
                info.parent_attribute_hash if info else None, info.parent_option_hash if info else None,
                entry.get("manualAnnotation"), entry.get("trackHash"),
            ))

    def answer_values(self, answers: Any, path: str) -> list[tuple]:
        if isinstance(answers, list):
            values = []
            for index, option in enumerate(answers):
                if not isinstance(option, dict):
                    raise self.fail(f"{path}[{index}]", "expected an option object")
                option_hash = option.get("featureHash")
                name = self.context.ontology.name(option_hash, option.get("name"))
                values.append((option_hash, name, option.get("value"), None, None))
            return values
        if isinstance(answers, str):
            return [(None, None, None, answers, None)]
        if answers is None:
            return []
        return [(None, None, None, None, self.number(answers, path, required=True))]

    # ---- branch and data unit

    def emit_branch_and_data_unit(self, data_type: str) -> None:
        row, meta = self.row, self.context.metadata or {}
        stage = meta.get("workflow_graph_node") or row.get("workflow_graph_node") or {}
        if not isinstance(stage, dict):
            raise self.fail("workflow_graph_node", "expected an object")
        self.tables["branches"].append((
            self.label_hash, self.context.project_hash, row["data_hash"], row.get("branch_name") or "main",
            row.get("label_status") or meta.get("label_status"),
            row.get("annotation_task_status") or meta.get("annotation_task_status"),
            stage.get("title"), stage.get("uuid"), self.timestamp(row.get("created_at"), "created_at"),
            self.timestamp(row.get("last_edited_at"), "last_edited_at"), self.context.synced_at, None,
            self.context.content_sha256, self.context.listing_sha256,
        ))
        units = list(self.row["data_units"].values())
        single = units[0] if len(units) == 1 and data_type != "img_group" else {}
        frame_count = meta.get("number_of_frames")
        if frame_count is None and data_type in SINGLE_FRAME_TYPES:
            frame_count = len(units)
        self.tables["data_units"].append((
            self.context.project_hash, row["data_hash"], row.get("data_title"), data_type, single.get("data_type"),
            self.integer(single.get("width"), f"data_units.{row['data_hash']}", "width"),
            self.integer(single.get("height"), f"data_units.{row['data_hash']}", "height"),
            self.number(single.get("data_fps"), "data_fps"), self.number(single.get("data_duration"), "data_duration"),
            _int_or_none(frame_count), row.get("dataset_hash"), row.get("dataset_title"), single.get("data_link"),
        ))

    # ---- small readers

    def raw_geometry(self, value: Any, path: str) -> tuple[Any, bool]:
        """Geometry kept as raw JSON, with the archive's spelling of NaN and infinities (NON_FINITE_TEXT) read
        back as numbers, as a sync from the source holds them (so `rebuild` equals the sync); and whether all
        its numbers are finite. Runs once per skeleton, circle, ellipse or bitmask: orjson tells at C speed
        that there is nothing to read back (it writes a NaN as null), and only then is the value walked."""
        text = self.raw_json(value, path)
        if b"null" not in text and b"NaN" not in text and b"Infinity" not in text:
            return value, True
        return _read_back(value)

    def raw_json(self, value: Any, path: str) -> bytes:
        """`value` as orjson writes it (null for an integer past 64 bits); an error naming `path` when it nests
        deeper than orjson writes (254 levels): such a value failed its chunk's Arrow staging, and with it the
        whole sync, until 2026-11-29."""
        try:
            return orjson.dumps(value)
        except TypeError as error:  # orjson's JSONEncodeError is one
            if "Recursion" in str(error):
                raise self.fail(path, "nested too deep to store as JSON (past 254 levels)") from None
            return b"null"

    def required(self, node: dict, key: str, path: str) -> Any:
        value = node.get(key)
        if value is None or value == "":
            raise self.fail(f"{path}.{key}", "missing")
        return value

    def text(self, node: dict, key: str, path: str) -> str:
        value = self.required(node, key, path)
        if not isinstance(value, str):
            raise self.fail(f"{path}.{key}", _not_text(value))
        return value

    def mapping(self, key: str, keyed_by: str = "hash") -> dict:
        value = self.row.get(key) or {}
        if not isinstance(value, dict):
            raise self.fail(key, f"expected an object keyed by {keyed_by}")
        return value

    def answer_list(self, node: Any, key: str, path: str) -> list:
        if not isinstance(node, dict):
            raise self.fail(path, "expected an object")
        value = node.get(key) or []
        if not isinstance(value, list):
            raise self.fail(f"{path}.{key}", "expected a list")
        return value

    def number(self, value: Any, path: str, key: str | None = None, required: bool = False) -> float | None:
        """`value` as a float; `path` (plus `.key`) names it in the error. Runs once per coordinate,
        so the field path is only put together when something is wrong."""
        if type(value) is float and isfinite(value):
            return value
        if value is None and not required:
            return None
        if isinstance(value, str) and value in NON_FINITE_TEXT:
            value = NON_FINITE_TEXT[value]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"{path}.{key}" if key else path, f"expected a number, got {value!r}"[:200])
        return float(value)

    def integer(self, value: Any, path: str, key: str) -> int | None:
        """`value` as an int: a whole number, also written 1280.0 or "1280"; anything else is an error
        naming `path.key` (until 2026-11-29 it was stored as NULL, or cut to its whole part, unsaid)."""
        if type(value) is int or value is None:
            return value
        try:
            number = math.nan if isinstance(value, bool) else float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not number.is_integer():  # nor is NaN or an infinity
            raise self.fail(f"{path}.{key}", f"expected an integer, got {value!r}"[:200])
        return int(number)

    def to_frame(self, value: Any, path: str, what: str = "frame") -> int:
        try:
            frame = int(value) if not isinstance(value, (bool, float)) else None
        except (TypeError, ValueError):
            frame = None
        if frame is None or frame < 0:
            raise self.fail(path, f"{what} {value!r} is not a non-negative integer")
        return frame

    def ranges(self, value: Any, path: str, what: str = "frame") -> list[tuple[int, int]]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(path, "expected a list of [start, end] pairs")
        pairs = []
        for index, pair in enumerate(value):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise self.fail(f"{path}[{index}]", "expected [start, end]")
            start, end = (self.to_frame(v, f"{path}[{index}]", what) for v in pair)
            if end < start:
                raise self.fail(f"{path}[{index}]", f"range ends before it starts: {list(pair)}")
            pairs.append((start, end))
        return pairs

    def timestamp(self, value: Any, path: str, key: str | None = None) -> datetime | None:
        try:
            return _optional_timestamp(value)
        except _UNREADABLE_TIMESTAMP:
            raise self.fail(f"{path}.{key}" if key else path, f"unreadable timestamp {value!r}") from None

    def audit(self, node: dict, path: str) -> tuple:
        """(created_by, created_at, last_edited_by, last_edited_at); runs once per annotation."""
        created_at, edited_at = node.get("createdAt"), node.get("lastEditedAt")
        try:
            created_at, edited_at = _optional_timestamp(created_at), _optional_timestamp(edited_at)
        except _UNREADABLE_TIMESTAMP:  # timestamp() names the one at fault
            created_at = self.timestamp(node.get("createdAt"), path, "createdAt")
            edited_at = self.timestamp(node.get("lastEditedAt"), path, "lastEditedAt")
        return node.get("createdBy"), created_at, node.get("lastEditedBy"), edited_at


_UNREADABLE_TIMESTAMP = (TypeError, ValueError, AttributeError, OverflowError)  # not text; a year past 9999


def _optional_timestamp(value: Any) -> datetime | None:
    """None for a missing or empty timestamp; raises one of _UNREADABLE_TIMESTAMP for one it cannot read."""
    return None if value is None or value == "" else parse_timestamp(value)


def joined_ranges(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Inclusive ranges sorted, overlapping and adjacent ones joined: as the SDK holds them (its RangeManager),
    so that a row written with [[0, 9], [5, 20], [21, 30]] stores [0, 30] whether it came from an export
    or the API; and `--frames 1-5,3-8,9` selects 1-9."""
    joined: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if joined and start <= joined[-1][1] + 1:
            joined[-1] = (joined[-1][0], max(joined[-1][1], end))
        else:
            joined.append((start, end))
    return joined




def _read_back(value: Any) -> tuple[Any, bool]:
    if isinstance(value, dict):
        pairs = [(key, _read_back(item)) for key, item in value.items()]
        return {key: item for key, (item, _) in pairs}, all(finite for _, (_, finite) in pairs)
    if isinstance(value, list):
        items = [_read_back(item) for item in value]
        return [item for item, _ in items], all(finite for _, finite in items)
    if isinstance(value, str) and value in NON_FINITE_TEXT:
        return NON_FINITE_TEXT[value], False
    return value, not isinstance(value, float) or isfinite(value)


def _non_finite(value: Any, path: str = "") -> Iterator[tuple[str, float]]:
    """(path, number) of each non-finite number in raw geometry."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _non_finite(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _non_finite(item, f"{path}[{index}]")
    elif isinstance(value, float) and not isfinite(value):
        yield path, value


def _named_already(shape: str, path: str) -> bool:
    """Whether a raw geometry's number at `path` is also a column (x, y, theta) or a vertex of `points`."""
    if shape in ("circle", "ellipse"):
        return path in ("x", "y", "theta")
    return shape in VERTEX_SHAPES and path.count(".") == 1 and path.endswith((".x", ".y"))


def _not_text(value: Any) -> str:
    return f"expected text, got {type(value).__name__} {value!r}"[:200]


def _finite_positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def _coordinate_problem(name: str, value: float) -> str:
    if not math.isfinite(value):
        return f"{name}={value:g} not finite"
    return f"{name}={value:g} < 0" if value < 0 else f"{name}={value:g} > 1"


def _answer_type(answers: Any) -> str | None:
    if isinstance(answers, str):
        return "text"
    if isinstance(answers, (int, float)) and not isinstance(answers, bool):
        return "numeric"
    return None


def _answer_as_text(answer: Any) -> str:
    """A text or numeric answer as attribute_answers prints it: a whole number below 2^53 (exact in a double)
    without ".0" (until 2026-11-30 classifications.answer said "1000000.0" where attribute_answers said "1000000")."""
    if type(answer) is float and answer.is_integer() and abs(answer) < 2 ** 53:
        return str(int(answer))
    return str(answer)


def _int_or_none(value: Any) -> int | None:
    if type(value) is int:
        return value
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if math.isfinite(number) else None



@dataclass
class NormalizedBatch:
    """The rows of a batch of label rows, ready for the loader."""

    tables: dict[str, list[tuple]]
    label_hashes: list[str]


def merge_label_rows(per_label_row: dict[str, dict[str, list[tuple]]]) -> NormalizedBatch:
    """One batch from the tables of several label rows; a data unit shared by branches is written once."""
    merged: dict[str, list[tuple]] = {name: [] for name in TABLE_COLUMNS}
    data_units: dict[tuple, tuple] = {}
    for tables in per_label_row.values():
        for name, table_rows in tables.items():
            if name == "data_units":
                data_units.update((unit[:2], unit) for unit in table_rows)
            else:
                merged[name].extend(table_rows)
    merged["data_units"] = list(data_units.values())
    return NormalizedBatch(merged, list(per_label_row))
