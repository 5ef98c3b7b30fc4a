"""`encord-warehouse extract-frames` end to end on both warehouses, and the shared --frames parameter."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from connector import migrate
from connector.db import create_schema_if_missing
from connector.cli import FRAME_LIST, cli
from tests.media import decode_gray, make_video, read_index
from connector.state import INTERRUPTED
from sync_helpers import CLI
from tests.test_frames_job import PROJECT, label_row


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("videos")
    make_video(root / "street.mp4")
    return root


def invoke(warehouse, *args):
    return CliRunner().invoke(cli, [*args, *warehouse.cli_args], catch_exceptions=False)


def test_the_command_line_starts_without_importing_the_frames_job():
    """Every command registers extract-frames; the frames job, with ffmpeg-python and fsspec (about 50 ms
    of each start), is imported when it runs, and fsspec when an export URL needs it."""
    probe = ("import sys, connector.cli; print(sorted(m for m in sys.modules "
             "if m.split('.')[0] in ('fsspec', 'ffmpeg') or m == 'connector.frames.job'))")
    imported = subprocess.run([sys.executable, "-c", probe], cwd=Path(__file__).parent.parent,
                              capture_output=True, text=True, check=True).stdout.strip()
    assert imported == "[]"


def test_frames_of_a_duckdb_warehouse_that_is_not_there(tmp_path):
    path = tmp_path / "typo.duckdb"
    result = CliRunner().invoke(cli, ["extract-frames", "--db", f"duckdb:///{path}", "--media-root", str(tmp_path),
                                      "--dest", str(tmp_path / "frames")])
    assert result.exit_code == 2
    assert result.stderr == f"encord-warehouse: no DuckDB warehouse at {path}: run `encord-warehouse sync` (or `migrate`) first\n"
    assert list(tmp_path.iterdir()) == []


def test_a_failed_video_is_named_even_where_its_reason_does_not(warehouse, tmp_path, videos):
    media = tmp_path / "media"
    media.mkdir()
    (media / "broken.mp4").write_bytes(b"not a video")
    export = tmp_path / "export.json"
    export.write_text(json.dumps([label_row("broken.mp4", "dh-broken", [1])]))
    assert invoke(warehouse, "sync", "--from-export", str(export), "--project-hash", PROJECT).exit_code == 0
    result = invoke(warehouse, "extract-frames", "--media-root", str(media), "--dest", str(tmp_path / "frames"))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0].startswith("error: extract-frames (broken.mp4): video: cannot read the video: ")
    assert warehouse.rows("SELECT data_title, field FROM sync_errors") == [("broken.mp4", "video")]


def test_extract_frames_command(warehouse, tmp_path, videos):
    export = tmp_path / "export.json"
    export.write_text(json.dumps([label_row("street.mp4", "dh-street", [5, 17, 60]),
                                  label_row("gone.mp4", "dh-gone", [1])]))
    assert invoke(warehouse, "sync", "--from-export", str(export), "--project-hash", PROJECT).exit_code == 0
    dest = tmp_path / "frames"
    result = invoke(warehouse, "extract-frames", "--media-root", str(videos), "--dest", str(dest), "--format", "png")
    assert result.exit_code == 1
    assert "2 videos, 3 frames written, 0 already extracted, 0 claimed by other workers, 1 failed" in result.stdout
    assert result.stderr.strip().splitlines()[0] == (
        "error: extract-frames (gone.mp4): video: no video for gone.mp4 under the media root")
    assert result.stderr.strip().splitlines()[-1].startswith(
        "encord-warehouse: 1 video failed and is recorded in sync_errors")
    assert result.stderr.strip().endswith("; the others were extracted")
    written = sorted(p.name for p in (dest / PROJECT / "dh-street").glob("*.png"))
    assert written == ["000005.png", "000017.png", "000060.png"]
    assert [read_index(decode_gray(dest / PROJECT / "dh-street" / name)[0]) for name in written] == [5, 17, 60]
    assert warehouse.rows("SELECT frame FROM extracted_frames ORDER BY frame") == [(5,), (17,), (60,)]
    again = invoke(warehouse, "extract-frames", "--media-root", str(videos), "--dest", str(dest), "--format", "png",
                   "--title", "street.mp4")
    assert again.exit_code == 0, again.output
    assert "1 video, 0 frames written, 3 already extracted" in again.stdout


def test_the_failed_count_is_of_videos_however_many_problems_each_has(warehouse, tmp_path, videos):
    export = tmp_path / "export.json"
    export.write_text(json.dumps([label_row("street.mp4", "dh-street", [5, 10_000]), label_row("gone.mp4", "dh-gone", [1])]))
    assert invoke(warehouse, "sync", "--from-export", str(export), "--project-hash", PROJECT).exit_code == 0
    dest = tmp_path / "frames"
    (dest / PROJECT / "dh-street" / "manifest.jsonl").mkdir(parents=True)  # nor can its manifest be written
    result = invoke(warehouse, "extract-frames", "--media-root", str(videos), "--dest", str(dest))
    assert result.exit_code == 1
    problems = warehouse.rows("SELECT data_title, field FROM sync_errors WHERE source = 'extract-frames' "
                              "ORDER BY data_title, field")
    assert problems == [("gone.mp4", "video"), ("street.mp4", "dest"), ("street.mp4", "frame")]
    assert "2 videos, 0 frames written, 0 already extracted, 0 claimed by other workers, 2 failed" in result.stdout
    run_id = warehouse.scalar("SELECT run_id FROM sync_runs WHERE source = 'extract-frames'")
    assert result.stderr.splitlines()[-1] == (  # every one failed: not "the others were extracted" (until 2026-11-30)
        f"encord-warehouse: 2 videos failed and are recorded in sync_errors (run {run_id})")
    assert warehouse.rows("SELECT failed FROM sync_runs WHERE source = 'extract-frames'") == [(2,)]


@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm"])
def test_a_stopped_pooled_job_ends_at_once_in_one_line(warehouse, tmp_path, stop):
    """Ctrl-C (the terminal's whole process group) or a scheduler's SIGTERM (the job alone): the videos in
    flight end with their ffmpeg, one line, exit 130 / 143, the run recorded failed, no traceback from a pool
    process; the next run writes every frame. Until 2026-11-29 a pool process printed a traceback, and after
    SIGTERM the job waited for each running ffmpeg to finish and its frames to be uploaded; until 2026-11-30 the
    images in the pool processes' temporary folders stayed there."""
    media = tmp_path / "media"
    media.mkdir()
    rows = []
    for number, frames in enumerate((10, 1500)):  # one pool process soon idle, the other busy with ffmpeg
        make_video(media / f"v{number}.mp4", frames=frames)
        rows.append(label_row(f"v{number}.mp4", f"dh-{number}", list(range(frames))))
    export = tmp_path / "export.json"
    export.write_text(json.dumps(rows))
    assert invoke(warehouse, "sync", "--from-export", str(export), "--project-hash", PROJECT).exit_code == 0
    warehouse.engine.dispose()
    dest = tmp_path / "frames"
    command = [*CLI, "extract-frames", "--media-root",
               str(media), "--dest", str(dest), "--format", "png", "--workers", "2", *warehouse.cli_args]
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    job = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                           env={**os.environ, "TMPDIR": str(temporary)})
    deadline = time.monotonic() + 120
    while len(list(dest.rglob("dh-0/*.png"))) < 10 or not any(dest.rglob("dh-1/*.png")):
        assert job.poll() is None and time.monotonic() < deadline, job.communicate()
        time.sleep(0.05)
    if stop == "ctrl-c":
        os.killpg(job.pid, signal.SIGINT)
    else:
        os.kill(job.pid, signal.SIGTERM)
    _, stderr = job.communicate(timeout=120)
    reason = "interrupted (Ctrl-C)" if stop == "ctrl-c" else "terminated (SIGTERM)"
    assert (job.returncode, stderr) == ((130, "encord-warehouse: aborted\n") if stop == "ctrl-c"
                                        else (143, f"encord-warehouse: {reason}\n"))
    ffmpeg_left = subprocess.run(["pgrep", "-f", str(media / "v1.mp4")], capture_output=True, text=True).stdout
    assert ffmpeg_left == "" and len(list(dest.rglob("dh-1/*.png"))) < 1500  # not waited for
    assert list(temporary.iterdir()) == []  # the pool processes' images too (left behind until 2026-11-30)
    assert warehouse.rows("SELECT status, error FROM sync_runs WHERE source = 'extract-frames'") == [("failed", reason)]
    warehouse.engine.dispose()
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert warehouse.scalar("SELECT count(*) FROM extracted_frames") == 1510


