"""The `encord-warehouse` command: a thin layer over the library functions of the same names.

Library errors become one-line messages here, and only here.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import click
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from connector import migrate as migrations
from connector import status as warehouse_status
from connector.db import WarehouseError, create_warehouse_engine, default_db_url, memory_cap, safe_url
from connector.failures import error_line
from connector.lock import LockBusy, wait_for_duckdb_file, warehouse_lock
from connector.logs import logging_as_json, setup_logging
from connector.normalize import joined_ranges
from connector.ontology import OntologyError
from connector.redact import redact
from connector.sources.encord import BUNDLE_BYTES, MAX_BUNDLE_SIZE, BranchScope, EncordSourceConfig, EncordSourceError
from connector.sources.export import STDIN, ExportError
from connector.storage_options import is_url, parse_storage_options
from connector.sync import DEFAULT_BATCH_SIZE, ExportSyncConfig, sync_export
from connector.sync_encord import EncordSyncConfig, sync_encord
from connector.workers import WorkerError

MAX_FAILURES_SHOWN = 20
log = logging.getLogger("encord_warehouse.sync")

db_option = click.option(
    "--db", "db_url", default=None, metavar="URL",
    help="SQLAlchemy URL of the warehouse. Default: $ENCORD_WAREHOUSE_DB, else duckdb:///encord.duckdb.",
)
schema_option = click.option(
    "--schema", default=None, metavar="NAME",
    help="Postgres schema to hold the tables (commands that write create it if missing). Default: $ENCORD_WAREHOUSE_SCHEMA, else the search_path.",
)

reader_wait_option = click.option(
    "--wait-for-lock", default=0.0, show_default=True, type=click.FloatRange(0), metavar="SECONDS",
    help="If a process has this DuckDB warehouse open to write (a sync), wait this long for it to close the file: "
         "DuckDB lets no other process read it meanwhile. Postgres readers never wait.",
)


class FrameList(click.ParamType):
    """`10,20,30-40` -> ((10, 10), (20, 20), (30, 40)): inclusive ranges, sorted and merged. Kept as
    ranges, not frames: `0-100000000` is three numbers, not a hundred million."""

    name = "frames"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        ranges: list[tuple[int, int]] = []
        for part in (part.strip() for part in str(value).split(",")):
            low, dash, high = part.partition("-")
            if not low.isdecimal() or (dash and not high.isdecimal()) or (dash and int(high) < int(low)):
                self.fail(f"expected frame numbers or ranges like 10,20,30-40, got {part!r}", param, ctx)
            ranges.append((int(low), int(high) if dash else int(low)))
        return tuple(joined_ranges(ranges))


FRAME_LIST = FrameList()


class UserError(click.ClickException):
    """Printed as one line, exit code 2."""

    exit_code = 2

    def show(self, file=None) -> None:
        show_error(self.message)


_LIMITS = {errno.EMFILE: "the open-files limit (ulimit -n)", errno.ENFILE: "the system's open-files limit",
           errno.ENOSPC: "a full disk", errno.ENOMEM: "the memory limit", errno.EAGAIN: "a limit on processes or threads"}


def _is_a_limit(error: BaseException) -> bool:
    return isinstance(error, (OSError, MemoryError)) or (
        isinstance(error, RuntimeError) and str(error) == "can't start new thread")


def _limit_reached(error: BaseException) -> str:
    """What the machine refused a command (a limit reached, a device full, a directory gone): until 2026-11-30 a
    traceback with exit code 1, the code of a run with failed label rows."""
    if isinstance(error, MemoryError):
        hint = _LIMITS[errno.ENOMEM]
    elif isinstance(error, RuntimeError):  # threading's "can't start new thread"
        hint = _LIMITS[errno.EAGAIN]
    else:
        hint = _LIMITS.get(error.errno)
    line = f"{type(error).__name__}: {error_line(error) or 'out of memory'}"
    return f"{line} ({hint})" if hint else line


def _drop_unwritable_output() -> None:
    """Output that cannot be written (stdout on a full disk) would fail again at exit, in a traceback."""
    try:
        sys.stdout.flush()
    except OSError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _open_closed_standard_streams() -> None:
    """A scheduler may start the command with stdin, stdout or stderr closed (`2>&-`): each is opened on /dev/null
    so that no file the command opens takes its number (the DuckDB lock file took 2, and native messages to stderr
    went into it), and sys.stderr is a stream (until 2026-11-30 `sync` did nothing with stderr closed, silently)."""
    for number, name in enumerate(("stdin", "stdout", "stderr")):
        try:
            os.fstat(number)
        except OSError:
            os.open(os.devnull, os.O_RDONLY if number == 0 else os.O_WRONLY)  # the lowest free number: this one
        if getattr(sys, name) is None:
            setattr(sys, name, open(number, "r" if number == 0 else "w", closefd=False))


def show_error(message: str, event: str = "command_failed") -> None:
    """A one-line reason on stderr, `encord-warehouse: …`; under sync's --log-format json an error event
    instead, so that every line a scheduler reads is JSON."""
    if logging_as_json():
        log.error(message, extra={"event": event})
    else:
        click.echo(f"encord-warehouse: {redact(message)}", err=True)  # as the JSON log's formatter does


@contextmanager
def one_line_errors(db_url: str | None):
    try:
        yield
    except LockBusy as error:
        raise UserError(f"{error} or pass --wait-for-lock SECONDS") from None
    except (ExportError, OntologyError, WarehouseError, EncordSourceError, WorkerError) as error:
        raise UserError(redact(str(error))) from None
    except SQLAlchemyError as error:
        raise UserError(f"warehouse {safe_url(db_url or default_db_url())}: {error_line(error)}") from None


@contextmanager
def command_engine(db_url: str | None, schema: str | None, *, lock_wait: float | None, must_exist: bool = False,
                   read_only: bool = False) -> Iterator[Engine]:
    """A command's engine, disposed at the end: with `must_exist`, a DuckDB path with no file is refused
    before anything is created (the lock file included). A command that writes holds the writer's lock and
    DuckDB's memory cap (db.capped_memory), waiting up to `lock_wait` seconds for the lock (None: it takes
    neither, see frames_cli); one that only reads (`read_only`, as in create_warehouse_engine) opens a DuckDB
    file read-only once no process has it open to write, waiting up to `lock_wait` seconds for that."""
    engine = create_warehouse_engine(db_url, schema, must_exist=must_exist, read_only=read_only)
    try:
        if read_only:
            wait_for_duckdb_file(engine, lock_wait or 0, reading=True)
            with engine.connect() as connection:
                migrations.refuse_other_applications(connection)
            yield engine
        elif lock_wait is None:
            yield engine
        else:
            with warehouse_lock(engine, lock_wait), memory_cap(engine):  # the report after a sync too
                yield engine
    finally:
        engine.dispose()


class Stopped(BaseException):
    """SIGTERM (a scheduler stopping the job) or Ctrl-C: unwinds, so the open transaction rolls back and
    the run is recorded as failed instead of staying 'running' until the next run closes it. Not
    KeyboardInterrupt, which click catches to print an empty line first (not JSON under --log-format json)."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__("terminated (SIGTERM)" if signum == signal.SIGTERM else "interrupted (Ctrl-C)")


