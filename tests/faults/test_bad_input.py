"""Bad input: each bad label row is quarantined in sync_errors (label_hash, field, reason) while the
rest loads exactly as a clean sync of the good rows alone would load them; bad coordinates are
kept and flagged (object_frames.problems, and a sync_errors row marked kept), never clamped."""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path

from click.testing import CliRunner

from conftest import reference_snapshot, sample_rows
from connector.cli import cli
from sync_helpers import run_sync, snapshot
from tests.encord_emulator import clone_row

ROOT = Path(__file__).resolve().parents[2]

LABEL_TABLES = ["branches", "frames", "objects", "object_frames", "classifications", "classification_frames",
                "attributes", "data_units"]


def image_objects(row):
    return next(iter(row["data_units"].values()))["labels"]["objects"]


def first_video_frame(row):
    labels = next(iter(row["data_units"].values()))["labels"]
    return labels[min(labels, key=int)]


def set_path(**changes):
    def mutate(row):
        obj = image_objects(row)[0]
        for key, value in changes.items():
            target, _, leaf = key.rpartition("__")
            (obj[target] if target else obj)[leaf] = value
    return mutate


def set_top(key, value):
    return lambda row: row.__setitem__(key, value)


def drop_top(key):
    return lambda row: row.pop(key)


def duplicate_object(row):
    objects = image_objects(row)
    objects.append(dict(objects[0]))


def labels_objects_not_a_list(row):
    next(iter(row["data_units"].values()))["labels"]["objects"] = 5


def polygon_vertex(value):
    def mutate(row):
        polygon = next(o for o in image_objects(row) if o["shape"] == "polygon")
        polygon["polygon"]["0"]["x"] = value
        polygon.pop("polygons", None)
    return mutate


def shared_data_sequence(row):
    for unit in row["data_units"].values():
        unit["data_sequence"] = "1"


def video_frame_key(key):
    def mutate(row):
        labels = next(iter(row["data_units"].values()))["labels"]
        labels[key] = labels.pop(min(labels, key=int))
    return mutate


def frame_classifications(*entries):
    def mutate(row):
        next(iter(row["data_units"].values()))["labels"]["classifications"] = list(entries)
    return mutate


def first_frame_metadata(value):
    return lambda row: first_video_frame(row).__setitem__("metadata", value)


def a_bitmask(key, value):
    def mutate(row):
        next(o for o in image_objects(row) if o["shape"] == "bitmask")["bitmask"][key] = value
    return mutate


def unit_width(value):
    return lambda row: next(iter(row["data_units"].values())).__setitem__("width", value)


def an_object_answer(entry):
    def mutate(row):
        answer = next(iter(row["object_answers"].values()))
        answer["classifications"] = [entry]
    return mutate


