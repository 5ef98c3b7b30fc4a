"""Audio, plain-text, HTML and time-series label rows, built offline with the real SDK (encord 0.1.211).

These data types are labeled by ranges, not frames: an object is placed on ranges of milliseconds
(audio), characters (plain text) or a time series' timestamps, or on spans between HTML nodes; a
classification on ranges too.
The SDK writes their objects into ``object_answers`` with a ``range`` (or ``range_html``) list, or
for an object put on the row's own space with ``spaces.root.range``, and leaves the data units'
``labels`` empty.

    range_ontology()    a Speech object (audio), an Entity object (text), an Activity object (time
                        series), a Tone classification
    audio_row(seed)     a 12.5 s recording: two speakers, one on two ranges; Tone over the first 3 s
    text_row(seed)      a plain-text document, or with ``html=True`` an HTML one (spans between nodes)
    series_row(seed)    a minute of accelerometer readings (CSV, time in ms): walking on two ranges,
                        running on one; Tone over the first second (``root_space=True``: the same put
                        on the row's own time-series space, Tone global)
"""

from __future__ import annotations

from typing import Optional

from encord.objects import LabelRowV2, ObjectInstance, OntologyStructure, Shape
from encord.objects.attributes import RadioAttribute, TextAttribute
from encord.objects.classification_instance import ClassificationInstance
from encord.objects.constants import ROOT_SPACE_ID
from encord.objects.coordinates import AudioCoordinates, HtmlCoordinates, TextCoordinates, TimeRangeCoordinates
from encord.objects.frames import Range
from encord.objects.html_node import HtmlNode, HtmlRange

from examples.sdk_rows import MEDIA_ROOT, Labeller, Media, empty_label_row, row_identity, short_hash

AUDIO_MS = 12_500
SERIES_MS = 60_000


def range_ontology() -> OntologyStructure:
    ontology = OntologyStructure()
    speech = ontology.add_object(name="Speech", shape=Shape.AUDIO, feature_node_hash="f-speech")
    speaker = speech.add_attribute(RadioAttribute, name="Speaker", feature_node_hash="a-speaker")
    speaker.add_option(label="alice", feature_node_hash="o-alice")
    speaker.add_option(label="bob", feature_node_hash="o-bob")
    speech.add_attribute(TextAttribute, name="Transcript", feature_node_hash="a-transcript")
    entity = ontology.add_object(name="Entity", shape=Shape.TEXT, feature_node_hash="f-entity")
    kind = entity.add_attribute(RadioAttribute, name="Kind", feature_node_hash="a-kind")
    kind.add_option(label="person", feature_node_hash="o-person")
    kind.add_option(label="place", feature_node_hash="o-place")
    activity = ontology.add_object(name="Activity", shape=Shape.TIME_RANGE, feature_node_hash="f-activity")
    motion = activity.add_attribute(RadioAttribute, name="Motion", feature_node_hash="a-motion")
    motion.add_option(label="walking", feature_node_hash="o-walking")
    motion.add_option(label="running", feature_node_hash="o-running")
    tone = ontology.add_classification(feature_node_hash="c-tone")
    calm = tone.add_attribute(RadioAttribute, name="Tone", feature_node_hash="a-tone")
    calm.add_option(label="calm", feature_node_hash="o-calm")
    return ontology


def audio_row(seed: int = 0, *, ontology: Optional[OntologyStructure] = None) -> LabelRowV2:
    ontology = ontology or range_ontology()
    ids = row_identity("audio", seed, extension="mp3")
    link = f"{MEDIA_ROOT}/{ids.data_title}"
    unit = {"data_hash": ids.data_hash, "data_title": ids.data_title, "data_link": link, "data_type": "audio/mpeg",
            "data_sequence": 0, "labels": {}, "data_duration": AUDIO_MS / 1000, "audio_codec": "mp3",
            "audio_sample_rate": 44100, "audio_bit_depth": 16, "audio_num_channels": 2}
    media = Media("audio", 1, {ids.data_hash: unit}, file_type="audio/mpeg", data_link=link, duration=AUDIO_MS / 1000)
    labeller = Labeller(empty_label_row(ontology, ids, media), ids, ontology)
    speech = ontology.get_child_by_hash("f-speech")
    for key, speaker, spans, words in (("alice", "o-alice", [(1000, 2500), (4000, 4999)], "hello there"),
                                       ("bob", "o-bob", [(6000, 9000)], "hi")):
        instance = ObjectInstance(speech, object_hash=short_hash(ids.label_hash, "object", key))
        instance.set_for_frames(AudioCoordinates(range=[Range(start, end) for start, end in spans]),
                                manual_annotation=True, **labeller.stamp(len(spans)))
        instance.set_answer(labeller.option(speaker), attribute=labeller.attribute("a-speaker"))
        instance.set_answer(words, attribute=labeller.attribute("a-transcript"))
        labeller.row.add_object_instance(instance)
    _tone(labeller, Range(0, 3000))
    return labeller.row


