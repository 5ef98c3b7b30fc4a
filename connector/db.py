"""Engines for the two supported warehouses: DuckDB (a file) and Postgres."""

from __future__ import annotations

import functools
import os
import weakref
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

from sqlalchemy import URL, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from connector.redact import redact

DEFAULT_DB_URL = "duckdb:///encord.duckdb"
# DuckDB caches up to 80% of the machine's RAM by default, so a sync's memory grew with the
# warehouse; with this cap a 4x larger load peaks 13% higher, not 66%. Bulk loads need little
# (load.bulk_load keeps un-checkpointed data well below it), and a sync's worker processes need
# their share (a 430k-annotation load, all processes: 613 MB at 256MB, 556 MB at 128MB, in about
# the same time); a query that needs more spills to disk. Only the jobs that write run under it
# (capped_memory): a value must fit whole, and joining a 15 MB label row in label_row_json did not.
DUCKDB_MEMORY_LIMIT = "128MB"


class WarehouseError(Exception):
    """A problem with the warehouse itself (URL, connection, schema)."""


def default_db_url() -> str:
    return os.environ.get("ENCORD_WAREHOUSE_DB") or DEFAULT_DB_URL


def default_schema() -> str | None:
    return os.environ.get("ENCORD_WAREHOUSE_SCHEMA") or None


def normalize_url(url: str) -> str:
    """Plain `postgresql://` URLs get the psycopg 3 driver, the only one we install; a DuckDB path that
    starts with `~` (in $ENCORD_WAREHOUSE_DB, where no shell expands it) is under the home directory."""
    parsed = parse_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif parsed.get_backend_name() == "duckdb" and parsed.database and parsed.database.startswith("~"):
        parsed = parsed.set(database=os.path.expanduser(parsed.database))
    return parsed.render_as_string(hide_password=False)


def parse_url(url: str) -> URL:
    """`url` parsed, or a one-line error; one that cannot be parsed is not shown unless it is a plain path,
    since it may hold a password."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        if "://" in url or "@" in url:
            raise WarehouseError("the warehouse URL cannot be parsed (not shown: it may hold a password); "
                                 "use duckdb:///PATH or postgresql://USER@HOST/DATABASE") from None
        raise WarehouseError(f"{url!r} is not a warehouse URL: a DuckDB file is duckdb:///{url}") from None
    if "@" in (parsed.host or ""):  # the password ended at its first @: the rest would be shown as the host
        raise WarehouseError("the warehouse URL's password has an @ that is not written %40 "
                             "(the URL is not shown: it holds a password)")
    return parsed


def create_warehouse_engine(url: str | None = None, schema: str | None = None, must_exist: bool = False,
                            read_only: bool = False) -> Engine:
    """An engine for `url`; on Postgres every connection works inside `schema` (see warehouse_schema).
    Both default as the command line's --db and --schema do: $ENCORD_WAREHOUSE_DB, else
    ./encord.duckdb, and $ENCORD_WAREHOUSE_SCHEMA, else the server's search_path.
    `must_exist` (the commands but sync and migrate): a DuckDB file that is not there is an error, not
    a new empty file left behind a mistyped path. `read_only` (status, labels; implies `must_exist`):
    a DuckDB file is opened read-only, which DuckDB lets several processes do at once."""
    url = normalize_url(url or default_db_url())
    parsed = make_url(url)
    dialect = parsed.get_backend_name()
    if dialect == "postgresql":  # $ENCORD_WAREHOUSE_SCHEMA, set for Postgres work, does not refuse a DuckDB file
        schema = schema or default_schema()
    if dialect not in ("duckdb", "postgresql"):
        raise WarehouseError(f"unsupported warehouse URL scheme {dialect!r}: use duckdb:/// or postgresql://")
    if dialect == "duckdb" and parsed.host:  # duckdb://name.duckdb: two slashes
        path = "/".join(filter(None, [parsed.host, parsed.database]))
        raise WarehouseError(f"{parsed.render_as_string(hide_password=True)} names a host, not a file: "
                             f"a DuckDB file is duckdb:///{path} (three slashes)")
    if dialect == "duckdb" and parsed.database in (None, "", ":memory:"):
        raise WarehouseError("the warehouse URL names an in-memory DuckDB, gone when the "
                             "command ends (and each connection would see its own): give a file, "
                             "e.g. duckdb:///encord.duckdb")
    if schema and dialect != "postgresql":
        raise WarehouseError("--schema applies to Postgres only; a DuckDB warehouse is one file")
    if dialect == "duckdb" and (must_exist or read_only):
        _check_exists(parsed.database)
    try:
        # pre-ping: a long-lived caller's engine keeps pooled connections a Postgres restart or failover ends
        engine = create_engine(url, connect_args=_connect_args(dialect, read_only), pool_pre_ping=dialect == "postgresql",
                               **POSTGRES_ENGINE_OPTIONS if dialect == "postgresql" else {})
    except ImportError as error:  # postgresql+asyncpg://, +pg8000:// without that driver installed
        raise WarehouseError(f"{parsed.render_as_string(hide_password=True)}: its driver is not installed "
                             f"({error}); postgresql:// uses psycopg, which is") from None
    if dialect == "postgresql":
        event.listen(engine, "connect", refuse_other_encodings)
        event.listen(engine, "connect", print_floats_whole)
    else:
        _guard_against_fork(engine, parsed.database)
    if schema:
        _use_schema(engine, schema)
        engine = engine.execution_options(warehouse_schema=schema)
        if must_exist or read_only:
            _check_schema_exists(engine, schema)
    return engine


_duckdb_files: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()
"""The engines made here on DuckDB files, with each file's real path (DuckDB's own cache knows a file however
its path is spelled)."""
_forked_while_open: dict[str, int] = {}
"""In a forked process: the DuckDB files (real paths) its parent had open then, with the parent's PID."""
_inherited_pools: list = []
"""In a forked process: the pools of the parent's connections, kept and never used. Closed or freed, a connection
could end its copy of the parent's DuckDB instance, which writes that copy's state into the file."""