# name -> (base row: image|video|img_group, mutation, expected outcome)
QUARANTINED = {
    "missing data_units": ("image", drop_top("data_units"), ("data_units", "missing")),
    "missing objectHash": ("image", set_path(objectHash=None), (".objectHash", "missing")),
    "data_units a list": ("image", set_top("data_units", []), ("data_units", "missing")),
    "objects not a list": ("image", labels_objects_not_a_list, (".objects", "expected a list")),
    "x a string": ("image", set_path(boundingBox__x="0.5"), (".boundingBox.x", "expected a number")),
    "name an object": ("image", set_path(name={"en": "car"}), ("name", "expected text")),
    "manualAnnotation a string": ("image", set_path(manualAnnotation="yes"), ("manual_annotation", "expected true or false")),
    "duplicate object hash": ("image", duplicate_object, (".objectHash", "duplicate object")),
    "unknown shape": ("image", set_path(shape="hexagon"), (".shape", "unknown shape 'hexagon'")),
    "unknown data type": ("image", set_top("data_type", "hologram"), ("data_type", "unsupported data type")),
    "malformed createdAt": ("image", set_path(createdAt="yesterday"), (".createdAt", "unreadable timestamp")),
    "malformed last_edited_at": ("image", set_top("last_edited_at", "2023-13-45 25:61:00"), ("last_edited_at", "unreadable timestamp")),
    "NUL in a name": ("image", set_path(name="Car\x00"), ("name", "NUL")),
    "NUL in the title": ("image", set_top("data_title", "bad\x00title"), ("data_title", "NUL")),
    # Postgres keeps a NUL inside json, but views reading it as text (labels, frame_labels) would fail for every title
    "NUL in a bitmask's text": ("image", a_bitmask("rleString", "ab\x00c"), ("object_frames.geometry", "NUL")),
    "width text": ("image", unit_width("wide"), (".width", "expected an integer, got 'wide'")),
    "width fractional": ("image", unit_width(1280.7), (".width", "expected an integer, got 1280.7")),
    "width true": ("image", unit_width(True), (".width", "expected an integer, got True")),
    "lone surrogate in the title": ("image", set_top("data_title", "bad \ud800 title"), ("<row>", "lone surrogate")),
    "data title past an index entry": ("image", set_top("data_title", "\u65e5" * 400), ("data_title", "1200 bytes of text")),
    "object hash past an index entry": ("image", set_path(objectHash="o" * 1001), ("object_hash", "1001 bytes of text")),
    "negative frame key": ("video", video_frame_key("-1"), ("labels['-1']", "not a non-negative integer")),
    "frame past 32 bits": ("video", video_frame_key(str(2**40)), ("frame", "out of range")),
    "images sharing a data_sequence": ("img_group", shared_data_sequence,
                                       (".data_sequence", "frame 1 is data unit ")),
    # wrong types where a hash or an object is expected: one line naming the field, not a Python error
    "data_hash a list": ("image", set_top("data_hash", ["d"]), ("data_hash", "expected text, got list")),
    "objectHash a list": ("image", set_path(objectHash=["o"]), (".objectHash", "expected text, got list")),
    "shape an object": ("image", set_path(shape={"kind": "box"}), (".shape", "expected text, got dict")),
    "frame classification not an object": ("image", frame_classifications("Weather"),
                                           (".classifications[0]", "expected an object")),
    "classificationHash a list": ("image", frame_classifications({"classificationHash": ["c"]}),
                                  (".classifications[0].classificationHash", "expected text, got list")),
    "frame metadata text": ("video", first_frame_metadata("slice 1"), (".metadata", "expected an object")),
    "workflow_graph_node text": ("image", set_top("workflow_graph_node", "Review"),
                                 ("workflow_graph_node", "expected an object")),
    "createdAt a number": ("image", set_path(createdAt=1700000000), (".createdAt", "unreadable timestamp")),
    "createdAt past year 9999": ("image", set_path(createdAt="9999-12-31T23:00:00-05:00"),
                                 (".createdAt", "unreadable timestamp")),
    "object action not an object": ("video", set_top("object_actions", {"o1": {"actions": ["open"]}}),
                                    ("object_actions.o1.actions[0]", "expected an object")),
    "attribute featureHash a list": ("image", an_object_answer({"featureHash": ["f"], "answers": "x"}),
                                     (".featureHash", "expected text, got list")),
}
KEPT = {
    "NaN x": ("image", set_path(boundingBox__x=float("nan")), "x=nan not finite"),
    "inf w": ("image", set_path(boundingBox__w=float("inf")), "w=inf not finite"),
    "negative y": ("image", set_path(boundingBox__y=-0.25), "y=-0.25 < 0"),
    "h out of range": ("image", set_path(boundingBox__h=1.75), "h=1.75 > 1"),
    "polygon vertex negative": ("image", polygon_vertex(-0.2), "points[0].x=-0.2 < 0"),
}
NASTY_TEXT = "Robert'); DROP TABLE branches;-- \"quoted\" \\back\\slash 100% _under_ ü 日本 🚗 \u202e"


def build_export(tmp_path):
    rows = sample_rows()
    video, image = rows[0], rows[3]
    bases = {"video": video, "image": image, "img_group": rows[6]}
    good = [rows[1], rows[4], clone_row(image, data_title=NASTY_TEXT), clone_row(video, data_title="huge fps")]
    image_objects(good[2])[0]["name"] = NASTY_TEXT
    next(iter(good[3]["data_units"].values())).update(data_fps=1e308, data_duration=1e308)  # their product overflows
    good[2]["dataset_title"] = "'; SELECT pg_sleep(10); --"
    bad, kept, expected = [], [], {}
    for name, (base, mutate, outcome) in QUARANTINED.items():
        row = clone_row(bases[base], data_title=f"bad {name}")
        mutate(row)
        bad.append(row)
        expected[row["label_hash"]] = outcome
    for name, (base, mutate, problem) in KEPT.items():
        row = clone_row(image, data_title=f"kept {name}")
        mutate(row)
        kept.append(row)
        expected[row["label_hash"]] = problem
    return good, bad, kept, expected


