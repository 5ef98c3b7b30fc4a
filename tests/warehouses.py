"""A warehouse under test: its dialect, URL, Postgres schema and engine, with query helpers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Engine, text

from connector.db import create_warehouse_engine


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

    def execute(self, sql: str, **params) -> None:
        """One statement, committed (DDL or DML a user runs on the warehouse)."""
        with self.engine.begin() as connection:
            connection.execute(text(sql), params)


def new_postgres_warehouse(url: str) -> Warehouse:
    """A warehouse in a fresh schema of the Postgres server at `url`."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    return Warehouse("postgresql", url, schema, create_warehouse_engine(url, schema))

