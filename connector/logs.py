"""Log lines for people (text) or schedulers (one JSON object per line), secrets redacted."""

from __future__ import annotations

import json
import logging
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from typing import Iterator

from connector.failures import error_line
from connector.redact import redact

# Attributes every LogRecord has; anything else came in through `extra=` and is a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


_RUN_ID: ContextVar[str | None] = ContextVar("run_id", default=None)


@contextmanager
def logged_as_run(run_id: str) -> Iterator[None]:
    """Records logged meanwhile (a retry, another library's warning) carry `run_id` unless they name one."""
    token = _RUN_ID.set(run_id)
    try:
        yield
    finally:
        _RUN_ID.reset(token)


def event_fields(record: logging.LogRecord) -> dict:
    fields = {key: value for key, value in vars(record).items() if key not in _STANDARD}
    run_id = _RUN_ID.get()
    return fields if run_id is None or "run_id" in fields or "event" not in fields else {**fields, "run_id": run_id}


def _message(record: logging.LogRecord) -> str:
    """The message, redacted; a record that carries an exception (SQLAlchemy logs some) gets its first
    line rather than its traceback."""
    message = redact(record.getMessage())
    return f"{message}: {error_line(record.exc_info[1])}" if record.exc_info and record.exc_info[1] else message


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "message": _message(record),
            **event_fields(record),
        }
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{key}={value}" for key, value in event_fields(record).items() if key != "event")
        stamp = datetime.fromtimestamp(record.created, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        return f"{stamp} {record.levelname.lower():<7} {_message(record)}" + (f"  {fields}" if fields else "")


def setup_logging(log_format: str = "text", level: int = logging.INFO) -> None:
    """Our events at `level`, and other libraries' warnings and errors (SQLAlchemy, the encord SDK) in the
    same format, one line each: without this, Python's last resort prints them with their tracebacks."""
    ours = logging.getLogger("encord_warehouse")
    ours.handlers[:] = [_stderr_handler(logging.StreamHandler, log_format, level)]
    ours.setLevel(level)
    ours.propagate = False
    root = logging.getLogger()
    others = _stderr_handler(_OthersHandler, log_format, logging.WARNING)
    root.handlers[:] = [handler for handler in root.handlers if not isinstance(handler, _OthersHandler)] + [others]


def logging_as_json() -> bool:
    """True under --log-format json (as the latest setup_logging set it)."""
    return any(isinstance(handler.formatter, JsonFormatter) for handler in logging.getLogger("encord_warehouse").handlers)


class _OthersHandler(logging.StreamHandler):
    """The root logger's handler for other libraries' records, told apart from a host's own (pytest's)."""


def _stderr_handler(kind: type[logging.StreamHandler], log_format: str, level: int) -> logging.Handler:
    handler = kind(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.setLevel(level)
    if log_format != "json":
        handler.addFilter(_not_said_twice)
    return handler


def _not_said_twice(record: logging.LogRecord) -> bool:
    """A person reads a failed run's reason in the command's last line; a scheduler reading JSON also gets
    the sync_failed event, with the run id."""
    return getattr(record, "event", None) != "sync_failed"