def write(tmp_path, name, rows):
    """JSON Lines, with NaN/Infinity tokens as Python's json.dump writes them (and the SDK reads them)."""
    path = tmp_path / name
    path.write_text("".join(json.dumps(row, allow_nan=True) + "\n" for row in rows))
    return path


def export_sync(warehouse, path, expect):
    result = CliRunner().invoke(cli, ["sync", "--from-export", str(path), "--batch-size", "4", *warehouse.cli_args],
                                catch_exceptions=False)
    assert result.exit_code == expect, result.output
    return result


def test_a_label_hash_with_a_nul_is_quarantined_and_the_rest_loads(warehouse, tmp_path):
    """Postgres refuses a NUL even as a query parameter: the lookup of stored fingerprints failed the whole
    sync there, where DuckDB quarantined the row."""
    rows = sample_rows()[3:5]
    rows[1]["label_hash"] = "lh\x00bad"
    export_sync(warehouse, write(tmp_path, "nul.jsonl", rows), expect=1)
    assert warehouse.rows("SELECT label_hash FROM branches") == [(rows[0]["label_hash"],)]
    assert warehouse.rows("SELECT label_hash, field FROM sync_errors") == [("'lh\\x00bad'", "branches.label_hash")]
    assert warehouse.rows("SELECT status FROM sync_runs") == [("partial",)]


def test_bad_rows_are_quarantined_bad_coordinates_kept_and_flagged(warehouse, other_warehouse, tmp_path):
    good, bad, kept, expected = build_export(tmp_path)
    everything = good[:2] + bad[:8] + kept + bad[8:] + good[2:]
    export_sync(warehouse, write(tmp_path, "all.jsonl", everything), expect=1)
    export_sync(other_warehouse, write(tmp_path, "good.jsonl", good + kept), expect=0)

    errors = warehouse.rows("SELECT label_hash, field, reason, kept FROM sync_errors")
    quarantined = {h: (f, r) for h, f, r, k in errors if not k}
    for row in bad:
        field, reason = quarantined.pop(row["label_hash"])
        want_field, want_reason = expected[row["label_hash"]]
        assert want_field in field and want_reason in reason, (row["data_title"], field, reason)
        assert warehouse.scalar("SELECT count(*) FROM branches WHERE label_hash = :h", h=row["label_hash"]) == 0
    assert quarantined == {}
    stored_titles = dict(warehouse.rows("SELECT label_hash, data_title FROM sync_errors WHERE kept IS NULL"))
    for row in bad:  # a title no warehouse can store (a NUL, a lone surrogate) is recorded as its repr
        title = row["data_title"]
        storable = "\x00" not in title and "\ud800" not in title
        assert stored_titles[row["label_hash"]] == (title if storable else repr(title))

    flagged = {h: r for h, f, r, k in errors if k}
    for row in kept:
        problems = warehouse.rows("SELECT problems FROM object_frames WHERE label_hash = :h AND problems IS NOT NULL",
                                  h=row["label_hash"])
        assert [p for (p,) in problems] == [expected[row["label_hash"]]], row["data_title"]
        assert expected[row["label_hash"]] in flagged.pop(row["label_hash"])
    assert flagged == {}
    box = warehouse.rows("SELECT x, y, w, h FROM object_frames WHERE label_hash = :h AND shape = 'bounding_box'",
                         h=kept[0]["label_hash"])[0]
    assert math.isnan(box[0]) and box[1:] == (0.5, 0.2, 0.15)  # kept as sent, not clamped or dropped
    assert warehouse.scalar("SELECT w FROM object_frames WHERE label_hash = :h AND shape = 'bounding_box'",
                            h=kept[1]["label_hash"]) == math.inf

    assert snapshot(warehouse, LABEL_TABLES) == snapshot(other_warehouse, LABEL_TABLES)
    nasty = good[2]
    assert warehouse.scalar("SELECT data_title FROM data_units WHERE data_hash = :d", d=nasty["data_hash"]) == NASTY_TEXT
    assert warehouse.scalar("SELECT dataset_title FROM data_units WHERE data_hash = :d", d=nasty["data_hash"]) == \
        nasty["dataset_title"]
    assert NASTY_TEXT in {n for (n,) in warehouse.rows("SELECT name FROM objects WHERE label_hash = :h", h=nasty["label_hash"])}


