"""`encord-warehouse extract-frames`: labeled video frames from the warehouse to storage.

Per video: claim it (Postgres: its data_units row, FOR UPDATE SKIP LOCKED, held until the video
is recorded, so several workers on one or many machines never do the same video at once),
look up which wanted frames `extracted_frames` already holds for this video's current content
(and are still at the destination: one listing of the video's folder),
extract the rest with ffmpeg (a process per pass, video.py), write the images and the video's manifest, and
only then record the rows and commit. A crash at any point leaves objects that are not
recorded (re-done next run), never a recorded frame whose object is missing. With `prune`, the
images no longer labeled or never recorded go afterwards (prune.py).

Work runs in `workers` processes; the process that calls extract_frames does all database
access (DuckDB allows one writing process), the pool only probes, decodes and uploads.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from connector import migrate
from connector.crashpoint import crash_point
from connector.db import capped_memory
from connector.failures import RowFailure, error_line
from connector.lock import run_alive
from connector.redact import redact
from connector.resolve import FRAMES_SOURCE, RunDid, resolve_problems
from connector.state import (RunStats, finish_run, raise_interrupt_as_such, record_failed_run, record_failures,
                             start_run, utc_now)
from connector.storage_options import CREDENTIALS_IN_URL, has_credentials
from connector.workers import WorkerPool

from . import warehouse
from .manifest import write_manifest
from .extract import FORMATS, ExtractError
from .probe import ProbeError, hide_source, probe
from .prune import prune
from .sources import VideoNotFound, check_media_root, open_video
from .storage import Destination, UnsafePath, check_protocol, frame_key, frame_name, video_folder
from .video import FrameRecord, extract_video

MAX_EXPLICIT_FRAMES = 1_000_000
"""Most frames `frames` or `start`..`end` may select per video (each is a number held in memory)."""


@dataclass
class ExtractFramesConfig:
    """`encord-warehouse extract-frames`."""

    dest: str
    """Where images go: a folder, file://..., or s3://bucket/prefix. Layout:
    {dest}/{project_hash}/{data_hash}/{frame:06d}.{format} plus manifest.jsonl per video."""
    media_root: str | None = None
    """Folder or URL (file://, s3://, http(s)://) holding the videos, found by data_title,
    else data_hash, else data_hash + the title's extension."""
    use_data_link: bool = False
    """Read each video from the data_link stored at sync time (a signed URL) instead."""
    fmt: str = "jpg"
    """Image format: jpg, png or webp."""
    quality: int | None = None
    """1 (smallest) .. 100 (best) for jpg and webp; png is lossless. Default 90."""
    titles: tuple[str, ...] = ()
    """Only videos with these data titles."""
    project_hash: str | None = None
    """Only this project."""
    branch: str | None = None
    """Only frames labeled on this branch ('main', an annotator branch); default all branches."""
    frames: tuple[int, ...] | None = None
    """Exactly these frame numbers of each selected video, labeled or not."""
    start: int | None = None
    """With `end`: every frame start..end (inclusive) of each selected video, labeled or not."""
    end: int | None = None
    workers: int = 1
    """Processes probing, decoding and uploading in parallel on this machine."""
    storage_options: dict = field(default_factory=dict)
    """fsspec options for dest and media root (e.g. endpoint_url, key, secret)."""
    overwrite: bool = False
    """Extract again even frames already recorded for the same video content."""
    prune: bool = False
    """Also remove from dest, with their extracted_frames rows, the images of frames no longer
    labeled and of videos gone from the warehouse, and frame images no row records (after
    extracting). Every video's labeled frames are then what dest holds: not with titles, branch,
    frames or start..end."""
    seek_cost: int = 30
    """Planner: decoded frames one seek is worth (see plan.py)."""
    max_segments: int = 8
    """Planner: most seek segments (decoders) in one ffmpeg process."""

    def __post_init__(self) -> None:
        if self.fmt not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}")
        if self.quality is not None and not 1 <= self.quality <= 100:
            raise ValueError("quality must be between 1 and 100")
        if self.frames is not None and (self.start is not None or self.end is not None):
            raise ValueError("give either frames or a start..end range, not both")
        if (self.start is None) != (self.end is None):
            raise ValueError("give both start and end")
        if self.start is not None and not 0 <= self.start <= self.end:
            raise ValueError("the range needs 0 <= start <= end")
        if self.start is not None and self.end - self.start + 1 > MAX_EXPLICIT_FRAMES:
            raise ValueError(f"--start/--end select {self.end - self.start + 1:,} frames per video; "
                             f"at most {MAX_EXPLICIT_FRAMES:,} per run")
        if self.prune and (self.titles or self.branch or self.frames is not None or self.start is not None):
            raise ValueError("prune keeps exactly the labeled frames of every video: it takes no titles, branch, "
                             "frames or start..end")
        if self.workers < 1:
            raise ValueError("workers must be >= 1")
        if not self.use_data_link and not self.media_root:
            raise ValueError("give a media root, or use the stored data links")
        if self.use_data_link and self.media_root:
            raise ValueError("give a media root or use the stored data links, not both")
        for url in (self.dest, self.media_root or ""):
            if has_credentials(url):
                raise ValueError(f"{redact(url)}: {CREDENTIALS_IN_URL}")
        if self.dest.startswith(("http://", "https://")):
            raise ValueError(f"{redact(self.dest)}: frames are written to a folder or an object store "
                             "(s3://bucket/prefix), not to an http(s) URL")
        check_protocol(self.dest)
        if self.media_root and not self.media_root.startswith(("http://", "https://")):  # ffmpeg reads those
            check_protocol(self.media_root)
        # the dest string keys extracted_frames: one spelling per place
        self.dest = self.dest.rstrip("/") or self.dest
        if "://" not in self.dest:
            self.dest = os.path.abspath(self.dest)

    def explicit_frames(self) -> tuple[int, ...] | None:
        if self.frames is not None:
            return tuple(sorted(set(self.frames)))
        if self.start is not None:
            return tuple(range(self.start, self.end + 1))
        return None


