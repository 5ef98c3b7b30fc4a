"""JSON for other programs: NaN and infinities (which a label row may hold, and the warehouse keeps)
are written as null, as JavaScript's JSON.stringify does; Python's own `NaN`/`Infinity` tokens are
not JSON and strict parsers refuse them."""

from __future__ import annotations

import json
import math


def _finite(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def strict_dumps(value, **options) -> str:
    """json.dumps with every non-finite float as null."""
    return json.dumps(_finite(value), allow_nan=False, **options)
