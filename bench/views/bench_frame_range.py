"""Time the frame-range query through the views on a warehouse of >= 5 million object_frames rows.

    .venv/bin/python bench/views/bench_frame_range.py --db duckdb:////tmp/bench.duckdb
    .venv/bin/python bench/views/bench_frame_range.py --db postgresql://postgres@127.0.0.1:5432/postgres --schema bench
    .venv/bin/python bench/views/bench_frame_range.py --db ... --postgres-cluster   (throwaway cluster, tests' helper)

Build: the SDK-built sample export (examples/sdk_sample.py: videos, images, an image group, a DICOM
series, a consensus video) is synced through the real normalizer and loader, then every label-row
table is cloned in the database (INSERT ... SELECT ... CROSS JOIN generate_series) with fresh label
and data hashes (md5 of the seed's and the clone number: no two clones share a prefix, as with
Encord's random hashes) and titles '<title>#<n>', in clone order, as batch loads would write them.
Timing: per repetition, each query runs once on the same randomly drawn clone title; the median
and the ratio to the baseline (the same filter on the base tables) come from this one run. The
queries are timed on the tables as synced, then again after `encord-warehouse optimize`
(connector/optimize.py: the label tables rewritten in label-row order), whose time is printed.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from connector import schema  # noqa: E402
from connector.db import create_warehouse_engine, normalize_url  # noqa: E402
from connector.optimize import optimize  # noqa: E402
from connector.sync import ExportSyncConfig, sync_export  # noqa: E402
from examples.sdk_sample import build_ontology, sample_export  # noqa: E402

FILTER = "data_title = :title AND frame BETWEEN :start AND :end"
QUERIES = {
    "baseline: base tables": (
        "SELECT ofr.* FROM object_frames AS ofr "
        "JOIN branches AS b ON b.label_hash = ofr.label_hash "
        "JOIN data_units AS du ON du.project_hash = b.project_hash AND du.data_hash = b.data_hash "
        "WHERE du.data_title = :title AND ofr.frame BETWEEN :start AND :end"
    ),
    "object_frames_px": f"SELECT * FROM object_frames_px WHERE {FILTER}",
    "frame_labels": f"SELECT * FROM frame_labels WHERE {FILTER}",
    "frame_labels_range()": "SELECT * FROM frame_labels_range(:title, :start, :end)",
    "labels_export": f"SELECT * FROM labels_export WHERE {FILTER}",
}
CLONED = [schema.data_units, schema.branches, schema.frames, schema.objects, schema.object_frames,
          schema.classifications, schema.classification_frames, schema.attributes]
SUFFIXED = {"label_hash", "data_hash"}


def load_seed(engine: Engine, workdir: Path) -> None:
    ontology = build_ontology()
    export, ontology_path = workdir / "export.json", workdir / "ontology.json"
    export.write_text(json.dumps(sample_export(ontology=ontology)))
    ontology_path.write_text(json.dumps(ontology.to_dict()))
    result = sync_export(engine, ExportSyncConfig(str(export), "bench", str(ontology_path)))
    assert result.ok, result.failures


def build_engine(url: str, schema: str | None) -> Engine:
    """An engine for cloning: on DuckDB with a memory limit for sorting millions of rows, not the 128MB
    the connector's jobs that write run under. Queries are timed with the connector's own engine."""
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() == "duckdb" and "memory_limit" not in parsed.query:
        parsed = parsed.update_query_dict({"memory_limit": "2GB"})
    return create_warehouse_engine(parsed.render_as_string(hide_password=False), schema)


def clone(engine: Engine, copies: int) -> None:
    """Clone every seed label row `copies` times, in the database."""
    for table in CLONED:
        columns = [column.name for column in table.columns]
        select = []
        for name in columns:
            if name in SUFFIXED:
                select.append(f"md5(t.{name} || '#' || CAST(g.i AS TEXT))")
            elif name == "data_title" and table is not schema.frames:
                select.append("t.data_title || '#' || CAST(g.i AS TEXT)")
            elif name == "raw":
                select.append("NULL")
            else:
                select.append(f"t.{name}")
        order = ", ".join(f"t.{column.name}" for column in table.primary_key.columns)
        sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {', '.join(select)} "
               f"FROM {table.name} AS t CROSS JOIN generate_series(1, :copies) AS g(i) ORDER BY g.i, {order}")
        started = time.perf_counter()
        with engine.begin() as connection:
            connection.execute(text(sql), {"copies": copies})
        print(f"  cloned {table.name} in {time.perf_counter() - started:.1f}s", flush=True)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as connection:
            connection.exec_driver_sql("CHECKPOINT")


def time_queries(engine: Engine, titles: list[str], start: int, end: int, repeat: int) -> dict[str, dict]:
    timings: dict[str, list[float]] = {name: [] for name in QUERIES}
    rows: dict[str, list[int]] = {name: [] for name in QUERIES}
    rng = random.Random(7)
    with engine.connect() as connection:
        for index in range(repeat + 2):
            params = {"title": rng.choice(titles), "start": start, "end": end}
            for name, sql in QUERIES.items():
                started = time.perf_counter()
                count = len(connection.execute(text(sql), params).fetchall())
                elapsed = time.perf_counter() - started
                if index >= 2:  # two warm-up rounds
                    timings[name].append(elapsed)
                    rows[name].append(count)
    baseline = statistics.median(timings["baseline: base tables"])
    return {
        name: {"median_ms": statistics.median(values) * 1000, "ratio": statistics.median(values) / baseline,
               "rows": statistics.median(rows[name])}
        for name, values in timings.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="warehouse URL (an empty DuckDB file or Postgres schema)")
    parser.add_argument("--schema", default=None)
    parser.add_argument("--postgres-cluster", action="store_true", help="start a throwaway Postgres cluster")
    parser.add_argument("--target", type=int, default=5_000_000, help="object_frames rows to reach")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--start", type=int, default=100)
    parser.add_argument("--end", type=int, default=250)
    parser.add_argument("--seed-title", default="video_0000.mp4", help="the seed data unit whose clones are queried")
    args = parser.parse_args()
    cluster = None
    if args.postgres_cluster:
        sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
        from pg_cluster import PostgresCluster

        cluster = PostgresCluster().start()
        args.db, args.schema = cluster.url(), args.schema or "bench"
    try:
        return run(args)
    finally:
        if cluster is not None:
            cluster.stop()


def run(args) -> int:
    engine = create_warehouse_engine(args.db, args.schema)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        load_seed(engine, Path(workdir))
    with engine.connect() as connection:
        seed_rows = connection.execute(text("SELECT COUNT(*) FROM object_frames")).scalar()
    copies = -(-args.target // seed_rows) - 1
    print(f"{engine.dialect.name}: seed {seed_rows} object_frames rows, cloning {copies} times", flush=True)
    engine.dispose()  # DuckDB opens a file with one configuration at a time
    builder = build_engine(args.db, args.schema)
    clone(builder, copies)
    builder.dispose()
    with engine.connect() as connection:
        total = connection.execute(text("SELECT COUNT(*) FROM object_frames")).scalar()
    print(f"built {total:,} object_frames rows in {time.perf_counter() - started:.0f}s", flush=True)
    titles = [f"{args.seed_title}#{i}" for i in range(1, copies + 1)]
    print_timings(engine, args, titles, f"{total:,} object_frames rows, as synced")
    print(f"optimize: {optimize_seconds(engine):.1f}s", flush=True)
    print_timings(engine, args, titles, f"{total:,} object_frames rows, after optimize")
    engine.dispose()
    return 0


def print_timings(engine: Engine, args, titles: list[str], state: str) -> None:
    results = time_queries(engine, titles, args.start, args.end, args.repeat)
    print(f"\n{engine.dialect.name}, {state}, frames {args.start}..{args.end} of one video, {args.repeat} runs each")
    print(f"{'query':<24}{'median ms':>12}{'x baseline':>12}{'rows':>8}")
    for name, result in results.items():
        print(f"{name:<24}{result['median_ms']:>12.1f}{result['ratio']:>12.2f}{result['rows']:>8.0f}")


def optimize_seconds(engine: Engine) -> float:
    started = time.perf_counter()
    optimize(engine)
    return time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
