"""A chunk of label rows -> a staged batch: parse, normalize, check, stage.

This is the CPU-heavy part of a sync, and it is the same whether it runs in the sync's own
process or in a worker process (connector/sync.py decides): plain data in (source rows with
their fingerprints), plain data out (the tables as the warehouse loads them, the failures).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from connector import load
from connector.normalize import LabelRowError, RowContext, merge_label_rows, normalize_label_row
from connector.ontology import OntologyIndex
from connector.rowcheck import check_tables, flagged
from connector.sources import SourceRow
from connector.state import RowFailure


@dataclass(frozen=True)
class ChunkSettings:
    """What every row of a chunk shares."""

    project_hash: str
    synced_at: datetime
    ontology: OntologyIndex
    dialect: str
    """The warehouse's, for load.stage."""


@dataclass(frozen=True)
class ChunkRow:
    item: SourceRow
    label_hash: str | None
    fingerprint: str | None


@dataclass
class PreparedChunk:
    staged: load.StagedBatch
    failures: list[RowFailure]
    """Quarantined: not loaded."""
    flagged: list[RowFailure]
    """Loaded, with problems flagged in object_frames.problems."""


def prepare_chunk(rows: list[ChunkRow], settings: ChunkSettings) -> PreparedChunk:
    """Every row normalized and checked (a bad one becomes a failure), then staged as one batch."""
    per_label_row: dict[str, dict[str, list[tuple]]] = {}
    failures: list[RowFailure] = []
    flagged_rows: list[RowFailure] = []
    for index, entry in enumerate(rows):
        rows[index] = None  # each row is freed once normalized, not when the chunk is done
        try:
            row, tables = _normalize(entry, settings)
        except LabelRowError as error:
            failures.append(RowFailure(error.label_hash, error.field, error.reason, error.data_title, entry.item.location))
            continue
        per_label_row[entry.label_hash] = tables
        flagged_rows.extend(flagged(entry.label_hash, tables, row.get("data_title"), entry.item.location))
    return PreparedChunk(load.stage(merge_label_rows(per_label_row), settings.dialect), failures, flagged_rows)


def _normalize(entry: ChunkRow, settings: ChunkSettings) -> tuple[dict, dict[str, list[tuple]]]:
    try:
        row = entry.item.parsed()
    except ValueError as error:
        raise LabelRowError(entry.label_hash, "<json>", f"invalid JSON: {error}"[:300]) from None
    context = RowContext(settings.project_hash, settings.synced_at, settings.ontology, entry.item.metadata,
                         entry.fingerprint, entry.item.text)
    try:
        tables = normalize_label_row(row, context)
    except LabelRowError:
        raise
    except Exception as error:  # a shape normalize did not foresee quarantines the row, not the sync
        raise LabelRowError(entry.label_hash, "<row>", f"cannot read: {type(error).__name__}: {error}"[:300]) from error
    check_tables(entry.label_hash, tables, row.get("data_title"))
    return row, tables
