"""`encord-warehouse optimize`: the label tables put in label-row order (connector/optimize.py).

Registered by one import line in connector/cli.py.
"""

from __future__ import annotations

import click

from connector.cli import cli, command_engine, db_option, one_line_errors, schema_option
from connector.optimize import optimize as optimize_warehouse


@cli.command()
@db_option
@schema_option
@click.option("--wait-for-lock", default=0.0, show_default=True, type=click.FloatRange(0), metavar="SECONDS",
              help="If a sync is writing to this warehouse, wait this long for it.")
def optimize(db_url, schema, wait_for_lock) -> None:
    """Keep queries for one video fast as the warehouse grows: a job to run beside the sync (nightly, weekly).

    DuckDB: the label tables are rewritten in label-row order, so a query for one video reads its
    own row groups instead of every one; the file needs room for a second copy of them meanwhile
    (the space is reused by the next run, not returned). Postgres: VACUUM (ANALYZE) of the label
    tables (readers are not blocked).

    \b
    Example:
        encord-warehouse optimize --db duckdb:///encord.duckdb
    """
    with one_line_errors(db_url), command_engine(db_url, schema, must_exist=True, lock_wait=wait_for_lock) as engine:
        tables = optimize_warehouse(engine)
    for table in tables:
        click.echo(f"{table.table}: {table.rows:,} rows {table.done} ({table.seconds:.1f}s)")
