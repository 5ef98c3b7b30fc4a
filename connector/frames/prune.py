"""`extract-frames --prune`: the images of frames no longer labeled, and of videos gone from the
warehouse (deleted in Encord, then synced), removed from the destination with their rows.

Per video, in one transaction holding its claim: the rows deleted, the manifest rewritten from the
rows left (removed with the last), the images deleted, then the commit. The manifest never names
a removed image. A crash before the commit leaves rows whose image may be gone: the frames are not
wanted, so no run writes them again, and the next prune removes the rows (deleting an image already
gone is no error).
"""

from __future__ import annotations

from sqlalchemy import Engine

from . import warehouse
from .manifest import write_manifest
from .storage import Destination, UnsafePath, frame_key, video_folder


def prune(engine: Engine, dest: Destination, project_hash: str | None) -> tuple[int, int]:
    """Remove what is no longer labeled under `dest` (of one project, or all); returns (images
    removed, videos skipped because another worker held them)."""
    with engine.connect() as connection:
        unlabeled = warehouse.unlabeled_frames(connection, dest.url, project_hash)
    removed = busy = 0
    for (video_project, data_hash), frames in unlabeled.items():
        with engine.connect() as connection, connection.begin():
            if not warehouse.claim_to_prune(connection, video_project, data_hash):
                busy += 1
                continue
            warehouse.forget(connection, dest.url, video_project, data_hash, frames)
            try:
                dest.path(video_folder(video_project, data_hash))
            except UnsafePath:  # recorded before such a hash was refused: its objects cannot be named; rows go
                continue
            title = warehouse.live_title(connection, video_project, data_hash)
            write_manifest(connection, dest, warehouse.VideoWork(video_project, data_hash, title, None, ()))
            for frame, fmt in frames:
                dest.remove(frame_key(video_project, data_hash, frame, fmt))
        removed += len(frames)
    return removed, busy
