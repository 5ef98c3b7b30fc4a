"""Label rows from files written by Encord's "Export labels as JSON" script.

Accepts a JSON array of label-row dicts (streamed, so memory does not grow with the
file), a single label-row object, JSON Lines, or a directory of such files; any of them
gzip-compressed (read as a stream, never decompressed to disk), in UTF-8 or in UTF-16 with its byte
order mark. A file is read once from start to end, never seeked, so a pipe serves as well (`-` is
standard input), and so does a URL read through fsspec (s3://bucket/exports/). list_export lists
the files (with the versions export_files compares); Export.rows reads them from any one on.
"""

from __future__ import annotations

import codecs
import gzip
import io
import logging
import os
import re
import stat
import sys
import zlib
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterator

import ijson
import msgspec
import orjson

from connector.ontology import OntologyError, check_ontology
from connector.sources import SourceRow, label_hash_of, parse_json
from connector.redact import redact
from connector.storage_options import CREDENTIALS_IN_URL, has_credentials, is_url

EXPORT_SUFFIXES = (".json", ".jsonl", ".ndjson")
_EXPORT_NAMES = EXPORT_SUFFIXES + tuple(suffix + ".gz" for suffix in EXPORT_SUFFIXES)
_CHUNK = 4 << 20
_MAX_BUFFER = 16 * _CHUNK
_REMOTE_BLOCK = 2 * _CHUNK  # bytes per ranged GET of a remote file; fsspec keeps one block
_ROW_KEY = b'"label_hash"'
STDIN = "-"
_RAW_ELEMENTS = msgspec.json.Decoder(list[msgspec.Raw])
_WHITESPACE = b" \t\n\r\x0b\x0c"  # what bytes.strip() strips
_UTF8_BOM = b"\xef\xbb\xbf"  # written by some Windows tools before the JSON; RFC 8259 lets a reader skip it
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")  # little-, big-endian: Windows PowerShell 5's `>` writes the first
_GZIP_MAGIC = b"\x1f\x8b"
_ROW_START = re.compile(rb'\s*\{\s*"label_hash"')
_BETWEEN_ROWS = re.compile(rb"\}\s*,\s*(\{)\s*$")  # what comes before the first key of a row that is not the first


log = logging.getLogger("encord_warehouse.export")


class ExportError(Exception):
    """An export file that cannot be read (at all, or past some point)."""

    def __init__(self, path: Path | str, reason: str):
        super().__init__(f"{redact(str(path))}: {reason}")
        self.reason = reason


def read_export(path: str | Path, storage_options: dict | None = None) -> Iterator[SourceRow]:
    """The label rows of an export (see list_export and Export.rows)."""
    yield from list_export(path, storage_options).rows()


class _Url(str):
    """The URL of an export file or directory; `.name` is the file's, as a Path's (a query left out)."""

    @property
    def name(self) -> str:
        return self.split("?", 1)[0].rstrip("/").rpartition("/")[2]


@dataclass(frozen=True)
class ExportFile:
    name: str
    """Its path in the export directory, '/'-joined (a single file's name): what its rows' locations
    and its error name."""
    version: str | None
    """Its size, modification and change times or ETag, as listed; None where there is none (standard input)."""
    where: Path | _Url
    open: Callable[[str], Any]
    """Opens it for reading (called with "rb")."""


@dataclass(frozen=True)
class Export:
    """An export file, or a directory's export files in name order, as listed; read by `rows`."""

    where: Path | _Url
    files: list[ExportFile]
    unreadable: list[tuple[str, str]]
    """A directory's subdirectories that could not be listed: (path in it, why)."""
    directory: bool

    def rows(self, start: int = 0) -> Iterator[SourceRow]:
        """The label rows of `files` from `start` on. A label row in more than one file of a directory
        (full exports collected day after day) comes once, from the last file that has it: else every
        sync would write each earlier copy and then the last one again. A file of a directory that
        cannot be read (past some point) comes as an item with its error, after its rows before that
        point, as does a subdirectory that could not be listed; a single file that cannot be read
        raises ExportError. Rows' locations name a directory's files by their path in it
        (2026-11-27/export.json[3])."""
        for folder, reason in self.unreadable:  # as a file that cannot be opened: recorded, and the rest is read
            yield SourceRow(None, folder + "/", error=f"cannot read the directory: {reason}")
        files = self.files[start:]
        if not self.directory:
            for file in files:
                yield from _located(file, _read_file(file))
            return
        last_file = _last_file_of_each_row(files) if len(files) > 1 else {}
        superseded = 0
        for index, file in enumerate(files):
            try:
                for item in _located(file, _read_file(file)):
                    if last_file.get(label_hash_of(item), index) > index:
                        superseded += 1
                        continue
                    yield item
            except ExportError as error:  # its rows before the break are read, and the other files
                yield SourceRow(None, file.name, error=error.reason)
        if superseded:
            log.info("%d label rows of %s are also in a later file; the last file's copy was read", superseded, self.where,
                     extra={"event": "rows_superseded", "rows": superseded})


