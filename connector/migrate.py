"""Run the Alembic migrations against a warehouse engine.

Alembic is imported only when there is something to migrate: a warehouse already at
SCHEMA_REVISION, as on every scheduled run but the first after an upgrade, costs one query
(importing Alembic and reading the migration scripts took about 0.35 s of each run).
"""

from __future__ import annotations

import threading

from sqlalchemy import Engine, inspect, text

from connector.db import WarehouseError, create_schema_if_missing
from connector.schema import metadata
from connector.shipped import MIGRATIONS_DIR

SCHEMA_REVISION = "0021"
"""The newest migration's revision (migrations/versions/); a test checks it is Alembic's head."""


OUR_MARKS = {"branches", "sync_runs", "sync_state"}
"""Tables of the first migration that tell a warehouse from a schema holding other tables of those names."""
OWN_PLACE = "give encord-warehouse a Postgres schema (--schema) or a DuckDB file of its own"
EMPTY_WAREHOUSE = "the warehouse is empty: run `encord-warehouse sync` (or `migrate`) first"
NO_REVISION = ("the warehouse holds encord-warehouse's tables but no record of their schema revision (its "
               "alembic_version table is missing or empty): restore it, or record the revision the tables are at "
               "with `alembic stamp REVISION`")


def upgrade(engine: Engine, revision: str = "head", *, synced_only: bool = False) -> None:
    """Migrate to `revision`. `synced_only` (jobs that work on what a sync loaded: optimize, rebuild,
    extract-frames): a warehouse never migrated is an error, not new tables in a mistyped database or
    schema (a missing DuckDB file is refused before this, see create_warehouse_engine)."""
    current = current_revision(engine)
    if current is None:
        _refuse_tables_in_the_way(engine)
        if synced_only:
            raise WarehouseError(EMPTY_WAREHOUSE)
    if revision == "head" and current == SCHEMA_REVISION:
        return
    from alembic import command

    if current is not None and current not in _known_revisions():
        if not _holds_our_tables(_table_names(engine)):
            raise WarehouseError(_another_applications_revision(current))
        raise WarehouseError(f"the warehouse's tables are at schema revision {current}, which this encord-warehouse "
                             f"does not know (its newest is {SCHEMA_REVISION}): a newer version migrated them; "
                             "upgrade encord-warehouse")
    create_schema_if_missing(engine)
    with _ALEMBIC, engine.begin() as connection:
        command.upgrade(_config(connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    with _ALEMBIC, engine.begin() as connection:
        command.downgrade(_config(connection), revision)


_ALEMBIC = threading.Lock()
"""Alembic's context and `op` are module globals: two threads migrating at once (two first syncs into two
warehouses, in Dagster's or a web app's threads) ran each other's statements on the wrong connection."""


def current_revision(engine: Engine) -> str | None:
    """The warehouse's revision as Alembic records it; None before the first migration."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return _recorded_revision(connection)


def _recorded_revision(connection) -> str | None:
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalars().first()


def refuse_other_applications(connection) -> None:
    """For the commands that only read (status, labels): a schema holding another application's alembic_version, or
    tables of our names that are not ours, is refused as sync refuses it, not read as an empty warehouse or counted."""
    names = set(inspect(connection).get_table_names())
    if _holds_our_tables(names):
        return
    if "alembic_version" in names and (current := _recorded_revision(connection)) is not None:
        raise WarehouseError(_another_applications_revision(current))
    _refuse_other_tables(names)


def _another_applications_revision(current: str) -> str:
    return (f"the warehouse's alembic_version table is another application's (revision {current}, "
            f"not one of encord-warehouse's): {OWN_PLACE}")


def _refuse_tables_in_the_way(engine: Engine) -> None:
    """A warehouse with no revision recorded must hold none of the tables its first migration creates, which
    would fail on the first that exists: ours (the record lost) or another application's of the same name."""
    names = _table_names(engine)
    if _holds_our_tables(names):
        raise WarehouseError(NO_REVISION)
    _refuse_other_tables(names)


def _refuse_other_tables(names: set[str]) -> None:
    if taken := sorted(names & set(metadata.tables)):
        raise WarehouseError(f"the warehouse already holds tables of the names encord-warehouse's have ({', '.join(taken)}) "
                             f"that are not its own: {OWN_PLACE}")


def _table_names(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def _holds_our_tables(names: set[str]) -> bool:
    return OUR_MARKS <= names


def _known_revisions() -> set[str]:
    return {script.revision for script in _scripts().walk_revisions()}


def head_revision() -> str:
    return _scripts().get_current_head()


def _scripts():
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config(None))


def _config(connection):
    from alembic.config import Config

    import connector.alembic_duckdb  # noqa: F401  (registers Alembic's DuckDB implementation)

    config = Config()  # alembic.ini is the plain `alembic` command's; an installed wheel has none
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    return config
