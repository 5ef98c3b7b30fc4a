"""encord-warehouse: sync Encord label rows into DuckDB or Postgres."""

__version__ = "0.1.0"
