"""`encord-warehouse optimize`: housekeeping after syncs, so that a query for one label row (a frame
range of one video through the views) stays fast as the warehouse grows.

DuckDB keeps no index on the label tables (schema.UNKEYED_ON_DUCKDB); a scan skips a row group
only when the range of label hashes it holds excludes the one asked for. A sync appends each batch
where a table ends, so in sync order no row group can be skipped and every query for one video
reads the whole table. Each table is rewritten in label-row order in one transaction: its rows
appended again, one range of label hashes at a time (so a sort never needs the whole table in
memory), then the old rows deleted; the closing checkpoint frees their blocks for reuse (measured:
a 70 MB file went to 111 MB, then 72 MB and 108 MB on the next two runs: it does not creep). A crash
leaves a table as it was before or after its rewrite. The raw archive (raw_label_rows) is left as
it is: it is read one label row at a time (`rebuild`, label_row_json) and is the largest table.

Postgres finds a label row's rows through its label_hash indexes whatever their order (putting the
tables in that order measured no faster, and CLUSTER would lock readers out): there each table gets
VACUUM (ANALYZE), which reclaims the space of the rows that syncs replaced and refreshes the
planner's statistics without blocking readers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, Table, TableClause, func, insert, literal_column, select, text
from sqlalchemy import column as sql_column, table as sql_table

from connector import migrate, schema
from connector.crashpoint import crash_point
from connector.db import WarehouseError, capped_memory, dialect_of

TABLES = (schema.frames, schema.objects, schema.object_frames, schema.classifications, schema.classification_frames,
          schema.attributes)
RANGE_ROWS = 500_000
"""Rows per sorted range on DuckDB: a sort that fits the connector's memory limit or spills little."""


class OptimizeError(WarehouseError):
    """A rewrite did not put back the rows it took (nothing was changed)."""


@dataclass(frozen=True)
class TableOptimized:
    table: str
    rows: int
    done: str
    """What was done to it: "in label-row order" (DuckDB), "vacuumed and analyzed" (Postgres)."""
    seconds: float


@capped_memory
def optimize(engine: Engine, range_rows: int = RANGE_ROWS) -> list[TableOptimized]:
    """Every label table optimized, one at a time (on DuckDB, one transaction each)."""
    migrate.upgrade(engine, synced_only=True)
    duckdb = dialect_of(engine) == "duckdb"
    (_refuse_unique_indexes if duckdb else _refuse_tables_not_owned)(engine)
    done = []
    for table in TABLES:
        started = time.perf_counter()
        rows = _sort_duckdb(engine, table, range_rows) if duckdb else _vacuum_postgres(engine, table)
        done.append(TableOptimized(table.name, rows, "in label-row order" if duckdb else "vacuumed and analyzed",
                                   time.perf_counter() - started))
    if duckdb:
        with engine.connect() as connection:
            connection.exec_driver_sql("CHECKPOINT")
    return done


def label_row_order(table: Table) -> list[str]:
    """The columns a table is put in order by: label_hash and frame (what the frame-range query
    filters on) where it has frames, else its primary key."""
    if "frame" in table.c:
        return ["label_hash", "frame"]
    return [column.name for column in table.primary_key.columns]


