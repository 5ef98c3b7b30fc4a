"""A chunk of label rows -> a staged batch: parse, normalize, check, stage.

This is the CPU-heavy part of a sync, and it is the same whether it runs in the sync's own
process or in a worker process (connector/sync.py decides): plain data in (source rows with
their fingerprints), plain data out (the tables as the warehouse loads them, the failures).
It imports no database code, so a worker process stays small.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from connector.columns import TableColumns
from connector.crashpoint import crash_point
from connector.failures import RowFailure
from connector.normalize import LabelRowError, NormalizedBatch, RowContext, merge_label_rows, normalize_label_row
from connector.ontology import OntologyIndex
from connector.rowcheck import check_json_columns, check_tables, flagged
from connector.sources import SourceRow
from connector.stage import StagedBatch, stage


@dataclass(frozen=True)
class ChunkSettings:
    """What every row of a chunk shares."""

    project_hash: str
    synced_at: datetime
    ontology: OntologyIndex
    dialect: str
    """The warehouse's, for staging."""
    columns: TableColumns
    """The label-row tables' columns (schema.column_specs()): workers do not import the schema."""


@dataclass(frozen=True)
class ChunkRow:
    item: SourceRow
    label_hash: str | None
    fingerprint: str | None
    json: bytes | None
    """The JSON the fingerprint was computed from, archived as is where the batch is written
    (stage.add_archive); batches and chunks are bounded by its size."""
    listing: str | None = None
    """listing_fingerprint of the row's listing metadata; None for an export's rows."""

    @property
    def size(self) -> int:
        return len(self.json or b"")


@dataclass
class PreparedChunk:
    staged: StagedBatch
    failures: list[RowFailure]
    """Quarantined: not loaded."""
    flagged: list[RowFailure]
    """Loaded, with problems flagged in object_frames.problems or classifications.problems."""


def prepare_chunk(rows: list[ChunkRow], settings: ChunkSettings) -> PreparedChunk:
    """Every row normalized and checked (a bad one becomes a failure), then staged as one batch."""
    crash_point("prepare")
    normalized: dict[str, _Normalized] = {}
    failures: list[RowFailure] = []
    for index, entry in enumerate(rows):
        rows[index] = None  # each row is freed once normalized, not when the chunk is done
        try:
            data_title, tables = _normalize(entry, settings)
            check_json_columns(entry.label_hash, tables, settings.columns, data_title, entry.json)
        except LabelRowError as error:
            failures.append(RowFailure(error.label_hash, error.field, error.reason, error.data_title, entry.item.location))
            continue
        normalized[entry.label_hash] = _Normalized(tables, data_title, entry.item.location)
    batch = _checked(normalized, settings.columns, failures)
    flagged_rows = [failure for label_hash, done in normalized.items()
                    for failure in flagged(label_hash, done.tables, done.data_title, done.location)]
    return PreparedChunk(stage(batch, settings.columns, settings.dialect), failures, flagged_rows)


@dataclass
class _Normalized:
    tables: dict[str, list[tuple]]
    data_title: str | None
    location: str


def _checked(normalized: dict[str, _Normalized], columns: TableColumns, failures: list[RowFailure]) -> NormalizedBatch:
    """The chunk's rows merged, once every value fits its column. The whole chunk is checked at once;
    only when something does not fit, row by row, to quarantine (remove, add to `failures`) just the
    rows at fault."""
    batch = merge_label_rows({label_hash: done.tables for label_hash, done in normalized.items()})
    try:
        check_tables(None, batch.tables, columns)
        return batch
    except LabelRowError:
        pass
    for label_hash, done in list(normalized.items()):
        try:
            check_tables(label_hash, done.tables, columns, done.data_title)
        except LabelRowError as error:
            failures.append(RowFailure(label_hash, error.field, error.reason, done.data_title, done.location))
            del normalized[label_hash]
    return merge_label_rows({label_hash: done.tables for label_hash, done in normalized.items()})


def _normalize(entry: ChunkRow, settings: ChunkSettings) -> tuple[str | None, dict[str, list[tuple]]]:
    """The row's data title and tables; the parsed row is not returned, so that it is freed here."""
    try:
        row = entry.item.parsed()
    except ValueError as error:
        raise LabelRowError(entry.label_hash, "<json>", f"invalid JSON: {error}"[:300]) from None
    context = RowContext(settings.project_hash, settings.synced_at, settings.ontology, entry.item.metadata,
                         entry.fingerprint, entry.listing)
    tables = normalize_label_row(row, context)  # first: it refuses a row that is not an object
    return row.get("data_title"), tables
