"""The fast floor: what loading this export costs with everything a connector does left out.

    .venv/bin/python bench/floor.py --db duckdb:////tmp/floor.duckdb EXPORT [--ontology ontology.json]
    .venv/bin/python bench/floor.py --db postgresql+psycopg://... --schema floor EXPORT

The whole file split into rows by msgspec and each row parsed by orjson (garbage collector off; the
raw archive keeps each row's text as the connector does), hand-flattened columns for every
label-row table (the same tables, columns and values the connector writes), no validation, no
fingerprints, no batching, no deletes; then per table one Arrow table and one
`INSERT … SELECT` on DuckDB, or one COPY on Postgres. The schema is created with the
connector's own migrations so both write into identical tables.
"""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

import msgspec
import orjson
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connector import migrate, schema  # noqa: E402
from connector.db import create_warehouse_engine  # noqa: E402
from connector.normalize import TABLE_COLUMNS  # noqa: E402
from connector.ontology import build_index  # noqa: E402
from connector.stage import ARCHIVE_PART_BYTES  # noqa: E402
from connector.timestamps import parse_timestamp  # noqa: E402

GEOMETRY = {"bounding_box": "boundingBox", "rotatable_bounding_box": "rotatableBoundingBox", "polygon": "polygon",
            "polyline": "polyline", "point": "point", "skeleton": "skeleton", "bitmask": "bitmask",
            "circle": "circle", "ellipse": "ellipse", "cuboid_2d": "cuboid_2d"}
FRAME_KEYED = {"video", "dicom", "nifti", "pdf"}
# The columns the floor fills: the connector's, less its validation output (object_frames.problems).
COLUMNS = {name: [c for c in columns if c != "problems"]
           for name, columns in {**TABLE_COLUMNS, "raw_label_rows": ("label_hash", "part", "json_text")}.items()}


def ts(text):
    return parse_timestamp(text) if text else None


def dumps(value):
    return None if value is None else orjson.dumps(value).decode()


