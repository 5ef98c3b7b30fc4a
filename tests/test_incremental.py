"""Which files of an export a sync reads, decided from the listing and what an earlier run read. Pure."""

import pytest

from connector.incremental import first_file_to_read

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
