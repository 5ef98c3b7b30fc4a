"""The sync loop shared by every source: batch, normalize, load, record.

A source is an iterable of SourceRow. Each batch is one transaction: the batch's label
rows are replaced, its bad rows are recorded in sync_errors, and the caller's state hook
(the Encord source advances its cursor there) runs inside the same transaction.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable, Iterator

from sqlalchemy import Connection, Engine, select

from connector import load, migrate, schema, stage
from connector.crashpoint import crash_point
from connector.db import capped_memory
from connector.failures import RowFailure
from connector.incremental import first_file_to_read
from connector.normalize import content_fingerprint, listing_fingerprint
from connector.ontology import OntologyIndex, build_index, normalize_ontology
from connector.prepare import ChunkRow, ChunkSettings, PreparedChunk, prepare_chunk
from connector.rebuild import label_rows, rebuild_rows
from connector.redact import redact
from connector.sources import SourceRow, label_hash_of, parse_json
from connector.resolve import ExportListing, RunDid, open_problems, resolve_problems
from connector.sources.export import STDIN, Export, as_text, in_export_file, list_export, read_ontology
from connector.stage import add_archive, combine
from connector.state import (
    Run,
    RunStats,
    SyncResult,
    forget_other_ontologies,
    ontology_pending,
    read_export_files,
    record_failures,
    recorded_run,
    set_ontology_pending,
    stored_ontology,
    stored_rows,
    utc_now,
    write_export_files,
)
from connector.storage_options import is_url
from connector.workers import WorkerPool

log = logging.getLogger("encord_warehouse.sync")

_ARCHIVE_COLUMNS = schema.column_specs([schema.raw_label_rows])

DEFAULT_BATCH_SIZE = 500
CHUNK_BYTES = 2 << 20
"""Label-row JSON normalized at a time by one process: parsed, it takes about six times this."""

BatchHook = Callable[[Connection, list[datetime | None]], dict]
"""Called in a batch's transaction with the edit times of its rows; returns fields for its batch_committed event."""
"""Runs inside each batch's transaction with the listed edit time (SourceRow.edited_at) of each of its label rows."""


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
    workers: int | None = None
    """Processes that normalize label rows once the sync is large; 0: none, all in the sync's own process.
    Default: one per core."""
    delete_missing: bool = False
    """The export holds every label row of the project: remove the stored ones it lacks (see _delete_missing)."""
    keep_deleted: bool = False
    """With delete_missing: mark the label rows the export lacks with deleted_at instead of removing them."""
    storage_options: dict = field(default_factory=dict)
    """fsspec options for a `path` or `ontology_path` that is a URL (s3://…): endpoint_url, key, secret, anon."""


@capped_memory
def sync_export(engine: Engine, config: ExportSyncConfig, on_progress: Callable[[int], None] | None = None) -> SyncResult:
    migrate.upgrade(engine)
    ontology = read_ontology(config.ontology_path, config.storage_options) if config.ontology_path else None
    export_key = _export_key(config.path)
    with recorded_run(engine, "export", config.project_hash, export=export_key) as run:
        index, rederive = _take_ontology(engine, config.project_hash, ontology)
        export = list_export(config.path, config.storage_options)
        start = 0 if rederive else _first_file_to_read(engine, config, export_key, export, index)
        collect = config.delete_missing or rederive or _has_open_problems(engine, config.project_hash)
        seen: set[str] | None = set() if collect else None
        run.failures = load_rows(
            engine, export.rows(start), run.run_id, config.project_hash, index, run.stats,
            batch_size=config.batch_size, full_refresh=config.full_refresh, on_progress=on_progress,
            workers=config.workers, seen_label_hashes=seen,
        )
        run.stats.listed = run.stats.fetched
        files_read = _remember_files_read(engine, config, export_key, export, start, index, run)
        deleted = _delete_missing(engine, config.project_hash, seen, run.failures, config.keep_deleted) \
            if config.delete_missing else None
        run.stats.deleted = len(deleted or ())
        if rederive:
            run.failures += _rederive_unread(engine, config, seen, index, run)
        listing = ExportListing(export_key, [file.name for file in export.files],
                                [folder for folder, _ in export.unreadable])
        with engine.begin() as connection:
            resolve_problems(connection, run.run_id, config.project_hash, RunDid(
                read=seen or (), deleted=deleted or (), files_read=files_read, listing=listing,
                every_row=deleted is not None), utc_now())
            if rederive:
                set_ontology_pending(connection, config.project_hash, False)
    return SyncResult(run.run_id, run.stats, run.failures)


