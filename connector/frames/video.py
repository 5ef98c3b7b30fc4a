"""One video, end to end: extract the wanted frames, write each to the destination.

Objects are written before anything is returned, so a caller that records the returned
frames afterwards (job.py) can never record a frame whose object is missing.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass

from .extract import ExtractedFrame, Extraction, extract
from .plan import keyframe_at_or_before
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
"""Images of a video one ffmpeg process writes to TMPDIR before they are uploaded and deleted: at least this many,
then up to the first frame whose keyframe comes after the pass's last frame, so that no pass decodes what another
did (a video with one keyframe is one pass). Until 2026-11-30 one process wrote every image of a video first:
532 MB for 30,000 frames at 640x360, GBs at 1080p. A video that cannot seek, or whose seek missed its frame,
decodes its remaining frames in one pass from frame 0."""


def extract_video(source: str, frames, dest: Destination, project_hash: str, data_hash: str,
                  *, fmt: str = "jpg", quality: int | None = None,
                  info: VideoInfo | None = None, **plan_options) -> Extraction[FrameRecord]:
    """Extract `frames` of `source` to `{dest}/{project_hash}/{data_hash}/{frame:06d}.{fmt}`, in passes (see
    FRAMES_PER_PASS)."""
    info = info or probe(source)
    remaining, seeks = sorted(set(frames)), info.seekable
    stored: Extraction[FrameRecord] = Extraction(info=info)
    while True:
        wanted = remaining[:_pass_length(remaining, info.keyframes)] if seeks else remaining
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


def _pass_length(frames: list[int], keyframes) -> int:
    """How many of `frames` (sorted) the next pass takes: FRAMES_PER_PASS, then on to the first frame whose keyframe
    comes after the frame before it (the next pass decodes nothing of this one's). Pure."""
    for n in range(FRAMES_PER_PASS, len(frames)):
        if frames[n] >= 0 and keyframe_at_or_before(keyframes, frames[n]) > frames[n - 1]:
            return n
    return len(frames)


def _store(item: ExtractedFrame, dest: Destination, project_hash: str, data_hash: str, fmt: str) -> FrameRecord:
    stored = dest.put_file(str(item.path), frame_key(project_hash, data_hash, item.frame, fmt))
    return FrameRecord(frame=item.frame, format=fmt, uri=stored.uri, sha256=stored.sha256, bytes=stored.bytes,
                       width=item.width, height=item.height, timestamp_s=item.timestamp_s)
