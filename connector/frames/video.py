"""One video, end to end: extract the wanted frames, write each to the destination.

Objects are written before anything is returned, so a caller that records the returned
frames afterwards (job.py) can never record a frame whose object is missing.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace

from .extract import Extraction, extract
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


def extract_video(source: str, frames, dest: Destination, project_hash: str, data_hash: str,
                  *, fmt: str = "jpg", quality: int | None = None,
                  info: VideoInfo | None = None, **plan_options) -> Extraction[FrameRecord]:
    """Extract `frames` of `source` to `{dest}/{project_hash}/{data_hash}/{frame:06d}.{fmt}`."""
    info = info or probe(source)
    with tempfile.TemporaryDirectory(prefix="encord-frames-") as workdir:
        run = extract(source, frames, workdir, fmt=fmt, quality=quality, info=info,
                      **plan_options)
        records = []
        for item in run.frames:
            stored = dest.put_file(str(item.path), frame_key(project_hash, data_hash,
                                                             item.frame, fmt))
            records.append(FrameRecord(
                frame=item.frame, format=fmt, uri=stored.uri, sha256=stored.sha256,
                bytes=stored.bytes, width=item.width, height=item.height,
                timestamp_s=item.timestamp_s))
    return replace(run, frames=records)
