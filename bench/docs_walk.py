"""The docs' way: read each label row with the SDK and walk its objects, then SQLAlchemy executemany.

    .venv/bin/python bench/docs_walk.py --db duckdb:////tmp/naive.duckdb EXPORT --ontology ontology.json

What Encord's "Export labels" scripts do, written into the warehouse's tables: `json.load` the
export, build a `LabelRowV2` per row (`from_labels_dict`, offline, as tests/sdk_counts.py does),
then for every object instance and every annotation read frame, coordinates and the instance's
answers through the SDK accessors, and for every classification instance its frames and answer;
the rows go in with `connection.execute(table.insert(), [dict, ...])` (executemany), one
transaction per label row. It fills object_frames, objects, attributes (static answers),
classifications and classification_frames — less than the connector writes, so the figure flatters
it. Prints a JSON line with the label rows done and the seconds spent after start-up, so a run on a
smaller export can be extrapolated per row.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from encord.objects import OntologyStructure  # noqa: E402
from encord.objects.coordinates import (  # noqa: E402
    BoundingBoxCoordinates, PointCoordinate, PolygonCoordinates, PolylineCoordinates,
    RotatableBoundingBoxCoordinates,
)

from connector import migrate, schema  # noqa: E402
from connector.db import create_warehouse_engine  # noqa: E402
from sdk_counts import load_label_row  # noqa: E402


def _naive(value):
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value is not None and value.tzinfo else value


def coordinates(value) -> dict:
    return {"x": None, "y": None, "w": None, "h": None, "theta": None, "points": None, "geometry": None,
            **_coordinates(value)}


def _coordinates(value) -> dict:
    if isinstance(value, (BoundingBoxCoordinates, RotatableBoundingBoxCoordinates)):
        return {"x": value.top_left_x, "y": value.top_left_y, "w": value.width, "h": value.height,
                "theta": getattr(value, "theta", None)}
    if isinstance(value, PointCoordinate):
        return {"x": value.x, "y": value.y}
    if isinstance(value, (PolygonCoordinates, PolylineCoordinates)):
        return {"points": json.dumps([[v.x, v.y] for v in value.values])}
    return {"geometry": json.dumps(value.to_dict()) if hasattr(value, "to_dict") else None}


def walk(label_row_dict: dict, structure: OntologyStructure) -> dict[str, list[dict]]:
    label_row = load_label_row(label_row_dict, structure)
    label_hash = label_row.label_hash
    rows: dict[str, list[dict]] = {"object_frames": [], "objects": [], "attributes": [], "classifications": [],
                                   "classification_frames": []}
    for instance in label_row.get_object_instances():
        frames = []
        for annotation in instance.get_annotations():
            frames.append(annotation.frame)
            rows["object_frames"].append({
                "label_hash": label_hash, "object_hash": instance.object_hash, "frame": annotation.frame,
                "shape": instance.ontology_item.shape.value, **coordinates(annotation.coordinates),
                "confidence": annotation.confidence, "manual_annotation": annotation.manual_annotation,
                "created_by": annotation.created_by, "created_at": _naive(annotation.created_at),
                "last_edited_by": annotation.last_edited_by, "last_edited_at": _naive(annotation.last_edited_at),
            })
        rows["objects"].append({
            "label_hash": label_hash, "object_hash": instance.object_hash,
            "feature_hash": instance.ontology_item.feature_node_hash, "name": instance.ontology_item.name,
            "color": instance.ontology_item.color, "shape": instance.ontology_item.shape.value,
            "first_frame": min(frames, default=None), "last_frame": max(frames, default=None),
            "frame_count": len(frames),
        })
        for seq, attribute in enumerate(instance.ontology_item.attributes):
            if attribute.dynamic:
                continue
            answer = instance.get_answer(attribute)
            if answer is None:
                continue
            rows["attributes"].append({
                "label_hash": label_hash, "owner_hash": instance.object_hash, "answer_seq": seq,
                "owner_kind": "object", "attribute_hash": attribute.feature_node_hash, "attribute_name": attribute.name,
                "text_value": str(getattr(answer, "label", answer)), "dynamic": False,
            })
    for instance in label_row.get_classification_instances():
        answer = instance.get_answer()
        rows["classifications"].append({
            "label_hash": label_hash, "classification_hash": instance.classification_hash,
            "feature_hash": instance.ontology_item.feature_node_hash, "name": instance.ontology_item.attributes[0].name,
            "answer": str(getattr(answer, "label", answer)) if answer is not None else None,
        })
        for annotation in instance.get_annotations():
            rows["classification_frames"].append({"label_hash": label_hash,
                                                  "classification_hash": instance.classification_hash,
                                                  "frame": annotation.frame})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("export", type=Path)
    parser.add_argument("--db", required=True)
    parser.add_argument("--schema")
    parser.add_argument("--ontology", type=Path, required=True)
    args = parser.parse_args()
    engine = create_warehouse_engine(args.db, args.schema)
    migrate.upgrade(engine)
    started = time.perf_counter()
    structure = OntologyStructure.from_dict(json.loads(args.ontology.read_text()))
    export = json.loads(args.export.read_text())
    annotations = 0
    for label_row_dict in export:
        rows = walk(label_row_dict, structure)
        annotations += len(rows["object_frames"])
        with engine.begin() as connection:
            for name, table_rows in rows.items():
                if table_rows:
                    connection.execute(schema.metadata.tables[name].insert(), table_rows)
    print(json.dumps({"label_rows": len(export), "object_frames": annotations,
                      "work_s": round(time.perf_counter() - started, 3)}))


if __name__ == "__main__":
    main()
