"""Audio, plain-text, HTML and time-series label rows, which are labeled by ranges, not frames; built with the
real SDK. Normalized (checked against the SDK's own objects), synced from an export and from the
Encord emulator through the real SDK on DuckDB and Postgres, rebuilt, and refused in one line when
a range is malformed."""

from __future__ import annotations

import copy
import json
from datetime import datetime

import pytest
from encord.objects.constants import ROOT_SPACE_ID
from encord.objects.html_node import HtmlRange

from connector import migrate
from connector.normalize import LabelRowError, RowContext, normalize_label_row
from examples import sdk_sample
from examples.sdk_ranges import audio_row, range_ontology, series_row, text_row
from sdk_counts import load_label_row
from sync_helpers import run_sync, snapshot
from tests.encord_emulator.fixtures import encord_emulator, encord_key  # noqa: F401 (fixtures)
from tests.test_sync_export import run_cli
from tests.test_views_docs import RANGE_BLOCKS

CONTEXT = RowContext("p", datetime(2026, 1, 1))


def range_rows():
    return [audio_row(1), text_row(2), text_row(3, html=True), series_row(4), series_row(5, root_space=True)]


ROW_IDS = ["audio", "text", "html", "series", "series-in-root-space"]


def placed(row) -> tuple[list, list]:
    """(object instance, its ranges) and (classification instance, its ranges) as the SDK holds them: on
    the row, or on the row's own (root) space, whose classifications are global (no ranges)."""
    if row.get_spaces():
        space = row.get_space(id=ROOT_SPACE_ID, type_=row.data_type.value)
        return ([(i, space.get_object_ranges(i)) for i in space.get_object_instances()],
                [(c, []) for c in space.get_classification_instances()])
    return ([(i, i.get_annotations()[0].coordinates.range) for i in row.get_object_instances()],
            [(c, c.range_list) for c in row.get_classification_instances()])


def sdk_ranges(row) -> list[tuple]:
    """(owner hash, owner kind, start, end, HTML span) of every range, as the SDK's objects hold them."""
    objects, classifications = placed(row)
    ranges = []
    for instance, spans in objects:
        for span in spans:
            if isinstance(span, HtmlRange):
                html = {end: {"xpath": node.xpath, "offset": node.offset} for end, node in (("start", span.start), ("end", span.end))}
                ranges.append((instance.object_hash, "object", None, None, html))
            else:
                ranges.append((instance.object_hash, "object", span.start, span.end, None))
    for instance, spans in classifications:
        ranges += [(instance.classification_hash, "classification", span.start, span.end, None) for span in spans]
    return sorted(ranges, key=repr)


def sdk_answers(row) -> list[tuple]:
    """(owner hash, attribute name, option name or text) of every static answer, as the SDK reads them."""
    objects, classifications = placed(row)
    answers = []
    for instance, _ in objects + classifications:
        owner = getattr(instance, "object_hash", None) or instance.classification_hash
        for attribute in instance.ontology_item.attributes:
            value = instance.get_answer(attribute)
            if value is not None:
                answers.append((owner, attribute.name, getattr(value, "label", value)))
    return sorted(answers, key=repr)


@pytest.mark.parametrize("row", range_rows(), ids=ROW_IDS)
def test_a_range_row_normalizes_to_its_objects_ranges_and_answers(row):
    tables = normalize_label_row(row.to_encord_dict(), CONTEXT)
    got = sorted(((owner, kind, start, end, html) for _, owner, _, kind, start, end, html in tables["annotation_ranges"]), key=repr)
    assert got == sdk_ranges(row) and got
    instances = {instance.object_hash: instance for instance, _ in placed(row)[0]}
    assert {o[1]: (o[2], o[3], o[6], o[8:11]) for o in tables["objects"]} == {
        h: (i.feature_hash, i.ontology_item.name, i.ontology_item.shape.value, (None, None, None)) for h, i in instances.items()}
    assert {c[1] for c in tables["classifications"]} == {c.classification_hash for c, _ in placed(row)[1]}
    answers = sorted(((a[1], a[5], a[8] or a[10]) for a in tables["attributes"]), key=repr)
    assert answers == sdk_answers(row)
    assert tables["frames"] == tables["object_frames"] == tables["classification_frames"] == []
    seqs = [(owner, seq) for _, owner, seq, *_ in tables["annotation_ranges"]]
    assert len(set(seqs)) == len(seqs)  # the key holds