def _note_fork_in_child() -> None:
    for engine, path in list(_duckdb_files.items()):
        if engine.pool.checkedin() or engine.pool.checkedout():  # an engine dropped or disposed holds none
            _forked_while_open[path] = os.getppid()
            _inherited_pools.append(engine.pool)
            engine.dispose(close=False)


os.register_at_fork(after_in_child=_note_fork_in_child)


def _guard_against_fork(engine: Engine, database: str) -> None:
    """A process forked while its parent had a DuckDB file open (Airflow's LocalExecutor, Celery's prefork) got the
    parent's DuckDB instance back from DuckDB's own cache for any connection to that file, or the parent's pooled
    connection itself: no lock stopped it writing (or it crashed), and the parent's copy later wrote its stale state
    over those writes, silently. Such a process is refused the file before any connection is made."""
    path = os.path.realpath(database)

    def refuse_if_inherited(*_) -> None:
        if path in _forked_while_open:
            raise WarehouseError(
                f"the DuckDB file {database} was open in process {_forked_while_open[path]} when it forked this one, "
                "and DuckDB cannot share it with a forked process: dispose of the engine (engine.dispose()) before "
                "forking, or start processes with spawn")

    _duckdb_files[engine] = path
    event.listen(engine, "do_connect", refuse_if_inherited)


def _connect_args(dialect: str, read_only: bool) -> dict:
    if dialect == "postgresql":
        return dict(POSTGRES_CONNECT_ARGS)
    return {"read_only": True} if read_only else {}


POSTGRES_CONNECT_ARGS = {"client_encoding": "utf8"}
"""What the server sends is decoded as UTF-8 whatever the database's encoding (SQLAlchemy misread SQL_ASCII's
answers as bytes). Every engine to a warehouse has these and refuse_other_encodings, the writer's lock's too."""


POSTGRES_ENGINE_OPTIONS = {"isolation_level": "READ COMMITTED"}
"""Whatever the role's or database's default_transaction_isolation: the claims of extract-frames workers (FOR UPDATE
SKIP LOCKED) and a sync's reads beside its writer are made for it; under a DBA's 'serializable' two extract-frames
jobs failed each other ("could not serialize access")."""


