"""Normalized rows in the form the warehouse loads them: Arrow tables for DuckDB, the tuples
themselves for Postgres's COPY.

Staging runs where rows are normalized (a worker process, see connector/sync.py), so it reads
the columns as plain data (connector/columns.py) and imports no database code.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
import pyarrow as pa

from connector.columns import ColumnSpec, TableColumns
from connector.normalize import TABLE_COLUMNS, NormalizedBatch

_ARROW_TYPES = {"integer": pa.int64(), "bigint": pa.int64(), "double": pa.float64(), "boolean": pa.bool_(),
                "datetime": pa.timestamp("us"), "text": pa.string()}


@dataclass
class StagedBatch:
    """A normalized batch in the form the warehouse loads it (see stage)."""

    tables: dict[str, list[tuple] | pa.Table]
    label_hashes: list[str]
    data_unit_keys: list[tuple[str, str]]
    """(project_hash, data_hash) of each of the batch's data units."""


def stage(batch: NormalizedBatch, columns: TableColumns, dialect: str) -> StagedBatch:
    """Each table as `dialect` loads it: an Arrow table for DuckDB, the tuples for Postgres."""
    tables: dict[str, list[tuple] | pa.Table] = batch.tables
    if dialect == "duckdb":
        tables = {name: to_arrow(columns[name], rows) for name, rows in batch.tables.items() if rows}
    return StagedBatch(tables, batch.label_hashes, [unit[:2] for unit in batch.tables["data_units"]])


def combine(batches: list[StagedBatch]) -> StagedBatch:
    """One batch from several staged in order; a data unit that more than one of them holds (branches
    of one data unit) is written once."""
    if len(batches) == 1:
        return batches[0]
    first: dict[tuple[str, str], int] = {}
    keys = [key for batch in batches for key in batch.data_unit_keys]
    for index, key in enumerate(keys):
        first.setdefault(key, index)
    tables: dict[str, list[tuple] | pa.Table] = {}
    for name in TABLE_COLUMNS:
        parts = [batch.tables[name] for batch in batches if len(batch.tables.get(name, ())) > 0]
        if not parts:
            continue
        if isinstance(parts[0], pa.Table):
            tables[name] = pa.concat_tables(parts)
        else:
            tables[name] = [row for part in parts for row in part]
    if len(first) < len(keys):
        keep = sorted(first.values())
        units = tables["data_units"]
        tables["data_units"] = units.take(keep) if isinstance(units, pa.Table) else [units[i] for i in keep]
    return StagedBatch(tables, [h for batch in batches for h in batch.label_hashes], list(first))


def to_arrow(columns: tuple[ColumnSpec, ...], rows: list[tuple]) -> pa.Table:
    arrays = []
    for column, values in zip(columns, zip(*rows)):
        if column.kind == "json":
            arrays.append(pa.array([json_bytes(v) for v in values], pa.string()))  # Arrow takes UTF-8 bytes as is
        else:
            arrays.append(pa.array(values, _ARROW_TYPES[column.kind]))
    return pa.Table.from_arrays(arrays, names=[column.name for column in columns])


def json_bytes(value) -> bytes | None:
    if value is None:
        return None
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)
