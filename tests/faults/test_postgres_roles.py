"""Postgres roles as a warehouse's users have them: a read-only role (a BI tool's, an analyst's)
reads status and labels; a role that owns only its schema syncs into it; a schema that does not
exist is not created by a command that only reads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from connector.cli import cli
from connector.db import create_warehouse_engine
from sync_helpers import SYNC_TABLES, snapshot
from warehouses import Warehouse, new_postgres_warehouse

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ["--from-export", str(ROOT / "examples" / "sample_export.json"),
          "--ontology", str(ROOT / "examples" / "ontology.json")]


@pytest.fixture
def admin(postgres_url):
    engine = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture
def role(admin, postgres_url):
    """A login role with no privileges beyond PUBLIC's: its URL, and its name for GRANTs."""
    name = f"r_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE ROLE "{name}" LOGIN'))
    yield make_url(postgres_url).set(username=name).render_as_string(hide_password=False), name
    with admin.connect() as connection:
        connection.execute(text(f'DROP OWNED BY "{name}"'))
        connection.execute(text(f'DROP ROLE "{name}"'))


@pytest.fixture
def synced(postgres_url, admin):
    """The sample export synced by the server's superuser into a schema of its own."""
    warehouse = new_postgres_warehouse(postgres_url)
    run(warehouse.cli_args, "sync", *SAMPLE)
    yield warehouse
    warehouse.engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{warehouse.schema}" CASCADE'))


def run(db_args, *args, expect=0):
    result = CliRunner().invoke(cli, [*args, *db_args], catch_exceptions=False)
    assert result.exit_code == expect, result.output
    return result