def test_the_unit_and_its_times_come_from_the_row():
    row = audio_row(1)
    tables = normalize_label_row(row.to_encord_dict(), CONTEXT)
    (unit,) = tables["data_units"]
    assert unit[2:5] == (row.data_title, "audio", "audio/mpeg") and unit[8] == row.duration
    first = row.get_object_instances()[0]
    annotation = first.get_annotations()[0]
    stored = next(o for o in tables["objects"] if o[1] == first.object_hash)
    assert stored[11:] == (annotation.created_by, annotation.created_at.replace(tzinfo=None, microsecond=0),
                           annotation.last_edited_by, annotation.last_edited_at.replace(tzinfo=None, microsecond=0))


def mutated(change):
    row = audio_row(1).to_encord_dict()
    change(row)
    return row


def nested(depth: int) -> list:
    """A list nested `depth` deep: past what orjson writes (254), within what Python's JSON reading takes."""
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


def first_object(row):
    return next(iter(row["object_answers"].values()))


@pytest.mark.parametrize("change, field, reason", [
    (lambda r: first_object(r).update(range=[[2500, 1000]]), ".range[0]", "range ends before it starts"),
    (lambda r: first_object(r).update(range=[[-1, 10]]), ".range[0]", "range bound -1 is not a non-negative integer"),
    (lambda r: first_object(r).update(range="1000-2500"), ".range", "expected a list of [start, end] pairs"),
    (lambda r: first_object(r).update(range_html=[{"start": 3}]), ".range_html[0]", "expected {start: {xpath, offset}"),
    (lambda r: first_object(r).update(range_html=[{"start": {"xpath": nested(300)}, "end": {}}]), ".range_html[0]",
     "nested too deep to store as JSON"),
    (lambda r: first_object(r).pop("featureHash"), ".featureHash", "missing"),
    (lambda r: next(iter(r["data_units"].values())).update(labels={"0": {"objects": []}}), ".labels", "expected none"),
])
def test_a_malformed_range_row_is_refused_naming_its_field(change, field, reason):
    row = mutated(change)
    with pytest.raises(LabelRowError) as refused:
        normalize_label_row(row, CONTEXT)
    assert refused.value.field.endswith(field) and reason in refused.value.reason
    assert str(refused.value).startswith(f"label row {row['label_hash']} ({row['data_title']}): ")


@pytest.mark.parametrize("make", [audio_row, text_row, series_row], ids=["audio", "text", "series"])
def test_overlapping_adjacent_and_repeated_ranges_are_stored_as_the_sdk_holds_them(make):
    """A row written by hand (or an older Encord) with ranges that overlap, touch or repeat: stored joined and
    sorted, as the SDK reads the same dict and as a sync from Encord (which writes what the SDK holds) stores."""
    row = make(1).to_encord_dict()
    written = [[2000, 14999], [10000, 20000], [20001, 25000], [2000, 14999], [40000, 40010], [30000, 30000]]
    first_object(row).update(range=written)
    for space in (first_object(row).get("spaces") or {}).values():
        space["range"] = written
    tables = normalize_label_row(row, CONTEXT)
    owner = first_object(row)["objectHash"]
    stored = [(start, end) for _, o, _, _, start, end, _ in tables["annotation_ranges"] if o == owner]
    assert stored == [(2000, 25000), (30000, 30000), (40000, 40010)]
    held = load_label_row(row, range_ontology())
    assert [(s, e, h) for o, k, s, e, h in sdk_ranges(held) if o == owner] == [(s, e, None) for s, e in stored]


