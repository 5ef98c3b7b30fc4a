"""A label row that did not load (or loaded with flagged problems), and why: plain data, made where
rows are normalized (maybe a worker process) and recorded in sync_errors by connector/state.py."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from connector.redact import redact

INDEXED_TEXT_BYTES = 1000
"""The longest text (UTF-8) an indexed column takes: a Postgres index entry holds about 2.7 kB and our
indexes have at most two text columns. Hashes and titles are far shorter."""


@dataclass(frozen=True)
class RowFailure:
    """A label row (or source item) that did not load, and why."""

    label_hash: str | None
    field: str
    reason: str
    data_title: str | None = None
    source: str | None = None
    kept: bool = False
    """True: the row loaded with problems flagged (object_frames.problems, classifications.problems);
    False: it was not loaded."""

    def __post_init__(self) -> None:  # reasons quote bad values, and paths keys, which may be signed links
        object.__setattr__(self, "reason", redact(self.reason))
        object.__setattr__(self, "field", redact(self.field))
        # a label hash kilobytes long (quarantined for it) would not fit sync_errors' index, nor one line
        object.__setattr__(self, "label_hash", _shortened(self.label_hash))

    def __str__(self) -> str:
        title = f" ({self.data_title})" if self.data_title else ""
        where = f"label row {self.label_hash}{title}" if self.label_hash else f"{self.source or '?'}{title}"
        return f"{where}: {self.field}: {self.reason}".translate(_ESCAPED_CONTROLS)


_ESCAPED_CONTROLS = {code: f"\\x{code:02x}" for code in [*range(32), 0x7F, 0x85]} | {
    ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t", 0x2028: "\\u2028", 0x2029: "\\u2029"}
"""A title or value quoted in a failure's line, its line breaks and other control characters escaped: one line."""


def _shortened(text, limit: int = INDEXED_TEXT_BYTES):
    """`text` past `limit` bytes (a row with such a key is never stored: rowcheck) cut to 200 characters,
    with a digest of the whole so that two stay apart."""
    if not isinstance(text, str) or len(text) * 4 <= limit or len(text.encode("utf-8", "surrogatepass")) <= limit:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{text[:200]}… ({len(text)} characters, sha256 {digest}…)"


def error_line(error: BaseException) -> str:
    """An exception as commands print it and sync_runs keeps it: one line, secrets redacted; for a database
    error the driver's own words, without SQLAlchemy's statement, parameters and link."""
    text = str(getattr(error, "orig", None) or error).strip()
    if not text:
        return type(error).__name__
    return redact(text.splitlines()[0] + _dependent_objects(getattr(error, "orig", None)))


def _dependent_objects(driver_error) -> str:
    """Postgres names what stands in the way of a DROP (a user's view on one of ours) in its detail, which the
    first line leaves out; without the names the user cannot act."""
    diagnostic = getattr(driver_error, "diag", None)
    if getattr(diagnostic, "sqlstate", None) != "2BP01" or not diagnostic.message_detail:
        return ""
    return f" ({'; '.join(diagnostic.message_detail.splitlines())}): drop them, run this again, then create them again"
