"""The sync loop shared by every source: batch, normalize, load, record.

A source is an iterable of SourceRow. Each batch is one transaction: the batch's label
rows are replaced, its bad rows are recorded in sync_errors, and the caller's state hook
(the Encord source advances its cursor there) runs inside the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from sqlalchemy import Connection, Engine, select

from connector import load, migrate, schema
from connector.normalize import LabelRowError, RowContext, merge_label_rows, normalize_label_row
from connector.ontology import OntologyIndex, build_index, normalize_ontology
from connector.sources import SourceRow
from connector.sources.export import read_export, read_ontology
from connector.state import RowFailure, RunStats, finish_run, record_failures, start_run, utc_now

DEFAULT_BATCH_SIZE = 500

BatchHook = Callable[[Connection, list[SourceRow]], None]


@dataclass
class SyncResult:
    run_id: str
    stats: RunStats
    failures: list[RowFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class ExportSyncConfig:
    """`encord-warehouse sync --from-export`."""

    path: str
    """A JSON array, JSON Lines, a single label row, or a directory of such files."""
    project_hash: str = "export"
    """Export files do not name their project; rows land under this project hash."""
    ontology_path: str | None = None
    """An `OntologyStructure.to_dict()` JSON file; fills the ontology tables."""
    batch_size: int = DEFAULT_BATCH_SIZE
    """Label rows per transaction."""


def sync_export(engine: Engine, config: ExportSyncConfig, on_progress: Callable[[int], None] | None = None) -> SyncResult:
    migrate.upgrade(engine)
    ontology = read_ontology(config.ontology_path) if config.ontology_path else None
    run_id = start_run(engine, "export", config.project_hash)
    stats = RunStats()
    try:
        with engine.begin() as connection:
            load.replace_project(connection, {"project_hash": config.project_hash, "synced_at": utc_now()})
            if ontology is not None:
                load.replace_ontology(connection, config.project_hash, normalize_ontology(ontology, config.project_hash))
        failures = load_rows(
            engine, read_export(config.path), run_id, config.project_hash, build_index(ontology), stats,
            batch_size=config.batch_size, on_progress=on_progress,
        )
    except BaseException as error:
        finish_run(engine, run_id, stats, "failed", error=str(error)[:2000])
        raise
    finish_run(engine, run_id, stats, "partial" if failures else "succeeded")
    return SyncResult(run_id, stats, failures)


def load_rows(
    engine: Engine,
    rows: Iterable[SourceRow],
    run_id: str,
    project_hash: str,
    ontology: OntologyIndex,
    stats: RunStats,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_batch: BatchHook | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> list[RowFailure]:
    """Load every row in batches; returns the rows that failed (also recorded in sync_errors)."""
    failures: list[RowFailure] = []
    for batch in _batches(rows, batch_size):
        synced_at = utc_now()
        per_label_row: dict[str, dict[str, list[tuple]]] = {}
        batch_failures: list[RowFailure] = []
        for item in batch:
            try:
                tables = _normalize(item, RowContext(project_hash, synced_at, ontology, item.metadata))
            except LabelRowError as error:
                batch_failures.append(RowFailure(error.label_hash, error.field, error.reason, error.data_title, item.location))
                continue
            per_label_row.pop(item.row["label_hash"], None)
            per_label_row[item.row["label_hash"]] = tables
        normalized = merge_label_rows(per_label_row)
        with engine.begin() as connection:
            existing = _existing_label_hashes(connection, normalized.label_hashes)
            load.replace_label_rows(connection, normalized)
            record_failures(connection, run_id, project_hash, batch_failures)
            if on_batch is not None:
                on_batch(connection, batch)
        stats.listed += len(batch)
        stats.fetched += len(batch)
        stats.updated += len(existing)
        stats.inserted += len(normalized.label_hashes) - len(existing)
        stats.failed += len(batch_failures)
        failures.extend(batch_failures)
        if on_progress is not None:
            on_progress(len(batch))
    return failures


def _normalize(item: SourceRow, context: RowContext) -> dict[str, list[tuple]]:
    if item.error is not None:
        raise LabelRowError(None, "<json>", item.error)
    return normalize_label_row(item.row, context)


def _existing_label_hashes(connection: Connection, label_hashes: list[str]) -> set[str]:
    if not label_hashes:
        return set()
    branches = schema.branches
    return set(connection.scalars(select(branches.c.label_hash).where(branches.c.label_hash.in_(label_hashes))))


def _batches(rows: Iterable[SourceRow], size: int) -> Iterator[list[SourceRow]]:
    batch: list[SourceRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
