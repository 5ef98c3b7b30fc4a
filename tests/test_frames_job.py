"""extract_frames against a real warehouse (DuckDB file and Postgres server; conftest's
`warehouse` fixture), synced from label rows shaped like the sample video row."""

import contextlib
import copy
import functools
import hashlib
import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

import connector.frames.job as job
from connector import migrate
from connector.db import create_warehouse_engine
from connector.frames import warehouse as frames_wh
from connector.frames.job import ExtractFramesConfig, extract_frames
from connector.lock import run_alive
from connector.state import INTERRUPTED, utc_now
from connector.sync import ExportSyncConfig, sync_export
from tests.media import decode_gray, make_video, read_index
from tests.test_frames_storage import s3, s3_endpoint  # noqa: F401  (fixtures: moto on loopback)

SAMPLE = json.loads((Path(__file__).parent / "encord_emulator" / "data" / "label_row_video.json").read_text())
PROJECT = "proj-1"


def label_row(title, data_hash, frames, branch="main", label_hash=None, link=None):
    """The sample video label row, retitled, with its Car box on exactly `frames`."""
    row = copy.deepcopy(SAMPLE)
    unit = next(iter(row["data_units"].values()))
    car = next(o for f in unit["labels"].values() for o in f["objects"] if o["name"] == "Car")
    unit.update(data_hash=data_hash, data_title=title, width=160, height=96, data_fps=25.0,
                data_link=link, labels={str(n): {"objects": [car], "classifications": []}
                                        for n in frames})
    row["data_units"] = {data_hash: unit}
    row["object_answers"] = {car["objectHash"]: row["object_answers"][car["objectHash"]]}
    row["object_actions"], row["classification_answers"] = {}, {}
    row.update(label_hash=label_hash or f"lh-{data_hash}-{branch}", data_hash=data_hash,
               data_title=title, branch_name=branch)
    return row


def sync(warehouse, tmp_path, rows):
    path = tmp_path / f"export-{len(list(tmp_path.glob('export-*')))}.json"
    path.write_text(json.dumps(rows))
    result = sync_export(warehouse.engine, ExportSyncConfig(path=str(path), project_hash=PROJECT))
    assert result.ok, result.failures


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("media")
    make_video(root / "a.mp4")
    make_video(root / "b.mkv", vfr=True)
    return root


def config(tmp_path, clips, **kw):
    return ExtractFramesConfig(dest=str(tmp_path / "dest"), media_root=str(clips), **kw)


def rows(warehouse, sql, **params):
    return warehouse.rows(sql, **params)


def test_labeled_frames_land_in_the_folder_recorded_and_listed(warehouse, tmp_path, clips):
    sync(warehouse, tmp_path, [label_row("a.mp4", "dh-a", [3, 40, 41, 97]),
                               label_row("b.mkv", "dh-b", [0, 55])])
    result = extract_frames(warehouse.engine, config(tmp_path, clips, fmt="png"))
    assert result.ok and (result.videos, result.written, result.skipped) == (2, 6, 0)

    recorded = rows(warehouse, "SELECT data_hash, frame, uri, sha256, bytes, width, height, "
                               "timestamp_s, video_fingerprint, run_id FROM extracted_frames "
                               "ORDER BY data_hash, frame")
    assert [(r[0], r[1]) for r in recorded] == [("dh-a", 3), ("dh-a", 40), ("dh-a", 41),
                                                ("dh-a", 97), ("dh-b", 0), ("dh-b", 55)]
    for data_hash, frame, uri, sha, size, width, height, ts, fingerprint, run_id in recorded:
        path = tmp_path / "dest" / PROJECT / data_hash / f"{frame:06d}.png"
        assert uri == f"file://{path}"
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == sha and len(data) == size
        assert (width, height) == (160, 96) and run_id == result.run_id and fingerprint
        assert read_index(decode_gray(path)[0]) == frame
    vfr_55 = next(r for r in recorded if r[:2] == ("dh-b", 55))
    assert vfr_55[7] == pytest.approx(55 * 0.04 + 1 * 0.013 + 5 * 0.05, abs=0.0015)

    manifest = [json.loads(line) for line in
                (tmp_path / "dest" / PROJECT / "dh-a" / "manifest.jsonl").read_text().splitlines()]
    assert [m["frame"] for m in manifest] == [3, 40, 41, 97]
    assert manifest[0]["data_title"] == "a.mp4" and manifest[0]["format"] == "png"
    assert [label["name"] for label in manifest[0]["labels"]] == ["Car"]
    assert manifest[0]["labels"][0]["x_px"] == pytest.approx(0.1 * 160)
    assert rows(warehouse, "SELECT status, inserted FROM sync_runs WHERE run_id = :r",
                r=result.run_id) == [("succeeded", 6)]


def test_rerun_writes_only_what_is_new_or_changed(warehouse, tmp_path, clips):
    media = tmp_path / "media"
    media.mkdir()
    (media / "a.mp4").write_bytes((clips / "a.mp4").read_bytes())
    sync(warehouse, tmp_path, [label_row("a.mp4", "dh-a", [3, 40])])
    cfg = ExtractFramesConfig(dest=str(tmp_path / "dest"), media_root=str(media))
    first = extract_frames(warehouse.engine, cfg)
    assert first.written == 2
    image = tmp_path / "dest" / PROJECT / "dh-a" / "000003.jpg"
    stamp = image.stat().st_mtime_ns

    manifest = tmp_path / "dest" / PROJECT / "dh-a" / "manifest.jsonl"
    manifest_stamp = manifest.stat().st_mtime_ns
    again = extract_frames(warehouse.engine, cfg)
    assert (again.written, again.skipped) == (0, 2)
    assert image.stat().st_mtime_ns == stamp
    assert manifest.stat().st_mtime_ns == manifest_stamp  # same content: not rewritten

    relabeled = label_row("a.mp4", "dh-a", [3, 40])
    next(iter(relabeled["data_units"].values()))["labels"]["3"]["objects"][0]["boundingBox"]["x"] = 0.5
    sync(warehouse, tmp_path, [relabeled])
    assert extract_frames(warehouse.engine, cfg).written == 0
    first_line = json.loads(manifest.read_text().splitlines()[0])
    assert first_line["labels"][0]["x_px"] == pytest.approx(0.5 * 160)  # labels refreshed

    sync(warehouse, tmp_path, [label_row("a.mp4", "dh-a", [3, 40, 60])])  # a new label
    more = extract_frames(warehouse.engine, cfg)
    assert (more.written, more.skipped) == (1, 2)

    make_video(media / "a.mp4", gop=24)  # the video changed: everything again
    changed = extract_frames(warehouse.engine, cfg)
    assert (changed.written, changed.skipped) == (3, 0)
    fingerprints = rows(warehouse, "SELECT DISTINCT video_fingerprint FROM extracted_frames")
    assert len(fingerprints) == 1