def test_rows_whose_label_hash_is_not_text_are_each_recorded(warehouse, tmp_path):
    """They have no label hash to key them by: each is its own problem, found by its place in the file."""
    rows = sample_rows()
    odd = [clone_row(rows[3], data_title=f"odd {n}") for n in range(3)]
    for row, label_hash in zip(odd, (5, 6, [7])):
        row["label_hash"] = label_hash
    export_sync(warehouse, write(tmp_path, "odd.jsonl", [rows[1], *odd, rows[4]]), expect=1)
    assert warehouse.rows("SELECT label_hash, data_title, field, reason, source FROM sync_errors ORDER BY source") == [
        (None, "odd 0", "label_hash", "expected text, got int 5", "odd.jsonl:2"),
        (None, "odd 1", "label_hash", "expected text, got int 6", "odd.jsonl:3"),
        (None, "odd 2", "label_hash", "expected text, got list [7]", "odd.jsonl:4"),
    ]
    assert warehouse.rows("SELECT label_hash FROM branches ORDER BY 1") == sorted(
        [(rows[1]["label_hash"],), (rows[4]["label_hash"],)])


def test_a_label_hash_kilobytes_long_is_recorded_shortened(warehouse, tmp_path):
    """Quarantined for its length; sync_errors' index (Postgres: at most about 2.7 kB an entry) takes it cut,
    with a digest, and so does the one-line error."""
    rows = sample_rows()
    long_hash = os.urandom(4500).hex()  # 9,000 characters that do not compress
    bad = clone_row(rows[3], data_title="long hash")
    bad["label_hash"] = long_hash
    result = export_sync(warehouse, write(tmp_path, "long.jsonl", [rows[1], bad]), expect=1)
    assert long_hash not in result.output
    ((label_hash, field),) = warehouse.rows("SELECT label_hash, field FROM sync_errors")
    digest = hashlib.sha256(long_hash.encode()).hexdigest()[:16]
    assert label_hash == f"{long_hash[:200]}… (9000 characters, sha256 {digest}…)"
    assert field == "branches.label_hash" and f"{long_hash[:200]}…" in result.output
    assert warehouse.rows("SELECT label_hash FROM branches") == [(rows[1]["label_hash"],)]


def video_past_its_end(frame=5000):
    video = sample_rows()[0]
    labels = next(iter(video["data_units"].values()))["labels"]
    labels[str(frame)] = labels.pop(max(labels, key=int))
    return video


def test_a_frame_beyond_the_video_length_is_kept_and_flagged(warehouse, tmp_path):
    """From an export: the length is the unit's duration x fps (60 frames here)."""
    video = video_past_its_end()
    export_sync(warehouse, write(tmp_path, "past.jsonl", [video]), expect=0)
    problems = {p for (p,) in warehouse.rows("SELECT DISTINCT problems FROM object_frames WHERE frame = 5000")}
    assert problems == {"frame 5000 beyond the video's 60 frames"}
    assert warehouse.scalar("SELECT count(*) FROM object_frames WHERE frame <> 5000 AND problems IS NOT NULL") == 0
    assert warehouse.scalar("SELECT kept FROM sync_errors WHERE label_hash = :h", h=video["label_hash"])


def last_frame(video) -> int:
    """As an export says it: duration x fps, less one."""
    unit = next(iter(video["data_units"].values()))
    return round(unit["data_duration"] * unit["data_fps"]) - 1


