"""Timestamps, and the label-row metadata items ``labelrowmetadata`` GET returns.

Label-row dicts carry RFC 1123 timestamps ("Tue, 04 Mar 2025 09:14:00 UTC"); metadata items
carry ISO 8601 without a zone ("2025-03-04T09:14:00"), as the real API sends them.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Dict, List, Optional, Union

from examples.sdk_rows import listed_spaces

RFC1123 = "%a, %d %b %Y %H:%M:%S UTC"
_NS = uuid.UUID("6c0f7c35-4d8f-4b7e-9a43-7d8a1e0c2f55")

# Workflow nodes used when a row does not say which stage it is in.
DEFAULT_WORKFLOW = [
    {"stageType": "ANNOTATION", "uuid": "0c5e6a3f-7a1f-4c55-9d7e-2b3c4d5e6f70", "title": "Annotate 1"},
    {"stageType": "REVIEW", "uuid": "3d6f7b4a-8b2e-4d66-ae8f-3c4d5e6f7081", "title": "Review 1"},
    {"stageType": "DONE", "uuid": "5b1f0e2d-0000-4000-8000-000000000001", "title": "Complete"},
]
_STAGE_BY_TASK_STATUS = {"QUEUED": "ANNOTATION", "ASSIGNED": "ANNOTATION", "RETURNED": "ANNOTATION",
                         "IN_REVIEW": "REVIEW", "COMPLETED": "DONE"}


def parse_time(value: Union[str, datetime]) -> datetime:
    """Any timestamp the SDK or a sample uses -> aware UTC datetime. No zone means UTC."""
    if isinstance(value, datetime):
        dt = value
    else:
        text = value.strip()
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            try:
                dt = parsedate_to_datetime(text.replace(" UTC", " GMT"))
            except (TypeError, ValueError):
                dt = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def rfc1123(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime(RFC1123)


def iso_naive(dt: Optional[datetime]) -> Optional[str]:
    return None if dt is None else dt.astimezone(timezone.utc).replace(tzinfo=None).isoformat()


def stable_uuid(*parts: str) -> str:
    return str(uuid.uuid5(_NS, "/".join(parts)))


def _units(row: Dict[str, Any]) -> List[Dict[str, Any]]:
    units = list((row.get("data_units") or {}).values())
    return sorted(units, key=lambda u: int(u.get("data_sequence") or 0))


def number_of_frames(row: Dict[str, Any]) -> int:
    data_type = (row.get("data_type") or "").lower()
    units = _units(row)
    if data_type in ("img_group", "group"):
        return len(units)
    if not units:
        return 1
    unit = units[0]
    if data_type == "video" and unit.get("data_fps") and unit.get("data_duration"):
        return int(round(float(unit["data_fps"]) * float(unit["data_duration"])))
    labels = unit.get("labels") or {}
    frames = [int(k) for k in labels if str(k).isdigit()]
    return max(frames) + 1 if frames else 1


def workflow_node(stages: Optional[List[Dict[str, Any]]], task_status: Optional[str]) -> Optional[Dict[str, str]]:
    if not stages:
        return None
    wanted = _STAGE_BY_TASK_STATUS.get(task_status or "QUEUED", "ANNOTATION")
    stage = next((s for s in stages if s["stageType"] == wanted), stages[0])
    return {"uuid": stage["uuid"], "title": stage["title"]}


def metadata_item(
    row: Dict[str, Any],
    *,
    label_hash: Optional[str],
    branch_name: str,
    created_at: Optional[datetime],
    last_edited_at: Optional[datetime],
    workflow_stages: Optional[List[Dict[str, Any]]],
    overrides: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]:
    """The metadata item of a label row (or of a data unit without one, ``label_hash=None``)."""
    data_type = (row.get("data_type") or "").lower()
    units = _units(row)
    first = units[0] if units else {}
    is_video = data_type in ("video", "audio")
    data_hash = row["data_hash"]
    initialised = label_hash is not None
    task_status = row.get("annotation_task_status") if initialised else "QUEUED"
    if data_type in ("img_group", "dicom", "nifti", "group"):
        data_link = None
    else:
        folder = "cord-images" if data_type == "image" else f"cord-{data_type}s"
        data_link = f"{folder}/.../{data_hash}"
    item = {
        "label_hash": label_hash,
        "branch_name": branch_name,
        "created_at": iso_naive(created_at),
        "last_edited_at": iso_naive(last_edited_at),
        "data_hash": data_hash,
        "dataset_hash": row.get("dataset_hash"),
        "dataset_title": row.get("dataset_title"),
        "data_title": row.get("data_title"),
        "data_type": data_type.upper(),
        "data_link": data_link,
        "label_status": row.get("label_status", "NOT_LABELLED") if initialised else "NOT_LABELLED",
        "annotation_task_status": task_status if workflow_stages else None,
        "workflow_graph_node": workflow_node(workflow_stages, task_status),
        "is_shadow_data": bool(row.get("is_shadow_data", False)),
        "number_of_frames": number_of_frames(row),
        "frames_per_second": first.get("data_fps") if is_video else None,
        "duration": first.get("data_duration") if is_video else None,
        "width": first.get("width"),
        "height": first.get("height"),
        "file_type": first.get("data_type") if len(units) == 1 else None,
        "task_uuid": stable_uuid("task", data_hash, branch_name) if workflow_stages else None,
        "priority": None,
        "backing_item_uuid": stable_uuid("item", data_hash),
        "spaces": listed_spaces(row),
    }
    item.update(overrides or {})
    return item

