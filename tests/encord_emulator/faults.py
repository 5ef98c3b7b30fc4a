"""Fault injection rules.

A rule matches a request by v1 ``query_type``/``query_method`` or by v2 path prefix and HTTP
method (all optional: a rule with no matcher hits every request), and fires ``times`` times
(None: forever). Rules are checked in the order they were added; the first one that still has
hits left wins. Faults are applied before authentication, as the API's rate limiter and load
balancer would.

Kinds, and what SDK 0.1.211 does with them (checked in tests/test_emulator.py):

``status``   HTTP ``status`` with a non-JSON body (``Retry-After`` header when ``retry_after``
             is set). 413/429/500/502/503 are in the SDK's urllib3 ``status_forcelist``: a
             retryable call (listing, label-row GET, v2 GETs) is re-sent up to
             ``RequestsSettings.max_retries`` times with backoff ``backoff_factor * 2**(n-1)``,
             honouring ``Retry-After`` for 413/429/503 — so use ``retry_after=0`` in tests. When
             retries run out (or ``max_retries=0``): 429 -> ``RateLimitExceededError`` with
             ``.retry_after``; 413 -> ``PayloadTooLargeError``; other v1 statuses ->
             ``RequestException`` ("Error parsing JSON response") because the body is not JSON;
             v2 -> ``UnknownException`` (500/502/503), ``RateLimitExceededError`` (429).
             Other statuses (e.g. 504) are never retried. Label-row creation (PUT) is sent with
             ``retryable=False`` and never retried.
``envelope`` HTTP 200 with ``{"status": envelope_status, "response": [error]}`` (v1 only): never
             retried; the SDK maps the code, e.g. ``RATE_LIMIT_ERROR`` -> ``RateLimitExceededError``
             (no retry_after), ``UNKNOWN_ERROR`` -> ``UnknownException``.
``delay``    sleeps ``seconds`` then serves the request normally. A delay longer than
             ``RequestsSettings.read_timeout`` gives a read timeout, which urllib3 retries like
             a dropped connection.
``drop``     closes the socket without replying. urllib3 counts it as a read error and retries
             it ``max_retries`` times on retryable calls; then the SDK raises ``RequestException``
             ("Request session.send failed").
``truncate`` serves the request, then sends only the first ``keep`` bytes of the JSON body
             (with a matching Content-Length). Not retried: ``RequestException``
             ("Error parsing JSON response"); for v2 too.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import List, Optional

KINDS = {"status", "envelope", "delay", "drop", "truncate"}


@dataclass
class Fault:
    kind: str
    query_type: Optional[str] = None
    query_method: Optional[str] = None
    path: Optional[str] = None
    """v2 path prefix below /v2/public/, e.g. ``projects/``; set it to match v2 requests only."""
    http_method: Optional[str] = None
    times: Optional[int] = 1
    status: int = 500
    retry_after: Optional[str] = None
    error: str = "UNKNOWN_ERROR"
    envelope_status: int = 500
    seconds: float = 0.0
    keep: int = 20
    hits: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {sorted(KINDS)}")
        if self.retry_after is not None:
            self.retry_after = str(self.retry_after)

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def matches(self, api: str, path: str, http_method: str, query_type: Optional[str], query_method: Optional[str]) -> bool:
        if self.query_type is not None and query_type != self.query_type:
            return False
        if self.query_method is not None and (query_method or "").upper() != self.query_method.upper():
            return False
        if self.path is not None:
            if api != "v2" or not path.startswith("/v2/public/" + self.path.lstrip("/")):
                return False
        if self.http_method is not None and http_method.upper() != self.http_method.upper():
            return False
        return True


class FaultQueue:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: List[Fault] = []

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._rules.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def pending(self) -> List[Fault]:
        with self._lock:
            return [f for f in self._rules if not f.exhausted]

    def take(self, api: str, path: str, http_method: str, query_type: Optional[str], query_method: Optional[str]) -> Optional[Fault]:
        with self._lock:
            for fault in self._rules:
                if not fault.exhausted and fault.matches(api, path, http_method, query_type, query_method):
                    fault.hits += 1
                    return fault
        return None
