"""Pytest fixtures; import them into a test module (``from tests.encord_emulator.fixtures import *``)."""

from __future__ import annotations

from typing import Iterator

import pytest

from .keys import SshKey
from .server import EncordEmulator


@pytest.fixture
def encord_emulator() -> Iterator[EncordEmulator]:
    """A started emulator with no projects, stopped after the test."""
    with EncordEmulator() as emulator:
        yield emulator


@pytest.fixture
def encord_key(encord_emulator: EncordEmulator, tmp_path) -> SshKey:
    """A registered key; the private key is also written to ``tmp_path / "encord_key"``."""
    return encord_emulator.new_key(tmp_path / "encord_key")


@pytest.fixture
def encord_client(encord_emulator: EncordEmulator, encord_key: SshKey):
    """A real ``EncordUserClient`` on the emulator, without retries."""
    return encord_emulator.client(encord_key)


__all__ = ["encord_emulator", "encord_key", "encord_client"]
