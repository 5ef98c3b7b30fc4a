"""`encord-warehouse rebuild`: re-derive the label tables from the archived raw JSON.

Registered by one import line in connector/cli.py; the work happens in connector/rebuild.py.
"""

from __future__ import annotations

import click

from connector.cli import cli, command_engine, db_option, one_line_errors, schema_option
from connector.rebuild import RebuildConfig, rebuild as rebuild_warehouse


@cli.command()
@db_option
@schema_option
@click.option("--project-hash", default=None, metavar="H", help="Only this project's label rows. Default: every project.")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000),
              help="Label rows per transaction.")
@click.option("--wait-for-lock", default=0.0, show_default=True, type=click.FloatRange(0), metavar="SECONDS",
              help="If a sync is writing to this warehouse, wait this long for it.")
def rebuild(db_url, schema, project_hash, batch_size, wait_for_lock) -> None:
    """Re-normalize every label row from the raw JSON archived in `raw_label_rows`, without calling Encord.

    \b
    Example:
        encord-warehouse rebuild --db duckdb:///encord.duckdb
        encord-warehouse rebuild --db postgresql://me@localhost/analytics --schema encord --project-hash 1f2e…
    """
    with one_line_errors(db_url), command_engine(db_url, schema, must_exist=True, lock_wait=wait_for_lock) as engine:
        result = rebuild_warehouse(engine, RebuildConfig(project_hash, batch_size))
    click.echo(f"run {result.run_id}: {result.stats.updated} label rows rebuilt, {result.stats.failed} failed")
    for failure in result.failures[:20]:
        click.echo(f"error: {failure}", err=True)
    if result.failures:
        raise click.exceptions.Exit(1)
