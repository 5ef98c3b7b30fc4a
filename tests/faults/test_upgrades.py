"""Upgrades: a warehouse populated at the first released schema (0001) migrates to head with its
data intact, and the latest revision downgrades (`alembic downgrade -1`, the real command) and
upgrades again, on both warehouses."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import JSON, insert, select
from sqlalchemy.engine import make_url
from encord.objects.attributes import NumericAttribute
from encord.objects.classification_instance import ClassificationInstance
from sqlalchemy import column as sa_column, table as sa_table

from connector import migrate, schema
from connector.cli import cli
from connector.db import WarehouseError, create_schema_if_missing
from connector.labels import LabelsQuery, labels_by_frame
from sync_helpers import SYNC_TABLES, last_run, run_sync, snapshot
from test_bad_input import KEPT, classification_range_to, last_frame, write
from conftest import sample_rows
from tests.encord_emulator import clone_row
from examples.sdk_ontology import NOTES, build_ontology
from examples.sdk_sample import image_row

ROOT = Path(__file__).resolve().parents[2]
ADDED_BY_LATER_REVISIONS = {"object_frames": {"problems"}, "classifications": {"problems"},
                            "branches": {"listing_sha256"},
                            "sync_errors": {"kept", "first_occurred_at", "resolved_at"}, "sync_runs": {"export", "run_seq", "vanished"},
                            "projects": {"ontology_fingerprint", "ontology_pending"}}
TABLES_OF_LATER_REVISIONS = {"raw_label_rows", "export_files", "annotation_ranges"}
COLUMNS_OF_LATER_REVISIONS = {"problems", "listing_sha256", "ontology_fingerprint", "ontology_pending"}  # of the label-row tables and projects
DATA_TABLES = [*SYNC_TABLES, "projects", "sync_state"]
TABLES_OF_0002 = [name for name in DATA_TABLES if name not in TABLES_OF_LATER_REVISIONS]


def copy_data(source, target) -> None:
    """Every row of every table, in the columns the target's schema revision (0001) has; the raw
    JSON goes where 0001 kept it, in branches.raw."""
    raw = dict(raw_documents(source))
    with source.engine.connect() as reading, target.engine.begin() as writing:
        for table in schema.metadata.sorted_tables:
            if table.name in TABLES_OF_LATER_REVISIONS:
                continue
            columns = [c for c in table.columns if c.name not in ADDED_BY_LATER_REVISIONS.get(table.name, ())]
            rows = [dict(row) for row in reading.execute(select(*columns)).mappings()]
            into = table
            if table.name == "branches":
                into = sa_table("branches", *(sa_column(c.name, c.type) for c in columns), sa_column("raw", JSON))
                rows = [{**row, "raw": raw[row["label_hash"]]} for row in rows]
            if rows:
                writing.execute(insert(into), rows)


def raw_documents(warehouse):
    return sorted((h, json.loads(r)) for h, r in warehouse.rows("SELECT label_hash, CAST(raw AS VARCHAR) FROM label_row_json"))


def test_a_populated_0001_warehouse_upgrades_to_head_intact(warehouse, other_warehouse, encord_emulator, key_path, project):
    encord_emulator.add_branch_row(project.hash, project.rows[0], "encord-annotator-1")
    run_sync(other_warehouse, encord_emulator, key_path, project.hash, "--all-branches")
    migrate.upgrade(warehouse.engine, "0001")
    assert migrate.current_revision(warehouse.engine) == "0001"
    copy_data(other_warehouse, warehouse)
    migrate.upgrade(warehouse.engine)
    assert migrate.current_revision(warehouse.engine) == migrate.head_revision()
    listing = {"listing_sha256", "ontology_fingerprint", "ontology_pending"}  # 0012, 0016: not known for rows stored before
    assert snapshot(warehouse, DATA_TABLES, skip=listing) == snapshot(other_warehouse, DATA_TABLES, skip=listing)
    assert warehouse.scalar("SELECT count(*) FROM branches WHERE listing_sha256 IS NULL") == 9
    assert raw_documents(warehouse) == raw_documents(other_warehouse)
    for view in ("labels_export", "frame_labels", "object_frames_px", "branch_labels"):  # 0002's views
        assert warehouse.scalar(f"SELECT count(*) FROM {view}") == other_warehouse.scalar(f"SELECT count(*) FROM {view}") > 0
    run_sync(warehouse, encord_emulator, key_path, project.hash, "--all-branches")
    assert last_run(warehouse)[:6] == ("succeeded", 9, 9, 0, 9, 0)  # fetched once, to record what the listing says
    written = {"synced_at"}
    assert snapshot(warehouse, SYNC_TABLES, skip=written) == snapshot(other_warehouse, SYNC_TABLES, skip=written)
    run_sync(warehouse, encord_emulator, key_path, project.hash, "--all-branches")
    assert last_run(warehouse)[:6] == ("succeeded", 9, 0, 0, 0, 9)


def alembic(warehouse, *args):
    env = {**os.environ, "ENCORD_WAREHOUSE_DB": warehouse.url}
    env.pop("ENCORD_WAREHOUSE_SCHEMA", None)
    if warehouse.schema:
        env["ENCORD_WAREHOUSE_SCHEMA"] = warehouse.schema
    warehouse.engine.dispose()
    result = subprocess.run([sys.executable, "-m", "alembic", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def primary_key_tables(warehouse) -> set[str]:
    return {name for (name,) in warehouse.rows(
        "SELECT table_name FROM information_schema.table_constraints "
        "WHERE constraint_type = 'PRIMARY KEY' AND table_schema = current_schema()")}


def test_downgrade_two_revisions_and_upgrade_again(warehouse, tmp_path):
    """Down through 0005 (raw JSON back in branches.raw), 0004 (DuckDB: keys back on the
    per-annotation tables) and 0003 (flag columns dropped) with data in the tables, then up again:
    the same rows and raw documents throughout."""
    flagged = []
    for name, (_, mutate, _) in KEPT.items():
        row = clone_row(sample_rows()[3], data_title=name)
        mutate(row)
        flagged.append(row)
    export = write(tmp_path, "rows.jsonl", sample_rows()[:3] + flagged)
    result = CliRunner().invoke(cli, ["sync", "--from-export", str(export), *warehouse.cli_args])
    assert result.exit_code == 0, result.output
    before = snapshot(warehouse, TABLES_OF_0002, skip=COLUMNS_OF_LATER_REVISIONS)
    flags = warehouse.rows("SELECT label_hash, object_hash, frame, problems FROM object_frames WHERE problems IS NOT NULL")
    assert len(flags) == len(KEPT)

    unkeyed = {table.name for table in schema.UNKEYED_ON_DUCKDB}
    assert bool(unkeyed & primary_key_tables(warehouse)) == (warehouse.dialect == "postgresql")
    documents = raw_documents(warehouse)
    alembic(warehouse, "downgrade", "0002")
    assert migrate.current_revision(warehouse.engine) == "0002"
    assert sorted((h, json.loads(r)) for h, r in warehouse.rows("SELECT label_hash, CAST(raw AS VARCHAR) FROM branches")) == documents
    assert unkeyed - TABLES_OF_LATER_REVISIONS <= primary_key_tables(warehouse)
    columns = {c for (c,) in warehouse.rows(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'object_frames' AND table_schema = current_schema()")}
    assert "problems" not in columns and "x" in columns
    assert snapshot(warehouse, TABLES_OF_0002, skip=COLUMNS_OF_LATER_REVISIONS) == before

    alembic(warehouse, "upgrade", "head")
    assert migrate.current_revision(warehouse.engine) == migrate.head_revision()
    assert raw_documents(warehouse) == documents
    assert bool(unkeyed & primary_key_tables(warehouse)) == (warehouse.dialect == "postgresql")
    assert snapshot(warehouse, TABLES_OF_0002, skip=COLUMNS_OF_LATER_REVISIONS) == before
    # Rows loaded before the flags existed get them from `rebuild` (a sync leaves unchanged rows alone).
    assert CliRunner().invoke(cli, ["rebuild", *warehouse.cli_args]).exit_code == 0
    assert sorted(warehouse.rows(
        "SELECT label_hash, object_hash, frame, problems FROM object_frames WHERE problems IS NOT NULL")) == sorted(flags)


def test_below_0011_classification_flags_go_and_a_rebuild_after_upgrading_writes_them_back(warehouse, tmp_path):
    """`alembic downgrade 0010` drops classifications.problems and nothing else; after upgrading, the rows
    stored before have none until `rebuild` normalizes them again (a sync leaves unchanged rows alone)."""
    video = sample_rows()[0]
    classification_hash, _ = classification_range_to(video, last_frame(video) + 3)
    result = CliRunner().invoke(cli, ["sync", "--from-export", str(write(tmp_path, "rows.jsonl", [video])),
                                      *warehouse.cli_args])
    assert result.exit_code == 0, result.output
    flag = "SELECT classification_hash, problems FROM classifications WHERE problems IS NOT NULL"
    flags = warehouse.rows(flag)
    assert [h for h, _ in flags] == [classification_hash]
    before = snapshot(warehouse, TABLES_OF_0002, skip=COLUMNS_OF_LATER_REVISIONS)

    alembic(warehouse, "downgrade", "0010")
    columns = {c for (c,) in warehouse.rows("SELECT column_name FROM information_schema.columns "
                                            "WHERE table_name = 'classifications' AND table_schema = current_schema()")}
    assert "problems" not in columns and "answer" in columns
    assert snapshot(warehouse, TABLES_OF_0002, skip=COLUMNS_OF_LATER_REVISIONS) == before
    alembic(warehouse, "upgrade", "head")
    assert warehouse.rows(flag) == []
    assert CliRunner().invoke(cli, ["rebuild", *warehouse.cli_args]).exit_code == 0
    assert warehouse.rows(flag) == flags
    assert snapshot(warehouse, TABLES_OF_0002, skip=COLUMNS_OF_LATER_REVISIONS) == before


def test_a_warehouse_migrated_by_a_newer_version_is_refused_in_one_line_and_left_as_it_is(warehouse):
    """An older encord-warehouse (a scheduler not yet upgraded) meets tables a newer one migrated: every
    command that writes stops with one line and touches nothing; status still reads."""
    assert CliRunner().invoke(cli, ["sync", "--from-export", str(ROOT / "examples/sample_export.json"),
                                    *warehouse.cli_args]).exit_code == 0
    with warehouse.engine.begin() as connection:
        connection.execute(sa_table("alembic_version", sa_column("version_num")).update().values(version_num="9999"))
    before = snapshot(warehouse, DATA_TABLES)
    for command in (["sync", "--from-export", str(ROOT / "examples/sample_export.json"), "--full-refresh"],
                    ["migrate"], ["rebuild"], ["optimize"]):
        result = CliRunner().invoke(cli, [*command, *warehouse.cli_args])
        assert result.exit_code == 2, (command, result.output)
        assert result.stderr == ("encord-warehouse: the warehouse's tables are at schema revision 9999, which this "
                                 f"encord-warehouse does not know (its newest is {migrate.SCHEMA_REVISION}): a newer "
                                 "version migrated them; upgrade encord-warehouse\n")
    assert snapshot(warehouse, DATA_TABLES) == before
    assert migrate.current_revision(warehouse.engine) == "9999"
    warehouse.engine.dispose()  # status opens a DuckDB file read-only: not in a process that has it open to write
    assert CliRunner().invoke(cli, ["status", *warehouse.cli_args]).exit_code == 0


def test_0005_moves_a_large_archive_within_a_commands_memory(warehouse):
    """300 label rows of 384 KB of JSON (115 MB) in branches.raw at 0004: `migrate`, at the memory cap every
    command has (DuckDB: 128MB), moves them into raw_label_rows, each intact. Until 2026-11-29 0005 cut them
    in one statement, and DuckDB ran out of memory."""
    migrate.upgrade(warehouse.engine, "0004")
    frames = "list_transform(range(5000), lambda f: {'frame': f, 'objects': [{'x': 0.123456, 'name': 'Fußgänger'}]})"
    documents = ({"duckdb": f"to_json({{'label_hash': 'lh' || i, 'labels': {frames}}})",
                  "postgresql": "json_build_object('label_hash', 'lh' || i, 'labels', (SELECT json_agg(json_build_object("
                                "'frame', f, 'objects', json_build_array(json_build_object('x', 0.123456, 'name', "
                                "'Fußgänger')))) FROM generate_series(0, 4999) AS f))"}[warehouse.dialect])
    with warehouse.engine.begin() as connection:
        connection.exec_driver_sql(f"INSERT INTO branches (label_hash, project_hash, data_hash, branch_name, raw) "
                                   f"SELECT 'lh' || i, 'p', 'dh' || i, 'main', {documents} FROM range(300) AS t(i)"
                                   if warehouse.dialect == "duckdb" else
                                   f"INSERT INTO branches (label_hash, project_hash, data_hash, branch_name, raw) "
                                   f"SELECT 'lh' || i, 'p', 'dh' || i, 'main', {documents} FROM generate_series(0, 299) AS i")
    before = sorted((h, json.loads(r)) for h, r in warehouse.rows("SELECT label_hash, CAST(raw AS VARCHAR) FROM branches"))
    assert len(before) == 300 and sum(len(json.dumps(raw)) for _, raw in before) > 100_000_000
    warehouse.engine.dispose()
    result = CliRunner().invoke(cli, ["migrate", *warehouse.cli_args])
    assert result.exit_code == 0, result.output
    assert raw_documents(warehouse) == before


def test_tables_without_their_revision_record_are_refused_in_one_line_and_left_as_they_are(warehouse):
    """alembic_version dropped (by hand, a restore that missed it): not "the warehouse is empty" (whose advice,
    migrate, would fail on a table that exists) but what is wrong and how to mend it."""
    assert CliRunner().invoke(cli, ["sync", "--from-export", str(ROOT / "examples/sample_export.json"),
                                    *warehouse.cli_args]).exit_code == 0
    with warehouse.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE alembic_version")
    before = snapshot(warehouse, DATA_TABLES)
    for command in (["sync", "--from-export", str(ROOT / "examples/sample_export.json")], ["migrate"], ["rebuild"],
                    ["optimize"]):
        result = CliRunner().invoke(cli, [*command, *warehouse.cli_args])
        assert (result.exit_code, result.stderr) == (2, f"encord-warehouse: {migrate.NO_REVISION}\n"), command
    assert snapshot(warehouse, DATA_TABLES) == before
    alembic(warehouse, "stamp", migrate.head_revision())  # the mend the line names
    assert CliRunner().invoke(cli, ["rebuild", *warehouse.cli_args]).exit_code == 0


def test_status_reads_a_warehouse_an_older_version_migrated_without_migrating_it(warehouse):
    """A scheduler's older encord-warehouse keeps its schema while a newer one (a BI user's) reads it:
    status shows the runs with the columns there are, and the open problems once resolved_at exists."""
    assert CliRunner().invoke(cli, ["sync", "--from-export", str(ROOT / "examples/sample_export.json"),
                                    *warehouse.cli_args]).exit_code == 0
    loaded = warehouse.scalar("SELECT count(*) FROM branches")
    for revision, problems in (("0008", 0), ("0007", None)):
        alembic(warehouse, "downgrade", revision)
        result = CliRunner().invoke(cli, ["status", "--format", "json", *warehouse.cli_args])
        assert result.exit_code == 0, result.output
        document = json.loads(result.output)
        assert [(run["status"], run["inserted"]) for run in document["runs"]] == [("succeeded", loaded)]
        assert "export" not in document["runs"][0] and document["open_problems"] == problems
        assert migrate.current_revision(warehouse.engine) == revision


def test_0015_numbers_earlier_runs_by_start_and_later_runs_by_its_sequence_down_and_up_again(warehouse):
    """Runs recorded at 0014 (stored out of order) get run_seq in the order they started; a run after the
    upgrade takes the next number and status shows it first, though its clock is behind theirs. Down and
    up again (the real alembic command): the sequence goes with the column and comes back after them."""
    migrate.upgrade(warehouse.engine, "0014")
    starts = {"run-b": "2026-11-02 00:00:00", "run-c": "2099-01-01 00:00:00", "run-a": "2026-11-01 00:00:00"}
    with warehouse.engine.begin() as connection:
        for run_id, started in starts.items():
            connection.exec_driver_sql("INSERT INTO sync_runs (run_id, source, started_at, status) "
                                       f"VALUES ('{run_id}', 'export', TIMESTAMP '{started}', 'succeeded')")
    alembic(warehouse, "upgrade", "head")
    numbered = "SELECT run_id, run_seq FROM sync_runs ORDER BY run_seq"
    assert warehouse.rows(numbered) == [("run-a", 1), ("run-b", 2), ("run-c", 3)]
    sync = ["sync", "--from-export", str(ROOT / "examples/sample_export.json"), *warehouse.cli_args]
    assert CliRunner().invoke(cli, sync).exit_code == 0
    [(latest, seq)] = warehouse.rows("SELECT run_id, run_seq FROM sync_runs WHERE run_id NOT LIKE 'run-%'")
    assert seq == 4
    warehouse.engine.dispose()
    document = json.loads(CliRunner().invoke(cli, ["status", "--format", "json", *warehouse.cli_args]).output)
    assert [run["run_id"] for run in document["runs"]] == [latest, "run-c", "run-b", "run-a"]

    alembic(warehouse, "downgrade", "0014")
    assert "run_seq" not in {c for (c,) in warehouse.rows(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'sync_runs' AND table_schema = current_schema()")}
    alembic(warehouse, "upgrade", "head")  # the sequence was dropped: created again without a clash
    assert warehouse.rows(numbered) == [("run-a", 1), ("run-b", 2), (latest, 3), ("run-c", 4)]
    assert CliRunner().invoke(cli, sync).exit_code == 0
    assert warehouse.scalar("SELECT max(run_seq) FROM sync_runs") == 5 == warehouse.scalar("SELECT count(*) FROM sync_runs")


def test_an_upgrade_replaces_changed_views_in_place_keeping_analysts_views_and_grants(warehouse, tmp_path):
    """From 0012 (before the views' last changes) to head by a sync, with an analyst's views built on ours
    and, on Postgres, a read-only role granted SELECT: the upgrade succeeds, the analyst's views answer
    as before, and the role may still read every view (until 2026-11-29, 0013 dropped and recreated views:
    on Postgres the sync failed on the analyst's view, and without one the grants were lost)."""
    assert CliRunner().invoke(cli, ["sync", "--from-export", str(write(tmp_path, "rows.jsonl", sample_rows()[:4])),
                                    *warehouse.cli_args]).exit_code == 0
    alembic(warehouse, "downgrade", "0012")
    analyst_views = {"my_answers": "SELECT label_hash, answer FROM attribute_answers",
                     "my_export": "SELECT label_hash, object_hash, frame FROM labels_export",
                     "my_json": "SELECT label_hash FROM label_row_json",
                     "my_vertices": "SELECT label_hash, x FROM object_vertices_px"}
    role = f"bi_{warehouse.schema}" if warehouse.dialect == "postgresql" else None
    with warehouse.engine.begin() as connection:
        for name, query in analyst_views.items():
            connection.exec_driver_sql(f"CREATE VIEW {name} AS {query}")
        if role:
            connection.exec_driver_sql(f"CREATE ROLE {role}")
            connection.exec_driver_sql(f"GRANT USAGE ON SCHEMA {warehouse.schema} TO {role}")
            connection.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA {warehouse.schema} TO {role}")
    before = {name: warehouse.scalar(f"SELECT COUNT(*) FROM {name}") for name in analyst_views}
    assert all(before.values())

    result = CliRunner().invoke(cli, ["sync", "--from-export", str(tmp_path / "rows.jsonl"), *warehouse.cli_args])
    assert result.exit_code == 0, result.output
    assert migrate.current_revision(warehouse.engine) == migrate.head_revision()
    assert {name: warehouse.scalar(f"SELECT COUNT(*) FROM {name}") for name in analyst_views} == before
    if role:
        assert warehouse.scalar("SELECT COUNT(*) FROM pg_views WHERE schemaname = current_schema()") >= 14
        ungranted = warehouse.rows(
            "SELECT viewname FROM pg_views WHERE schemaname = current_schema() "
            "AND NOT has_table_privilege(:role, format('%I.%I', schemaname, viewname), 'SELECT')", role=role)
        with warehouse.engine.begin() as connection:
            connection.exec_driver_sql(f"DROP OWNED BY {role}")
            connection.exec_driver_sql(f"DROP ROLE {role}")
        assert ungranted == []
    alembic(warehouse, "downgrade", "0012")  # and back, in place too
    assert {name: warehouse.scalar(f"SELECT COUNT(*) FROM {name}") for name in analyst_views} == before


def test_postgres_an_upgrade_a_users_view_stands_in_the_way_of_names_it_and_changes_nothing(postgres_warehouse):
    """0005 moves branches.raw to raw_label_rows; an analyst's view on that column makes Postgres refuse the
    DROP. The line named no view (the server says which in its detail): now it names it and what to do."""
    warehouse = postgres_warehouse
    assert CliRunner().invoke(cli, ["sync", "--from-export", str(ROOT / "examples/sample_export.json"),
                                    *warehouse.cli_args]).exit_code == 0
    alembic(warehouse, "downgrade", "0004")
    warehouse.execute("CREATE VIEW my_raw AS SELECT label_hash, raw FROM branches")
    result = CliRunner().invoke(cli, ["migrate", *warehouse.cli_args])
    assert (result.exit_code, result.stderr) == (2, (
        f"encord-warehouse: warehouse {make_url(warehouse.url).render_as_string()}: cannot drop column raw of table "
        "branches because other objects depend on it (view my_raw depends on column raw of table branches): drop "
        "them, run this again, then create them again\n"))
    assert migrate.current_revision(warehouse.engine) == "0004"
    assert warehouse.scalar("SELECT count(*) FROM my_raw") == 10


def test_a_schema_holding_another_applications_tables_is_refused_naming_them_and_left_as_it_is(warehouse):
    """A shared schema (Postgres's public): a team's own `projects` table, or another Alembic application's
    alembic_version. The first failed in the first migration's CREATE TABLE; the second read as a warehouse
    migrated by a newer encord-warehouse, with "upgrade encord-warehouse" as the advice. The commands that only
    read refuse them too: until 2026-11-30 `status` counted the team's `projects` as ours and, like `labels`,
    called the other application's schema an empty warehouse."""
    sync = ["sync", "--from-export", str(ROOT / "examples/sample_export.json"), *warehouse.cli_args]
    readers = [["status", *warehouse.cli_args], ["labels", "--title", "cat.jpg", "--start", "0", "--end", "0", *warehouse.cli_args]]
    create_schema_if_missing(warehouse.engine)
    warehouse.execute("CREATE TABLE projects (id INTEGER, name VARCHAR(20))")
    warehouse.execute("INSERT INTO projects VALUES (1, 'roadmap')")
    for command in (sync, *readers):
        warehouse.engine.dispose()  # a reader opens a DuckDB file read-only: not in a process that has it open to write
        result = CliRunner().invoke(cli, command)
        assert (result.exit_code, result.stderr) == (2, (
            "encord-warehouse: the warehouse already holds tables of the names encord-warehouse's have (projects) "
            "that are not its own: give encord-warehouse a Postgres schema (--schema) or a DuckDB file of its own\n")), command
    with pytest.raises(WarehouseError, match=r"holds tables of the names encord-warehouse's have \(projects\)"):
        labels_by_frame(warehouse.engine, LabelsQuery(title="cat.jpg", start=0, end=0))
    warehouse.execute("DROP TABLE projects")

    warehouse.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
    warehouse.execute("INSERT INTO alembic_version VALUES ('3f2a9c1b7d4e')")
    for command in (sync, ["migrate", *warehouse.cli_args], *readers):
        warehouse.engine.dispose()
        result = CliRunner().invoke(cli, command)
        assert (result.exit_code, result.stderr) == (2, (
            "encord-warehouse: the warehouse's alembic_version table is another application's (revision "
            "3f2a9c1b7d4e, not one of encord-warehouse's): give encord-warehouse a Postgres schema (--schema) or a "
            "DuckDB file of its own\n")), command
    with pytest.raises(WarehouseError, match=r"alembic_version table is another application's \(revision 3f2a9c1b7d4e"):
        labels_by_frame(warehouse.engine, LabelsQuery(title="cat.jpg", start=0, end=0))
    assert warehouse.rows("SELECT version_num FROM alembic_version") == [("3f2a9c1b7d4e",)]
    assert warehouse.scalar("SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()") == 1


def numeric_classification_export(tmp_path):
    """Three SDK-built images whose ontology has a numeric classification: answers 1000000.0, -0.0 and 2^53 (the SDK
    keeps floats; whole numbers from 2^53 on keep their ".0"), and a text classification (the sample's Notes)
    answered "5.0", which stays text."""
    ontology = build_ontology()
    speed = ontology.add_classification(feature_node_hash="sp33dCl1")
    speed.add_attribute(NumericAttribute, "Speed", feature_node_hash="sp33dNm1")
    rows = []
    for seed, number in ((70, 1000000.0), (71, -0.0), (72, 2.0 ** 53)):
        row = image_row(seed, ontology=ontology)
        instance = ClassificationInstance(speed, classification_hash=f"sp33d{seed}x")
        instance.set_answer(number)
        instance.set_for_frames(0)
        row.add_classification_instance(instance)
        notes = next(c for c in row.get_classification_instances() if c.ontology_item.feature_node_hash == NOTES)
        notes.set_answer("5.0", overwrite=True)
        rows.append(row.to_encord_dict())
    export, ontology_file = tmp_path / "numbers.json", tmp_path / "ontology.json"
    export.write_text(json.dumps(rows))
    ontology_file.write_text(json.dumps(ontology.to_dict()))
    return export, ontology_file


def classification_answers(warehouse) -> set[tuple]:
    return set(warehouse.rows(
        "SELECT c.classification_hash, c.answer, a.answer FROM classifications AS c JOIN attribute_answers AS a "
        "ON a.label_hash = c.label_hash AND a.owner_hash = c.classification_hash WHERE c.name IN ('Speed', 'Notes')"))


def test_a_numeric_classification_answer_reads_as_attribute_answers_prints_it_and_0019_rewrites_older_ones(warehouse,
                                                                                                           tmp_path):
    """classifications.answer said "1000000.0" where attribute_answers said "1000000" (and "-0.0" for its "0")."""
    export, ontology_file = numeric_classification_export(tmp_path)
    result = CliRunner().invoke(cli, ["sync", "--from-export", str(export), "--ontology", str(ontology_file),
                                      *warehouse.cli_args])
    assert result.exit_code == 0, result.output
    notes = {hash_ for hash_, answer, _ in classification_answers(warehouse) if answer == "5.0"}
    expected = {("sp33d70x", "1000000", "1000000"), ("sp33d71x", "0", "0")} | {(h, "5.0", "5.0") for h in notes}
    beyond = classification_answers(warehouse) - expected  # attribute_answers spells 2^53 as the database does
    assert len(notes) == 3 and {(h, answer) for h, answer, _ in beyond} == {("sp33d72x", "9007199254740992.0")}
    expected |= beyond

    alembic(warehouse, "downgrade", "0018")
    for classification_hash, spelling in (("sp33d70x", "1000000.0"), ("sp33d71x", "-0.0"),
                                          ("sp33d72x", "9007199254740992.0")):  # as 0018's sync wrote them
        warehouse.execute("UPDATE classifications SET answer = :a WHERE classification_hash = :c",
                          a=spelling, c=classification_hash)
    assert CliRunner().invoke(cli, ["migrate", *warehouse.cli_args]).exit_code == 0
    assert classification_answers(warehouse) == expected


def test_0020_has_rows_an_earlier_release_fetched_within_their_edit_window_fetched_again(warehouse, encord_emulator,
                                                                                          key_path, project):
    """A row stored unmarked (as releases before 0020 stored every row), fetched seconds after its save, and saved
    again in that same second: the upgrade's first sync fetches it, and sees the later save; other rows stay."""
    image = next(row for row in project.rows if row["data_type"] == "image")
    saved_at = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=3)
    encord_emulator.put_row(project.hash, image, last_edited_at=saved_at)
    run_sync(warehouse, encord_emulator, key_path, project.hash, "--overlap", "0s")  # stored unmarked
    alembic(warehouse, "downgrade", "0019")
    objects = "SELECT count(*) FROM objects WHERE label_hash = :h"
    stored_objects = warehouse.scalar(objects, h=image["label_hash"])
    saved_again = copy.deepcopy(image)
    next(iter(saved_again["data_units"].values()))["labels"]["objects"].pop()
    encord_emulator.put_row(project.hash, saved_again, last_edited_at=saved_at)
    encord_emulator.log.clear()
    run_sync(warehouse, encord_emulator, key_path, project.hash)  # upgrades first
    assert migrate.current_revision(warehouse.engine) == migrate.SCHEMA_REVISION
    assert encord_emulator.log.fetched_label_hashes() == [image["label_hash"]]
    assert last_run(warehouse) == ("succeeded", len(project.rows), 1, 0, 1, len(project.rows) - 1, 0, 0)
    assert warehouse.scalar(objects, h=image["label_hash"]) == stored_objects - 1
