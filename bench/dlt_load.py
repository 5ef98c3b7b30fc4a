"""dlt loading the same export into DuckDB, with parquet load files (the optional `bench` extra).

    .venv/bin/python bench/dlt_load.py EXPORT --duckdb /tmp/dlt.duckdb [--format parquet]

A resource yields each label row with its hash- and frame-keyed maps reshaped into lists
(`data_units`, each unit's `labels` as [{frame, objects, classifications}], `object_answers`,
`object_actions`, `classification_answers`) — without that dlt makes a column or table per hash and
per frame and never finishes. dlt then infers the schema and unnests the lists into child tables
(label_rows__data_units__labels__objects holds the object-frame annotations). Prints a JSON line
with the label rows done and the seconds spent after start-up.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import dlt
import ijson


def reshape(row: dict) -> dict:
    row = dict(row)
    units = []
    for data_hash, unit in (row.get("data_units") or {}).items():
        unit = dict(unit, data_hash=data_hash)
        labels = unit.get("labels") or {}
        if "objects" in labels or "classifications" in labels:
            unit["labels"] = [{"frame": int(unit.get("data_sequence", 0)), **labels}]
        else:
            unit["labels"] = [{"frame": int(frame), **content} for frame, content in labels.items()]
        units.append(unit)
    row["data_units"] = units
    for key in ("object_answers", "object_actions", "classification_answers"):
        row[key] = [dict(value, hash=hash_) for hash_, value in (row.get(key) or {}).items()]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("export", type=Path)
    parser.add_argument("--duckdb", required=True, type=Path)
    parser.add_argument("--format", default="parquet", choices=["parquet", "jsonl"])
    parser.add_argument("--workdir", type=Path, default=None, help="dlt's pipelines dir (default: beside the database)")
    args = parser.parse_args()
    started = time.perf_counter()
    count = 0

    @dlt.resource(name="label_rows", write_disposition="replace", primary_key="label_hash")
    def label_rows():
        nonlocal count
        with args.export.open("rb") as handle:
            for row in ijson.items(handle, "item", use_float=True):
                count += 1
                yield reshape(row)

    pipeline = dlt.pipeline(pipeline_name="encord_bench", destination=dlt.destinations.duckdb(str(args.duckdb)),
                            dataset_name="encord", pipelines_dir=str(args.workdir or args.duckdb.parent / "dlt"))
    pipeline.run(label_rows(), loader_file_format=args.format)
    with pipeline.sql_client() as client:
        annotations = client.execute_sql("SELECT COUNT(*) FROM label_rows__data_units__labels__objects")[0][0]
    print(json.dumps({"label_rows": count, "object_frames": annotations,
                      "work_s": round(time.perf_counter() - started, 3)}))


if __name__ == "__main__":
    main()
