"""Sync bookkeeping stored in the warehouse beside the data: runs and quarantined rows.

Every write here takes the caller's connection, so it commits or rolls back with the
rows it describes.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Iterator

from sqlalchemy import Connection, Engine, delete, insert, select, update

from connector import schema
from connector.failures import RowFailure, error_line
from connector.incremental import StoredRow
from connector.load import chunks
from connector.lock import RECORDS_FAILURE, run_is_alive
from connector.logs import logged_as_run
from connector.ontology import ONTOLOGY_COLUMNS, OntologyIndex, index_from_tables
from connector.redact import redact
from connector.resolve import FRAMES_SOURCE

log = logging.getLogger("encord_warehouse.sync")


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass
class RunStats:
    listed: int = 0
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: int = 0
    vanished: int = 0
    """Listed, then deleted in Encord before their fetch: neither fetched nor unchanged (0021)."""


LOCKED_SOURCES = ("export", "encord", "rebuild")
"""The runs of commands that hold the writer's lock (extract-frames runs may overlap on Postgres)."""


INTERRUPTED = "the process ended before the run finished (killed or lost)"


def start_run(engine: Engine, source: str, project_hash: str | None, close_interrupted: bool = False,
              export: str | None = None, run_id: str | None = None) -> str:
    """Record a new run (`export`: the export an export sync reads). `close_interrupted` (the caller holds
    the warehouse lock, so no other run of a command that takes it is alive): earlier runs of those still
    marked running, of any project or source, died unfinished (killed, machine lost) and are marked
    interrupted. (Until 2026-11-29 only those of the same source and project: a one-off project's stayed
    running for good.) An extract-frames run closes the earlier ones whose process is gone (lock.run_alive)."""
    run_id = run_id or str(uuid.uuid4())
    runs = schema.sync_runs
    with engine.begin() as connection:
        if close_interrupted:
            _mark_interrupted(connection, runs.c.source.in_(LOCKED_SOURCES))
        if source == FRAMES_SOURCE:  # until 2026-11-30 a killed extract-frames run stayed running for good
            _mark_interrupted(connection, runs.c.run_id.in_(_dead_frames_runs(connection)))
        connection.execute(insert(schema.sync_runs).values(
            run_id=run_id, project_hash=project_hash, source=source, started_at=utc_now(), status="running",
            export=export,
        ))
    return run_id


def _mark_interrupted(connection: Connection, which) -> None:
    runs = schema.sync_runs
    connection.execute(update(runs).where(runs.c.status == "running", which).values(status="interrupted",
                                                                                 error=INTERRUPTED))


def _dead_frames_runs(connection: Connection) -> list[str]:
    """The extract-frames runs still marked running whose process is gone (lock.run_alive)."""
    runs = schema.sync_runs
    running = connection.scalars(select(runs.c.run_id).where(runs.c.status == "running", runs.c.source == FRAMES_SOURCE))
    return [run_id for run_id in running.all() if not run_is_alive(connection, run_id)]


def finish_run(engine: Engine, run_id: str, stats: RunStats, status: str, error: str | None = None,
               cursor_before: datetime | None = None, cursor_after: datetime | None = None) -> None:
    if status == "failed":  # recorded even when the run failed because the writer's lock went
        engine = engine.execution_options(**{RECORDS_FAILURE: True})
    with engine.begin() as connection:
        connection.execute(update(schema.sync_runs).where(schema.sync_runs.c.run_id == run_id).values(
            finished_at=utc_now(), status=status, error=error and redact(error),
            cursor_before=cursor_before, cursor_after=cursor_after, **asdict(stats),
        ))