def test_a_video_replaced_by_a_shorter_one_leaves_no_image_of_the_old_one(warehouse, tmp_path, clips):
    media = tmp_path / "media"
    media.mkdir()
    make_video(media / "a.mp4", 100)
    sync(warehouse, tmp_path, [label_row("a.mp4", "dh-a", [10, 90])])
    cfg = ExtractFramesConfig(dest=str(tmp_path / "dest"), media_root=str(media), fmt="png")
    assert extract_frames(warehouse.engine, cfg).written == 2
    folder = tmp_path / "dest" / PROJECT / "dh-a"

    make_video(media / "a.mp4", 50, gop=24)  # frame 90 is still labeled, past the new video's end
    again = extract_frames(warehouse.engine, cfg)
    assert (again.written, again.pruned) == (1, 1)
    assert [failure.reason for failure in again.failures] == ["past the end of the video (50 frames): 90"]
    assert sorted(path.name for path in folder.iterdir()) == ["000010.png", "manifest.jsonl"]
    assert rows(warehouse, "SELECT frame FROM extracted_frames") == [(10,)]
    assert [json.loads(line)["frame"] for line in (folder / "manifest.jsonl").read_text().splitlines()] == [10]
    third = extract_frames(warehouse.engine, cfg)  # nothing recorded of the old video: nothing to remove
    assert (third.written, third.skipped, third.pruned) == (0, 1, 0)


def test_frames_deleted_at_the_destination_are_written_again(warehouse, tmp_path, clips):
    sync(warehouse, tmp_path, [label_row("a.mp4", "dh-a", [3, 40, 41])])
    cfg = config(tmp_path, clips)
    first = extract_frames(warehouse.engine, cfg)
    folder = tmp_path / "dest" / PROJECT / "dh-a"
    recorded = dict(rows(warehouse, "SELECT frame, sha256 FROM extracted_frames"))
    kept = (folder / "000003.jpg").stat().st_mtime_ns
    (folder / "000040.jpg").unlink()
    (folder / "manifest.jsonl").unlink()

    again = extract_frames(warehouse.engine, cfg)
    assert (first.written, again.written, again.skipped) == (3, 1, 2)
    assert read_index(decode_gray(folder / "000040.jpg")[0]) == 40
    assert hashlib.sha256((folder / "000040.jpg").read_bytes()).hexdigest() == recorded[40]
    assert (folder / "000003.jpg").stat().st_mtime_ns == kept
    assert [json.loads(line)["frame"] for line in (folder / "manifest.jsonl").read_text().splitlines()] == [3, 40, 41]

    for image in folder.iterdir():  # the whole folder gone: everything again
        image.unlink()
    folder.rmdir()
    assert extract_frames(warehouse.engine, cfg).written == 3
    assert sorted(p.name for p in folder.iterdir()) == ["000003.jpg", "000040.jpg", "000041.jpg", "manifest.jsonl"]


def test_a_crash_never_leaves_a_recorded_frame_without_its_object(warehouse, tmp_path, clips,
                                                                  monkeypatch):
    sync(warehouse, tmp_path, [label_row("a.mp4", "dh-a", [3, 40]),
                               label_row("b.mkv", "dh-b", [0, 55])])
    cfg = config(tmp_path, clips)
    real_record = frames_wh.record
    calls = []

    def crash_on_second_video(connection, dest, work, *args):
        calls.append(work.data_hash)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")  # after b's objects, before its rows
        return real_record(connection, dest, work, *args)

    monkeypatch.setattr(frames_wh, "record", crash_on_second_video)
    with pytest.raises(KeyboardInterrupt):
        extract_frames(warehouse.engine, cfg)
    recorded = rows(warehouse, "SELECT uri FROM extracted_frames")
    assert len(recorded) == 2  # the first video committed, the second rolled back
    for (uri,) in recorded:
        assert Path(uri.removeprefix("file://")).exists()
    assert rows(warehouse, "SELECT status FROM sync_runs WHERE source = 'extract-frames'") == [
        ("failed",)]

    monkeypatch.setattr(frames_wh, "record", real_record)
    resumed = extract_frames(warehouse.engine, cfg)
    assert (resumed.written, resumed.skipped) == (2, 2)
    for (uri,) in rows(warehouse, "SELECT uri FROM extracted_frames"):
        assert Path(uri.removeprefix("file://")).exists()


def test_failed_upload_records_nothing_for_that_video(warehouse, tmp_path, clips, monkeypatch):
    sync(warehouse, tmp_path, [label_row("a.mp4", "dh-a", [3, 40, 41])])
    real = job.Destination.write_bytes
    count = []

    def flaky(self, key, data):
        count.append(key)
        if len(count) == 2:
            raise OSError("disk full")
        return real(self, key, data)

    monkeypatch.setattr(job.Destination, "write_bytes", flaky)
    result = extract_frames(warehouse.engine, config(tmp_path, clips))
    assert result.written == 0 and [f.field for f in result.failures] == ["dest"]
    assert rows(warehouse, "SELECT count(*) FROM extracted_frames") == [(0,)]


