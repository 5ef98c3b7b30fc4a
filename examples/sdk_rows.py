"""Offline LabelRowV2 construction: identities, empty rows and the labelling helper.

A LabelRowV2 is made the way the SDK's own tests (and ``LabelRowV2.from_media_metadata``) do it:
``LabelRowV2(LabelRowMetadata, <no client>, <ontology>)`` followed by ``from_labels_dict`` of an
empty, server-shaped label dict. No network client is ever involved; only methods that would
talk to Encord (initialise_labels, save, ...) are unusable.

Hashes and timestamps are derived from the inputs (kind, seed, branch), never random, so the
same call always yields the same row.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from encord.objects import LabelRowV2, OntologyStructure
from encord.objects.attributes import Attribute, ChecklistAttribute, RadioAttribute
from encord.objects.classification_instance import ClassificationInstance
from encord.objects.constants import ROOT_SPACE_ID
from encord.objects.coordinates import Coordinates
from encord.objects.frames import Range
from encord.objects.ontology_object_instance import ObjectInstance
from encord.objects.options import Option
from encord.orm.label_row import LabelRowMetadata

from examples.sdk_geometry import progress

BASE_TIME = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)
DATASET_HASH = "d2c3b4a5-1111-4222-8333-944455566677"
DATASET_TITLE = "Street scenes"
MEDIA_ROOT = "https://storage.example.com/encord-sample"


def stable_uuid(*parts: object) -> str:
    """A UUID-shaped hash of the parts (Encord's label/data hashes are UUIDs)."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def short_hash(*parts: object) -> str:
    """An 8-character base64 hash of the parts, like Encord's objectHash/classificationHash
    (the alphabet includes '+' and '/')."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return base64.b64encode(digest[:6]).decode()


def annotator_email(index: int) -> str:
    return f"annotator{index}@example.com"


def annotator_branch(email: str) -> str:
    """A consensus branch name as Encord names them: 'encord-' + the annotator's hash."""
    return "encord-" + hashlib.sha256(email.encode()).hexdigest()[:32]


class OfflineOntology:
    """Stands in for ``encord.ontology.Ontology``: LabelRowV2 only reads ``.structure``."""

    def __init__(self, structure: OntologyStructure):
        self.structure = structure


@dataclass(frozen=True)
class RowIdentity:
    """Who and what a label row is: hashes, titles, branch, status and times."""

    label_hash: str
    data_hash: str
    data_title: str
    branch_name: str = "main"
    annotator: str = "annotator1@example.com"
    created_at: datetime = BASE_TIME
    last_edited_at: datetime = BASE_TIME
    label_status: str = "LABELLED"
    annotation_task_status: str = "COMPLETED"
    dataset_hash: str = DATASET_HASH
    dataset_title: str = DATASET_TITLE


def row_identity(
    kind: str,
    seed: int,
    *,
    extension: str,
    branch_name: str = "main",
    annotator: Optional[str] = None,
    data_hash: Optional[str] = None,
    label_hash: Optional[str] = None,
    data_title: Optional[str] = None,
) -> RowIdentity:
    """Deterministic identity for row number `seed` of a kind; branches of one data unit share
    its data_hash but get their own label_hash."""
    created = BASE_TIME + timedelta(days=seed % 28, hours=(seed * 7) % 24, minutes=seed % 60)
    return RowIdentity(
        label_hash=label_hash or stable_uuid("label", kind, seed, branch_name),
        data_hash=data_hash or stable_uuid("data", kind, seed),
        data_title=data_title or f"{kind}_{seed:04d}.{extension}",
        branch_name=branch_name,
        annotator=annotator or annotator_email(1 + seed % 3),
        created_at=created,
        last_edited_at=created + timedelta(hours=2, minutes=30),
        label_status="LABELLED" if branch_name == "main" else "LABEL_IN_PROGRESS",
        annotation_task_status="COMPLETED" if branch_name == "main" else "ASSIGNED",
    )


@dataclass(frozen=True)
class Media:
    """What is being labelled: the row-level media facts and the server's data_units."""

    data_type: str  # lower case, as in the label-row dict: video, image, img_group, dicom
    number_of_frames: int
    data_units: Dict[str, Dict[str, Any]]
    file_type: Optional[str] = None
    data_link: Optional[str] = None
    width: Optional[int] = None
    height: Optional[int] = None
    fps: Optional[float] = None
    duration: Optional[float] = None
    spaces: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    """The row's own space (id "root") where the SDK keeps its labels in one: a multilayer image, a time series."""


def metadata_dict(ids: RowIdentity, media: Media) -> Dict[str, Any]:
    """The label-row metadata item as ``list_label_rows_v2`` receives it (see samples/)."""
    return {
        "label_hash": ids.label_hash, "branch_name": ids.branch_name,
        "created_at": ids.created_at.isoformat(), "last_edited_at": ids.last_edited_at.isoformat(),
        "data_hash": ids.data_hash, "dataset_hash": ids.dataset_hash, "dataset_title": ids.dataset_title,
        "data_title": ids.data_title, "data_type": media.data_type.upper(), "data_link": media.data_link,
        "label_status": ids.label_status, "annotation_task_status": ids.annotation_task_status,
        "is_shadow_data": False, "number_of_frames": media.number_of_frames,
        "frames_per_second": media.fps, "duration": media.duration,
        "width": media.width, "height": media.height, "file_type": media.file_type, "spaces": media.spaces,
    }


def listed_spaces(label_dict: Dict[str, Any]) -> Dict[str, Any]:
    """A label row's spaces as a listing gives them: no labels, and the root space names its file (the
    SDK needs root_info to open it, and an image space's to_encord_dict leaves it out)."""
    spaces = {}
    for space_id, space in (label_dict.get("spaces") or {}).items():
        spaces[space_id] = {key: value for key, value in space.items() if key != "labels"}
        if space_id == ROOT_SPACE_ID:
            spaces[space_id].setdefault("root_info", {"file_name": label_dict.get("data_title")})
    return spaces


def empty_label_dict(ids: RowIdentity, media: Media) -> Dict[str, Any]:
    """The label-row dict the server sends for a row with no labels yet."""
    return {
        "label_hash": ids.label_hash, "branch_name": ids.branch_name,
        "created_at": ids.created_at.isoformat(), "last_edited_at": ids.last_edited_at.isoformat(),
        "data_hash": ids.data_hash, "dataset_hash": ids.dataset_hash, "dataset_title": ids.dataset_title,
        "data_title": ids.data_title, "data_type": media.data_type,
        "annotation_task_status": ids.annotation_task_status, "is_shadow_data": False,
        "label_status": ids.label_status, "object_answers": {}, "classification_answers": {},
        "object_actions": {}, "data_units": media.data_units, "spaces": media.spaces,
    }


def empty_label_row(ontology: OntologyStructure, ids: RowIdentity, media: Media) -> LabelRowV2:
    """An initialised, label-free LabelRowV2, built offline."""
    metadata = LabelRowMetadata.from_dict(metadata_dict(ids, media))
    row = LabelRowV2(metadata, None, OfflineOntology(ontology))  # type: ignore[arg-type]
    row.from_labels_dict(empty_label_dict(ids, media))
    return row


@dataclass
class Labeller:
    """Adds labels to one row as one annotator: stable hashes, stamped authors and times."""

    row: LabelRowV2
    ids: RowIdentity
    ontology: OntologyStructure
    objects: List[ObjectInstance] = field(default_factory=list)

    def stamp(self, minute: int = 0) -> Dict[str, Any]:
        at = self.ids.created_at + timedelta(minutes=5 + minute % 120)
        return {"created_at": at, "created_by": self.ids.annotator,
                "last_edited_at": at + timedelta(minutes=1), "last_edited_by": self.ids.annotator}

    def option(self, feature_hash: str) -> Option:
        return self.ontology.get_child_by_hash(feature_hash, type_=Option)

    def attribute(self, feature_hash: str) -> Attribute:
        return self.ontology.get_child_by_hash(feature_hash, type_=Attribute)

    def new_object(self, feature_hash: str, key: str) -> ObjectInstance:
        ontology_object = self.ontology.get_child_by_hash(feature_hash)
        return ObjectInstance(ontology_object, object_hash=short_hash(self.ids.label_hash, "object", key))

    def place(self, instance: ObjectInstance, frame: int, coordinates: Coordinates) -> None:
        instance.set_for_frames(coordinates, frames=frame, confidence=1.0, manual_annotation=True,
                                **self.stamp(frame))

    def track(self, instance: ObjectInstance, start: int, end: int,
              coordinates_at: Callable[[float], Coordinates]) -> None:
        """Place the object on every frame start..end, geometry moving along the track."""
        for frame in range(start, end + 1):
            self.place(instance, frame, coordinates_at(progress(frame, start, end)))

    def answer(self, instance: ObjectInstance, attribute_hash: str, answer: Any,
               frames: Optional[Sequence[Tuple[int, int]]] = None) -> None:
        """Answer an attribute: an option hash (radio), a list of option hashes (checklist),
        text or a number; `frames` [(start, end), ...] only for dynamic attributes."""
        attribute = self.attribute(attribute_hash)
        value = self._answer_value(attribute, answer)
        if frames is None:
            instance.set_answer(value, attribute)
        else:
            instance.set_answer(value, attribute, frames=[Range(s, e) for s, e in frames])

    def _answer_value(self, attribute: Attribute, answer: Any) -> Any:
        if isinstance(attribute, RadioAttribute):
            return self.option(answer)
        if isinstance(attribute, ChecklistAttribute):
            return [self.option(option_hash) for option_hash in answer]
        return answer

    def add(self, instance: ObjectInstance) -> ObjectInstance:
        self.row.add_object_instance(instance)
        self.objects.append(instance)
        return instance

    def classify(self, feature_hash: str, key: str, ranges: Sequence[Tuple[int, int]],
                 answers: Sequence[Tuple[str, Any]]) -> ClassificationInstance:
        """A classification instance on frame ranges [(start, end), ...] with (attribute, answer) pairs."""
        classification = self.ontology.get_child_by_hash(feature_hash)
        instance = ClassificationInstance(
            classification, classification_hash=short_hash(self.ids.label_hash, "classification", key))
        instance.set_for_frames([Range(s, e) for s, e in ranges], confidence=1.0, manual_annotation=True,
                                **self.stamp(ranges[0][0]))
        for attribute_hash, answer in answers:
            attribute = self.attribute(attribute_hash)
            instance.set_answer(self._answer_value(attribute, answer), attribute)
        self.row.add_classification_instance(instance)
        return instance