def classification_range_to(video, end) -> tuple[str, int]:
    """Edits the last range of the video's classification whose range ends last to end at `end` (so that no
    other instance of its ontology classification is on the frames it gains: the SDK refuses that); returns
    that classification's hash and the range's start."""
    ranged = [(h, a) for h, a in video["classification_answers"].items() if a.get("range")]
    classification_hash, answer = max(ranged, key=lambda item: item[1]["range"][-1][1])
    answer["range"][-1][1] = end
    return classification_hash, answer["range"][-1][0]


def classification_frames_of(warehouse, classification_hash):
    return [f for (f,) in warehouse.rows("SELECT frame FROM classification_frames WHERE classification_hash = :c "
                                         "ORDER BY frame", c=classification_hash)]


def test_a_classification_range_past_the_video_end_is_cut_there_and_flagged(warehouse, tmp_path):
    """From an export, a range written to end at 2**31 - 1 ("the whole video"): a row per frame of the video,
    not two billion; the classification says what was left out, and the row fixed resolves the problem."""
    video = sample_rows()[0]
    last = last_frame(video)
    classification_hash, start = classification_range_to(video, 2**31 - 1)
    export_sync(warehouse, write(tmp_path, "past.jsonl", [video]), expect=0)
    frames = classification_frames_of(warehouse, classification_hash)
    assert frames[-1] == last and set(range(start, last + 1)) <= set(frames)
    assert warehouse.scalar("SELECT max(frame) FROM frames WHERE label_hash = :h", h=video["label_hash"]) == last
    problems = dict(warehouse.rows("SELECT classification_hash, problems FROM classifications"))
    assert problems.pop(classification_hash) == \
        f"range [{start}, {2**31 - 1}] past the last frame ({last}): frames {last + 1}-{2**31 - 1} left out"
    assert set(problems.values()) == {None}
    [(field, kept, reason)] = warehouse.rows("SELECT field, kept, reason FROM sync_errors WHERE resolved_at IS NULL")
    assert (field, bool(kept)) == ("classifications.problems", True) and classification_hash in reason

    fixed = sample_rows()[0]
    classification_range_to(fixed, last)
    export_sync(warehouse, write(tmp_path, "fixed.jsonl", [fixed]), expect=0)
    assert classification_frames_of(warehouse, classification_hash) == frames
    assert warehouse.scalar("SELECT count(*) FROM classifications WHERE problems IS NOT NULL") == 0
    resolved = warehouse.rows("SELECT field FROM sync_errors WHERE resolved_at IS NOT NULL")
    assert resolved == [("classifications.problems",)]
    assert warehouse.scalar("SELECT count(*) FROM sync_errors WHERE resolved_at IS NULL") == 0


def test_a_classification_range_past_the_end_from_encord_is_cut_there(warehouse, encord_emulator, key_path, project):
    """The SDK reads such a range (it refuses objects past the end, not ranges): the sync cuts it at the
    listing's frame count and flags it; the rest of the project loads as it was."""
    video = sample_rows()[0]  # the project's first row, edited
    last = last_frame(video)
    classification_hash, start = classification_range_to(video, last + 5)
    encord_emulator.put_row(project.hash, video)
    run_sync(warehouse, encord_emulator, key_path, project.hash)
    assert classification_frames_of(warehouse, classification_hash)[-1] == last
    problems = warehouse.scalar("SELECT problems FROM classifications WHERE classification_hash = :c", c=classification_hash)
    assert problems == f"range [{start}, {last + 5}] past the last frame ({last}): frames {last + 1}-{last + 5} left out"
    errors = warehouse.rows("SELECT label_hash, field FROM sync_errors")
    assert errors == [(video["label_hash"], "classifications.problems")]
    assert warehouse.scalar("SELECT count(*) FROM branches") == len(project.rows)


def test_a_row_the_sdk_refuses_is_quarantined_and_the_rest_load(warehouse, other_warehouse, encord_emulator, key_path,
                                                                project):
    """Through the API the SDK itself refuses a frame past the end (and leaves that row marked initialised with
    the frames it read before): the row is quarantined, not loaded half, and not the whole sync."""
    emulator = encord_emulator
    video = video_past_its_end()  # the project's first video, edited
    emulator.put_row(project.hash, video)
    run_sync(warehouse, emulator, key_path, project.hash, "--bundle-size", "3", expect=1)
    errors = warehouse.rows("SELECT label_hash, field, reason FROM sync_errors")
    assert [(h, f) for h, f, _ in errors] == [(video["label_hash"], "<source>")]
    assert "the encord SDK cannot read this label row" in errors[0][2] and "5000" in errors[0][2]
    emulator.delete_row(video["label_hash"])
    assert snapshot(warehouse) == reference_snapshot(other_warehouse, emulator, key_path, project.hash)