def test_bad_videos_are_reported_and_the_rest_goes_on(warehouse, tmp_path, clips):
    media = tmp_path / "media"
    media.mkdir()
    (media / "a.mp4").write_bytes((clips / "a.mp4").read_bytes())
    (media / "junk.mp4").write_bytes(b"\x00" * 5000)
    outside = tmp_path / "escape.mp4"
    outside.write_bytes((clips / "a.mp4").read_bytes())  # exists, but outside the root
    (media / "dh-hashed.mp4").write_bytes((clips / "a.mp4").read_bytes())
    sync(warehouse, tmp_path, [
        label_row("a.mp4", "dh-a", [3, 150]),             # frame 150 is past the end
        label_row("../escape.mp4", "dh-esc", [1]),
        label_row("../hashed.mp4", "dh-hashed", [2]),     # never read as a path, found by its data hash
        label_row(str(outside), "dh-abs", [1]),
        label_row("absent.mp4", "dh-absent", [1]),
        label_row("junk.mp4", "dh-junk", [1]),
    ])
    dest = tmp_path / "dest"
    result = extract_frames(warehouse.engine, ExtractFramesConfig(dest=str(dest),
                                                                  media_root=str(media)))
    assert result.written == 2 and result.videos == 6
    assert read_index(decode_gray(dest / PROJECT / "dh-hashed" / "000002.jpg")[0]) == 2
    errors = {r[0]: (r[1], r[2]) for r in rows(
        warehouse, "SELECT data_title, field, reason FROM sync_errors WHERE run_id = :r",
        r=result.run_id)}
    assert errors["a.mp4"][0] == "frame" and "past the end" in errors["a.mp4"][1]
    assert "150" in errors["a.mp4"][1]
    assert errors["../escape.mp4"][0] == "data_title" and "named by the data hash" in errors["../escape.mp4"][1]
    assert "../hashed.mp4" not in errors
    assert errors[str(outside)][0] == "data_title"
    assert errors["absent.mp4"][0] == "video" and "no video" in errors["absent.mp4"][1]
    assert errors["junk.mp4"][0] == "video" and "cannot read" in errors["junk.mp4"][1]
    assert str(media) not in "".join(reason for _, reason in errors.values())
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")
                     if p.is_file() and not p.name.startswith("export-")
                     and "media" not in p.parts and p != outside
                     and p.suffix not in (".duckdb", ".wal", ".lock"))
    assert written == [f"dest/{PROJECT}/dh-a/000003.jpg", f"dest/{PROJECT}/dh-a/manifest.jsonl",
                       f"dest/{PROJECT}/dh-hashed/000002.jpg", f"dest/{PROJECT}/dh-hashed/manifest.jsonl"]
    assert rows(warehouse, "SELECT status FROM sync_runs WHERE run_id = :r",
                r=result.run_id) == [("partial",)]


def test_explicit_frames_range_title_and_branch(warehouse, tmp_path, clips):
    sync(warehouse, tmp_path, [
        label_row("a.mp4", "dh-a", [3]),
        label_row("a.mp4", "dh-a", [50], branch="encord-annotator1", label_hash="lh-ann"),
        label_row("b.mkv", "dh-b", [0]),
    ])
    only_a = config(tmp_path, clips, titles=("a.mp4",), frames=(10, 20))
    assert extract_frames(warehouse.engine, only_a).written == 2
    ranged = config(tmp_path, clips, titles=("b.mkv",), start=5, end=9, fmt="webp")
    assert extract_frames(warehouse.engine, ranged).written == 5
    branch = config(tmp_path, clips, branch="encord-annotator1", fmt="png")
    assert extract_frames(warehouse.engine, branch).written == 1
    got = rows(warehouse, "SELECT data_hash, frame, format FROM extracted_frames "
                          "ORDER BY format, data_hash, frame")
    assert got == [("dh-a", 10, "jpg"), ("dh-a", 20, "jpg"), ("dh-a", 50, "png"),
                   *[("dh-b", n, "webp") for n in range(5, 10)]]


def test_a_branch_run_leaves_the_manifest_with_the_labels_of_every_branch(warehouse, tmp_path, clips):
    """One manifest per video whichever branch a run extracts for (until 2026-11-29 a `--branch` run
    rewrote it with that branch's labels only)."""
    sync(warehouse, tmp_path, [label_row("a.mp4", "dh-a", [3, 40]),
                               label_row("a.mp4", "dh-a", [40], branch="review", label_hash="lh-review")])
    manifest = tmp_path / "dest" / PROJECT / "dh-a" / "manifest.jsonl"

    def labels() -> dict[int, list[str]]:
        return {line["frame"]: sorted(label["branch_name"] for label in line["labels"])
                for line in map(json.loads, manifest.read_text().splitlines())}

    assert extract_frames(warehouse.engine, config(tmp_path, clips)).written == 2
    every_branch = labels()
    assert every_branch == {3: ["main"], 40: ["main", "review"]}
    again = extract_frames(warehouse.engine, config(tmp_path, clips, branch="review"))
    assert (again.written, again.skipped) == (0, 1)
    assert labels() == every_branch


