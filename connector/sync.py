"""The sync loop shared by every source: batch, normalize, load, record.

A source is an iterable of SourceRow. Each batch is one transaction: the batch's label
rows are replaced, its bad rows are recorded in sync_errors, and the caller's state hook
(the Encord source advances its cursor there) runs inside the same transaction.
"""

from __future__ import annotations

import gc
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable, Iterator

from sqlalchemy import Connection, Engine, select

from connector import load, migrate, schema
from connector.crashpoint import crash_point
from connector.normalize import (
    LabelRowError, RowContext, content_fingerprint, merge_label_rows, normalize_label_row, row_json,
)
from connector.ontology import OntologyIndex, build_index, normalize_ontology
from connector.rowcheck import check_tables, flagged
from connector.sources import SourceRow
from connector.sources.export import read_export, read_ontology
from connector.state import RowFailure, RunStats, record_failures, recorded_run, utc_now

DEFAULT_BATCH_SIZE = 500
MAX_BATCH_ANNOTATIONS = 20_000  # a batch also closes at this many annotations: ~60 MB of parsed JSON

BatchHook = Callable[[Connection, list[datetime | None]], None]
"""Runs inside each batch's transaction with the listed edit time (SourceRow.edited_at) of each of its label rows."""


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
    full_refresh: bool = False
    """Rewrite every label row, even those whose content is unchanged since the last sync."""


def sync_export(engine: Engine, config: ExportSyncConfig, on_progress: Callable[[int], None] | None = None) -> SyncResult:
    migrate.upgrade(engine)
    ontology = read_ontology(config.ontology_path) if config.ontology_path else None
    with recorded_run(engine, "export", config.project_hash) as run:
        with engine.begin() as connection:
            load.replace_project(connection, {"project_hash": config.project_hash, "synced_at": utc_now()})
            if ontology is not None:
                load.replace_ontology(connection, config.project_hash, normalize_ontology(ontology, config.project_hash))
        run.failures = load_rows(
            engine, read_export(config.path), run.run_id, config.project_hash, build_index(ontology), run.stats,
            batch_size=config.batch_size, full_refresh=config.full_refresh, on_progress=on_progress,
        )
        run.stats.listed = run.stats.fetched
    return SyncResult(run.run_id, run.stats, run.failures)


