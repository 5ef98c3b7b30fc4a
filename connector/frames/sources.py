"""Find the video file of a data unit under --media-root, as something ffmpeg can open.

A data unit maps to `{media_root}/{data_title}`, else `{media_root}/{data_hash}`, else
`{media_root}/{data_hash}{suffix of the title}`. Titles are checked like destination keys
(storage.safe_parts): `../x.mp4` or `/etc/x.mp4` are never read as paths, so nothing outside the
media root is read; such a video is still found by its data hash, else UnsafePath says why not.
Local files are passed by path; http(s) roots by URL; on S3 a presigned URL lets ffmpeg read only
the byte ranges it needs; other fsspec filesystems are copied to a temporary file first. URLs are secrets (signed): error messages never contain them.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import tempfile
from urllib.parse import quote

import fsspec

from .storage import UnsafePath, safe_parts


class VideoNotFound(LookupError):
    """No file for this data unit under the media root."""


def candidates(data_title: str | None, data_hash: str) -> list[str]:
    """Relative names to try, in order. A title that is not a safe relative name is left out (the
    data hash may still find the video); raises UnsafePath for such a data hash."""
    if len(safe_parts(data_hash)) != 1:
        raise UnsafePath(f"unsafe data hash: {data_hash!r}")
    names = [data_title] if data_title and _is_safe(data_title) else []
    names.append(data_hash)
    suffix = posixpath.splitext(data_title or "")[1]
    if suffix and _is_safe(data_hash + suffix):
        names.append(data_hash + suffix)
    return names


def _is_safe(name: str) -> bool:
    try:
        safe_parts(name)
    except UnsafePath:
        return False
    return True


def check_media_root(media_root: str, storage_options: dict | None = None) -> None:
    """ValueError when a local media root is not a folder: said once, not as 'no video' for every video.
    Remote roots are not checked here (that is a request, and an empty prefix is not an error there)."""
    if (fsspec.core.split_protocol(media_root)[0] or "file") not in ("file", "local"):
        return
    fs, root = fsspec.core.url_to_fs(media_root, **(storage_options or {}))
    if not fs.isdir(root):
        raise ValueError(f"media root {media_root}: no such folder")


@contextlib.contextmanager
def open_video(media_root: str, data_title: str | None, data_hash: str,
               storage_options: dict | None = None):
    """Yield a path or URL ffmpeg can read for this data unit."""
    names = candidates(data_title, data_hash)
    if media_root.startswith(("http://", "https://")):
        yield media_root.rstrip("/") + "/" + quote(names[0])
        return
    fs, root = fsspec.core.url_to_fs(media_root, **(storage_options or {}))
    root = root.rstrip("/")
    found = next((p for p in (posixpath.join(root, n) for n in names) if fs.isfile(p)), None)
    if found is None and data_title and not _is_safe(data_title):
        raise UnsafePath(f"unsafe name: {data_title!r}: not read as a path (it could resolve outside the media "
                         "root), and no video under it is named by the data hash")
    if found is None:
        raise VideoNotFound(f"no video for {data_title or data_hash} under the media root")
    protocols = (fs.protocol,) if isinstance(fs.protocol, str) else tuple(fs.protocol)
    if "file" in protocols:
        yield found
        return
    if "s3" in protocols or "s3a" in protocols:
        yield fs.url(found, expires=6 * 3600)
        return
    fd, tmp = tempfile.mkstemp(suffix=posixpath.splitext(found)[1])
    os.close(fd)
    try:
        fs.get_file(found, tmp)
        yield tmp
    finally:
        os.unlink(tmp)
