"""What an incremental sync reads, decided from the listing and what the warehouse holds: the export
files, the label rows to fetch from Encord. Pure."""

from datetime import datetime
from types import SimpleNamespace

import pytest

from connector.incremental import StoredRow, first_file_to_read, plan_sync

LISTED = [("2026-11-01.json", "10:1"), ("2026-11-02.json", "12:2"), ("2026-11-03.json", "9:3")]


@pytest.mark.parametrize("listed, read_before, start", [
    (LISTED, {}, 0),  # nothing read before
    (LISTED, dict(LISTED), 3),  # every file as it was: none
    (LISTED, dict(LISTED[:2]), 2),  # a new file after them: from it on
    (LISTED, {LISTED[0][0]: LISTED[0][1], LISTED[2][0]: LISTED[2][1]}, 1),  # a new (or failed) one between: from it on
    (LISTED, {**dict(LISTED), "2026-11-02.json": "12:1"}, 0),  # one changed since: all, a later copy may be gone
    (LISTED[1:], dict(LISTED), 0),  # one gone since: all, its copies shadowed earlier ones
    ([LISTED[0], ("2026-11-02.json", None), LISTED[2]], dict(LISTED[::2]), 1),  # no version to compare: read
    ([("<stdin>", None)], {}, 0),
])
def test_first_file_to_read(listed, read_before, start):
    assert first_file_to_read(listed, read_before) == start


def listed(last_edited_at=datetime(2026, 11, 1), listing_sha256="listed-1", dataset_hash="S"):
    return SimpleNamespace(label_hash="L", data_hash="D", branch_name="main", last_edited_at=last_edited_at,
                           listing_sha256=listing_sha256, dataset_hash=dataset_hash)


@pytest.mark.parametrize("stored_listing, row, fetched", [
    ("listed-1", listed(), False),
    ("listed-1", listed(last_edited_at=datetime(2026, 11, 2)), True),  # labels edited
    ("listed-1", listed(listing_sha256="listed-2"), True),  # a task moved, a status set, a title changed: no edit
    (None, listed(), True),  # stored before migration 0012, or by an export sync
    # the row's JSON (stored) has whole seconds; a listing with a fraction of the same second is no edit
    ("listed-1", listed(last_edited_at=datetime(2026, 11, 1, 0, 0, 0, 250_000)), False),
    ("listed-1", listed(last_edited_at=datetime(2026, 11, 1, 0, 0, 1, 250_000)), True),
    ("listed-1", listed(dataset_hash="T"), True),  # moved to another dataset (of the same title)
    ("listed-1", listed(dataset_hash=None), False),  # a listing that does not say
])
def test_a_row_is_fetched_when_it_was_edited_or_its_listing_changed(stored_listing, row, fetched):
    stored = StoredRow("L", "D", "main", datetime(2026, 11, 1), stored_listing, "S")
    plan = plan_sync([row], {"D"}, [stored], covers_branch=lambda name: True)
    assert (plan.to_fetch == [row], plan.unchanged) == (fetched, int(not fetched))
