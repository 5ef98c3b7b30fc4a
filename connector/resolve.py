"""Which recorded problems (`sync_errors`) a run found gone, marked with `resolved_at`, so that
`WHERE resolved_at IS NULL` is what is failing now.

A problem is gone when the run
- deleted its label row, or found it gone from Encord though it was never stored (quarantined on its
  first fetch);
- read its label row again and did not record the problem again (a problem recorded by the run
  itself is never gone); for a label row loaded with flagged annotations or classifications
  (`kept`), when it is stored without any in the table the problem names now;
- read the export file it could not read whole, without a failed row; or listed that file's export
  without it (deleted from the folder);
- read an export that holds every label row of the project (`--delete-missing`) without its label row;
- did the video it could not before (the frames job), without a problem.

`gone_problems` decides (pure); `resolve_problems` reads the open problems and marks them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Collection, Iterable

from sqlalchemy import Connection, select, update

from connector import schema
from connector.load import chunks
from connector.rowcheck import FLAGGING_TABLES
from connector.sources.export import in_export_file

FRAMES_SOURCE = "extract-frames"
REBUILD_SOURCE = "rebuild"
"""The source of the frames job's problems (a video), which have no label row."""


@dataclass(frozen=True)
class OpenProblem:
    error_id: str
    run_id: str | None
    project_hash: str | None
    label_hash: str | None
    source: str | None
    data_title: str | None
    kept: bool
    export: str | None = None
    """The export the run that recorded it read (sync_runs.export), for a problem of an export sync."""
    field: str | None = None
    """Where in the label row; for a kept problem, the table that flags it ('object_frames.problems')."""


@dataclass(frozen=True)
class ExportListing:
    """An export's files as a run listed them."""

    export: str
    """As sync_runs.export names it."""
    files: Collection[str]
    """Their names in the export."""
    unlisted: Collection[str] = ()
    """Its folders that could not be listed ('day'): what they hold is not known."""

    def lacks(self, source: str) -> bool:
        """Whether a location in this export (a file, a place in one, a folder: 'day/') is in none of its files."""
        if any(source.startswith(folder + "/") for folder in self.unlisted):
            return False
        return not any(in_export_file(source, name) for name in self.files)


@dataclass(frozen=True)
class RunDid:
    """What a run did that can show a problem gone."""

    read: Collection[str] = ()
    """Label hashes the run read (loaded, unchanged or failed)."""
    deleted: Collection[str] = ()
    """Label hashes the run removed, or found gone from the source without ever storing them."""
    files_read: Collection[str] = ()
    """Export files (their names in the export) read whole without a failed row."""
    videos_done: Collection[tuple[str, str | None]] = ()
    """(project hash, data title) of the videos the frames job did without a problem."""
    listing: ExportListing | None = None
    """The export the run listed."""
    every_row: bool = False
    """`read` holds every label row of the project (an export read whole with --delete-missing)."""
    rebuilt: bool = False
    """The run re-derived each row it read from its archive (`rebuild`): only such a run shows a
    rebuild's problem gone for a row still stored."""

    def __post_init__(self) -> None:  # looked up once per open problem
        for name in ("read", "deleted", "files_read", "videos_done"):
            object.__setattr__(self, name, frozenset(getattr(self, name)))


def gone_problems(problems: Iterable[OpenProblem], run_id: str, did: RunDid,
                  flagged: Collection[tuple[str, str]]) -> list[str]:
    """The error ids of `problems` the run found gone; `flagged`: (label hash, field) of the kept problems
    the run read whose table still flags a row of that label row."""
    return [problem.error_id for problem in problems if problem.run_id != run_id and _gone(problem, did, flagged)]


def _gone(problem: OpenProblem, did: RunDid, flagged: Collection[tuple[str, str]]) -> bool:
    if problem.label_hash is not None:
        if problem.source == REBUILD_SOURCE and not did.rebuilt:  # a sync that reads the row does not rebuild it
            return problem.label_hash in did.deleted or (did.every_row and problem.label_hash not in did.read)
        if problem.label_hash in did.read:
            return not (problem.kept and (problem.label_hash, problem.field) in flagged)
        return problem.label_hash in did.deleted or did.every_row
    if problem.source == FRAMES_SOURCE:
        return (problem.project_hash, problem.data_title) in did.videos_done
    if problem.source is None:
        return False
    listing = did.listing
    if listing is not None and problem.export is not None and problem.export != listing.export:
        return False  # another export's file, maybe of the same name (day1/export.json, day2/export.json)
    return (any(in_export_file(problem.source, name) for name in did.files_read)
            or (listing is not None and problem.export == listing.export and listing.lacks(problem.source)))


def resolve_problems(connection: Connection, run_id: str, project_hash: str | None, did: RunDid, now,
                     source: str | None = None) -> int:
    """Mark resolved the project's open problems (None: a rebuild's; only those of `source`, if given)
    that the run found gone; returns how many."""
    problems = open_problems(connection, project_hash, source)
    kept_read = sorted({problem.label_hash for problem in problems if problem.kept and problem.label_hash in did.read})
    gone = gone_problems(problems, run_id, did, _flagged(connection, kept_read))
    errors = schema.sync_errors
    for chunk in chunks(gone):
        connection.execute(update(errors).where(errors.c.error_id.in_(chunk)).values(resolved_at=now))
    return len(gone)


def open_problems(connection: Connection, project_hash: str | None, source: str | None = None) -> list[OpenProblem]:
    errors, runs = schema.sync_errors, schema.sync_runs
    of_project = errors.c.project_hash.is_(None) if project_hash is None else errors.c.project_hash == project_hash
    query = select(errors.c.error_id, errors.c.run_id, errors.c.project_hash, errors.c.label_hash, errors.c.source,
                   errors.c.data_title, errors.c.kept, runs.c.export, errors.c.field).outerjoin(
        runs, runs.c.run_id == errors.c.run_id).where(errors.c.resolved_at.is_(None), of_project)
    if source is not None:
        query = query.where(errors.c.source == source)
    return [OpenProblem(*row[:6], bool(row.kept), row.export, row.field) for row in connection.execute(query)]


def _flagged(connection: Connection, label_hashes: list[str]) -> set[tuple[str, str]]:
    """(label hash, '<table>.problems') for those of `label_hashes` stored with a flagged row in that table."""
    flagged: set[tuple[str, str]] = set()
    for table in map(schema.metadata.tables.get, FLAGGING_TABLES):
        field = f"{table.name}.problems"
        for chunk in chunks(label_hashes):
            flagged_rows = select(table.c.label_hash).distinct().where(table.c.label_hash.in_(chunk),
                                                                       table.c.problems.is_not(None))
            flagged.update((label_hash, field) for label_hash in connection.scalars(flagged_rows))
    return flagged
