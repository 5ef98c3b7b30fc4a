"""The warehouse's columns as plain data, for code that runs without the database libraries.

Checking and staging normalized rows (rowcheck.py, stage.py) happen in worker processes that
import neither SQLAlchemy nor a database driver; they read the columns from here. schema.py, the
source of truth, makes them (schema.column_specs).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    kind: str
    """text, integer, bigint, double, boolean, datetime or json."""
    nullable: bool
    key: bool
    """Part of the table's primary key."""
    indexed: bool = False
    """In the primary key or an index on Postgres (whose index entries hold at most about 2.7 kB)."""


TableColumns = dict[str, tuple[ColumnSpec, ...]]
"""Table name -> its columns, in order."""
