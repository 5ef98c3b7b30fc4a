"""What is in the warehouse: recent sync runs, the export files read, the open problems, row counts."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Engine, func, inspect, literal_column, select

from connector import schema
from connector.migrate import EMPTY_WAREHOUSE

COUNTED_TABLES = [
    "projects", "data_units", "branches", "frames", "objects", "object_frames", "classifications",
    "classification_frames", "attributes", "annotation_ranges", "ontology_objects", "ontology_classifications",
    "ontology_attributes", "ontology_options", "sync_errors", "extracted_frames",
]


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        present = set(inspect(connection).get_table_names())
        return {
            name: connection.scalar(select(func.count()).select_from(schema.metadata.tables[name]))
            for name in COUNTED_TABLES
            if name in present
        }


def open_problem_count(engine: Engine) -> int | None:
    """How many recorded problems no later run found gone (sync_errors without resolved_at); None on a
    warehouse whose schema predates resolved_at (0008)."""
    errors = schema.sync_errors
    with engine.connect() as connection:
        if "resolved_at" not in _columns(connection, errors):
            return None
        return connection.scalar(select(func.count()).select_from(errors).where(errors.c.resolved_at.is_(None)))


def recent_runs(engine: Engine, limit: int = 10) -> list[dict]:
    """The last `limit` runs, latest started first, with the columns the warehouse has (see _columns):
    in the order of run_seq, not of the clock that stamped started_at (0015)."""
    runs = schema.sync_runs
    with engine.connect() as connection:
        present = _columns(connection, runs)
        if not present:
            return []
        newest_first = runs.c.run_seq if "run_seq" in present else runs.c.started_at
        query = select(*(c for c in runs.columns if c.name in present)).order_by(newest_first.desc()).limit(limit)
        return [dict(row) for row in connection.execute(query).mappings()]


def _columns(connection, table) -> set[str]:
    """The columns `table` has in the warehouse (none when it is missing): status only reads, so a
    warehouse an older version migrated keeps its older tables."""
    if not inspect(connection).has_table(table.name):
        return set()
    return set(connection.execute(select(literal_column("*")).select_from(table).limit(0)).keys())


def export_reads(engine: Engine) -> list[dict]:
    """Per export synced (project, path or URL): how many of its files are recorded as read, which a
    sync of that export skips until they change, and when the last was read; latest first."""
    files = schema.export_files
    last_read_at = func.max(files.c.read_at)
    with engine.connect() as connection:
        if not inspect(connection).has_table("export_files"):
            return []
        query = (select(files.c.project_hash, files.c.export, func.count().label("files"), last_read_at.label("last_read_at"))
                 .group_by(files.c.project_hash, files.c.export).order_by(last_read_at.desc(), files.c.export))
        return [dict(row) for row in connection.execute(query).mappings()]


def format_counts(counts: dict[str, int]) -> str:
    width = max((len(name) for name in counts), default=0)
    return "\n".join(f"{name:<{width}}  {count:>10,}" for name, count in counts.items())


def format_status(runs: list[dict] | None, counts: dict[str, int], exports: list[dict] = (),
                  problems: int | None = None) -> str:
    """`runs` None: none were asked for, only the counts are shown."""
    if not counts:
        return EMPTY_WAREHOUSE
    if runs is None:
        return "\n".join(["rows per table:", format_counts(counts)])
    lines = ["recent runs (UTC):" if runs else "no sync runs yet"]
    for run in runs:
        started = run["started_at"].strftime("%Y-%m-%d %H:%M:%S")
        error = f"  error: {run['error']}" if run["error"] else ""
        export = f"  from {run['export']}" if run.get("export") else ""
        lines.append(
            f"  {started}  {run['status']:<11} {run['source']:<7} project {run['project_hash']}  "
            f"listed {run['listed'] or 0}  fetched {run['fetched'] or 0}  inserted {run['inserted'] or 0}  "
            f"updated {run['updated'] or 0}  unchanged {run.get('unchanged') or 0}  deleted {run['deleted'] or 0}  "
            f"failed {run['failed'] or 0}{_vanished(run)}{export}{error}"
        )
    if exports:
        lines += ["", "export files read (a sync of the same export reads only the files new or changed since):"]
        lines += [f"  {export['last_read_at']:%Y-%m-%d %H:%M:%S}  project {export['project_hash']}  "
                  f"{export['files']:,} file{'s' if export['files'] != 1 else ''}  {export['export']}" for export in exports]
    if problems is not None:
        lines += ["", f"open problems: {problems:,} (sync_errors WHERE resolved_at IS NULL)"]
    lines += ["", "rows per table:", format_counts(counts)]
    return "\n".join(lines)


def _vanished(run: dict) -> str:
    return f"  vanished {run['vanished']}" if run.get("vanished") else ""


def status_document(runs: list[dict] | None, counts: dict[str, int], exports: list[dict] = (),
                    problems: int | None = None) -> dict:
    """The same as format_status, for monitoring: {"runs": [...newest first], "exports": [...latest
    read first], "open_problems": n, "tables": {name: rows}}; timestamps in ISO 8601, UTC. An empty
    warehouse has no runs and no tables."""
    return {"runs": [{name: _iso(value) for name, value in run.items()} for run in runs or []],
            "exports": [{name: _iso(value) for name, value in export.items()} for export in exports],
            "open_problems": problems, "tables": counts}


def _iso(value):
    return value.replace(tzinfo=timezone.utc).isoformat() if isinstance(value, datetime) else value
