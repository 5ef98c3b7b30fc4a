"""HTTP plumbing: parse, log, inject faults, authenticate, dispatch, reply."""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

from .api import Unknown, handle_v1, handle_v2
from .faults import Fault
from .keys import AuthFailure, verify_v1, verify_v2
from .log import RecordedRequest
from .state import ApiError

if TYPE_CHECKING:
    from .server import EncordEmulator

V1_PATHS = ("/public", "/public/user")
V2_PREFIX = "/v2/public/"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    emulator: "EncordEmulator"  # set on the subclass the emulator creates

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr logging
        pass

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    # -- steps ----------------------------------------------------------------------------
    def _serve(self) -> None:
        emu = self.emulator
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        route = self.path.split("?", 1)[0]
        api = "v1" if route in V1_PATHS else "v2" if route.startswith(V2_PREFIX) else "other"
        entry = emu.log.new(self.command, self.path, api)
        entry.body = _json_or_none(body)
        if api == "v1" and isinstance(entry.body, dict):
            values = entry.body.get("values") or {}
            entry.query_type, entry.query_method = entry.body.get("query_type"), entry.body.get("query_method")
            entry.uid, entry.payload = values.get("uid"), values.get("payload")
            entry.resource_type, entry.resource_id = self.headers.get("ResourceType"), self.headers.get("ResourceID")
        elif api == "v2":
            entry.payload = entry.body

        fault = emu.faults.take(api, self.path, self.command, entry.query_type, entry.query_method)
        if fault is not None:
            entry.fault = fault.kind
            if fault.kind == "delay":
                time.sleep(fault.seconds)
            elif fault.kind != "truncate":
                return self._reply_fault(entry, fault)

        status, payload = self._answer(entry, body)
        entry.response = payload
        raw = json.dumps(payload).encode() if payload is not None else b""
        if fault is not None and fault.kind == "truncate":
            raw = raw[: fault.keep]
        self._send(entry, status, raw, "application/json")

    def _answer(self, entry: RecordedRequest, body: bytes) -> Tuple[int, Any]:
        emu = self.emulator
        try:
            if entry.api == "v1":
                entry.public_key_hex = verify_v1(self.headers.get("Authorization"), body, emu.keys)
                if entry.resource_type == "project" and not emu.key_allows(entry.public_key_hex, entry.resource_id):
                    raise ApiError("AUTHORISATION_ERROR", 403)
                response = handle_v1(emu.store, entry, emu.options)
                entry.api_status = 200
                return 200, {"status": 200, "response": response}
            if entry.api == "v2":
                entry.public_key_hex = verify_v2(self.command, self.path, self.headers, body, emu.keys)
                parts = [p for p in self.path.split("?", 1)[0][len(V2_PREFIX):].split("/") if p]
                return handle_v2(emu.store, self.command, parts, lambda h: emu.key_allows(entry.public_key_hex, h))
            raise Unknown(self.path)
        except AuthFailure as failure:
            entry.public_key_hex = failure.public_key_hex
            entry.error = f"AUTHENTICATION_ERROR ({failure.reason})"
            return self._error(entry, "AUTHENTICATION_ERROR", 401, "You are not authenticated.")
        except ApiError as err:
            entry.error = err.code
            return self._error(entry, err.code, err.status, err.payload)
        except Unknown as unknown:
            entry.unknown, entry.error = True, f"emulator has no handler for {unknown}"
            return self._error(entry, "RESOURCE_NOT_FOUND_ERROR", 404, entry.error)

    def _error(self, entry: RecordedRequest, code: str, status: int, payload: Any) -> Tuple[int, Dict[str, Any]]:
        if entry.api == "v1":
            entry.api_status = status
            return 200, {"status": status, "response": [code], "payload": payload}
        return status, {"message": payload if isinstance(payload, str) else code}

    def _reply_fault(self, entry: RecordedRequest, fault: Fault) -> None:
        if fault.kind == "drop":
            self.close_connection = True  # the socket is closed with nothing written
            return
        if fault.kind == "envelope":
            entry.api_status, entry.error = fault.envelope_status, fault.error
            raw = json.dumps({"status": fault.envelope_status, "response": [fault.error]}).encode()
            return self._send(entry, 200, raw, "application/json")
        extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        self._send(entry, fault.status, f"emulated HTTP {fault.status}".encode(), "text/plain", extra)

    def _send(self, entry: RecordedRequest, status: int, raw: bytes, content_type: str,
              extra: Optional[Dict[str, str]] = None) -> None:
        entry.http_status = status
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(raw)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up first (read timeout shorter than an injected delay).
            entry.client_gone = True
            self.close_connection = True


def _json_or_none(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None
