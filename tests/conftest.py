"""Shared fixtures: a warehouse on each dialect.

Every test that takes `warehouse` runs twice: on a DuckDB file and on a real Postgres
server. The Postgres server is a throwaway cluster started here (tests/pg_cluster.py)
unless $ENCORD_WAREHOUSE_TEST_PG names one; each test gets its own schema. With CI=true
a Postgres that cannot be had fails the run instead of skipping.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text

from connector.db import create_warehouse_engine
from pg_cluster import PostgresCluster
from warehouses import Warehouse, new_postgres_warehouse


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


@pytest.fixture
def postgres_warehouse(postgres_url):
    """A Postgres warehouse alone, for what only Postgres does (SKIP LOCKED claims, advisory locks)."""
    with _postgres_warehouse(postgres_url) as created:
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
    with _postgres_warehouse(request.getfixturevalue("postgres_url")) as created:
        yield created


@contextmanager
def _postgres_warehouse(url):
    created = new_postgres_warehouse(url)
    yield created
    created.engine.dispose()
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{created.schema}" CASCADE'))
    admin.dispose()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With CI=true a Postgres test that skips is a failure: CI must prove both dialects."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") == "true" and report.skipped and "[postgres" in item.nodeid:
        report.outcome = "failed"
        report.longrepr = f"{item.nodeid}: a Postgres test skipped under CI=true ({report.longrepr})"
