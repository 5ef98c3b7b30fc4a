"""Worker processes for the CPU-bound part of a sync (connector/prepare.py).

Plain child processes running `python -m connector.workers`: a call goes in pickled on the
child's stdin, its result (or exception) comes back pickled on its stdout. Not
multiprocessing: its start methods either fork a process that holds database connections and
threads (fork), or re-run the calling program's main script in every worker (spawn,
forkserver), which a library cannot ask of the programs that call it.
"""

from __future__ import annotations

import gc
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable


WORKER_NICENESS = 10
"""Workers run this much nicer than the process that started them. That process reads the input
and writes the warehouse, the one part of a sync no worker can take on, so it is what the sync
waits for: when all are busy on too few cores, it should be the one that runs (a 430k-annotation
export load on two cores: 6.22 -> 5.88 s)."""


class WorkerError(RuntimeError):
    """A worker process died (killed, out of memory) or could not start."""


class WorkerPool:
    """Up to `count` worker processes; `submit` runs a module-level function with picklable arguments in
    one of them. A process starts when a call finds none idle, so a `count` larger than the calls
    ever in flight at once (a sync has a few batches' chunks) starts no more processes than those."""

    def __init__(self, count: int, niceness: int = WORKER_NICENESS, own_process_groups: bool = False):
        """`own_process_groups`: each worker and the programs it runs (ffmpeg) in a process group of its own,
        which `abort` ends at once; a terminal's Ctrl-C then reaches only the caller, which aborts."""
        self._count = count
        self._niceness, self._own_process_groups = niceness, own_process_groups
        self._workers: list[_Worker] = []
        self._idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self._starting = threading.Lock()
        self._callers = ThreadPoolExecutor(count, thread_name_prefix="worker-call")

    def submit(self, function: Callable, *args: Any) -> Future:
        return self._callers.submit(self._call, function, args)

    def _call(self, function: Callable, args: tuple) -> Any:
        worker = self._take()
        try:
            return worker.call(function, args)
        finally:
            self._idle.put(worker)

    def _take(self) -> _Worker:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._starting:
            if len(self._workers) < self._count:
                self._workers.append(_Worker(self._niceness, self._own_process_groups))
                return self._workers[-1]
        return self._idle.get()  # all `count` are busy; the caller threads are `count` too, so one comes back

    def abort(self) -> None:
        """Cancel what has not started and end the processes now, with what they run: the calls in flight
        fail (a stopped caller's unwinding does not wait for a video's ffmpeg to finish)."""
        self._callers.shutdown(wait=False, cancel_futures=True)
        for worker in self._workers:
            worker.kill()

    def close(self) -> None:
        """Cancel what has not started, wait for what has, end the processes."""
        self._callers.shutdown(wait=True, cancel_futures=True)
        for worker in self._workers:
            worker.stop()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Worker:
    def __init__(self, niceness: int, own_process_group: bool):
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in sys.path if path),
                       # Arrow's default allocator (mimalloc) keeps about 20 MB per process cached
                       # between calls; the system one gives it back.
                       "ARROW_DEFAULT_MEMORY_POOL": "system"}
        self.process = subprocess.Popen([sys.executable, "-m", "connector.workers", str(niceness)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, env=environment, start_new_session=own_process_group)
        self.own_process_group = own_process_group

    def call(self, function: Callable, args: tuple) -> Any:
        try:
            pickle.dump((function, args), self.process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self.process.stdin.flush()
            status, value = pickle.load(self.process.stdout)
        except (BrokenPipeError, EOFError):
            raise WorkerError(f"a worker process ended unexpectedly (exit code {self.process.wait()})") from None
        if status == "error":
            raise value
        return value

    def kill(self) -> None:
        try:
            if self.own_process_group:
                os.killpg(self.process.pid, signal.SIGKILL)
            else:
                self.process.kill()
        except ProcessLookupError:  # already gone
            pass

    def stop(self) -> None:
        for pipe in (self.process.stdin, self.process.stdout):  # the worker ends at the end of its input, or
            try:                                                # at once if it is writing an answer no one reads
                pipe.close()
            except BrokenPipeError:
                pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def serve(calls, answers) -> None:
    """The worker's loop: read a call, answer it, until the input ends."""
    while True:
        try:
            function, args = pickle.load(calls)
        except EOFError:
            return
        try:
            answer = ("ok", function(*args))
        except Exception as error:
            answer = ("error", error)
        try:
            payload = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:  # an exception that does not pickle
            payload = pickle.dumps(("error", WorkerError(f"{type(answer[1]).__name__}: {answer[1]} ({error})")))
        try:
            answers.write(payload)
            answers.flush()
        except BrokenPipeError:  # the sync stopped (Ctrl-C, killed) and no longer reads: end quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), answers.fileno())  # nothing left to flush at exit
            return
        del function, args, answer, payload
        # The collector is off during calls (see __main__); cycles, if any, go between them. What
        # survives a call is the worker's own state (modules, caches): frozen, it is not scanned
        # again, which a full collection did in about 15 ms per call (11-15% of a worker's time).
        gc.collect()
        gc.freeze()


if __name__ == "__main__":
    # Ctrl-C in a terminal reaches the whole process group: the caller unwinds and ends its workers
    # (closing their input), which must not each print a KeyboardInterrupt traceback meanwhile.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.nice(int(sys.argv[1]))
    gc.disable()  # as in the sync: parsing and normalizing allocate millions of objects that form no cycles
    calls, answers = sys.stdin.buffer, os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    # A stray print, or a program the worker runs (ffmpeg), writes to stderr, never into the answers.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(calls, answers)
