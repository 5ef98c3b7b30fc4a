"""One data unit's questions through the views, each view against its previous version in the same run.

    .venv/bin/python bench/views/one_unit.py --db duckdb:////tmp/encord-warehouse-bench/db/w1.duckdb
    .venv/bin/python bench/views/one_unit.py --db postgresql://…/db --schema x1

Run on a warehouse the bench export was synced into (bench/generate.py: videos, consensus videos with
annotator branches). The previous version of each view changed by migration 0018 is created beside it as a
temporary view `<name>_previous` from its own sql/ file, and each question is asked of both, `--repeat` times
(median; statement timeout `--timeout` seconds, reported as "> N s"). Nothing in the warehouse is changed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from connector import views  # noqa: E402
from connector.db import create_warehouse_engine  # noqa: E402

CHANGED = {  # name: (previous version, the views built on it that the questions go through)
    "branch_labels": (1, []),
    "labeled_frames": (1, []),
    "object_vertices": (2, [("object_vertices_px", 1)]),
}
QUESTIONS = [
    ("branch_labels", "consensus video's disagreements", "SELECT * FROM {branch_labels} WHERE data_title = :consensus"),
    ("branch_labels", "docs' ranking of every unit", "SELECT data_title, branch_name, AVG(1 - COALESCE(mean_best_iou, 0)) "
                                                     "FROM {branch_labels} GROUP BY 1, 2"),
    ("labeled_frames", "one video's labeled frames", "SELECT * FROM {labeled_frames} WHERE data_title = :video"),
    ("object_vertices", "one video's vertices, frames 10-40",
     "SELECT * FROM {object_vertices_px} WHERE data_title = :video AND frame BETWEEN 10 AND 40"),
    ("object_vertices", "one label row's vertices", "SELECT * FROM {object_vertices} WHERE label_hash = :label_hash"),
]


def previous_views(connection, name: str) -> dict[str, str]:
    """Create `<name>_previous` (and the views the questions read it through) as temporary views."""
    dialect = connection.dialect.name
    version, built_on = CHANGED[name]
    names = {name: f"{name}_previous"}
    for entry, entry_version in [(name, version), *built_on]:
        statement = views.create_statement(entry, entry_version, dialect)
        statement = statement.replace(f"CREATE VIEW {entry} AS", f"CREATE TEMP VIEW {entry}_previous AS", 1)
        for original, previous in names.items():
            statement = statement.replace(f"FROM {original} AS", f"FROM {previous} AS")
        connection.exec_driver_sql(statement)
        names[entry] = f"{entry}_previous"
    return names


def timed(connection, sql: str, params: dict, repeat: int, timeout: float) -> tuple[float | None, int]:
    seconds, rows = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        try:
            rows = len(connection.execute(text(sql), params).all())
        except Exception:  # the statement timeout (Postgres; autocommit)
            return None, rows
        seconds.append(time.perf_counter() - started)
        if seconds[-1] > timeout:
            break
    return statistics.median(seconds), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True)
    parser.add_argument("--schema")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    engine = create_warehouse_engine(args.db, args.schema)
    if engine.dialect.name == "postgresql":  # a timed-out question must not take the temporary views with it
        engine = engine.execution_options(isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SET statement_timeout = {int(args.timeout * 1000)}")
        params = dict(connection.execute(text(
            "SELECT (SELECT min(data_title) FROM label_rows WHERE branch_name <> 'main') AS consensus, "
            "(SELECT min(data_title) FROM label_rows WHERE data_type = 'video' AND branch_name = 'main') AS video"
        )).mappings().one())
        params["label_hash"] = connection.execute(text("SELECT min(label_hash) FROM label_rows WHERE data_title = :v"),
                                                  {"v": params["video"]}).scalar()
        print(f"{connection.dialect.name}: {connection.execute(text('SELECT count(*) FROM object_frames')).scalar():,} "
              f"object_frames rows; median of {args.repeat}\n")
        print("| question | previous view ms | 0018's view ms | previous / 0018 | rows |\n|---|---:|---:|---:|---:|")
        for name, question, template in QUESTIONS:
            names = previous_views(connection, name)
            current = {entry: entry for entry in names}
            previous_s, rows = timed(connection, template.format(**names), params, args.repeat, args.timeout)
            new_s, new_rows = timed(connection, template.format(**current), params, args.repeat, args.timeout)
            assert previous_s is None or rows == new_rows, (question, rows, new_rows)
            before = f"> {args.timeout * 1000:,.0f}" if previous_s is None else f"{previous_s * 1000:,.1f}"
            ratio = "—" if previous_s is None else f"{previous_s / new_s:.1f}x"
            print(f"| {question} | {before} | {new_s * 1000:,.1f} | {ratio} | {new_rows:,} |", flush=True)
            for view in reversed(list(names.values())):
                connection.exec_driver_sql(f"DROP VIEW {view}")
    engine.dispose()


if __name__ == "__main__":
    main()