def flatten(rows: list[dict], texts: list[bytes], project_hash: str, ontology, synced_at) -> dict[str, list[tuple]]:
    out = {name: [] for name in COLUMNS}
    of_rows, object_rows = out["object_frames"], out["objects"]
    units_seen = {}
    for row, row_text in zip(rows, texts):
        lh = row["label_hash"]
        data_type = row["data_type"].lower()
        units = row["data_units"]
        objects = {}
        frames = {}
        for data_hash, unit in units.items():
            labels = unit.get("labels") or {}
            if data_type in FRAME_KEYED:
                fps = unit.get("data_fps")
                items = ((int(k), v) for k, v in labels.items())
            else:
                fps = None
                items = [(int(unit.get("data_sequence", 0)), labels)]
            for frame, fl in items:
                meta = fl.get("metadata") or {}
                if data_type in FRAME_KEYED:
                    frames[frame] = (lh, frame, unit.get("data_hash", data_hash), unit.get("data_title"),
                                     meta.get("width") or unit.get("width"), meta.get("height") or unit.get("height"),
                                     frame / fps if fps else None, None)
                else:
                    frames[frame] = (lh, frame, unit.get("data_hash", data_hash), unit.get("data_title"),
                                     unit.get("width"), unit.get("height"), None, unit.get("data_link"))
                for o in fl.get("objects") or ():
                    shape, oh = o["shape"], o["objectHash"]
                    g = o[GEOMETRY[shape]]
                    x = y = w = h = theta = points = rings = geometry = None
                    if shape == "bounding_box" or shape == "rotatable_bounding_box":
                        x, y, w, h, theta = g["x"], g["y"], g["w"], g["h"], g.get("theta")
                    elif shape in ("polygon", "polyline", "point", "skeleton"):
                        pts = [[float(v["x"]), float(v["y"])] for _, v in sorted(g.items(), key=lambda kv: int(kv[0]))]
                        points = dumps(pts)
                        if shape == "polygon":
                            rings = dumps(o.get("polygons") or [[[c for p in pts for c in p]]])
                        elif shape == "point" and pts:
                            x, y = pts[0]
                        elif shape == "skeleton":
                            geometry = dumps(g)
                    else:
                        if shape in ("circle", "ellipse"):
                            x, y, theta = g["x"], g["y"], g.get("theta")
                        geometry = dumps(g)
                    created, edited = ts(o.get("createdAt")), ts(o.get("lastEditedAt"))
                    conf = o.get("confidence")
                    of_rows.append((lh, oh, frame, shape, x, y, w, h, theta, points, rings, geometry,
                                    None if conf is None else float(conf), o.get("manualAnnotation"),
                                    o.get("event"), o.get("isDeleted"), o.get("createdBy"), created,
                                    o.get("lastEditedBy"), edited))
                    seen = objects.get(oh)
                    if seen is None:
                        objects[oh] = [o, frame, frame, 1, o.get("createdBy"), created, o.get("lastEditedBy"), edited]
                    else:
                        seen[1] = min(seen[1], frame)
                        seen[2] = max(seen[2], frame)
                        seen[3] += 1
                        if created is not None and (seen[5] is None or created < seen[5]):
                            seen[4:6] = o.get("createdBy"), created
                        if edited is not None and (seen[7] is None or edited > seen[7]):
                            seen[6:8] = o.get("lastEditedBy"), edited
        answers = row.get("object_answers") or {}
        for oh, (o, first, last, count, cb, ca, eb, ea) in objects.items():
            number = (answers.get(oh) or {}).get("objectNumber")
            object_rows.append((lh, oh, o["featureHash"], o.get("name"), o.get("value"), o.get("color"), o.get("shape"),
                                number, first, last, count, cb, ca, eb, ea))
        # classifications: answers, frames from range and from frame entries
        cls_frames = set()
        entries = {}
        for data_hash, unit in units.items():
            labels = unit.get("labels") or {}
            pairs = ((int(k), v) for k, v in labels.items()) if data_type in FRAME_KEYED else \
                [(int(unit.get("data_sequence", 0)), labels)]
            for frame, fl in pairs:
                for c in fl.get("classifications") or ():
                    entries.setdefault(c["classificationHash"], c)
                    cls_frames.add((c["classificationHash"], frame))
        cls_answers = row.get("classification_answers") or {}
        single = next(iter(units.items())) if len(units) == 1 and data_type in FRAME_KEYED else None
        for ch, a in cls_answers.items():
            for start, end in a.get("range") or ():
                for frame in range(start, end + 1):
                    cls_frames.add((ch, frame))
                    if frame not in frames and single:
                        dh, unit = single
                        fps = unit.get("data_fps")
                        frames[frame] = (lh, frame, unit.get("data_hash", dh), unit.get("data_title"),
                                         unit.get("width"), unit.get("height"), frame / fps if fps else None, None)
        for ch in {**entries, **cls_answers}:
            a, e = cls_answers.get(ch) or {}, entries.get(ch) or {}
            src = a or e
            first = (a.get("classifications") or [{}])[-1]  # the top-level answer: the SDK writes it last
            ans = first.get("answers")
            text = (", ".join(str(x.get("name")) for x in ans) or None) if isinstance(ans, list) else \
                (None if ans is None else str(ans))
            conf = src.get("confidence")
            out["classifications"].append((lh, ch, a.get("featureHash") or e.get("featureHash"),
                                           e.get("name") or first.get("name"), text,
                                           None if conf is None else float(conf), src.get("manualAnnotation"),
                                           src.get("createdBy"), ts(src.get("createdAt")), src.get("lastEditedBy"),
                                           ts(src.get("lastEditedAt"))))
        out["classification_frames"].extend((lh, ch, f) for ch, f in sorted(cls_frames))
        out["frames"].extend(frames[f] for f in sorted(frames))
        # attributes
        seq = {}

        def answer(owner, kind, entry, rng):
            info = ontology.attribute(entry["featureHash"])
            ans = entry.get("answers")
            if isinstance(ans, list):
                values = [(v.get("featureHash"), v.get("name"), v.get("value"), None, None) for v in ans]
            elif isinstance(ans, str):
                values = [(None, None, None, ans, None)]
            elif ans is None:
                values = []
            else:
                values = [(None, None, None, None, float(ans))]
            kind_type = info.type if info and info.type else (
                "text" if isinstance(ans, str) else "numeric" if isinstance(ans, (int, float)) else None)
            start, end = rng or (None, None)
            for oh_, on, ov, tv, nv in values:
                s = seq.get(owner, 0)
                seq[owner] = s + 1
                out["attributes"].append((lh, owner, s, kind, entry["featureHash"], entry.get("name"), kind_type,
                                          oh_, on, ov, tv, nv, rng is not None, start, end,
                                          info.parent_attribute_hash if info else None,
                                          info.parent_option_hash if info else None,
                                          entry.get("manualAnnotation"), entry.get("trackHash")))

        for oh, a in answers.items():
            for entry in a.get("classifications") or ():
                answer(oh, "object", entry, None)
        for oh, a in (row.get("object_actions") or {}).items():
            for entry in a.get("actions") or ():
                for start, end in entry.get("range") or ():
                    answer(oh, "object", entry, (start, end))
        for ch in {**entries, **cls_answers}:
            for entry in (cls_answers.get(ch) or {}).get("classifications") or ():
                answer(ch, "classification", entry, None)
        stage = row.get("workflow_graph_node") or {}
        out["branches"].append((lh, project_hash, row["data_hash"], row.get("branch_name") or "main",
                                row.get("label_status"), row.get("annotation_task_status"), stage.get("title"),
                                stage.get("uuid"), ts(row.get("created_at")), ts(row.get("last_edited_at")),
                                synced_at, None, None, None))
        # the archive keeps each row's JSON as the file has it (generate.py writes ASCII: parts end every
        # ARCHIVE_PART_BYTES, never inside a character)
        out["raw_label_rows"].extend((lh, n, row_text[i:i + ARCHIVE_PART_BYTES].decode())
                                     for n, i in enumerate(range(0, len(row_text), ARCHIVE_PART_BYTES)))
        u = list(units.values())
        one = u[0] if len(u) == 1 and data_type != "img_group" else {}
        units_seen[row["data_hash"]] = (
            project_hash, row["data_hash"], row.get("data_title"), data_type, one.get("data_type"), one.get("width"),
            one.get("height"), one.get("data_fps"), one.get("data_duration"),
            len(u) if data_type in ("image", "img_group") else None, row.get("dataset_hash"),
            row.get("dataset_title"), one.get("data_link"))
    out["data_units"] = list(units_seen.values())
    return out


