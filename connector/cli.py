"""The `encord-warehouse` command: a thin layer over the library functions of the same names.

Library errors become one-line messages here, and only here.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager

import click
from sqlalchemy.exc import SQLAlchemyError

from connector import migrate as migrations
from connector import status as warehouse_status
from connector.db import WarehouseError, create_warehouse_engine, default_db_url, safe_url
from connector.ontology import OntologyError
from connector.sources.export import ExportError
from connector.sync import DEFAULT_BATCH_SIZE, ExportSyncConfig, sync_export

MAX_FAILURES_SHOWN = 20

db_option = click.option(
    "--db", "db_url", default=None, metavar="URL",
    help="SQLAlchemy URL of the warehouse. Default: $ENCORD_WAREHOUSE_DB, else duckdb:///encord.duckdb.",
)
schema_option = click.option(
    "--schema", default=None, envvar="ENCORD_WAREHOUSE_SCHEMA", metavar="NAME",
    help="Postgres schema to hold the tables (created if missing). Default: $ENCORD_WAREHOUSE_SCHEMA, else the search_path.",
)


class UserError(click.ClickException):
    """Printed as one line, exit code 2."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"encord-warehouse: {self.message}", err=True)


@contextmanager
def one_line_errors(db_url: str | None):
    try:
        yield
    except (ExportError, OntologyError, WarehouseError) as error:
        raise UserError(str(error)) from None
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise UserError(f"warehouse {safe_url(db_url or default_db_url())}: {reason}") from None


@click.group()
@click.version_option(package_name="encord-warehouse")
def cli() -> None:
    """Sync Encord labels into DuckDB or Postgres.

    \b
    Example:
        encord-warehouse sync --from-export examples/sample_export.json --ontology examples/ontology.json
        encord-warehouse status
    """


@cli.command()
@db_option
@schema_option
def migrate(db_url: str | None, schema: str | None) -> None:
    """Create or upgrade the warehouse tables and views.

    \b
    Example:
        encord-warehouse migrate --db postgresql://user@localhost/warehouse --schema encord
    """
    with one_line_errors(db_url):
        engine = create_warehouse_engine(db_url, schema)
        migrations.upgrade(engine)
        click.echo(f"warehouse at revision {migrations.current_revision(engine)}")


@cli.command()
@db_option
@schema_option
@click.option("--from-export", "export_path", required=True, metavar="PATH",
              help="A JSON array of label rows (Encord's 'Export labels as JSON'), JSON Lines, or a directory of them.")
@click.option("--project-hash", default="export", show_default=True, help="Project hash the exported rows belong to.")
@click.option("--ontology", "ontology_path", default=None, metavar="PATH", help="OntologyStructure.to_dict() JSON file.")
@click.option("--batch-size", default=DEFAULT_BATCH_SIZE, show_default=True, type=click.IntRange(1, 100_000),
              help="Label rows per transaction.")
@click.option("--full-refresh", is_flag=True, help="Rewrite every label row, even unchanged ones.")
def sync(db_url, schema, export_path, project_hash, ontology_path, batch_size, full_refresh) -> None:
    """Sync label rows into the warehouse (migrates first).

    \b
    Example:
        encord-warehouse sync --from-export export.json --project-hash 1f2e… --ontology ontology.json
    """
    config = ExportSyncConfig(export_path, project_hash, ontology_path, batch_size, full_refresh)
    with one_line_errors(db_url):
        engine = create_warehouse_engine(db_url, schema)
        with _progress_bar() as progress:
            result = sync_export(engine, config, on_progress=progress)
        _report_sync(engine, result)


@cli.command()
@db_option
@schema_option
@click.option("--runs", default=10, show_default=True, help="How many recent runs to show.")
def status(db_url: str | None, schema: str | None, runs: int) -> None:
    """Show the last sync runs and the row count of every table.

    \b
    Example:
        encord-warehouse status --db duckdb:///encord.duckdb
    """
    with one_line_errors(db_url):
        engine = create_warehouse_engine(db_url, schema)
        click.echo(warehouse_status.format_status(warehouse_status.recent_runs(engine, runs), warehouse_status.row_counts(engine)))


def _report_sync(engine, result) -> None:
    stats = result.stats
    click.echo(
        f"run {result.run_id}: {stats.listed} label rows read, {stats.inserted} inserted, "
        f"{stats.updated} updated, {stats.unchanged} unchanged, {stats.failed} failed"
    )
    click.echo(warehouse_status.format_counts(warehouse_status.row_counts(engine)))
    if result.failures:
        for failure in result.failures[:MAX_FAILURES_SHOWN]:
            click.echo(f"error: {failure}", err=True)
        click.echo(
            f"encord-warehouse: {stats.failed} of {stats.listed} label rows failed and are recorded in "
            f"sync_errors (run {result.run_id}); the rest loaded",
            err=True,
        )
        raise click.exceptions.Exit(1)


@contextmanager
def _progress_bar():
    if not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    with tqdm(unit=" rows", desc="sync", file=sys.stderr) as bar:
        yield bar.update


# Commands defined beside their feature register here, one line each.
from connector import labels_cli  # noqa: E402,F401  (registers `labels`)


def main() -> None:
    cli(prog_name="encord-warehouse")