@dataclass
class SyncResult:
    run_id: str
    stats: RunStats
    failures: list[RowFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass
class Run:
    """A run in progress: what `recorded_run` writes to sync_runs when it ends."""

    run_id: str
    stats: RunStats = field(default_factory=RunStats)
    failures: list[RowFailure] = field(default_factory=list)
    cursor_before: datetime | None = None
    cursor_after: datetime | None = None


def _interrupted_query(error: BaseException) -> bool:
    """DuckDB turns what a signal handler raises during a query (Python's KeyboardInterrupt at Ctrl-C, a host's
    cancel, the command line's stop) into RuntimeError('Query interrupted'): a host would take its cancel for a
    failure of the sync, and retry it."""
    return any(isinstance(each, RuntimeError) and each.args == ("Query interrupted",)
               for each in (error, getattr(error, "orig", None)))


def failed_run_error(error: BaseException) -> str:
    """What sync_runs.error says of a run that `error` ended: a host's cancel is "interrupted" on both databases
    (until 2026-11-30 "KeyboardInterrupt" on Postgres and DuckDB's "Query interrupted", which read as its failure)."""
    if isinstance(error, KeyboardInterrupt) or _interrupted_query(error):
        return "interrupted"
    return error_line(error)[:2000]


def record_failed_run(engine: Engine, run_id: str, stats: RunStats, error: BaseException, **cursors) -> None:
    """The run recorded failed with its error; when the warehouse went too, that is logged instead, and the
    caller raises the run's own error, which is the news (an extract-frames run's was replaced until 2026-11-30)."""
    try:
        finish_run(engine, run_id, stats, "failed", error=failed_run_error(error), **cursors)
    except Exception as unrecorded:
        log.warning("the failed run could not be recorded in sync_runs: %s", error_line(unrecorded),
                    extra={"event": "run_not_recorded", "run_id": run_id})


def raise_interrupt_as_such(error: BaseException) -> None:
    """A cancel that DuckDB turned into its RuntimeError reaches the caller as the KeyboardInterrupt it was."""
    if _interrupted_query(error):
        raise KeyboardInterrupt("interrupted during a DuckDB query") from error


@contextmanager
def recorded_run(engine: Engine, source: str, project_hash: str | None, export: str | None = None,
                 **described) -> Iterator[Run]:
    """Record a run in sync_runs: running, then succeeded / partial (row failures) / failed (an exception),
    and log it (events sync_started with `described`, sync_finished with the counts, sync_failed).

    The caller holds the warehouse lock, so runs still marked running died unfinished and are closed.
    """
    run = Run(start_run(engine, source, project_hash, close_interrupted=True, export=export))
    log.info("sync started", extra={"event": "sync_started", "run_id": run.run_id, "source": source,
                                    "project": project_hash, **({"export": export} if export else {}), **described})
    try:
        with logged_as_run(run.run_id):
            yield run
    except BaseException as error:
        log.error("sync failed", extra={"event": "sync_failed", "run_id": run.run_id, "error": error_line(error)[:500]})
        record_failed_run(engine, run.run_id, run.stats, error, cursor_before=run.cursor_before,
                          cursor_after=run.cursor_after)
        raise_interrupt_as_such(error)
        raise
    status = "partial" if run.failures else "succeeded"
    finish_run(engine, run.run_id, run.stats, status, cursor_before=run.cursor_before, cursor_after=run.cursor_after)
    log.info("sync finished", extra={"event": "sync_finished", "run_id": run.run_id, "status": status, **vars(run.stats)})


def record_failures(connection: Connection, run_id: str, project_hash: str | None, failures: list[RowFailure]) -> None:
    """The failures as sync_errors rows of this run. One already recorded for the project (same label row,
    source, field and reason: it failed again) and not resolved is replaced, keeping when it was first
    seen, so a row that fails at every scheduled run stays one row."""
    if not failures:
        return
    now = utc_now()
    entries = [
        {
            "error_id": str(uuid.uuid4()), "run_id": run_id, "project_hash": project_hash,
            "label_hash": _text(failure.label_hash), "data_title": _text(failure.data_title), "field": _text(failure.field),
            "reason": _text(failure.reason), "source": _text(failure.source), "occurred_at": now, "kept": failure.kept or None,
        }
        for failure in failures
    ]
    earlier = _recorded_before(connection, project_hash, entries)
    errors = schema.sync_errors
    for chunk in chunks([error_id for error_ids, _ in earlier.values() for error_id in error_ids]):
        connection.execute(delete(errors).where(errors.c.error_id.in_(chunk)))
    for entry in entries:
        entry["first_occurred_at"] = earlier.get(_failure_key(entry), (None, now))[1]
    connection.execute(insert(errors), entries)


_ERROR_KEY = ("label_hash", "source", "field", "reason", "kept")
_KEY_COLUMNS = (*_ERROR_KEY, "data_title")


def _failure_key(entry) -> tuple:
    """What makes two failures the same problem. Without a label row (a video the frames job could
    not read, a broken export file) the title tells whose problem it is."""
    of_a_label_row = entry["label_hash"] is not None
    return (*(entry[name] for name in _ERROR_KEY), None if of_a_label_row else entry["data_title"])


def _recorded_before(connection: Connection, project_hash: str | None, entries: list[dict]) -> dict[tuple, tuple[list[str], datetime]]:
    """failure key -> (error ids, first time seen) of the project's open sync_errors rows that `entries` repeat."""
    errors = schema.sync_errors
    label_hashes = sorted({entry["label_hash"] for entry in entries if entry["label_hash"] is not None})
    sources = sorted({entry["source"] for entry in entries if entry["label_hash"] is None and entry["source"] is not None})
    wanted = {_failure_key(entry) for entry in entries}
    columns = [errors.c.error_id, errors.c.first_occurred_at, errors.c.occurred_at,
               *(errors.c[name] for name in _KEY_COLUMNS)]
    found: dict[tuple, tuple[list[str], datetime]] = {}
    selections = [errors.c.label_hash.in_(chunk) for chunk in chunks(label_hashes)]
    selections += [errors.c.label_hash.is_(None) & errors.c.source.in_(chunk) for chunk in chunks(sources)]
    for selection in selections:
        for error_id, first, occurred, *values in connection.execute(
                select(*columns).where(errors.c.project_hash == project_hash, errors.c.resolved_at.is_(None), selection)):
            key = _failure_key(dict(zip(_KEY_COLUMNS, values)))
            if key in wanted:
                ids, seen = found.get(key, ([], first or occurred))
                found[key] = ([*ids, error_id], min(seen, first or occurred))
    return found


def _text(value) -> str | None:
    """A value of the bad row as text for the errors table: as it was, unless it is not a string or is
    text no warehouse stores (a NUL character, a lone surrogate from a JSON escape): then its repr."""
    if value is None or isinstance(value, str) and "\x00" not in value and _utf8(value):
        return value
    return repr(value)[:200]


def _utf8(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class SyncState:
    cursor: datetime | None
    ontology_fingerprint: str | None
    runs_since_full_listing: int | None


def read_state(connection: Connection, project_hash: str, scope: str) -> SyncState | None:
    state = schema.sync_state
    row = connection.execute(
        select(state.c.cursor, state.c.ontology_fingerprint, state.c.runs_since_full_listing)
        .where(state.c.project_hash == project_hash, state.c.branch_scope == scope)
    ).first()
    return SyncState(*row) if row else None


def write_state(connection: Connection, project_hash: str, scope: str, **values) -> None:
    """Upsert the scope's state; columns not given keep their stored values."""
    state = schema.sync_state
    key = (state.c.project_hash == project_hash) & (state.c.branch_scope == scope)
    stored = connection.execute(select(state).where(key)).mappings().first()
    merged = {**(dict(stored) if stored else {}), **values, "project_hash": project_hash, "branch_scope": scope,
              "updated_at": utc_now()}
    connection.execute(delete(state).where(key))
    connection.execute(insert(state).values(**merged))


def stored_ontology(connection: Connection, project_hash: str) -> OntologyIndex:
    """The project's ontology as its ontology tables hold it (from --ontology or an Encord sync), named by the
    fingerprint recorded with them; tables written before 0016 are named by a hash of their rows."""
    tables = {}
    for name, columns in ONTOLOGY_COLUMNS.items():
        table = schema.metadata.tables[name]
        query = select(*(table.c[column] for column in columns)).where(table.c.project_hash == project_hash)
        tables[name] = [tuple(row) for row in connection.execute(query)]
    projects = schema.projects
    fingerprint = connection.scalar(select(projects.c.ontology_fingerprint).where(projects.c.project_hash == project_hash))
    if fingerprint is None and any(tables.values()):
        rows = repr({name: sorted(map(repr, rows)) for name, rows in tables.items()})
        fingerprint = "tables:" + hashlib.sha256(rows.encode()).hexdigest()
    return index_from_tables(tables, fingerprint)


def ontology_pending(connection: Connection, project_hash: str) -> bool:
    projects = schema.projects
    return bool(connection.scalar(select(projects.c.ontology_pending).where(projects.c.project_hash == project_hash)))


def set_ontology_pending(connection: Connection, project_hash: str, pending: bool) -> None:
    """Whether an export sync that changed the project's ontology has yet to re-derive its rows (the `projects`
    row exists)."""
    projects = schema.projects
    connection.execute(update(projects).where(projects.c.project_hash == project_hash).values(ontology_pending=pending))


def forget_other_ontologies(connection: Connection, project_hash: str, fingerprint: str | None) -> None:
    """The project's ontology tables now hold `fingerprint`'s ontology: every state of the project that
    recorded another one (its rows were normalized with it) records none, so its next run fetches its rows again."""
    state = schema.sync_state
    connection.execute(update(state).where(
        state.c.project_hash == project_hash, state.c.ontology_fingerprint.is_distinct_from(fingerprint),
    ).values(ontology_fingerprint=None))


def stored_rows(connection: Connection, project_hash: str, *, marked_deleted: bool = False) -> list:
    """Label rows of the project now in the warehouse; with `marked_deleted`, instead those a run with
    --keep-deleted marked deleted, which a run without it removes once Encord (or the export) no longer
    has them, as a fresh sync would not hold them."""
    branches, units = schema.branches, schema.data_units
    deleted_at = branches.c.deleted_at.is_not(None) if marked_deleted else branches.c.deleted_at.is_(None)
    query = (select(branches.c.label_hash, branches.c.data_hash, branches.c.branch_name, branches.c.last_edited_at,
                    branches.c.listing_sha256, units.c.dataset_hash)
             .outerjoin(units, (units.c.project_hash == branches.c.project_hash) & (units.c.data_hash == branches.c.data_hash))
             .where(branches.c.project_hash == project_hash, deleted_at))
    return [StoredRow(*row) for row in connection.execute(query)]


def read_export_files(connection: Connection, project_hash: str, export: str, ontology_fingerprint: str) -> dict[str, str]:
    """name -> version of the files of `export` an earlier run read whole and without a failure, with this
    ontology."""
    files = schema.export_files
    return dict(connection.execute(select(files.c.name, files.c.version).where(
        files.c.project_hash == project_hash, files.c.export == export,
        files.c.ontology_fingerprint == ontology_fingerprint)).all())


def write_export_files(connection: Connection, project_hash: str, export: str, ontology_fingerprint: str,
                       versions: dict[str, str], run_id: str) -> None:
    """The files of `export` read (now or before) whole and without a failure: they replace those stored,
    under every project. A label row is stored under one project: reading the export under this one moved
    its rows here from any other, whose next sync of it must read it again to take them back."""
    files = schema.export_files
    connection.execute(delete(files).where(files.c.export == export))
    if versions:
        now = utc_now()
        connection.execute(insert(files), [
            {"project_hash": project_hash, "export": export, "name": name, "version": version,
             "ontology_fingerprint": ontology_fingerprint, "run_id": run_id, "read_at": now}
            for name, version in versions.items()])
