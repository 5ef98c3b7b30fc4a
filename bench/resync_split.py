"""Where a sync process spends its CPU: the encord SDK (its import, its `list_label_rows_v2`) or ours.

    .venv/bin/python bench/resync_split.py sync --project … --ssh-key-file … --db …

Runs `encord-warehouse` in this process with the SDK's import and listing call timed in CPU
seconds (`time.process_time`, so waiting for the API is not counted), and prints one JSON line:
total, sdk_import, sdk_list and ours (the rest: our imports, engine, migrations check, compare,
state). The interpreter's own start-up (before this script runs) is in none of them.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

started = time.process_time()
import encord.project  # noqa: E402  the SDK's import first: everything it pulls in counts as the SDK's

sdk_import = time.process_time() - started
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from connector.cli import cli  # noqa: E402

listing = {"cpu_s": 0.0}
list_label_rows_v2 = encord.project.Project.list_label_rows_v2


def timed_listing(*args, **kwargs):
    before = time.process_time()
    try:
        return list_label_rows_v2(*args, **kwargs)
    finally:
        listing["cpu_s"] += time.process_time() - before


encord.project.Project.list_label_rows_v2 = timed_listing


def main() -> None:
    try:
        cli.main(sys.argv[1:], prog_name="encord-warehouse")  # exits; the figures print on the way out
    finally:
        total = time.process_time() - started
        print(json.dumps({"total_cpu_s": total, "sdk_import_cpu_s": sdk_import, "sdk_list_cpu_s": listing["cpu_s"],
                          "ours_cpu_s": total - sdk_import - listing["cpu_s"]}))


if __name__ == "__main__":
    main()