def test_extract_frames_prune(warehouse, tmp_path, videos):
    export = tmp_path / "export.json"
    export.write_text(json.dumps([label_row("street.mp4", "dh-street", [5, 17])]))
    assert invoke(warehouse, "sync", "--from-export", str(export), "--project-hash", PROJECT).exit_code == 0
    extract = ("extract-frames", "--media-root", str(videos), "--dest", str(tmp_path / "frames"))
    assert invoke(warehouse, *extract).exit_code == 0
    export.write_text(json.dumps([label_row("street.mp4", "dh-street", [5])]))
    assert invoke(warehouse, "sync", "--from-export", str(export), "--project-hash", PROJECT).exit_code == 0
    refused = invoke(warehouse, *extract, "--prune", "--title", "street.mp4")
    assert (refused.exit_code, refused.stderr) == (2, "encord-warehouse: prune keeps exactly the labeled frames of every "
                                                      "video: it takes no titles, branch, frames or start..end\n")
    pruned = invoke(warehouse, *extract, "--prune")
    assert pruned.exit_code == 0, pruned.output
    assert pruned.stdout.startswith("run ") and pruned.stdout.rstrip().endswith(
        "1 video, 0 frames written, 1 already extracted, 0 claimed by other workers, 0 failed, 1 pruned")
    assert sorted(p.name for p in (tmp_path / "frames" / PROJECT / "dh-street").iterdir()) == ["000005.jpg", "manifest.jsonl"]