def test_range_rows_sync_from_an_export_beside_a_video_and_rebuild_the_same(warehouse, tmp_path):
    rows = range_rows()
    bad = mutated(lambda r: first_object(r).update(range=[[9, 1]], objectHash="x"))
    bad.update(label_hash="bad-audio", data_hash="bad-data", data_title="bad.mp3")
    export = tmp_path / "export.json"
    export.write_text(json.dumps([*(row.to_encord_dict() for row in rows), sdk_sample.video_row(1).to_encord_dict(), bad]))
    result = run_cli(warehouse, "sync", "--from-export", str(export))
    assert result.exit_code == 1 and "6 inserted, 0 updated, 0 unchanged, 0 deleted, 1 failed" in result.output
    assert warehouse.rows("SELECT label_hash, field FROM sync_errors") == [("bad-audio", f"object_answers.{next(iter(bad['object_answers']))}.range[0]")]
    for row in rows:
        stored = warehouse.rows("SELECT owner_hash, owner_kind, range_start, range_end, CAST(html_range AS VARCHAR) "
                                "FROM annotation_ranges WHERE label_hash = :h", h=row.label_hash)
        assert sorted(((o, k, s, e, json.loads(h) if h else None) for o, k, s, e, h in stored), key=repr) == sdk_ranges(row)
    assert warehouse.rows("SELECT data_type, count(*) FROM data_units GROUP BY data_type ORDER BY data_type") == [
        ("audio", 1), ("plain_text", 2), ("time_series", 2), ("video", 1)]
    before = snapshot(warehouse)
    again = run_cli(warehouse, "sync", "--from-export", str(export))
    assert "0 inserted, 0 updated, 6 unchanged" in again.output
    assert run_cli(warehouse, "rebuild").exit_code == 0
    assert snapshot(warehouse) == before


def test_range_rows_sync_from_encord_through_the_sdk(warehouse, encord_emulator, key_path):  # noqa: F811
    project = encord_emulator.add_project(title="Voices", ontology=range_ontology().to_dict())
    rows = range_rows()
    for row in rows:
        encord_emulator.put_row(project, row.to_encord_dict())
    run_sync(warehouse, encord_emulator, key_path, project)
    assert warehouse.scalar("SELECT count(*) FROM sync_errors") == 0
    for row in rows:
        stored = warehouse.rows("SELECT owner_hash, owner_kind, range_start, range_end, CAST(html_range AS VARCHAR) "
                                "FROM annotation_ranges WHERE label_hash = :h", h=row.label_hash)
        assert sorted(((o, k, s, e, json.loads(h) if h else None) for o, k, s, e, h in stored), key=repr) == sdk_ranges(row)
    edited = copy.deepcopy(rows[0].to_encord_dict())
    first_object(edited)["range"] = [[0, 10]]
    spaced = copy.deepcopy(rows[-1].to_encord_dict())
    first_object(spaced)["spaces"][ROOT_SPACE_ID]["range"] = [[5, 6], [8, 9]]
    for row in (edited, spaced):
        encord_emulator.put_row(project, row)
    run_sync(warehouse, encord_emulator, key_path, project)
    for row, ranges in ((edited, [(0, 10)]), (spaced, [(5, 6), (8, 9)])):
        assert warehouse.rows("SELECT range_start, range_end FROM annotation_ranges WHERE owner_hash = :o ORDER BY range_seq",
                              o=next(iter(row["object_answers"]))) == ranges


@pytest.fixture
def key_path(encord_key, tmp_path):
    return tmp_path / "encord_key"


