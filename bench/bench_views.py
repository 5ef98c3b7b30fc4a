"""The frame-range query figure for bench/run.py, built with bench/views' own builder (imported, not copied)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent / "views"))

from bench_frame_range import build_engine, clone, load_seed, optimize_seconds, time_queries  # noqa: E402

from connector.db import create_warehouse_engine  # noqa: E402


def build_and_time(db_url: str, schema: str | None, target: int, repeat: int = 15) -> dict:
    """Seed + in-database clones up to `target` object_frames rows, then the median of
    `SELECT * FROM frame_labels WHERE data_title = ? AND frame BETWEEN 100 AND 250` over clones, on
    the tables as synced and after `encord-warehouse optimize`."""
    engine = create_warehouse_engine(db_url, schema)
    try:
        with tempfile.TemporaryDirectory() as workdir:
            load_seed(engine, Path(workdir))
        with engine.connect() as connection:
            seed_rows = connection.execute(text("SELECT COUNT(*) FROM object_frames")).scalar()
        copies = -(-target // seed_rows) - 1
        engine.dispose()  # DuckDB opens a file with one configuration at a time
        builder = build_engine(db_url, schema)
        clone(builder, copies)
        builder.dispose()
        with engine.connect() as connection:
            total = connection.execute(text("SELECT COUNT(*) FROM object_frames")).scalar()
        titles = [f"video_0000.mp4#{i}" for i in range(1, copies + 1)]
        synced = time_queries(engine, titles, 100, 250, repeat)
        optimize_s = optimize_seconds(engine)
        optimized = time_queries(engine, titles, 100, 250, repeat)
    finally:
        engine.dispose()
    return {"rows": total, "median_ms": synced["frame_labels"]["median_ms"],
            "baseline_ms": synced["baseline: base tables"]["median_ms"],
            "optimized_ms": optimized["frame_labels"]["median_ms"], "optimize_s": optimize_s}