def _located(file: ExportFile, items: Iterator[SourceRow]) -> Iterator[SourceRow]:
    """The items with locations that name the file as the export lists it: by its path in a directory, in
    text a warehouse stores (its rows' failures are then matched to it). Only where that is not its own name
    is each item copied (copying every row costs)."""
    if file.name == file.where.name:
        return items
    return (replace(item, location=file.name + item.location.removeprefix(file.where.name)) for item in items)


def in_export_file(location: str, name: str) -> bool:
    """Whether a row's location (a failure's source) is export file `name` or a place in it: `b.json`,
    `b.json[3]`, `b.json:12`."""
    return location == name or location.startswith((name + "[", name + ":"))


def list_export(path: str | Path, storage_options: dict | None = None) -> Export:
    """An export file, or a directory of them with its subdirectories: a local path, an fsspec URL
    (s3://bucket/exports/, with `storage_options`), or `-` for standard input. Raises ExportError
    when the directory cannot be listed or holds no export file."""
    if str(path) == STDIN:
        stdin = Path("<stdin>")
        return Export(stdin, [ExportFile(stdin.name, None, stdin, lambda mode: nullcontext(sys.stdin.buffer))], [], False)
    if is_url(str(path)):
        export = _remote_export(_Url(path), storage_options or {})
    elif _is_directory(Path(path)):
        export = _local_directory(Path(path))
    else:
        export = Export(Path(path), [ExportFile(as_text(Path(path).name), _local_version(Path(path)), Path(path),
                                                Path(path).open)], [], False)
    if export.directory and not export.files and not export.unreadable:
        raise ExportError(export.where, "no .json or .jsonl files (or .gz of them) in this directory or its subdirectories")
    return export


def _is_directory(path: Path) -> bool:
    """Whether `path` is a directory; what keeps it from being looked at (a folder on the way the user may not
    enter, a name too long) is the export's error, not a traceback."""
    try:
        return path.is_dir()
    except OSError as error:
        raise ExportError(path, _reason(error, path)) from None


def _is_export_file(name: str) -> bool:
    """Export files by their name; hidden ones are left out: .ipynb_checkpoints, .git, macOS's ._export.json."""
    return name.lower().endswith(_EXPORT_NAMES) and not any(part.startswith(".") for part in name.split("/"))


def _local_directory(directory: Path) -> Export:
    """The export files in `directory` and its subdirectories, in name order (a folder's files where
    its name sorts), and the subdirectories that could not be listed, with why."""
    found: list[Path] = []
    unreadable: list[tuple[Path, str]] = []
    seen = _Folders(directory)
    try:
        for folder, subfolders, names in os.walk(directory, followlinks=True, onerror=lambda error: unreadable.append(
                (Path(error.filename), error.strerror or str(error)))):
            subfolders[:] = [name for name in sorted(subfolders) if not name.startswith(".") and seen.first(Path(folder, name))]
            found += [Path(folder, name) for name in names if _is_export_file(name)]
    except RecursionError:  # os.walk recurses once per level (until Python 3.12)
        raise ExportError(directory, "its folders nest too deep to list (about 1,000 levels)") from None
    for folder, reason in unreadable:
        if folder == directory:
            raise ExportError(directory, f"cannot read the directory: {reason}")
    versions = [(file, _local_version(file)) for file in found]  # None: not a regular file, left out
    files = [ExportFile(as_text(file.relative_to(directory).as_posix()), version, file, file.open)
             for file, version in versions if version is not None]
    return Export(directory, _in_name_order(files),
                  [(as_text(folder.relative_to(directory).as_posix()), reason) for folder, reason in unreadable], True)


