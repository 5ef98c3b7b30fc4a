"""Install and drop the SQL views of sql/ (used by the Alembic revisions that own them).

Each view, macro or function lives in one file holding one CREATE statement:
``sql/<name>.v<N>.sql``, or ``sql/<dialect>/<name>.v<N>.sql`` where DuckDB and Postgres truly
differ (the dialect file wins). Files are never edited once a revision has shipped them: a later
revision that changes a view adds ``<name>.v<N+1>.sql`` and names that version in its manifest,
so every revision installs exactly the SQL it was written with, upgrade and downgrade alike.

A manifest is an ordered list of (name, version): each entry may depend on the ones before it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

from sqlalchemy import Connection

from connector.shipped import SQL_DIR

Manifest = Sequence[tuple[str, int]]

_KIND = re.compile(r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(VIEW|MACRO|FUNCTION)\b", re.IGNORECASE | re.MULTILINE)


def sql_file(name: str, version: int, dialect: str) -> Path:
    """The file holding version `version` of `name` for `dialect` ('duckdb' or 'postgresql')."""
    filename = f"{name}.v{version}.sql"
    for candidate in (SQL_DIR / dialect / filename, SQL_DIR / filename):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"no {filename} in {SQL_DIR} or {SQL_DIR / dialect}")


def create_statement(name: str, version: int, dialect: str) -> str:
    return sql_file(name, version, dialect).read_text(encoding="utf-8").strip().rstrip(";")


def _kind(name: str, version: int, dialect: str) -> re.Match:
    """Where the CREATE statement of `name` names what it creates (VIEW, MACRO or FUNCTION)."""
    match = _KIND.search(create_statement(name, version, dialect))
    if match is None:
        raise ValueError(f"{sql_file(name, version, dialect)}: expected CREATE VIEW, MACRO or FUNCTION")
    return match


def drop_statement(name: str, version: int, dialect: str) -> str:
    kind = _kind(name, version, dialect).group(1).upper()
    if kind == "MACRO":
        return f"DROP MACRO TABLE IF EXISTS {name}"
    return f"DROP {kind} IF EXISTS {name}"


def create(connection: Connection, manifest: Manifest) -> None:
    """Create every entry, in manifest order, in the connection's current schema."""
    dialect = connection.dialect.name
    for name, version in manifest:
        # exec_driver_sql: no bind-parameter parsing of the DDL (function bodies contain `$$`).
        connection.exec_driver_sql(create_statement(name, version, dialect))


def replace(connection: Connection, manifest: Manifest) -> None:
    """Create or replace every entry in place (CREATE OR REPLACE), in manifest order: views built on it
    (an analyst's, a dbt model) and grants on it survive, where a drop would fail on the first and lose
    the second. Postgres takes a new version only if it keeps the old one's columns (names, types,
    order; new ones at the end): else drop and create."""
    dialect = connection.dialect.name
    for name, version in manifest:
        match = _kind(name, version, dialect)
        connection.exec_driver_sql(f"CREATE OR REPLACE {match.string[match.start(1):]}")


def drop(connection: Connection, manifest: Manifest) -> None:
    """Drop every entry, dependents first (reverse manifest order)."""
    dialect = connection.dialect.name
    for name, version in reversed(list(manifest)):
        connection.exec_driver_sql(drop_statement(name, version, dialect))