def text_row(seed: int = 0, *, html: bool = False, ontology: Optional[OntologyStructure] = None) -> LabelRowV2:
    ontology = ontology or range_ontology()
    ids = row_identity("html" if html else "text", seed, extension="html" if html else "txt")
    link, file_type = f"{MEDIA_ROOT}/{ids.data_title}", "text/html" if html else "text/plain"
    unit = {"data_hash": ids.data_hash, "data_title": ids.data_title, "data_link": link, "data_type": file_type,
            "data_sequence": 0, "labels": {}}
    media = Media("plain_text", 1, {ids.data_hash: unit}, file_type=file_type, data_link=link)
    labeller = Labeller(empty_label_row(ontology, ids, media), ids, ontology)
    entity = ontology.get_child_by_hash("f-entity")
    for key, kind, (start, end) in (("ada", "o-person", (0, 13)), ("london", "o-place", (27, 33))):
        instance = ObjectInstance(entity, object_hash=short_hash(ids.label_hash, "object", key))
        coordinates = (HtmlCoordinates(range=[HtmlRange(start=HtmlNode(xpath="/html/body/p[1]", offset=start),
                                                        end=HtmlNode(xpath="/html/body/p[1]", offset=end))])
                       if html else TextCoordinates(range=[Range(start, end)]))
        instance.set_for_frames(coordinates, manual_annotation=False, **labeller.stamp(start))
        instance.set_answer(labeller.option(kind), attribute=labeller.attribute("a-kind"))
        labeller.row.add_object_instance(instance)
    if not html:
        _tone(labeller, Range(0, 40))
    return labeller.row


def series_row(seed: int = 0, *, root_space: bool = False, ontology: Optional[OntologyStructure] = None) -> LabelRowV2:
    """With ``root_space`` the row has its own time-series space (as a listing may say) and the objects are
    put on it: the SDK then writes their ranges to object_answers.<hash>.spaces.root.range, and Tone is
    global (a range space's classifications have no ranges)."""
    ontology = ontology or range_ontology()
    ids = row_identity("spaced-series" if root_space else "series", seed, extension="csv")
    link = f"{MEDIA_ROOT}/{ids.data_title}"
    unit = {"data_hash": ids.data_hash, "data_title": ids.data_title, "data_link": link, "data_type": "text/csv",
            "data_sequence": 0, "labels": {}, "data_duration": SERIES_MS / 1000}
    spaces = {ROOT_SPACE_ID: {"space_type": "time_series", "labels": {}, "root_info": {"file_name": ids.data_title}}}
    media = Media("time_series", 1, {ids.data_hash: unit}, file_type="text/csv", data_link=link,
                  duration=SERIES_MS / 1000, spaces=spaces if root_space else {})
    labeller = Labeller(empty_label_row(ontology, ids, media), ids, ontology)
    space = labeller.row.get_space(id=ROOT_SPACE_ID, type_="time_series") if root_space else None
    activity = ontology.get_child_by_hash("f-activity")
    for key, motion, spans in (("walk", "o-walking", [(2000, 14999), (31000, 40000)]), ("run", "o-running", [(15000, 30999)])):
        instance = ObjectInstance(activity, object_hash=short_hash(ids.label_hash, "object", key))
        ranges = [Range(start, end) for start, end in spans]
        if space is None:
            instance.set_for_frames(TimeRangeCoordinates(range=ranges), manual_annotation=True, **labeller.stamp(len(spans)))
            labeller.row.add_object_instance(instance)
        else:
            space.put_object_instance(instance, ranges=ranges, manual_annotation=True, **labeller.stamp(len(spans)))
        instance.set_answer(labeller.option(motion), attribute=labeller.attribute("a-motion"))
    if space is None:
        _tone(labeller, Range(0, 999))
    else:
        tone = _tone_instance(labeller, range_only=False)
        space.put_classification_instance(tone, manual_annotation=True, **labeller.stamp(1))
        tone.set_answer(labeller.option("o-calm"), attribute=labeller.attribute("a-tone"))
    return labeller.row


def _tone(labeller: Labeller, span: Range) -> None:
    instance = _tone_instance(labeller, range_only=True)
    instance.set_for_frames(span, manual_annotation=True, **labeller.stamp(1))
    instance.set_answer(labeller.option("o-calm"), attribute=labeller.attribute("a-tone"))
    labeller.row.add_classification_instance(instance)


def _tone_instance(labeller: Labeller, *, range_only: bool) -> ClassificationInstance:
    return ClassificationInstance(labeller.ontology.get_child_by_hash("c-tone"), range_only=range_only,
                                  classification_hash=short_hash(labeller.ids.label_hash, "classification", "tone"))
