"""Destinations and media roots through fsspec: a local folder, file://, and S3 on a real S3
API server (moto's server mode) listening on 127.0.0.1."""

import hashlib
import os
import tempfile
import threading
import time

import fsspec
import pytest
from moto.server import ThreadedMotoServer

from connector.frames.probe import probe
from connector.frames.sources import VideoNotFound, candidates, open_video
from connector.frames.storage import (
    Destination,
    UnsafePath,
    frame_key,
    safe_parts,
)
from connector.frames.video import FRAMES_PER_PASS, extract_video
from connector.storage_options import parse_storage_options
from tests.media import INDEX_BITS, decode_gray, make_video, read_index


@pytest.mark.parametrize("name", ["a.mp4", "dir/a b.mp4", "x/y/z.webm", "é.mp4", "1:2.mp4"])
def test_safe_names(name):
    assert "/".join(safe_parts(name)) == name


@pytest.mark.parametrize("name", ["", "../x.mp4", "a/../../x", "/etc/passwd", "a//b", "./a",
                                  "C:\\x.mp4", "c:x", "~/x", "a\\..\\b", "x\x00y", " a",
                                  "s3://bucket/x"])
def test_unsafe_names(name):
    with pytest.raises(UnsafePath):
        safe_parts(name)


def test_frame_key_layout():
    assert frame_key("p1", "d1", 42, "jpg") == "p1/d1/000042.jpg"
    with pytest.raises(UnsafePath):
        frame_key("..", "d1", 1, "jpg")
    with pytest.raises(UnsafePath):
        frame_key("p1", "a/b", 1, "jpg")


def test_parse_storage_options():
    assert parse_storage_options(["endpoint_url=http://127.0.0.1:9", "anon=true",
                                  'client_kwargs={"region_name": "eu-west-1"}']) == {
        "endpoint_url": "http://127.0.0.1:9", "anon": True,
        "client_kwargs": {"region_name": "eu-west-1"}}
    for pairs, message in ((["anon=true", "s3cr3t"], "storage option 2 is not KEY=VALUE (no =)"),
                           (["=s3cr3t"], "storage option 1 is not KEY=VALUE (no key)")):
        with pytest.raises(ValueError) as raised:
            parse_storage_options(pairs)
        assert str(raised.value) == message  # the value, perhaps a secret, is not repeated


@pytest.mark.parametrize("scheme", ["plain", "file"])
def test_local_destination(tmp_path, scheme):
    root = tmp_path / "out"
    url = str(root) if scheme == "plain" else f"file://{root}"
    dest = Destination(url)
    stored = dest.write_bytes("p/d/000001.jpg", b"abc")
    assert (root / "p/d/000001.jpg").read_bytes() == b"abc"
    assert stored.uri == f"file://{root}/p/d/000001.jpg"
    assert stored.sha256 == hashlib.sha256(b"abc").hexdigest() and stored.bytes == 3
    assert dest.exists("p/d/000001.jpg") and not dest.exists("p/d/000002.jpg")
    assert [p.name for p in (root / "p/d").iterdir()] == ["000001.jpg"]  # no temp files left
    with pytest.raises(UnsafePath):
        dest.write_bytes("../escape.jpg", b"x")
    assert not (tmp_path / "escape.jpg").exists()


_SERVER: list = []


@pytest.fixture
def s3_endpoint():
    """One moto server on 127.0.0.1 per test process (other modules import these fixtures);
    a daemon thread, gone with the process."""
    if not _SERVER:
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        _SERVER.append("http://%s:%d" % server.get_host_and_port())
    return _SERVER[0]


