"""Where the ffmpeg and ffprobe binaries come from.

ffmpeg: `ffmpeg` on PATH, else the binary shipped in the imageio-ffmpeg wheel, so a fresh
machine needs nothing from apt. ffprobe: on PATH or nowhere (imageio-ffmpeg ships no ffprobe);
probe.py then falls back to ffmpeg alone. `$ENCORD_WAREHOUSE_FFMPEG` / `$ENCORD_WAREHOUSE_FFPROBE`
override both; setting the latter to an empty string disables ffprobe.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess


class FFmpegNotFound(RuntimeError):
    """No ffmpeg binary on PATH and imageio-ffmpeg is not installed."""


@functools.lru_cache(maxsize=None)
def ffmpeg_exe() -> str:
    override = os.environ.get("ENCORD_WAREHOUSE_FFMPEG")
    if override:
        return override
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise FFmpegNotFound("no ffmpeg on PATH and imageio-ffmpeg is not installed") from exc
    return imageio_ffmpeg.get_ffmpeg_exe()


@functools.lru_cache(maxsize=None)
def ffprobe_exe() -> str | None:
    override = os.environ.get("ENCORD_WAREHOUSE_FFPROBE")
    if override is not None:
        return override or None
    return shutil.which("ffprobe")


@functools.lru_cache(maxsize=None)
def ffmpeg_major() -> int:
    """Major version of ffmpeg_exe(); 99 for git builds ("N-12345-g...")."""
    out = subprocess.run([ffmpeg_exe(), "-hide_banner", "-version"], capture_output=True,
                         text=True, check=False).stdout
    found = re.search(r"version n?(\d+)\.", out)
    return int(found[1]) if found else 99