def print_floats_whole(dbapi_connection, _record) -> None:
    """psycopg reads a double as the server prints it, which a role's extra_float_digits below 1 rounds (-3: 12
    digits): `labels` and the frames' manifests printed rounded pixels. 3 prints every double exactly."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET extra_float_digits = 3")
    dbapi_connection.commit()


def refuse_other_encodings(dbapi_connection, _record) -> None:
    """A database not encoded in UTF8 cannot hold every title and name Encord can (LATIN1 failed a whole sync on
    one character, SQL_ASCII every command), so it is refused in one line, before anything is written."""
    encoding = dbapi_connection.info.parameter_status("server_encoding")
    if encoding not in (None, "UTF8"):
        raise WarehouseError(f"the Postgres database is encoded {encoding}; encord-warehouse needs a UTF8 database "
                             "(CREATE DATABASE name ENCODING 'UTF8' TEMPLATE template0)")


def _check_schema_exists(engine: Engine, schema: str) -> None:
    """A command that needs a warehouse, given a schema that is not there (mistyped): an error, not an empty
    warehouse (`status` would report no runs to a monitoring check)."""
    with engine.connect() as connection:
        if connection.scalar(text("SELECT 1 FROM pg_namespace WHERE nspname = :name"), {"name": schema}) is None:
            raise WarehouseError(f"no schema {schema!r} in this Postgres database: run `encord-warehouse sync` "
                                 "(or `migrate`) first, or check --schema ($ENCORD_WAREHOUSE_SCHEMA)")


Job = TypeVar("Job", bound=Callable)


def capped_memory(job: Job) -> Job:
    """A library function that writes (sync, rebuild, optimize, extract-frames), `job(engine, ...)`, runs
    with DuckDB's memory_limit at DUCKDB_MEMORY_LIMIT, so that a scheduled job's memory does not grow
    with the warehouse; the setting is restored when it returns. Other queries through the engine have
    DuckDB's default, as in any DuckDB client. `?memory_limit=` on the URL sets it for both."""
    @functools.wraps(job)
    def run(engine: Engine, *args, **kwargs):
        with memory_cap(engine):
            return job(engine, *args, **kwargs)
    return run  # type: ignore[return-value]


@contextmanager
def memory_cap(engine: Engine, limit: str = DUCKDB_MEMORY_LIMIT) -> Iterator[None]:
    """DuckDB's memory_limit at `limit` within, then as it was (see capped_memory)."""
    if "memory_limit" in engine.url.query:
        yield
        return
    with duckdb_settings(engine, {"memory_limit": limit}):
        yield


@contextmanager
def duckdb_settings(engine: Engine, settings: dict[str, str]) -> Iterator[None]:
    """DuckDB's global `settings` (names and values are ours, not user input) within, then as they were;
    on Postgres nothing. They hold for every connection to the DuckDB file in this process."""
    if engine.dialect.name != "duckdb":
        yield
        return
    with engine.connect() as connection:
        previous = {name: _setting(connection, name) for name in settings}
        for name, value in settings.items():
            connection.exec_driver_sql(f"SET GLOBAL {name} = '{value}'")
    try:
        yield
    finally:
        with engine.connect() as connection:
            for name, value in previous.items():
                # RESET gives back the default exactly (the shown value is rounded); a caller's own SET is put back
                connection.exec_driver_sql(f"RESET GLOBAL {name}")
                if _setting(connection, name) != value:
                    connection.exec_driver_sql(f"SET GLOBAL {name} = '{value}'")


def _setting(connection, name: str) -> str:
    return connection.exec_driver_sql(f"SELECT current_setting('{name}')").scalar()


def _check_exists(database: str | None) -> None:
    """A file that is not there is "run sync first"; one that cannot be looked at (a folder on the way the user
    may not enter, a name too long) says why, where "run sync first" would send the user the wrong way."""
    try:
        os.stat(database)
    except FileNotFoundError:
        raise WarehouseError(f"no DuckDB warehouse at {database}: run `encord-warehouse sync` (or `migrate`) first") from None
    except OSError as error:
        raise WarehouseError(f"the DuckDB file {database}: cannot open: {error.strerror or error}") from None


def warehouse_schema(engine: Engine) -> str | None:
    """The Postgres schema the engine works in; None for DuckDB or the server's search_path."""
    return engine.get_execution_options().get("warehouse_schema")


def _use_schema(engine: Engine, schema: str) -> None:
    # Only the search path here: creating the schema is the migrations' job (migrate.upgrade), so
    # a read-only role (status, labels, a BI tool's user) needs no CREATE privilege on the database.
    @event.listens_for(engine, "connect")
    def set_search_path(dbapi_connection, _record):
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f'SET search_path TO "{_quote_ident(schema)}"')
        dbapi_connection.commit()


def create_schema_if_missing(engine: Engine) -> None:
    """Create the engine's Postgres schema. Checked first because CREATE SCHEMA IF NOT EXISTS needs
    CREATE on the database even when the schema exists, which a role owning only its schema lacks."""
    schema = warehouse_schema(engine)
    if schema is None:
        return
    with engine.begin() as connection:
        if connection.scalar(text("SELECT 1 FROM pg_namespace WHERE nspname = :name"), {"name": schema}) is None:
            connection.exec_driver_sql(f'CREATE SCHEMA "{_quote_ident(schema)}"')


def _quote_ident(name: str) -> str:
    # Identifiers cannot be bind parameters; double the quotes instead.
    return name.replace('"', '""')


def dialect_of(engine: Engine) -> str:
    return engine.dialect.name


def safe_url(url: str) -> str:
    """The URL with any password masked, for logs and errors; its query too (`?password=…` is a password)."""
    return redact(make_url(normalize_url(url)).render_as_string(hide_password=True))
