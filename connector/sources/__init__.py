"""Where label rows come from: Encord export files (export.py) or the Encord API (encord.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class SourceRow:
    """One label-row dict as a source yields it, with where it came from.

    `error` is set instead of `row` when the source could not decode this item
    (a bad JSON line); the sync records it and goes on.
    """

    row: Any
    location: str
    metadata: dict | None = None
    error: str | None = None
    edited_at: datetime | None = None  # last_edited_at as listed, for cursors
