"""`encord-warehouse labels`: JSON and CSV output for frame ranges and frame lists, both databases."""

from __future__ import annotations

import csv
import io
import json
import math
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, event, text

import views_expected as ex
from connector.cli import cli
from connector.db import create_schema_if_missing, create_warehouse_engine
from connector.labels import CSV_COLUMNS, LabelsError, LabelsQuery, labels_by_frame
from connector.sync import ExportSyncConfig, sync_export
from examples import sdk_sample


@pytest.fixture
def loaded(warehouse, tmp_path):
    export, ontology_path, rows, _ontology = ex.write_sample(tmp_path)
    assert sync_export(warehouse.engine, ExportSyncConfig(str(export), "p1", str(ontology_path))).ok
    return warehouse, {row["data_type"]: row for row in reversed(rows)}


def _run(warehouse, *args):
    # `labels` opens a DuckDB file read-only, which DuckDB refuses in a process that has it open to
    # write, as this one does after loading it; the command runs in its own process
    warehouse.engine.dispose()
    return CliRunner().invoke(cli, ["labels", *warehouse.cli_args, *args], catch_exceptions=False)


def test_labels_json_for_a_frame_list(loaded):
    warehouse, by_type = loaded
    video = next(r for r in by_type.values() if r["data_type"] == "video" and r["data_title"].startswith("video_"))
    result = _run(warehouse, "--title", video["data_title"], "--frames", "10,20,30,40")
    assert result.exit_code == 0, result.output
    frames = json.loads(result.output)
    assert [f["frame"] for f in frames] == [10, 20, 30, 40]
    pixels = ex.expected_pixels(video)
    for frame in frames:
        expected = ex.labels_on(video, {frame["frame"]})
        got = {(frame["frame"], "object", o["objectHash"]) for o in frame["objects"]}
        got |= {(frame["frame"], "classification", c["classificationHash"]) for c in frame["classifications"]}
        assert got == expected
        for obj in frame["objects"]:
            key = (video["label_hash"], obj["objectHash"], frame["frame"])
            for column, value in pixels[key].items():
                if column in obj["pixels"]:
                    assert math.isclose(obj["pixels"][column], value, abs_tol=1e-3)
            answers = {(a["featureHash"], a["answerFeatureHash"], a["answer"]) for a in obj["attributes"]}
            assert answers == ex.object_answers_on(video, obj["objectHash"], frame["frame"])
            if obj["shape"] in ("polygon", "polyline", "point", "skeleton"):
                assert obj["vertices_px"] and obj["vertices_px"][0][0]


def test_labels_for_frame_ranges_query_ranges_not_lists_of_frames(loaded):
    """`--frames 0-100000000` is three bind values, not a hundred million (that ran out of 24 GB)."""
    warehouse, by_type = loaded
    title = by_type["video"]["data_title"]
    everything = _run(warehouse, "--title", title, "--start", "0", "--end", "100000000").output
    assert json.loads(everything) and _run(warehouse, "--title", title, "--frames", "0-100000000").output == everything
    mixed = json.loads(_run(warehouse, "--title", title, "--frames", "3-5,0,9,12-13").output)
    wanted = {f["frame"] for f in json.loads(everything)} & {0, 3, 4, 5, 9, 12, 13}
    assert len(wanted) >= 4 and sorted({f["frame"] for f in mixed}) == sorted(wanted)
    assert mixed == [f for f in json.loads(everything) if f["frame"] in wanted]
    assert LabelsQuery(title, frames=((0, 100_000_000), (7, 7))).where()[1] == {
        "title": title, "frames": [7], "first_0": 0, "last_0": 100_000_000}


def test_labels_csv_for_a_range(loaded):
    warehouse, by_type = loaded
    group = by_type["img_group"]
    result = _run(warehouse, "--title", group["data_title"], "--start", "0", "--end", "2", "--format", "csv")
    assert result.exit_code == 0, result.output
    table = list(csv.reader(io.StringIO(result.output)))
    assert tuple(table[0]) == CSV_COLUMNS
    rows = [dict(zip(CSV_COLUMNS, line)) for line in table[1:]]
    assert {int(r["frame"]) for r in rows} == {0, 2}
    expected_pixels = ex.expected_pixels(group)
    for row in rows:
        if row["label_kind"] == "object" and row["ontology_shape"] == "bounding_box":
            values = expected_pixels[(group["label_hash"], row["object_hash"], int(row["frame"]))]
            assert math.isclose(float(row["x_px"]), values["x_px"], abs_tol=1e-3)
            assert math.isclose(float(row["h_px"]), values["h_px"], abs_tol=1e-3)
    weather = [r for r in rows if r["classification_name"] == "Weather"]
    assert {(r["frame"], r["classification_answer"]) for r in weather} == {("0", "Fog"), ("2", "Fog")}


