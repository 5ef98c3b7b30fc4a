"""Run a command as its own process and measure it: wall time, CPU time (user + system), peak RSS.

The figures come from GNU time (/usr/bin/time), not from os.wait4 in this process: Linux carries
a process's peak RSS across exec, so a child forked from a large parent (the bench holds the
emulator's 10,000 rows) would report the parent's size as its own peak.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time

GNU_TIME = shutil.which("time", path="/usr/bin:/bin") or "/usr/bin/time"


def measure(command: list[str], env: dict | None = None) -> dict:
    with tempfile.TemporaryDirectory() as workdir:
        figures = os.path.join(workdir, "time")
        started = time.perf_counter()
        process = subprocess.run([GNU_TIME, "-q", "-o", figures, "-f", "%e %U %S %M", *command],
                                 capture_output=True, env={**os.environ, **(env or {})})
        wall = time.perf_counter() - started
        with open(figures) as handle:
            elapsed, user, system, max_rss_kb = handle.read().split()[-4:]
    return {
        "wall_s": wall,
        "cpu_s": float(user) + float(system),
        "peak_mb": int(max_rss_kb) / 1024,
        "returncode": process.returncode,
        "stdout": process.stdout.decode(errors="replace"),
        "stderr": process.stderr.decode(errors="replace"),
    }