def as_text(path: str) -> str:
    """A local path as text a warehouse can store: the bytes of a name that are not UTF-8 (a Latin-1 name
    from a Windows share; Python holds them as lone surrogates, which no database takes) as \\xNN."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class _Folders:
    """The folders a walk that follows symbolic links has entered: a link to one of them (a loop back
    to a parent, a second link to the same folder) is not entered again."""

    def __init__(self, root: Path):
        self.entered: set[tuple[int, int]] = set()
        self.first(root)

    def first(self, folder: Path) -> bool:
        try:
            status = folder.stat()
        except OSError:
            return True  # os.walk says why it cannot be listed
        key = (status.st_dev, status.st_ino)
        if key in self.entered:
            return False
        self.entered.add(key)
        return True


def _local_version(path: Path) -> str | None:
    """Size, modification time and inode change time of a regular file; None for anything else (a pipe,
    a missing file: opening it says why). The change time is what a file rewritten in place with its
    size and modification time put back (`touch -r`, `cp -p` over it) cannot keep; a chmod costs only
    one more read of the file."""
    try:
        status = path.stat()
    except OSError:
        return None
    if not stat.S_ISREG(status.st_mode):
        return None
    return f"{status.st_size}:{status.st_mtime_ns}:{status.st_ctime_ns}"


def _in_name_order(files: list[ExportFile]) -> list[ExportFile]:
    return sorted(files, key=lambda file: file.name.split("/"))


def _remote_export(url: _Url, storage_options: dict) -> Export:
    """An export file or directory through fsspec (s3://, gs://, https://, file://); read as a stream,
    as a local one. The listing is fresh every time: a scheduled sync sees the files added since."""
    if has_credentials(url):
        raise ExportError(url, CREDENTIALS_IN_URL)
    import fsspec  # only for URLs: 0.1 s of every sync's start otherwise

    try:
        fs, root = fsspec.core.url_to_fs(url, **storage_options)
        fs.invalidate_cache()
        directory = not _is_http(fs) and fs.isdir(root)
        listed = fs.find(root, detail=True) if directory else {root: fs.info(root)}
    except Exception as error:  # each filesystem has its own: an unknown scheme, s3fs missing, no credentials
        raise ExportError(url, f"cannot open: {_reason(error, url)}") from None
    if not directory:
        return Export(url, [ExportFile(url.name, _remote_version(listed[root]), url, partial(_RemoteFile, fs, root))],
                      [], False)
    base = root.rstrip("/") + "/"
    files = [ExportFile(path.removeprefix(base), _remote_version(info), _Url(fs.unstrip_protocol(path)),
                        partial(_RemoteFile, fs, path))
             for path, info in listed.items()
             if info.get("type") == "file" and path.startswith(base) and _is_export_file(path.removeprefix(base))]
    return Export(url, _in_name_order(files), [], True)


class _RemoteFile:
    """A file of an fsspec filesystem opened to read as a stream, whose failures are OSErrors as a local
    file's are: each filesystem raises its own (aiohttp's ClientPayloadError for a connection lost part
    way through an HTTP read), and one file lost must not end the sync of the others."""

    def __init__(self, fs, path: str, mode: str):
        with _as_os_error():
            self.file = fs.open(path, mode, block_size=_REMOTE_BLOCK)

    def read(self, size: int = -1) -> bytes:
        with _as_os_error():
            return self.file.read(size)

    def __enter__(self) -> _RemoteFile:
        return self

    def __exit__(self, *exception) -> None:
        self.file.close()


@contextmanager
def _as_os_error() -> Iterator[None]:
    try:
        yield
    except OSError:
        raise
    except Exception as error:
        raise OSError(f"{type(error).__name__}: {error}") from error


def _remote_version(info: dict) -> str | None:
    """Size and ETag (S3, GCS, Azure, HTTP) or modification time, as fsspec lists them, and the change
    time where it lists one (`created`: a file:// URL's, as _local_version's); None without ETag or time."""
    changed = next((info[key] for key in ("ETag", "etag", "mtime", "LastModified", "last_modified", "updated")
                    if info.get(key) is not None), None)
    if changed is None:
        return None
    created = info.get("created")
    return f"{info.get('size')}:{changed}" + ("" if created is None else f":{created}")


def _is_http(fs) -> bool:
    """HTTP has no folders: fsspec would download a file whole to look for links in it."""
    protocols = {fs.protocol} if isinstance(fs.protocol, str) else set(fs.protocol)
    return bool(protocols & {"http", "https"})


def _reason(error: Exception, where: Path | str) -> str:
    """What went wrong; the message names `where` before it."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    if isinstance(error, FileNotFoundError) and str(error) in str(where):  # s3fs's and fsspec HTTP's: the path only
        return "no such file"
    return str(error) or type(error).__name__


def _last_file_of_each_row(files: list[ExportFile]) -> dict[str, int]:
    """label hash -> index of the last of `files` that has it. A file that cannot be read counts up to
    where it breaks: reading it again fails there, as it would have without this pass."""
    last_file: dict[str, int] = {}
    for index, file in enumerate(files):
        try:
            for item in _read_file(file):
                last_file[label_hash_of(item)] = index
        except ExportError:
            pass
    last_file.pop(None, None)
    return last_file


def _read_file(file: ExportFile) -> Iterator[SourceRow]:
    try:
        opened = file.open("rb")
    except OSError as error:
        raise ExportError(file.where, f"cannot open: {_reason(error, file.where)}") from None
    with opened as handle:
        try:
            yield from _read_handle(handle, file.where)
        except OSError as error:  # a read that fails part way: a disk error, a lost connection
            raise ExportError(file.where, f"cannot read: {_reason(error, file.where)}") from None


def _read_handle(handle, path: Path | _Url) -> Iterator[SourceRow]:
    """The label rows of a binary stream, plain or gzip; what is read to tell which is read again from
    memory (_Prefixed), not by seeking back."""
    magic = _read_exactly(handle, len(_GZIP_MAGIC))
    stream = _Prefixed(magic, handle)
    if magic != _GZIP_MAGIC:
        yield from _read_stream(stream, path)
        return
    try:
        with gzip.GzipFile(fileobj=stream) as unzipped:
            yield from _read_stream(unzipped, path)
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise ExportError(path, f"the gzip data is damaged: {error}") from None


def _read_stream(handle, path: Path | _Url) -> Iterator[SourceRow]:
    head = _read_exactly(handle, len(_UTF8_BOM))
    if head[:2] in _UTF16_BOMS:
        handle, head = _Utf16AsUtf8(_Prefixed(head, handle), path), b""
    head = _through_first_significant_byte(head.removeprefix(_UTF8_BOM), handle, path)
    first = head.lstrip()[:1]
    if first == b"[":
        yield from _read_array(_Prefixed(head.lstrip(), handle), path)
    elif first == b"{":
        yield from _read_objects(_Prefixed(head, handle), path)  # leading blank lines count as lines
    else:
        raise ExportError(path, f"not JSON: expected '[' or '{{' at the start, found {first!r}")


def read_ontology(path: str | Path, storage_options: dict | None = None) -> dict:
    """An `OntologyStructure.to_dict()` JSON file: a local path or an fsspec URL."""
    data = _ontology_bytes(str(path), storage_options or {})
    try:
        ontology = parse_json(_utf8(data))
        check_ontology(ontology)
    except UnicodeDecodeError as error:
        raise ExportError(path, f"ontology is not valid UTF-16 at byte {error.start}: {error.reason}") from None
    except orjson.JSONDecodeError as error:
        raise ExportError(path, f"ontology is not valid JSON: {error}") from None
    except OntologyError as error:
        raise ExportError(path, f"not an ontology: {error}") from None
    return ontology


def _ontology_bytes(path: str, storage_options: dict) -> bytes:
    if not is_url(path):
        try:
            return Path(path).read_bytes()
        except OSError as error:
            raise ExportError(path, f"cannot open ontology: {_reason(error, path)}") from None
    if has_credentials(path):
        raise ExportError(path, CREDENTIALS_IN_URL)
    import fsspec

    try:
        with fsspec.open(path, "rb", **storage_options) as handle:
            return handle.read()
    except Exception as error:  # each filesystem has its own: an unknown scheme, s3fs missing, no credentials
        raise ExportError(path, f"cannot open ontology: {_reason(error, path)}") from None


def _utf8(data: bytes) -> bytes:
    """A whole file's JSON as UTF-8, without a byte order mark (from UTF-16 if it has one of UTF-16)."""
    return data.decode("utf-16").encode() if data[:2] in _UTF16_BOMS else data.removeprefix(_UTF8_BOM)


def _read_exactly(handle, size: int) -> bytes:
    """`size` bytes, fewer only at the end of `handle` (whose reads may return less)."""
    data = b""
    while len(data) < size and (more := handle.read(size - len(data))):
        data += more
    return data


def _through_first_significant_byte(head: bytes, handle, path: Path | _Url) -> bytes:
    """`head` and what follows it in `handle`, read at least up to the first byte that is not white space; in
    chunks (a byte at a time, white space before the JSON took time in the square of its length)."""
    parts = [head]
    while not parts[-1].strip():
        chunk = handle.read(_CHUNK)
        if not chunk:
            raise ExportError(path, "the file is empty")
        parts.append(chunk)
    return b"".join(parts)


def _read_array(handle, path: Path | _Url) -> Iterator[SourceRow]:
    """A JSON array, cut into label rows a few at a time; each row is handed over as its JSON text.

    Each chunk ends just before a row that opens with `{"label_hash"`, as the SDK writes label
    rows. msgspec proves the cut and splits the chunk into its elements without building them
    (`[` + text + `]` is valid JSON only if the text is whole elements, so a cut inside a string
    or a nested object is never taken). A chunk with NaN or Infinity tokens (Python's json.dump
    writes them), which msgspec refuses, is parsed here with the standard library. What cannot be
    cut that way (other key orders, invalid JSON, no cut within _MAX_BUFFER unless the text so far is
    one row) is streamed with ijson from there on.

    What is read waits in one buffer that grows in place, and each look for a cut covers only the
    text read since the last look: a label row of hundreds of MB takes time in proportion to its size.
    """
    text = bytearray(handle.read(_CHUNK))
    del text[:text.index(b"[") + 1]
    index = 0
    looked = 0  # text[:looked] holds no row start that a cut could take
    one_row = 0  # text[:one_row] is one row (_one_row_so_far)
    while True:
        chunk = handle.read(_CHUNK)
        text += chunk
        end = None if chunk else _array_end(text)
        cut = end or _row_boundary(text, looked)
        if cut is None:
            looked = len(text)
            if chunk and len(text) <= _MAX_BUFFER:
                continue
            if chunk and _one_row_so_far(text, one_row):
                one_row = len(text)
                continue
            break  # no cut in sight (do not hold the file), or a broken tail: ijson names the error
        with memoryview(text)[:cut[0]] as whole_rows:
            rows = _elements(whole_rows)
        if rows is None:
            break
        rows.reverse()
        while rows:  # popped, so that a row the sync is done with is not held here until the chunk ends
            row, text_of_row = rows.pop()
            yield SourceRow(row, f"{path.name}[{index}]", text=text_of_row)
            index += 1
        if end is not None:
            return
        del text[:cut[1]]
        looked, one_row = len(text), 0  # what is left opens with the row cut at: it holds no other cut
    yield from _stream_array(_Prefixed(b"[" + text, handle), path, index)


def _one_row_so_far(text: bytearray, one_row: int) -> bool:
    """`text` is one label row still being read, past _MAX_BUFFER (a long video): it opens as the SDK
    writes a row and no other row has started (text[:one_row] is known to be one row). Held as text it
    takes a fraction of what ijson's dict of it would."""
    first = _ROW_START.match(text)
    return first is not None and text.find(_ROW_KEY, max(first.end(), _new_keys_from(one_row))) < 0


def _row_boundary(text: bytearray, looked: int) -> tuple[int, int] | None:
    """(end of one element, start of the next) for the last label row that starts in `text`, past
    text[:looked]."""
    low = _new_keys_from(looked)
    at = text.rfind(_ROW_KEY, low)
    while at > 0:
        between = _BETWEEN_ROWS.search(text, max(0, at - 256), at)
        if between is not None:
            return between.start() + 1, between.start(1)
        at = text.rfind(_ROW_KEY, low, at)
    return None


def _new_keys_from(seen: int) -> int:
    """Where a row key that text[:seen] does not wholly hold can start: one may straddle `seen`."""
    return max(0, seen - len(_ROW_KEY) + 1)


def _array_end(text: bytearray) -> tuple[int, int] | None:
    end = len(text)
    while end and text[end - 1] in _WHITESPACE:
        end -= 1
    return (end - 1, len(text)) if text[end - 1:end] == b"]" else None


def _elements(text: memoryview) -> list[tuple[Any, bytes | None]] | None:
    """(None, its text) for each element of `[text]`, or None when that is not valid JSON; (the element,
    None) when only the standard library reads it (NaN or Infinity tokens)."""
    array = b"".join((b"[", text, b"]"))
    try:
        return [(None, bytes(raw)) for raw in _RAW_ELEMENTS.decode(array)]
    except (msgspec.DecodeError, RecursionError):
        pass
    try:
        return [(row, None) for row in parse_json(array)]
    except ValueError:
        return None


def _stream_array(stream, path: Path | _Url, index: int) -> Iterator[SourceRow]:
    try:
        for row in ijson.items(stream, "item", use_float=True):
            yield SourceRow(row, f"{path.name}[{index}]")
            index += 1
    except ijson.JSONError as error:
        reason = str(error).splitlines()[0] if str(error).strip() else type(error).__name__
        raise ExportError(path, f"invalid JSON in item {index}: {reason}") from None


class _Prefixed:
    """A binary stream: `prefix`, then the rest of `handle`. The prefix is read from an offset: cutting
    off what was read copied the rest of it on every read, quadratic in its size (up to _MAX_BUFFER)."""

    def __init__(self, prefix: bytes, handle):
        self.prefix, self.offset, self.handle = prefix, 0, handle

    def read(self, size: int = -1) -> bytes:
        if self.offset >= len(self.prefix):
            self.prefix = b""  # freed once read
            return self.handle.read(size)
        end = len(self.prefix) if size < 0 else self.offset + size
        data = self.prefix[self.offset:end]
        self.offset += len(data)
        return data + self.handle.read() if size < 0 else data


class _Utf16AsUtf8:
    """A binary stream of UTF-16 text that starts with its byte order mark, read as UTF-8 (without the mark)."""

    def __init__(self, handle, path: Path | _Url):
        self.handle, self.path = handle, path
        self.decoder = codecs.getincrementaldecoder("utf-16")()
        self.pending, self.offset = b"", 0

    def read(self, size: int = -1) -> bytes:
        while not self.pending or size < 0:
            raw = self.handle.read(_CHUNK)
            held = len(self.decoder.getstate()[0])  # the end of the last read: half a character
            try:
                self.pending += self.decoder.decode(raw, final=not raw).encode()
            except UnicodeDecodeError as error:
                where = f"at byte {self.offset - held + error.start}"
                raise ExportError(self.path, f"not valid UTF-16 {where}: {error.reason}") from None
            self.offset += len(raw)
            if not raw:
                break
        data = self.pending if size < 0 else self.pending[:size]
        self.pending = self.pending[len(data):]
        return data


def _read_objects(handle, path: Path | _Url) -> Iterator[SourceRow]:
    """JSON Lines, or one (possibly pretty-printed) label-row object. A file whose first line with
    content is not JSON is JSON Lines all the same when a later line is a label row: its bad
    lines are each recorded, not the whole file refused."""
    first_line, after = _first_line(handle)
    try:
        parse_json(first_line)
    except orjson.JSONDecodeError:
        text = first_line + after + handle.read()
        try:
            document = parse_json(text)
        except orjson.JSONDecodeError as error:
            if not _has_label_row_line(text):
                raise ExportError(path, f"invalid JSON: {error}") from None
            yield from _json_lines(io.BytesIO(text), path)
            return
        yield SourceRow(document, path.name)
        return
    yield from _json_lines(_Prefixed(first_line + after, handle), path)


def _json_lines(handle, path: Path | _Url) -> Iterator[SourceRow]:
    # each line is parsed where it is normalized, a bad one recorded there
    for number, line in enumerate(_lines(handle), start=1):
        line = line.rstrip()
        if line:
            yield SourceRow(None, f"{path.name}:{number}", text=line)


def _has_label_row_line(text: bytes) -> bool:
    lines = io.BytesIO(text)
    next(lines, None)
    for line in lines:  # one at a time: `text` may be hundreds of MB
        try:
            parsed = parse_json(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(parsed, dict) and "label_hash" in parsed:
            return True
    return False


def _first_line(handle) -> tuple[bytes, bytes]:
    """The start of `handle` through its first line with content (blank lines before it too), with
    its newline; and what was read after it."""
    read = bytearray()  # grows in place: a first line of hundreds of MB is read in linear time
    line_start = searched = 0
    while True:
        newline = read.find(b"\n", searched)
        while newline >= 0:
            if read[line_start:newline].strip():
                return bytes(read[:newline + 1]), bytes(read[newline + 1:])
            line_start = searched = newline + 1
            newline = read.find(b"\n", searched)
        searched = len(read)
        chunk = handle.read(_CHUNK)
        if not chunk:
            return bytes(read), b""
        read += chunk


def _lines(handle) -> Iterator[bytes]:
    """The lines of `handle`, without their newlines; a line longer than a read is joined once, not grown."""
    pending: list[bytes] = []
    while chunk := handle.read(_CHUNK):
        *ended, rest = chunk.split(b"\n")
        if ended:
            yield b"".join([*pending, ended[0]])
            yield from ended[1:]
            pending = []
        pending.append(rest)
    if any(pending):
        yield b"".join(pending)
