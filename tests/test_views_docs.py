"""Every SQL block of docs/views.md runs on both databases against examples/sample_export.json
and returns rows (but the audio, text and time series section's: tests/test_ranges.py); the answers quoted in
the prose hold."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from connector.sync import ExportSyncConfig, sync_export

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "views.md"
RANGES_SECTION = "## Audio, text and time series: range_labels"
FRAME_PART, RANGES_PART = DOC.read_text(encoding="utf-8").split(RANGES_SECTION)
BLOCKS = re.findall(r"```sql\n(.*?)```", FRAME_PART, re.DOTALL)
RANGE_BLOCKS = re.findall(r"```sql\n(.*?)```", RANGES_PART, re.DOTALL)
"""The last section's, about audio, text and time-series rows, which the sample export has none of: tests/test_ranges.py runs them."""


@pytest.fixture
def sample(warehouse):
    config = ExportSyncConfig(str(ROOT / "examples" / "sample_export.json"), "export", str(ROOT / "examples" / "ontology.json"))
    assert sync_export(warehouse.engine, config).ok
    return warehouse


def test_the_page_has_examples():
    assert len(BLOCKS) >= 12


def test_every_example_returns_rows(sample):
    for sql in BLOCKS:
        assert sample.rows(sql), sql


def test_motion_changes_after_frame_60(sample):
    rows = sample.rows(BLOCKS[2])
    car = [r for r in rows if r[1] == "Car"]
    assert [(frame, answer) for frame, _n, _a, answer in car[:4]] == [
        (59, "Moving"), (60, "Moving"), (61, "Parked"), (62, "Parked")]
