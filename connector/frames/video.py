"""One video, end to end: extract the wanted frames, write each to the destination.

Objects are written before anything is returned, so a caller that records the returned
frames afterwards (job.py) can never record a frame whose object is missing.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass

from .extract import ExtractedFrame, Extraction, extract
from .probe import VideoInfo, probe
from .storage import Destination, frame_key


@dataclass(frozen=True)
class FrameRecord:
    frame: int
    format: str
    uri: str
    sha256: str
    bytes: int
    width: int
    height: int
    timestamp_s: float | None


FRAMES_PER_PASS = 2_000
"""Most images of a video one ffmpeg process writes to TMPDIR before they are uploaded and deleted
(until 2026-11-30 one process wrote all of them first: 532 MB for 30,000 frames at 640x360, GBs at 1080p).
A pass after the first starts at the keyframe before its first frame; a video that cannot seek, or whose
seek missed its frame, decodes its remaining frames in one pass from frame 0 (passes from frame 0 would
each decode the video again up to their frames)."""


def extract_video(source: str, frames, dest: Destination, project_hash: str, data_hash: str,
                  *, fmt: str = "jpg", quality: int | None = None,
                  info: VideoInfo | None = None, **plan_options) -> Extraction[FrameRecord]:
    """Extract `frames` of `source` to `{dest}/{project_hash}/{data_hash}/{frame:06d}.{fmt}`, in passes of
    FRAMES_PER_PASS frames."""
    info = info or probe(source)
    remaining, seeks = sorted(set(frames)), info.seekable
    stored: Extraction[FrameRecord] = Extraction(info=info)
    while True:
        wanted = remaining[:FRAMES_PER_PASS] if seeks else remaining
        remaining = remaining[len(wanted):]
        with tempfile.TemporaryDirectory(prefix="encord-frames-") as workdir:
            run = extract(source, wanted, workdir, fmt=fmt, quality=quality, info=info, seek=seeks, **plan_options)
            stored.frames += [_store(item, dest, project_hash, data_hash, fmt) for item in run.frames]
        stored.out_of_range += run.out_of_range
        stored.missing += run.missing
        stored.passes += run.passes
        seeks = seeks and run.passes == 1  # a second process: a seek missed its frame
        if not remaining:
            return stored


def _store(item: ExtractedFrame, dest: Destination, project_hash: str, data_hash: str, fmt: str) -> FrameRecord:
    stored = dest.put_file(str(item.path), frame_key(project_hash, data_hash, item.frame, fmt))
    return FrameRecord(frame=item.frame, format=fmt, uri=stored.uri, sha256=stored.sha256, bytes=stored.bytes,
                       width=item.width, height=item.height, timestamp_s=item.timestamp_s)
