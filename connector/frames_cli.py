"""`encord-warehouse extract-frames`: the frame sidecar's command; the work is in connector/frames/.

On DuckDB the run holds the warehouse lock like a sync (one writer per file). On Postgres it
does not: workers on several machines share the work through per-video row claims.
"""

from __future__ import annotations

import click
from sqlalchemy.engine import make_url

from connector.cli import (
    FRAME_LIST, MAX_FAILURES_SHOWN, UserError, cli, command_engine, db_option, one_line_errors, progress_bar,
    schema_option, show_error,
)
from connector.db import default_db_url, normalize_url
from connector.redact import redact
from connector.storage_options import parse_storage_options


@cli.command("extract-frames")
@db_option
@schema_option
@click.option("--media-root", metavar="DIR_OR_URL", help="Folder or URL (file://, s3://, https://) holding the videos, found by data_title, else data_hash.")
@click.option("--use-data-link", is_flag=True, help="Read each video from the data link stored at sync time (sync --signed-urls).")
@click.option("--dest", required=True, metavar="URL", help="Folder, file://… or s3://bucket/prefix for the images and manifests.")
@click.option("--format", "fmt", type=click.Choice(["jpg", "png", "webp"]), default="jpg", show_default=True)
@click.option("--quality", type=click.IntRange(1, 100), help="1..100 for jpg/webp (default 90).")
@click.option("--title", "titles", multiple=True, metavar="TITLE", help="Only this video (repeatable).")
@click.option("--project-hash", metavar="HASH", help="Only this project.")
@click.option("--branch", metavar="NAME", help="Only frames labeled on this branch. Default: every branch.")
@click.option("--frames", type=FRAME_LIST, metavar="10,20,30-40", help="Exactly these frames of each video, labeled or not.")
@click.option("--start", type=click.IntRange(0), help="With --end: every frame start..end of each video.")
@click.option("--end", type=click.IntRange(0))
@click.option("--workers", type=click.IntRange(1), default=1, show_default=True, help="Processes working in parallel.")
@click.option("--storage-option", "storage_options", multiple=True, metavar="KEY=VALUE",
              help="fsspec option for --dest and --media-root, e.g. endpoint_url=http://127.0.0.1:9000 (repeatable).")
@click.option("--overwrite", is_flag=True, help="Extract again frames already recorded for the same video.")
@click.option("--prune", is_flag=True, help="Then remove from --dest the images of frames no longer labeled and of videos "
                                          "gone from the warehouse, with their rows, and frame images no row records "
                                          "(a killed run's). Not with --title, --branch, --frames or --start/--end.")
@click.option("--wait-for-lock", default=0.0, show_default=True, type=click.FloatRange(0), metavar="SECONDS",
              help="DuckDB: wait this long if a sync is writing to the warehouse.")
def extract_frames_command(db_url, schema, media_root, use_data_link, dest, fmt, quality, titles, project_hash,
                           branch, frames, start, end, workers, storage_options, overwrite, prune, wait_for_lock) -> None:
    """Write the labeled frames of videos to a folder or object storage, frame-exact, with ffmpeg.

    Default: every labeled frame of every video in the warehouse. A re-run writes only frames
    not yet extracted, whose video changed or whose image is gone from the destination; with
    --prune it also removes the images of frames no longer labeled. Layout:
    {dest}/{project_hash}/{data_hash}/{frame:06d}.{format} plus a manifest.jsonl per video; the
    `extracted_frames` table records every image.

    \b
    Example:
        encord-warehouse extract-frames --media-root /data/videos --dest s3://bucket/frames --workers 2
        encord-warehouse extract-frames --media-root ./videos --dest ./frames --title street.mp4 --frames 10,20,30-40
        encord-warehouse extract-frames --media-root ./videos --dest ./frames --prune
    """
    # The frames job (ffmpeg-python, fsspec) is imported here: every other command's start would pay for it (~50 ms).
    from connector.frames import ExtractFramesConfig, extract_frames

    with one_line_errors(db_url):
        try:
            config = ExtractFramesConfig(
                dest=dest, media_root=media_root, use_data_link=use_data_link, fmt=fmt, quality=quality,
                titles=titles, project_hash=project_hash, branch=branch, frames=_numbers(frames), start=start, end=end,
                workers=workers, storage_options=parse_storage_options(storage_options), overwrite=overwrite,
                prune=prune,
            )
        except ValueError as error:  # a URL may carry credentials
            raise UserError(redact(str(error))) from None
        on_duckdb = make_url(normalize_url(db_url or default_db_url())).get_backend_name() == "duckdb"
        try:
            lock_wait = wait_for_lock if on_duckdb else None  # see the module docstring
            with command_engine(db_url, schema, must_exist=True, lock_wait=lock_wait) as engine:
                with progress_bar("frames", " videos") as bar:
                    result = extract_frames(engine, config, on_progress=_advance(bar))
        except ValueError as error:
            raise UserError(redact(str(error))) from None
    _report(result)


def _numbers(ranges: tuple[tuple[int, int], ...] | None) -> tuple[int, ...] | None:
    """--frames ranges as frame numbers, refused before they are made when there are too many."""
    from connector.frames.job import MAX_EXPLICIT_FRAMES

    if ranges is None:
        return None
    selected = sum(last - first + 1 for first, last in ranges)
    if selected > MAX_EXPLICIT_FRAMES:
        raise UserError(f"--frames selects {selected:,} frames per video; at most {MAX_EXPLICIT_FRAMES:,} per run")
    return tuple(frame for first, last in ranges for frame in range(first, last + 1))


def _advance(bar):
    if bar is None:
        return None

    def advance(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    return advance


def _report(result) -> None:
    click.echo(
        f"run {result.run_id}: {_count(result.videos, 'video')}, {_count(result.written, 'frame')} written, "
        f"{result.skipped} already extracted, {result.busy} claimed by other workers, {result.failed} failed"
        + (f", {result.pruned} pruned" if result.pruned else "")
    )
    if result.failures:
        for failure in result.failures[:MAX_FAILURES_SHOWN]:
            click.echo(f"error: {failure}", err=True)
        failed = result.failed
        others = "" if failed >= result.videos else "; the others were extracted"
        show_error(f"{_count(failed, 'video')} failed and {'is' if failed == 1 else 'are'} recorded in sync_errors "
                   f"(run {result.run_id}){others}")
        raise click.exceptions.Exit(1)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
