"""``EncordEmulator``: a local Encord API for the real ``encord`` SDK, on 127.0.0.1.

    with EncordEmulator() as emu:
        key = emu.new_key()
        project = emu.add_project(title="P", ontology=ontology_dict)
        emu.put_row(project, row_dict)
        client = emu.client(key)                     # EncordUserClient, max_retries=0
        rows = client.get_project(project).list_label_rows_v2()
        assert emu.log.creates() == []
"""

from __future__ import annotations

import copy
import threading
import uuid
from datetime import datetime
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Set, Union

from .faults import Fault, FaultQueue
from .handler import Handler
from .keys import SshKey, generate_ssh_key
from .listing import list_metadata
from .log import RequestLog
from .state import Clock, Ontology, Project, Store

EMPTY_ONTOLOGY: Dict[str, Any] = {"objects": [], "classifications": []}


class EncordEmulator:
    def __init__(
        self,
        *,
        clock_start: Union[str, datetime] = "2025-03-10T12:00:00",
        clock_step: float = 1.0,
        edited_bounds_inclusive: bool = True,
        missing_label_rows: str = "error",
    ):
        """``clock_step``: seconds the clock advances after each write, so writes are ordered.
        ``edited_bounds_inclusive``: ``edited_after``/``edited_before`` compare with >=/<= (else >/<).
        ``missing_label_rows``: ``error`` (RESOURCE_NOT_FOUND_ERROR for the whole labelrow GET,
        the SDK raises ``ResourceNotFoundError``) or ``skip`` (unknown hashes are left out of the
        reply; a bundle then leaves those rows uninitialised without raising)."""
        self.clock = Clock(clock_start, clock_step)
        self.store = Store(self.clock)
        self.log = RequestLog()
        self.faults = FaultQueue()
        self.keys: Dict[str, Optional[Set[str]]] = {}
        self.options = {"edited_bounds_inclusive": edited_bounds_inclusive, "missing_label_rows": missing_label_rows}
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> "EncordEmulator":
        handler = type("BoundHandler", (Handler,), {"emulator": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="encord-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "EncordEmulator":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "emulator not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """The ``domain`` to give the SDK."""
        return f"http://127.0.0.1:{self.port}"

    # -- keys -----------------------------------------------------------------------------
    def add_key(self, key: Union[SshKey, str], projects: Optional[Iterable[str]] = None) -> str:
        """Register a public key (``SshKey`` or its hex). ``projects``: the only projects it may read."""
        public_hex = key.public_key_hex if isinstance(key, SshKey) else key
        self.keys[public_hex] = set(projects) if projects is not None else None
        return public_hex

    def new_key(self, path: Union[str, Path, None] = None, projects: Optional[Iterable[str]] = None) -> SshKey:
        """Generate a key, register it, write the private key to ``path`` if given."""
        key = generate_ssh_key(path)
        self.add_key(key, projects)
        return key

    def remove_key(self, key: Union[SshKey, str]) -> None:
        self.keys.pop(key.public_key_hex if isinstance(key, SshKey) else key, None)

    def key_allows(self, public_hex: Optional[str], project_hash: Optional[str]) -> bool:
        allowed = self.keys.get(public_hex or "")
        return allowed is None or project_hash in allowed

    def client(self, key: SshKey, **requests_settings: Any):
        """A real ``EncordUserClient`` for this emulator; RequestsSettings default to no retries."""
        from .sdk import make_client

        return make_client(self.url, key, **requests_settings)

    # -- projects and ontologies ----------------------------------------------------------
    def add_ontology(self, structure: Optional[Dict[str, Any]] = None, *, ontology_hash: Optional[str] = None,
                     title: str = "Ontology") -> str:
        ontology_hash = ontology_hash or str(uuid.uuid4())
        now = self.clock.now()
        with self.store.lock:
            self.store.ontologies[ontology_hash] = Ontology(
                ontology_hash, title, copy.deepcopy(structure or EMPTY_ONTOLOGY), now, now)
        return ontology_hash

    def set_ontology(self, project_hash: str, structure: Dict[str, Any]) -> str:
        """Edit the project's ontology in place (same ontology hash); returns that hash."""
        with self.store.lock:
            ontology = self.store.ontologies[self.store.project(project_hash).ontology_hash]
            ontology.structure = copy.deepcopy(structure)
            ontology.last_edited_at = self.clock.tick()
            return ontology.ontology_hash

    def add_project(self, project_hash: Optional[str] = None, *, title: str = "Project",
                    ontology: Optional[Dict[str, Any]] = None, ontology_hash: Optional[str] = None,
                    project_type: str = "workflow", workflow_stages: Optional[List[Dict[str, Any]]] = None,
                    description: str = "") -> str:
        """``ontology``: an ``OntologyStructure.to_dict()`` dict (a new ontology is made for it),
        or ``ontology_hash`` of one added with ``add_ontology``. ``project_type``: ``workflow``
        (default stages Annotate 1 / Review 1 / Complete) or ``manual_qa``."""
        project_hash = project_hash or str(uuid.uuid4())
        if ontology_hash is None:
            ontology_hash = self.add_ontology(ontology, title=f"{title} ontology")
        with self.store.lock:
            self.store.projects[project_hash] = Project(
                project_hash, title, ontology_hash, project_type=project_type, description=description,
                workflow_stages=copy.deepcopy(workflow_stages))
        return project_hash

    # -- data units and label rows --------------------------------------------------------
    def put_row(self, project_hash: str, row: Dict[str, Any], *, last_edited_at: Union[str, datetime, None] = None,
                keep_timestamps: bool = False, meta: Optional[Dict[str, Any]] = None) -> str:
        """Add or replace a label row (keyed by its ``label_hash``; one is made up if absent).
        ``last_edited_at`` is set to the clock (then the clock steps), or to ``last_edited_at``, or
        kept from the dict with ``keep_timestamps``. ``meta`` overrides fields of the row's
        metadata item (``workflow_graph_node``, ``priority``, ``task_uuid``...)."""
        return self.store.put_row(project_hash, row, last_edited_at=last_edited_at,
                                  keep_timestamps=keep_timestamps, meta=meta)

    def add_branch_row(self, project_hash: str, row: Dict[str, Any], branch_name: str,
                       label_hash: Optional[str] = None, **kw: Any) -> str:
        """A consensus branch row: same data unit as ``row``, its own label hash."""
        branch_row = copy.deepcopy(row)
        branch_row.update(branch_name=branch_name, label_hash=label_hash or str(uuid.uuid4()))
        return self.put_row(project_hash, branch_row, **kw)

    def add_data_unit(self, project_hash: str, row: Dict[str, Any], meta: Optional[Dict[str, Any]] = None) -> str:
        """A data unit without a label row (listed with ``label_hash=None``). ``row`` is a label-row
        dict (its labels are dropped)."""
        return self.store.upsert_data_unit(project_hash, row, meta)

    def delete_row(self, label_hash: str) -> None:
        """Delete a label row; its data unit stays (listed as uninitialised again)."""
        self.store.delete_row(label_hash)

    def delete_data_unit(self, data_hash: str) -> None:
        """Remove a data unit from the project, with all its label rows."""
        self.store.delete_data_unit(data_hash)

    def row(self, label_hash: str) -> Dict[str, Any]:
        with self.store.lock:
            return copy.deepcopy(self.store.rows[label_hash].row)

    def label_hashes(self, project_hash: str) -> List[str]:
        with self.store.lock:
            return [h for h, r in self.store.rows.items() if r.project_hash == project_hash]

    def metadata(self, project_hash: str, **payload: Any) -> List[Dict[str, Any]]:
        """What a listing with these payload fields would return (no request is logged)."""
        payload.setdefault("include_uninitialised_labels", True)
        return list_metadata(self.store, project_hash, payload, self.options["edited_bounds_inclusive"])

    # -- faults ---------------------------------------------------------------------------
    def inject(self, kind: str, **match_and_params: Any) -> Fault:
        """Add a fault rule; see ``faults.Fault`` for the kinds and what the SDK does with them.
        E.g. ``inject("status", status=429, retry_after=0, query_type="labelrow", times=2)``."""
        return self.faults.add(Fault(kind, **match_and_params))

    def clear_faults(self) -> None:
        self.faults.clear()
