"""Fault injection rules.

A rule matches a request by v1 ``query_type``/``query_method`` or by v2 path prefix and HTTP
method (all optional: a rule with no matcher hits every request), and fires ``times`` times
(None: forever). Rules are checked in the order they were added; the first one that still has
hits left wins. Faults are applied before authentication, as the API's rate limiter and load
balancer would.

Kinds, and what SDK 0.1.211 does with them (measured against this emulator; the matrix is
pinned in tests/test_emulator.py). "Retryable calls" are the listing, the label-row GET and the
v2 GETs; label-row creation (PUT) is sent with ``retryable=False``. Retries come from urllib3's
``Retry`` inside the SDK: ``status_forcelist=[413, 429, 500, 502, 503]``, at most
``RequestsSettings.max_retries`` re-sends, backoff ``backoff_factor * 2**(n-1)``, and for
413/429/503 it sleeps for ``Retry-After`` seconds when that header is present (so use
``retry_after=0`` in tests, or keep retries at 0).

``status``   HTTP ``status`` with a non-JSON body, plus ``Retry-After`` when ``retry_after`` is
             set. 413/429/500/502/503 are retried as above. Once retries run out (or with
             ``max_retries=0``): 429 -> ``RateLimitExceededError`` (``.retry_after`` = the header
             as int, else None); 413 -> ``PayloadTooLargeError``; any other status on v1 ->
             ``RequestException`` ("Error parsing JSON response", the body is not JSON), on v2
             -> ``UnknownException``. Other statuses (e.g. 504) are never retried.
``envelope`` v1 only: HTTP 200 with ``{"status": envelope_status, "response": [error]}``. Never
             retried; the SDK maps the code, e.g. ``RATE_LIMIT_ERROR`` ->
             ``RateLimitExceededError`` (retry_after None), ``UNKNOWN_ERROR`` -> ``UnknownException``.
``delay``    sleeps ``seconds``, then serves the request. Longer than
             ``RequestsSettings.read_timeout``: the client times out, urllib3 retries it as a read
             error, then ``RequestException`` ("Request session.send failed"). The late reply
             is logged with ``client_gone=True`` when the write fails (not guaranteed).
``drop``     closes the socket without a reply: retried as a read error; when retries run out,
             ``RequestException`` ("Request session.send failed").
``truncate`` serves the request but sends only the first ``keep`` bytes of the JSON body (with
             a matching Content-Length). Never retried: ``RequestException`` ("Error parsing JSON
             response"), on v1 and v2.
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
        if self.kind == "envelope" and api != "v1":
            return False
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
