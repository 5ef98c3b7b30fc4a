"""Shared fixtures: a warehouse on each dialect.

Every test that takes `warehouse` runs twice: on a DuckDB file and on a real Postgres
server. The Postgres server is a throwaway cluster started here (tests/pg_cluster.py)
unless $ENCORD_WAREHOUSE_TEST_PG names one; each test gets its own schema. With CI=true
a Postgres that cannot be had fails the run instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, create_engine, text

from connector.db import create_warehouse_engine
from pg_cluster import PostgresCluster


@dataclass
class Warehouse:
    dialect: str
    url: str
    schema: str | None
    engine: Engine

    @property
    def cli_args(self) -> list[str]:
        return ["--db", self.url, *(["--schema", self.schema] if self.schema else [])]

    @property
    def env(self) -> dict[str, str]:
        env = {"ENCORD_WAREHOUSE_DB": self.url}
        if self.schema:
            env["ENCORD_WAREHOUSE_SCHEMA"] = self.schema
        return env

    def rows(self, sql: str, **params) -> list[tuple]:
        with self.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params)]

    def scalar(self, sql: str, **params):
        with self.engine.connect() as connection:
            return connection.execute(text(sql), params).scalar()


@pytest.fixture(scope="session")
def postgres_url():
    external = os.environ.get("ENCORD_WAREHOUSE_TEST_PG")
    if external:
        yield external
        return
    try:
        cluster = PostgresCluster().start()
    except Exception as error:  # initdb missing, no postgres user, ...
        message = f"cannot start a Postgres cluster: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    yield cluster.url()
    cluster.stop()


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request, tmp_path):
    with _new_warehouse(request, tmp_path / "warehouse.duckdb") as created:
        yield created


@pytest.fixture
def other_warehouse(request, warehouse, tmp_path):
    """A second, empty warehouse of the same dialect (for comparisons)."""
    with _new_warehouse(request, tmp_path / "other.duckdb", warehouse.dialect) as created:
        yield created


@contextmanager
def _new_warehouse(request, duckdb_path, dialect=None):
    dialect = dialect or ("duckdb" if request.param == "duckdb" else "postgresql")
    if dialect == "duckdb":
        url = f"duckdb:///{duckdb_path}"
        engine = create_warehouse_engine(url)
        yield Warehouse("duckdb", url, None, engine)
        engine.dispose()
        return
    url = request.getfixturevalue("postgres_url")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_warehouse_engine(url, schema)
    yield Warehouse("postgresql", url, schema, engine)
    engine.dispose()
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With CI=true a Postgres test that skips is a failure: CI must prove both dialects."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") == "true" and report.skipped and "[postgres" in item.nodeid:
        report.outcome = "failed"
        report.longrepr = f"{item.nodeid}: a Postgres test skipped under CI=true ({report.longrepr})"
