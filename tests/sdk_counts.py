"""What the real Encord SDK says a label-row dict contains — the reference for warehouse counts.

Each label-row dict is loaded back with the SDK (``LabelRowV2.from_labels_dict``, offline) and
described only through the SDK's own accessors, never by walking the dict ourselves:

    load_label_row(label_row, ontology)   -> LabelRowV2
    sdk_counts(label_row, ontology)       -> RowCounts (one label row)
    row_counts(row)                       -> RowCounts of a LabelRowV2 already in memory
    counts_by_branch(label_rows, ontology) -> {branch_name: BranchTotals}

Answers are reduced to comparable values: a radio answer is the option's feature hash, a checklist
answer the sorted tuple of option feature hashes, text a str, numeric a float. Dynamic answers
are ``(answer, ((start, end), ...))`` with inclusive frame ranges, as the SDK reports them.

"Answer rows" follow one row per answer value: radio/text/numeric 1, checklist one per selected
option, dynamic one per (value, range). If the warehouse's convention differs, compare against
the detailed dicts instead of the totals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple, Union

from encord.objects import LabelRowV2, OntologyStructure
from encord.objects.attributes import Attribute
from encord.objects.options import NestableOption, Option
from encord.orm.label_row import LabelRowMetadata

Answer = Union[str, float, Tuple[str, ...]]
FrameRanges = Tuple[Tuple[int, int], ...]
DynamicAnswer = Tuple[Answer, FrameRanges]


class _Ontology:
    """LabelRowV2 only reads ``.structure`` from its ontology."""

    def __init__(self, structure: OntologyStructure):
        self.structure = structure


def as_structure(ontology: Union[Dict[str, Any], OntologyStructure]) -> OntologyStructure:
    return ontology if isinstance(ontology, OntologyStructure) else OntologyStructure.from_dict(ontology)


def number_of_frames(label_row: Dict[str, Any]) -> int:
    """Frames as the metadata would say: video from duration x fps, DICOM from its slices,
    img_group from its images, image 1."""
    units = list(label_row["data_units"].values())
    data_type = label_row["data_type"]
    if data_type == "img_group":
        return len(units)
    if data_type == "video" and units[0].get("data_fps") and units[0].get("data_duration"):
        return int(math.ceil(units[0]["data_fps"] * units[0]["data_duration"] - 1e-9))
    frames = [int(frame) for frame in units[0].get("labels", {}) if str(frame).isdigit()]
    return max(frames, default=0) + 1


def metadata_for(label_row: Dict[str, Any]) -> LabelRowMetadata:
    """The LabelRowMetadata list_label_rows_v2 would have produced for this dict."""
    unit = next(iter(label_row["data_units"].values()))
    single_unit = label_row["data_type"] != "img_group"
    return LabelRowMetadata.from_dict({
        **{key: label_row[key] for key in ("label_hash", "branch_name", "data_hash", "dataset_hash",
                                           "dataset_title", "data_title", "label_status")},
        "created_at": label_row.get("created_at"), "last_edited_at": label_row.get("last_edited_at"),
        "data_type": label_row["data_type"].upper(), "data_link": unit.get("data_link") if single_unit else None,
        "annotation_task_status": label_row.get("annotation_task_status"),
        "is_shadow_data": label_row.get("is_shadow_data", False), "spaces": label_row.get("spaces", {}),
        "number_of_frames": number_of_frames(label_row),
        "frames_per_second": unit.get("data_fps"), "duration": unit.get("data_duration"),
        "width": unit.get("width") if single_unit else None, "height": unit.get("height") if single_unit else None,
    })


def load_label_row(label_row: Dict[str, Any], ontology: Union[Dict[str, Any], OntologyStructure]) -> LabelRowV2:
    """The label row as the SDK reads it, built offline (no client)."""
    row = LabelRowV2(metadata_for(label_row), None, _Ontology(as_structure(ontology)))  # type: ignore[arg-type]
    row.from_labels_dict(label_row)
    return row


def walk_attributes(attributes: Iterable[Attribute]) -> Iterator[Attribute]:
    """Every attribute, including those nested under radio options, depth first."""
    for attribute in attributes:
        yield attribute
        for option in getattr(attribute, "options", []):
            if isinstance(option, NestableOption):
                yield from walk_attributes(option.nested_options)


def comparable(answer: Any) -> Optional[Answer]:
    """An SDK answer as a plain value; None when unanswered."""
    if answer is None:
        return None
    if isinstance(answer, Option):
        return answer.feature_node_hash
    if isinstance(answer, (list, tuple, set)):
        return tuple(sorted(option.feature_node_hash for option in answer)) or None
    if isinstance(answer, (int, float)) and not isinstance(answer, bool):
        return float(answer)
    return answer


def ranges_of(ranges) -> FrameRanges:
    return tuple((frame_range.start, frame_range.end) for frame_range in ranges)


def answer_row_count(answer: Answer) -> int:
    return len(answer) if isinstance(answer, tuple) else 1


@dataclass
class RowCounts:
    """One label row as the SDK sees it."""

    label_hash: str
    branch_name: str
    data_hash: str
    data_type: str
    object_instances: int = 0
    object_annotations: int = 0
    annotations_per_frame: Dict[int, int] = field(default_factory=dict)
    object_frames: Dict[str, Tuple[int, ...]] = field(default_factory=dict)
    object_shapes: Dict[str, str] = field(default_factory=dict)
    classification_instances: int = 0
    classification_frames: Dict[str, Tuple[int, ...]] = field(default_factory=dict)
    object_static_answers: Dict[str, Dict[str, Answer]] = field(default_factory=dict)
    object_dynamic_answers: Dict[str, Dict[str, List[DynamicAnswer]]] = field(default_factory=dict)
    classification_answers: Dict[str, Dict[str, Answer]] = field(default_factory=dict)
    frame_sizes: Dict[int, Tuple[int, int]] = field(default_factory=dict)

    @property
    def classification_frame_count(self) -> int:
        return sum(len(frames) for frames in self.classification_frames.values())

    @property
    def static_answer_rows(self) -> int:
        answers = [*self._values(self.object_static_answers), *self._values(self.classification_answers)]
        return sum(answer_row_count(answer) for answer in answers)

    @property
    def dynamic_answer_rows(self) -> int:
        return sum(answer_row_count(answer) * len(ranges)
                   for per_attribute in self.object_dynamic_answers.values()
                   for answers in per_attribute.values() for answer, ranges in answers)

    @staticmethod
    def _values(nested: Dict[str, Dict[str, Answer]]) -> List[Answer]:
        return [answer for per_owner in nested.values() for answer in per_owner.values()]


def sdk_counts(label_row: Dict[str, Any], ontology: Union[Dict[str, Any], OntologyStructure]) -> RowCounts:
    """Load the dict with the SDK and report what its accessors say."""
    return row_counts(load_label_row(label_row, ontology))


def row_counts(row: LabelRowV2) -> RowCounts:
    """What the SDK's accessors say about a LabelRowV2 (loaded from a dict or built in memory)."""
    counts = RowCounts(label_hash=row.label_hash, branch_name=row.branch_name, data_hash=row.data_hash,
                       data_type=row.data_type.value)
    _count_objects(row, counts)
    _count_classifications(row, counts)
    counts.frame_sizes = _frame_sizes(row, counts)
    return counts