def _take_ontology(engine: Engine, project_hash: str, ontology: dict | None) -> tuple[OntologyIndex, bool]:
    """The ontology the run normalizes with, and whether the run is to read every file and re-derive the
    project's stored rows it does not read: --ontology's, which replaces the project's ontology tables; without
    it, the ontology the tables hold (from an earlier --ontology or an Encord sync; until 2026-11-29 none, and
    names went back to the rows' own). Rows are re-derived when the new ontology names them otherwise, or when a
    run that was to do so did not finish (ontology_pending: set here, cleared by the run's last transaction)."""
    with engine.begin() as connection:
        load.replace_project(connection, {"project_hash": project_hash, "synced_at": utc_now()})
        stored = stored_ontology(connection, project_hash)
        index = stored if ontology is None else build_index(ontology)
        changed = not stored.normalizes_as(index)
        if ontology is not None:
            load.replace_ontology(connection, project_hash, normalize_ontology(ontology, project_hash), index.fingerprint)
        if changed:  # an Encord sync of the project fetches its rows again, and puts its own ontology back
            forget_other_ontologies(connection, project_hash, index.fingerprint)
        rederive = changed or ontology_pending(connection, project_hash)
        if rederive:
            set_ontology_pending(connection, project_hash, True)
    return index, rederive


def _rederive_unread(engine: Engine, config: ExportSyncConfig, seen: set[str], ontology: OntologyIndex,
                     run: Run) -> list[RowFailure]:
    """After a change of ontology, the project's stored rows this run did not read (their files gone from the
    folder) re-derived from the raw archive with the new one, as `rebuild` does; counted as listed and updated."""
    with engine.connect() as connection:
        unread = [(project, label_hash) for project, label_hash in label_rows(connection, config.project_hash)
                  if label_hash not in seen]
    rederived = RunStats()
    failures = rebuild_rows(engine, unread, run.run_id, rederived, config.batch_size, ontology=ontology)
    run.stats.listed += len(unread)
    run.stats.updated += rederived.updated
    run.stats.failed += rederived.failed
    return failures


def _has_open_problems(engine: Engine, project_hash: str) -> bool:
    """Whether the project has a label row's problem open: the rows read are then collected, to find it gone."""
    with engine.connect() as connection:
        return any(problem.label_hash for problem in open_problems(connection, project_hash))


def _first_file_to_read(engine: Engine, config: ExportSyncConfig, export_key: str, export: Export,
                        ontology: OntologyIndex) -> int:
    """The files an earlier run read whole, as they are now, with this ontology, are not read again (but
    with --full-refresh or --delete-missing, which need every label row)."""
    if config.full_refresh or config.delete_missing:
        return 0
    with engine.connect() as connection:
        read_before = read_export_files(connection, config.project_hash, export_key, ontology.fingerprint or "")
    start = first_file_to_read([(file.name, file.version) for file in export.files], read_before)
    if start:
        log.info("%d of %d export files are as an earlier run read them: not read again", start, len(export.files),
                 extra={"event": "export_files_skipped", "files": start})
    return start


def _remember_files_read(engine: Engine, config: ExportSyncConfig, export_key: str, export: Export, start: int,
                         ontology: OntologyIndex, run: Run) -> set[str]:
    """The files skipped, and those read whole without a failure: a row that failed is read again next time.
    Returns the names of the files read whole without a failure."""
    sources = [failure.source or "" for failure in run.failures]
    failed = {file.name for file in export.files[start:]
              if any(in_export_file(source, file.name) for source in sources)}
    versions = {file.name: file.version for file in export.files if file.version is not None and file.name not in failed}
    with engine.begin() as connection:
        write_export_files(connection, config.project_hash, export_key, ontology.fingerprint or "",
                           versions, run.run_id)
    return {file.name for file in export.files[start:]} - failed


