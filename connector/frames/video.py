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
(until 2026-11-30 one process wrote all of them first: 532 MB for 30,000 frames at 640x360, GBs at 1080p)."""


def extract_video(source: str, frames, dest: Destination, project_hash: str, data_hash: str,
                  *, fmt: str = "jpg", quality: int | None = None,
                  info: VideoInfo | None = None, **plan_options) -> Extraction[FrameRecord]:
    """Extract `frames` of `source` to `{dest}/{project_hash}/{data_hash}/{frame:06d}.{fmt}`, FRAMES_PER_PASS
    frames at a time (each pass starts at the keyframe before its first frame)."""
    info = info or probe(source)
    wanted = sorted(set(frames))
    stored: Extraction[FrameRecord] = Extraction(info=info)
    for start in range(0, max(len(wanted), 1), FRAMES_PER_PASS):
        with tempfile.TemporaryDirectory(prefix="encord-frames-") as workdir:
            run = extract(source, wanted[start:start + FRAMES_PER_PASS], workdir, fmt=fmt, quality=quality,
                          info=info, **plan_options)
            stored.frames += [_store(item, dest, project_hash, data_hash, fmt) for item in run.frames]
        stored.out_of_range += run.out_of_range
        stored.missing += run.missing
        stored.passes += run.passes
    return stored


def _store(item: ExtractedFrame, dest: Destination, project_hash: str, data_hash: str, fmt: str) -> FrameRecord:
    stored = dest.put_file(str(item.path), frame_key(project_hash, data_hash, item.frame, fmt))
    return FrameRecord(frame=item.frame, format=fmt, uri=stored.uri, sha256=stored.sha256, bytes=stored.bytes,
                       width=item.width, height=item.height, timestamp_s=item.timestamp_s)
