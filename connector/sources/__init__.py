"""Where label rows come from: Encord export files (export.py) or the Encord API (encord.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

import orjson

from connector.normalize import row_json


@dataclass(frozen=True)
class SourceRow:
    """One label row as a source yields it, with where it came from.

    A source that parses rows itself (the Encord SDK) hands over the dict as `row`; one that reads
    JSON text (export files) hands over the row's `text` instead, so that parsing happens where the
    row is normalized (a worker process) and the reading process only cuts the file into rows.
    `error` is set instead of either when the source could not decode this item; the sync records
    it and goes on.
    """

    row: Any
    location: str
    metadata: dict | None = None
    error: str | None = None
    edited_at: datetime | None = None  # last_edited_at as listed, for cursors
    text: bytes | None = None

    @cached_property
    def json(self) -> bytes | None:
        """The row as JSON, written once: the source's text, else the dict as orjson writes it (None when
        it cannot be written). The fingerprint and the raw archive are made from it; a source that
        sizes its requests by it (sources/encord.py) does not write the row a second time."""
        return self.text if self.text is not None else row_json(self.row)

    def parsed(self) -> Any:
        """The label-row dict, parsing `text` if the source did not."""
        return self.row if self.text is None else parse_json(self.text)


def parse_json(text: bytes) -> Any:
    """orjson; else the standard library, which reads the NaN and Infinity tokens that Python's
    json.dump writes (and so Encord's export script, for a coordinate that is not finite)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as error:
        try:
            return json.loads(text)
        except ValueError:
            raise error from None
