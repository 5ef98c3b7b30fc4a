"""What the emulated endpoints answer, independent of HTTP plumbing.

v1: ``POST /public`` (and ``/public/user``) with body
``{"query_type", "query_method", "values": {"uid", "payload"}}``; always HTTP 200 with the
envelope ``{"status": 200, "response": ...}`` or ``{"status": <code>, "response": [<ERROR>],
"payload": ...}``.
v2: ``GET /v2/public/projects/{hash}`` and ``GET /v2/public/ontologies/{hash}``; camelCase JSON;
errors as HTTP status + ``{"message": ...}``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from .listing import list_metadata
from .log import RecordedRequest
from .metadata import iso_naive
from .state import ApiError, Store


class Unknown(Exception):
    """No handler for this request."""


def _as_list(uid: Any) -> List[str]:
    if uid is None:
        return []
    return [str(u) for u in uid] if isinstance(uid, list) else [str(uid)]


def handle_v1(store: Store, entry: RecordedRequest, options: Dict[str, Any]) -> Any:
    """Returns the envelope's ``response``; raises ApiError or Unknown."""
    qt, qm = entry.query_type, (entry.query_method or "").upper()
    if entry.resource_type != "project":
        raise Unknown(f"resource type {entry.resource_type!r}")
    project_hash = entry.resource_id or ""
    store.project(project_hash)
    payload = entry.payload if isinstance(entry.payload, dict) else {}
    if qt == "labelrowmetadata" and qm == "GET":
        return list_metadata(store, project_hash, payload, options["edited_bounds_inclusive"])
    if qt == "labelrow" and qm == "GET":
        entry.label_hashes = _as_list(entry.uid)
        rows = store.fetch_rows(project_hash, entry.label_hashes, options["missing_label_rows"])
        return rows if isinstance(entry.uid, list) else (rows[0] if rows else None)
    if qt == "labelrow" and qm == "PUT":
        entry.data_hashes = _as_list(entry.uid)
        rows = store.create_rows(project_hash, entry.data_hashes, payload.get("branch_name"))
        entry.label_hashes = [r["label_hash"] for r in rows]
        return rows if isinstance(entry.uid, list) else rows[0]
    if qt == "labelrow" and qm == "POST":  # LabelRowV2.save(): the edit is applied, as the API would
        entry.label_hashes = _as_list(entry.uid)
        labels = payload.get("labels") if payload.get("multi_request") else [payload]
        for label_hash, row in zip(entry.label_hashes, labels or []):
            store.fetch_rows(project_hash, [label_hash])
            store.put_row(project_hash, {**row, "label_hash": label_hash})
        return True
    raise Unknown(f"{qt} {qm}")


def _ontology_json(store: Store, ontology_hash: str) -> Dict[str, Any]:
    ontology = store.ontologies.get(ontology_hash)
    if ontology is None:
        raise ApiError("RESOURCE_NOT_FOUND_ERROR", 404, "Ontology not found")
    return {
        "ontologyUuid": ontology.ontology_hash,
        "title": ontology.title,
        "description": ontology.description,
        "editor": ontology.structure,
        "createdAt": iso_naive(ontology.created_at),
        "lastEditedAt": iso_naive(ontology.last_edited_at),
        "userRole": 0,
    }


def _project_json(store: Store, project_hash: str) -> Dict[str, Any]:
    project = store.project(project_hash)
    body: Dict[str, Any] = {
        "projectHash": project.project_hash,
        "projectType": project.project_type,
        "status": project.status,
        "title": project.title,
        "description": project.description,
        "createdAt": iso_naive(project.created_at),
        "creatorEmail": project.creator_email,
        "lastEditedAt": iso_naive(project.last_edited_at),
        "ontologyHash": project.ontology_hash,
        "editorOntology": store.ontologies[project.ontology_hash].structure,
        "userRole": 0,
    }
    if project.workflow_stages:
        body["workflowManagerUuid"] = project.project_hash
        body["workflow"] = {"stages": project.workflow_stages}
    return body


def handle_v2(store: Store, method: str, parts: List[str], public_key_allowed) -> Tuple[int, Optional[Dict[str, Any]]]:
    """``parts``: the path split below /v2/public/. Returns (status, json)."""
    if method == "GET" and len(parts) == 2 and parts[0] == "projects":
        if not public_key_allowed(parts[1]):
            raise ApiError("AUTHORISATION_ERROR", 403, "You are not authorised to access this asset.")
        with store.lock:
            return 200, _project_json(store, parts[1])
    if method == "GET" and len(parts) == 2 and parts[0] == "ontologies":
        with store.lock:
            return 200, _ontology_json(store, parts[1])
    raise Unknown(f"{method} /{'/'.join(parts)}")