def test_an_encord_row_fixed_since_resolves_its_problem(warehouse, encord_emulator, key_path, project):
    """A row the SDK refuses stays an open problem until a run fetches it readable (edited in Encord), and
    a row deleted in Encord takes its problem with it."""
    emulator, open_problems = encord_emulator, "SELECT label_hash FROM sync_errors WHERE resolved_at IS NULL"
    video = video_past_its_end()
    original = emulator.row(video["label_hash"])
    emulator.put_row(project.hash, video)
    run_sync(warehouse, emulator, key_path, project.hash, expect=1)
    run_sync(warehouse, emulator, key_path, project.hash, "--full-refresh", expect=1)  # fetched and refused again
    assert warehouse.rows(open_problems) == [(video["label_hash"],)]
    [(reason,)] = warehouse.rows("SELECT reason FROM sync_errors")  # one row: the SDK's time stamp left out
    assert reason.endswith("is not within the acceptable bounds of `0` to `60`.")
    emulator.put_row(project.hash, original)
    run_sync(warehouse, emulator, key_path, project.hash)
    assert warehouse.rows(open_problems) == []
    assert warehouse.scalar("SELECT count(*) FROM sync_errors WHERE resolved_at IS NOT NULL") == 1

    broken = video_past_its_end()
    broken["label_hash"] = project.rows[1]["label_hash"]
    broken["data_hash"] = project.rows[1]["data_hash"]
    emulator.put_row(project.hash, {**project.rows[1], "data_units": broken["data_units"]})
    run_sync(warehouse, emulator, key_path, project.hash, expect=1)
    assert warehouse.rows(open_problems) == [(project.rows[1]["label_hash"],)]
    emulator.delete_row(project.rows[1]["label_hash"])
    run_sync(warehouse, emulator, key_path, project.hash, "--full-refresh")  # a full listing: the stored row goes
    assert warehouse.scalar("SELECT count(*) FROM branches WHERE label_hash = :h", h=project.rows[1]["label_hash"]) == 0
    assert warehouse.rows(open_problems) == []


def test_a_label_row_with_100k_annotations(warehouse, tmp_path):
    video = sample_rows()[0]
    unit = next(iter(video["data_units"].values()))
    box = next(o for o in first_video_frame(video)["objects"] if o["shape"] == "bounding_box")
    unit["labels"] = {
        str(frame): {"objects": [
            {**box, "objectHash": f"obj{i:03d}", "boundingBox": {"x": i / 200, "y": 0.1, "w": 0.05, "h": frame / 2000}}
            for i in range(100)
        ], "classifications": []}
        for frame in range(1000)
    }
    video["object_answers"], video["object_actions"] = {}, {}
    export_sync(warehouse, write(tmp_path, "huge.jsonl", [video]), expect=0)
    assert warehouse.scalar("SELECT count(*) FROM object_frames") == 100_000
    assert warehouse.scalar("SELECT count(*) FROM objects") == 100
    assert warehouse.scalar("SELECT sum(frame_count) FROM objects") == 100_000
    export_sync(warehouse, write(tmp_path, "huge.jsonl", [video]), expect=0)  # unchanged: fingerprint skip
    assert warehouse.scalar("SELECT count(*) FROM object_frames") == 100_000


def test_an_integer_past_64_bits_is_quarantined(warehouse):
    """Python's json (the SDK's parser) reads any integer; the raw archive (orjson) cannot write one past 64 bits."""
    from connector import migrate
    from connector.ontology import OntologyIndex
    from connector.sources import SourceRow
    from connector.state import RunStats, start_run
    from connector.sync import load_rows

    migrate.upgrade(warehouse.engine)
    rows = sample_rows()
    bad = clone_row(rows[3])
    set_path(confidence=2**70)(bad)
    run_id = start_run(warehouse.engine, "export", "p")
    failures = load_rows(warehouse.engine, [SourceRow(rows[4], "a"), SourceRow(bad, "b")], run_id, "p", OntologyIndex(),
                         RunStats())
    assert [(f.label_hash, f.field) for f in failures] == [(bad["label_hash"], "<row>")]
    assert "cannot be written as JSON" in failures[0].reason
    assert warehouse.scalar("SELECT count(*) FROM branches") == 1


