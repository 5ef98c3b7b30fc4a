"""The last check before a label row's rows reach the loader: every value fits its column.

normalize reads the label-row dict; this checks what it produced against the warehouse's columns
(connector/columns.py, from schema.py), column by column (a set of value types per column, so 100k
annotations cost milliseconds), and names the first value that does not fit. One bad value
quarantines its label row instead of failing the batch's Arrow conversion or COPY and with it the
whole sync. Text with a NUL character is refused on both warehouses: Postgres text cannot hold it;
so is text past INDEXED_TEXT_BYTES in an indexed column: a Postgres index entry cannot hold it.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

import orjson

from connector.columns import ColumnSpec, TableColumns
from connector.failures import INDEXED_TEXT_BYTES, RowFailure
from connector.normalize import LabelRowError

_NONE = type(None)
_ALLOWED = {"text": {str}, "integer": {int}, "bigint": {int}, "double": {float, int}, "boolean": {bool},
            "datetime": {datetime}}
_WHAT = {"text": "text", "integer": "an integer", "bigint": "an integer", "double": "a number",
         "boolean": "true or false", "datetime": "a timestamp"}
_RANGE = {"integer": (-2**31, 2**31 - 1), "bigint": (-2**63, 2**63 - 1)}


def check_tables(label_hash: str | None, tables: dict[str, list[tuple]], columns: TableColumns,
                 data_title: str | None = None) -> None:
    """Raises LabelRowError(label_hash, '<table>.<column>', reason) for the first value that does not fit."""
    for name, rows in tables.items():
        if not rows:
            continue
        for (column, kind, allowed, indexed), values in zip(_checks(columns[name]), zip(*rows)):
            if kind == "json":
                continue
            problem = _column_problem(kind, allowed, values) or (_too_long(values) if indexed and kind == "text" else None)
            if problem is not None:
                index, reason = problem
                key = ", ".join(f"{c.name}={rows[index][i]!r}"[:80] for i, c in enumerate(columns[name])
                                if c.key and c.name != "label_hash")
                raise LabelRowError(label_hash, f"{name}.{column}", f"{reason} ({key})" if key else reason, data_title)


def check_json_columns(label_hash: str | None, tables: dict[str, list[tuple]], columns: TableColumns,
                       data_title: str | None, json_text: bytes | str | None) -> None:
    """Raises LabelRowError for a NUL character in a JSON column (geometry, points): Postgres' json keeps
    it escaped, but `->>` cannot read it back as text, and every query of a view that does (`labels`,
    frame_labels) would fail, for every title. Only a row whose JSON text (`json_text`, None: unknown)
    has the escape is looked at."""
    if json_text is not None and (b"\\u0000" if isinstance(json_text, bytes) else "\\u0000") not in json_text:
        return
    for name, rows in tables.items():
        for (column, kind, _, _), values in zip(_checks(columns[name]), zip(*rows)):
            for value in values if kind == "json" else ():
                if value is not None and b"\\u0000" in orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY):
                    raise LabelRowError(label_hash, f"{name}.{column}", "contains a NUL character (\\u0000), "
                                        "which Postgres cannot read back as text", data_title)


@lru_cache(maxsize=None)
def _checks(columns: tuple[ColumnSpec, ...]) -> tuple[tuple[str, str, frozenset, bool], ...]:
    """(column name, kind, Python types allowed, indexed) for each column; one label row per call, so built once."""
    return tuple((column.name, column.kind,
                  frozenset(_ALLOWED.get(column.kind, {str}) | ({_NONE} if column.nullable else set())), column.indexed)
                 for column in columns)


def _column_problem(kind, allowed: frozenset, values: tuple) -> tuple[int, str] | None:
    if not allowed.issuperset(map(type, values)):
        index = next(i for i, v in enumerate(values) if type(v) not in allowed)
        value = values[index]
        return index, ("missing" if value is None else f"expected {_WHAT.get(kind, 'text')}, got {type(value).__name__} {value!r}"[:200])
    if kind in _RANGE:
        low, high = _RANGE[kind]
        present = [v for v in values if v is not None]
        if present and (min(present) < low or max(present) > high):
            index = next(i for i, v in enumerate(values) if v is not None and not low <= v <= high)
            return index, f"{values[index]} is out of range for this column"
    if kind == "text" and "\x00" in "".join(filter(None, values)):  # filter(None): no None, no empty strings
        index = next(i for i, v in enumerate(values) if v is not None and "\x00" in v)
        return index, f"contains a NUL character, which Postgres text cannot hold: {values[index]!r}"[:200]
    return None


def _too_long(values: tuple) -> tuple[int, str] | None:
    if max(map(len, filter(None, values)), default=0) * 4 <= INDEXED_TEXT_BYTES:  # 4 bytes per character at most
        return None
    for index, value in enumerate(values):
        size = len(value.encode(errors="replace")) if value else 0
        if size > INDEXED_TEXT_BYTES:
            return index, f"{size} bytes of text, more than the {INDEXED_TEXT_BYTES} an indexed column takes: {value[:40]!r}..."
    return None


FLAGGING_TABLES = {"object_frames": "annotation(s)", "classifications": "classification(s)"}
"""The tables whose last column, `problems`, flags a row that loaded as sent; a kept problem's field is
'<table>.problems' (connector/resolve.py looks there to see it gone)."""


def flagged(label_hash, tables: dict[str, list[tuple]], data_title: str | None, source: str | None) -> list:
    """A sync_errors entry (kept=True) for each of FLAGGING_TABLES in which a label row loaded with flagged rows."""
    found = []
    for table, what in FLAGGING_TABLES.items():
        problems = [row for row in tables.get(table, ()) if row[-1] is not None]
        if problems:
            first = problems[0]
            where = f"object {first[1]} frame {first[2]}" if table == "object_frames" else f"classification {first[1]}"
            reason = f"{len(problems)} {what} kept and flagged in {table}.problems; first: {where}: {first[-1]}"
            found.append(RowFailure(label_hash, f"{table}.problems", reason[:500], data_title, source, kept=True))
    return found
