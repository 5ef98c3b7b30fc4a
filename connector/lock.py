"""One writer per warehouse: a Postgres advisory lock, or a lock file beside the DuckDB file.

A second sync started while one runs waits up to `wait_seconds`, then gives up with a
clear message; it never interleaves with the first. On DuckDB the wait also covers DuckDB's
own lock on the file, which any process that has the file open holds (a DuckDB shell, a notebook);
commands that only read wait on that lock alone (wait_for_duckdb_file).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import time
from contextlib import contextmanager
from typing import Callable, Iterator

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError

from connector.db import POSTGRES_CONNECT_ARGS, WarehouseError, refuse_other_encodings, warehouse_schema
from connector.failures import error_line

POLL_SECONDS = 0.2


class LockBusy(WarehouseError):
    """Another process holds the warehouse lock. The message names no command-line flag: a library caller
    has none (the CLI adds its --wait-for-lock)."""


@contextmanager
def warehouse_lock(engine: Engine, wait_seconds: float = 0) -> Iterator[None]:
    """Held by every command that writes; a program that syncs through the library holds it the same way.
    On DuckDB the engine is disposed when the lock is released, so the next writer can open the file."""
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine, _schema_written(engine), wait_seconds):
            yield
    elif path := _duckdb_file(engine):
        deadline = time.monotonic() + wait_seconds
        with _file_lock(path + ".lock", wait_seconds):
            try:
                wait_for_duckdb_file(engine, max(0.0, deadline - time.monotonic()), waited_seconds=wait_seconds)
                yield
            finally:
                engine.dispose()  # DuckDB's lock on the file goes before ours: a writer waiting on ours can open it
    else:
        yield


@contextmanager
def _file_lock(path: str, wait_seconds: float) -> Iterator[None]:
    try:
        handle = open(path, "a+")
    except OSError as error:  # no such directory, or one this user cannot write to
        raise WarehouseError(f"the DuckDB file {path[:-5]}: cannot create its lock file: {error.strerror or error}") from None
    try:
        _poll(lambda: _try_flock(handle), wait_seconds, lambda: f"another encord-warehouse command is writing to the DuckDB file {path[:-5]}")
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def wait_for_duckdb_file(engine: Engine, wait_seconds: float, *, waited_seconds: float | None = None,
                         reading: bool = False) -> None:
    """Waits while another process has the engine's DuckDB file open; the pooled connection then keeps it
    open for us. `reading`: the engine opens the file read-only, which only a process that has it open to
    write keeps out. Nothing to wait for on Postgres or in memory."""
    path = _duckdb_file(engine)
    if path is None:
        return
    holder = ""

    def connect() -> bool:
        nonlocal holder
        try:
            engine.connect().close()
        except OperationalError as error:
            if "Could not set lock on file" not in str(error.orig):
                raise
            pid = re.search(r"\(PID \d+\)", str(error.orig))
            holder = f" {pid.group()}" if pid else ""
            return False
        return True

    opened = "open for writing" if reading else "open"
    _poll(connect, wait_seconds, lambda: f"the DuckDB file {path} is {opened} in another process{holder}",
          waited_seconds=waited_seconds, advice="try again once it has closed the file")


def _duckdb_file(engine: Engine) -> str | None:
    """The path of the engine's DuckDB file; None on Postgres or in memory."""
    database = engine.url.database
    return database if engine.dialect.name == "duckdb" and database and database != ":memory:" else None


def _try_flock(handle) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _schema_written(engine: Engine) -> str:
    """The schema the engine's tables are in, however it was named: --schema public and the default
    search_path that resolves to public are one warehouse, with one lock."""
    schema = warehouse_schema(engine)
    if schema is None:
        with engine.connect() as connection:
            schema = connection.scalar(text("SELECT current_schema()"))
    return schema or ""


class LockLost(WarehouseError):
    """The session holding a writer's advisory lock ended while it wrote."""


RECORDS_FAILURE = "records_failure"
"""Execution option of the commit that records a run as failed: it commits without the lock (the run's
own row of sync_runs), so that a run that failed because the server went is recorded as failed."""


