"""Peak memory of a first `sync --project` when the label rows are large: bundles by bytes vs by rows.

    .venv/bin/python bench/fetch_memory.py EXPORT --ontology ontology.json --db duckdb:////tmp/fetch.duckdb

The export's label rows (long videos, about 300 KB of JSON each) are served by the Encord API
emulator (tests/encord_emulator; the real SDK talks to it over HTTP on 127.0.0.1), and a first
sync of them runs twice as its own process, measured by bench/measure.py: with the default
`--bundle-mb` (bundles of about that much JSON), and with `--bundle-mb` too large to matter, so
that after the first bundle (10 rows) only `--bundle-size` (1000 rows) cuts them, as every bundle
was cut before. The SDK
holds a bundle's rows as objects all at once. The emulator runs in this process: not measured.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from measure import measure  # noqa: E402
from tests.encord_emulator import EncordEmulator  # noqa: E402

CLI = str(ROOT / ".venv" / "bin" / "encord-warehouse")
RUNS = {"bundles of about --bundle-mb (default)": [], "bundles of 1000 rows (--bundle-mb 100000)": ["--bundle-mb", "100000"]}


def fetch_memory(export: Path, ontology: Path, db_urls: list[str]) -> list[dict]:
    """One measured first sync per RUNS entry, each into its own DuckDB URL of `db_urls`."""
    results = []
    with EncordEmulator() as emulator, tempfile.TemporaryDirectory() as workdir:
        key_file = Path(workdir) / "key"
        emulator.new_key(key_file)
        project = emulator.add_project(title="bench", ontology=orjson.loads(ontology.read_bytes()))
        rows = orjson.loads(export.read_bytes())
        for row in rows:
            emulator.put_row(project, row)
        json_mb = sum(len(orjson.dumps(row)) for row in rows) / 1e6
        del rows
        for (label, options), db_url in zip(RUNS.items(), db_urls):
            command = [CLI, "sync", "--project", project, "--ssh-key-file", str(key_file), "--domain", emulator.url,
                       "--db", db_url, "--max-retries", "0", *options]
            result = measure(command)
            if result["returncode"] != 0:
                raise SystemExit(f"{label} failed: {result['stderr'][-2000:]}")
            fetched = len(emulator.log.fetched_label_hashes())
            requests = len(emulator.log.requests_of("labelrow", "GET"))
            emulator.log.clear()
            results.append({"run": label, "rows": fetched, "requests": requests, "json_mb": json_mb, **result})
    return results


def table(results: list[dict]) -> str:
    lines = ["| first `sync --project`, large label rows | rows | JSON MB | fetch requests | wall s | CPU s | peak memory MB |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['run']} | {r['rows']:,} | {r['json_mb']:.0f} | {r['requests']} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} "
              f"| {r['peak_mb']:.0f} |" for r in results]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("export", type=Path)
    parser.add_argument("--ontology", type=Path, required=True)
    parser.add_argument("--db", required=True, help="a DuckDB URL; the second run writes beside it")
    args = parser.parse_args()
    second = args.db.replace(".duckdb", "-rows.duckdb")
    print(table(fetch_memory(args.export, args.ontology, [args.db, second])))


if __name__ == "__main__":
    main()
