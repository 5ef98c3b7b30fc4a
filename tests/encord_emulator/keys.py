"""SSH keys for the emulator, and verification of the two signature schemes the SDK uses.

v1 (``POST /public``): ``Authorization: <public key hex>:<hex ed25519 signature of sha256(body)>``
(``encord.configs.SshConfig._get_v1_signature``).

v2 (``/v2/public/...``): RFC 9421 draft signatures (``encord.http.v2.request_signer``)::

    Content-Digest: sha-256=:<base64 sha256(body)>:
    Signature-Input: encord-sig=("@method" "@request-target" "content-digest");created=<int>;keyid="<hex>";alg="ed25519"
    Signature: encord-sig=:<base64 signature>:

where the signed text is the lines ``"@method": GET``, ``"@request-target": <path?query>``,
``"content-digest": <header>``, ``"@signature-params": <Signature-Input value after the label>``
joined by newlines.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Union

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

SIGNATURE_LABEL = "encord-sig"


@dataclass(frozen=True)
class SshKey:
    private_key_text: str
    """OpenSSH private key text, what ``EncordUserClient.create_with_ssh_private_key`` accepts."""
    public_key_hex: str
    """Raw ed25519 public key as hex: the key id the SDK sends."""

    def write(self, path: Union[str, Path]) -> Path:
        path = Path(path)
        path.write_text(self.private_key_text, encoding="ascii")
        path.chmod(0o600)
        return path


def generate_ssh_key(path: Union[str, Path, None] = None) -> SshKey:
    """A fresh ed25519 key; written to ``path`` (mode 600) when given."""
    private = Ed25519PrivateKey.generate()
    text = private.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption()).decode("ascii")
    public_hex = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    key = SshKey(text, public_hex)
    if path is not None:
        key.write(path)
    return key


class AuthFailure(Exception):
    """``reason`` is ``unknown_key`` or ``bad_signature`` (or ``missing``)."""

    def __init__(self, reason: str, public_key_hex: Optional[str] = None):
        super().__init__(reason)
        self.reason = reason
        self.public_key_hex = public_key_hex


def _public_key(public_hex: str, known: Mapping[str, object]) -> Ed25519PublicKey:
    if public_hex not in known:
        raise AuthFailure("unknown_key", public_hex)
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))


def verify_v1(authorization: Optional[str], body: bytes, known: Mapping[str, object]) -> str:
    """Returns the public key hex of a valid v1 request, else raises AuthFailure."""
    if not authorization or ":" not in authorization:
        raise AuthFailure("missing")
    public_hex, signature_hex = authorization.split(":", 1)
    try:
        signature = bytes.fromhex(signature_hex)
    except ValueError:
        raise AuthFailure("bad_signature", public_hex) from None
    key = _public_key(public_hex, known)
    try:
        key.verify(signature, hashlib.sha256(body).digest())
    except InvalidSignature:
        raise AuthFailure("bad_signature", public_hex) from None
    return public_hex


_SFV_BYTES = re.compile(r"^([A-Za-z0-9_.*-]+)=:([A-Za-z0-9+/=]*):$")


def _sfv_bytes(header: Optional[str], label: str) -> bytes:
    match = _SFV_BYTES.match((header or "").strip())
    if not match or match.group(1) != label:
        raise AuthFailure("missing")
    return base64.b64decode(match.group(2))


def verify_v2(method: str, request_target: str, headers: Mapping[str, str], body: bytes, known: Mapping[str, object]) -> str:
    """Returns the public key hex of a valid v2 request, else raises AuthFailure."""
    digest_header = headers.get("Content-Digest")
    signature_input = headers.get("Signature-Input") or ""
    if not digest_header or not signature_input.startswith(SIGNATURE_LABEL + "="):
        raise AuthFailure("missing")
    params = signature_input[len(SIGNATURE_LABEL) + 1 :]
    keyid = re.search(r';keyid="([0-9a-fA-F]+)"', params)
    covered = re.match(r"^\(([^)]*)\)", params)
    if not keyid or not covered:
        raise AuthFailure("missing")
    public_hex = keyid.group(1)
    if _sfv_bytes(digest_header, "sha-256") != hashlib.sha256(body).digest():
        raise AuthFailure("bad_signature", public_hex)
    values = {"@method": method.upper(), "@request-target": request_target, "content-digest": digest_header}
    lines = []
    for element in re.findall(r'"([^"]+)"', covered.group(1)):
        if element not in values:
            raise AuthFailure("bad_signature", public_hex)
        lines.append(f'"{element}": {values[element]}')
    lines.append(f'"@signature-params": {params}')
    signature = _sfv_bytes(headers.get("Signature"), SIGNATURE_LABEL)
    key = _public_key(public_hex, known)
    try:
        key.verify(signature, "\n".join(lines).encode())
    except InvalidSignature:
        raise AuthFailure("bad_signature", public_hex) from None
    return public_hex
