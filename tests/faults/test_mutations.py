"""Property: whatever one label row of a batch is mutated into, the sync does not crash, the mutated
row is either loaded or quarantined, and the valid rows of the batch load exactly as they would alone."""

from __future__ import annotations

import copy
import math

from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import sample_rows
from connector import migrate, schema
from connector.ontology import build_index
from connector.state import RunStats, start_run
from connector.sync import load_rows
from connector.sources import SourceRow
from examples import sdk_sample
from sync_helpers import snapshot

LABEL_TABLES = [table.name for table in schema.LABEL_ROW_TABLES]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70), st.integers(-3, 3000),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([-0.5, 1.5, 0.25, float("nan")]),
    st.text(max_size=12), st.sampled_from(["", "\x00", "NaN", "yesterday", "'; DROP TABLE branches; --", "🚗"]),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                      max_leaves=6)


def paths(node, prefix=()):
    """Every path to a value inside a label row."""
    yield prefix
    if isinstance(node, dict):
        for key, child in node.items():
            yield from paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from paths(child, (*prefix, index))


@st.composite
def mutated(draw, base):
    row = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        candidates = [p for p in paths(row) if p and p[0] != "label_hash"]
        path = draw(st.sampled_from(candidates))
        parent = row
        for step in path[:-1]:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(values)
    return row


ROWS = sample_rows()
VALID, BASES = [ROWS[1], ROWS[4]], [ROWS[3], ROWS[0], ROWS[6], ROWS[7]]  # image, video, img_group, DICOM


def test_a_mutated_row_never_crashes_the_sync_or_costs_the_valid_ones(warehouse, other_warehouse):
    migrate.upgrade(warehouse.engine)
    migrate.upgrade(other_warehouse.engine)
    ontology = build_index(sdk_sample.build_ontology().to_dict())
    run_id = start_run(other_warehouse.engine, "export", "p")
    load_rows(other_warehouse.engine, [SourceRow(copy.deepcopy(r), "valid") for r in VALID], run_id, "p", ontology,
              RunStats())
    expected = snapshot(other_warehouse, LABEL_TABLES)
    run_id = start_run(warehouse.engine, "export", "p")
    base_index = st.sampled_from(range(len(BASES)))

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def property(data):
        row = data.draw(mutated(BASES[data.draw(base_index)]))
        batch = [SourceRow(copy.deepcopy(VALID[0]), "v0"), SourceRow(row, "mutated"), SourceRow(copy.deepcopy(VALID[1]), "v1")]
        failures = load_rows(warehouse.engine, batch, run_id, "p", ontology, RunStats(), full_refresh=True)
        label_hash = row["label_hash"]
        loaded = warehouse.scalar("SELECT count(*) FROM branches WHERE label_hash = :h", h=label_hash)
        assert loaded == 1 or [f.label_hash for f in failures] == [label_hash], failures
        assert all(f.field and f.reason for f in failures)
        got = snapshot(warehouse, LABEL_TABLES)
        assert {t: [r for r in rows if r[0] != label_hash] for t, rows in got.items()} == expected
        with warehouse.engine.begin() as connection:  # the next example starts without the mutated row
            from sqlalchemy import text
            for table in LABEL_TABLES:
                connection.execute(text(f"DELETE FROM {table} WHERE label_hash = :h"), {"h": label_hash})

    property()
    assert not math.isnan(0.0)