@dataclass
class ExtractFramesResult:
    run_id: str
    videos: int = 0
    """Videos looked at (claimed by this run)."""
    busy: int = 0
    """Videos skipped because another worker held them (by the extraction, then by the prune)."""
    written: int = 0
    """Images written by this run."""
    skipped: int = 0
    """Wanted frames already extracted from the same video content."""
    pruned: int = 0
    """Images removed: their frames are no longer labeled, or no row recorded them (`prune`)."""
    failed: int = 0
    """Videos with a problem; `failures` holds each problem (a video may have several)."""
    failures: list[RowFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class _Task:
    work: warehouse.VideoWork
    done: dict
    config: ExtractFramesConfig
    scratch: str | None = None
    """A pool process's temporary folder (_scratch)."""


@dataclass
class _Outcome:
    fingerprint: str | None = None
    records: list[FrameRecord] = field(default_factory=list)
    skipped: int = 0
    stale: list[int] = field(default_factory=list)
    """Recorded frames of another version of the video that this one does not reach: their images go."""
    errors: list[tuple[str, str]] = field(default_factory=list)
    """(field, reason) per problem with this video."""


@capped_memory
def extract_frames(engine: Engine, config: ExtractFramesConfig,
                   on_progress: Callable[[int, int], None] | None = None) -> ExtractFramesResult:
    """Extract the configured frames; returns counts and the per-video failures.
    `on_progress(videos_done, videos_total)` is called once before and after each video."""
    Destination(config.dest, config.storage_options).check()  # a bad dest or media root fails before any work
    if config.media_root:
        check_media_root(config.media_root, config.storage_options)
    migrate.upgrade(engine, synced_only=True)
    run_id = str(uuid.uuid4())
    with run_alive(engine, run_id):
        start_run(engine, FRAMES_SOURCE, config.project_hash, run_id=run_id)
        return _run(engine, config, ExtractFramesResult(run_id), on_progress)


def _run(engine: Engine, config: ExtractFramesConfig, result: ExtractFramesResult,
         on_progress: Callable[[int, int], None] | None) -> ExtractFramesResult:
    """The job, its run recorded in sync_runs as it ends."""
    run_id = result.run_id
    try:
        with engine.connect() as connection:
            work = warehouse.list_work(connection, config)
        progress = _Progress(on_progress, len(work))
        if config.workers == 1:
            for item in work:
                _one(engine, config, item, result)
                progress.step()
        else:  # plain child processes, as a sync's (connector/workers.py), at the job's own priority
            with _scratch() as scratch, WorkerPool(config.workers, niceness=0, own_process_groups=True) as pool:
                try:
                    _pooled(engine, config, work, result, pool, progress, scratch)
                except BaseException:  # stopped (SIGTERM, Ctrl-C) or failed: the videos in flight end now
                    pool.abort()
                    raise
        if config.prune:
            pruned, busy = prune(engine, Destination(config.dest, config.storage_options), config.project_hash)
            result.pruned += pruned
            result.busy += busy
    except BaseException as error:
        record_failed_run(engine, run_id, _stats(result), error)
        raise_interrupt_as_such(error)
        raise
    finish_run(engine, run_id, _stats(result), "partial" if result.failures else "succeeded")
    return result


class _Progress:
    def __init__(self, callback, total: int):
        self.callback, self.total, self.done = callback, total, 0
        if callback:
            callback(0, total)

    def step(self) -> None:
        self.done += 1
        if self.callback:
            self.callback(self.done, self.total)


def _one(engine, config, work, result) -> None:
    """One video in this process, inside its claim's transaction."""
    with engine.connect() as connection:  # closing it rolls back what was not committed
        txn = connection.begin()
        if not warehouse.claim(connection, work):
            txn.rollback()
            result.busy += 1
            return
        done = warehouse.extracted(connection, config.dest, config.fmt, work)
        _conclude(connection, txn, config, work, process_video(_Task(work, done, config)), result)


def _scratch():
    """The pool's temporary folder, which the job removes: a stop kills the pool processes with their videos in
    flight, and their own temporary folders of images stayed behind (until 2026-11-30)."""
    return tempfile.TemporaryDirectory(prefix="encord-frames-", ignore_cleanup_errors=True)


def _pooled(engine, config, work, result, pool, progress, scratch: str) -> None:
    """Up to `workers` videos in flight, each claimed in its own open transaction; results
    are recorded in claim order."""
    pending: list[tuple[warehouse.VideoWork, object, object, Future]] = []
    queue = list(work)
    try:
        while queue or pending:
            while queue and len(pending) < config.workers:
                item = queue.pop(0)
                connection = engine.connect()
                txn = connection.begin()
                if not warehouse.claim(connection, item):
                    txn.rollback()
                    connection.close()
                    result.busy += 1
                    progress.step()
                    continue
                done = warehouse.extracted(connection, config.dest, config.fmt, item)
                task = _Task(item, done, config, scratch)
                pending.append((item, connection, txn, pool.submit(process_video, task)))
            if not pending:
                break
            item, connection, txn, future = pending[0]
            _conclude(connection, txn, config, item, future.result(), result)
            connection.close()
            pending.pop(0)
            progress.step()
    finally:
        for _item, connection, txn, future in pending:  # after an error: release the claims
            future.cancel()
            txn.rollback()
            connection.close()


def _conclude(connection, txn, config, work, outcome: _Outcome, result: ExtractFramesResult) -> None:
    """The video's outcome recorded in its claim's transaction, committed; when the destination fails
    (_DestinationFailed), that transaction is rolled back and the failure recorded in one of its own."""
    try:
        _finish(connection, config, work, outcome, result)
        crash_point("frames")
        txn.commit()
    except _DestinationFailed as failed:
        txn.rollback()
        with connection.begin():
            _record_outcome(connection, work, outcome, result, [failed.error])


def process_video(task: _Task) -> _Outcome:
    """Probe, decide, extract and upload one video. Runs in a worker process; no database."""
    work, config = task.work, task.config
    if task.scratch:  # a pool process does nothing else: its temporary files go where the job removes them
        tempfile.tempdir = task.scratch
    outcome = _Outcome()
    dest = Destination(config.dest, config.storage_options)
    try:
        dest.path(video_folder(work.project_hash, work.data_hash))  # a hash that cannot name its folder: before reading
        with _open(config, work) as source:
            info = probe(source)
            outcome.fingerprint = info.fingerprint
            done = {} if config.overwrite else _still_stored(dest, work, task.done, config.fmt)
            todo = [f for f in work.frames if done.get(f) != info.fingerprint]
            outcome.skipped = len(work.frames) - len(todo)
            if not todo:
                return outcome
            dest.remove_leftovers(f"{work.project_hash}/{work.data_hash}")
            video = extract_video(source, todo, dest, work.project_hash, work.data_hash,
                                  fmt=config.fmt, quality=config.quality, info=info,
                                  seek_cost=config.seek_cost, max_segments=config.max_segments)
            outcome.records = video.frames
            outcome.stale = [f for f in video.out_of_range if task.done.get(f, info.fingerprint) != info.fingerprint]
            if video.out_of_range:
                outcome.errors.append(("frame", f"past the end of the video "
                                                f"({info.frame_count} frames): "
                                                f"{_listing(video.out_of_range)}"))
            if video.missing:
                outcome.errors.append(("frame", "not decodable (truncated or corrupt "
                                                f"video): {_listing(video.missing)}"))
    except UnsafePath as error:
        outcome.errors.append(("data_title", f"{error}; video skipped"))
    except VideoNotFound as error:
        outcome.errors.append(("video", str(error)))
    except (ProbeError, ExtractError) as error:
        outcome.errors.append(("video", f"cannot read the video: {error}"))
    except OSError as error:  # storage: permissions, network, S3 errors from s3fs
        outcome.errors.append(("dest", f"cannot write frames: {error}"))
    except Exception as error:  # one bad video never stops the others
        outcome.errors.append(("video", redact(hide_source(f"{type(error).__name__}: {error}",
                                                      work.data_link or ""))))
    return outcome


def _still_stored(dest: Destination, work: warehouse.VideoWork, done: dict, fmt: str) -> dict:
    """The recorded frames whose image is still at the destination: one deleted there (by hand,
    by an S3 lifecycle rule) is written again instead of being trusted to the record."""
    if not done:
        return done
    stored = dest.names_in(f"{work.project_hash}/{work.data_hash}")
    return {frame: fingerprint for frame, fingerprint in done.items()
            if frame_name(frame, fmt) in stored}


class _Link:
    """A stored data link as a source (never logged: it is a signed URL)."""

    def __init__(self, link: str | None):
        self.link = link

    def __enter__(self) -> str:
        if not self.link:
            raise VideoNotFound("no data_link stored for this video (sync with --signed-urls)")
        if not self.link.lower().startswith(("https://", "http://")):  # what Encord signs; an export sets anything
            raise VideoNotFound("the stored data_link is not an http(s) URL (a local path or another scheme, which "
                                "an export file can set): not read")
        return self.link

    def __exit__(self, *exc) -> None:
        return None


def _open(config: ExtractFramesConfig, work: warehouse.VideoWork):
    if config.use_data_link:
        return _Link(work.data_link)
    return open_video(config.media_root, work.data_title, work.data_hash, config.storage_options)


class _DestinationFailed(Exception):
    """The manifest or a stale image could not be written or removed: the video's transaction is
    rolled back (its new images are written again by the next run) and the reason recorded."""

    def __init__(self, error: BaseException):
        super().__init__()
        self.error = ("dest", f"cannot update the manifest or stale images: {error_line(error)}")


def _finish(connection, config, work, outcome: _Outcome, result: ExtractFramesResult) -> None:
    """In the claim's transaction, after the images exist: their rows, the manifest listing
    them (rewritten when its content changed, e.g. new labels), the failures. _conclude
    commits."""
    dest = Destination(config.dest, config.storage_options)
    if outcome.records:
        warehouse.record(connection, config.dest, work, outcome.records, outcome.fingerprint,
                         result.run_id, utc_now())
    stale = [(frame, config.fmt) for frame in outcome.stale]
    warehouse.forget(connection, config.dest, work.project_hash, work.data_hash, stale)
    try:
        if outcome.fingerprint is not None:
            write_manifest(connection, dest, work)
        for frame in outcome.stale:  # as prune does: rows and manifest first, the images last
            dest.remove(frame_key(work.project_hash, work.data_hash, frame, config.fmt))
    except SQLAlchemyError:
        raise
    except Exception as error:  # storage: S3 unreachable, permissions, a full disk
        raise _DestinationFailed(error) from None
    result.written += len(outcome.records)
    result.pruned += len(outcome.stale)
    _record_outcome(connection, work, outcome, result, [])


def _record_outcome(connection, work, outcome: _Outcome, result: ExtractFramesResult,
                    more_errors: list[tuple[str, str]]) -> None:
    result.videos += 1
    result.skipped += outcome.skipped
    failures = [RowFailure(None, field_, reason, work.data_title, FRAMES_SOURCE)
                for field_, reason in outcome.errors + more_errors]
    record_failures(connection, result.run_id, work.project_hash, failures)
    if not failures:
        resolve_problems(connection, result.run_id, work.project_hash,
                         RunDid(videos_done=[(work.project_hash, work.data_title)]), utc_now(), source=FRAMES_SOURCE)
    result.failures.extend(failures)
    result.failed += bool(failures)


def _listing(frames: list[int], limit: int = 20) -> str:
    shown = ", ".join(str(f) for f in frames[:limit])
    return shown + (f" … (+{len(frames) - limit})" if len(frames) > limit else "")


def _stats(result: ExtractFramesResult) -> RunStats:
    return RunStats(listed=result.videos + result.busy, fetched=result.videos,
                    inserted=result.written, unchanged=result.skipped, deleted=result.pruned,
                    failed=result.failed)
