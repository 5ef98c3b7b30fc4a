"""Alembic environment for both warehouses.

`encord-warehouse migrate` hands us an open connection in config.attributes; the plain
`alembic` command builds one from $ENCORD_WAREHOUSE_DB (and, on Postgres, $ENCORD_WAREHOUSE_SCHEMA).
"""

import os

from alembic import context

from connector.db import create_warehouse_engine
import connector.alembic_duckdb  # noqa: F401  (registers Alembic's DuckDB implementation)
from connector.schema import metadata


def run_migrations(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    engine = create_warehouse_engine(schema=os.environ.get("ENCORD_WAREHOUSE_SCHEMA") or None)
    with engine.connect() as connection:
        run_migrations(connection)
    engine.dispose()


main()