def test_range_labels_answers_the_docs_question_of_who_speaks_when(warehouse, tmp_path):
    rows = range_rows()
    export = tmp_path / "export.json"
    export.write_text(json.dumps([row.to_encord_dict() for row in rows]))
    assert run_cli(warehouse, "sync", "--from-export", str(export)).exit_code == 0
    question, _ = RANGE_BLOCKS
    audio = rows[0]
    expected = sorted((audio.data_title, span.start / 1000, span.end / 1000, instance.ontology_item.name,
                       instance.get_answer(instance.ontology_item.attributes[0]).label)
                      for instance in audio.get_object_instances()
                      for span in instance.get_annotations()[0].coordinates.range)
    assert warehouse.rows(question) == expected and expected
    html = rows[2]
    stored = warehouse.rows("SELECT name, range_start, CAST(html_range AS VARCHAR) FROM range_labels WHERE label_hash = :h "
                            "ORDER BY owner_hash, range_seq", h=html.label_hash)
    names = {instance.object_hash: instance.ontology_item.name for instance in html.get_object_instances()}
    assert sorted(((name, start, json.loads(span)) for name, start, span in stored), key=repr) == sorted(
        ((names[owner], None, span) for owner, _, _, _, span in sdk_ranges(html)), key=repr)
    classified = warehouse.rows("SELECT data_title, classification_answer, range_start, range_end FROM range_labels "
                                "WHERE label_kind = 'classification' ORDER BY data_title")
    assert classified == sorted((row.data_title, "calm", span.start, span.end) for row in rows
                                for _, spans in placed(row)[1] for span in spans)


def test_range_labels_answers_the_docs_question_of_how_long_each_activity_lasted(warehouse, tmp_path):
    rows = [series_row(1), series_row(2, root_space=True), audio_row(3)]
    export = tmp_path / "export.json"
    export.write_text(json.dumps([row.to_encord_dict() for row in rows]))
    assert run_cli(warehouse, "sync", "--from-export", str(export)).exit_code == 0
    _, question = RANGE_BLOCKS
    expected = {}
    for row in rows[:2]:
        for instance, spans in placed(row)[0]:
            motion = instance.get_answer(instance.ontology_item.attributes[0]).label
            count, duration = expected.get((row.data_title, motion), (0, 0))
            expected[(row.data_title, motion)] = (count + len(spans), duration + sum(s.end - s.start + 1 for s in spans))
    got = [(title, motion, count, int(duration)) for title, motion, count, duration in warehouse.rows(question)]
    assert got == [(*key, *value) for key, value in sorted(expected.items())] and len(got) == 4
    (whole_file, _), = placed(rows[1])[1]  # the root space's Tone: no ranges
    assert warehouse.rows("SELECT attribute_name, answer FROM attribute_answers WHERE owner_hash = :h",
                          h=whole_file.classification_hash) == [("Tone", "calm")]
    assert warehouse.scalar("SELECT count(*) FROM range_labels WHERE owner_hash = :h", h=whole_file.classification_hash) == 0


@pytest.mark.parametrize("make, kind", [(audio_row, "audio"), (series_row, "time_series")])
def test_labels_of_a_range_title_points_to_range_labels_in_one_line(warehouse, tmp_path, make, kind):
    row = make(1)
    export = tmp_path / "export.json"
    export.write_text(json.dumps([row.to_encord_dict()]))
    assert run_cli(warehouse, "sync", "--from-export", str(export)).exit_code == 0
    warehouse.engine.dispose()  # labels opens a DuckDB file read-only
    result = run_cli(warehouse, "labels", "--title", row.data_title, "--start", "0", "--end", "10")
    assert (result.exit_code, result.output) == (2, f"encord-warehouse: {row.data_title!r} is {kind}, labeled by ranges, "
                                                    "not frames: its labels are in the view range_labels\n")


def test_a_downgrade_below_0010_drops_the_ranges_and_a_rebuild_after_upgrading_writes_them_back(warehouse, tmp_path):
    export = tmp_path / "export.json"
    export.write_text(json.dumps([row.to_encord_dict() for row in range_rows()]))
    assert run_cli(warehouse, "sync", "--from-export", str(export)).exit_code == 0
    before = snapshot(warehouse)
    migrate.downgrade(warehouse.engine, "0009")
    migrate.upgrade(warehouse.engine)
    assert warehouse.scalar("SELECT count(*) FROM annotation_ranges") == 0
    assert run_cli(warehouse, "rebuild").exit_code == 0
    assert snapshot(warehouse) == before and before["annotation_ranges"]
