"""The emulator's in-memory Encord: clock, projects, ontologies, data units and label rows."""

from __future__ import annotations

import copy
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Union

from .metadata import DEFAULT_WORKFLOW, metadata_item, parse_time, rfc1123

FRAME_KEYED = {"video", "dicom", "nifti", "pdf", "audio", "plain_text"}
LABEL_KEYS = ("object_answers", "classification_answers", "object_actions")


class ApiError(Exception):
    """An error the API reports in the v1 envelope (``code``) or as a v2 HTTP status."""

    def __init__(self, code: str, status: int = 400, payload: Any = None):
        super().__init__(code)
        self.code, self.status, self.payload = code, status, payload


class Clock:
    """The emulator's notion of "now": whole seconds, UTC. ``step`` is added after every write."""

    def __init__(self, start: Union[str, datetime] = "2025-03-10T12:00:00", step: float = 1.0):
        self._now = parse_time(start).replace(microsecond=0)
        self.step = step
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._now

    def set(self, when: Union[str, datetime]) -> datetime:
        with self._lock:
            self._now = parse_time(when).replace(microsecond=0)
            return self._now

    def advance(self, seconds: float = 0, **delta: float) -> datetime:
        with self._lock:
            self._now += timedelta(seconds=seconds, **delta)
            self._now = self._now.replace(microsecond=0)
            return self._now

    def tick(self) -> datetime:
        """Returns now, then advances by ``step``."""
        with self._lock:
            now = self._now
            self._now = (now + timedelta(seconds=self.step)).replace(microsecond=0)
            return now


@dataclass
class Ontology:
    ontology_hash: str
    title: str
    structure: Dict[str, Any]
    created_at: datetime
    last_edited_at: datetime
    description: str = ""


@dataclass
class Project:
    project_hash: str
    title: str
    ontology_hash: str
    project_type: str = "workflow"
    description: str = ""
    status: str = "inProgress"
    creator_email: str = "owner@example.com"
    created_at: datetime = field(default_factory=lambda: datetime(2025, 1, 1, tzinfo=timezone.utc))
    last_edited_at: datetime = field(default_factory=lambda: datetime(2025, 1, 1, tzinfo=timezone.utc))
    workflow_stages: Optional[List[Dict[str, Any]]] = None

    def __post_init__(self) -> None:
        if self.project_type == "workflow" and self.workflow_stages is None:
            self.workflow_stages = copy.deepcopy(DEFAULT_WORKFLOW)
        if self.project_type != "workflow":
            self.workflow_stages = None


@dataclass
class DataItem:
    """A data unit in a project; ``template`` is a label-row dict without labels."""

    project_hash: str
    template: Dict[str, Any]
    meta: Dict[str, Any] = field(default_factory=dict)


@dataclass
class RowRecord:
    project_hash: str
    row: Dict[str, Any]
    created_at: datetime
    last_edited_at: datetime
    meta: Dict[str, Any] = field(default_factory=dict)

    @property
    def label_hash(self) -> str:
        return self.row["label_hash"]

    @property
    def branch_name(self) -> str:
        return self.row.get("branch_name") or "main"


def strip_labels(row: Dict[str, Any]) -> Dict[str, Any]:
    """A copy of the row with no labels and no label-row identity."""
    template = copy.deepcopy(row)
    for key in ("label_hash", "created_at", "last_edited_at", *LABEL_KEYS):
        template.pop(key, None)
    template["branch_name"] = "main"
    frame_keyed = (template.get("data_type") or "").lower() in FRAME_KEYED
    for unit in (template.get("data_units") or {}).values():
        unit["labels"] = {} if frame_keyed else {"objects": [], "classifications": []}
    return template