def test_prune_removes_the_images_a_killed_run_left_unrecorded(warehouse, tmp_path, videos):
    """A run killed after it wrote a video's images and manifest, before their rows committed: when that video
    goes (deleted in Encord, then synced) before any run writes it again, --prune removes its images, manifest and
    half-written image, and keeps a file that is no frame image. Until 2026-11-30 prune removed only what rows
    recorded, and such images stayed for good."""
    export = tmp_path / "export.json"
    export.write_text(json.dumps([label_row("street.mp4", "dh-a", [5, 17]), label_row("street.mp4", "dh-b", [0, 55])]))
    assert invoke(warehouse, "sync", "--from-export", str(export), "--project-hash", PROJECT).exit_code == 0
    warehouse.engine.dispose()
    dest = tmp_path / "frames"
    extract = [*CLI, "extract-frames", "--media-root", str(videos), "--dest", str(dest), *warehouse.cli_args]
    killed = subprocess.run(extract, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "ENCORD_WAREHOUSE_TEST_KILL_AT": "frames:2"})  # dh-b's commit
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    folder_b = dest / PROJECT / "dh-b"
    assert sorted(p.name for p in folder_b.iterdir()) == ["000000.jpg", "000055.jpg", "manifest.jsonl"]
    assert warehouse.rows("SELECT data_hash, frame FROM extracted_frames ORDER BY 1, 2") == [("dh-a", 5), ("dh-a", 17)]
    (folder_b / ".000055.jpg.0123456789abcdef0123456789abcdef.tmp").write_bytes(b"half")
    (folder_b / "notes.txt").write_text("ours")

    export.write_text(json.dumps([label_row("street.mp4", "dh-a", [5])]))
    assert invoke(warehouse, "sync", "--from-export", str(export), "--project-hash", PROJECT,
                  "--delete-missing").exit_code == 0
    pruned = invoke(warehouse, "extract-frames", "--media-root", str(videos), "--dest", str(dest), "--prune")
    assert pruned.exit_code == 0, pruned.output
    assert pruned.stdout.rstrip().endswith("1 video, 0 frames written, 1 already extracted, 0 claimed by other "
                                           "workers, 0 failed, 3 pruned")
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()) == [
        f"{PROJECT}/dh-a/000005.jpg", f"{PROJECT}/dh-a/manifest.jsonl", f"{PROJECT}/dh-b/notes.txt"]
    assert warehouse.rows("SELECT data_hash, frame FROM extracted_frames") == [("dh-a", 5)]
    assert warehouse.rows("SELECT status, error FROM sync_runs WHERE source = 'extract-frames' ORDER BY run_seq") == [
        ("interrupted", INTERRUPTED), ("succeeded", None)]  # the killed run stayed running until 2026-11-30