@pytest.mark.parametrize("args, message", [
    (["--title", "no-such.mp4", "--start", "0", "--end", "1"], "no data unit titled"),
    (["--title", "x", "--start", "5", "--end", "1"], "before --start"),
    (["--title", "x", "--frames", "1,a"], "expected frame numbers or ranges like 10,20,30-40, got 'a'"),
    (["--title", "x"], "give --start and --end"),
])
def test_labels_user_errors_are_one_line(loaded, args, message):
    warehouse, _by_type = loaded
    result = _run(warehouse, *args)
    assert result.exit_code == 2
    assert message in result.output and result.output.count("\n") == 1


def test_labels_of_an_empty_warehouse_says_so_in_one_line(warehouse, tmp_path):
    result = _run(warehouse, "--title", "video.mp4", "--start", "0", "--end", "1")
    assert result.exit_code == 2
    if warehouse.dialect == "duckdb":  # no file yet: reading says so and creates none
        path = tmp_path / "warehouse.duckdb"
        assert result.output == f"encord-warehouse: no DuckDB warehouse at {path}: run `encord-warehouse sync` (or `migrate`) first\n"
        assert not path.exists()
        with warehouse.engine.connect():  # an empty file
            pass
        warehouse.engine.dispose()
        result = _run(warehouse, "--title", "video.mp4", "--start", "0", "--end", "1")
    else:  # no schema yet: as no DuckDB file; then an empty schema
        assert result.output == (f"encord-warehouse: no schema '{warehouse.schema}' in this Postgres database: run "
                                 "`encord-warehouse sync` (or `migrate`) first, or check --schema ($ENCORD_WAREHOUSE_SCHEMA)\n")
        create_schema_if_missing(warehouse.engine)
        warehouse.engine.dispose()
        result = _run(warehouse, "--title", "video.mp4", "--start", "0", "--end", "1")
    assert result.output == "encord-warehouse: the warehouse is empty: run `encord-warehouse sync` (or `migrate`) first\n"


def test_title_is_a_bind_parameter(loaded):
    warehouse, _by_type = loaded
    result = _run(warehouse, "--title", "x' OR '1'='1", "--start", "0", "--end", "10")
    assert result.exit_code == 2 and "no data unit titled" in result.output


def test_labels_json_writes_infinities_and_nan_as_null(warehouse, tmp_path):
    """A label row may hold 1e999 or NaN (kept as the row has them); `--format json` stays JSON."""
    _export, _ontology_path, rows, _ontology = ex.write_sample(tmp_path)
    video = next(r for r in rows if r["data_type"] == "video")
    unit = next(iter(video["data_units"].values()))
    frame, labels = next((f, l) for f, l in unit["labels"].items() if l["objects"])
    box = next(o for o in labels["objects"] if "boundingBox" in o)
    box["boundingBox"].update(x=math.inf, y=math.nan)
    export = tmp_path / "odd.json"
    export.write_text(json.dumps([video], allow_nan=True))
    assert sync_export(warehouse.engine, ExportSyncConfig(str(export), "p1")).ok
    result = _run(warehouse, "--title", video["data_title"], "--frames", frame)
    assert result.exit_code == 0, result.output
    strict = json.loads(result.output, parse_constant=lambda token: pytest.fail(f"not JSON: {token}"))
    pixels = next(o["pixels"] for f in strict for o in f["objects"] if o["objectHash"] == box["objectHash"])
    assert pixels["x_px"] is None and pixels["y_px"] is None and pixels["w_px"] > 0


def test_labels_print_in_byte_order_on_a_postgres_database_of_another_collation(postgres_url, tmp_path):
    """A Postgres database created with ICU's en-US collation (case and punctuation ignored, as glibc's
    en_US.UTF-8, a common default) prints the same labels in the same order as DuckDB: by the bytes of
    the hashes (until 2026-11-29 in the database's order)."""
    row = sdk_sample.image_row(1).to_encord_dict()
    hashes = ["a-b", "A_c", "ab", "Ab", "a b"]
    objects = next(iter(row["data_units"].values()))["labels"]["objects"]  # an image: no frame keys
    template = objects[0]
    objects[:] = [{**template, "objectHash": object_hash} for object_hash in hashes]
    row["object_answers"] = {object_hash: {**row["object_answers"][template["objectHash"]], "objectHash": object_hash}
                             for object_hash in hashes}
    export = tmp_path / "export.json"
    export.write_text(json.dumps([row]))
    admin = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    database = f"icu_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {database} TEMPLATE template0 LOCALE_PROVIDER icu "
                                "ICU_LOCALE 'en-US' LOCALE 'C'"))
    printed = []
    try:
        for db in (f"duckdb:///{tmp_path / 'w.duckdb'}", f"{postgres_url.rsplit('/', 1)[0]}/{database}"):
            assert CliRunner().invoke(cli, ["sync", "--from-export", str(export), "--db", db]).exit_code == 0
            result = CliRunner().invoke(cli, ["labels", "--db", db, "--title", row["data_title"], "--frames", "0",
                                              "--format", "csv"])
            assert result.exit_code == 0, result.output
            printed.append(result.output)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE {database} WITH (FORCE)"))
        admin.dispose()
    assert printed[0] == printed[1]
    table = [dict(zip(CSV_COLUMNS, line)) for line in list(csv.reader(io.StringIO(printed[1])))[1:]]
    assert list(dict.fromkeys(r["object_hash"] for r in table if r["label_kind"] == "object")) == sorted(hashes)


