"""Test-only crash points for the fault-injection suite (tests/faults/).

`ENCORD_WAREHOUSE_TEST_KILL_AT=<stage>:<n>` makes the process SIGKILL itself the n-th time it
passes `crash_point(stage)`: no cleanup, no rollback, no `finally` — what `kill -9` or a lost
machine does. `<stage>:<n>:SIGTERM` sends that signal instead (what a scheduler stopping a job
sends); `<stage>:<n>:SIGINT:group` sends it to the process group, as Ctrl-C in a terminal does. The variable is read here and nowhere else; unset (always, outside those tests) a crash
point is one comparison.

Stages: listed (after the listing), fetch (after each fetched bundle), normalize (before each
label row is handed to be normalized), prepare (before a chunk of label rows is normalized: in a
worker process once the sync has started them, each worker counting its own), load (end of each
load transaction, cursor written, not committed), commit (after each load transaction commits),
deletes (final transaction: deletes and state written, not committed), finish (after it commits),
optimize (`encord-warehouse optimize`: on DuckDB a table rewritten, not committed; on Postgres a
table vacuumed), frames (`extract-frames`: a video's images and manifest written, its rows not committed).
"""

from __future__ import annotations

import os
import signal

_SPEC = os.environ.get("ENCORD_WAREHOUSE_TEST_KILL_AT", "")
_STAGE, _, _REST = _SPEC.partition(":")
_COUNT, _, _SIGNAL = _REST.partition(":")
_SIGNAL, _, _TO = _SIGNAL.partition(":")
_TARGET = int(_COUNT or 1) if _STAGE else 0
_passed = 0


def crash_point(stage: str) -> None:
    global _passed
    if stage != _STAGE:
        return
    _passed += 1
    if _passed == _TARGET:
        signum = getattr(signal, _SIGNAL or "SIGKILL")
        if _TO == "group":
            os.killpg(os.getpgid(0), signum)
        else:
            os.kill(os.getpid(), signum)