def _count_objects(row: LabelRowV2, counts: RowCounts) -> None:
    per_frame: Dict[int, int] = {}
    for instance in row.get_object_instances():
        frames = tuple(sorted(annotation.frame for annotation in instance.get_annotations()))
        for frame in frames:
            per_frame[frame] = per_frame.get(frame, 0) + 1
        counts.object_frames[instance.object_hash] = frames
        counts.object_shapes[instance.object_hash] = instance.ontology_item.shape.value
        static, dynamic = _object_answers(instance)
        counts.object_static_answers[instance.object_hash] = static
        if dynamic:
            counts.object_dynamic_answers[instance.object_hash] = dynamic
    counts.object_instances = len(counts.object_frames)
    counts.object_annotations = sum(per_frame.values())
    counts.annotations_per_frame = dict(sorted(per_frame.items()))


def _object_answers(instance) -> Tuple[Dict[str, Answer], Dict[str, List[DynamicAnswer]]]:
    static: Dict[str, Answer] = {}
    dynamic: Dict[str, List[DynamicAnswer]] = {}
    for attribute in walk_attributes(instance.ontology_item.attributes):
        if attribute.dynamic:
            answers = [(comparable(item.answer), ranges_of(item.ranges)) for item in instance.get_answer(attribute)]
            answers = [(answer, ranges) for answer, ranges in answers if answer is not None]
            if answers:
                dynamic[attribute.feature_node_hash] = sorted(answers, key=lambda item: item[1])
            continue
        answer = comparable(instance.get_answer(attribute))
        if answer is not None:
            static[attribute.feature_node_hash] = answer
    return static, dynamic


def _count_classifications(row: LabelRowV2, counts: RowCounts) -> None:
    for instance in row.get_classification_instances():
        frames = tuple(sorted(annotation.frame for annotation in instance.get_annotations()))
        counts.classification_frames[instance.classification_hash] = frames
        answers = {}
        for attribute in walk_attributes(instance.ontology_item.attributes):
            answer = comparable(instance.get_answer(attribute))
            if answer is not None:
                answers[attribute.feature_node_hash] = answer
        counts.classification_answers[instance.classification_hash] = answers
    counts.classification_instances = len(counts.classification_frames)


def _frame_sizes(row: LabelRowV2, counts: RowCounts) -> Dict[int, Tuple[int, int]]:
    """(width, height) per labelled frame as the SDK's frame view reports it: the image's own
    size for img_group, the slice metadata for DICOM when present, else the data unit's."""
    frames = set(counts.annotations_per_frame)
    frames.update(frame for per_class in counts.classification_frames.values() for frame in per_class)
    sizes = {}
    for frame in sorted(frames):
        view = row.get_frame_view(frame)
        sizes[frame] = (view.width, view.height)
    return sizes


@dataclass
class BranchTotals:
    """Sums over the label rows of one branch name."""

    label_rows: int = 0
    object_instances: int = 0
    object_annotations: int = 0
    classification_instances: int = 0
    classification_frames: int = 0
    static_answer_rows: int = 0
    dynamic_answer_rows: int = 0

    def add(self, counts: RowCounts) -> None:
        self.label_rows += 1
        self.object_instances += counts.object_instances
        self.object_annotations += counts.object_annotations
        self.classification_instances += counts.classification_instances
        self.classification_frames += counts.classification_frame_count
        self.static_answer_rows += counts.static_answer_rows
        self.dynamic_answer_rows += counts.dynamic_answer_rows


def counts_by_branch(label_rows: Iterable[Dict[str, Any]],
                     ontology: Union[Dict[str, Any], OntologyStructure]) -> Dict[str, BranchTotals]:
    structure = as_structure(ontology)
    totals: Dict[str, BranchTotals] = {}
    for label_row in label_rows:
        counts = sdk_counts(label_row, structure)
        totals.setdefault(counts.branch_name, BranchTotals()).add(counts)
    return dict(sorted(totals.items()))