@pytest.fixture
def s3(s3_endpoint, monkeypatch):
    """AWS settings from the environment, as a user would set them; a fresh bucket. fsspec
    caches filesystems by their arguments, not the environment: start from an empty cache."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    fsspec.get_filesystem_class("s3").clear_instance_cache()
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    bucket = f"b{os.urandom(4).hex()}"
    fs.mkdir(bucket)
    return fs, bucket


def test_s3_destination_from_environment(s3):
    fs, bucket = s3
    dest = Destination(f"s3://{bucket}/frames")
    stored = dest.write_bytes("p/d/000007.png", b"\x89PNG data")
    assert stored.uri == f"s3://{bucket}/frames/p/d/000007.png"
    assert fs.cat_file(f"{bucket}/frames/p/d/000007.png") == b"\x89PNG data"
    assert dest.exists("p/d/000007.png")


def test_s3_destination_from_storage_options(s3, s3_endpoint, monkeypatch):
    fs, bucket = s3
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    options = parse_storage_options([f"endpoint_url={s3_endpoint}", "key=testing",
                                     "secret=testing"])
    dest = Destination(f"s3://{bucket}/x", {**options, "skip_instance_cache": True})
    dest.write_bytes("a.jpg", b"jpeg")
    assert fs.cat_file(f"{bucket}/x/a.jpg") == b"jpeg"


def test_candidates_and_unsafe_titles():
    assert candidates("clip.mp4", "h1") == ["clip.mp4", "h1", "h1.mp4"]
    assert candidates(None, "h1") == ["h1"]
    for bad in ("../x.mp4", "/abs/x.mp4", "a/../../x.mp4", "x:y.mp4", "~clip.mp4", "a\\b.mp4"):
        assert candidates(bad, "h1") == ["h1", "h1.mp4"]  # never read as a path; the data hash may find it
    assert candidates("clip.mp4 ", "h1") == ["h1"]  # nor is a suffix that is not a safe name
    for bad_hash in ("../h1", "a/b"):
        with pytest.raises(UnsafePath):
            candidates("clip.mp4", bad_hash)


def test_local_media_root_by_title_then_hash(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub/clip.mp4").write_bytes(b"v")
    (tmp_path / "h2.mp4").write_bytes(b"v")
    with open_video(str(tmp_path), "sub/clip.mp4", "h1") as src:
        assert src == f"{tmp_path}/sub/clip.mp4"
    with open_video(str(tmp_path), "renamed.mp4", "h2") as src:
        assert src == f"{tmp_path}/h2.mp4"
    with pytest.raises(VideoNotFound):
        with open_video(str(tmp_path), "absent.mp4", "h3"):
            pass


def test_video_from_s3_media_root_to_s3_destination(s3, tmp_path):
    """The whole path on loopback S3: ffmpeg reads a presigned URL, frames go back to S3."""
    fs, bucket = s3
    video = make_video(tmp_path / "clip.mp4")
    fs.put_file(str(video), f"{bucket}/media/clip.mp4")
    dest = Destination(f"s3://{bucket}/out")
    with open_video(f"s3://{bucket}/media", "clip.mp4", "dh") as src:
        assert src.startswith("http://127.0.0.1:")
        info = probe(src)
        assert info.fingerprint == probe(str(video)).fingerprint
        result = extract_video(src, [3, 50, 97], dest, "ph", "dh", fmt="png", info=info,
                               seek_cost=2)
    assert [r.frame for r in result.frames] == [3, 50, 97]
    for record in result.frames:
        key = f"{bucket}/out/ph/dh/{record.frame:06d}.png"
        assert record.uri == f"s3://{key}"
        data = fs.cat_file(key)
        assert hashlib.sha256(data).hexdigest() == record.sha256 and len(data) == record.bytes
        local = tmp_path / f"{record.frame}.png"
        local.write_bytes(data)
        assert read_index(decode_gray(local)[0]) == record.frame
        assert (record.width, record.height) == (160, 96)


def test_extract_video_to_local_folder(tmp_path):
    video = make_video(tmp_path / "clip.mkv", vfr=True)
    dest = Destination(str(tmp_path / "dest"))
    result = extract_video(str(video), [0, 10, 99, 500], dest, "ph", "dh", fmt="jpg")
    assert [r.frame for r in result.frames] == [0, 10, 99]
    assert result.out_of_range == [500]
    names = sorted(p.name for p in (tmp_path / "dest/ph/dh").iterdir())
    assert names == ["000000.jpg", "000010.jpg", "000099.jpg"]
    assert result.frames[1].timestamp_s == pytest.approx(0.4 + 0.013 + 0.05, abs=0.0015)


def test_a_long_run_of_frames_is_uploaded_a_pass_at_a_time(tmp_path, monkeypatch):
    """More wanted frames than one pass writes: TMPDIR never holds more than FRAMES_PER_PASS images (until
    2026-11-30 it held every image of the video until the upload), and every frame is still its own, in
    order, with the frames past the end reported once."""
    video = make_video(tmp_path / "long.mp4", frames=FRAMES_PER_PASS + 600, gop=250)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    most, running = [0], [True]

    def watch():
        while running[0]:
            most[0] = max(most[0], sum(1 for _ in scratch.rglob("*.jpg")))
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        wanted = [*range(FRAMES_PER_PASS + 600), FRAMES_PER_PASS + 650, -1]
        result = extract_video(str(video), wanted, Destination(str(tmp_path / "dest")), "ph", "dh")
    finally:
        running[0] = False
        watcher.join()
    assert FRAMES_PER_PASS // 2 < most[0] <= FRAMES_PER_PASS
    assert [r.frame for r in result.frames] == list(range(FRAMES_PER_PASS + 600))
    assert (result.out_of_range, result.missing, result.passes) == ([-1, FRAMES_PER_PASS + 650], [], 2)
    folder = tmp_path / "dest" / "ph" / "dh"
    for frame in (0, *range(FRAMES_PER_PASS - 3, FRAMES_PER_PASS + 2), FRAMES_PER_PASS + 599):  # the seam
        assert read_index(decode_gray(folder / f"{frame:06d}.jpg")[0]) == frame % 2 ** INDEX_BITS
    assert list(scratch.iterdir()) == []
