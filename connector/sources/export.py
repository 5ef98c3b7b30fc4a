"""Label rows from files written by Encord's "Export labels as JSON" script.

Accepts a JSON array of label-row dicts (streamed, so memory does not grow with the
file), a single label-row object, JSON Lines, or a directory of such files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import ijson
import orjson

from connector.sources import SourceRow

EXPORT_SUFFIXES = (".json", ".jsonl", ".ndjson")


class ExportError(Exception):
    """An export file that cannot be read at all."""


def read_export(path: str | Path) -> Iterator[SourceRow]:
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in EXPORT_SUFFIXES and p.is_file())
        if not files:
            raise ExportError(f"{path}: no .json or .jsonl files in this directory")
        for file in files:
            yield from read_export_file(file)
        return
    yield from read_export_file(path)


def read_export_file(path: Path) -> Iterator[SourceRow]:
    try:
        handle = path.open("rb")
    except OSError as error:
        raise ExportError(f"{path}: cannot open: {error.strerror or error}") from None
    with handle:
        first = _first_significant_byte(handle, path)
        handle.seek(0)
        if first == b"[":
            yield from _read_array(handle, path)
        elif first == b"{":
            yield from _read_objects(handle, path)
        else:
            raise ExportError(f"{path}: not JSON: expected '[' or '{{' at the start, found {first!r}")


def read_ontology(path: str | Path) -> dict:
    try:
        return orjson.loads(Path(path).read_bytes())
    except OSError as error:
        raise ExportError(f"{path}: cannot open ontology: {error.strerror or error}") from None
    except orjson.JSONDecodeError as error:
        raise ExportError(f"{path}: ontology is not valid JSON: {error}") from None


def _first_significant_byte(handle, path: Path) -> bytes:
    while True:
        byte = handle.read(1)
        if not byte:
            raise ExportError(f"{path}: the file is empty")
        if not byte.isspace():
            return byte


def _read_array(handle, path: Path) -> Iterator[SourceRow]:
    index = 0
    try:
        for index, row in enumerate(ijson.items(handle, "item", use_float=True)):
            yield SourceRow(row, f"{path.name}[{index}]")
    except ijson.JSONError as error:
        raise ExportError(f"{path}: invalid JSON after item {index}: {error}") from None


def _read_objects(handle, path: Path) -> Iterator[SourceRow]:
    """JSON Lines, or one (possibly pretty-printed) label-row object."""
    first_line = handle.readline()
    try:
        first = _loads(first_line)
    except orjson.JSONDecodeError:
        handle.seek(0)
        try:
            yield SourceRow(_loads(handle.read()), path.name)
        except orjson.JSONDecodeError as error:
            raise ExportError(f"{path}: invalid JSON: {error}") from None
        return
    yield SourceRow(first, f"{path.name}:1")
    for number, line in enumerate(handle, start=2):
        if not line.strip():
            continue
        try:
            yield SourceRow(_loads(line), f"{path.name}:{number}")
        except orjson.JSONDecodeError as error:
            yield SourceRow(None, f"{path.name}:{number}", error=f"invalid JSON line: {error}")


def _loads(text: bytes):
    """orjson; else the standard library, which reads the NaN and Infinity tokens that Python's
    json.dump writes (and so Encord's export script, for a coordinate that is not finite)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as error:
        try:
            return json.loads(text)
        except ValueError:
            raise error from None
