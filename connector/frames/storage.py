"""Where extracted frames go, through fsspec: a local folder or plain path (default), file://,
or s3:// via s3fs. S3 endpoint and credentials come from the usual AWS environment variables
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL, AWS_DEFAULT_REGION) or from
storage options (`endpoint_url=http://127.0.0.1:9000`, `key=...`, `secret=...`).

Every key written is built from checked path components, so nothing lands outside the
destination root. Local writes go to a temporary name first and are renamed into place, so a
crash never leaves a half-written image under its final name; S3 PUTs are atomic already.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import uuid
from dataclasses import dataclass

import fsspec

from connector.failures import error_line
from connector.redact import redact

from .extract import FORMATS


class UnsafePath(ValueError):
    """A name would resolve outside its root (absolute, '..', empty, control characters)."""


def safe_parts(name: str) -> list[str]:
    """The '/'-separated components of a relative name, refusing anything that could escape
    its root: absolute paths, drive letters, backslashes, '..', empty or control characters."""
    if not name or name != name.strip() or any(ord(c) < 32 for c in name):
        raise UnsafePath(f"unsafe name: {name!r}")
    if name.startswith(("/", "~")) or "\\" in name or re.match(r"[A-Za-z]:", name):
        raise UnsafePath(f"unsafe name: {name!r}")
    parts = name.split("/")
    if any(p in ("", ".", "..") for p in parts) or "://" in name:
        raise UnsafePath(f"unsafe name: {name!r}")
    return parts


@dataclass(frozen=True)
class StoredObject:
    uri: str
    sha256: str
    bytes: int


def check_protocol(url: str) -> None:
    """ValueError when fsspec cannot open `url`'s kind of storage: an unknown scheme, or one whose
    package is not installed (gs:// without gcsfs), said once instead of failing every video."""
    protocol = fsspec.core.split_protocol(url)[0] or "file"
    try:
        fsspec.get_filesystem_class(protocol)
    except (ImportError, ValueError) as error:
        raise ValueError(f"{url}: {error}") from None


_TEMPORARY = re.compile(r"\..+\.[0-9a-f]{32}\.tmp")  # write_bytes's temporary names


class Destination:
    """A root URL plus fsspec filesystem; keys are relative '/'-joined names under it."""

    def __init__(self, url: str, storage_options: dict | None = None):
        self.url = url
        self.fs, root = fsspec.core.url_to_fs(url, **(storage_options or {}))
        self.root = root.rstrip("/")
        self.local = "file" in _protocols(self.fs)

    def check(self) -> None:
        """ValueError, said once before any video, when the destination cannot be reached (an S3
        endpoint down, a bucket name that is not one, no permission to list)."""
        try:
            self.fs.exists(self.root)
            bucket = None if self.local else self.root.split("/")[0]
            missing = bucket is not None and not self.fs.exists(bucket)
        except Exception as error:  # botocore's are not OSError
            raise ValueError(f"cannot reach the destination {redact(self.url)}: {error_line(error)}") from None
        if missing:  # until 2026-11-30 every video was decoded, then failed at its upload
            raise ValueError(f"the destination {redact(self.url)}: there is no bucket {bucket!r}")

    def path(self, key: str) -> str:
        parts = safe_parts(key)
        if not self.local and ("?" in key or "#" in key):  # s3fs cut the key at a `?versionId=`: frames overwrote one another
            raise UnsafePath(f"unsafe name for an object store (? and # end a key there): {key!r}")
        return posixpath.join(self.root, *parts)

    def uri(self, key: str) -> str:
        return self.fs.unstrip_protocol(self.path(key))

    def exists(self, key: str) -> bool:
        return self.fs.exists(self.path(key))

    def names_in(self, folder_key: str) -> set[str]:
        """The names of the objects directly under `folder_key`: one listing (one LIST on S3)."""
        try:
            listed = self.fs.ls(self.path(folder_key), detail=False, refresh=True)
        except FileNotFoundError:
            return set()
        return {posixpath.basename(name.rstrip("/")) for name in listed}

    def frame_names(self, folder_key: str) -> set[str]:
        """The names under `folder_key` that frame_key writes (not the manifest, not others' files)."""
        return {name for name in self.names_in(folder_key) if _is_frame_name(name)}

    def frame_names_by_video(self, project_hash: str) -> dict[str, set[str]]:
        """data_hash -> the frame images in each video folder of the project: one recursive listing
        (a LIST of the prefix on S3, 1,000 keys a request)."""
        if len(safe_parts(project_hash)) != 1:
            raise UnsafePath(f"unsafe hash: {project_hash!r}")
        folder = self.path(project_hash)
        try:
            listed = self.fs.find(folder, detail=False, refresh=True)
        except FileNotFoundError:
            return {}
        videos: dict[str, set[str]] = {}
        for path in listed:
            data_hash, _, name = path[len(folder):].strip("/").partition("/")
            if name and "/" not in name and _is_frame_name(name):
                videos.setdefault(data_hash, set()).add(name)
        return videos

    def remove_leftovers(self, folder_key: str) -> None:
        """Remove the temporary files of local writes a killed run left in `folder_key` (a video's
        folder, which the caller's claim keeps from any write in progress)."""
        if self.local:
            for name in self.names_in(folder_key):
                if _TEMPORARY.fullmatch(name):
                    self.fs.rm_file(self.path(f"{folder_key}/{name}"))

    def write_bytes(self, key: str, data: bytes) -> StoredObject:
        path = self.path(key)
        if self.local:
            parent = posixpath.dirname(path)
            os.makedirs(parent, exist_ok=True)
            tmp = posixpath.join(parent, f".{posixpath.basename(path)}.{uuid.uuid4().hex}.tmp")
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        else:
            self.fs.pipe_file(path, data)
        return StoredObject(self.fs.unstrip_protocol(path), hashlib.sha256(data).hexdigest(),
                            len(data))

    def put_file(self, local_path: str, key: str) -> StoredObject:
        with open(local_path, "rb") as fh:
            return self.write_bytes(key, fh.read())

    def remove(self, key: str) -> bool:
        """Delete the object; False when it was not there. A local folder left empty goes too."""
        path = self.path(key)
        try:
            self.fs.rm_file(path)
        except FileNotFoundError:
            return False
        if self.local:
            try:
                os.rmdir(posixpath.dirname(path))
            except OSError:  # not empty
                pass
        return True

    def read_bytes(self, key: str) -> bytes:
        return self.fs.cat_file(self.path(key))


def _protocols(fs) -> tuple[str, ...]:
    proto = fs.protocol
    return (proto,) if isinstance(proto, str) else tuple(proto)


def frame_key(project_hash: str, data_hash: str, frame: int, fmt: str) -> str:
    """`{project_hash}/{data_hash}/{frame:06d}.{ext}` (the issue's layout)."""
    return f"{video_folder(project_hash, data_hash)}/{frame_name(frame, fmt)}"


def frame_name(frame: int, fmt: str) -> str:
    return f"{frame:06d}.{fmt}"


_FRAME_NAME = re.compile(rf"([0-9]{{6,}})\.({'|'.join(FORMATS)})")


def _is_frame_name(name: str) -> bool:
    match = _FRAME_NAME.fullmatch(name)
    return match is not None and frame_name(int(match[1]), match[2]) == name


def video_folder(project_hash: str, data_hash: str) -> str:
    """`{project_hash}/{data_hash}`, each one safe name."""
    for part in (project_hash, data_hash):
        if len(safe_parts(part)) != 1:
            raise UnsafePath(f"unsafe hash: {part!r}")
    return f"{project_hash}/{data_hash}"
