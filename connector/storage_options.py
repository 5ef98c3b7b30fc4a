"""fsspec URLs on the command line: export files and ontologies to read, frames to write."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]+://")  # two letters at least: C:\ is a Windows drive, not a scheme


def is_url(path: str) -> bool:
    """Whether `path` is a URL for fsspec (s3://, gs://, https://, file://) rather than a local path."""
    return bool(_URL.match(str(path)))


CREDENTIALS_IN_URL = ("credentials do not go in the URL; give them with --storage-option key=... secret=... "
                      "or the AWS environment variables")


def has_credentials(url: str) -> bool:
    """Whether an object-store URL carries credentials (s3://KEY:SECRET@bucket), which its filesystem's
    errors would repeat, without the scheme that redact() knows them by."""
    parts = urlsplit(str(url))
    return parts.scheme in ("s3", "s3a", "gs", "gcs") and "@" in parts.netloc


def parse_storage_options(pairs) -> dict:
    """`key=value` strings (CLI --storage-option) to fsspec options; JSON values are decoded
    (`anon=true`, `client_kwargs={"region_name": "x"}`), anything else stays a string."""
    options = {}
    for number, pair in enumerate(pairs or (), 1):
        key, sep, value = pair.partition("=")
        if not sep or not key:  # not echoed: it may be a secret typed without its key
            raise ValueError(f"storage option {number} is not KEY=VALUE ({'no key' if sep else 'no ='})")
        try:
            options[key] = json.loads(value)
        except ValueError:
            options[key] = value
    return options
