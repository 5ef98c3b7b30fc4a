"""`encord-warehouse optimize` changes no value on either dialect; on DuckDB it puts the label tables
in label-row order, on Postgres it vacuums and analyzes them; a crash in the middle leaves every
table whole."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from click.testing import CliRunner

from connector.cli import cli
from connector.lock import warehouse_lock
from connector.optimize import TABLES, label_row_order, optimize
from sync_helpers import CLI, SYNC_TABLES, snapshot

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "sample_export.json"
ONTOLOGY = ROOT / "examples" / "ontology.json"
VIEW_QUERY = "SELECT * FROM frame_labels WHERE frame BETWEEN 0 AND 40"


def invoke(warehouse, *args, expect=0):
    result = CliRunner().invoke(cli, [*args, *warehouse.cli_args], catch_exceptions=False)
    assert result.exit_code == expect, result.output
    return result


def synced(warehouse):
    """The sample export, three label rows per transaction: tables in sync (file) order."""
    invoke(warehouse, "sync", "--from-export", str(SAMPLE), "--ontology", str(ONTOLOGY), "--batch-size", "3")
    return warehouse


def physical_order(warehouse, table) -> list[tuple]:
    """The ordering columns of every row, in the order the rows are stored."""
    position = "rowid" if warehouse.dialect == "duckdb" else "ctid"
    return warehouse.rows(f"SELECT {', '.join(label_row_order(table))} FROM {table.name} ORDER BY {position}")


def in_order(warehouse, table) -> bool:
    stored = physical_order(warehouse, table)
    return stored == sorted(stored)


def out_of_order(warehouse) -> list[str]:
    return [table.name for table in TABLES if not in_order(warehouse, table)]


def vacuumed(warehouse) -> list[str]:
    return [name for (name,) in warehouse.rows(
        "SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema() "
        "AND last_vacuum IS NOT NULL AND last_analyze IS NOT NULL ORDER BY relname")]


def test_tables_end_in_label_row_order_with_every_value_kept(warehouse):
    synced(warehouse)
    before, view_before = snapshot(warehouse, SYNC_TABLES, skip=set()), sorted(warehouse.rows(VIEW_QUERY), key=repr)
    names = [table.name for table in TABLES]
    assert out_of_order(warehouse) == names

    done = optimize(warehouse.engine, range_rows=40)  # DuckDB: many ranges of label hashes, each sorted

    assert [(table.table, table.rows) for table in done] == [
        (name, warehouse.scalar(f"SELECT count(*) FROM {name}")) for name in names]
    duckdb = warehouse.dialect == "duckdb"
    assert (done[2].table, done[2].rows, done[2].done) == (
        "object_frames", 1448, "in label-row order" if duckdb else "vacuumed and analyzed")
    if duckdb:
        assert out_of_order(warehouse) == []
    else:
        assert vacuumed(warehouse) == sorted(names)
    assert snapshot(warehouse, SYNC_TABLES, skip=set()) == before
    assert sorted(warehouse.rows(VIEW_QUERY), key=repr) == view_before


def test_a_sync_after_optimize_and_optimize_again(warehouse, tmp_path):
    synced(warehouse)
    invoke(warehouse, "optimize")
    rows = json.loads(SAMPLE.read_text())
    first = min(rows, key=lambda row: row["label_hash"])
    first["last_edited_at"] = "2030-01-01 00:00:00"  # edited: the next sync replaces its rows
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(rows))
    invoke(warehouse, "sync", "--from-export", str(edited), "--ontology", str(ONTOLOGY))
    assert warehouse.scalar("SELECT count(*) FROM object_frames") == 1448
    assert warehouse.scalar("SELECT last_edited_at FROM branches WHERE label_hash = :h", h=first["label_hash"]).year == 2030
    if warehouse.dialect == "duckdb":
        assert not in_order(warehouse, TABLES[2])  # the replaced label row's rows went to the end

    output = invoke(warehouse, "optimize").output
    done = "in label-row order" if warehouse.dialect == "duckdb" else "vacuumed and analyzed"
    assert f"object_frames: 1,448 rows {done}" in output
    assert len(output.splitlines()) == len(TABLES)
    if warehouse.dialect == "duckdb":
        assert out_of_order(warehouse) == []


def test_a_crash_mid_optimize_leaves_every_table_whole(warehouse):
    synced(warehouse)
    before = snapshot(warehouse, SYNC_TABLES, skip=set())
    warehouse.engine.dispose()  # DuckDB: one process at a time has the file open
    environment = {**os.environ, "ENCORD_WAREHOUSE_TEST_KILL_AT": "optimize:2"}  # after frames, inside objects'
    killed = subprocess.run([*CLI, "optimize", *warehouse.cli_args], env=environment, capture_output=True, timeout=120)
    assert killed.returncode == -9, killed.stderr.decode()[-2000:]

    assert snapshot(warehouse, SYNC_TABLES, skip=set()) == before
    if warehouse.dialect == "duckdb":  # frames was rewritten and committed, objects' rewrite rolled back
        assert out_of_order(warehouse) == [table.name for table in TABLES[1:]]
    else:
        assert vacuumed(warehouse) == ["frames", "objects"]  # VACUUM is done when the crash point is reached
    invoke(warehouse, "optimize")
    if warehouse.dialect == "duckdb":
        assert out_of_order(warehouse) == []
    assert snapshot(warehouse, SYNC_TABLES, skip=set()) == before


def test_optimize_refuses_while_a_sync_holds_the_lock(warehouse):
    synced(warehouse)
    with warehouse_lock(warehouse.engine):
        result = invoke(warehouse, "optimize", expect=2)
    assert "another encord-warehouse command is writing to" in result.output and len(result.output.splitlines()) == 1
    assert out_of_order(warehouse) == [table.name for table in TABLES]


def test_a_column_a_user_added_to_a_label_table_keeps_its_values(warehouse):
    """A team's column on our table (an enrichment) is copied with each row, not left NULL by the rewrite."""
    synced(warehouse)
    warehouse.execute("ALTER TABLE objects ADD COLUMN qa_verdict VARCHAR(20)")
    warehouse.execute("UPDATE objects SET qa_verdict = 'approved:' || object_hash")
    before = warehouse.rows("SELECT object_hash, qa_verdict FROM objects ORDER BY object_hash")

    optimize(warehouse.engine, range_rows=40)

    assert warehouse.rows("SELECT object_hash, qa_verdict FROM objects ORDER BY object_hash") == before
    assert {verdict for _, verdict in before} == {f"approved:{object_hash}" for object_hash, _ in before}
    if warehouse.dialect == "duckdb":
        assert out_of_order(warehouse) == []


