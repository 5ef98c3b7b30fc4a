"""branch_labels: per annotator branch, frame and feature, object counts against `main` and the
best-match IoU of boxes, checked against IoU computed in Python from the label-row dicts."""

from __future__ import annotations

import math

import pytest

import views_expected as ex
from connector.sync import ExportSyncConfig, sync_export


@pytest.fixture
def consensus(warehouse, tmp_path):
    export, ontology_path, rows, _ontology = ex.write_sample(tmp_path)
    assert sync_export(warehouse.engine, ExportSyncConfig(str(export), "p1", str(ontology_path))).ok
    title = next(r["data_title"] for r in rows if r["branch_name"] != "main")
    branch_rows = [r for r in rows if r["data_title"] == title]
    return warehouse, branch_rows


def _expected(branch_rows):
    main = next(r for r in branch_rows if r["branch_name"] == "main")
    main_boxes = ex.boxes_by_frame_feature(main)
    main_counts = _counts(main)
    expected = {}
    for row in branch_rows:
        if row["branch_name"] == "main":
            continue
        counts, boxes = _counts(row), ex.boxes_by_frame_feature(row)
        for frame, feature in set(counts) | set(main_counts):
            best = [max((ex.iou(b, m) for m in main_boxes.get((frame, feature), [])), default=0.0)
                    for b in boxes.get((frame, feature), [])]
            expected[(row["branch_name"], frame, feature)] = (
                counts.get((frame, feature), 0), main_counts.get((frame, feature), 0), len(best),
                sum(best) / len(best) if best else None, min(best) if best else None)
    return expected


def _counts(row):
    counts = {}
    for frame, _u, _w, _h, obj in ex.object_frames(row):
        counts[(frame, obj["featureHash"])] = counts.get((frame, obj["featureHash"]), 0) + 1
    return counts


def test_branch_labels_counts_and_iou(consensus):
    warehouse, branch_rows = consensus
    expected = _expected(branch_rows)
    got = {
        (r[0], r[1], r[2]): r[3:]
        for r in warehouse.rows(
            "SELECT branch_name, frame, feature_hash, branch_objects, main_objects, branch_boxes, mean_best_iou, "
            "min_best_iou FROM branch_labels WHERE data_title = :t", t=branch_rows[0]["data_title"])
    }
    assert set(got) == set(expected)
    assert len({branch for branch, _f, _h in got}) == 2
    for key, (objects, main_objects, boxes, mean_iou, min_iou) in expected.items():
        actual = got[key]
        assert actual[:3] == (objects, main_objects, boxes), key
        for a, e in ((actual[3], mean_iou), (actual[4], min_iou)):
            assert (a is None and e is None) or math.isclose(a, e, abs_tol=1e-4), (key, a, e)
    ious = [v[3] for v in expected.values() if v[3] is not None]
    assert any(0 < value < 0.999 for value in ious)  # the branches really disagree somewhere


def test_rank_data_units_by_disagreement(consensus):
    warehouse, branch_rows = consensus
    ranked = warehouse.rows(
        "SELECT data_title, branch_name, AVG(1 - COALESCE(mean_best_iou, 0)) AS disagreement "
        "FROM branch_labels WHERE branch_boxes > 0 GROUP BY data_title, branch_name ORDER BY disagreement DESC")
    assert {title for title, _b, _d in ranked} == {branch_rows[0]["data_title"]}
    assert all(0 <= d <= 1 for _t, _b, d in ranked)
