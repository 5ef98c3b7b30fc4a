"""`{dest}/{project_hash}/{data_hash}/manifest.jsonl`: one JSON object per recorded image of
the video (every format under this dest), with the labels on its frame.

Fields: project_hash, data_hash, data_title, frame, format, timestamp_s (seconds from the
start of the video, from the frame's own pts), width, height, uri, sha256, bytes,
video_fingerprint, labels (frame_labels rows: label_hash, branch_name, label_kind,
instance_hash, feature_hash, name, color, shape, x_px, y_px, w_px, h_px, theta, confidence,
answers). Rewritten whole after the images it lists and before their rows commit, so it never
names an image that does not exist; removed with the last of them (a prune).
"""

from __future__ import annotations

from connector.jsonout import strict_dumps

from . import warehouse
from .storage import Destination, video_folder


def manifest_lines(work: warehouse.VideoWork, rows: list[dict], labels: dict) -> list[str]:
    """The manifest's lines from extracted_frames rows and labels by frame. Pure."""
    return [
        strict_dumps({
            "project_hash": work.project_hash, "data_hash": work.data_hash,
            "data_title": work.data_title, "frame": row["frame"], "format": row["format"],
            "timestamp_s": row["timestamp_s"], "width": row["width"], "height": row["height"],
            "uri": row["uri"], "sha256": row["sha256"], "bytes": row["bytes"],
            "video_fingerprint": row["video_fingerprint"],
            "labels": labels.get(row["frame"], []),
        }, default=str, sort_keys=True)
        for row in rows
    ]


def write_manifest(connection, dest: Destination, work: warehouse.VideoWork) -> bool:
    """Write the video's manifest if its content changed; remove it when no frame is recorded."""
    rows = warehouse.manifest_rows(connection, dest.url, work)  # dest.url keys the rows
    key = f"{video_folder(work.project_hash, work.data_hash)}/manifest.jsonl"
    if not rows:
        return dest.remove(key)
    lines = manifest_lines(work, rows, warehouse.labels_by_frame(connection, work))
    data = ("\n".join(lines) + "\n").encode()
    if dest.exists(key) and dest.read_bytes(key) == data:
        return False
    dest.write_bytes(key, data)
    return True
