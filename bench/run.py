"""The whole benchmark in one command: loads, memory, incremental costs, query speed.

    .venv/bin/python bench/run.py                     # everything (~25-35 min on 2 cores)
    .venv/bin/python bench/run.py --skip-query --skip-dlt --markdown /tmp/table.md

Every load runs as its own process and is measured by bench/measure.py (wall time, CPU time of the
process and the worker processes it waits for, peak memory of all its processes together):
  ours      `encord-warehouse sync --from-export` into DuckDB (1x and 4x export) and Postgres (1x, 4x)
  floor     bench/floor.py: orjson whole file, hand-flattened columns, Arrow + one INSERT…SELECT per
            table (DuckDB) / one COPY per table (Postgres)
  docs walk bench/docs_walk.py: SDK LabelRowV2 object walk + SQLAlchemy executemany, on a 1/4
            export, extrapolated per label row (start-up not scaled)
  dlt       bench/dlt_load.py: dlt with parquet load files into DuckDB, on the whole export
Postgres is a throwaway cluster on 127.0.0.1 (tests/pg_cluster.py); every run gets a fresh
DuckDB file or Postgres schema. Then the incremental curve (bench/incremental.py, emulator), a folder
of daily export files read from its new file against every file (bench/export_folder.py), a first
sync from the emulator of the export's large rows, bundles by bytes vs by rows (bench/fetch_memory.py), and the
frame-range query through `frame_labels` on >= 5M object_frames rows (bench/views builder).
The floor and ours on the 1x export run --repeat times each, in turn, and report their median run
(this machine's speed drifts by ±20% over minutes); the walk and dlt each run between two runs of
ours, and their ratios are to the mean of those two. Ratios come from this one run. Exports are
generated once into --workdir and reused.
"""

from __future__ import annotations

import argparse
import compileall
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from generate import GENERATOR_VERSION, write_export  # noqa: E402
from measure import measure  # noqa: E402
from same_rows import differences  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

PYTHON = str(ROOT / ".venv" / "bin" / "python")
CLI = str(ROOT / ".venv" / "bin" / "encord-warehouse")


def export(workdir: Path, name: str, rows: int, object_frames: int) -> Path:
    """The export of that size in `workdir`, generated unless one of the same size and generator is there."""
    path = workdir / name / "export.json"
    facts_file = path.with_suffix(".facts.json")
    stored = json.loads(facts_file.read_text()) if facts_file.exists() else {}
    if stored.get("requested") != [rows, object_frames] or stored.get("generator") != GENERATOR_VERSION:
        print(f"generating {path} ({rows} label rows)", flush=True)
        facts_file.parent.mkdir(parents=True, exist_ok=True)
        facts_file.write_text(json.dumps(write_export(path, rows, object_frames)))
    return path


def facts(path: Path) -> dict:
    return json.loads(path.with_suffix(".facts.json").read_text())


class Targets:
    def __init__(self, workdir: Path, duckdb_options: str, pg_url: str | None):
        self.workdir, self.duckdb_options, self.pg_url = workdir, duckdb_options, pg_url
        self.count = 0

    def duckdb(self) -> list[str]:
        self.count += 1
        path = self.workdir / "db" / f"w{self.count}.duckdb"
        path.parent.mkdir(exist_ok=True)
        path.unlink(missing_ok=True)
        return ["--db", f"duckdb:///{path}" + (f"?{self.duckdb_options}" if self.duckdb_options else "")]

    def postgres(self) -> list[str]:
        self.count += 1
        return ["--db", self.pg_url, "--schema", f"bench_{self.count}_{int(time.time())}"]


def run_load(label: str, command: list[str], **extra) -> dict:
    print(f"  {label} ...", end="", flush=True)
    result = measure(command)
    if result["returncode"] != 0:
        raise SystemExit(f"\n{label} failed ({result['returncode']}):\n{result['stderr'][-3000:]}")
    print(f" {result['wall_s']:.1f}s, {result['peak_mb']:.0f} MB", flush=True)
    return {"label": label, **result, **extra}


