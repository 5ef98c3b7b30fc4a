"""Frame-exact extraction: every extracted image is compared with a reference decode of exactly
that frame (all frames decoded from the start, in order) of videos that draw their own index."""

import json
import math
import subprocess

import pytest

import connector.frames.extract as extract_mod
from connector.frames.extract import ExtractError, codec_options, extract
from connector.frames.manifest import manifest_lines
from connector.frames.probe import ProbeError, hide_source, probe
from connector.frames.storage import Destination
from connector.frames.video import FRAMES_PER_PASS, _pass_length, extract_video
from connector.frames.warehouse import VideoWork
from connector.frames.tools import ffmpeg_major, ffprobe_exe
from tests.media import _PATTERN, INDEX_BITS, decode_gray, make_bench_video, make_video, mean_abs_diff, read_index

TARGETS = [0, 1, 5, 13, 14, 40, 41, 47, 60, 61, 62, 63, 88, 99]

VIDEOS = {
    "bframes.mp4": {},                       # H.264, 3 B-frames, pyramid, GOP 12
    "bframes.mkv": {},                       # same stream, pts-indexed container
    "bframes.ts": {},                        # MPEG-TS: start_time > 0
    "vfr.mp4": {"vfr": True},                # irregular frame durations
    "vfr.mkv": {"vfr": True},
    "open_gop.mp4": {"open_gop": True, "gop": 24},
    "mpeg4.avi": {"codec": "mpeg4", "bframes": 0},
}


