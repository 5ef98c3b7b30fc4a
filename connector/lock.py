"""One writer per warehouse: a Postgres advisory lock, or a lock file beside the DuckDB file.

A second sync started while one runs waits up to `wait_seconds`, then gives up with a
clear message; it never interleaves with the first.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import URL, Engine, create_engine, text

from connector.db import WarehouseError, warehouse_schema

POLL_SECONDS = 0.2


class LockBusy(Exception):
    """Another process holds the warehouse lock. The message names no command-line flag: a library caller
    has none (the CLI adds its --wait-for-lock)."""


@contextmanager
def warehouse_lock(engine: Engine, wait_seconds: float = 0) -> Iterator[None]:
    """Held by every command that writes; a program that syncs through the library holds it the same way."""
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine.url, warehouse_schema(engine), wait_seconds):
            yield
    elif engine.url.database and engine.url.database != ":memory:":
        with _file_lock(engine.url.database + ".lock", wait_seconds):
            yield
    else:
        yield


@contextmanager
def _file_lock(path: str, wait_seconds: float) -> Iterator[None]:
    try:
        handle = open(path, "a+")
    except OSError as error:  # no such directory, or one this user cannot write to
        raise WarehouseError(f"the DuckDB file {path[:-5]}: cannot create its lock file: {error.strerror or error}") from None
    try:
        _poll(lambda: _try_flock(handle), wait_seconds, f"the DuckDB file {path[:-5]}")
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def _try_flock(handle) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextmanager
def _advisory_lock(url: URL, schema: str | None, wait_seconds: float) -> Iterator[None]:
    # The lock key names the database and schema, so warehouses in other schemas do not block.
    key = int.from_bytes(hashlib.sha256(f"encord-warehouse:{schema or ''}".encode()).digest()[:8], "big", signed=True)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    connection = engine.connect()

    def acquire() -> bool:
        return connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()

    try:
        _poll(acquire, wait_seconds, "this Postgres warehouse")
        yield
    finally:
        connection.close()  # ends the session, which releases the lock
        engine.dispose()


def _poll(try_acquire, wait_seconds: float, what: str) -> None:
    deadline = time.monotonic() + wait_seconds
    while not try_acquire():
        if time.monotonic() >= deadline:
            waited = f" after waiting {wait_seconds:g}s" if wait_seconds else ""
            raise LockBusy(f"another sync is writing to {what}{waited}; try again later")
        time.sleep(POLL_SECONDS)
