"""Write normalized batches to the warehouse: one transaction per batch.

For every label row in the batch, everything it owns is deleted and inserted again, so
re-loading the same rows leaves identical tables. DuckDB inserts from Arrow; Postgres
uses COPY. Never row-by-row INSERT.
"""

from __future__ import annotations

from collections import defaultdict
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Iterable, Iterator

import pyarrow as pa
from sqlalchemy import JSON, Connection, Engine, Table, delete, exists, select, tuple_, update
from sqlalchemy.exc import DBAPIError

from connector import schema
from connector.db import duckdb_settings
from connector.schema import column_specs
from connector.stage import StagedBatch, json_bytes, to_arrow

_DELETE_CHUNK = 1000
BULK_CHECKPOINT_THRESHOLD = "64MB"


def replace_label_rows(connection: Connection, batch: StagedBatch) -> int:
    """Delete every row of the batch's label rows and data units, then insert the batch; returns
    how many of its label rows the warehouse had before.

    Only label rows and data units the warehouse already has are deleted: every label-row
    table's rows are written in the same transaction as their `branches` row, so a label hash
    missing from `branches` owns nothing. A first sync then never scans the growing tables.
    """
    units = schema.data_units
    stored = _stored_owners(connection, batch.label_hashes)
    for chunk in chunks(list(stored), _DELETE_CHUNK):
        for table in schema.LABEL_ROW_TABLES:
            connection.execute(delete(table).where(table.c.label_hash.in_(chunk)))
    unit_keys = _stored(connection, (units.c.project_hash, units.c.data_hash), batch.data_unit_keys)
    for chunk in chunks(unit_keys, _DELETE_CHUNK):
        connection.execute(delete(units).where(tuple_(units.c.project_hash, units.c.data_hash).in_(chunk)))
    for name, rows in batch.tables.items():
        insert_rows(connection, schema.metadata.tables[name], rows)
    left_behind = defaultdict(list)  # data units of label rows that moved to another project
    for project_hash, data_hash in set(stored.values()) - set(batch.data_unit_keys):
        left_behind[project_hash].append(data_hash)
    for project_hash, data_hashes in left_behind.items():
        delete_unreferenced_data_units(connection, project_hash, data_hashes)
    return len(stored)


def _stored_owners(connection: Connection, label_hashes: list[str]) -> dict[str, tuple[str, str]]:
    """label hash -> (project_hash, data_hash) of the label rows the warehouse has."""
    branches = schema.branches
    owners = {}
    for chunk in chunks(label_hashes, _DELETE_CHUNK):
        query = select(branches.c.label_hash, branches.c.project_hash, branches.c.data_hash).where(
            branches.c.label_hash.in_(chunk))
        owners.update((label_hash, (project, data)) for label_hash, project, data in connection.execute(query))
    return owners


def bulk_load(engine: Engine) -> AbstractContextManager[None]:
    """Warehouse settings while many batches are loaded, restored afterwards.

    DuckDB writes its WAL into the database file (a checkpoint) whenever the WAL passes
    `checkpoint_threshold`, 16 MB by default; each checkpoint has a fixed cost, which made commits
    a fifth of a 430k-annotation load. Every 64 MB keeps checkpoints few, and the data that waits
    for one (held in memory) well under db.DUCKDB_MEMORY_LIMIT. DuckDB works with one thread: the
    other cores normalize the next batches (a 430k-annotation load: 23.3 -> 22.0 s of CPU, 0.7 s sooner).
    """
    return duckdb_settings(engine, {"checkpoint_threshold": BULK_CHECKPOINT_THRESHOLD, "threads": "1"})


def insert_rows(connection: Connection, table: Table, rows: list[tuple] | pa.Table) -> None:
    """Bulk-insert tuples that follow the table's column order, or an Arrow table from stage.stage (DuckDB)."""
    if len(rows) == 0:
        return
    if connection.dialect.name == "duckdb":
        arrow_table = rows if isinstance(rows, pa.Table) else to_arrow(column_specs([table])[table.name], rows)
        _insert_duckdb(connection, table, arrow_table)
    else:
        _copy_postgres(connection, table, rows)


def _insert_duckdb(connection: Connection, table: Table, arrow_table: pa.Table) -> None:
    duck = connection.connection.dbapi_connection
    view = f"_ew_batch_{table.name}"
    names = ", ".join(f'"{column.name}"' for column in table.columns)
    statement = f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM {view}'
    with _as_sqlalchemy_errors(connection, statement):
        duck.register(view, arrow_table)
        try:
            duck.execute(statement)
        finally:
            # after a failed statement the transaction is aborted and unregistering fails as well, which
            # must not hide the statement's own error (the next insert registers the name again)
            with suppress(connection.dialect.loaded_dbapi.Error):
                duck.unregister(view)