def _export_key(path: str) -> str:
    """The export as export_files and sync_runs name it: a local path made absolute, a URL without its query
    (a signature), - for standard input."""
    if str(path) == STDIN:
        return STDIN
    if is_url(path):
        return redact(path).rstrip("/")
    try:
        return as_text(str(Path(path).resolve()))
    except (OSError, RuntimeError):  # a loop of links (RuntimeError before Python 3.13): opening it says so
        return as_text(os.path.abspath(path))


def _delete_missing(engine: Engine, project_hash: str, seen: set[str], failures: list[RowFailure],
                    keep: bool) -> list[str] | None:
    """Remove the project's stored label rows (with what they own) whose hash the export did not hold, and
    data units no label row refers to any more; or only mark those label rows (`keep`). Nothing when part of the export could not be read (a
    file, a row without a readable label hash) or it held no label row: that proves nothing is gone.
    Returns the label hashes removed or marked; None when it proved nothing."""
    if any(failure.label_hash is None for failure in failures):
        return _nothing_deleted("part of the export could not be read (see sync_errors)")
    if not seen:
        return _nothing_deleted("the export holds no label row")
    with engine.begin() as connection:
        stored = stored_rows(connection, project_hash) + ([] if keep else stored_rows(connection, project_hash,
                                                                                          marked_deleted=True))
        gone = [row for row in stored if row.label_hash not in seen]
        load.delete_label_rows(connection, project_hash, [row.label_hash for row in gone],
                               sorted({row.data_hash for row in gone}), keep=keep, now=utc_now())
    return [row.label_hash for row in gone]


def _nothing_deleted(why: str) -> None:
    log.warning("--delete-missing: nothing deleted: %s", why, extra={"event": "deletes_skipped"})


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
    workers: int | None = None,
    seen_label_hashes: set[str] | None = None,
) -> list[RowFailure]:
    """Load every row in batches; returns the rows that failed (also recorded in sync_errors).

    A label row whose content and listing fingerprints match the stored ones is left alone, unless
    `full_refresh` asks for every row to be rewritten. The rest of a batch is cut into chunks
    that are normalized by `workers` processes (see _Normalizers) while a writer thread writes
    the batch before (the database does that work without holding Python's lock) and this
    thread reads the next: at most three batches are in memory. A batch that was handed to the
    writer is committed before an error in reading the next one stops the load. `seen_label_hashes`,
    if given, collects the label hash of every row read, loaded or not.
    """
    failures: list[RowFailure] = []
    settings = ChunkSettings(project_hash, utc_now(), ontology, engine.dialect.name, schema.column_specs())
    with _LoadingSettings.held(), load.bulk_load(engine), _Normalizers(workers) as normalizers, \
            ThreadPoolExecutor(1, thread_name_prefix="writer") as writer:
        writing: Future | None = None
        previous: dict[str, tuple] = {}
        for batch in stage.batches(_identified(rows, ontology), batch_size, lambda row: row.size,
                                   lambda row: row.label_hash):
            if seen_label_hashes is not None:
                seen_label_hashes.update(row.label_hash for row in batch if row.label_hash is not None)
            submitted = _submit_batch(engine, batch, settings, normalizers, stats, full_refresh, previous)
            if writing is not None:
                failures.extend(writing.result())
            writing = writer.submit(_write_batch, engine, submitted, run_id, project_hash, stats, on_batch, on_progress)
            previous = submitted.fingerprints
        if writing is not None:
            failures.extend(writing.result())
    return failures