def test_extract_frames_refuses_bad_arguments(warehouse, tmp_path):
    create_schema_if_missing(warehouse.engine)  # Postgres: the schema exists (one that is not there is refused first)
    with warehouse.engine.connect():  # DuckDB: the file exists (a warehouse that is not there is refused first)
        pass
    warehouse.engine.dispose()
    result = invoke(warehouse, "extract-frames", "--dest", str(tmp_path), "--frames", "1,2", "--start", "1", "--end", "3",
                    "--media-root", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.strip() == "encord-warehouse: give either frames or a start..end range, not both"
    for roots, message in ((["--media-root", str(tmp_path), "--use-data-link"],
                            "give a media root or use the stored data links, not both"),
                           (["--media-root", str(tmp_path / "typo")], f"media root {tmp_path / 'typo'}: no such folder"),
                           (["--media-root", f"file://{tmp_path}/typo"], f"media root file://{tmp_path}/typo: no such folder")):
        result = invoke(warehouse, "extract-frames", "--dest", str(tmp_path / "frames"), *roots)
        assert result.exit_code == 2
        assert result.stderr == f"encord-warehouse: {message}\n"
        assert not (tmp_path / "frames").exists()
    for selection, message in ((["--frames", "0-100000000"], "--frames selects 100,000,001 frames per video"),
                               (["--start", "0", "--end", "100000000"], "--start/--end select 100,000,001 frames per video")):
        result = invoke(warehouse, "extract-frames", "--dest", str(tmp_path), "--media-root", str(tmp_path), *selection)
        assert result.exit_code == 2
        assert result.stderr == f"encord-warehouse: {message}; at most 1,000,000 per run\n"
    assert migrate.current_revision(warehouse.engine) is None  # refused before the warehouse was touched


def test_storage_fsspec_cannot_open_is_refused_once_before_any_video(warehouse, tmp_path):
    """gs:// without gcsfs (not a dependency), or a scheme nobody knows: one line, before anything is touched."""
    assert importlib.util.find_spec("gcsfs") is None
    cases = [(["--dest", "gs://bucket/frames", "--media-root", str(tmp_path)],
              "gs://bucket/frames: Please install gcsfs to access Google Storage"),
             (["--dest", str(tmp_path), "--media-root", "gs://bucket/videos"],
              "gs://bucket/videos: Please install gcsfs to access Google Storage"),
             (["--dest", "nosuch://bucket/frames", "--media-root", str(tmp_path)],
              "nosuch://bucket/frames: Protocol not known: nosuch")]
    for args, message in cases:
        result = invoke(warehouse, "extract-frames", *args)
        assert result.exit_code == 2
        assert result.stderr == f"encord-warehouse: {message}\n"
    assert migrate.current_revision(warehouse.engine) is None  # refused before the warehouse was touched


@pytest.mark.parametrize("text, ranges", [("10,20, 30-32", ((10, 10), (20, 20), (30, 32))), ("7", ((7, 7),)),
                                          ("3,3,1", ((1, 1), (3, 3))), ("1-5,3-8,9,11", ((1, 9), (11, 11))),
                                          ("0-100000000", ((0, 100_000_000),))])
def test_frame_list(text, ranges):
    assert FRAME_LIST.convert(text, None, None) == ranges


@pytest.mark.parametrize("text", ["ten", "5-2", "1,,2", "-3", "²", "1-³"])  # superscripts: digits int() refuses
def test_frame_list_rejects(text):
    with pytest.raises(click.BadParameter, match="expected frame numbers or ranges like 10,20,30-40"):
        FRAME_LIST.convert(text, None, None)
