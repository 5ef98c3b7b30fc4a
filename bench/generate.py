"""Exports of any size in the exact shape the real SDK writes.

    .venv/bin/python bench/generate.py --out /tmp/bench/export.json --object-frames 436000 --rows 700

Seed rows are built with the real SDK (examples/sdk_sample.py: videos with tracked objects and
dynamic answers, images with every shape, an image group, a DICOM series, a consensus video with
annotator branches) plus longer videos (`video_row(number_of_frames=...)`) whose length is chosen so
that the export averages `--object-frames / --rows` object-frame annotations per label row. The
export is then scaled by cloning seeds round-robin: every clone gets fresh label, data, object and
classification hashes, a new title, and geometry jittered by a small per-clone offset, so clones
are distinct rows that compress and hash like real ones; the branches of one data unit (the
consensus video's annotators) stay on one data unit, with one new data hash and title per round. Each row is `LabelRowV2.to_encord_dict()`
re-keyed, written with `json.dumps` (what the docs' "Export labels as JSON" script does) into one
JSON array, one row at a time, so generating a large export needs little memory.

The ontology (`OntologyStructure.to_dict()`) is written beside it as ontology.json.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import sys
import uuid
from pathlib import Path
from typing import Any, Iterator

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from examples.sdk_sample import build_ontology, sample_export, video_row  # noqa: E402

GENERATOR_VERSION = 2  # 2: a data unit's branches share one data hash (bench/run.py regenerates older exports)
EXTRA_VIDEOS = 10  # long videos added to the SDK sample so the mix reaches the wanted density


def object_frame_count(row: dict[str, Any]) -> int:
    count = 0
    for unit in row["data_units"].values():
        labels = unit.get("labels") or {}
        if "objects" in labels:
            count += len(labels["objects"])
        else:
            count += sum(len(frame.get("objects") or []) for frame in labels.values())
    return count


def seed_rows(object_frames_per_row: float, ontology=None) -> list[dict[str, Any]]:
    """The SDK sample plus EXTRA_VIDEOS videos long enough to reach the wanted mean density."""
    ontology = ontology or build_ontology()
    rows = sample_export(ontology=ontology)
    probe = video_row(10_000, ontology=ontology, number_of_frames=250).to_encord_dict()
    per_frame = object_frame_count(probe) / 250
    wanted = object_frames_per_row * (len(rows) + EXTRA_VIDEOS) - sum(object_frame_count(r) for r in rows)
    frames = max(50, round(wanted / EXTRA_VIDEOS / per_frame - 7 * (EXTRA_VIDEOS - 1) / 2))
    for seed in range(EXTRA_VIDEOS):
        rows.append(video_row(100 + seed, ontology=ontology, number_of_frames=frames + 7 * seed).to_encord_dict())
    return rows


def _short_hash(rng: random.Random) -> str:
    return base64.b64encode(rng.randbytes(6)).decode()  # 8 characters, like Encord's object hashes


def _jitter(value: Any, dx: float, dy: float) -> Any:
    """Shift every x/y (and flat polygon ring) coordinate; leave sizes and pixel bitmasks alone."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "x" and isinstance(item, float):
                out[key] = round(min(1.0, max(0.0, item + dx)), 4)
            elif key == "y" and isinstance(item, float):
                out[key] = round(min(1.0, max(0.0, item + dy)), 4)
            else:
                out[key] = _jitter(item, dx, dy)
        return out
    if isinstance(value, list):
        return [_jitter(item, dx, dy) for item in value]
    return value


def _jitter_rings(polygons: list, dx: float, dy: float) -> list:
    return [[[round(min(1.0, max(0.0, c + (dx if i % 2 == 0 else dy))), 4) for i, c in enumerate(ring)]
             for ring in polygon] for polygon in polygons]


GEOMETRY_KEYS = ("boundingBox", "rotatableBoundingBox", "polygon", "polyline", "point", "skeleton",
                 "circle", "ellipse")


