"""Normalized rows in the form the warehouse loads them: Arrow tables for DuckDB, the tuples
themselves for Postgres's COPY.

Staging runs where rows are normalized (a worker process, see connector/sync.py), so it reads
the columns as plain data (connector/columns.py) and imports no database code.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, TypeVar

import orjson
import pyarrow as pa

from connector.columns import ColumnSpec, TableColumns
from connector.normalize import TABLE_COLUMNS, NormalizedBatch

T = TypeVar("T")

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
    last: dict[tuple[str, str], int] = {}  # the last copy wins, as in merge_label_rows: the later row's facts
    keys = [key for batch in batches for key in batch.data_unit_keys]
    for index, key in enumerate(keys):
        last[key] = index
    tables: dict[str, list[tuple] | pa.Table] = {}
    for name in TABLE_COLUMNS:
        parts = [batch.tables[name] for batch in batches if len(batch.tables.get(name, ())) > 0]
        if not parts:
            continue
        if isinstance(parts[0], pa.Table):
            tables[name] = pa.concat_tables(parts)
        else:
            tables[name] = [row for part in parts for row in part]
    if len(last) < len(keys):
        keep = sorted(last.values())
        units = tables["data_units"]
        tables["data_units"] = units.take(keep) if isinstance(units, pa.Table) else [units[i] for i in keep]
    return StagedBatch(tables, [h for batch in batches for h in batch.label_hashes], list(last))


BATCH_BYTES = 16 << 20
"""A transaction (of a sync or a rebuild) also closes at this much label-row JSON. Larger transactions let DuckDB
write whole row groups straight to the file instead of through its log; this bounds the memory they take."""


def batches(items: Iterable[T], size: int, volume_of: Callable[[T], int],
            label_hash_of: Callable[[T], str | None] | None = None) -> Iterator[list[T]]:
    """Batches of at most `size` label rows and about BATCH_BYTES of their JSON, so memory stays bounded however
    large the label rows are. With `label_hash_of`, a label row that comes again (an export that has it twice)
    starts a new batch: the later one replaces the earlier."""
    batch: list[T] = []
    label_hashes: set[str | None] = set()
    volume = 0
    for item in items:
        label_hash = label_hash_of(item) if label_hash_of else None
        if label_hash is not None and label_hash in label_hashes:
            yield batch
            batch, label_hashes, volume = [], set(), 0
        batch.append(item)
        label_hashes.add(label_hash)
        volume += volume_of(item)
        if len(batch) >= size or volume >= BATCH_BYTES:
            yield batch
            batch, label_hashes, volume = [], set(), 0
    if batch:
        yield batch


ARCHIVE_PART_BYTES = 32_000
"""raw_label_rows.json_text holds a label row's JSON in parts of at most this many bytes (schema.py says why)."""


def add_archive(staged: StagedBatch, texts: dict[str, bytes], columns: TableColumns, dialect: str) -> None:
    """Stage raw_label_rows for the batch's label rows from `texts` (label hash -> the row's JSON as the
    source delivered it, UTF-8). Done where the texts already are, the sync's own process: a worker
    would have to send them back."""
    if staged.label_hashes:
        staged.tables["raw_label_rows"] = stage_archive([(h, texts[h]) for h in staged.label_hashes],
                                                        columns["raw_label_rows"], dialect)


def stage_archive(texts: list[tuple[str, bytes]], columns: tuple[ColumnSpec, ...], dialect: str) -> list[tuple] | pa.Table:
    """raw_label_rows rows (label_hash, part, json_text): each text cut into parts of at most
    ARCHIVE_PART_BYTES, between characters. For DuckDB an Arrow table whose json_text is the texts
    joined, with the parts as offsets into them: no part is copied on its own."""
    hashes, numbers, ends = [], [], [0]
    for label_hash, text in texts:
        offset = ends[-1]
        for number, end in enumerate(_part_ends(text)):
            hashes.append(label_hash)
            numbers.append(number)
            ends.append(offset + end)
    joined = b"".join(text for _, text in texts)
    if dialect != "duckdb":
        return [(h, n, joined[start:end].decode()) for h, n, start, end in zip(hashes, numbers, ends, ends[1:])]
    json_text = pa.LargeStringArray.from_buffers(len(numbers), pa.py_buffer(array("q", ends)), pa.py_buffer(joined))
    json_text.validate(full=True)  # Arrow trusts buffers it is given; this checks the UTF-8 (20 ms for 200 MB)
    return pa.Table.from_arrays([pa.array(hashes, pa.string()), pa.array(numbers, pa.int64()), json_text],
                                names=[column.name for column in columns])


def _part_ends(text: bytes) -> list[int]:
    """Where each part of `text` ends: ARCHIVE_PART_BYTES on, moved back off a UTF-8 continuation byte."""
    ends, start = [], 0
    while start < len(text):
        end = min(start + ARCHIVE_PART_BYTES, len(text))
        while end < len(text) and text[end] & 0xC0 == 0x80:
            end -= 1
        ends.append(end)
        start = end
    return ends


def to_arrow(columns: tuple[ColumnSpec, ...], rows: list[tuple]) -> pa.Table:
    arrays = []
    for column, values in zip(columns, zip(*rows)):
        if column.kind == "json":
            arrays.append(_json_array(values))
        else:
            arrays.append(pa.array(values, _ARROW_TYPES[column.kind]))
    return pa.Table.from_arrays(arrays, names=[column.name for column in columns])


_JSON_SLICE = 4096


def _json_array(values: tuple) -> pa.Array:
    """The values as JSON text (Arrow takes UTF-8 bytes as is), _JSON_SLICE of them at a time: orjson
    gives each text a buffer of about 1 KB that the heap keeps until the text is freed, so a column's
    texts made all at once held 371 MB for the 240,000 object frames of one long video."""
    return pa.concat_arrays([pa.array([json_bytes(v) for v in values[start:start + _JSON_SLICE]], pa.string())
                             for start in range(0, len(values), _JSON_SLICE)])


def json_bytes(value) -> bytes | None:
    if value is None:
        return None
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)
