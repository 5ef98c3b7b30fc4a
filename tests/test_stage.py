"""connector.stage: normalized rows as the warehouse loads them."""

from __future__ import annotations

import json

from connector import stage
from connector.columns import ColumnSpec

COLUMNS = (ColumnSpec("n", "integer", False, True), ColumnSpec("doc", "json", True, False))


def test_a_json_column_longer_than_a_slice_is_each_value_as_json_text_in_order():
    """JSON values are serialized a slice at a time (memory): every value lands in its own row, the
    first and last of each slice included, and reads back as itself."""
    count = 2 * stage._JSON_SLICE + 5
    values = [None if n % 7 == 0 else {"x": n / 3, "name": f"caf\u00e9 {n}", "points": [[n, 0.5]]} for n in range(count)]
    table = stage.to_arrow(COLUMNS, list(enumerate(values)))
    assert table.column("n").to_pylist() == list(range(count))
    texts = table.column("doc").to_pylist()
    assert [None if text is None else json.loads(text) for text in texts] == values
    assert texts[stage._JSON_SLICE] == json.dumps(values[stage._JSON_SLICE], ensure_ascii=False, separators=(",", ":"))
