"""Fixtures of the fault-injection suite: an emulated Encord project, the sync as a real
subprocess (so it can be killed), and the reference every faulted run is compared with: a clean
full sync of the same source state into a fresh warehouse of the same dialect."""

from __future__ import annotations

import copy
import functools
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from examples import sdk_sample
from sync_helpers import CLI, run_sync, snapshot, sync_args
from tests.encord_emulator.fixtures import encord_emulator, encord_key  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[2]


@functools.lru_cache(maxsize=None)
def _built_rows() -> tuple:
    rows = [sdk_sample.video_row(seed, number_of_frames=60).to_encord_dict() for seed in (1, 2, 3)]
    rows += [sdk_sample.image_row(seed).to_encord_dict() for seed in (4, 5, 6)]
    rows += [sdk_sample.img_group_row(7).to_encord_dict(), sdk_sample.server_label_dict(sdk_sample.dicom_row(8))]
    return tuple(rows)


def sample_rows() -> list[dict]:
    """Eight SDK-built label rows (3 videos, 3 images, an image group, a DICOM series); fresh copies."""
    return copy.deepcopy(list(_built_rows()))


@pytest.fixture
def key_path(encord_key, tmp_path):
    return tmp_path / "encord_key"


@pytest.fixture
def project(encord_emulator):
    ontology = sdk_sample.build_ontology().to_dict()
    project_hash = encord_emulator.add_project(title="Streets", ontology=ontology)
    rows = sample_rows()
    for row in rows:
        encord_emulator.put_row(project_hash, row)
    return SimpleNamespace(hash=project_hash, rows=rows, ontology=ontology)


def spawn_sync(warehouse, emulator, key_path, project_hash, *extra, kill_at=None, env=None, **popen):
    """`encord-warehouse sync --project …` as a subprocess; `kill_at` sets ENCORD_WAREHOUSE_TEST_KILL_AT."""
    warehouse.engine.dispose()  # DuckDB: one process may have the file open
    environment = {**os.environ, **(env or {})}
    environment.pop("ENCORD_WAREHOUSE_TEST_KILL_AT", None)
    if kill_at:
        environment["ENCORD_WAREHOUSE_TEST_KILL_AT"] = kill_at
    args = [*CLI, *sync_args(warehouse, emulator, key_path, project_hash, *extra)]
    return subprocess.Popen(args, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **popen)


def reference_snapshot(other_warehouse, emulator, key_path, project_hash, *extra):
    """A clean full sync of the emulator's current state into an empty warehouse."""
    run_sync(other_warehouse, emulator, key_path, project_hash, *extra)
    return snapshot(other_warehouse)


def listed_cursor(emulator, project_hash):
    """What the cursor must be once everything listed is loaded: the newest last_edited_at."""
    from connector.timestamps import parse_timestamp

    times = [parse_timestamp(m["last_edited_at"]) for m in emulator.metadata(project_hash) if m["label_hash"]]
    return max(times)
