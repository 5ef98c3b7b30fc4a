"""Decode the wanted frames of one video with ONE ffmpeg process and write them as images.

The plan (plan.py) becomes one ffmpeg command with one input per segment: `-ss` before `-i`
for segments that start at a keyframe (with `-noaccurate_seek`, so ffmpeg drops nothing and
the first decoded frame is that keyframe), then per input `trim` (stop decoding after the last
target) -> `select` on `n` (the decoded index within the segment) -> `showinfo` (logs the pts
of each kept frame) -> an image2 output numbered 0, 1, 2... in target order.

With `-copyts` the logged pts are the file's own, so each frame a seeking segment produced is
checked against the probed timeline. Should a seek land elsewhere (a keyframe the decoder
cannot start from cleanly, an odd container), that segment's frames are re-extracted by one
more process decoding from frame 0, where `n` is the frame number by definition.
"""

from __future__ import annotations

import bisect
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

import ffmpeg

from .plan import Segment, keyframe_after, plan, seek_window, select_expr
from .probe import VideoInfo, hide_source, probe
from .tools import ffmpeg_exe, ffmpeg_major

FORMATS = ("jpg", "png", "webp")
GRAPH_ARG_LIMIT = 16_000
"""Longer filtergraphs go through a file: one argv string may not exceed 128 KiB on Linux."""
DEFAULT_QUALITY = 90


class ExtractError(RuntimeError):
    """ffmpeg failed on this video (message has the source redacted)."""


@dataclass(frozen=True)
class ExtractedFrame:
    frame: int
    path: Path
    timestamp_s: float | None
    width: int
    height: int
    """Of the image as written (after ffmpeg's autorotation, unlike the stream's)."""


Frame = TypeVar("Frame")


@dataclass
class Extraction(Generic[Frame]):
    """What became of one video's wanted frames: `Frame` is ExtractedFrame here (a local image),
    video.FrameRecord once the images are stored."""

    info: VideoInfo
    frames: list[Frame] = field(default_factory=list)
    out_of_range: list[int] = field(default_factory=list)
    """Requested frames >= the video's frame count (or < 0): not attempted."""
    missing: list[int] = field(default_factory=list)
    """Planned frames the decoder never produced (a truncated or corrupt stream)."""
    passes: int = 0
    """ffmpeg processes run to decode frames: 1, or 2 after a seek check failed (video.extract_video adds up
    those of its passes)."""


