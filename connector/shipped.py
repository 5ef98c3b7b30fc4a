"""Where the files the package ships beside its code are: the migrations and the views' SQL.

In a source checkout (and an editable install) they are the folders beside connector/; an installed
wheel carries them inside the package, as connector/_migrations and connector/_sql (pyproject.toml).
The wheel's copy is looked for first: site-packages may hold another project's `migrations`.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _shipped(name: str) -> Path:
    installed = _PACKAGE / f"_{name}"
    return installed if installed.is_dir() else _PACKAGE.parent / name


MIGRATIONS_DIR = _shipped("migrations")
SQL_DIR = _shipped("sql")