def clone_row(seed: dict[str, Any], index: int, rng: random.Random,
              data_hashes: dict[str, str] | None = None) -> dict[str, Any]:
    """A distinct copy of `seed`: fresh hashes everywhere, titles suffixed with `index`, geometry shifted
    by up to ±1% of the image. `data_hashes` (old -> new) is shared by the clones of one round, so that
    the branches of one data unit get one new data hash."""
    row = orjson.loads(orjson.dumps(seed))  # a deep copy
    dx, dy = rng.uniform(-0.01, 0.01), rng.uniform(-0.01, 0.01)
    hashes: dict[str, str] = {}
    data_hashes = {} if data_hashes is None else data_hashes

    def fresh(old: str) -> str:
        if old not in hashes:
            hashes[old] = _short_hash(rng)
        return hashes[old]

    def fresh_data_hash(old: str) -> str:
        if old not in data_hashes:
            data_hashes[old] = str(uuid.UUID(bytes=rng.randbytes(16), version=4))
        return data_hashes[old]

    row["label_hash"] = str(uuid.UUID(bytes=rng.randbytes(16), version=4))
    row["data_hash"] = fresh_data_hash(row["data_hash"])
    row["data_title"] = _suffixed(row["data_title"], index)
    units = {}
    for unit_hash, unit in row["data_units"].items():
        new_hash = fresh_data_hash(unit_hash)
        unit["data_hash"] = new_hash
        unit["data_title"] = _suffixed(unit["data_title"], index)
        if unit.get("data_link"):
            unit["data_link"] = _suffixed(unit["data_link"], index)
        labels = unit.get("labels") or {}
        for frame_labels in ([labels] if "objects" in labels else labels.values()):
            for obj in frame_labels.get("objects") or []:
                obj["objectHash"] = fresh(obj["objectHash"])
                for key in GEOMETRY_KEYS:
                    if key in obj:
                        obj[key] = _jitter(obj[key], dx, dy)
                if "polygons" in obj:
                    obj["polygons"] = _jitter_rings(obj["polygons"], dx, dy)
            for entry in frame_labels.get("classifications") or []:
                entry["classificationHash"] = fresh(entry["classificationHash"])
        units[new_hash] = unit
    row["data_units"] = units
    for key, hash_field in (("object_answers", "objectHash"), ("object_actions", "objectHash"),
                            ("classification_answers", "classificationHash")):
        renamed = {}
        for old, value in (row.get(key) or {}).items():
            value[hash_field] = fresh(old)
            renamed[value[hash_field]] = value
        row[key] = renamed
    return row


def _suffixed(title: str, index: int) -> str:
    stem, dot, extension = title.rpartition(".")
    return f"{stem}_c{index:06d}.{extension}" if dot and "/" not in extension else f"{title}_c{index:06d}"


def generate_rows(rows: int, object_frames: int, seed: int = 0) -> Iterator[dict[str, Any]]:
    seeds = seed_rows(object_frames / rows)
    rng = random.Random(seed)
    data_hashes: dict[str, str] = {}
    for index in range(rows):
        round_, slot = divmod(index, len(seeds))
        if slot == 0:
            data_hashes = {}
        yield clone_row(seeds[slot], round_, rng, data_hashes)


def write_export(path: Path, rows: int, object_frames: int, seed: int = 0) -> dict[str, int]:
    path.parent.mkdir(parents=True, exist_ok=True)
    total = 0
    with path.open("w", encoding="utf-8") as handle:
        handle.write("[")
        for index, row in enumerate(generate_rows(rows, object_frames, seed)):
            total += object_frame_count(row)
            handle.write(("" if index == 0 else ", ") + json.dumps(row))
        handle.write("]")
    (path.parent / "ontology.json").write_text(json.dumps(build_ontology().to_dict(), indent=1))
    return {"rows": rows, "object_frames": total, "bytes": path.stat().st_size, "requested": [rows, object_frames],
            "generator": GENERATOR_VERSION}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path, help="the export file (ontology.json goes beside it)")
    parser.add_argument("--rows", type=int, default=700, help="label rows (default 700)")
    parser.add_argument("--object-frames", type=int, default=436_000, help="object-frame annotations wanted in total")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    facts = write_export(args.out, args.rows, args.object_frames, args.seed)
    print(f"{args.out}: {facts['rows']} label rows, {facts['object_frames']} object frames, "
          f"{facts['bytes'] / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