class _LoadingSettings:
    """Process-wide settings for a load, set by the first of the syncs running in a process and put back by the last
    (each putting back what it found left the switch interval at 0.2 ms for good after two overlapping syncs in
    threads).

    - The cyclic garbage collector is paused: parsing and normalizing allocate millions of dicts, lists and tuples
      that form no cycles, which it scanned again and again (it tripled the time of a large export). Reference
      counting frees each batch; a source whose objects hold cycles collects them itself (sources/encord.py).
    - The switch interval is 0.2 ms: after each database call the writer thread needs Python's lock back from the
      thread that reads, which keeps it for the switch interval, 5 ms by default; some 30 calls per batch made the
      writer wait longer than it worked (0.2 ms took a 430k-annotation load from 11.7 s to 10.4 s)."""

    _lock = threading.Lock()
    _loads = 0
    _found: tuple[bool, float] = (True, 0.005)

    @classmethod
    @contextmanager
    def held(cls) -> Iterator[None]:
        with cls._lock:
            if cls._loads == 0:
                cls._found = (gc.isenabled(), sys.getswitchinterval())
                gc.disable()
                sys.setswitchinterval(0.0002)
            cls._loads += 1
        try:
            yield
        finally:
            with cls._lock:
                cls._loads -= 1
                if cls._loads == 0:
                    collector_was_enabled, interval = cls._found
                    sys.setswitchinterval(interval)
                    if collector_was_enabled:
                        gc.enable()


def _identified(rows: Iterable[SourceRow], ontology: OntologyIndex) -> Iterator[ChunkRow]:
    """Each source row with its label hash, and its fingerprint over the JSON the raw archive will keep
    (the source's text, or the dict as orjson writes it)."""
    for item in rows:
        label_hash = label_hash_of(item)  # only the label hash: the rest is parsed where the row is normalized
        if label_hash is None and item.text is not None:  # not an object, NaN tokens, not JSON: parsed here
            try:
                item = replace(item, row=parse_json(item.text), text=None)
            except ValueError as error:
                item = replace(item, error=f"invalid JSON: {error}", text=None)
            label_hash = label_hash_of(item)
        if label_hash is None or item.error is not None:
            yield ChunkRow(item, label_hash, None, None)
            continue
        text = item.json
        fingerprint = None if text is None else content_fingerprint(text, item.metadata, ontology)
        yield ChunkRow(item, label_hash, fingerprint, text, listing_fingerprint(item.metadata))


@dataclass
class _SubmittedBatch:
    edited_at: list[datetime | None]
    """Of each label row in the batch, for the source's hook."""
    chunks: list[Future]
    """PreparedChunk each, in order."""
    failures: list[RowFailure]
    """Rows that failed before normalizing (the source could not decode them)."""
    fingerprints: dict[str, tuple[str, str | None]]
    """Of the rows to be written: (content, listing), as branches stores them."""
    texts: dict[str, bytes]
    """The JSON of the rows to be written, for the raw archive."""


def _submit_batch(engine: Engine, batch: list[ChunkRow], settings: ChunkSettings, normalizers: _Normalizers,
                  stats: RunStats, full_refresh: bool, previous: dict[str, tuple]) -> _SubmittedBatch:
    """Leave out unchanged rows and hand the rest to the normalizers. `previous`: the fingerprints of
    the batch before, which may still be writing."""
    stored = {} if full_refresh else {**_stored_fingerprints(engine, [r.label_hash for r in batch if r.fingerprint],
                                                             settings.project_hash), **previous}
    submitted = _SubmittedBatch([row.item.edited_at for row in batch], [], [], {}, {})
    chunk: list[ChunkRow] = []
    volume = 0
    for row in batch:
        if row.item.error is not None:
            source = "<source>" if row.label_hash else "<json>"
            submitted.failures.append(RowFailure(row.label_hash, source, row.item.error, _title(row.item), row.item.location))
            continue
        if row.label_hash is not None and row.json is None:
            reason = "cannot be written as JSON (an integer past 64 bits, a lone surrogate in a string, nesting too deep?)"
            submitted.failures.append(RowFailure(row.label_hash, "<row>", reason, _title(row.item), row.item.location))
            continue
        fingerprints = (row.fingerprint, row.listing)
        if row.fingerprint is not None and stored.get(row.label_hash) == fingerprints:
            stats.unchanged += 1
            continue
        crash_point("normalize")
        chunk.append(row)
        volume += row.size
        if row.label_hash is not None:
            submitted.fingerprints[row.label_hash] = fingerprints
            submitted.texts[row.label_hash] = row.json
        if volume >= CHUNK_BYTES:
            submitted.chunks.append(normalizers.submit(chunk, volume, settings))
            chunk, volume = [], 0
    if chunk:
        submitted.chunks.append(normalizers.submit(chunk, volume, settings))
    stats.fetched += len(batch)
    return submitted


