"""A probe, not part of run.py: how fast DuckDB's typed JSON reader flattens the per-frame objects,
against our normalizer on the same chunks, in one process and one run.

    .venv/bin/python bench/flatten_in_duckdb.py /tmp/encord-warehouse-bench/x1/export.json

Evidence for the next step of issue #6 (dlt 8x): CPython spends ~15 µs per annotation in
normalize, spread evenly (see RESULTS.md). Here each chunk of label rows goes to an in-memory
DuckDB (one thread) as a column of JSON texts; `from_json` with a MAP/STRUCT type reads the frame-
keyed maps of video-like rows and `unnest` makes one row per object and frame. It fills only
object_frames' main columns (hashes, frame, shape, box, confidence, created_at, polygon as JSON)
and does no validation, so it bounds what such a path could gain; our side is prepare_chunk whole
(every table, checks, Arrow). Single-frame rows (images) keep objects outside a frame map and are
left out here. Untyped `json_each` over the same maps ran out of 10 GB: the typed reader is the
one that works.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from datetime import datetime
from pathlib import Path

import duckdb
import msgspec
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connector import schema  # noqa: E402
from connector.ontology import OntologyIndex  # noqa: E402
from connector.prepare import ChunkRow, ChunkSettings, prepare_chunk  # noqa: E402
from connector.sources import SourceRow  # noqa: E402

FRAME_OBJECTS = ("MAP(VARCHAR, STRUCT(labels MAP(VARCHAR, STRUCT(objects STRUCT(objectHash VARCHAR, shape VARCHAR, "
                 "confidence DOUBLE, createdAt VARCHAR, boundingBox STRUCT(x DOUBLE, y DOUBLE, w DOUBLE, h DOUBLE), "
                 "polygon MAP(VARCHAR, STRUCT(x DOUBLE, y DOUBLE)))[]))))")

LABEL_HASH = msgspec.json.Decoder(type=msgspec.defstruct("LabelHash", [("label_hash", str)]))

OBJECT_FRAMES = f"""
WITH label_rows AS (
    SELECT doc ->> 'label_hash' AS label_hash, from_json(doc -> 'data_units', '"{FRAME_OBJECTS}"') AS units FROM chunk),
units AS (SELECT label_hash, unnest(map_values(units)) AS unit FROM label_rows),
frames AS (SELECT label_hash, unnest(map_entries(unit.labels)) AS frame_labels FROM units),
objects AS (SELECT label_hash, frame_labels.key::INTEGER AS frame, unnest(frame_labels.value.objects) AS object FROM frames)
SELECT label_hash, object.objectHash AS object_hash, frame, object.shape AS shape,
       object.boundingBox.x AS x, object.boundingBox.y AS y, object.boundingBox.w AS w, object.boundingBox.h AS h,
       object.confidence AS confidence, object.createdAt AS created_at, to_json(object.polygon) AS points
FROM objects
"""


def duckdb_object_frames(chunks: list[list[bytes]]) -> tuple[int, float]:
    connection = duckdb.connect(config={"threads": "1", "memory_limit": "512MB"})
    started, rows = time.process_time(), 0
    for texts in chunks:
        chunk = pa.table({"doc": pa.array(texts, pa.string())})  # noqa: F841 (read by name in the query)
        rows += connection.sql(OBJECT_FRAMES).to_arrow_table().num_rows
    return rows, time.process_time() - started


def ours(chunks: list[list[bytes]]) -> tuple[int, float]:
    settings = ChunkSettings("export", datetime(2026, 1, 1), OntologyIndex(), "duckdb", schema.column_specs())
    started, rows = time.process_time(), 0
    for texts in chunks:
        chunk = [ChunkRow(SourceRow(None, "probe", text=text), LABEL_HASH.decode(text).label_hash, None, text)
                 for text in texts]
        rows += prepare_chunk(chunk, settings).staged.tables["object_frames"].num_rows
    return rows, time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("export", type=Path)
    parser.add_argument("--chunk-rows", type=int, default=20)
    args = parser.parse_args()
    texts = [bytes(raw) for raw in msgspec.json.decode(args.export.read_bytes(), type=list[msgspec.Raw])]
    chunks = [texts[start:start + args.chunk_rows] for start in range(0, len(texts), args.chunk_rows)]
    gc.disable()  # as the sync's workers run
    duck_rows, duck_cpu = duckdb_object_frames(chunks)
    our_rows, our_cpu = ours(chunks)
    print(f"ours (prepare_chunk, every table):  {our_rows:,} object_frames rows, {our_cpu:.2f} s CPU")
    print(f"DuckDB from_json (object_frames):    {duck_rows:,} rows, {duck_cpu:.2f} s CPU "
          f"({our_cpu / duck_cpu:.1f}x less)")


if __name__ == "__main__":
    main()
