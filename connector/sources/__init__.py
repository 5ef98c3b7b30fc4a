"""Where label rows come from: Encord export files (export.py) or the Encord API (encord.py)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

import msgspec
import orjson


@dataclass(frozen=True)
class SourceRow:
    """One label row as a source yields it, with where it came from.

    A source hands over the row's JSON `text` where it can (export files: each row's text as the file
    has it; the Encord SDK's dicts: written by lossless_json), so that parsing happens where the row
    is normalized (a worker process) and the process that reads the source holds bytes, not trees of
    objects; else the dict as `row`. `error` is set instead of either when the source could not
    decode this item; the sync records it and goes on.
    """

    row: Any
    location: str
    metadata: dict | None = None
    error: str | None = None
    edited_at: datetime | None = None  # last_edited_at as listed, for cursors
    saved_at: datetime | None = None  # the fetched row's own last_edited_at, later than listed if saved since
    text: bytes | None = None

    @cached_property
    def json(self) -> bytes | None:
        """The row as JSON, written once: the source's text, else the dict as archive_json writes it (None
        when it cannot be written). The fingerprint and the raw archive are made from it; a source that
        sizes its requests by it (sources/encord.py) does not write the row a second time."""
        return self.text if self.text is not None else archive_json(self.row)

    def parsed(self) -> Any:
        """The label-row dict, parsing `text` if the source did not."""
        return self.row if self.text is None else parse_json(self.text)


_LABEL_HASH = msgspec.json.Decoder(type=msgspec.defstruct("LabelHash", [("label_hash", Any, None)]))
"""Reads only a label row's `label_hash` from its JSON text (the rest is validated, not built)."""


def label_hash_of(item: SourceRow) -> str | None:
    """The label hash of a source row, without parsing its text; None when it has none or its text is not
    a JSON object msgspec reads (NaN tokens, invalid JSON: the sync finds those out later)."""
    if item.text is not None:
        try:
            label_hash = _LABEL_HASH.decode(item.text).label_hash
        except (msgspec.DecodeError, RecursionError):  # nested past Python's recursion limit: parse_json says so
            return None
    else:
        label_hash = item.row.get("label_hash") if isinstance(item.row, dict) else None
    return label_hash if isinstance(label_hash, str) else None


def lossless_json(row: Any) -> bytes | None:
    """`row` (JSON's types: the SDK's to_encord_dict) as JSON text that reads back as `row`, else None.
    orjson writes NaN and infinities as null (JSON has no such numbers) and refuses keys that are not
    strings: a text with null in it is taken only when the standard library's encoder, which refuses
    NaN and infinities, finds none. The raw archive and a rebuild read this same text."""
    try:
        text = orjson.dumps(row)
    except TypeError:  # a key that is not a string, an integer past 64 bits
        return None
    if b"null" in text:
        try:
            json.dumps(row, allow_nan=False)
        except (ValueError, TypeError):
            return None
    return text


def archive_json(row: Any) -> bytes | None:
    """`row` as JSON text that reads back as `row` (parse_json, then normalize): NaN and infinities,
    which JSON cannot hold (orjson writes null), spelled as the strings normalize.NON_FINITE_TEXT reads,
    keys that are not strings written as strings. None when it cannot be written (an integer past 64
    bits, a lone surrogate in a string, nesting past orjson's depth): such a row is quarantined."""
    try:
        return orjson.dumps(_json_safe(row), option=orjson.OPT_NON_STR_KEYS)
    except (TypeError, RecursionError):  # RecursionError: nested deeper than Python's limit
        return None


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value


def parse_json(text: bytes) -> Any:
    """orjson; else the standard library, which reads the NaN and Infinity tokens that Python's
    json.dump writes (and so Encord's export script, for a coordinate that is not finite). Only as
    UTF-8, as JSON is written: the raw archive keeps the text as it came."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as error:
        try:
            decoded = text.decode() if isinstance(text, bytes) else text
        except UnicodeDecodeError as bad:  # orjson's own words for it name neither the byte nor where it is
            before = text[:bad.start].decode(errors="replace")
            raise orjson.JSONDecodeError(f"not UTF-8 (byte 0x{text[bad.start]:02x})", before, len(before)) from None
        try:
            return json.loads(decoded)
        except (ValueError, RecursionError):  # orjson's error says why: "recursion limit exceeded" for the latter
            raise error from None