def test_integer_keys_are_archived_as_strings_and_a_rerun_skips_the_row(warehouse):
    """A source may hand over a dict with integer frame keys (JSON itself cannot): the raw archive writes
    them as strings, and the row's fingerprint is as stable as any other's."""
    from connector import migrate
    from connector.ontology import OntologyIndex
    from connector.sources import SourceRow
    from connector.state import RunStats, start_run
    from connector.sync import load_rows

    migrate.upgrade(warehouse.engine)
    video = sample_rows()[0]
    unit = next(iter(video["data_units"].values()))
    unit["labels"] = {int(frame): labels for frame, labels in unit["labels"].items()}
    stats = [RunStats(), RunStats()]
    for run_stats in stats:
        run_id = start_run(warehouse.engine, "export", "p")
        assert load_rows(warehouse.engine, [SourceRow(video, "a")], run_id, "p", OntologyIndex(), run_stats) == []
    assert (stats[0].inserted, stats[1].unchanged) == (1, 1)
    raw = json.loads(warehouse.scalar("SELECT CAST(raw AS VARCHAR) FROM label_row_json"))
    assert sorted(next(iter(raw["data_units"].values()))["labels"], key=int) == sorted(map(str, unit["labels"]), key=int)
    frames = warehouse.rows("SELECT DISTINCT frame FROM object_frames ORDER BY frame")
    assert [f for (f,) in frames] == sorted(frame for frame, labels in unit["labels"].items() if labels.get("objects"))


def test_a_group_stored_with_images_sharing_a_data_sequence_is_listed_by_rebuild(warehouse, tmp_path):
    """A row loaded before the check (its archive edited here as such a row's was) keeps its tables, and
    `rebuild` records why it no longer loads."""
    group = sample_rows()[6]
    export_sync(warehouse, write(tmp_path, "group.jsonl", [group]), expect=0)
    frames_before = warehouse.rows("SELECT frame, data_hash FROM frames ORDER BY frame")
    with warehouse.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE raw_label_rows SET json_text = "
                                   """replace(json_text, '"data_sequence": "1"', '"data_sequence": "0"')""")
    result = CliRunner().invoke(cli, ["rebuild", *warehouse.cli_args], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    second = next(h for h, unit in group["data_units"].items() if unit["data_sequence"] == "1")
    first = next(h for h, unit in group["data_units"].items() if unit["data_sequence"] == "0")
    assert warehouse.rows("SELECT label_hash, field, reason FROM sync_errors WHERE resolved_at IS NULL") == [
        (group["label_hash"], f"data_units.{second}.data_sequence",
         f"frame 0 is data unit {first}'s too: two data units of one label row cannot share a frame")]
    assert warehouse.rows("SELECT frame, data_hash FROM frames ORDER BY frame") == frames_before


DEEP = "[" * 3000 + "]" * 3000  # nested past orjson's limit and Python's recursion limit


def with_deep_value(row: dict) -> str:
    """The row's JSON with an extra key whose value nests 3,000 arrays deep."""
    return json.dumps({**row, "extra": "DEEP"}).replace('"DEEP"', DEEP)


def test_a_row_nested_past_the_recursion_limit_is_quarantined_in_each_export_form(warehouse, tmp_path):
    """An array (cut by msgspec, then streamed by ijson), JSON Lines and a single-row file: the deep row is
    quarantined in one line and the others load. Until 2026-11-29 a RecursionError traceback ended the sync
    with nothing loaded."""
    good, deep = sample_rows()[:2]
    others = [json.dumps(row) for row in sample_rows()[2:4]]
    forms = {"array.json": "[" + ", ".join([others[0], with_deep_value(deep), others[1]]) + "]",
             "lines.jsonl": "\n".join([others[0], with_deep_value(deep), others[1]]) + "\n"}
    for name, text in forms.items():
        folder = tmp_path / name.split(".")[0]
        folder.mkdir()
        (folder / name).write_text(text)
        (folder / "single.json").write_text(json.dumps(good))
        result = export_sync(warehouse, folder, expect=1)
        [line] = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert line.startswith(f"error: label row {deep['label_hash']} ({deep['data_title']}): <row>: cannot be written"
                               if name == "array.json" else "error: lines.jsonl:2: <json>: invalid JSON: depth limit exceeded")
        assert sorted(h for (h,) in warehouse.rows("SELECT label_hash FROM branches")) == sorted(
            row["label_hash"] for row in [good, *sample_rows()[2:4]])


def test_an_ontology_or_a_folder_nested_too_deep_is_one_line(warehouse, tmp_path):
    ontology = json.dumps({"objects": [], "classifications": [], "deep": "DEEP"}).replace('"DEEP"', DEEP)
    (tmp_path / "ontology.json").write_text(ontology)
    (tmp_path / "rows.json").write_text(json.dumps(sample_rows()[:1]))
    result = CliRunner().invoke(cli, ["sync", "--from-export", str(tmp_path / "rows.json"), "--ontology",
                                      str(tmp_path / "ontology.json"), *warehouse.cli_args])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"encord-warehouse: {tmp_path / 'ontology.json'}: ontology is not valid JSON: "
                                    "depth limit exceeded: line 1 column ")
    folder = tmp_path / "deep"
    levels = [folder, *(folder / ("d/" * depth).rstrip("/") for depth in range(1, 1101))]
    for level in levels:  # os.makedirs, and shutil.rmtree (pytest's clean-up of tmp_path), recurse per level
        level.mkdir()
    (levels[-1] / "rows.json").write_text(json.dumps(sample_rows()[:1]))
    try:
        result = CliRunner().invoke(cli, ["sync", "--from-export", str(folder), *warehouse.cli_args])
        assert (result.exit_code, result.stderr.splitlines()[-1]) == (
            2, f"encord-warehouse: {folder}: its folders nest too deep to list (about 1,000 levels)")
    finally:
        (levels[-1] / "rows.json").unlink()
        for level in reversed(levels):
            level.rmdir()