def paired_loads(label_a: str, command_a, label_b: str, command_b, repeat: int) -> tuple[dict, dict]:
    """Two loads run `repeat` times in turn (a, b, a, b, ...), each reported as its median run by wall
    time, with the largest peak memory of its runs: this machine's speed drifts by ±20% over minutes,
    and alternating keeps that drift out of their ratio. `command_a` and `command_b` give a fresh
    target on each call."""
    runs: dict[str, list[dict]] = {label_a: [], label_b: []}
    for _ in range(repeat):
        runs[label_a].append(run_load(label_a, command_a()))
        runs[label_b].append(run_load(label_b, command_b()))
    return median_run(runs[label_a]), median_run(runs[label_b])


def bracketed(label: str, command: list[str], ours_label: str, ours_command) -> tuple[dict, dict]:
    """`command` run between two runs of ours, which its ratio is taken against (their mean): a load
    that takes minutes is compared with ours as fast as the machine was around it, not minutes
    before. `ours_command` gives a fresh target on each call."""
    before = run_load(ours_label, ours_command())
    result = run_load(label, command)
    after = run_load(ours_label, ours_command())
    walls = [before["wall_s"], after["wall_s"]]
    beside = {**before, "wall_s": sum(walls) / 2, "cpu_s": (before["cpu_s"] + after["cpu_s"]) / 2,
              "peak_mb": max(before["peak_mb"], after["peak_mb"]), "runs_wall_s": walls,
              "note": f"mean of the runs just before and after it ({walls[0]:.1f}, {walls[1]:.1f} s)"}
    return result, beside