def alembic(url, *args):
    environment = {**os.environ, "ENCORD_WAREHOUSE_DB": url}
    environment.pop("ENCORD_WAREHOUSE_SCHEMA", None)
    result = subprocess.run([sys.executable, "-m", "alembic", *args], cwd=ROOT, env=environment, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr[-3000:]


def schema_exists(admin, schema) -> bool:
    with admin.connect() as connection:
        return connection.scalar(text("SELECT count(*) FROM pg_namespace WHERE nspname = :s"), {"s": schema}) == 1


def test_a_read_only_role_reads_status_and_labels_and_cannot_sync(synced, role, admin):
    url, name = role
    with admin.connect() as connection:
        connection.execute(text(f'GRANT USAGE ON SCHEMA "{synced.schema}" TO "{name}"'))
        connection.execute(text(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{synced.schema}" TO "{name}"'))
    reader = ["--db", url, "--schema", synced.schema]
    objects = synced.scalar("SELECT count(*) FROM objects")
    status = run(reader, "status").output
    assert [line.split() for line in status.splitlines() if line.startswith("objects ")] == [["objects", str(objects)]]

    title, frame = synced.rows("SELECT data_title, min(frame) FROM frame_labels GROUP BY data_title ORDER BY 1 LIMIT 1")[0]
    query = ("labels", "--title", title, "--frames", str(frame), "--format", "csv")
    printed = run(reader, *query).output
    assert printed == run(synced.cli_args, *query).output and title in printed.splitlines()[1]

    before = snapshot(synced, SYNC_TABLES)
    refused = run(reader, "sync", *SAMPLE, "--full-refresh", expect=2)
    assert refused.output.strip().splitlines() == [
        f"encord-warehouse: warehouse {make_url(url).render_as_string()}: permission denied for table sync_runs"]
    assert snapshot(synced, SYNC_TABLES) == before


def test_a_role_owning_only_its_schema_syncs_into_it(role, admin, postgres_url):
    url, name = role
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:  # no CREATE on the database: CREATE SCHEMA IF NOT EXISTS would fail
        connection.execute(text(f'CREATE SCHEMA "{schema}" AUTHORIZATION "{name}"'))
    owner = ["--db", url, "--schema", schema]
    run(owner, "sync", *SAMPLE)
    reference = new_postgres_warehouse(postgres_url)
    run(reference.cli_args, "sync", *SAMPLE)
    synced = Warehouse("postgresql", postgres_url, schema, create_warehouse_engine(postgres_url, schema))
    assert snapshot(synced, SYNC_TABLES) == snapshot(reference, SYNC_TABLES)
    for warehouse in (synced, reference):
        warehouse.engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA "{reference.schema}" CASCADE'))


def test_reading_a_missing_schema_creates_nothing_and_a_sync_creates_it(postgres_url, admin):
    """A schema that is not there (mistyped) is an error for the commands that read, as a DuckDB file that
    is not there is: not an empty warehouse whose status a monitoring check would take for no runs."""
    warehouse = new_postgres_warehouse(postgres_url)
    for command in (["status"], ["status", "--format", "json"], ["labels", "--title", "x", "--frames", "1"],
                    ["optimize"], ["rebuild"]):
        refused = run(warehouse.cli_args, *command, expect=2).output
        assert refused == (f"encord-warehouse: no schema '{warehouse.schema}' in this Postgres database: run "
                           "`encord-warehouse sync` (or `migrate`) first, or check --schema ($ENCORD_WAREHOUSE_SCHEMA)\n")
    assert not schema_exists(admin, warehouse.schema)
    with admin.connect() as connection:  # there, and empty: an empty warehouse
        connection.execute(text(f'CREATE SCHEMA "{warehouse.schema}"'))
    status = run(warehouse.cli_args, "status").output
    assert status.strip() == "the warehouse is empty: run `encord-warehouse sync` (or `migrate`) first"
    run(warehouse.cli_args, "sync", *SAMPLE)
    label_rows = len(json.loads(Path(SAMPLE[1]).read_text()))
    assert schema_exists(admin, warehouse.schema) and warehouse.scalar("SELECT count(*) FROM branches") == label_rows
    warehouse.engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA "{warehouse.schema}" CASCADE'))



@pytest.mark.parametrize("encoding", ["LATIN1", "SQL_ASCII"])
def test_a_database_not_encoded_in_utf8_is_refused_in_one_line_before_anything_is_written(admin, postgres_url, encoding):
    """Until 2026-11-29 a LATIN1 database failed a whole sync in a traceback on the first character outside
    Latin-1 (nothing loaded), and a SQL_ASCII one (initdb's default under the C locale) every command; until
    2026-11-30 a SQL_ASCII one still did with --schema."""
    database = f"enc_{encoding.lower()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {database} ENCODING '{encoding}' LC_COLLATE 'C' LC_CTYPE 'C' "
                                "TEMPLATE template0"))
    url = make_url(postgres_url).set(database=database).render_as_string(hide_password=False)
    try:
        for command in (["sync", *SAMPLE], ["status"], ["migrate"], ["sync", *SAMPLE, "--schema", "encord"],
                        ["migrate", "--schema", "encord"]):  # the writer's lock connects first when the schema is named
            result = CliRunner().invoke(cli, [*command, "--db", url])
            assert (result.exit_code, result.stderr) == (2, (
                f"encord-warehouse: the Postgres database is encoded {encoding}; encord-warehouse needs a UTF8 "
                "database (CREATE DATABASE name ENCODING 'UTF8' TEMPLATE template0)\n")), command
        engine = create_engine(url, connect_args={"client_encoding": "utf8"})  # else SQLAlchemy misreads SQL_ASCII's answers
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")) == 0
        engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE {database} WITH (FORCE)"))


def test_optimize_by_a_role_that_does_not_own_the_tables_is_refused_not_reported_done(synced, role, admin):
    """Postgres skips a table the role may not vacuum with a warning, VACUUM succeeding: optimize printed
    "vacuumed and analyzed" for every table and vacuumed none. A member of the owner's role may."""
    url, name = role
    owner = synced.scalar("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = to_regclass('objects')")
    with admin.connect() as connection:
        connection.execute(text(f'GRANT USAGE ON SCHEMA "{synced.schema}" TO "{name}"'))
        connection.execute(text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{synced.schema}" TO "{name}"'))
    scheduled = ["--db", url, "--schema", synced.schema]
    refused = run(scheduled, "optimize", expect=2)
    assert refused.output == ("encord-warehouse: optimize vacuums the label tables, and Postgres lets only a table's "
                              f"owner do so: table attributes is owned by {owner}; run optimize as {owner}\n")
    assert synced.scalar("SELECT count(*) FROM pg_stat_user_tables WHERE schemaname = current_schema() "
                         "AND last_vacuum IS NOT NULL") == 0

    with admin.connect() as connection:
        connection.execute(text(f'GRANT "{owner}" TO "{name}"'))
    done = run(scheduled, "optimize").output
    assert "objects: 83 rows vacuumed and analyzed" in done
    assert synced.scalar("SELECT count(*) FROM pg_stat_user_tables WHERE schemaname = current_schema() "
                         "AND relname = 'objects' AND last_vacuum IS NOT NULL") == 1


def test_frame_labels_range_reads_its_own_schema_whoever_calls_it(admin, postgres_url, role):
    """A warehouse made without --schema lands in public; until 0017 its function kept the default search_path
    as written, `"$user", public`, and an analyst whose own schema holds a `frame_labels` (a dbt model) got that
    one's rows from public.frame_labels_range. Down to 0016 shows the old pin; up again, the new one."""
    url, name = role
    database = f"enc_range_{uuid.uuid4().hex[:6]}"
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {database}"))
    warehouse_url = make_url(postgres_url).set(database=database).render_as_string(hide_password=False)
    try:
        run(["--db", warehouse_url], "sync", *SAMPLE)
        owner = create_engine(warehouse_url, isolation_level="AUTOCOMMIT")
        with owner.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{name}" AUTHORIZATION "{name}"'))
            connection.execute(text(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{name}"'))
            title, frame = connection.execute(text(
                "SELECT data_title, min(frame) FROM frame_labels GROUP BY 1 ORDER BY 1 LIMIT 1")).one()
            expected = connection.scalar(text("SELECT count(*) FROM frame_labels WHERE data_title = :t AND frame = :f"),
                                         {"t": title, "f": frame})
        analyst = create_engine(make_url(warehouse_url).set(username=name), isolation_level="AUTOCOMMIT")
        with analyst.connect() as connection:  # the analyst's model, first on its search_path ("$user")
            connection.execute(text(f'CREATE TABLE "{name}".frame_labels AS SELECT * FROM public.frame_labels LIMIT 0'))
            ranged = text("SELECT count(*) FROM public.frame_labels_range(:t, :f, :f)")
            assert expected > 0 and connection.scalar(ranged, {"t": title, "f": frame}) == expected
            connection.execute(text("CREATE TEMP TABLE frame_labels AS SELECT * FROM public.frame_labels LIMIT 0"))
            assert connection.scalar(ranged, {"t": title, "f": frame}) == expected  # pg_temp is searched last


            alembic(warehouse_url, "downgrade", "0016")  # 0002's pin: the analyst's table
            assert connection.scalar(ranged, {"t": title, "f": frame}) == 0
            alembic(warehouse_url, "upgrade", "head")
            assert connection.scalar(ranged, {"t": title, "f": frame}) == expected
        analyst.dispose()
        owner.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE {database} WITH (FORCE)"))


def test_frame_labels_range_in_a_schema_whose_name_needs_quoting(postgres_url, admin):
    """0017 pins the function to its schema by name, quoted by the server: a name with a space and a capital."""
    schema = f"Encord Labels {uuid.uuid4().hex[:6]}"
    try:
        run(["--db", postgres_url, "--schema", schema], "sync", *SAMPLE)
        warehouse = Warehouse("postgresql", postgres_url, schema, create_warehouse_engine(postgres_url, schema))
        title, first, last = warehouse.rows("SELECT data_title, min(frame), max(frame) FROM frame_labels GROUP BY 1 "
                                            "ORDER BY count(*) DESC, 1 LIMIT 1")[0]
        ranged = warehouse.scalar("SELECT count(*) FROM frame_labels_range(:t, :a, :b)", t=title, a=first, b=last)
        assert ranged == warehouse.scalar("SELECT count(*) FROM frame_labels WHERE data_title = :t", t=title) > 0
        assert warehouse.scalar("SELECT proconfig[1] FROM pg_proc WHERE oid = "
                                "'frame_labels_range(text, integer, integer)'::regprocedure") == \
            f'search_path="{schema}", pg_temp'
        warehouse.engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
