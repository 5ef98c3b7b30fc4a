"""connector.workers: real child processes, fed pickled calls."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
import weakref
from pathlib import Path

import pytest

from connector.workers import WORKER_NICENESS, WorkerError, WorkerPool

ROOT = Path(__file__).resolve().parents[1]


def where_and_square(n: int) -> tuple[int, int]:
    return os.getpid(), n * n


def refuse(n: int) -> None:
    raise ValueError(f"no {n}")


def die(code: int) -> None:
    os._exit(code)


def test_calls_run_in_other_processes_and_come_back_in_order():
    with WorkerPool(2) as pool:
        futures = [pool.submit(where_and_square, n) for n in range(20)]
        answers = [future.result(timeout=60) for future in futures]
    assert [square for _, square in answers] == [n * n for n in range(20)]
    pids = {pid for pid, _ in answers}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2


def children() -> set[int]:
    """This process's child processes, as Linux lists them."""
    return {int(pid) for task in Path("/proc/self/task").iterdir()
            for pid in (task / "children").read_text().split()}


def test_processes_start_only_when_a_call_finds_none_idle():
    """A pool may hold many more processes than a caller keeps busy (--workers 64 on a small sync):
    only as many start as there are calls in flight at once."""
    before = children()
    with WorkerPool(50) as pool:
        assert not children() - before
        one_by_one = {pool.submit(where_and_square, n).result(timeout=60)[0] for n in range(5)}
        assert children() - before == one_by_one and len(one_by_one) == 1
        at_once = [pool.submit(sleep_then_where, 1.0) for _ in range(3)]
        pids = {future.result(timeout=60) for future in at_once}
        assert children() - before == pids and len(pids) == 3 and one_by_one < pids
    assert not children() - before  # (an earlier test's unreaped child may have been reaped meanwhile)


def sleep_then_where(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def niceness() -> int:
    return os.nice(0)


def test_workers_run_nicer_than_the_process_that_starts_them():
    """The starting process (reading, writing the warehouse) is what a sync waits for."""
    with WorkerPool(2) as pool:
        answers = [pool.submit(niceness).result(timeout=60) for _ in range(4)]
    assert answers == [min(os.nice(0) + WORKER_NICENESS, 19)] * 4
    assert WORKER_NICENESS > 0


def test_a_pool_may_run_at_the_callers_own_priority():
    with WorkerPool(1, niceness=0) as pool:
        assert pool.submit(niceness).result(timeout=60) == os.nice(0)


def run_a_program(pid_file: str, seconds: int) -> None:
    program = subprocess.Popen(["sleep", str(seconds)])
    Path(pid_file).write_text(str(program.pid))
    program.wait()


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def test_abort_ends_the_calls_in_flight_and_the_programs_they_run_at_once(tmp_path):
    """A stopped frames job (SIGTERM from a scheduler) does not wait for a video's ffmpeg to finish."""
    pid_file = tmp_path / "program.pid"
    with WorkerPool(1, own_process_groups=True) as pool:
        call = pool.submit(run_a_program, str(pid_file), 120)
        deadline = time.monotonic() + 60
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        program = int(pid_file.read_text())
        assert alive(program)
        started = time.monotonic()
        pool.abort()
        with pytest.raises(WorkerError):
            call.result(timeout=30)
    assert time.monotonic() - started < 10
    deadline = time.monotonic() + 10
    while alive(program) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not alive(program)


def print_and_run_a_program_that_writes_to_standard_output(n: int) -> int:
    print("a stray print")
    subprocess.run(["echo", "a program's output"], check=True)
    return n * n


def test_what_a_call_prints_or_its_programs_write_never_corrupts_the_answers(capfd):
    with WorkerPool(1) as pool:
        assert [pool.submit(print_and_run_a_program_that_writes_to_standard_output, n).result(timeout=60)
                for n in range(3)] == [0, 1, 4]
    assert capfd.readouterr().err.count("a program's output") == 3


def test_an_exception_comes_back_as_itself():
    with WorkerPool(1) as pool:
        with pytest.raises(ValueError, match="no 7"):
            pool.submit(refuse, 7).result(timeout=60)
        assert pool.submit(where_and_square, 3).result(timeout=60)[1] == 9  # the worker goes on


def test_a_worker_that_dies_is_a_one_line_error():
    with WorkerPool(1) as pool:
        with pytest.raises(WorkerError, match=r"^a worker process ended unexpectedly \(exit code 3\)$"):
            pool.submit(die, 3).result(timeout=60)


def test_the_calling_script_is_not_run_again_in_the_workers(tmp_path):
    """multiprocessing's spawn and forkserver re-run the main script in each worker; a script without
    an `if __name__ == "__main__":` guard must work here."""
    script = tmp_path / "unguarded.py"
    script.write_text(
        "from connector.workers import WorkerPool\n"
        "from tests.test_workers import where_and_square\n"
        "print('script ran')\n"
        "with WorkerPool(2) as pool:\n"
        "    print(sum(pool.submit(where_and_square, n).result()[1] for n in range(4)))\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert (done.returncode, done.stdout) == (0, "script ran\n14\n"), done.stderr


def test_what_workers_run_imports_no_database_code():
    """A worker process normalizes and stages rows: no SQLAlchemy or database driver in it, so it stays small."""
    probe = ("import sys, connector.prepare, connector.workers; "
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'duckdb', 'psycopg', 'alembic', 'encord'}))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr


class Cyclic:
    """Refers to itself: only the cyclic collector frees it."""

    def __init__(self):
        self.me = self


_CYCLIC_ALIVE = weakref.WeakSet()


def keep_track(value: Cyclic) -> int:
    _CYCLIC_ALIVE.add(value)
    return len(_CYCLIC_ALIVE)


def cyclic_alive_and_frozen() -> tuple[int, int]:
    return len(_CYCLIC_ALIVE), gc.get_freeze_count()


def test_cycles_a_call_leaves_are_freed_and_what_is_frozen_does_not_grow():
    """Between calls a worker collects cycles, then freezes what survives (its modules and caches) so
    the next collection does not scan it again: a call's arguments must be gone by then."""
    with WorkerPool(1) as pool:
        for _ in range(3):
            assert pool.submit(keep_track, Cyclic()).result(timeout=60) == 1
        alive, frozen = pool.submit(cyclic_alive_and_frozen).result(timeout=60)
        assert alive == 0
        pool.submit(keep_track, Cyclic()).result(timeout=60)
        alive_again, frozen_again = pool.submit(cyclic_alive_and_frozen).result(timeout=60)
    assert alive_again == 0 and frozen_again == frozen > 0