@contextmanager
def _advisory_lock(engine: Engine, schema: str, wait_seconds: float) -> Iterator[None]:
    """The lock lives in a session of its own (advisory locks are per database; the key names the schema, so
    warehouses in other schemas do not block). Should that session end before the writer is done (the
    server's idle_session_timeout, pg_terminate_backend, a cut connection), the lock is gone and another
    writer may start: every commit of the writer's engine first checks that the session is alive, and the
    first that finds it gone fails instead of writing beside that other writer."""
    lock_engine, connection = _lock_session(engine)
    keys = [_lock_key(schema)]
    if connection.scalar(text("SELECT current_schema()")) == schema:
        # Releases before 2026-11-29 keyed a run without --schema by "" (not by the schema it resolved to):
        # during a rolling upgrade such a run writes where this one would, and holds that key.
        keys.append(_lock_key(""))

    def acquire() -> bool:
        taken = []
        for key in keys:
            if not connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar():
                for held in taken:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": held})
                return False
            taken.append(key)
        return True

    def check_held(committing) -> None:
        if committing.get_execution_options().get(RECORDS_FAILURE):
            return
        try:
            connection.execute(text("SELECT 1"))
        except Exception as error:  # the session is gone, and its lock with it
            raise LockLost(f"this sync's lock on the Postgres warehouse was lost ({error_line(error)}): stopped "
                           "before writing beside another sync; run it again") from None

    try:
        _poll(acquire, wait_seconds, lambda: "another encord-warehouse command is writing to this Postgres warehouse")
        event.listen(engine, "commit", check_held)
        yield
    finally:
        if event.contains(engine, "commit", check_held):
            event.remove(engine, "commit", check_held)
        _unlock_all(connection)
        connection.close()
        lock_engine.dispose()


def _lock_session(engine: Engine):
    """An engine of its own and its one connection, for a lock held as long as a command runs."""
    lock_engine = create_engine(engine.url, isolation_level="AUTOCOMMIT",
                                connect_args={**POSTGRES_CONNECT_ARGS, **_KEEPALIVES})
    event.listen(lock_engine, "connect", refuse_other_encodings)  # with --schema, the first connection is this one
    connection = lock_engine.connect()
    if connection.dialect.server_version_info >= (14,):  # the session idles for the whole run
        connection.execute(text("SET idle_session_timeout = 0"))
    return lock_engine, connection


RUN_LOCK_SPACE = 0x45575255
"""The first key of the advisory locks that mark runs alive (run_alive), apart from the writer's one-key locks."""


_runs_alive_here: set[str] = set()
"""The runs inside run_alive in this process (two library calls in one process; a Postgres lock session cut while
its run goes on)."""


@contextmanager
def run_alive(engine: Engine, run_id: str) -> Iterator[None]:
    """While the run lives: on Postgres, a session of its own holds a lock keyed by its run_id. extract-frames runs
    overlap there, and nothing else tells a run still going from one whose process was killed (run_is_alive).
    Taken before the run's row is written. DuckDB has one writing process: the run is known to it alone."""
    _runs_alive_here.add(run_id)
    try:
        if engine.dialect.name != "postgresql":
            yield
            return
        lock_engine, connection = _lock_session(engine)
        try:
            connection.execute(text("SELECT pg_advisory_lock(:space, hashtext(:run))"),
                               {"space": RUN_LOCK_SPACE, "run": run_id})
            yield
        finally:
            _unlock_all(connection)
            connection.close()
            lock_engine.dispose()
    finally:
        _runs_alive_here.discard(run_id)


def run_is_alive(connection, run_id: str) -> bool:
    """Whether the run is in run_alive in this process or, on Postgres, in any process that still holds its lock.
    A run whose lock session was cut (pg_terminate_backend) while it goes on elsewhere reads as dead until it ends."""
    if run_id in _runs_alive_here:
        return True
    if connection.dialect.name != "postgresql":
        return False
    key = {"space": RUN_LOCK_SPACE, "run": run_id}
    if not connection.scalar(text("SELECT pg_try_advisory_lock(:space, hashtext(:run))"), key):
        return True
    connection.execute(text("SELECT pg_advisory_unlock(:space, hashtext(:run))"), key)
    return False


def _unlock_all(connection) -> None:
    """Released before the session ends: a closed session's server process lets its locks go only as it exits, after
    the client has gone on, so a command started just after this one could find the warehouse still busy."""
    try:
        connection.execute(text("SELECT pg_advisory_unlock_all()"))
    except Exception:  # the session is gone already, and its lock with it
        pass


def _lock_key(schema: str) -> int:
    return int.from_bytes(hashlib.sha256(f"encord-warehouse:{schema}".encode()).digest()[:8], "big", signed=True)


# A NAT or firewall that drops idle connections would otherwise cut the lock's session mid-run.
_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}


def _poll(try_acquire, wait_seconds: float, busy: Callable[[], str], *, waited_seconds: float | None = None,
          advice: str = "try again later") -> None:
    """Tries until `try_acquire()` or `wait_seconds` have passed, then raises LockBusy with `busy()` as of
    the last try; `waited_seconds` is the whole wait when this is its second part."""
    deadline = time.monotonic() + wait_seconds
    waited_seconds = wait_seconds if waited_seconds is None else waited_seconds
    while not try_acquire():
        if time.monotonic() >= deadline:
            waited = f" after waiting {waited_seconds:g}s" if waited_seconds else ""
            raise LockBusy(f"{busy()}{waited}; {advice}")
        time.sleep(POLL_SECONDS)
