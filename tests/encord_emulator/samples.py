"""The sample label rows, metadata items and ontology committed in ``data/``."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any, Dict, Optional

DATA_DIR = Path(__file__).parent / "data"


def load(name: str) -> Any:
    """``load("label_row_video")``, ``load("ontology")``, ``load("label_row_metadata_image")``..."""
    return json.loads((DATA_DIR / f"{name}.json").read_text(encoding="utf-8"))


def clone_row(row: Dict[str, Any], *, data_hash: Optional[str] = None, label_hash: Optional[str] = None,
              data_title: Optional[str] = None) -> Dict[str, Any]:
    """A copy of ``row`` as a different data unit: new data hash (also renames the data unit keyed
    by the old one), new label hash, optionally a new title."""
    new = copy.deepcopy(row)
    old_hash = new["data_hash"]
    new["data_hash"] = data_hash or str(uuid.uuid4())
    new["label_hash"] = label_hash or str(uuid.uuid4())
    units = new.get("data_units") or {}
    if old_hash in units:
        unit = units.pop(old_hash)
        unit["data_hash"] = new["data_hash"]
        units[new["data_hash"]] = unit
    if data_title is not None:
        new["data_title"] = data_title
        if len(units) == 1:
            next(iter(units.values()))["data_title"] = data_title
    return new


def add_sample_project(emulator, title: str = "Street scenes", **project_kw: Any) -> Dict[str, str]:
    """A project with the sample ontology and the video and image label rows (stamped with the
    emulator's clock). Returns the hashes: project, video, image (label hashes)."""
    project_hash = emulator.add_project(title=title, ontology=load("ontology"), **project_kw)
    video = emulator.put_row(project_hash, load("label_row_video"))
    image = emulator.put_row(project_hash, load("label_row_image"))
    return {"project": project_hash, "video": video, "image": image}
