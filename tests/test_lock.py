"""The writer's lock as a library caller takes it (the commands' side is in test_optimize.py,
test_sync_encord.py and faults/test_concurrency.py)."""

from __future__ import annotations

import time

import pytest

from connector.lock import LockBusy, warehouse_lock


def test_a_second_holder_waits_then_gets_a_message_without_command_line_flags(warehouse):
    with warehouse_lock(warehouse.engine):
        started = time.monotonic()
        with pytest.raises(LockBusy) as busy:
            with warehouse_lock(warehouse.engine, wait_seconds=0.5):
                pytest.fail("the lock was taken twice")
        waited = time.monotonic() - started
    assert waited >= 0.5
    message = str(busy.value)
    assert message.startswith("another sync is writing to ")
    assert message.endswith(" after waiting 0.5s; try again later")
    assert "--" not in message
    with warehouse_lock(warehouse.engine):  # released by the first holder: free again
        pass
