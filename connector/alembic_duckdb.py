"""Alembic's implementation for DuckDB, which Alembic does not ship; importing this module registers it.

Imported by migrate.py before Alembic runs and by migrations/env.py (the plain `alembic` command)."""

from alembic.ddl.impl import DefaultImpl


class DuckDBImpl(DefaultImpl):
    __dialect__ = "duckdb"
    transactional_ddl = True  # DuckDB's DDL is transactional