def test_a_raw_json_value_or_an_ontology_nested_past_what_orjson_writes_is_one_line(warehouse, tmp_path):
    """300 levels: read, but past the 254 orjson writes. A bitmask holding such a value is its row's problem (the
    others load), an ontology one line. Until 2026-11-29 the bitmask failed the chunk's staging, and with it the
    sync, at every run; the ontology was a traceback."""
    deep, *others = sample_rows()[:4]
    bitmask = next(obj for unit in deep["data_units"].values() for frame in (unit.get("labels") or {}).values()
                   if isinstance(frame, dict) for obj in frame.get("objects", []) if obj.get("shape") == "bitmask")
    bitmask["bitmask"]["extra"] = "DEEP"
    nested = "[" * 300 + "]" * 300
    (tmp_path / "rows.json").write_text(json.dumps([*others, deep]).replace('"DEEP"', nested))
    result = export_sync(warehouse, tmp_path / "rows.json", expect=1)
    [line] = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert line.startswith(f"error: label row {deep['label_hash']} ({deep['data_title']}): data_units.")
    assert line.endswith(".bitmask: nested too deep to store as JSON (past 254 levels)")
    assert sorted(h for (h,) in warehouse.rows("SELECT label_hash FROM branches")) == sorted(r["label_hash"] for r in others)
    ontology = json.loads((ROOT / "examples" / "ontology.json").read_text())
    (tmp_path / "ontology.json").write_text(json.dumps({**ontology, "deep": "DEEP"}).replace('"DEEP"', nested))
    result = CliRunner().invoke(cli, ["sync", "--from-export", str(tmp_path / "rows.json"), "--ontology",
                                      str(tmp_path / "ontology.json"), *warehouse.cli_args])
    assert (result.exit_code, result.stderr) == (2, f"encord-warehouse: {tmp_path / 'ontology.json'}: not an ontology: "
                                                 "cannot be written as JSON: Recursion limit reached\n")
