"""`encord-warehouse rebuild`: re-derive every label row's tables from the raw label-row JSON
archived in `raw_label_rows`, without calling Encord.

For after a normalizer fix or a migration that changes derived columns. What the source said
about a row beside its JSON (workflow stage, statuses, frame count) comes from the stored
branches and data_units rows, the ontology from the ontology tables; synced_at, deleted_at and
the content and listing fingerprints are kept, so an unchanged normalizer rebuilds identical tables. Each
batch is one transaction; a row that no longer normalizes keeps its tables and is recorded in
sync_errors.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, func, select

from connector import load, migrate, schema
from connector import stage as staging
from connector.db import capped_memory
from connector.failures import RowFailure
from connector.normalize import LabelRowError, RowContext, content_fingerprint, merge_label_rows, normalize_label_row
from connector.ontology import OntologyIndex
from connector.rowcheck import check_json_columns, check_tables
from connector.sources import parse_json
from connector.stage import add_archive, stage
from connector.resolve import REBUILD_SOURCE, RunDid, resolve_problems
from connector.state import RunStats, SyncResult, record_failures, recorded_run, stored_ontology, utc_now

_COLUMNS = schema.column_specs()
_BRANCH_INDEX = {name: i for i, name in enumerate(c.name for c in schema.branches.columns)}


@dataclass
class RebuildConfig:
    """`encord-warehouse rebuild`."""

    project_hash: str | None = None
    """Only this project's label rows; default every project."""
    batch_size: int = 500
    """Label rows per transaction."""


@capped_memory
def rebuild(engine: Engine, config: RebuildConfig) -> SyncResult:
    migrate.upgrade(engine, synced_only=True)
    with recorded_run(engine, "rebuild", config.project_hash) as run:
        with engine.connect() as connection:
            work = label_rows(connection, config.project_hash)
        run.failures = rebuild_rows(engine, work, run.run_id, run.stats, config.batch_size)
        run.stats.listed = len(work)
        did = RunDid(read=[label_hash for _, label_hash in work], rebuilt=True)
        with engine.begin() as connection:  # None: the problems rebuilds recorded of no project until 2026-11-29
            for project_hash in sorted({None, *(project for project, _ in work)}, key=lambda p: p or ""):
                resolve_problems(connection, run.run_id, project_hash, did, utc_now(), source=REBUILD_SOURCE)
    return SyncResult(run.run_id, run.stats, run.failures)


_DATA_UNIT_ORDER = (schema.branches.c.project_hash, schema.branches.c.data_hash,
                    schema.branches.c.last_edited_at.asc().nulls_first(), schema.branches.c.label_hash)
"""The order label rows are rebuilt in: where branches of one data unit disagree on its facts (its title,
size), the last edited one's are written last and kept, whatever order the database returns rows in."""


def rebuild_rows(engine: Engine, work: list[tuple[str, str]], run_id: str, stats: RunStats, batch_size: int,
                 ontology: OntologyIndex | None = None) -> list[RowFailure]:
    """Re-derive the label rows of `work` ((project_hash, label_hash), as label_rows lists them), a transaction
    per batch; a row that no longer normalizes keeps its tables and is returned (and recorded) as a failure.
    `ontology`: instead of the one the ontology tables hold (an export sync's new --ontology); the rows' content
    fingerprints name the ontology they were made with, so they are made again: an export's row then reads as
    unchanged when its file comes back, and an Encord row, whose listing fields the warehouse keeps only in part,
    has none, so the next fetch rewrites it."""
    failures = []
    with engine.connect() as connection:
        sizes = _archived_bytes(connection)
    # closed at stage.BATCH_BYTES too, as a sync: 500 label rows of megabytes each were held at once (4.8 GB)
    for batch in staging.batches(work, batch_size, lambda item: sizes.get(item[1], 0)):
        with engine.begin() as connection:
            failures += _rebuild_batch(connection, batch, run_id, stats, ontology)
    return failures


def _archived_bytes(connection: Connection) -> dict[str, int]:
    """About how many bytes of JSON each label row's archive holds, counted in parts without reading them."""
    raw = schema.raw_label_rows
    counted = select(raw.c.label_hash, func.count()).group_by(raw.c.label_hash)
    return {label_hash: parts * staging.ARCHIVE_PART_BYTES for label_hash, parts in connection.execute(counted)}


def label_rows(connection: Connection, project_hash: str | None) -> list[tuple[str, str]]:
    """(project_hash, label_hash) of the stored label rows, of one project or all, in the order they are rebuilt."""
    branches = schema.branches
    query = select(branches.c.project_hash, branches.c.label_hash).order_by(*_DATA_UNIT_ORDER)
    if project_hash is not None:
        query = query.where(branches.c.project_hash == project_hash)
    return [tuple(row) for row in connection.execute(query)]