@pytest.fixture
def served(clips):
    """The clips over HTTP on loopback, as signed links serve them: the base URL."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(clips))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_data_links_are_read_only_as_http_urls(warehouse, tmp_path, clips, served):
    """A link an export file set to a local path (anyone's private video) or to an ffprobe option is not read:
    until 2026-11-29 both were handed to ffmpeg and ffprobe as they were."""
    sync(warehouse, tmp_path, [label_row("a.mp4", "dh-a", [7], link=f"{served}/a.mp4"),
                               label_row("b.mkv", "dh-b", [7], link=None),
                               label_row("local.mp4", "dh-local", [7], link=str(clips / "a.mp4")),
                               label_row("option.mp4", "dh-option", [7], link="-report")])
    cfg = ExtractFramesConfig(dest=str(tmp_path / "dest"), use_data_link=True)
    result = extract_frames(warehouse.engine, cfg)
    assert result.written == 1
    assert read_index(decode_gray(tmp_path / "dest" / PROJECT / "dh-a" / "000007.jpg")[0]) == 7
    refused = "the stored data_link is not an http(s) URL (a local path or another scheme, which an export file can set): not read"
    assert sorted((f.data_title, f.field, f.reason) for f in result.failures) == [
        ("b.mkv", "video", "no data_link stored for this video (sync with --signed-urls)"),
        ("local.mp4", "video", refused), ("option.mp4", "video", refused)]
    assert not list(tmp_path.glob("ffprobe-*.log")) and not list(Path.cwd().glob("ffprobe-*.log"))


def test_worker_processes_share_the_videos(warehouse, tmp_path, clips):
    sync(warehouse, tmp_path, [label_row("a.mp4", f"dh-{i}", [i, 50 + i]) for i in range(4)]
         + [label_row("b.mkv", "dh-b", [9])])
    result = extract_frames(warehouse.engine, config(tmp_path, clips, workers=2))
    assert result.ok and (result.videos, result.written) == (5, 9)
    for i in range(4):
        image = tmp_path / "dest" / PROJECT / f"dh-{i}" / f"{50 + i:06d}.jpg"
        assert read_index(decode_gray(image)[0]) == 50 + i


def test_a_script_without_a_main_guard_runs_the_job_with_workers_once(warehouse, tmp_path, clips):
    """The library call from a plain script, as the README's examples are written: its workers must not run
    the script again (multiprocessing's spawn did, each child then waiting for the caller's lock)."""
    sync(warehouse, tmp_path, [label_row("a.mp4", f"dh-{i}", [i, 50 + i]) for i in range(3)])
    warehouse.engine.dispose()
    script = tmp_path / "unguarded.py"
    script.write_text(
        "from connector.db import create_warehouse_engine\n"
        "from connector.frames.job import ExtractFramesConfig, extract_frames\n"
        "from connector.lock import warehouse_lock\n"
        "print('script ran')\n"
        "engine = create_warehouse_engine()\n"
        "with warehouse_lock(engine):\n"
        f"    result = extract_frames(engine, ExtractFramesConfig(dest={str(tmp_path / 'dest')!r}, "
        f"media_root={str(clips)!r}, workers=2))\n"
        "print(result.videos, result.written, len(result.failures))\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **warehouse.env}, cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, "script ran\n3 6 0\n"), done.stderr
    assert rows(warehouse, "SELECT count(*) FROM extracted_frames") == [(6,)]
    image = tmp_path / "dest" / PROJECT / "dh-2" / f"{52:06d}.jpg"
    assert read_index(decode_gray(image)[0]) == 52


def test_two_workers_on_one_postgres_extract_each_frame_once(postgres_warehouse, tmp_path, clips):
    """SKIP LOCKED claims are the Postgres path; DuckDB has one writer process."""
    warehouse = postgres_warehouse
    videos = [label_row("a.mp4" if i % 2 else "b.mkv", f"dh-{i}", [1, 30 + i, 90])
              for i in range(8)]
    sync(warehouse, tmp_path, videos)
    migrate.upgrade(warehouse.engine)
    cfg = config(tmp_path, clips)
    results, errors = [], []

    def worker():
        engine = create_warehouse_engine(warehouse.url, warehouse.schema)
        try:
            results.append(extract_frames(engine, cfg))
        except BaseException as error:  # surfaced below
            errors.append(error)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(r.written for r in results) == 24  # no frame written twice
    assert rows(warehouse, "SELECT count(*) FROM extracted_frames") == [(24,)]
    for r in results:
        assert r.ok
        assert r.videos + r.busy == 8  # each video done here, or held by the other worker


def test_config_checks_and_frame_lists():
    with pytest.raises(ValueError):
        ExtractFramesConfig(dest="d", media_root="m", fmt="gif")
    with pytest.raises(ValueError):
        ExtractFramesConfig(dest="d", media_root="m", frames=(1,), start=1, end=2)
    with pytest.raises(ValueError):
        ExtractFramesConfig(dest="d", media_root="m", start=5)
    with pytest.raises(ValueError):
        ExtractFramesConfig(dest="d")
    assert ExtractFramesConfig(dest="d/", media_root="m", start=2, end=4).explicit_frames() == (2, 3, 4)
    for selection in ({"titles": ("a.mp4",)}, {"branch": "main"}, {"frames": (1,)}, {"start": 0, "end": 9}):
        with pytest.raises(ValueError, match="prune keeps exactly the labeled frames of every video"):
            ExtractFramesConfig(dest="d", media_root="m", prune=True, **selection)


def test_progress_and_relative_dest(warehouse, tmp_path, clips, monkeypatch):
    sync(warehouse, tmp_path, [label_row("a.mp4", "dh-a", [1]), label_row("b.mkv", "dh-b", [2])])
    monkeypatch.chdir(tmp_path)
    cfg = ExtractFramesConfig(dest="out/", media_root=str(clips))
    assert cfg.dest == str(tmp_path / "out")
    seen = []
    extract_frames(warehouse.engine, cfg, on_progress=lambda done, total: seen.append((done, total)))
    assert seen == [(0, 2), (1, 2), (2, 2)]
    assert (tmp_path / "out" / PROJECT / "dh-b" / "000002.jpg").exists()


def test_s3_media_root_and_destination(warehouse, tmp_path, clips, s3):
    fs, bucket = s3
    fs.put_file(str(clips / "a.mp4"), f"{bucket}/videos/a.mp4")
    sync(warehouse, tmp_path, [label_row("a.mp4", "dh-a", [5, 77])])
    cfg = ExtractFramesConfig(dest=f"s3://{bucket}/frames", media_root=f"s3://{bucket}/videos")
    result = extract_frames(warehouse.engine, cfg)
    assert result.ok and result.written == 2
    for frame, uri, sha in rows(warehouse, "SELECT frame, uri, sha256 FROM extracted_frames "
                                           "ORDER BY frame"):
        assert uri == f"s3://{bucket}/frames/{PROJECT}/dh-a/{frame:06d}.jpg"
        data = fs.cat_file(uri)
        assert hashlib.sha256(data).hexdigest() == sha
        local = tmp_path / f"{frame}.jpg"
        local.write_bytes(data)
        assert read_index(decode_gray(local)[0]) == frame
    manifest = fs.cat_file(f"{bucket}/frames/{PROJECT}/dh-a/manifest.jsonl").decode()
    assert [json.loads(line)["frame"] for line in manifest.splitlines()] == [5, 77]
    assert extract_frames(warehouse.engine, cfg).skipped == 2
    fs.rm_file(f"{bucket}/frames/{PROJECT}/dh-a/000077.jpg")  # gone from the bucket: written again
    again = extract_frames(warehouse.engine, cfg)
    assert (again.written, again.skipped) == (1, 1)
    assert fs.exists(f"{bucket}/frames/{PROJECT}/dh-a/000077.jpg")


def test_the_same_problem_in_two_videos_is_two_rows_and_stays_two(warehouse, tmp_path, clips):
    """sync_errors keeps one row per problem and video: the same reason in two videos (no label
    row to tell them apart) is two rows, and a re-run replaces each rather than adding to them."""
    media = tmp_path / "media"
    media.mkdir()
    for name in ("a1.mp4", "a2.mp4"):
        (media / name).write_bytes((clips / "a.mp4").read_bytes())
    sync(warehouse, tmp_path, [label_row("a1.mp4", "dh-a1", [3, 150]),
                               label_row("a2.mp4", "dh-a2", [3, 150])])
    runs = [extract_frames(warehouse.engine, ExtractFramesConfig(
        dest=str(tmp_path / "dest"), media_root=str(media))) for _ in range(2)]
    assert [run.written for run in runs] == [2, 0]
    recorded = rows(warehouse, "SELECT data_title, field, reason, run_id, first_occurred_at "
                               "FROM sync_errors ORDER BY data_title")
    assert [(title, field) for title, field, *_ in recorded] == [("a1.mp4", "frame"), ("a2.mp4", "frame")]
    assert recorded[0][2] == recorded[1][2] and "past the end" in recorded[0][2]
    assert {run_id for *_, run_id, _ in recorded} == {runs[1].run_id}
    second_run_started = rows(warehouse, "SELECT started_at FROM sync_runs WHERE run_id = :r",
                              r=runs[1].run_id)[0][0]
    assert all(first < second_run_started for *_, first in recorded)  # first seen in the first run


def stored_images(dest: Path) -> list[str]:
    return sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())


def test_prune_removes_the_images_of_frames_no_longer_labeled_and_of_videos_gone(warehouse, tmp_path, clips):
    """Labels removed from two frames of one video and the other video deleted (a complete export without
    it): without --prune their images stay; with it they go from the folder with their rows, every format,
    an unlabeled frame extracted on purpose too, the manifest is rewritten, the gone video's folder goes,
    and the run counts them as deleted."""
    sync(warehouse, tmp_path, [label_row("a.mp4", "dh-a", [3, 40, 41, 97]), label_row("b.mkv", "dh-b", [0, 55])])
    dest = tmp_path / "dest"
    assert extract_frames(warehouse.engine, config(tmp_path, clips)).written == 6
    assert extract_frames(warehouse.engine, config(tmp_path, clips, fmt="png", titles=("a.mp4",), frames=(20, 97))).written == 2
    export = tmp_path / "complete.json"
    export.write_text(json.dumps([label_row("a.mp4", "dh-a", [3, 40])]))
    assert sync_export(warehouse.engine, ExportSyncConfig(path=str(export), project_hash=PROJECT, delete_missing=True)).ok
    before = stored_images(dest)

    kept = extract_frames(warehouse.engine, config(tmp_path, clips))
    assert (kept.written, kept.skipped, kept.pruned) == (0, 2, 0) and stored_images(dest) == before

    pruned = extract_frames(warehouse.engine, config(tmp_path, clips, prune=True))
    assert (pruned.written, pruned.skipped, pruned.pruned, pruned.failures) == (0, 2, 6, [])
    assert stored_images(dest) == [f"{PROJECT}/dh-a/000003.jpg", f"{PROJECT}/dh-a/000040.jpg", f"{PROJECT}/dh-a/manifest.jsonl"]
    assert not (dest / PROJECT / "dh-b").exists()
    assert rows(warehouse, "SELECT data_hash, frame, format FROM extracted_frames ORDER BY frame") == [
        ("dh-a", 3, "jpg"), ("dh-a", 40, "jpg")]
    manifest = [json.loads(line) for line in (dest / PROJECT / "dh-a" / "manifest.jsonl").read_text().splitlines()]
    assert [(line["frame"], line["data_title"], len(line["labels"])) for line in manifest] == [(3, "a.mp4", 1), (40, "a.mp4", 1)]
    assert rows(warehouse, "SELECT inserted, unchanged, deleted, status FROM sync_runs WHERE run_id = :r",
                r=pruned.run_id) == [(0, 2, 6, "succeeded")]

    again = extract_frames(warehouse.engine, config(tmp_path, clips, prune=True))
    assert (again.written, again.skipped, again.pruned) == (0, 2, 0)

    sync(warehouse, tmp_path, [label_row("a.mp4", "dh-a", [3])])
    (dest / PROJECT / "dh-a" / "000040.jpg").unlink()  # already gone (a crash mid-prune, a lifecycle rule)
    last = extract_frames(warehouse.engine, config(tmp_path, clips, prune=True))
    assert (last.pruned, last.failures) == (1, [])
    assert rows(warehouse, "SELECT frame FROM extracted_frames") == [(3,)]
    assert stored_images(dest) == [f"{PROJECT}/dh-a/000003.jpg", f"{PROJECT}/dh-a/manifest.jsonl"]


def test_a_data_hash_that_would_cut_an_object_key_is_refused_on_s3_and_kept_in_a_folder(warehouse, tmp_path, clips, s3):
    """s3fs reads `?versionId=` in a path as a version and cuts the key there: every frame of a data hash
    `v?versionId=` was written to the one object `.../v`, each over the one before. On S3 such a video is
    refused before it is read; in a folder, where ? and # are plain characters, it is written. A prune on S3
    goes past such a video's rows (recorded by an older version) instead of stopping at it."""
    fs, bucket = s3
    fs.put_file(str(clips / "a.mp4"), f"{bucket}/videos/a.mp4")
    labeled = [label_row("a.mp4", "dh-a", [5, 8]), label_row("a.mp4", "v?versionId=", [5, 6], label_hash="lh-v"),
               label_row("a.mp4", "w#x", [7], label_hash="lh-w")]
    sync(warehouse, tmp_path, labeled)
    on_s3 = dict(dest=f"s3://{bucket}/frames", media_root=f"s3://{bucket}/videos")
    result = extract_frames(warehouse.engine, ExtractFramesConfig(**on_s3))
    assert result.written == 2
    assert sorted((f.field, f.reason) for f in result.failures) == [
        ("data_title", f"unsafe name for an object store (? and # end a key there): '{PROJECT}/{h}'; video skipped")
        for h in ("v?versionId=", "w#x")]
    assert sorted(fs.find(f"{bucket}/frames")) == [f"{bucket}/frames/{PROJECT}/dh-a/{name}"
                                                  for name in ("000005.jpg", "000008.jpg", "manifest.jsonl")]
    in_folder = extract_frames(warehouse.engine, config(tmp_path, clips))
    assert in_folder.ok and in_folder.written == 5
    assert read_index(decode_gray(tmp_path / "dest" / PROJECT / "v?versionId=" / "000006.jpg")[0]) == 6

    with warehouse.engine.begin() as connection:  # as a version before the refusal recorded it on S3
        connection.execute(text("INSERT INTO extracted_frames (dest, project_hash, data_hash, frame, format, uri, sha256) "
                                "VALUES (:dest, :project, 'v?versionId=', 6, 'jpg', 'u', 's')"),
                           {"dest": on_s3["dest"], "project": PROJECT})
    sync(warehouse, tmp_path, [label_row("a.mp4", "dh-a", [5]), label_row("a.mp4", "v?versionId=", [5], label_hash="lh-v")])
    pruned = extract_frames(warehouse.engine, ExtractFramesConfig(**on_s3, prune=True))
    assert pruned.pruned == 1  # the older rows of v?versionId= go too; its objects cannot be named
    assert sorted(fs.find(f"{bucket}/frames")) == [f"{bucket}/frames/{PROJECT}/dh-a/{name}"
                                                  for name in ("000005.jpg", "manifest.jsonl")]
    assert rows(warehouse, "SELECT data_hash, frame FROM extracted_frames WHERE dest = :d ORDER BY 1, 2",
                d=on_s3["dest"]) == [("dh-a", 5)]


def test_prune_of_one_project_on_s3(warehouse, tmp_path, clips, s3):
    """On S3 the objects go (and the manifest of a video left with none); --project-hash keeps another
    project's images, unlabeled or not."""
    fs, bucket = s3
    fs.put_file(str(clips / "a.mp4"), f"{bucket}/videos/a.mp4")
    sync(warehouse, tmp_path, [label_row("a.mp4", "dh-a", [5, 77])])
    other = tmp_path / "other.json"
    other.write_text(json.dumps([label_row("a.mp4", "dh-o", [9])]))
    assert sync_export(warehouse.engine, ExportSyncConfig(path=str(other), project_hash="proj-2")).ok
    cfg = dict(dest=f"s3://{bucket}/frames", media_root=f"s3://{bucket}/videos")
    assert extract_frames(warehouse.engine, ExtractFramesConfig(**cfg)).written == 3
    export = tmp_path / "none-left.json"
    export.write_text(json.dumps([label_row("a.mp4", "dh-a", [])]))  # the video stays, its labels go
    assert sync_export(warehouse.engine, ExportSyncConfig(path=str(export), project_hash=PROJECT)).ok
    export.write_text(json.dumps([]))
    assert sync_export(warehouse.engine, ExportSyncConfig(path=str(export), project_hash="proj-2", delete_missing=True)).ok

    result = extract_frames(warehouse.engine, ExtractFramesConfig(**cfg, project_hash=PROJECT, prune=True))
    assert (result.written, result.pruned) == (0, 2)
    assert sorted(fs.find(f"{bucket}/frames")) == [f"{bucket}/frames/proj-2/dh-o/000009.jpg",
                                                   f"{bucket}/frames/proj-2/dh-o/manifest.jsonl"]
    assert rows(warehouse, "SELECT project_hash, frame FROM extracted_frames") == [("proj-2", 9)]


def prune_while_another_worker_holds(warehouse, data_hash, cfg):
    """extract_frames(cfg) while another session claims the video (Postgres)."""
    other = create_warehouse_engine(warehouse.url, warehouse.schema)
    try:
        with other.connect() as connection, connection.begin():
            assert frames_wh.claim(connection, frames_wh.VideoWork(PROJECT, data_hash, None, None, ()))
            return extract_frames(warehouse.engine, cfg)
    finally:
        other.dispose()


def test_prune_on_postgres_skips_a_video_another_worker_holds(postgres_warehouse, tmp_path, clips):
    """A video claimed by another worker (its data_units row locked) is left for a later prune."""
    warehouse = postgres_warehouse
    sync(warehouse, tmp_path, [label_row("a.mp4", "dh-a", [3, 40]), label_row("b.mkv", "dh-b", [0, 55])])
    assert extract_frames(warehouse.engine, config(tmp_path, clips)).written == 4
    sync(warehouse, tmp_path, [label_row("a.mp4", "dh-a", [3]), label_row("b.mkv", "dh-b", [0])])
    held = prune_while_another_worker_holds(warehouse, "dh-a", config(tmp_path, clips, prune=True))
    assert (held.pruned, held.busy) == (1, 2)  # skipped by the extraction, then by the prune
    assert rows(warehouse, "SELECT data_hash, frame FROM extracted_frames ORDER BY 1, 2") == [
        ("dh-a", 3), ("dh-a", 40), ("dh-b", 0)]
    released = extract_frames(warehouse.engine, config(tmp_path, clips, prune=True))
    assert (released.pruned, released.busy) == (1, 0)
    assert not (tmp_path / "dest" / PROJECT / "dh-a" / "000040.jpg").exists()


def test_prune_on_s3_removes_frame_images_no_row_records(warehouse, tmp_path, clips, s3):
    """Images no row records (uploaded by a run killed before its commit) of a frame no longer labeled and of
    a video the warehouse no longer has go with that video's manifest; objects that are no frame image, or
    outside a project's video folders, or of another project with --project-hash, stay."""
    fs, bucket = s3
    fs.put_file(str(clips / "a.mp4"), f"{bucket}/videos/a.mp4")
    sync(warehouse, tmp_path, [label_row("a.mp4", "dh-a", [5, 77])])
    cfg = dict(dest=f"s3://{bucket}/frames", media_root=f"s3://{bucket}/videos")
    assert extract_frames(warehouse.engine, ExtractFramesConfig(**cfg)).written == 2
    strays = [f"{PROJECT}/dh-a/000012.jpg", f"{PROJECT}/dh-gone/000003.png", f"{PROJECT}/dh-gone/manifest.jsonl"]
    kept = [f"{PROJECT}/dh-a/notes.txt", f"{PROJECT}/dh-a/0000012.jpg", f"{PROJECT}/000009.jpg",
            f"{PROJECT}/dh-a/deeper/000004.jpg", "proj-2/dh-o/000001.jpg", "other/000001.jpg"]
    for key in strays + kept:
        fs.pipe_file(f"{bucket}/frames/{key}", b"image")

    one_project = extract_frames(warehouse.engine, ExtractFramesConfig(**cfg, project_hash=PROJECT, prune=True))
    assert (one_project.written, one_project.skipped, one_project.pruned, one_project.failures) == (0, 2, 2, [])
    assert sorted(fs.find(f"{bucket}/frames")) == sorted(
        f"{bucket}/frames/{key}" for key in kept + [f"{PROJECT}/dh-a/{n}" for n in ("000005.jpg", "000077.jpg", "manifest.jsonl")])
    every_project = extract_frames(warehouse.engine, ExtractFramesConfig(**cfg, prune=True))
    assert every_project.pruned == 0  # proj-2 is neither synced nor recorded here: its folder is not ours to judge
    assert rows(warehouse, "SELECT data_hash, frame FROM extracted_frames ORDER BY 1, 2") == [("dh-a", 5), ("dh-a", 77)]


def test_prune_keeps_images_recorded_under_another_spelling_of_the_dest_and_projects_it_never_synced(warehouse, tmp_path,
                                                                                                    clips):
    """Rows recorded under the folder's path are the images a `file://` spelling of it lists (the run cannot extract
    them again: no media): kept. A project neither synced nor recorded here, even named with --project-hash, is
    another warehouse's: kept. Until 2026-11-30 (the first version of this prune) both were deleted."""
    sync(warehouse, tmp_path, [label_row("a.mp4", "dh-a", [3, 40])])
    assert extract_frames(warehouse.engine, config(tmp_path, clips)).written == 2
    dest = tmp_path / "dest"
    others = dest / "proj-other" / "dh-o"
    others.mkdir(parents=True)
    (others / "000001.jpg").write_bytes(b"theirs")
    no_media = tmp_path / "no-media"
    no_media.mkdir()
    spelled = ExtractFramesConfig(dest=f"file://{dest}", media_root=str(no_media), prune=True)
    result = extract_frames(warehouse.engine, spelled)
    assert (result.written, result.pruned, [f.field for f in result.failures]) == (0, 0, ["video"])
    named = ExtractFramesConfig(dest=str(dest), media_root=str(no_media), project_hash="proj-other", prune=True)
    assert extract_frames(warehouse.engine, named).pruned == 0
    assert stored_images(dest) == [f"{PROJECT}/dh-a/000003.jpg", f"{PROJECT}/dh-a/000040.jpg",
                                   f"{PROJECT}/dh-a/manifest.jsonl", "proj-other/dh-o/000001.jpg"]


def test_prune_on_postgres_leaves_the_unrecorded_images_of_a_video_another_worker_holds(postgres_warehouse, tmp_path,
                                                                                          clips):
    """A worker that holds a video may have uploaded images it has yet to record: they stay until a prune
    can claim the video."""
    warehouse = postgres_warehouse
    sync(warehouse, tmp_path, [label_row("a.mp4", "dh-a", [3])])
    assert extract_frames(warehouse.engine, config(tmp_path, clips)).written == 1
    uploading = tmp_path / "dest" / PROJECT / "dh-a" / "000040.jpg"
    uploading.write_bytes(b"image")
    held = prune_while_another_worker_holds(warehouse, "dh-a", config(tmp_path, clips, prune=True))
    assert (held.pruned, held.busy) == (0, 2) and uploading.exists()
    released = extract_frames(warehouse.engine, config(tmp_path, clips, prune=True))
    assert (released.pruned, released.busy) == (1, 0) and not uploading.exists()
    assert rows(warehouse, "SELECT frame FROM extracted_frames") == [(3,)]


HOLD_A_RUN = """
import sys
from connector.db import create_warehouse_engine
from connector.lock import run_alive
with run_alive(create_warehouse_engine(sys.argv[1], sys.argv[2] or None), sys.argv[3]):
    print("held", flush=True)
    sys.stdin.read()
"""


@contextlib.contextmanager
def held_in_another_process(warehouse, run_id):
    holder = subprocess.Popen([sys.executable, "-c", HOLD_A_RUN, warehouse.url, warehouse.schema or "", run_id],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "held\n"
    try:
        yield
    finally:
        holder.communicate("")


def closes_the_earlier_run_only_once_it_ended(warehouse, tmp_path, clips, held):
    sync(warehouse, tmp_path, [label_row("a.mp4", "dh-a", [3])])
    earlier = "9b5c1b8e-0000-4000-8000-000000000001"
    warehouse.execute("INSERT INTO sync_runs (run_id, source, started_at, status) "
                      "VALUES (:r, 'extract-frames', :now, 'running')", r=earlier, now=utc_now())
    with held(warehouse, earlier):
        assert extract_frames(warehouse.engine, config(tmp_path, clips)).written == 1
        assert rows(warehouse, "SELECT status FROM sync_runs WHERE run_id = :r", r=earlier) == [("running",)]
    assert extract_frames(warehouse.engine, config(tmp_path, clips)).skipped == 1
    assert rows(warehouse, "SELECT status, error FROM sync_runs WHERE run_id = :r", r=earlier) == [
        ("interrupted", INTERRUPTED)]


def test_an_extract_frames_run_going_on_in_the_same_process_is_not_closed_by_another(warehouse, tmp_path, clips):
    """A run closes an earlier one still marked running only once that run has ended (as after a kill); two library
    calls in one process run side by side."""
    closes_the_earlier_run_only_once_it_ended(warehouse, tmp_path, clips,
                                              lambda warehouse, run_id: run_alive(warehouse.engine, run_id))


def test_on_postgres_an_extract_frames_run_of_another_process_is_closed_once_its_lock_is_free(postgres_warehouse,
                                                                                              tmp_path, clips):
    """extract-frames runs overlap on Postgres: a run is alive while its process holds its lock (lock.run_alive)."""
    closes_the_earlier_run_only_once_it_ended(postgres_warehouse, tmp_path, clips, held_in_another_process)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_manifest_that_cannot_be_written_fails_that_video_only(warehouse, tmp_path, clips, workers):
    """A storage error after the images (the manifest, a stale image) is that video's problem, recorded
    with the rest going on; its images are written again by the next run, which resolves it."""
    sync(warehouse, tmp_path, [label_row("a.mp4", "dh-a", [3, 40]), label_row("b.mkv", "dh-b", [0])])
    blocked = tmp_path / "dest" / PROJECT / "dh-a" / "manifest.jsonl"
    blocked.mkdir(parents=True)  # a folder where the manifest goes: no file can be written there
    cfg = config(tmp_path, clips, workers=workers)
    result = extract_frames(warehouse.engine, cfg)
    assert (result.videos, result.written) == (2, 1)
    assert [(f.data_title, f.field) for f in result.failures] == [("a.mp4", "dest")]
    assert "cannot update the manifest" in result.failures[0].reason
    assert rows(warehouse, "SELECT data_hash, frame FROM extracted_frames") == [("dh-b", 0)]
    assert rows(warehouse, "SELECT data_title, field FROM sync_errors WHERE resolved_at IS NULL") == [
        ("a.mp4", "dest")]
    assert rows(warehouse, "SELECT status FROM sync_runs WHERE run_id = :r", r=result.run_id) == [("partial",)]

    blocked.rmdir()
    again = extract_frames(warehouse.engine, cfg)
    assert again.ok and (again.written, again.skipped) == (2, 1)
    manifest = [json.loads(line)["frame"] for line in blocked.read_text().splitlines()]
    assert manifest == [3, 40]
    assert rows(warehouse, "SELECT count(*) FROM sync_errors WHERE resolved_at IS NULL") == [(0,)]


def test_a_killed_writes_temporary_files_are_removed_with_the_next_write(warehouse, tmp_path, clips):
    sync(warehouse, tmp_path, [label_row("a.mp4", "dh-a", [3])])
    folder = tmp_path / "dest" / PROJECT / "dh-a"
    folder.mkdir(parents=True)
    leftover = folder / f".000003.jpg.{'0' * 32}.tmp"  # as Destination.write_bytes names them
    leftover.write_bytes(b"half an image")
    kept = folder / ".notes.tmp"  # not one of ours
    kept.write_text("mine")
    assert extract_frames(warehouse.engine, config(tmp_path, clips)).written == 1
    assert sorted(p.name for p in folder.iterdir()) == [".notes.tmp", "000003.jpg", "manifest.jsonl"]


def test_an_unreachable_destination_fails_once_before_any_video(warehouse, tmp_path, clips, s3, monkeypatch):
    sync(warehouse, tmp_path, [label_row("a.mp4", "dh-a", [3])])
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    cfg = ExtractFramesConfig(dest="s3://frames/out", media_root=str(clips))
    with pytest.raises(ValueError, match=r"^cannot reach the destination s3://frames/out: Could not connect"):
        extract_frames(warehouse.engine, cfg)
    assert rows(warehouse, "SELECT count(*) FROM sync_runs WHERE source = 'extract-frames'") == [(0,)]


def test_a_destination_bucket_that_does_not_exist_fails_once_before_any_video(warehouse, tmp_path, clips, s3):
    """A typo in the bucket's name: until 2026-11-30 every video was decoded, then failed at its upload."""
    _fs, bucket = s3
    sync(warehouse, tmp_path, [label_row("a.mp4", "dh-a", [3])])
    cfg = ExtractFramesConfig(dest=f"s3://{bucket}-typo/out", media_root=str(clips))
    with pytest.raises(ValueError, match=rf"^the destination s3://{bucket}-typo/out: there is no bucket '{bucket}-typo'$"):
        extract_frames(warehouse.engine, cfg)
    assert rows(warehouse, "SELECT count(*) FROM sync_runs WHERE source = 'extract-frames'") == [(0,)]
    assert extract_frames(warehouse.engine, ExtractFramesConfig(dest=f"s3://{bucket}/new/prefix",
                                                                media_root=str(clips))).written == 1


@pytest.mark.parametrize("dest, message", [
    ("s3://AKIAKEY:s3cr3t@bucket/frames", "credentials do not go in the URL"),
    ("https://user:s3cr3t@example.com/frames", "not to an http(s) URL"),
])
def test_destinations_refused_without_their_secrets(dest, message):
    with pytest.raises(ValueError, match=re.escape(message)) as refused:
        ExtractFramesConfig(dest=dest, media_root="m")
    assert "s3cr3t" not in str(refused.value)