def _sort_duckdb(engine: Engine, table: Table, range_rows: int) -> int:
    rowid = literal_column("rowid")
    with engine.begin() as connection:
        live = _as_stored(connection, table.name)
        last, count = connection.execute(select(func.max(rowid), func.count()).select_from(live)).one()
        if not count:
            return 0
        order = [live.c[name] for name in label_row_order(table)]
        copied = 0
        for low, high in _ranges(_label_hash_bounds(connection, -(-count // range_rows))):
            rows = select(live).where(rowid <= last)
            if low is not None:
                rows = rows.where(live.c.label_hash >= low)
            if high is not None:
                rows = rows.where(live.c.label_hash < high)
            copied += connection.execute(insert(live).from_select(list(live.columns), rows.order_by(*order))).rowcount
        deleted = connection.execute(live.delete().where(rowid <= last)).rowcount
        if copied != deleted:
            raise OptimizeError(f"{table.name}: {copied} rows copied in order but {deleted} taken out; rolled back")
        crash_point("optimize")
    return deleted


def _as_stored(connection: Connection, table_name: str) -> TableClause:
    """The table with the columns it has in the file: one a user added to it is copied too, not left NULL."""
    names = connection.execute(text(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = :table AND schema_name = current_schema() "
        "AND database_name = current_database() ORDER BY column_index"), {"table": table_name}).scalars()
    return sql_table(table_name, *(sql_column(name) for name in names))


def _refuse_unique_indexes(engine: Engine) -> None:
    """A unique index or key a user put on a label table (ours have none on DuckDB) failed the rewrite on the first
    row, in words that read as duplicate data: DuckDB holds it against the copy made beside each row, even with
    the index dropped in the same transaction. A key constraint DuckDB cannot drop at all."""
    where = ("schema_name = current_schema() AND database_name = current_database() "
             "AND list_contains(:tables, table_name) ORDER BY ALL")
    tables = {"tables": [table.name for table in TABLES]}
    with engine.connect() as connection:
        index = connection.execute(text(
            f"SELECT table_name, index_name FROM duckdb_indexes() WHERE is_unique AND {where}"), tables).first()
        key = connection.execute(text(
            "SELECT table_name, constraint_text FROM duckdb_constraints() "
            f"WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE') AND {where}"), tables).first()
    if index:
        raise WarehouseError(f"optimize rewrites table {index[0]}, and DuckDB holds its unique index {index[1]} "
                             "against the rows being rewritten: drop the index, run optimize, then create it again")
    if key:
        raise WarehouseError(f"optimize rewrites table {key[0]}, and DuckDB holds its {key[1]} against the rows being "
                             "rewritten and cannot drop it: leave optimize out, or make the table again without it "
                             "(a unique index instead can be dropped around optimize)")


def _ranges(bounds: list[str]) -> list[tuple[str | None, str | None]]:
    """[low, high) pairs covering every label hash; None is open."""
    return list(zip([None, *bounds], [*bounds, None]))


def _label_hash_bounds(connection: Connection, parts: int) -> list[str]:
    """Label hashes that cut the label rows into `parts` ranges of about as many label rows each."""
    if parts <= 1:
        return []
    branches = schema.branches
    count = connection.execute(select(func.count()).select_from(branches)).scalar()
    step = max(1, count // parts)
    numbered = select(branches.c.label_hash, func.row_number().over(order_by=branches.c.label_hash).label("n")).subquery()
    query = select(numbered.c.label_hash).where(numbered.c.n % step == 0).order_by(numbered.c.label_hash)
    return list(connection.execute(query).scalars())[:parts - 1]


def _refuse_tables_not_owned(engine: Engine) -> None:
    """Postgres skips a table the role may not vacuum with a warning only, VACUUM succeeding: optimize would
    report every table done with none vacuumed. The rule is the server's (its owner's role or the database's;
    from Postgres 17 also the MAINTAIN privilege)."""
    maintain = " AND NOT has_table_privilege(c.oid, 'MAINTAIN')" if engine.dialect.server_version_info >= (17,) else ""
    with engine.connect() as connection:
        refused = connection.execute(text(
            "SELECT t.name, pg_get_userbyid(c.relowner) FROM unnest(CAST(:tables AS text[])) AS t(name) "
            "JOIN pg_class AS c ON c.oid = to_regclass(quote_ident(t.name)) "
            "JOIN pg_database AS d ON d.datname = current_database() "
            f"WHERE NOT pg_has_role(c.relowner, 'USAGE') AND NOT pg_has_role(d.datdba, 'USAGE'){maintain} "
            "ORDER BY t.name"), {"tables": [table.name for table in TABLES]}).first()
    if refused:
        raise WarehouseError(f"optimize vacuums the label tables, and Postgres lets only a table's owner do so: "
                             f"table {refused[0]} is owned by {refused[1]}; run optimize as {refused[1]}")


def _vacuum_postgres(engine: Engine, table: Table) -> int:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:  # VACUUM needs it
        connection.execute(text(f"VACUUM (ANALYZE) {connection.dialect.identifier_preparer.quote(table.name)}"))
        crash_point("optimize")
        return connection.execute(select(func.count()).select_from(table)).scalar()