def _copy_postgres(connection: Connection, table: Table, rows: list[tuple]) -> None:
    json_positions = [i for i, column in enumerate(table.columns) if isinstance(column.type, JSON)]
    names = ", ".join(f'"{column.name}"' for column in table.columns)
    statement = f'COPY "{table.name}" ({names}) FROM STDIN'
    with _as_sqlalchemy_errors(connection, statement):
        cursor = connection.connection.dbapi_connection.cursor()
        with cursor.copy(statement) as copy:
            for row in rows:
                if json_positions:
                    row = list(row)
                    for i in json_positions:
                        row[i] = _json_text(row[i])
                copy.write_row(row)


@contextmanager
def _as_sqlalchemy_errors(connection: Connection, statement: str) -> Iterator[None]:
    """The driver's errors on its own connection (Arrow inserts, COPY) raised as SQLAlchemy raises those of
    its statements, so that callers handle a database error one way (a constraint, a full disk)."""
    driver_error = connection.dialect.loaded_dbapi.Error
    try:
        yield
    except driver_error as error:
        raise DBAPIError.instance(statement, None, error, driver_error, dialect=connection.dialect) from error


def _json_text(value) -> str | None:
    return None if value is None else json_bytes(value).decode()


def _stored(connection: Connection, columns: tuple, keys: list) -> list:
    """The keys (values of one column, or tuples of several) that the warehouse has."""
    match = columns[0] if len(columns) == 1 else tuple_(*columns)
    found = []
    for chunk in chunks(keys, _DELETE_CHUNK):
        rows = connection.execute(select(*columns).where(match.in_(chunk)))
        found += [row[0] if len(columns) == 1 else tuple(row) for row in rows]
    return found


def chunks(items: list, size: int = 1000) -> Iterable[list]:
    """`items` in lists of at most `size`: bind parameters of an IN (...) stay bounded."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def replace_project(connection: Connection, project: dict) -> None:
    """Insert or refresh one `projects` row; columns not given keep their stored values."""
    projects = schema.projects
    stored = connection.execute(projects.select().where(projects.c.project_hash == project["project_hash"])).mappings().first()
    values = {**(dict(stored) if stored else {}), **project}
    connection.execute(delete(projects).where(projects.c.project_hash == project["project_hash"]))
    connection.execute(projects.insert().values(**values))


def replace_ontology(connection: Connection, project_hash: str, tables: dict[str, list[tuple]], fingerprint: str) -> None:
    """The project's ontology tables hold these rows, of the ontology `fingerprint` names (projects.ontology_fingerprint:
    the `projects` row is written first)."""
    for name, rows in tables.items():
        table = schema.metadata.tables[name]
        connection.execute(delete(table).where(table.c.project_hash == project_hash))
        insert_rows(connection, table, rows)
    projects = schema.projects
    connection.execute(update(projects).where(projects.c.project_hash == project_hash)
                       .values(ontology_fingerprint=fingerprint))


def delete_label_rows(connection: Connection, project_hash: str, label_hashes: list[str], data_hashes: list[str],
                      keep: bool, now) -> None:
    """Remove label rows gone from the source with everything they own, then those of their data units
    (`data_hashes`) that no label row refers to any more; or only mark the label rows (`keep`)."""
    for chunk in chunks(label_hashes, _DELETE_CHUNK):
        if keep:
            branches = schema.branches
            connection.execute(update(branches).where(branches.c.label_hash.in_(chunk)).values(deleted_at=now))
            continue
        for table in schema.LABEL_ROW_TABLES:
            connection.execute(delete(table).where(table.c.label_hash.in_(chunk)))
    if not keep:
        delete_unreferenced_data_units(connection, project_hash, data_hashes)


def delete_unreferenced_data_units(connection: Connection, project_hash: str, data_hashes: list[str]) -> None:
    """A data unit stays while any label row of the project refers to it."""
    units, branches = schema.data_units, schema.branches
    referenced = exists().where(branches.c.project_hash == units.c.project_hash, branches.c.data_hash == units.c.data_hash)
    for chunk in chunks(data_hashes, _DELETE_CHUNK):
        connection.execute(delete(units).where(
            units.c.project_hash == project_hash, units.c.data_hash.in_(chunk), ~referenced))