def test_a_title_of_data_units_in_two_projects_is_refused_until_one_is_chosen(loaded, tmp_path):
    """The same video in projects p1 and p2 (another label row, the same data unit): until 2026-11-29 `labels`
    printed both projects' labels together, in CSV with nothing to tell them apart."""
    warehouse, by_type = loaded
    video = by_type["video"]
    copy = {**json.loads(json.dumps(video)), "label_hash": str(uuid.uuid4())}
    (tmp_path / "p2.json").write_text(json.dumps([copy]))
    assert sync_export(warehouse.engine, ExportSyncConfig(str(tmp_path / "p2.json"), "p2", str(tmp_path / "ontology.json"))).ok
    title, data_hash = video["data_title"], video["data_hash"]
    refused = _run(warehouse, "--title", title, "--frames", "0-3")
    assert (refused.exit_code, refused.output) == (2, (
        f"encord-warehouse: 2 data units are titled {title!r} (project p1 data {data_hash}, project p2 data {data_hash}): "
        "choose one with --project-hash\n"))  # the same data unit in both: --data-hash cannot tell them apart
    assert _run(warehouse, "--title", title, "--frames", "0-3", "--data-hash", data_hash).exit_code == 2
    by_project = {}
    for project, label_hash in (("p1", video["label_hash"]), ("p2", copy["label_hash"])):
        result = _run(warehouse, "--title", title, "--frames", "0-3", "--project-hash", project)
        assert result.exit_code == 0, result.output
        frames = json.loads(result.output)
        assert {(f["project_hash"], f["label_hash"]) for f in frames} == {(project, label_hash)}
        by_project[project] = [{**f, "project_hash": None, "label_hash": None} for f in frames]
        printed = list(csv.DictReader(io.StringIO(
            _run(warehouse, "--title", title, "--frames", "0-3", "--project-hash", project, "--format", "csv").output)))
        assert {row["label_hash"] for row in printed} == {label_hash}
    assert by_project["p1"] == by_project["p2"] != []
    missing = _run(warehouse, "--title", title, "--frames", "0", "--project-hash", "p3")
    assert missing.output == f"encord-warehouse: no data unit titled {title!r} in the warehouse with --project-hash p3\n"


def test_a_data_unit_whose_label_rows_are_marked_deleted_does_not_make_its_title_ambiguous(loaded, tmp_path):
    """As the views leave out label rows marked deleted (--keep-deleted), so does the choice of data unit."""
    warehouse, by_type = loaded
    video = by_type["video"]
    copy = {**json.loads(json.dumps(video)), "label_hash": str(uuid.uuid4())}
    (tmp_path / "p2.json").write_text(json.dumps([copy]))
    assert sync_export(warehouse.engine, ExportSyncConfig(str(tmp_path / "p2.json"), "p2", str(tmp_path / "ontology.json"))).ok
    with warehouse.engine.begin() as connection:
        connection.execute(text("UPDATE branches SET deleted_at = synced_at WHERE label_hash = :h"), {"h": copy["label_hash"]})
    result = _run(warehouse, "--title", video["data_title"], "--frames", "0-3")
    assert result.exit_code == 0, result.output
    assert {(f["project_hash"], f["label_hash"]) for f in json.loads(result.output)} == {("p1", video["label_hash"])}


def test_labels_read_one_version_of_a_label_row_while_a_sync_commits_between_its_queries(loaded, tmp_path):
    """The labels and their polygons' vertices are two queries: until 2026-11-30 a sync that committed between them
    gave one version's frames with another's vertices (here none: the sync deletes the row), on Postgres, and on
    DuckDB for a library caller in the sync's process. The sync is a real one, run as the vertices are asked for."""
    warehouse, by_type = loaded
    video = next(r for r in by_type.values() if r["data_type"] == "video" and r["data_title"].startswith("video_"))
    query = LabelsQuery(title=video["data_title"], start=0, end=60)
    before = labels_by_frame(warehouse.engine, query)
    assert sum("vertices_px" in entry for frame in before for entry in frame["objects"]) > 0
    others = tmp_path / "others.json"
    others.write_text(json.dumps([row for row in ex.sample_rows() if row["label_hash"] != video["label_hash"]]))
    writer = create_warehouse_engine(warehouse.url, warehouse.schema)
    synced = []

    def sync_before_the_vertices(_connection, _cursor, statement, *_rest):
        if "object_vertices_px" in statement and not synced:
            synced.append(sync_export(writer, ExportSyncConfig(str(others), "p1", None, delete_missing=True)))

    event.listen(warehouse.engine, "before_cursor_execute", sync_before_the_vertices)
    try:
        assert labels_by_frame(warehouse.engine, query) == before
    finally:
        event.remove(warehouse.engine, "before_cursor_execute", sync_before_the_vertices)
        writer.dispose()
    assert synced[0].stats.deleted == 1
    with pytest.raises(LabelsError, match="no data unit titled"):
        labels_by_frame(warehouse.engine, query)