class Store:
    """All emulator state, guarded by one lock (requests are served from several threads)."""

    def __init__(self, clock: Clock):
        self.clock = clock
        self.lock = threading.RLock()
        self.projects: Dict[str, Project] = {}
        self.ontologies: Dict[str, Ontology] = {}
        self.data: Dict[str, DataItem] = {}
        self.rows: Dict[str, RowRecord] = {}
        self._by_data: Dict[str, Dict[str, None]] = {}  # data hash -> its label hashes, in order

    # -- data units and rows --------------------------------------------------------------
    def project(self, project_hash: str) -> Project:
        if project_hash not in self.projects:
            raise ApiError("RESOURCE_NOT_FOUND_ERROR", 404)
        return self.projects[project_hash]

    def upsert_data_unit(self, project_hash: str, row: Dict[str, Any], meta: Optional[Dict[str, Any]] = None) -> str:
        with self.lock:
            self.project(project_hash)
            data_hash = row["data_hash"]
            item = self.data.get(data_hash)
            if item is not None and item.project_hash != project_hash:
                raise ValueError(f"data unit {data_hash} belongs to project {item.project_hash}")
            merged_meta = {**(item.meta if item else {}), **(meta or {})}
            self.data[data_hash] = DataItem(project_hash, strip_labels(row), merged_meta)
            return data_hash

    def put_row(
        self,
        project_hash: str,
        row: Dict[str, Any],
        *,
        last_edited_at: Union[str, datetime, None] = None,
        keep_timestamps: bool = False,
        meta: Optional[Dict[str, Any]] = None,
    ) -> str:
        row = copy.deepcopy(row)
        row.setdefault("branch_name", "main")
        label_hash = row.get("label_hash") or str(uuid.uuid4())
        row["label_hash"] = label_hash
        with self.lock:
            existing = self.rows.get(label_hash)
            if existing is not None and existing.project_hash != project_hash:
                raise ValueError(f"label row {label_hash} belongs to project {existing.project_hash}")
            for other in self.rows_of_data(row["data_hash"]):
                if other.branch_name == row["branch_name"] and other.label_hash != label_hash:
                    raise ValueError(
                        f"data unit {row['data_hash']} already has label row {other.label_hash} on branch {row['branch_name']}"
                    )
            if keep_timestamps:
                edited = parse_time(row["last_edited_at"])
                created = parse_time(row.get("created_at") or row["last_edited_at"])
            else:
                edited = parse_time(last_edited_at) if last_edited_at is not None else self.clock.tick()
                created = existing.created_at if existing else edited
            row["created_at"], row["last_edited_at"] = rfc1123(created), rfc1123(edited)
            if row["data_hash"] not in self.data or row["branch_name"] == "main":
                self.upsert_data_unit(project_hash, row)
            row_meta = {**(existing.meta if existing else {}), **(meta or {})}
            if existing is not None:
                self._drop(label_hash)
            self.rows[label_hash] = RowRecord(project_hash, row, created, edited, row_meta)
            self._by_data.setdefault(row["data_hash"], {})[label_hash] = None
            return label_hash

    def rows_of_data(self, data_hash: str) -> List[RowRecord]:
        return [self.rows[h] for h in self._by_data.get(data_hash, {})]

    def _drop(self, label_hash: str) -> None:
        record = self.rows.pop(label_hash)
        self._by_data.get(record.row["data_hash"], {}).pop(label_hash, None)

    def delete_row(self, label_hash: str) -> None:
        with self.lock:
            self._drop(label_hash)

    def delete_data_unit(self, data_hash: str) -> None:
        with self.lock:
            del self.data[data_hash]
            for record in self.rows_of_data(data_hash):
                self._drop(record.label_hash)

    def create_rows(self, project_hash: str, data_hashes: List[str], branch_name: Optional[str]) -> List[Dict[str, Any]]:
        """What ``labelrow`` PUT does: a new, empty label row per data unit."""
        branch = branch_name or "main"
        created = []
        with self.lock:
            for data_hash in data_hashes:
                item = self.data.get(data_hash)
                if item is None or item.project_hash != project_hash:
                    raise ApiError("RESOURCE_NOT_FOUND_ERROR", 404, f"data unit {data_hash} not found")
                if any(r.branch_name == branch for r in self.rows_of_data(data_hash)):
                    raise ApiError("RESOURCE_EXISTS_ERROR", 409, data_hash)
            for data_hash in data_hashes:
                row = copy.deepcopy(self.data[data_hash].template)
                row.update(branch_name=branch, label_status="LABEL_IN_PROGRESS",
                           object_answers={}, classification_answers={}, object_actions={})
                label_hash = self.put_row(project_hash, row)
                created.append(copy.deepcopy(self.rows[label_hash].row))
        return created

    # -- reads ----------------------------------------------------------------------------
    def fetch_rows(self, project_hash: str, label_hashes: List[str], missing: str = "error") -> List[Dict[str, Any]]:
        with self.lock:
            found, absent = [], []
            for label_hash in label_hashes:
                record = self.rows.get(label_hash)
                if record is None or record.project_hash != project_hash:
                    absent.append(label_hash)
                else:
                    found.append(copy.deepcopy(record.row))
        if absent and missing == "error":
            raise ApiError("RESOURCE_NOT_FOUND_ERROR", 404, f"label rows not found: {', '.join(absent)}")
        return found

    def metadata_of(self, record: Optional[RowRecord], item: DataItem, branch_name: str) -> Dict[str, Any]:
        stages = self.projects[item.project_hash].workflow_stages
        if record is None:
            return metadata_item(item.template, label_hash=None, branch_name=branch_name, created_at=None,
                                 last_edited_at=None, workflow_stages=stages, overrides=item.meta)
        return metadata_item(record.row, label_hash=record.label_hash, branch_name=record.branch_name,
                             created_at=record.created_at, last_edited_at=record.last_edited_at,
                             workflow_stages=stages, overrides={**item.meta, **record.meta})
