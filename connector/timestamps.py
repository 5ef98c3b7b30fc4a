"""Encord's three timestamp formats, parsed to naive UTC datetimes."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache

_RFC_1123 = "%a, %d %b %Y %H:%M:%S"


@lru_cache(maxsize=65536)
def parse_timestamp(text: str) -> datetime:
    """'Thu, 09 Feb 2023 14:12:03 UTC' (or +0100) / '2023-09-05 13:31:24' / ISO 8601; no zone means UTC.

    Raises ValueError for anything else.
    """
    text = text.strip()
    parsed = _parse_rfc_1123(text) or datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


def _parse_rfc_1123(text: str) -> datetime | None:
    if "," not in text[:5]:
        return None
    body, _, zone = text.rpartition(" ")
    if zone in ("UTC", "GMT"):
        return datetime.strptime(body, _RFC_1123)
    if len(zone) == 5 and zone[0] in "+-" and zone[1:].isdigit():  # RFC 2822's numeric zone, as the SDK reads it
        return datetime.strptime(text, f"{_RFC_1123} %z")
    return datetime.strptime(text, _RFC_1123)