def median_run(runs: list[dict]) -> dict:
    ordered = sorted(runs, key=lambda run: run["wall_s"])
    median = dict(ordered[len(ordered) // 2])
    median["peak_mb"] = max(run["peak_mb"] for run in runs)
    median["runs_wall_s"] = [run["wall_s"] for run in runs]
    if len(runs) > 1:
        median["note"] = f"median of {len(runs)} runs ({ordered[0]['wall_s']:.1f}-{ordered[-1]['wall_s']:.1f} s)"
    return median


def extrapolated(result: dict, full_rows: int) -> dict:
    """A run on a smaller export scaled to the full one: start-up once, work per label row. CPU and peak
    memory stay as measured on the smaller export (marked so in the table): the walk parses the whole
    export first, so its peak grows with the export and does not scale by rows."""
    work = json.loads(result["stdout"].strip().splitlines()[-1])
    startup = result["wall_s"] - work["work_s"]
    result["small_wall_s"] = result["wall_s"]
    result["wall_s"] = startup + work["work_s"] * full_rows / work["label_rows"]
    result["measured_rows"] = work["label_rows"]
    result["note"] = (f"{work['label_rows']} rows measured ({result['small_wall_s']:.1f}s), wall time extrapolated; "
                      f"CPU and peak memory (*) of those {work['label_rows']} rows")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/encord-warehouse-bench"))
    parser.add_argument("--rows", type=int, default=700)
    parser.add_argument("--object-frames", type=int, default=436_000)
    parser.add_argument("--scale", type=int, default=4, help="the larger export for the memory check")
    parser.add_argument("--small-share", type=int, default=4, help="the docs walk runs on rows/N, extrapolated")
    parser.add_argument("--duckdb-options", default="",
                        help="DuckDB settings as URL query, for ours and the floor alike (e.g. checkpoint_threshold=256MB)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each floor and ours load on the 1x export, in turn; the median is reported")
    parser.add_argument("--incremental-rows", type=int, default=10_000)
    parser.add_argument("--query-target", type=int, default=5_000_000)
    for name in ("postgres", "docs", "dlt", "incremental", "folder", "fetch", "query", "scale"):
        parser.add_argument(f"--skip-{name}", action="store_true")
    parser.add_argument("--markdown", type=Path, help="also write the tables here")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    # Bytecode for our modules and the bench's, as pip writes it for an installed package: an editable
    # install under PYTHONDONTWRITEBYTECODE (set on these machines) compiles them in every process.
    compileall.compile_dir(ROOT / "connector", quiet=1)
    compileall.compile_dir(ROOT / "bench", quiet=1)

    full = export(args.workdir, "x1", args.rows, args.object_frames)
    large = None if args.skip_scale else export(args.workdir, f"x{args.scale}", args.rows * args.scale,
                                                args.object_frames * args.scale)
    small_rows = args.rows // args.small_share
    small = export(args.workdir, f"small{small_rows}", small_rows, args.object_frames // args.small_share)
    ontology = full.parent / "ontology.json"

    cluster = None
    if not args.skip_postgres:
        from pg_cluster import PostgresCluster

        cluster = PostgresCluster().start()
    targets = Targets(args.workdir, args.duckdb_options, cluster.url() if cluster else None)
    results: dict[str, dict] = {}
    try:
        print("loads:", flush=True)
        sync = [CLI, "sync", "--from-export"]
        floor_command = [PYTHON, str(ROOT / "bench/floor.py"), str(full), "--ontology", str(ontology)]
        ours_command = [*sync, str(full), "--ontology", str(ontology)]
        last_db: dict[str, list[str]] = {}  # each load's newest DuckDB target: same_rows compares the last pair

        def fresh_duckdb(name: str) -> list[str]:
            last_db[name] = targets.duckdb()
            return last_db[name]

        results["floor_duckdb"], results["ours_duckdb"] = paired_loads(
            "floor, DuckDB", lambda: [*floor_command, *fresh_duckdb("floor")],
            "ours, DuckDB", lambda: [*ours_command, *fresh_duckdb("ours")], args.repeat)
        differ = differences(*(make_url(last_db[name][1]).database for name in ("ours", "floor")))
        if differ:
            raise SystemExit(f"the floor did not write what ours wrote (rows only in ours, only in the floor): {differ}")
        print("  floor and ours hold the same rows", flush=True)
        if large:
            results["ours_duckdb_large"] = run_load(f"ours, DuckDB, {args.scale}x export",
                                                    [*sync, str(large), "--ontology", str(ontology), *targets.duckdb()])
        if cluster:
            results["floor_postgres"], results["ours_postgres"] = paired_loads(
                "floor, Postgres COPY", lambda: [*floor_command, *targets.postgres()],
                "ours, Postgres", lambda: [*ours_command, *targets.postgres()], args.repeat)
            if large:
                results["ours_postgres_large"] = run_load(f"ours, Postgres, {args.scale}x export",
                                                          [*sync, str(large), "--ontology", str(ontology), *targets.postgres()])
        def ours_duckdb() -> list[str]:
            return [*ours_command, *targets.duckdb()]

        if not args.skip_docs:
            results["docs"], results["ours_beside_docs"] = bracketed("docs walk (SDK + executemany), DuckDB", [
                PYTHON, str(ROOT / "bench/docs_walk.py"), str(small), "--ontology", str(ontology), *targets.duckdb()],
                "ours, DuckDB (beside the walk)", ours_duckdb)
            extrapolated(results["docs"], facts(full)["rows"])
        if not args.skip_dlt:
            dlt_db = args.workdir / "db" / "dlt.duckdb"
            dlt_db.unlink(missing_ok=True)
            shutil.rmtree(args.workdir / "db" / "dlt", ignore_errors=True)
            results["dlt"], results["ours_beside_dlt"] = bracketed("dlt, parquet, DuckDB", [
                PYTHON, str(ROOT / "bench/dlt_load.py"), str(full), "--duckdb", str(dlt_db)],
                "ours, DuckDB (beside dlt)", ours_duckdb)
        incremental = None
        if not args.skip_incremental:
            from incremental import curve

            print(f"incremental curve ({args.incremental_rows:,} label rows, emulator):", flush=True)
            incremental = curve(args.incremental_rows, *targets.duckdb()[1:])
        folder = None
        if not args.skip_folder:
            from export_folder import folder_steps

            print("a folder of daily export files (DuckDB):", flush=True)
            folder = folder_steps(full)
        fetches = None
        if not args.skip_fetch:
            from fetch_memory import fetch_memory

            print("first sync from the emulator, large rows, bundles by bytes and by rows:", flush=True)
            fetches = fetch_memory(full, ontology, [targets.duckdb()[1], targets.duckdb()[1]])
        queries = {}
        if not args.skip_query:
            queries["DuckDB"] = query_median(targets.duckdb()[1], None, args.query_target)
            if cluster:
                queries["Postgres"] = query_median(cluster.url(), "bench_query", args.query_target)
    finally:
        if cluster:
            cluster.stop()
    report = render(args, results, incremental, folder, fetches, queries, facts(full), facts(large) if large else None)
    print("\n" + report)
    if args.markdown:
        args.markdown.write_text(report)
    if args.json:
        args.json.write_text(json.dumps({"results": {k: figures(r) for k, r in results.items()},
                                         "incremental": incremental, "folder": folder, "queries": queries,
                                         "fetches": [figures(r) for r in fetches or ()]}, indent=1, default=str))


def figures(measured: dict) -> dict:
    """A measured run without the output of its process."""
    return {name: value for name, value in measured.items() if name not in ("stdout", "stderr")}


def query_median(db_url: str, schema: str | None, target: int) -> dict:
    from bench_views import build_and_time

    print(f"query: building {target:,} object_frames rows on {db_url.split(':')[0]} ...", flush=True)
    return build_and_time(db_url, schema, target)


def render(args, results, incremental, folder, fetches, queries, full_facts, large_facts) -> str:
    lines = [f"Export: {full_facts['rows']:,} label rows, {full_facts['object_frames']:,} object-frame annotations, "
             f"{full_facts['bytes'] / 1e6:.0f} MB of JSON"]
    if large_facts:
        lines[0] += (f"; {args.scale}x export: {large_facts['rows']:,} rows, {large_facts['object_frames']:,} annotations, "
                     f"{large_facts['bytes'] / 1e6:.0f} MB")
    lines += ["", "| load | wall s | CPU s | peak memory MB | ratio | note |", "|---|---:|---:|---:|---|---|"]

    def ratio(a, b, text):
        return f"{results[a]['wall_s'] / results[b]['wall_s']:.2f}x {text}" if a in results and b in results else ""

    rows = [
        ("floor_duckdb", "floor, DuckDB", ""),
        ("ours_duckdb", "ours, DuckDB", ratio("ours_duckdb", "floor_duckdb", "ours/floor (target ≤ 1.4)")),
        ("ours_duckdb_large", f"ours, DuckDB, {args.scale}x export", ""),
        ("floor_postgres", "floor, Postgres COPY", ""),
        ("ours_postgres", "ours, Postgres", ratio("ours_postgres", "floor_postgres", "ours/floor (target ≤ 1.4)")),
        ("ours_postgres_large", f"ours, Postgres, {args.scale}x export", ""),
        ("ours_beside_docs", "ours, DuckDB, beside the walk", ""),
        ("docs", "docs walk (SDK + executemany), DuckDB", ratio("docs", "ours_beside_docs", "naive/ours (target ≥ 15)")),
        ("ours_beside_dlt", "ours, DuckDB, beside dlt", ""),
        ("dlt", "dlt 1.x, parquet, DuckDB", ratio("dlt", "ours_beside_dlt", "dlt/ours (target ≥ 8)")),
    ]
    for key, label, text in rows:
        if key in results:
            r = results[key]
            star = "*" if "measured_rows" in r else ""
            lines.append(f"| {label} | {r['wall_s']:.1f} | {r['cpu_s']:.1f}{star} | {r['peak_mb']:.0f}{star} | {text} "
                         f"| {r.get('note', '')} |")
    for key in ("ours_duckdb", "ours_postgres"):
        if key in results and f"{key}_large" in results:
            growth = results[f"{key}_large"]["peak_mb"] / results[key]["peak_mb"] - 1
            lines.append(f"\nPeak memory {key.replace('ours_', '')}: {results[key]['peak_mb']:.0f} MB -> "
                         f"{results[key + '_large']['peak_mb']:.0f} MB on the {args.scale}x export ({growth:+.0%}; "
                         f"target < 600 MB and < +20%)")
    if incremental:
        from incremental import cpu_split

        lines += ["", "| incremental step | label rows changed | wall s | CPU s (sync and its workers) | peak memory MB |",
                  "|---|---:|---:|---:|---:|"]
        lines += [f"| {r['step']} | {r['changed']:,} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | {r['peak_mb']:.0f} |"
                  for r in incremental]
        lines += ["", cpu_split(incremental)]
    if folder:
        from export_folder import table as folder_table

        lines += ["", *folder_table(folder)]
    if fetches:
        from fetch_memory import table

        lines += ["", table(fetches)]
    if queries:
        lines += ["", "| frame-range query (`frame_labels`, one video, frames 100..250) | object_frames rows "
                  "| median ms, as synced | `optimize` s | median ms, after `optimize` |", "|---|---:|---:|---:|---:|"]
        lines += [f"| {name} | {q['rows']:,} | {q['median_ms']:.1f} | {q['optimize_s']:.1f} | {q['optimized_ms']:.1f} |"
                  for name, q in queries.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
