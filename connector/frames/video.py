"""One video, end to end: extract the wanted frames, write each to the destination.

Objects are written before anything is returned, so a caller that records the returned
frames afterwards (job.py) can never record a frame whose object is missing.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field

from .extract import extract
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


@dataclass
class VideoResult:
    info: VideoInfo
    frames: list[FrameRecord] = field(default_factory=list)
    out_of_range: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    passes: int = 0


def extract_video(source: str, frames, dest: Destination, project_hash: str, data_hash: str,
                  *, fmt: str = "jpg", quality: int | None = None,
                  info: VideoInfo | None = None, **plan_options) -> VideoResult:
    """Extract `frames` of `source` to `{dest}/{project_hash}/{data_hash}/{frame:06d}.{fmt}`."""
    info = info or probe(source)
    with tempfile.TemporaryDirectory(prefix="encord-frames-") as workdir:
        run = extract(source, frames, workdir, fmt=fmt, quality=quality, info=info,
                      **plan_options)
        result = VideoResult(info=info, out_of_range=run.out_of_range, missing=run.missing,
                             passes=run.passes)
        for item in run.frames:
            stored = dest.put_file(str(item.path), frame_key(project_hash, data_hash,
                                                             item.frame, fmt))
            result.frames.append(FrameRecord(
                frame=item.frame, format=fmt, uri=stored.uri, sha256=stored.sha256,
                bytes=stored.bytes, width=item.width, height=item.height,
                timestamp_s=item.timestamp_s))
    return result