def load_rows(
    engine: Engine,
    rows: Iterable[SourceRow],
    run_id: str,
    project_hash: str,
    ontology: OntologyIndex,
    stats: RunStats,
    batch_size: int = DEFAULT_BATCH_SIZE,
    full_refresh: bool = False,
    on_batch: BatchHook | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> list[RowFailure]:
    """Load every row in batches; returns the rows that failed (also recorded in sync_errors).

    A label row whose content fingerprint matches the stored one is left alone, unless
    `full_refresh` asks for every row to be rewritten. While one batch is written (in a second
    thread; the database does that work without holding Python's lock), the next is read and
    normalized: at most two batches are in memory. A batch that was handed to the writer is
    committed before an error in reading the next one stops the load.
    """
    failures: list[RowFailure] = []
    with _collector_paused(), _quick_lock_handover(), load.bulk_load(engine), \
            ThreadPoolExecutor(1, thread_name_prefix="writer") as writer:
        writing: Future | None = None
        for batch in _batches(rows, batch_size):
            prepared = _prepare_batch(engine, batch, project_hash, ontology, stats, full_refresh)
            if writing is not None:
                writing.result()
            writing = writer.submit(_write_batch, engine, prepared, run_id, project_hash, stats, on_batch, on_progress)
            failures.extend(prepared.failures)
        if writing is not None:
            writing.result()
    return failures


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Parsing and normalizing allocate millions of dicts, lists and tuples that form no cycles;
    the cyclic garbage collector would scan them again and again (it tripled the time of a large
    export). Reference counting frees each batch; a source whose objects hold cycles collects
    them itself (sources/encord.py)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass
class _PreparedBatch:
    edited_at: list[datetime | None]
    """Of each label row in the batch; the label-row dicts themselves are freed once normalized."""
    staged: load.StagedBatch
    failures: list[RowFailure]
    """Quarantined: not loaded."""
    flagged: list[RowFailure]
    """Loaded, with problems flagged in object_frames.problems."""


@contextmanager
def _quick_lock_handover() -> Iterator[None]:
    """After each database call the writer thread needs Python's lock back from the thread that
    normalizes, which keeps it for the switch interval, 5 ms by default: some 30 calls per batch
    made the writer wait longer than it worked. 0.2 ms took a 430k-annotation load from 11.7 s to 10.4 s."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def _prepare_batch(engine: Engine, batch: list[SourceRow | None], project_hash: str, ontology: OntologyIndex,
                   stats: RunStats, full_refresh: bool) -> _PreparedBatch:
    """Fingerprint, compare with the warehouse, normalize, stage: everything before the write. The writer
    looks the label rows up again inside its transaction: the batch before may still be writing."""
    synced_at = utc_now()
    texts: dict[str, bytes | None] = {}
    fingerprints: dict[str, str] = {}
    for item in batch:
        label_hash = _label_hash(item.row)
        if label_hash is not None:
            texts[label_hash] = text = row_json(item.row)
            if text is not None:
                fingerprints[label_hash] = content_fingerprint(text, item.metadata, ontology)
    stored = _stored_fingerprints(engine, list(fingerprints))
    per_label_row: dict[str, dict[str, list[tuple]]] = {}
    failures: list[RowFailure] = []
    flagged_rows: list[RowFailure] = []
    edited_at = [item.edited_at for item in batch]
    for index, item in enumerate(batch):
        batch[index] = None  # each label-row dict is freed once normalized, not when the whole batch is written
        label_hash = _label_hash(item.row)
        if not full_refresh and label_hash in stored and stored[label_hash] == fingerprints.get(label_hash):
            stats.unchanged += 1
            continue
        crash_point("normalize")
        context = RowContext(project_hash, synced_at, ontology, item.metadata, fingerprints.get(label_hash),
                             texts.pop(label_hash, None))  # popped: the JSON is freed once archived
        try:
            tables = _normalize(item, context)
        except LabelRowError as error:
            failures.append(RowFailure(error.label_hash, error.field, error.reason, error.data_title, item.location))
            continue
        per_label_row.pop(label_hash, None)
        per_label_row[label_hash] = tables
        flagged_rows.extend(flagged(label_hash, tables, item.row.get("data_title"), item.location))
    stats.fetched += len(edited_at)
    stats.failed += len(failures)
    staged = load.stage(merge_label_rows(per_label_row), engine.dialect.name)
    return _PreparedBatch(edited_at, staged, failures, flagged_rows)


def _write_batch(engine: Engine, prepared: _PreparedBatch, run_id: str, project_hash: str, stats: RunStats,
                 on_batch: BatchHook | None, on_progress: Callable[[int], None] | None) -> None:
    """One transaction: the batch's label rows replaced, its failures recorded, the source's hook."""
    with engine.begin() as connection:
        updated = load.replace_label_rows(connection, prepared.staged)
        record_failures(connection, run_id, project_hash, prepared.failures + prepared.flagged)
        if on_batch is not None:
            on_batch(connection, prepared.edited_at)
        crash_point("load")
    crash_point("commit")
    stats.updated += updated
    stats.inserted += len(prepared.staged.label_hashes) - updated
    if on_progress is not None:
        on_progress(len(prepared.edited_at))


def _label_hash(row) -> str | None:
    label_hash = row.get("label_hash") if isinstance(row, dict) else None
    return label_hash if isinstance(label_hash, str) else None


def _normalize(item: SourceRow, context: RowContext) -> dict[str, list[tuple]]:
    if item.error is not None:
        label_hash = item.row.get("label_hash") if isinstance(item.row, dict) else None
        raise LabelRowError(label_hash, "<source>" if label_hash else "<json>", item.error)
    if context.content_sha256 is None and _label_hash(item.row) is not None:
        raise LabelRowError(item.row["label_hash"], "<row>", "cannot be written as JSON (an integer past 64 bits?)")
    try:
        tables = normalize_label_row(item.row, context)
    except LabelRowError:
        raise
    except Exception as error:  # a shape normalize did not foresee quarantines the row, not the sync
        label_hash = item.row.get("label_hash") if isinstance(item.row, dict) else None
        raise LabelRowError(label_hash, "<row>", f"cannot read: {type(error).__name__}: {error}"[:300]) from error
    check_tables(tables["branches"][0][0], tables, item.row.get("data_title"))
    return tables


def _stored_fingerprints(engine: Engine, label_hashes: list[str]) -> dict[str, str | None]:
    if not label_hashes:
        return {}
    branches = schema.branches
    query = select(branches.c.label_hash, branches.c.content_sha256).where(branches.c.label_hash.in_(label_hashes))
    with engine.connect() as connection:
        return dict(connection.execute(query).all())


def _batches(rows: Iterable[SourceRow], size: int) -> Iterator[list[SourceRow]]:
    """Batches of at most `size` label rows and about MAX_BATCH_ANNOTATIONS annotations, so memory
    stays bounded however large the label rows are."""
    batch: list[SourceRow] = []
    annotations = 0
    for row in rows:
        batch.append(row)
        annotations += _annotation_count(row.row)
        if len(batch) >= size or annotations >= MAX_BATCH_ANNOTATIONS:
            yield batch
            batch, annotations = [], 0
    if batch:
        yield batch


def _annotation_count(row) -> int:
    """Object annotations in a label-row dict (frames counted for frame-keyed labels); 0 for what
    normalize will refuse anyway."""
    units = row.get("data_units") if isinstance(row, dict) else None
    count = 0
    for unit in units.values() if isinstance(units, dict) else ():
        labels = unit.get("labels") if isinstance(unit, dict) else None
        if not isinstance(labels, dict):
            continue
        for frame in [labels] if "objects" in labels else labels.values():
            objects = frame.get("objects") if isinstance(frame, dict) else None
            count += 1 + (len(objects) if isinstance(objects, list) else 0)
    return count