def codec_options(fmt: str, quality: int | None) -> dict:
    """Encoder options for an image format; quality 1 (worst) ... 100 (best)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    q = DEFAULT_QUALITY if quality is None else quality
    if not 1 <= q <= 100:
        raise ValueError("quality must be between 1 and 100")
    if fmt == "jpg":  # mjpeg qscale: 2 (best) .. 31 (worst)
        return {"c:v": "mjpeg", "q:v": round(31 - (q - 1) * 29 / 99)}
    if fmt == "webp":
        return {"c:v": "libwebp", "quality": q, "lossless": 0}
    return {"c:v": "png"}  # lossless: quality does not apply


def extract(source: str, frames, workdir: str | Path, *, fmt: str = "jpg",
            quality: int | None = None, info: VideoInfo | None = None, seek_cost: int = 30,
            max_segments: int = 8, seek: bool = True) -> Extraction[ExtractedFrame]:
    """Write each wanted frame of `source` (path or URL) to `workdir` as an image; `seek` False: decode from
    frame 0 only."""
    opts = codec_options(fmt, quality)
    info = info or probe(source)
    wanted = sorted(set(frames))
    result: Extraction[ExtractedFrame] = Extraction(info=info)
    result.out_of_range = [f for f in wanted if f < 0 or f >= info.frame_count]
    wanted = [f for f in wanted if 0 <= f < info.frame_count]
    if not wanted:
        return result
    Path(workdir).mkdir(parents=True, exist_ok=True)
    keyframes = info.keyframes if seek and info.seekable else ()
    segments = plan(wanted, keyframes, seek_cost=seek_cost, max_segments=max_segments)
    got, misaligned = _run_pass(source, info, segments, Path(workdir), "p0", fmt, opts)
    result.passes = 1
    if misaligned:
        redo = Segment(0, tuple(sorted(t for s in misaligned for t in s.targets)))
        for t in redo.targets:
            got.pop(t, None)
        again, _ = _run_pass(source, info, [redo], Path(workdir), "p1", fmt, opts)
        got.update(again)
        result.passes = 2
    result.frames = [got[t] for t in wanted if t in got]
    result.missing = [t for t in wanted if t not in got]
    return result


_INFO = re.compile(r"\[showinfo@s(\d+) @ [^\]]*\] n:\s*(\d+) pts:\s*(-?\d+)"
                   r"[^\n]*? s:(\d+)x(\d+)")
_TB = re.compile(r"\[showinfo@s(\d+) @ [^\]]*\] config in time_base: (\d+)/(\d+)")


def build_command(source: str, info: VideoInfo, segments: list[Segment], workdir: Path,
                  tag: str, fmt: str, opts: dict) -> list[str]:
    """The ffmpeg argv for one pass over `segments` (one input + output per segment)."""
    stamps = [info.timestamp(i) for i in range(info.frame_count)] if info.exact else []
    # Segments decode concurrently; unequal lengths need more threads than cores to stay
    # balanced, yet one decoder per segment with a full frame-thread pool each is wasteful.
    cpus = os.cpu_count() or 1
    threads = max(2, -(-2 * cpus // len(segments))) if len(segments) > 1 else 0
    outputs = []
    for i, seg in enumerate(segments):
        in_opts = {"threads": threads} if threads else {}
        stream = None
        if seg.seek:
            ss, trim_from = seek_window(stamps, seg.start,
                                        keyframe_after(info.keyframes, seg.start), info.reorder)
            in_opts.update(ss=f"{ss:.6f}", noaccurate_seek=None)
            # -copyts keeps the file's own timestamps in the filters: trim in absolute seconds
            stream = ffmpeg.input(source, **in_opts)["V:0"].trim(
                start=f"{trim_from + info.start_time:.6f}")
        else:
            stream = ffmpeg.input(source, **in_opts)["V:0"]
        chain = (
            stream
            .trim(end_frame=seg.end - seg.start + 1)
            .filter("select", select_expr(seg.offsets()))
            .filter(f"showinfo@s{i}")
        )
        pattern = str(workdir / f"{tag}s{i:03d}_%06d.{fmt}")
        outputs.append(chain.output(pattern, start_number=0, fps_mode="passthrough",
                                    **{"frames:v": len(seg.targets)}, **opts))
    argv = ffmpeg.merge_outputs(*outputs).compile(cmd=ffmpeg_exe())
    at = argv.index("-filter_complex")
    if len(argv[at + 1]) > GRAPH_ARG_LIMIT:
        script = workdir / f"{tag}graph.txt"
        script.write_text(argv[at + 1])
        option = "-/filter_complex" if ffmpeg_major() >= 7 else "-filter_complex_script"
        argv[at : at + 2] = [option, str(script)]
    return [argv[0], "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info", "-copyts",
            "-y", *argv[1:]]


def _run_pass(source, info, segments, workdir, tag, fmt, opts):
    argv = build_command(source, info, segments, workdir, tag, fmt, opts)
    proc = subprocess.run(argv, capture_output=True, check=False)
    log = proc.stderr.decode(errors="replace")
    if proc.returncode != 0 and "received no packets" not in log:
        # ffmpeg also fails when an output got no frame at all (a seek past its targets, a
        # stream ending early): that is handled per segment below. Anything else is fatal.
        if full := next((reason for reason in _WRITE_REFUSED if reason in log), None):
            raise OSError(f"ffmpeg could not write its images to the temporary directory {workdir} "
                          f"(TMPDIR): {full}")
        raise ExtractError(_last_error(log, source))
    tbs = {int(m[1]): int(m[2]) / int(m[3]) for m in _TB.finditer(log)}
    seen: dict[int, dict[int, tuple[float, int, int]]] = {}
    for m in _INFO.finditer(log):
        seg = int(m[1])
        seen.setdefault(seg, {})[int(m[2])] = (int(m[3]) * tbs.get(seg, 0.0), int(m[4]), int(m[5]))
    absolute = [info.seconds(i) for i in range(info.frame_count)] if info.exact else []
    got: dict[int, ExtractedFrame] = {}
    misaligned: list[Segment] = []
    for i, seg in enumerate(segments):
        stamps = seen.get(i, {})
        ok = True
        for k, target in enumerate(seg.targets):
            path = workdir / f"{tag}s{i:03d}_{k:06d}.{fmt}"
            if not path.exists():
                ok = ok and not seg.seek  # a seeking segment that fell short is redone
                continue
            at, width, height = stamps.get(k, (None, info.width, info.height))
            if seg.seek and (at is None or _nearest(absolute, at) != target):
                ok = False
            stamp = at - info.start_time if at is not None else None
            got[target] = ExtractedFrame(target, path, stamp, width, height)
        if not ok:
            misaligned.append(seg)
            for target in seg.targets:
                got.pop(target, None)
    return got, misaligned


def _nearest(sorted_seconds: list[float], t: float) -> int:
    i = bisect.bisect_left(sorted_seconds, t)
    if i == 0:
        return 0
    if i == len(sorted_seconds):
        return i - 1
    return i if sorted_seconds[i] - t < t - sorted_seconds[i - 1] else i - 1


_WRITE_REFUSED = ("No space left on device", "Disk quota exceeded", "Read-only file system")
"""What ffmpeg says when it cannot write its output, which is the temporary directory's problem and not the video's:
until 2026-11-30 a full TMPDIR was recorded as "cannot read the video: Conversion failed!"."""


def _last_error(log: str, source: str) -> str:
    lines = [ln for ln in hide_source(log, source).splitlines()
             if ln.strip() and "showinfo@" not in ln]
    return lines[-1] if lines else "ffmpeg failed"
