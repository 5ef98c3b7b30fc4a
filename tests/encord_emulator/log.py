"""The emulator's request log: one entry per request that reached the socket."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Iterator, List, Optional

WRITE_METHODS_V1 = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class RecordedRequest:
    seq: int
    http_method: str
    path: str
    api: str
    """``v1`` (RPC at /public), ``v2`` (REST at /v2/public) or ``other``."""
    query_type: Optional[str] = None
    query_method: Optional[str] = None
    resource_type: Optional[str] = None
    resource_id: Optional[str] = None
    uid: Any = None
    payload: Any = None
    body: Any = None
    """Parsed JSON body (v1 envelope or v2 payload), None when empty or not JSON."""
    response: Any = None
    """The JSON sent back (before any truncation); None for faults answered without one."""
    public_key_hex: Optional[str] = None
    http_status: Optional[int] = None
    """HTTP status sent; None when the connection was dropped without a reply."""
    api_status: Optional[int] = None
    """v1 envelope ``status`` (200 on success even though HTTP says 200 for errors too)."""
    error: Optional[str] = None
    """v1 envelope error code (e.g. ``AUTHENTICATION_ERROR``) or v2 error message."""
    fault: Optional[str] = None
    """Kind of fault injected into this request, if any."""
    client_gone: bool = False
    """True when the client had closed the connection before the reply was written."""
    unknown: bool = False
    """True when the emulator has no handler for this request."""
    label_hashes: List[str] = field(default_factory=list)
    """labelrow GET: label hashes asked for. labelrow PUT: label hashes created."""
    data_hashes: List[str] = field(default_factory=list)
    """labelrow PUT: data hashes whose label rows were created."""

    @property
    def ok(self) -> bool:
        return (self.http_status == 200 and self.api_status in (None, 200) and self.fault is None
                and not self.client_gone)

    @property
    def is_write(self) -> bool:
        if self.api == "v1":
            return (self.query_method or "").upper() in WRITE_METHODS_V1
        return self.http_method.upper() != "GET"


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: List[RecordedRequest] = []

    def new(self, http_method: str, path: str, api: str) -> RecordedRequest:
        with self._lock:
            entry = RecordedRequest(seq=len(self._entries), http_method=http_method, path=path, api=api)
            self._entries.append(entry)
            return entry

    def __iter__(self) -> Iterator[RecordedRequest]:
        return iter(self.all())

    def __len__(self) -> int:
        return len(self._entries)

    def all(self) -> List[RecordedRequest]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def requests_of(self, query_type: Optional[str] = None, method: Optional[str] = None) -> List[RecordedRequest]:
        """v1 requests by query_type (``labelrow``, ``labelrowmetadata``...) and query_method (``GET``, ``PUT``...)."""
        return [
            e
            for e in self.all()
            if e.api == "v1"
            and (query_type is None or e.query_type == query_type)
            and (method is None or (e.query_method or "").upper() == method.upper())
        ]

    def v2_requests(self, path_prefix: str = "", method: Optional[str] = None) -> List[RecordedRequest]:
        """v2 requests whose path (below /v2/public/) starts with ``path_prefix``."""
        return [
            e
            for e in self.all()
            if e.api == "v2"
            and e.path.split("?")[0].startswith("/v2/public/" + path_prefix.lstrip("/"))
            and (method is None or e.http_method.upper() == method.upper())
        ]

    def fetched_label_hashes(self, ok_only: bool = False) -> List[str]:
        """Label hashes requested through ``labelrow`` GET, in request order (with repeats)."""
        return [h for e in self.requests_of("labelrow", "GET") if e.ok or not ok_only for h in e.label_hashes]

    def listings(self) -> List[RecordedRequest]:
        return self.requests_of("labelrowmetadata", "GET")

    def last_listing(self) -> List[dict]:
        """The metadata items the latest successful listing returned."""
        done = [e for e in self.listings() if e.ok]
        return done[-1].response["response"] if done else []

    def creates(self) -> List[RecordedRequest]:
        """Label-row creation requests (``labelrow`` PUT): a read-only connector must never send one."""
        return self.requests_of("labelrow", "PUT")

    def writes(self) -> List[RecordedRequest]:
        """Every request that would change server state (v1 POST/PUT/DELETE, v2 non-GET)."""
        return [e for e in self.all() if e.is_write]

    def unknown(self) -> List[RecordedRequest]:
        return [e for e in self.all() if e.unknown]

    def faulted(self) -> List[RecordedRequest]:
        return [e for e in self.all() if e.fault]