_received_stops: list[int] = []
"""The signal that stopped the command, once one has: the handler ignores any after it."""


def _stop_if_received(error: BaseException) -> None:
    """Raise Stopped for an error that a stop turned into another on its way: DuckDB replaces what a signal handler
    raises during a query with RuntimeError('Query interrupted') (state.py)."""
    if _received_stops and not isinstance(error, Stopped):
        raise Stopped(_received_stops[0]) from error


@contextmanager
def _stops_unwind() -> Iterator[None]:
    _received_stops.clear()
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return

    def stop(signum, frame):
        for each in (signal.SIGTERM, signal.SIGINT):  # a second one must not cut the rollback short
            signal.signal(each, signal.SIG_IGN)
        _received_stops.append(signum)
        raise Stopped(signum)

    previous = {each: signal.signal(each, stop) for each in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    except BaseException as error:
        _stop_if_received(error)
        raise
    finally:
        for each, handler in previous.items():
            signal.signal(each, handler)


class Commands(click.Group):
    """The command group; usage errors print one line (what is wrong), not a usage screen."""

    def main(self, args=None, *rest, **kwargs):
        _open_closed_standard_streams()
        # `sync` logs its events: it sets this again with its --log-format. Set here too, a usage error
        # (a bad option value, found before the command runs) is then a JSON line under --log-format json.
        setup_logging(_asked_log_format(sys.argv[1:] if args is None else list(args)), level=logging.WARNING)
        if not kwargs.get("standalone_mode", True):
            return super().main(args, *rest, **kwargs)
        try:
            with _stops_unwind():
                outcome = super().main(args, *rest, **{**kwargs, "standalone_mode": False})
        except Stopped as stopped:
            show_error(str(stopped) if stopped.signum == signal.SIGTERM else "aborted")
            sys.exit(128 + stopped.signum)
        except click.exceptions.NoArgsIsHelpError as error:  # the bare command: its help is the answer, not an error line
            click.echo(error.format_message(), err=True)
            sys.exit(error.exit_code)
        except click.UsageError as error:
            show_error(f"{error.format_message()} (see --help)")
            sys.exit(error.exit_code)
        except click.ClickException as error:
            show_error(error.format_message())
            sys.exit(error.exit_code)
        except click.Abort:
            show_error("aborted")
            sys.exit(130)
        except (OSError, MemoryError, RuntimeError) as error:
            if not _is_a_limit(error):
                raise
            show_error(_limit_reached(error))
            _drop_unwritable_output()
            sys.exit(2)
        # Without standalone mode click returns an Exit's code instead of exiting.
        sys.exit(outcome if isinstance(outcome, int) else 0)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except BrokenPipeError:  # `encord-warehouse sync | head`: the reader left; what the command did stands
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush at exit
            raise click.exceptions.Exit(128 + signal.SIGPIPE) from None  # as a shell shows a pipe's end


def _asked_log_format(args: list[str]) -> str:
    for at, arg in enumerate(args):
        if arg == "--":
            break
        if arg.startswith("--log-format="):
            return arg.split("=", 1)[1]
        if arg == "--log-format" and at + 1 < len(args):
            return args[at + 1]
    return "text"


@click.group(cls=Commands)
@click.version_option(package_name="encord-warehouse")
def cli() -> None:
    """Sync Encord labels into DuckDB or Postgres.

    \b
    Example:
        encord-warehouse sync --from-export examples/sample_export.json --ontology examples/ontology.json
        encord-warehouse status
    """


@cli.command()
@db_option
@schema_option
@click.option("--wait-for-lock", default=0.0, show_default=True, type=click.FloatRange(0), metavar="SECONDS",
              help="If a sync is writing to this warehouse, wait this long for it (tables never change under a sync).")
def migrate(db_url: str | None, schema: str | None, wait_for_lock: float) -> None:
    """Create or upgrade the warehouse tables and views.

    \b
    Example:
        encord-warehouse migrate --db postgresql://user@localhost/warehouse --schema encord
    """
    with one_line_errors(db_url), command_engine(db_url, schema, lock_wait=wait_for_lock) as engine:
        migrations.upgrade(engine)
        click.echo(f"warehouse at revision {migrations.current_revision(engine)}")


@cli.command()
@db_option
@schema_option
@click.option("--from-export", "export_path", metavar="PATH",
              help="A JSON array of label rows (Encord's 'Export labels as JSON'), JSON Lines, or a directory "
                   "(with subdirectories) of them; gzip-compressed too; - reads standard input; a URL "
                   "(s3://bucket/exports/) reads through fsspec.")
@click.option("--project-hash", default="export", show_default=True, help="With --from-export: the project the rows belong to.")
@click.option("--ontology", "ontology_path", default=None, metavar="PATH", help="With --from-export: OntologyStructure.to_dict() JSON.")
@click.option("--storage-option", "storage_options", multiple=True, metavar="KEY=VALUE",
              help="With --from-export or --ontology URL: fsspec option, e.g. endpoint_url=http://127.0.0.1:9000 "
                   "(repeatable).")
@click.option("--delete-missing", is_flag=True,
              help="With --from-export: the export holds every label row of the project; remove stored ones it lacks "
                   "(not when part of it cannot be read).")
@click.option("--project", "project", metavar="HASH", help="Sync this Encord project through the API.")
@click.option("--ssh-key-file", envvar="ENCORD_SSH_KEY_FILE", metavar="PATH",
              help="Private key for the Encord API. Default: $ENCORD_SSH_KEY_FILE, else the key text in $ENCORD_SSH_KEY.")
@click.option("--domain", envvar="ENCORD_DOMAIN", metavar="URL", help="Encord API URL (other regions, tests). Default: $ENCORD_DOMAIN.")
@click.option("--all-branches", is_flag=True, help="Sync every consensus branch, not only main.")
@click.option("--branch", "branch_name", metavar="NAME", help="Sync this one branch instead of main.")
@click.option("--title", metavar="TITLE", help="Only the data unit with this exact title.")
@click.option("--label-status", "label_statuses", multiple=True, metavar="STATUS",
              help="Only rows in this annotation task status (QUEUED, ASSIGNED, IN_REVIEW, RETURNED, COMPLETED); repeatable.")
@click.option("--workflow-stage", metavar="TITLE", help="Only rows in this workflow stage.")
@click.option("--bundle-size", default=MAX_BUNDLE_SIZE, show_default=True, type=click.IntRange(1, MAX_BUNDLE_SIZE),
              help="Label rows per fetch request, at most.")
@click.option("--bundle-mb", default=BUNDLE_BYTES / 2**20, show_default=True, type=click.FloatRange(0, min_open=True),
              metavar="MB", help="Label JSON per fetch request, about: fewer rows when they are large (the SDK "
                                 "holds a request's rows in memory at once, several times this).")
@click.option("--overlap", default="5m", show_default=True, metavar="DURATION",
              help="Incremental listings look back this far before the cursor.")
@click.option("--full-listing-every", default=1, show_default=True, type=click.IntRange(1),
              help="Every Nth run lists all rows (no labels) to find deletions.")
@click.option("--keep-deleted", is_flag=True, help="Mark rows deleted in Encord (or missing from a --delete-missing "
              "export) with deleted_at instead of removing them.")
@click.option("--signed-urls", is_flag=True, help="Store signed data links (for extract-frames --use-data-link).")
@click.option("--max-retries", default=5, show_default=True, type=click.IntRange(0), help="Retries of a failing API call.")
@click.option("--retry-backoff", default=1.0, show_default=True, type=click.FloatRange(0), metavar="SECONDS",
              help="First wait between retries; it doubles each time (a 429's Retry-After wins).")
@click.option("--batch-size", default=DEFAULT_BATCH_SIZE, show_default=True, type=click.IntRange(1, 100_000),
              help="Label rows per transaction.")
@click.option("--full-refresh", is_flag=True, help="Fetch and rewrite every label row, even unchanged ones.")
@click.option("--workers", type=click.IntRange(0), metavar="N",
              help="Processes that normalize label rows in a large sync, at most (0: none). Default: one per core "
                   "(--project: one per core but one, which the Encord SDK keeps busy).")
@click.option("--every", metavar="DURATION", help="Keep running: sync, then again every DURATION (15m, 1h, 30s).")
@click.option("--max-runs", type=click.IntRange(1), help="With --every: stop after this many runs.")
@click.option("--wait-for-lock", default=0.0, show_default=True, type=click.FloatRange(0), metavar="SECONDS",
              help="If another command (a sync, migrate, rebuild, optimize) is writing to this warehouse, wait this long for it.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Log lines on stderr: text, or one JSON object per line for schedulers.")
def sync(**options) -> None:
    """Sync label rows into the warehouse (migrates first): from Encord, or from export files.

    \b
    Examples:
        encord-warehouse sync --project 1f2e3d4c-… --ssh-key-file ~/.ssh/encord --every 15m
        encord-warehouse sync --project 1f2e3d4c-… --all-branches --log-format json
        encord-warehouse sync --from-export export.json --project-hash 1f2e… --ontology ontology.json
    """
    setup_logging(options["log_format"])
    if bool(options["export_path"]) == bool(options["project"]):
        raise UserError("give either --from-export PATH or --project HASH")
    _refuse_options_of_the_other_source(click.get_current_context(), bool(options["export_path"]))
    period_s = _period(options["every"], options["max_runs"])
    if period_s is not None and options["export_path"] == STDIN:  # the first run reads it to its end
        raise UserError("--every cannot read standard input again: give --from-export a file or directory")
    run_once = _export_sync_run(options) if options["export_path"] else _encord_sync_run(options)
    if period_s is None:
        run_once()
        return
    _repeat(run_once, period_s, options["max_runs"])


def _period(every: str | None, max_runs: int | None) -> float | None:
    """--every in seconds; None for a single run."""
    if every is None:
        if max_runs is not None:
            raise UserError("--max-runs applies only with --every DURATION")
        return None
    period_s = parse_duration(every)
    if period_s <= 0:  # 0s would start run after run with no pause, a failing one included
        raise UserError(f"--every must be longer than 0s, got {every!r}")
    return period_s


ENCORD_ONLY_OPTIONS = ("ssh_key_file", "domain", "all_branches", "branch_name", "title", "label_statuses",
                       "workflow_stage", "bundle_size", "bundle_mb", "overlap", "full_listing_every",
                       "signed_urls", "max_retries", "retry_backoff")
EXPORT_ONLY_OPTIONS = ("project_hash", "ontology_path", "delete_missing", "storage_options")


def _refuse_options_of_the_other_source(ctx: click.Context, from_export: bool) -> None:
    """An option typed on the command line that the chosen source would ignore is a mistake worth
    saying (a --title with --from-export filters nothing). Values from the environment are not."""
    other = ENCORD_ONLY_OPTIONS if from_export else EXPORT_ONLY_OPTIONS
    for param in ctx.command.params:
        if param.name in other and ctx.get_parameter_source(param.name) is click.core.ParameterSource.COMMANDLINE:
            applies_to = "--project" if from_export else "--from-export"
            raise UserError(f"{param.opts[0]} applies to {applies_to} syncs only")


def _export_sync_run(options):
    if options["keep_deleted"] and not options["delete_missing"]:  # an export sync deletes nothing without it
        raise UserError("--keep-deleted applies to --from-export syncs with --delete-missing only")
    if options["storage_options"] and not any(is_url(path or "") for path in (options["export_path"], options["ontology_path"])):
        raise UserError("--storage-option applies only when --from-export or --ontology is a URL (s3://…)")
    config = ExportSyncConfig(
        options["export_path"], options["project_hash"], options["ontology_path"], batch_size=options["batch_size"],
        full_refresh=options["full_refresh"], workers=options["workers"], delete_missing=options["delete_missing"],
        keep_deleted=options["keep_deleted"], storage_options=_storage_options(options["storage_options"]))
    return lambda: _run_locked(options, lambda engine, progress: sync_export(engine, config, on_progress=progress))


def _storage_options(pairs) -> dict:
    try:
        return parse_storage_options(pairs)
    except ValueError as error:
        raise UserError(str(error)) from None


def _encord_sync_run(options):
    if options["all_branches"] and options["branch_name"]:
        raise UserError("--all-branches and --branch NAME cannot be combined")
    if options["domain"] and not options["domain"].startswith(("https://", "http://")):
        raise UserError(f"--domain must be a URL such as https://api.us.encord.com, got {options['domain']!r}")
    source = EncordSourceConfig(
        project_hash=options["project"], ssh_key=_read_ssh_key(options["ssh_key_file"]), domain=options["domain"],
        scope=BranchScope(options["all_branches"], options["branch_name"]), bundle_size=options["bundle_size"],
        bundle_bytes=max(1, int(options["bundle_mb"] * 2**20)),
        title=options["title"], label_statuses=_statuses(options["label_statuses"]),
        workflow_stage=options["workflow_stage"], signed_urls=options["signed_urls"], max_retries=options["max_retries"],
        backoff_seconds=options["retry_backoff"],
    )
    config = EncordSyncConfig(
        source, overlap=timedelta(seconds=parse_duration(options["overlap"])),
        full_listing_every=options["full_listing_every"], full_refresh=options["full_refresh"],
        keep_deleted=options["keep_deleted"], batch_size=options["batch_size"], workers=options["workers"],
    )
    return lambda: _run_locked(options, lambda engine, progress: sync_encord(engine, config, on_progress=progress))


def _run_locked(options, run) -> None:
    db_url, schema = options["db_url"], options["schema"]
    with one_line_errors(db_url), command_engine(db_url, schema, lock_wait=options["wait_for_lock"]) as engine:
        with progress_bar("sync", " rows") as bar:
            result = run(engine, bar.update if bar is not None else None)  # a tqdm without a total has no truth value
        _report_sync(engine, result)


def _repeat(run_once, period_s: float, max_runs: int | None) -> None:
    """Run, then again every period, until max_runs or a stop; one failed run does not stop it.
    SIGTERM or Ctrl-C during a run unwinds it as in a single run (batch rolled back, run recorded as
    failed, exit 143/130): a scheduler's grace period (docker stop: 10 s) is no time to finish a large
    run. During the wait between runs it ends the loop, exit 0; after max_runs, the last run's exit code."""
    runs = 0
    while True:
        started = time.monotonic()
        exit_code = 0
        try:
            run_once()
        except click.ClickException as failed:
            show_error(failed.format_message(), "run_failed")
            exit_code = failed.exit_code
        except click.exceptions.Exit as partial:
            exit_code = partial.exit_code
        except Exception as failed:  # not foreseen, or a limit the machine sets: one line, and the schedule goes on
            _stop_if_received(failed)  # unless a stop came as this error: the handler ignores any later one
            limit = _is_a_limit(failed)
            show_error(_limit_reached(failed) if limit else f"{type(failed).__name__}: {error_line(failed)}", "run_failed")
            exit_code = 2 if limit else 1
        runs += 1
        if max_runs is not None and runs >= max_runs:
            if exit_code:
                raise click.exceptions.Exit(exit_code)
            return
        try:  # a stop anywhere in here, the log line included, ends the loop cleanly
            wait = max(0.0, started + period_s - time.monotonic())
            log.info("waiting for the next run", extra={"event": "next_run", "in_s": round(wait, 1)})
            time.sleep(wait)
        except (Stopped, KeyboardInterrupt):
            return


def _read_ssh_key(path: str | None) -> str:
    if path:
        try:
            return Path(path).expanduser().read_text()
        except OSError as error:
            raise UserError(f"cannot read the SSH key file {path}: {error.strerror or error}") from None
        except UnicodeDecodeError:  # a binary (DER) key
            raise UserError(f"the SSH key file {path} is not text: it is not an OpenSSH private key") from None
    key = os.environ.get("ENCORD_SSH_KEY")
    if not key:
        raise UserError("no Encord SSH key: pass --ssh-key-file, or set $ENCORD_SSH_KEY_FILE or $ENCORD_SSH_KEY")
    return key


def _statuses(values: tuple[str, ...]) -> tuple[str, ...]:
    from encord.orm.label_row import AnnotationTaskStatus

    known = {status.name for status in AnnotationTaskStatus}
    for value in values:
        if value.upper() not in known:
            raise UserError(f"unknown --label-status {value!r}: choose from {', '.join(sorted(known))}")
    return tuple(value.upper() for value in values)


def parse_duration(text: str) -> float:
    """'90' or '90s', '15m', '2h', '1h30m' -> seconds."""
    parts = re.fullmatch(r"\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*", text or "")
    if not text or not parts or not any(parts.groups()):
        raise UserError(f"cannot read the duration {text!r}: use e.g. 30s, 15m, 1h")
    hours, minutes, seconds = (float(value or 0) for value in parts.groups())
    return hours * 3600 + minutes * 60 + seconds


@cli.command()
@db_option
@schema_option
@click.option("--runs", type=click.IntRange(0, 2**63 - 1), default=10, show_default=True,
              help="How many recent runs to show (0: the row counts only, no runs, export files or open problems).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: one document for monitoring (runs with every sync_runs column, export files read, open problems, row counts).")
@reader_wait_option
def status(db_url: str | None, schema: str | None, runs: int, output_format: str, wait_for_lock: float) -> None:
    """Show the last sync runs, the export files read, the open problems and the row count of each label,
    ontology and frames table.

    \b
    Example:
        encord-warehouse status --db duckdb:///encord.duckdb
        encord-warehouse status --format json --runs 1 | jq -r '.runs[0].status'
    """
    with one_line_errors(db_url), command_engine(db_url, schema, read_only=True, lock_wait=wait_for_lock) as engine:
        recent = warehouse_status.recent_runs(engine, runs) if runs else None
        exports = warehouse_status.export_reads(engine) if runs else []
        problems = warehouse_status.open_problem_count(engine) if runs else None
        counts = warehouse_status.row_counts(engine)
    if output_format == "json":
        click.echo(json.dumps(warehouse_status.status_document(recent, counts, exports, problems), indent=1))
    else:
        click.echo(warehouse_status.format_status(recent, counts, exports, problems))


def _report_sync(engine, result) -> None:
    stats = result.stats
    click.echo(
        f"run {result.run_id}: {stats.listed} listed, {stats.fetched} fetched, {stats.inserted} inserted, "
        f"{stats.updated} updated, {stats.unchanged} unchanged, {stats.deleted} deleted, {stats.failed} failed"
        + (f", {stats.vanished} vanished (deleted in Encord since the listing)" if stats.vanished else "")
    )
    click.echo(warehouse_status.format_counts(warehouse_status.row_counts(engine)))
    if result.failures:
        for failure in result.failures[:MAX_FAILURES_SHOWN]:
            if logging_as_json():
                log.error(str(failure), extra={"event": "row_failed", "run_id": result.run_id,
                                               "label_hash": failure.label_hash, "source": failure.source,
                                               "field": failure.field})
            else:
                click.echo(f"error: {failure}", err=True)
        show_error(_partial_summary(stats.failed, stats.listed, result.run_id), "sync_partial")
        raise click.exceptions.Exit(1)


def _partial_summary(failed: int, listed: int, run_id: str) -> str:
    recorded = f"recorded in sync_errors (run {run_id})"
    if failed < listed:
        return f"{failed} of {listed} label rows failed and are {recorded}; the rest loaded"
    if failed == 1:
        return f"the one label row failed and is {recorded}"
    return f"all {failed} label rows failed and are {recorded}"


@contextmanager
def progress_bar(desc: str, unit: str):
    """A tqdm bar on a terminal, else None (schedulers get log lines instead; JSON logs, only JSON)."""
    if not sys.stderr.isatty() or logging_as_json():
        yield None
        return
    from tqdm import tqdm

    with tqdm(unit=unit, desc=desc, file=sys.stderr) as bar:
        yield bar


# Commands defined beside their feature register here, one line each.
from connector import labels_cli  # noqa: E402,F401  (registers `labels`)
from connector import rebuild_cli  # noqa: E402,F401  (registers `rebuild`)
from connector import optimize_cli  # noqa: E402,F401  (registers `optimize`)
from connector import frames_cli  # noqa: E402,F401  (registers `extract-frames`)


def main() -> None:
    cli(prog_name="encord-warehouse")
