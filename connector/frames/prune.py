"""`extract-frames --prune`: the images of frames no longer labeled, of videos gone from the
warehouse (deleted in Encord, then synced), and images no row records (a run killed after it
uploaded a video's images, before their rows committed), removed from the destination.

Per video, in one transaction holding its claim: the rows deleted, the manifest rewritten from the
rows left (removed with the last), the images deleted, then the commit. The manifest never names
a removed image. A crash before the commit leaves rows whose image may be gone: the frames are not
wanted, so no run writes them again, and the next prune removes the rows (deleting an image already
gone is no error). Unrecorded images are found by listing each project's folder, then the video's
folder again under its claim: a worker that holds a video may be uploading images it has yet to
record.
"""

from __future__ import annotations

from sqlalchemy import Engine

from . import warehouse
from .manifest import write_manifest
from .storage import Destination, UnsafePath, frame_key, frame_name, video_folder


def prune(engine: Engine, dest: Destination, project_hash: str | None) -> tuple[int, int]:
    """Remove what is no longer labeled or never recorded under `dest` (of one project, or all);
    returns (images removed, videos skipped because another worker held them)."""
    with engine.connect() as connection:
        unlabeled = warehouse.unlabeled_frames(connection, dest.url, project_hash)
        unrecorded = {video for project in warehouse.projects_at(connection, dest.url, project_hash)
                      for video in _videos_with_unrecorded_images(connection, dest, project)}
    removed = busy = 0
    for video_project, data_hash in sorted(unrecorded | set(unlabeled)):
        frames = unlabeled.get((video_project, data_hash), [])
        with engine.connect() as connection, connection.begin():
            if not warehouse.claim_to_prune(connection, video_project, data_hash):
                busy += 1
                continue
            # listed again under the claim; a video whose first listing showed none is left to the next prune
            strays = _unrecorded_names(connection, dest, video_project, data_hash) if (
                (video_project, data_hash) in unrecorded) else []
            warehouse.forget(connection, dest.url, video_project, data_hash, frames)
            try:
                folder = video_folder(video_project, data_hash)
                dest.path(folder)
            except UnsafePath:  # recorded before such a hash was refused: its objects cannot be named; rows go
                continue
            title = warehouse.live_title(connection, video_project, data_hash)
            write_manifest(connection, dest, warehouse.VideoWork(video_project, data_hash, title, None, ()))
            for frame, fmt in frames:
                dest.remove(frame_key(video_project, data_hash, frame, fmt))
            for name in strays:
                dest.remove(f"{folder}/{name}")
            dest.remove_leftovers(folder)
        removed += len(frames) + len(strays)
    return removed, busy


def _videos_with_unrecorded_images(connection, dest: Destination, project_hash: str) -> set[tuple[str, str]]:
    """The videos of the project whose folder holds a frame image no row records: one listing of the
    project's folder, its recorded names read as they come."""
    try:
        listed = dest.frame_names_by_video(project_hash)
    except UnsafePath:  # a project hash no folder can be named by: nothing of it was written
        return set()
    for data_hash, frame, fmt in warehouse.recorded_frames(connection, project_hash):
        names = listed.get(data_hash)
        if names is not None:
            names.discard(frame_name(frame, fmt))
    return {(project_hash, data_hash) for data_hash, names in listed.items() if names}


def _unrecorded_names(connection, dest: Destination, project_hash: str, data_hash: str) -> list[str]:
    """Under the video's claim: the frame images in its folder that no row records. A row of another dest counts:
    it may name this folder by another spelling (`file://`, a symlink), and an image kept by mistake costs less
    than one deleted under its row."""
    try:
        listed = dest.frame_names(video_folder(project_hash, data_hash))
    except UnsafePath:
        return []
    recorded = {frame_name(frame, fmt) for frame, fmt in warehouse.recorded_of_video(connection, project_hash, data_hash)}
    return sorted(listed - recorded)