def _rebuild_batch(connection: Connection, work: list[tuple[str, str]], run_id: str, stats: RunStats,
                   ontology: OntologyIndex | None) -> list[RowFailure]:
    branches, units = schema.branches, schema.data_units
    query = (select(branches, units.c.frame_count)
             .join(units, (units.c.project_hash == branches.c.project_hash) & (units.c.data_hash == branches.c.data_hash),
                   isouter=True)
             .where(branches.c.label_hash.in_([label_hash for _, label_hash in work]))
             .order_by(*_DATA_UNIT_ORDER))
    indexes: dict[str, OntologyIndex] = {}
    per_label_row: dict[str, dict] = {}
    failures: dict[str | None, list[RowFailure]] = {}  # by project
    raw_rows = _raw_label_rows(connection, [label_hash for _, label_hash in work])
    for stored in connection.execute(query).mappings().all():  # DuckDB: one open result per connection
        project_hash, label_hash = stored["project_hash"], stored["label_hash"]
        if project_hash not in indexes:
            indexes[project_hash] = ontology or stored_ontology(connection, project_hash)
        try:
            tables = _rebuilt(stored, raw_rows.get(label_hash, _NOT_ARCHIVED), indexes[project_hash],
                              refingerprint=ontology is not None)
        except LabelRowError as error:
            failures.setdefault(project_hash, []).append(
                RowFailure(label_hash, error.field, error.reason, error.data_title, REBUILD_SOURCE))
            continue
        per_label_row[label_hash] = tables
    staged = stage(merge_label_rows(per_label_row), _COLUMNS, connection.dialect.name)
    add_archive(staged, {label_hash: raw_rows[label_hash].encode() for label_hash in per_label_row}, _COLUMNS,
                connection.dialect.name)
    load.replace_label_rows(connection, staged)
    for project_hash, of_project in failures.items():  # each under its project, whose syncs see it deleted
        record_failures(connection, run_id, project_hash, of_project)
    every_failure = [failure for of_project in failures.values() for failure in of_project]
    stats.fetched += len(work)
    stats.updated += len(per_label_row)
    stats.failed += len(every_failure)
    return every_failure


_NOT_ARCHIVED, _DAMAGED = object(), object()


def _rebuilt(stored, text, ontology: OntologyIndex, refingerprint: bool) -> dict[str, list[tuple]]:
    """The tables of one stored label row from its archived JSON; LabelRowError when they cannot be made."""
    label_hash = stored["label_hash"]
    if text is _NOT_ARCHIVED:
        raise LabelRowError(label_hash, "raw_label_rows", "no raw JSON archived")
    if text is _DAMAGED:
        raise LabelRowError(label_hash, "raw_label_rows", "the archive is damaged: parts of it are missing")
    try:
        row = parse_json(text)
    except ValueError as error:
        raise LabelRowError(label_hash, "raw_label_rows", f"the archived JSON does not parse: {error}"[:300]) from None
    workflow_stage = ({"uuid": stored["workflow_stage_uuid"], "title": stored["workflow_stage"]}
                      if stored["workflow_stage"] else None)
    metadata = {"workflow_graph_node": workflow_stage, "label_status": stored["label_status"],
                "annotation_task_status": stored["annotation_task_status"], "number_of_frames": stored["frame_count"]}
    fingerprint = stored["content_sha256"]
    if refingerprint:  # an export's row has no listing (listing_sha256), and its fingerprint none of its fields
        fingerprint = content_fingerprint(text.encode(), None, ontology) if stored["listing_sha256"] is None else None
    context = RowContext(stored["project_hash"], stored["synced_at"], ontology, metadata, fingerprint,
                         stored["listing_sha256"])
    tables = normalize_label_row(row, context)
    check_tables(label_hash, tables, _COLUMNS, row.get("data_title"))
    check_json_columns(label_hash, tables, _COLUMNS, row.get("data_title"), text)
    branch = list(tables["branches"][0])
    branch[_BRANCH_INDEX["deleted_at"]] = stored["deleted_at"]
    tables["branches"] = [tuple(branch)]
    return tables


def _raw_label_rows(connection: Connection, label_hashes: list[str]) -> dict[str, object]:
    """The archived JSON of each label row, joined from its parts (_DAMAGED when they are not numbered
    0..n-1: joined, the rest could still parse). The parts are put in order here, not by an ORDER BY:
    DuckDB's sort holds every part at once within its memory limit, which one label row of 113 MB passed
    (Out of Memory Error)."""
    raw = schema.raw_label_rows
    parts: dict[str, list[tuple[int, str]]] = {}
    query = select(raw.c.label_hash, raw.c.part, raw.c.json_text).where(raw.c.label_hash.in_(label_hashes))
    for label_hash, number, text in connection.execute(query):
        parts.setdefault(label_hash, []).append((number, text))
    joined: dict[str, object] = {}
    for label_hash, numbered in parts.items():
        numbered.sort()  # part numbers are unique per row
        whole = [number for number, _ in numbered] == list(range(len(numbered)))
        joined[label_hash] = "".join(text for _, text in numbered) if whole else _DAMAGED
    return joined
