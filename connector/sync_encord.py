"""`sync --project`: an incremental sync of one Encord project.

Each run: read the project and its ontology, list label-row metadata (everything on a
full-listing run, else what was edited since the cursor minus an overlap), fetch only
rows that are new or edited, load them batch by batch with the cursor advancing in the
same transaction, and on full, unfiltered listings remove what is gone from Encord.

A filtered run (--title, --label-status, --workflow-stage) lists some of the scope's rows, so it
keeps its own state (EncordSourceConfig.state_key): its cursor would pass edits of rows it did not
list, its full listings find no deletions, and its ontology fingerprint would vouch for rows it did
not fetch.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Callable, Iterable, Iterator

from sqlalchemy import Engine

from connector import load, migrate
from connector.crashpoint import crash_point
from connector.db import capped_memory
from connector.incremental import StoredRow, SyncPlan, full_listing_due, next_cursor, plan_sync
from connector.normalize import UNSETTLED
from connector.ontology import build_index, normalize_ontology
from connector.resolve import RunDid, open_problems, resolve_problems
from connector.sources import SourceRow
from connector.sources.encord import EncordSource, EncordSourceConfig, Listing, listing_bound
from connector.state import (Run, SyncResult, SyncState, forget_other_ontologies, read_state, recorded_run, stored_rows,
                             utc_now, write_state)
from connector.sync import DEFAULT_BATCH_SIZE, default_workers, load_rows

log = logging.getLogger("encord_warehouse.sync")


@dataclass
class EncordSyncConfig:
    """`encord-warehouse sync --project`."""

    source: EncordSourceConfig
    overlap: timedelta = timedelta(minutes=5)
    """Listings ask for rows edited after the cursor minus this (server clocks and bound inclusivity are unknown)."""
    full_listing_every: int = 1
    """Every Nth run lists every row (no labels fetched) to find deletions; 1 = every run."""
    full_refresh: bool = False
    """Fetch and rewrite every row."""
    keep_deleted: bool = False
    """Mark rows gone from Encord with deleted_at instead of removing them."""
    batch_size: int = DEFAULT_BATCH_SIZE
    """Label rows per load transaction."""
    workers: int | None = None
    """Processes that normalize label rows once the sync is large (connector.sync.load_rows). Default: one per
    core but one. The SDK keeps the sync's own process busy the whole time (it builds every fetched row into
    its objects and writes it back as a dict), and on two cores a second worker only competed with it:
    10,000 rows 48.8 -> 43.8 s and 559 -> 514 MB with one; 630 long videos 40-44 -> 38-42 s, 622 -> 501-566 MB."""


@capped_memory
def sync_encord(engine: Engine, config: EncordSyncConfig, source: EncordSource | None = None,
                on_progress: Callable[[int], None] | None = None) -> SyncResult:
    source = source or EncordSource(config.source)
    project_hash = config.source.project_hash
    migrate.upgrade(engine)
    with engine.connect() as connection:
        state = read_state(connection, project_hash, config.source.state_key)
    with recorded_run(engine, "encord", project_hash, scope=config.source.state_key) as run:
        run.cursor_before = run.cursor_after = state.cursor if state else None
        _sync(engine, config, source, state, run, on_progress)
    return SyncResult(run.run_id, run.stats, run.failures)


def _sync(engine: Engine, config: EncordSyncConfig, source: EncordSource, state: SyncState | None, run: Run,
          on_progress: Callable[[int], None] | None) -> None:
    project_hash, scope, state_key = config.source.project_hash, config.source.scope, config.source.state_key
    ontology = source.ontology()
    index = build_index(ontology)
    ontology_changed = state is None or state.ontology_fingerprint != index.fingerprint
    refetch_all = config.full_refresh or ontology_changed or config.source.signed_urls  # signed links expire
    full_listing = refetch_all or run.cursor_before is None or full_listing_due(state.runs_since_full_listing,
                                                                                config.full_listing_every)
    finds_deletions = full_listing and not config.source.filtered
    listed, present = source.list_rows(None if full_listing else listing_bound(run.cursor_before, config.overlap))
    crash_point("listed")
    with engine.connect() as connection:
        stored = stored_rows(connection, project_hash)
        marked = stored_rows(connection, project_hash, marked_deleted=True) if finds_deletions else []
    plan = plan_sync(listed, present, stored, covers_branch=scope.covers, refetch_all=refetch_all,
                     detect_deletes=finds_deletions)
    if not config.keep_deleted:
        _purge_marked(plan, marked, listed, present, scope.covers)
    run.stats.listed, run.stats.unchanged = len(listed), plan.unchanged
    log.info("listed", extra={"event": "listed", "run_id": run.run_id, "listed": len(listed),
                              "to_fetch": len(plan.to_fetch), "full_listing": full_listing})
    selection = _selection(config.source)
    if full_listing and not listed and selection:  # a typo in a title or branch loads nothing
        log.warning("no label row matches", extra={"event": "nothing_matched", "run_id": run.run_id, **selection})
    with engine.begin() as connection:
        load.replace_project(connection, {**source.project_row(), "synced_at": utc_now()})
        if ontology_changed:
            load.replace_ontology(connection, project_hash, normalize_ontology(ontology, project_hash), index.fingerprint)
            # Rows another state's runs loaded with another ontology are theirs to fetch again, and
            # this run's until it has fetched all of its own (it may fail; the ontology may change back).
            forget_other_ontologies(connection, project_hash, index.fingerprint)

    # A first sync of a project the warehouse holds nothing of: every row it commits is normalized with
    # this ontology, so each batch records it with the cursor, and an interrupted first sync resumes
    # instead of fetching everything again as after an ontology change (which waits for the run's end:
    # rows of the old ontology may be left until then).
    resumable = {"ontology_fingerprint": index.fingerprint} if state is None and not stored else {}

    def commit_batch(connection, edited_at) -> dict:
        run.cursor_after = next_cursor(run.cursor_after, edited_at)
        write_state(connection, project_hash, state_key, cursor=run.cursor_after, **resumable)
        return {"cursor": run.cursor_after}

    source_rows = marked_unsettled(source.fetch(plan.to_fetch), config.overlap)
    run.failures = load_rows(engine, source_rows, run.run_id, project_hash, index, run.stats,
                             batch_size=config.batch_size, full_refresh=refetch_all, on_batch=commit_batch,
                             on_progress=on_progress, workers=_workers(config))
    run.stats.vanished = source.vanished
    gone = _gone_from_encord(engine, source, project_hash, listed, stored) if finds_deletions else []
    with engine.begin() as connection:
        if plan.deleted_label_hashes:
            load.delete_label_rows(connection, project_hash, plan.deleted_label_hashes, plan.affected_data_hashes,
                                   config.keep_deleted, utc_now())
            run.stats.deleted = len(plan.deleted_label_hashes)
        fetched = {row.label_hash for row in plan.to_fetch if row.label_hash}
        resolve_problems(connection, run.run_id, project_hash,
                         RunDid(read=fetched, deleted=[*plan.deleted_label_hashes, *gone]), utc_now())
        # Every listed row is now loaded (or quarantined, or gone): the cursor may pass them all,
        # including rows the plan left alone, which the batches never saw.
        run.cursor_after = next_cursor(run.cursor_after, [row.last_edited_at for row in listed])
        runs_since = 0 if full_listing else (state.runs_since_full_listing or 0) + 1
        write_state(connection, project_hash, state_key, cursor=run.cursor_after,
                    ontology_fingerprint=index.fingerprint, runs_since_full_listing=runs_since,
                    **({"full_listing_at": utc_now()} if full_listing else {}))
        crash_point("deletes")
    crash_point("finish")


def marked_unsettled(rows: Iterable[SourceRow], overlap: timedelta) -> Iterator[SourceRow]:
    """Rows fetched within `overlap` (for the clocks' disagreement) and a second of their last edit (as listed, or
    as fetched when saved after the listing) are marked (normalize.UNSETTLED), so that the next run fetches them
    again: Encord lists edit times in whole seconds, and a save later in the second of the one fetched would list
    as that one did (until 2026-11-30 it was never fetched). A row fetched again and found unchanged stays marked
    until a run fetches it outside that window."""
    window = overlap + timedelta(seconds=1)
    for row in rows:
        edited = max((at for at in (row.edited_at, row.saved_at) if at is not None), default=None)
        unsettled = edited is not None and edited >= utc_now() - window
        yield replace(row, metadata={**row.metadata, UNSETTLED: True}) if unsettled and row.metadata else row


def _gone_from_encord(engine: Engine, source: EncordSource, project_hash: str, listed: list[Listing],
                      stored: list[StoredRow]) -> list[str]:
    """Label hashes of the project's open problems whose rows Encord no longer has, though the warehouse never
    stored them (quarantined on their first fetch), so no deletion covers them. A full listing shows one
    branch scope: those it leaves out are looked up in every branch."""
    with engine.connect() as connection:
        problems = open_problems(connection, project_hash)
    known = {row.label_hash for row in listed} | {row.label_hash for row in stored}
    unlisted = sorted({problem.label_hash for problem in problems if problem.label_hash} - known)
    return sorted(set(unlisted) - source.existing(unlisted)) if unlisted else []


def _purge_marked(plan: SyncPlan, marked: list, listed: list, present_data_hashes: set[str], covers_branch) -> None:
    """Rows an earlier run with --keep-deleted marked deleted that the listing still does not show: removed by a
    run without it (a listed one is fetched again as new, and unmarked) whose scope covers their branch, as
    plan_sync removes stored rows, or when their data unit is gone (until 2026-11-30 a run of any scope removed
    them, a `--branch` run the marked `main` rows that its listing could not show)."""
    listed_hashes = {row.label_hash for row in listed}
    purged = [row for row in marked if row.data_hash not in present_data_hashes
              or (covers_branch(row.branch_name) and row.label_hash not in listed_hashes)]
    plan.deleted_label_hashes = sorted({*plan.deleted_label_hashes, *(row.label_hash for row in purged)})
    plan.affected_data_hashes = sorted({*plan.affected_data_hashes, *(row.data_hash for row in purged)})


def _workers(config: EncordSyncConfig) -> int:
    return default_workers(busy_cores=1) if config.workers is None else config.workers


def _selection(source: EncordSourceConfig) -> dict[str, str]:
    """The options that narrow what a listing shows, as given."""
    chosen = {"title": source.title, "label_status": ",".join(source.label_statuses),
              "workflow_stage": source.workflow_stage, "branch": source.scope.branch_name}
    return {name: value for name, value in chosen.items() if value}
