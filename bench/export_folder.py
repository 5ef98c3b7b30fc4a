"""A folder that gets an export file a day: what a sync costs once a new day's file lands, and when
nothing is new, against reading every file as each sync did before export_files.

    .venv/bin/python bench/export_folder.py /tmp/encord-warehouse-bench/x1/export.json

The export's label rows are cut into `--days` files (day0.json …, in order). A first
`encord-warehouse sync --from-export FOLDER` reads all but the last day into DuckDB; that warehouse
is copied, the last day's file added, and each step runs on its own copy, as its own process:
ours (reads the files new since: the last day), and the baseline, the same command with
`--delete-missing`, which reads every file (the fingerprints still skip every unchanged row: what a
sync did before). Then the same two with nothing new. `--repeat` runs of each, in turn; medians.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from measure import measure  # noqa: E402

CLI = str(ROOT / ".venv" / "bin" / "encord-warehouse")
OURS, BASELINE = "ours: the files new since", "baseline: every file"
STEPS = tuple((situation, who) for situation in ("new day's file", "nothing new") for who in (OURS, BASELINE))


def split_into_days(export: Path, folder: Path, days: int) -> list[Path]:
    texts = msgspec.json.decode(export.read_bytes(), type=list[msgspec.Raw])
    per_day = -(-len(texts) // days)
    files = []
    for day in range(days):
        files.append(folder / f"day{day}.json")
        files[-1].write_bytes(b"[" + b",".join(bytes(text) for text in texts[day * per_day:(day + 1) * per_day]) + b"]")
    return files


def folder_steps(export: Path, days: int = 8, repeat: int = 3) -> list[dict]:
    with tempfile.TemporaryDirectory() as workdir:
        work = Path(workdir)
        (work / "days").mkdir()
        files = split_into_days(export, work / "days", days)
        folder = work / "exports"
        folder.mkdir()
        for file in files[:-1]:
            (folder / file.name).hardlink_to(file)
        seeded = work / "seeded.duckdb"

        def sync(db: Path, *options: str) -> dict:
            result = measure([CLI, "sync", "--from-export", str(folder), "--project-hash", "p", "--db", f"duckdb:///{db}",
                              *options])
            if result["returncode"] != 0:
                raise SystemExit(f"sync failed: {result['stderr'][-2000:]}")
            return result

        first = sync(seeded)
        (folder / files[-1].name).hardlink_to(files[-1])
        runs: dict[tuple[str, str], list[dict]] = {step: [] for step in STEPS}
        for _ in range(repeat):
            for situation, who in STEPS:
                db = work / "step.duckdb"
                shutil.copyfile(seeded, db)
                if situation == "nothing new":  # the last day read once already
                    sync(db)
                runs[(situation, who)].append(sync(db, *(["--delete-missing"] if who == BASELINE else [])))
        results = [{"step": f"first sync ({days - 1} days' files)", **_figures(first)}]
        for (situation, who), measured in runs.items():
            median = sorted(measured, key=lambda run: run["wall_s"])[len(measured) // 2]
            results.append({"step": f"{situation}, {who}", **_figures(median),
                            "wall_runs": [round(run["wall_s"], 2) for run in measured]})
        return results


def _figures(measured: dict) -> dict:
    return {key: measured[key] for key in ("wall_s", "cpu_s", "peak_mb")}


def table(results: list[dict]) -> list[str]:
    lines = ["| export folder step | wall s | CPU s | peak memory MB | runs (wall s) |", "|---|---:|---:|---:|---|"]
    lines += [f"| {r['step']} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | {r['peak_mb']:.0f} | "
              f"{', '.join(map(str, r.get('wall_runs', [])))} |" for r in results]
    by_step = {r["step"]: r for r in results}
    for situation in ("new day's file", "nothing new"):
        ours, baseline = by_step[f"{situation}, {OURS}"], by_step[f"{situation}, {BASELINE}"]
        lines.append(f"\n{situation}: ours {ours['wall_s']:.2f} s vs every file {baseline['wall_s']:.2f} s = "
                     f"**{ours['wall_s'] / baseline['wall_s']:.2f}x** the baseline's wall time")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("export", type=Path)
    parser.add_argument("--days", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("\n".join(table(folder_steps(args.export, args.days, args.repeat))))


if __name__ == "__main__":
    main()