def test_a_unique_index_a_user_put_on_a_label_table(warehouse):
    """DuckDB holds a unique index against the copy of each row its rewrite makes, even one dropped in the same
    transaction: refused in one line naming it, before any table is touched. Postgres vacuums in place. A plain
    index is kept through the rewrite on both."""
    synced(warehouse)
    warehouse.execute("CREATE INDEX my_frames ON object_frames (frame)")
    warehouse.execute("CREATE UNIQUE INDEX my_object_key ON objects (label_hash, object_hash)")
    if warehouse.dialect == "duckdb":
        result = invoke(warehouse, "optimize", expect=2)
        assert result.output == ("encord-warehouse: optimize rewrites table objects, and DuckDB holds its unique "
                                 "index my_object_key against the rows being rewritten: drop the index, run optimize, "
                                 "then create it again\n")
        assert out_of_order(warehouse) == [table.name for table in TABLES]
        warehouse.execute("DROP INDEX my_object_key")
    invoke(warehouse, "optimize")
    if warehouse.dialect == "duckdb":
        assert out_of_order(warehouse) == []
        indexes = "SELECT index_name FROM duckdb_indexes() WHERE index_name LIKE 'my%' ORDER BY 1"
    else:
        assert vacuumed(warehouse) == sorted(table.name for table in TABLES)
        indexes = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND indexname LIKE 'my%' ORDER BY 1"
    assert warehouse.rows(indexes) == [("my_frames",)] + ([] if warehouse.dialect == "duckdb" else [("my_object_key",)])


def test_a_key_constraint_a_user_put_on_a_label_table(warehouse):
    """A UNIQUE (or PRIMARY KEY) constraint added to one of our tables: DuckDB holds it against the rewrite's copies
    and cannot drop it, so
    optimize failed on the first row in words that read as duplicate data; refused in one line before anything is
    rewritten. Postgres vacuums in place."""
    synced(warehouse)
    warehouse.execute("ALTER TABLE objects ADD UNIQUE (label_hash, object_hash)")
    if warehouse.dialect == "duckdb":
        result = invoke(warehouse, "optimize", expect=2)
        assert result.output == ("encord-warehouse: optimize rewrites table objects, and DuckDB holds its "
                                 "UNIQUE(label_hash, object_hash) against the rows being rewritten and cannot drop it: "
                                 "leave optimize out, or make the table again without it (a unique index instead can "
                                 "be dropped around optimize)\n")
        assert out_of_order(warehouse) == [table.name for table in TABLES]
    else:
        invoke(warehouse, "optimize")
        assert vacuumed(warehouse) == sorted(table.name for table in TABLES)