def _vfr_seconds(n):
    return n * 0.04 + (n % 3) * 0.013 + (n // 10) * 0.05


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("videos")
    made = {name: make_video(root / name, **kw) for name, kw in VIDEOS.items()}
    # an mp4 cut by stream copy: an edit list makes the demuxer discard a GOP's lead-in
    cut = root / "cut.mp4"
    subprocess.run([extract_mod.ffmpeg_exe(), "-v", "error", "-y", "-ss", "1.3", "-i",
                    str(made["bframes.mp4"]), "-c", "copy", str(cut)], check=True)
    made["cut.mp4"] = cut
    # cut after the input with -copyinkf: packets before the first keyframe, which no decoder outputs
    lead_in = root / "lead_in.mp4"
    subprocess.run([extract_mod.ffmpeg_exe(), "-v", "error", "-y", "-i", str(made["bframes.mp4"]), "-ss", "1.3",
                    "-copyinkf", "-c", "copy", str(lead_in)], check=True)
    made["lead_in.mp4"] = lead_in
    # open GOPs cut by stream copy into .mkv (a DVD's MPEG-2 as MakeMKV writes it, a remuxed recording):
    # the pictures that lead the first keyframe refer to a GOP cut away, and the decoder drops them
    for name, codec, cut_at in (("open_gop_cut.mkv", ["-c:v", "mpeg2video", "-g", "12", "-bf", "2", "-q:v", "2"], "1.0"),
                                ("open_gop_cut_h264.mkv", ["-c:v", "libx264", "-x264-params",
                                 "keyint=23:min-keyint=23:scenecut=0:bframes=3:b-adapt=0:open-gop=1"], "0.9")):
        whole = root / f"{name}.ts"
        subprocess.run([extract_mod.ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=gray:s=160x96:r=25",
                        "-frames:v", "150", "-vf", f"format=gray,{_PATTERN},format=yuv420p", *codec, str(whole)], check=True)
        subprocess.run([extract_mod.ffmpeg_exe(), "-v", "error", "-y", "-ss", cut_at, "-i", str(whole), "-c", "copy",
                        str(root / name)], check=True)
        made[name] = root / name
    return made


@pytest.fixture(scope="module")
def references(videos):
    return {name: decode_gray(path) for name, path in videos.items()}


PROBERS = [pytest.param(False, id="ffmpeg-only"),
           pytest.param(True, id="ffprobe", marks=pytest.mark.skipif(
               ffprobe_exe() is None, reason="no ffprobe on PATH"))]


@pytest.mark.parametrize("use_ffprobe", PROBERS)
@pytest.mark.parametrize("seek_cost", [2, 30])
@pytest.mark.parametrize("name", [*VIDEOS, "cut.mp4", "lead_in.mp4", "open_gop_cut.mkv", "open_gop_cut_h264.mkv"])
def test_each_frame_matches_the_reference_decode(videos, references, tmp_path, name,
                                                 seek_cost, use_ffprobe):
    ref = references[name]
    info = probe(str(videos[name]), use_ffprobe=use_ffprobe)
    assert info.frame_count == len(ref)
    assert info.exact
    run = extract(str(videos[name]), TARGETS + [len(ref), 10_000], tmp_path, fmt="png",
                  info=info, seek_cost=seek_cost)
    wanted = [t for t in TARGETS if t < len(ref)]
    assert [f.frame for f in run.frames] == wanted
    assert run.out_of_range == sorted(t for t in TARGETS + [len(ref), 10_000] if t >= len(ref))
    assert run.missing == []
    # ffmpeg 5 lands input seeks in open-GOP streams off the keyframe; the engine notices and
    # decodes those frames again from the start (frames stay exact, it costs one more pass).
    off_keyframe_ok = name.startswith("open_gop") and ffmpeg_major() < 6
    assert run.passes == 1 or (off_keyframe_ok and run.passes == 2), "a seek landed off its keyframe"
    for item in run.frames:
        got = decode_gray(item.path)
        assert len(got) == 1
        image = got[0]
        assert read_index(image) == read_index(ref[item.frame])
        assert mean_abs_diff(image, ref[item.frame]) < 1.0
        for neighbour in (item.frame - 1, item.frame + 1):
            if 0 <= neighbour < len(ref):
                assert mean_abs_diff(image, ref[neighbour]) > 5 * mean_abs_diff(image, ref[item.frame]) + 1
        assert item.timestamp_s == pytest.approx(info.timestamp(item.frame), abs=1e-6)


@pytest.mark.skipif(ffprobe_exe() is None, reason="no ffprobe on PATH")
def test_the_leading_pictures_of_a_cut_open_gop_are_no_frames(videos, references):
    """Their packets show before the first keyframe (MPEG-2: lower pts; H.264 in .mkv: none at all)."""
    for name in ("open_gop_cut.mkv", "open_gop_cut_h264.mkv"):
        packets = subprocess.run([ffprobe_exe(), "-v", "error", "-select_streams", "v:0", "-show_entries",
                                  "packet=pts,flags", "-of", "csv=p=0", str(videos[name])], capture_output=True, text=True)
        listed = packets.stdout.split()
        assert listed[0].endswith("K_") and not listed[1].endswith("K_"), name
        info = probe(str(videos[name]))
        assert info.frame_count == len(references[name]) < len(listed), name
        assert info.pts[0] == int(listed[0].split(",")[0]) and info.exact, name


def test_first_frame_is_frame_zero_even_after_an_edit_list(videos, references):
    ref = references["cut.mp4"]
    # the cut starts mid-GOP: its frame 0 is the original's frame 33, not the keyframe before
    assert read_index(ref[0]) == 33
    assert probe(str(videos["cut.mp4"])).keyframes[0] > 0


def test_vfr_timestamps_are_the_frames_own(videos, tmp_path):
    run = extract(str(videos["vfr.mkv"]), [0, 7, 29, 30, 77], tmp_path, fmt="jpg", seek_cost=2)
    assert [f.frame for f in run.frames] == [0, 7, 29, 30, 77]
    for item in run.frames:
        assert item.timestamp_s == pytest.approx(_vfr_seconds(item.frame), abs=0.0015)


def test_start_time_is_subtracted_from_timestamps(videos, tmp_path):
    info = probe(str(videos["bframes.ts"]))
    assert info.start_time > 0
    run = extract(str(videos["bframes.ts"]), [0, 50], tmp_path, fmt="jpg", seek_cost=2)
    assert [round(f.timestamp_s, 3) for f in run.frames] == [0.0, 2.0]


@pytest.mark.parametrize("fmt,magic", [("jpg", b"\xff\xd8\xff"), ("png", b"\x89PNG"),
                                       ("webp", b"RIFF")])
def test_formats(videos, references, tmp_path, fmt, magic):
    run = extract(str(videos["bframes.mp4"]), [3, 70], tmp_path, fmt=fmt)
    for item in run.frames:
        data = item.path.read_bytes()
        assert data.startswith(magic)
        image = decode_gray(item.path)[0]
        assert read_index(image) == item.frame
        assert mean_abs_diff(image, references["bframes.mp4"][item.frame]) < 4


def test_quality_maps_to_encoder_options(videos, tmp_path):
    assert codec_options("jpg", 100) == {"c:v": "mjpeg", "q:v": 2}
    assert codec_options("jpg", 1) == {"c:v": "mjpeg", "q:v": 31}
    assert codec_options("webp", 75) == {"c:v": "libwebp", "quality": 75, "lossless": 0}
    assert codec_options("png", None) == {"c:v": "png"}
    with pytest.raises(ValueError):
        codec_options("gif", None)
    with pytest.raises(ValueError):
        codec_options("jpg", 0)
    busy = make_bench_video(tmp_path / "busy.mp4", seconds=1, size="320x240")
    hi = extract(str(busy), [20], tmp_path / "hi", fmt="jpg", quality=100)
    lo = extract(str(busy), [20], tmp_path / "lo", fmt="jpg", quality=5)
    assert hi.frames[0].path.stat().st_size > lo.frames[0].path.stat().st_size


@pytest.fixture
def ffmpeg_calls(monkeypatch):
    calls = []
    real = subprocess.run

    def counting(argv, *a, **kw):
        if any("filter_complex" in a for a in argv):  # decoding passes, not probes
            calls.append(argv)
        return real(argv, *a, **kw)

    monkeypatch.setattr(extract_mod.subprocess, "run", counting)
    return calls


def test_one_ffmpeg_process_per_video(videos, tmp_path, ffmpeg_calls):
    run = extract(str(videos["bframes.mp4"]), TARGETS, tmp_path, fmt="jpg", seek_cost=2)
    assert len(run.frames) == len(TARGETS)
    assert len(ffmpeg_calls) == 1
    argv = ffmpeg_calls[0]
    assert argv.count("-i") == 6  # one input per segment, all in the same process
    assert argv.count("-ss") == 5


def test_dense_targets_decode_in_one_pass_without_seeking(videos, tmp_path, ffmpeg_calls):
    run = extract(str(videos["bframes.mp4"]), range(10, 60), tmp_path, fmt="jpg")
    assert len(run.frames) == 50
    assert len(ffmpeg_calls) == 1
    assert ffmpeg_calls[0].count("-i") == 1 and "-ss" not in ffmpeg_calls[0]


@pytest.fixture(scope="module")
def long_videos(tmp_path_factory):
    """Two passes and a bit of frames, in a container with a seek index and in one without (MPEG-TS), and with a
    keyframe every 12 frames or one keyframe only."""
    root = tmp_path_factory.mktemp("long")
    made = {suffix: make_video(root / f"long{suffix}", frames=2 * FRAMES_PER_PASS + 100) for suffix in (".mp4", ".ts")}
    made["one keyframe"] = make_video(root / "one-keyframe.mp4", frames=2 * FRAMES_PER_PASS + 100, gop=100_000)
    return made


def test_a_video_that_cannot_seek_is_extracted_in_one_pass_however_many_frames(long_videos, tmp_path, ffmpeg_calls):
    """Each pass would decode it from frame 0 again up to its frames: one pass instead, as before passes."""
    wanted = range(0, 2 * FRAMES_PER_PASS + 100, 2)  # more than one pass's worth
    assert not probe(str(long_videos[".ts"])).seekable
    run = extract_video(str(long_videos[".ts"]), wanted, Destination(str(tmp_path)), "ph", "dh")
    assert run.passes == 1 and len(ffmpeg_calls) == 1 and "-ss" not in ffmpeg_calls[0]
    assert [r.frame for r in run.frames] == list(wanted)
    for frame in (0, FRAMES_PER_PASS, 2 * FRAMES_PER_PASS + 98):
        assert read_index(decode_gray(tmp_path / "ph" / "dh" / f"{frame:06d}.jpg")[0]) == frame % 2 ** INDEX_BITS


def test_passes_end_where_the_next_starts_at_a_keyframe_after_them(long_videos, tmp_path, ffmpeg_calls):
    """A pass that started at a keyframe before the last pass's frames would decode them again: with one keyframe,
    every pass would start at frame 0. A pass runs on to the first frame whose keyframe is past its last one."""
    wanted = list(range(5, 2 * FRAMES_PER_PASS + 100))
    keyed = extract_video(str(long_videos[".mp4"]), wanted, Destination(str(tmp_path / "keyed")), "ph", "dh")
    assert keyed.passes == len(ffmpeg_calls) == 3 and [r.frame for r in keyed.frames] == wanted
    every_12 = tuple(range(0, 5000, 12))
    assert _pass_length(list(range(5000)), every_12) == 2004  # 2004 is a keyframe: the next pass starts there
    assert _pass_length(list(range(0, 5000, 2)), every_12) == 2004  # frame 4008, a keyframe
    assert _pass_length(list(range(5000)), (0,)) == 5000
    ffmpeg_calls.clear()
    single = extract_video(str(long_videos["one keyframe"]), wanted, Destination(str(tmp_path / "single")), "ph", "dh")
    assert single.passes == len(ffmpeg_calls) == 1 and [r.frame for r in single.frames] == wanted


def test_after_a_seek_that_missed_the_rest_of_the_video_is_one_pass_from_frame_zero(long_videos, tmp_path, monkeypatch,
                                                                                     ffmpeg_calls):
    """Every seek overshoots (as in the test below): the second pass's is redone from frame 0, and the frames after
    it are decoded in one more pass from frame 0, not in passes that would each seek and miss again."""
    real = extract_mod.seek_window
    monkeypatch.setattr(extract_mod, "seek_window", lambda *args: (real(*args)[0] + 1.0, real(*args)[1]))
    wanted = list(range(2 * FRAMES_PER_PASS + 100))
    run = extract_video(str(long_videos[".mp4"]), wanted, Destination(str(tmp_path)), "ph", "dh")
    assert [r.frame for r in run.frames] == wanted and run.missing == []
    assert run.passes == len(ffmpeg_calls) == 4  # 0..1999; 2000..3999 seeking, then again from 0; 4000.. from 0
    assert ["-ss" in argv for argv in ffmpeg_calls] == [False, True, False, False]
    for frame in (FRAMES_PER_PASS, 2 * FRAMES_PER_PASS, 2 * FRAMES_PER_PASS + 99):
        assert read_index(decode_gray(tmp_path / "ph" / "dh" / f"{frame:06d}.jpg")[0]) == frame % 2 ** INDEX_BITS


def test_misaligned_seek_is_redone_from_frame_zero(videos, references, tmp_path, monkeypatch,
                                                   ffmpeg_calls):
    # make every seek overshoot by a second: the pts check notices the frames are not the
    # planned ones and they are decoded again, from frame 0, in a second process
    real = extract_mod.seek_window

    def overshoot(*args):
        ss, trim_from = real(*args)
        return ss + 1.0, trim_from

    monkeypatch.setattr(extract_mod, "seek_window", overshoot)
    run = extract(str(videos["bframes.mp4"]), [5, 40, 80], tmp_path, fmt="png", seek_cost=0)
    assert run.passes == 2 and len(ffmpeg_calls) == 2
    assert "-ss" not in ffmpeg_calls[1]
    assert [f.frame for f in run.frames] == [5, 40, 80]
    assert [read_index(decode_gray(f.path)[0]) for f in run.frames] == [5, 40, 80]


def test_missing_and_corrupt_videos(tmp_path, videos):
    with pytest.raises(ProbeError):
        probe(str(tmp_path / "nope.mp4"))
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00not a video" * 1000)
    with pytest.raises(ProbeError) as err:
        probe(str(junk))
    assert str(junk) not in str(err.value)  # paths/URLs are redacted from messages
    truncated = tmp_path / "truncated.mkv"
    truncated.write_bytes(videos["bframes.mkv"].read_bytes()[:3000])
    try:
        info = probe(str(truncated))
    except ProbeError:
        return
    run = extract(str(truncated), [0, 99], tmp_path / "out", fmt="jpg", info=info)
    assert 99 in run.out_of_range + run.missing


def test_ffmpeg_failure_is_an_extract_error(videos, tmp_path):
    info = probe(str(videos["bframes.mp4"]))
    with pytest.raises(ExtractError):
        extract(str(tmp_path / "gone.mp4"), [1], tmp_path, info=info)


def test_a_temporary_directory_that_refuses_the_images_is_named_not_the_video(videos, tmp_path):
    """A full TMPDIR was "Conversion failed!", which the job recorded as the video's problem ("cannot read the
    video"). Here ffmpeg's outputs are links to /dev/full, which refuses every write as a full disk does."""
    workdir = tmp_path / "work"
    workdir.mkdir()
    for frame in range(100):
        (workdir / f"p0s000_{frame:06d}.jpg").symlink_to("/dev/full")
    with pytest.raises(OSError, match=r"^ffmpeg could not write its images to the temporary directory .*/work "
                                      r"\(TMPDIR\): No space left on device$"):
        extract(str(videos["bframes.mp4"]), [0, 5], workdir)


def test_unindexed_containers_are_read_from_the_start(videos, tmp_path, ffmpeg_calls):
    info = probe(str(videos["bframes.ts"]))
    assert "mpegts" in info.format_name and not info.seekable
    assert probe(str(videos["bframes.mp4"])).seekable
    run = extract(str(videos["bframes.ts"]), [5, 90], tmp_path, fmt="jpg", seek_cost=0)
    assert [f.frame for f in run.frames] == [5, 90]
    assert "-ss" not in ffmpeg_calls[0]


def test_long_filtergraphs_go_through_a_file(videos, references, tmp_path, monkeypatch,
                                              ffmpeg_calls):
    monkeypatch.setattr(extract_mod, "GRAPH_ARG_LIMIT", 100)
    wanted = list(range(0, 100, 2))  # 50 separate select terms
    run = extract(str(videos["vfr.mp4"]), wanted, tmp_path, fmt="png", seek_cost=4)
    assert "-filter_complex" not in ffmpeg_calls[0]
    assert [f.frame for f in run.frames] == wanted and run.passes == 1
    for item in run.frames:
        assert read_index(decode_gray(item.path)[0]) == item.frame


def test_urls_never_appear_in_errors(tmp_path):
    secret = "http://127.0.0.1:9/bucket/v.mp4?X-Amz-Signature=abc123"
    with pytest.raises(ProbeError) as err:
        probe(secret)
    assert "abc123" not in str(err.value) and "127.0.0.1:9" not in str(err.value)


def test_rotated_video_images_have_their_displayed_size(videos, tmp_path):
    rotated = tmp_path / "rotated.mp4"
    rotation = (["-display_rotation", "90", "-i", str(videos["bframes.mp4"])] if ffmpeg_major() >= 6
                else ["-i", str(videos["bframes.mp4"]), "-metadata:s:v:0", "rotate=90"])  # ffmpeg 5
    subprocess.run([extract_mod.ffmpeg_exe(), "-v", "error", "-y", *rotation, "-c", "copy", str(rotated)], check=True)
    info = probe(str(rotated))
    assert (info.width, info.height) == (160, 96)  # the stream is stored unrotated
    run = extract(str(rotated), [5, 50], tmp_path / "out", fmt="png", seek_cost=2)
    ref = decode_gray(rotated, width=96, height=160)  # ffmpeg autorotates both
    for item in run.frames:
        assert (item.width, item.height) == (96, 160)
        image = decode_gray(item.path, width=96, height=160)[0]
        assert mean_abs_diff(image, ref[item.frame]) < 1.0
        assert mean_abs_diff(image, ref[item.frame + 1]) > 5


def test_messages_hide_the_source_and_urls():
    assert hide_source("Invalid data found", "") == "Invalid data found"  # no link: nothing to hide
    assert hide_source("/m/a.mp4: moov atom not found", "/m/a.mp4") == "<video>: moov atom not found"
    assert hide_source("open https://cdn/v.mp4?Signature=s3cr3t failed", "") == "open <url> failed"


def test_manifest_lines_are_json_with_infinities_as_null():
    work = VideoWork("p", "d", "t.mp4", None, (1,))
    row = {"frame": 1, "format": "jpg", "timestamp_s": 0.04, "width": 160, "height": 96, "uri": "file:///x",
           "sha256": "00", "bytes": 3, "video_fingerprint": "f"}
    (line,) = manifest_lines(work, [row], {1: [{"name": "Car", "x_px": math.inf, "y_px": math.nan, "w_px": 8.0}]})
    parsed = json.loads(line, parse_constant=lambda token: pytest.fail(f"not JSON: {token}"))
    assert parsed["labels"] == [{"name": "Car", "x_px": None, "y_px": None, "w_px": 8.0}]