def _title(item: SourceRow) -> str | None:
    return item.row.get("data_title") if isinstance(item.row, dict) else None


def _write_batch(engine: Engine, batch: _SubmittedBatch, run_id: str, project_hash: str, stats: RunStats,
                 on_batch: BatchHook | None, on_progress: Callable[[int], None] | None) -> list[RowFailure]:
    """One transaction: the batch's label rows replaced, its failures recorded, the source's hook.
    Returns the batch's failures."""
    chunks: list[PreparedChunk] = [future.result() for future in batch.chunks]
    staged = combine([chunk.staged for chunk in chunks])
    add_archive(staged, batch.texts, _ARCHIVE_COLUMNS, engine.dialect.name)
    failures = batch.failures + [failure for chunk in chunks for failure in chunk.failures]
    flagged_rows = [failure for chunk in chunks for failure in chunk.flagged]
    with engine.begin() as connection:
        updated = load.replace_label_rows(connection, staged)
        record_failures(connection, run_id, project_hash, failures + flagged_rows)
        described = on_batch(connection, batch.edited_at) if on_batch is not None else {}
        crash_point("load")
    crash_point("commit")
    log.info("batch committed", extra={"event": "batch_committed", "run_id": run_id, "rows": len(batch.edited_at),
                                       "written": len(staged.label_hashes), "failed": len(failures), **described})
    stats.failed += len(failures)
    stats.updated += updated
    stats.inserted += len(staged.label_hashes) - updated
    if on_progress is not None:
        on_progress(len(batch.edited_at))
    return failures


class _Normalizers:
    """Runs prepare_chunk: in this thread until the sync has read CHUNK_BYTES of JSON, then in `workers`
    processes (parsing and normalizing hold Python's lock, so only processes spread them over cores).
    Starting a process costs about half a second of CPU: a small sync never starts one."""

    def __init__(self, workers: int | None):
        self.workers = default_workers() if workers is None else workers
        self.pool: WorkerPool | None = None
        self.volume = 0

    def __enter__(self) -> _Normalizers:
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.close()

    def submit(self, chunk: list[ChunkRow], volume: int, settings: ChunkSettings) -> Future:
        self.volume += volume
        if self.pool is None and self.workers > 0 and self.volume > CHUNK_BYTES:
            log.info("normalizing in worker processes (up to %d)", self.workers,
                     extra={"event": "workers_started", "workers": self.workers})
            self.pool = WorkerPool(self.workers)
        if self.pool is not None:
            return self.pool.submit(prepare_chunk, chunk, settings)
        future: Future = Future()
        try:
            future.set_result(prepare_chunk(chunk, settings))
        except Exception as error:
            future.set_exception(error)
        return future


def default_workers(busy_cores: int = 0) -> int:
    """One normalizing process per core this process may use, less the `busy_cores` that the sync's own
    process keeps busy; at least one."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores - busy_cores)


def _stored_fingerprints(engine: Engine, label_hashes: list[str], project_hash: str) -> dict[str, tuple]:
    """(content, listing) fingerprints of the label rows stored under `project_hash` and not marked deleted:
    a row whose listing changed is rewritten though its JSON is the same. One stored under another project
    (an export first synced with the default --project-hash) is rewritten, which moves it, and one marked
    deleted (--keep-deleted) that comes back as it was is rewritten, which unmarks it."""
    # A label hash with a NUL is never stored (rowcheck quarantines it) and Postgres refuses it as a parameter.
    label_hashes = [label_hash for label_hash in label_hashes if "\x00" not in label_hash]
    if not label_hashes:
        return {}
    branches = schema.branches
    query = select(branches.c.label_hash, branches.c.content_sha256, branches.c.listing_sha256).where(
        branches.c.label_hash.in_(label_hashes), branches.c.project_hash == project_hash,
        branches.c.deleted_at.is_(None))
    with engine.connect() as connection:
        return {label_hash: (content, listing) for label_hash, content, listing in connection.execute(query)}