ARROW = {"Integer": pa.int64(), "Double": pa.float64(), "Boolean": pa.bool_(), "DateTime": pa.timestamp("us")}


def load_duckdb(engine, tables):
    with engine.begin() as connection:
        duck = connection.connection.dbapi_connection
        for name, rows in tables.items():
            table, names = schema.metadata.tables[name], COLUMNS[name]
            columns = list(zip(*rows)) if rows else [[] for _ in names]
            arrow = pa.Table.from_arrays(
                [pa.array(values, ARROW.get(type(table.c[n].type).__name__, pa.string())) for n, values in zip(names, columns)],
                names=names)
            duck.register("floor_batch", arrow)
            quoted = ", ".join(f'"{n}"' for n in names)
            duck.execute(f'INSERT INTO "{name}" ({quoted}) SELECT {quoted} FROM floor_batch')
            duck.unregister("floor_batch")


def load_postgres(engine, tables):
    with engine.begin() as connection:
        cursor = connection.connection.dbapi_connection.cursor()
        for name, rows in tables.items():
            quoted = ", ".join(f'"{n}"' for n in COLUMNS[name])
            with cursor.copy(f'COPY "{name}" ({quoted}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("export", type=Path)
    parser.add_argument("--db", required=True)
    parser.add_argument("--schema")
    parser.add_argument("--ontology", type=Path)
    parser.add_argument("--project-hash", default="export")
    args = parser.parse_args()
    from datetime import datetime, timezone

    engine = create_warehouse_engine(args.db, args.schema)
    migrate.upgrade(engine)
    ontology = build_index(orjson.loads(args.ontology.read_bytes()) if args.ontology else None)
    gc.disable()
    texts = [bytes(raw) for raw in msgspec.json.decode(args.export.read_bytes(), type=list[msgspec.Raw])]
    rows = [orjson.loads(text) for text in texts]
    tables = flatten(rows, texts, args.project_hash, ontology, datetime.now(timezone.utc).replace(tzinfo=None))
    del rows, texts
    (load_duckdb if engine.dialect.name == "duckdb" else load_postgres)(engine, tables)
    print(" ".join(f"{name}={len(rows)}" for name, rows in tables.items()))


if __name__ == "__main__":
    main()
