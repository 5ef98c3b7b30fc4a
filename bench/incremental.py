"""Incremental sync costs against the Encord API emulator: they should grow with what changed.

    .venv/bin/python bench/incremental.py --rows 10000 --db duckdb:////tmp/inc.duckdb

The emulator (tests/encord_emulator, the real SDK talks to it over HTTP on 127.0.0.1) serves a
project of `--rows` label rows cloned from the SDK-built sample's small rows (images, an image
group, a DICOM series, short videos) with fresh hashes. Each step runs
`encord-warehouse sync --project …` as its own process and measures it (wall time, CPU time of
the sync process — the emulator runs in this process, so its work is not counted — and peak RSS):
a first full sync, a re-sync with nothing changed (list + compare, nothing fetched) — run once more
through bench/resync_split.py, which splits its CPU time between the encord SDK and our code —
then 1%, 10% and 100% of the rows edited before a re-sync. `start-up` is the same command's fixed cost
(`encord-warehouse --version`: interpreter, imports), shown so it can be subtracted.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from examples.sdk_sample import build_ontology, dicom_row, image_row, img_group_row, video_row  # noqa: E402
from generate import clone_row  # noqa: E402
from measure import measure  # noqa: E402
from tests.encord_emulator import EncordEmulator  # noqa: E402

CLI = str(ROOT / ".venv" / "bin" / "encord-warehouse")


def small_seeds() -> list[dict]:
    ontology = build_ontology()
    return [image_row(1, ontology=ontology).to_encord_dict(), img_group_row(1, ontology=ontology).to_encord_dict(),
            dicom_row(1, ontology=ontology).to_encord_dict(),
            video_row(1, ontology=ontology, number_of_frames=60).to_encord_dict()]


def curve(rows: int, db_url: str, schema: str | None = None, steps=(0.01, 0.10, 1.0)) -> list[dict]:
    results = []
    seeds = small_seeds()
    rng = random.Random(1)
    with EncordEmulator() as emulator, tempfile.TemporaryDirectory() as workdir:
        key_file = Path(workdir) / "key"
        emulator.new_key(key_file)
        project = emulator.add_project(title="bench", ontology=build_ontology().to_dict())
        label_hashes = [emulator.put_row(project, clone_row(seeds[i % len(seeds)], i, rng)) for i in range(rows)]
        command = [CLI, "sync", "--project", project, "--ssh-key-file", str(key_file), "--domain", emulator.url,
                   "--db", db_url, "--max-retries", "0", *(["--schema", schema] if schema else [])]
        results.append({"step": "start-up (--version)", "changed": 0, **measure([CLI, "--version"])})
        results.append({"step": f"first sync ({rows:,} rows)", "changed": rows, **measure(command)})
        results.append({"step": "re-sync, nothing changed", "changed": 0, **measure(command)})
        split = measure([sys.executable, str(ROOT / "bench" / "resync_split.py"), *command[1:]])
        results.append({"step": "re-sync, nothing changed, CPU split", "changed": 0, **split,
                        **json.loads(split["stdout"].strip().splitlines()[-1])})
        for share in steps:
            changed = rng.sample(label_hashes, max(1, round(rows * share)))
            for label_hash in changed:
                emulator.put_row(project, emulator.row(label_hash))  # an edit: new last_edited_at
            results.append({"step": f"re-sync, {share:.0%} changed", "changed": len(changed), **measure(command)})
        for result in results:
            if result["returncode"] != 0:
                raise SystemExit(f"{result['step']} failed: {result['stderr'][-2000:]}")
    return results


def print_curve(results: list[dict]) -> None:
    print(f"{'incremental step':<40}{'changed':>9}{'wall s':>9}{'CPU s':>8}{'peak MB':>9}")
    for r in results:
        print(f"{r['step']:<40}{r['changed']:>9,}{r['wall_s']:>9.2f}{r['cpu_s']:>8.2f}{r['peak_mb']:>9.0f}")
    print(cpu_split(results))


def cpu_split(results: list[dict]) -> str:
    """One line: the no-change re-sync's CPU seconds, the SDK's and ours."""
    split = next((r for r in results if "ours_cpu_s" in r), None)
    if split is None:
        return ""
    return (f"No-change re-sync, CPU seconds in the process: {split['total_cpu_s']:.2f} = encord SDK import "
            f"{split['sdk_import_cpu_s']:.2f} + SDK list_label_rows_v2 {split['sdk_list_cpu_s']:.2f} + ours "
            f"{split['ours_cpu_s']:.2f} (our imports, engine, migrations check, compare, state; target < 2 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--db", required=True)
    parser.add_argument("--schema")
    args = parser.parse_args()
    print_curve(curve(args.rows, args.db, args.schema))


if __name__ == "__main__":
    main()
