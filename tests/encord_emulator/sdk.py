"""A real ``EncordUserClient`` pointed at an emulator. Only this module imports the SDK."""

from __future__ import annotations

from typing import Any

from encord.http.constants import RequestsSettings
from encord.user_client import EncordUserClient

from .keys import SshKey

TEST_SETTINGS = {"max_retries": 0, "backoff_factor": 0.01, "connection_retries": 0,
                 "connect_timeout": 5, "read_timeout": 10, "write_timeout": 10}


def make_client(domain: str, key: SshKey, **requests_settings: Any) -> EncordUserClient:
    """``requests_settings`` override the test defaults above (no retries, short timeouts)."""
    settings = RequestsSettings(**{**TEST_SETTINGS, **requests_settings})
    return EncordUserClient.create_with_ssh_private_key(
        key.private_key_text, domain=domain, requests_settings=settings)
