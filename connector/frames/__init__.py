"""Frame-extraction sidecar: labeled video frames, frame-exact, to object storage.

probe.py (packet timeline) -> plan.py (pure: which frames, which seeks) -> extract.py (one
ffmpeg process per video) -> storage.py (fsspec destination); video.py ties them for one
video; job.py runs them over the warehouse (`encord-warehouse extract-frames`).
"""

from connector.storage_options import parse_storage_options

from .job import ExtractFramesConfig, ExtractFramesResult, extract_frames

__all__ = ["ExtractFramesConfig", "ExtractFramesResult", "extract_frames", "parse_storage_options"]
