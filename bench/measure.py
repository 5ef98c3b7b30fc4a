"""Run a command as its own process and measure it: wall time, CPU time (user + system), peak memory.

CPU time comes from GNU time (/usr/bin/time): the command's own and that of the child processes it
waited for (the sync's worker processes), not from os.wait4 in this process: Linux carries a
process's peak RSS across exec, so a child forked from a large parent would report the parent's size.

Memory is the whole process tree's, so a sync that normalizes in worker processes is charged for all
of them: every 0.1 s, the private memory (RssAnon + RssShmem) of the command and all its descendants
plus the pages of mapped files (libraries) once, as the largest RssFile among them; `peak_mb` is the
largest such sum. That is what the proportional set size (PSS) would say here (checked by hand:
within a few MB), without reading smaps, which costs tens of milliseconds per process and sample.
Summing plain RSS would count the library pages of every worker again. `peak_rss_mb` is GNU time's
exact peak RSS of the largest single process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time

GNU_TIME = shutil.which("time", path="/usr/bin:/bin") or "/usr/bin/time"
SAMPLE_S = 0.1


def measure(command: list[str], env: dict | None = None) -> dict:
    if not os.path.exists(GNU_TIME):
        raise SystemExit("bench/measure.py needs GNU time (/usr/bin/time): apt-get install time")
    with tempfile.TemporaryDirectory() as workdir:
        figures = os.path.join(workdir, "time")
        started = time.perf_counter()
        process = subprocess.Popen([GNU_TIME, "-q", "-o", figures, "-f", "%e %U %S %M", *command],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})})
        sampler = _TreeMemory(process.pid)
        sampler.start()
        stdout, stderr = process.communicate()
        wall = time.perf_counter() - started
        sampler.stop()
        with open(figures) as handle:
            elapsed, user, system, max_rss_kb = handle.read().split()[-4:]
    return {
        "wall_s": wall,
        "cpu_s": float(user) + float(system),
        "peak_mb": max(sampler.peak_kb, int(max_rss_kb)) / 1024,  # a sample may miss the largest process's peak
        "peak_rss_mb": int(max_rss_kb) / 1024,
        "returncode": process.returncode,
        "stdout": stdout.decode(errors="replace"),
        "stderr": stderr.decode(errors="replace"),
    }


class _TreeMemory(threading.Thread):
    """The largest memory of a process and its descendants, sampled (see the module's docstring)."""

    def __init__(self, root: int):
        super().__init__(daemon=True)
        self.root, self.peak_kb, self._stop_event = root, 0, threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(SAMPLE_S):
            figures = [_status_kb(pid) for pid in _tree(self.root)]
            private = sum(anon + shmem for anon, _, shmem in figures)
            self.peak_kb = max(self.peak_kb, private + max((file for _, file, _ in figures), default=0))

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def _tree(root: int) -> list[int]:
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as handle:
                    todo.extend(int(child) for child in handle.read().split())
        except OSError:  # ended meanwhile
            continue
    return pids


def _status_kb(pid: int) -> tuple[int, int, int]:
    """(RssAnon, RssFile, RssShmem) in kB; zeros for a process that has ended."""
    found = {}
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                name, _, value = line.partition(":")
                if name in ("RssAnon", "RssFile", "RssShmem"):
                    found[name] = int(value.split()[0])
    except OSError:
        pass
    return found.get("RssAnon", 0), found.get("RssFile", 0), found.get("RssShmem", 0)
