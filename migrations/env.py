"""Alembic environment for both warehouses.

`encord-warehouse migrate` hands us an open connection in config.attributes; the plain
`alembic` command builds one from $ENCORD_WAREHOUSE_DB.
"""

from alembic import context
from alembic.ddl.impl import DefaultImpl

from connector.db import create_warehouse_engine
from connector.schema import metadata


class DuckDBImpl(DefaultImpl):
    """Alembic ships no DuckDB implementation; DuckDB's DDL is transactional."""

    __dialect__ = "duckdb"
    transactional_ddl = True


def run_migrations(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    engine = create_warehouse_engine()
    with engine.connect() as connection:
        run_migrations(connection)
    engine.dispose()


main()
