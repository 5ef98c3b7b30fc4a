"""The floor must write what the connector writes: both DuckDB files compared table by table
with EXCEPT ALL both ways (columns the floor does not fill left out)."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connector import schema  # noqa: E402

NOT_FILLED_BY_FLOOR = {"synced_at", "content_sha256", "problems"}


def differences(ours: str, floor: str) -> dict[str, tuple[int, int]]:
    """table -> (rows only in ours, rows only in the floor), for the tables that differ."""
    connection = duckdb.connect(ours, read_only=True)
    try:
        connection.execute("ATTACH ? AS floor (READ_ONLY)", [floor])
        found = {}
        for table in [schema.data_units, *schema.LABEL_ROW_TABLES]:
            columns = ", ".join(f'"{c.name}"' for c in table.columns if c.name not in NOT_FILLED_BY_FLOOR)
            only = [connection.execute(f"SELECT count(*) FROM (SELECT {columns} FROM {a}.{table.name} "
                                       f"EXCEPT ALL SELECT {columns} FROM {b}.{table.name})").fetchone()[0]
                    for a, b in (("main", "floor"), ("floor", "main"))]
            if any(only):
                found[table.name] = tuple(only)
        return found
    finally:
        connection.close()


if __name__ == "__main__":
    print(differences(sys.argv[1], sys.argv[2]) or "same rows")
