"""The README's code blocks, and running its Python examples as a user would: a fresh interpreter in a
folder of their own that has the repository's examples/."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.+?)\n```", README, flags=re.S)


def run_python_example(code: str, tmp_path: Path, env: dict[str, str]) -> list[str]:
    """The example's printed lines; it fails the test with the example's stderr if the example fails."""
    folder = tmp_path / "user"
    folder.mkdir()
    (folder / "examples").symlink_to(ROOT / "examples")
    done = subprocess.run([sys.executable, "-c", code], cwd=folder, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()
