"""``labelrowmetadata`` GET: the server side of ``Project.list_label_rows_v2``.

Semantics chosen where the real API is not documented (tests may rely on them):

- Without ``include_all_label_branches`` one item per data unit on branch ``branch_name`` (default
  ``main``); a data unit with no label row on that branch is listed with ``label_hash=None`` and
  that branch name when ``include_uninitialised_labels`` is set (the SDK always sets it).
- ``include_all_label_branches``: every label row of every branch; a data unit with no row at
  all is listed once as uninitialised on ``main``. Combined with ``branch_name``:
  ``INVALID_ARGUMENTS_ERROR``.
- ``edited_after``/``edited_before`` compare with the row's ``last_edited_at``; both bounds are
  inclusive unless the emulator is built with ``edited_bounds_inclusive=False``. Uninitialised
  data units have no ``last_edited_at`` and so never match a time filter (SQL NULL semantics).
- ``label_statuses`` holds ``AnnotationTaskStatus`` values (that is what the SDK sends) and is
  matched against ``annotation_task_status``; uninitialised units count as ``QUEUED``.
- ``*_like`` filters use SQL LIKE (``%``, ``_``), case-sensitive.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from .metadata import parse_time
from .state import ApiError, DataItem, RowRecord, Store


def _like(pattern: str, value: Optional[str]) -> bool:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return value is not None and re.fullmatch(regex, value, re.DOTALL) is not None


def _candidates(store: Store, item: DataItem, branch: Optional[str], include_all: bool):
    rows = sorted(store.rows_of_data(item.template["data_hash"]), key=lambda r: (r.branch_name != "main", r.branch_name))
    if include_all:
        return [(r, r.branch_name) for r in rows] or [(None, "main")]
    wanted = branch or "main"
    return [(r, wanted) for r in rows if r.branch_name == wanted] or [(None, wanted)]


def _matches(p: Dict[str, Any], record: Optional[RowRecord], meta: Dict[str, Any], inclusive: bool) -> bool:
    if record is None and not p.get("include_uninitialised_labels"):
        return False
    if p.get("data_hashes") is not None and meta["data_hash"] not in p["data_hashes"]:
        return False
    if p.get("label_hashes") is not None and meta["label_hash"] not in p["label_hashes"]:
        return False
    for key, later in (("edited_after", True), ("edited_before", False)):
        if p.get(key):
            if record is None:
                return False
            bound, edited = parse_time(p[key]), record.last_edited_at
            ok = (edited >= bound if inclusive else edited > bound) if later else (edited <= bound if inclusive else edited < bound)
            if not ok:
                return False
    if p.get("label_statuses") is not None:
        status = record.row.get("annotation_task_status") if record else "QUEUED"
        if status not in p["label_statuses"]:
            return False
    shadow = p.get("shadow_data_state")
    if shadow == "SHADOW_DATA" and not meta["is_shadow_data"] or shadow == "NOT_SHADOW_DATA" and meta["is_shadow_data"]:
        return False
    if p.get("data_title_eq") is not None and meta["data_title"] != p["data_title_eq"]:
        return False
    if p.get("data_title_like") is not None and not _like(p["data_title_like"], meta["data_title"]):
        return False
    node_title = (meta.get("workflow_graph_node") or {}).get("title")
    if p.get("workflow_graph_node_title_eq") is not None and node_title != p["workflow_graph_node_title_eq"]:
        return False
    if p.get("workflow_graph_node_title_like") is not None and not _like(p["workflow_graph_node_title_like"], node_title):
        return False
    return True


def list_metadata(store: Store, project_hash: str, payload: Optional[Dict[str, Any]], inclusive: bool = True) -> List[Dict[str, Any]]:
    p = payload or {}
    if p.get("include_all_label_branches") and p.get("branch_name"):
        raise ApiError("INVALID_ARGUMENTS_ERROR", 400, "branch_name cannot be combined with include_all_label_branches")
    out = []
    with store.lock:
        store.project(project_hash)
        for item in store.data.values():
            if item.project_hash != project_hash:
                continue
            for record, branch in _candidates(store, item, p.get("branch_name"), bool(p.get("include_all_label_branches"))):
                meta = store.metadata_of(record, item, branch)
                if _matches(p, record, meta, inclusive):
                    if not p.get("include_workflow_graph_node", True):
                        meta["workflow_graph_node"] = None
                    out.append(meta)
    return out
