"""Secrets out of messages: URL query strings (the signatures of signed links) and URL passwords.

Applied where text leaves the process or is stored: error reasons in sync_errors, run errors in
sync_runs, log lines and one-line CLI errors. The SSH key never enters a message to begin with.
"""

from __future__ import annotations

import re

# The query ends where the URL does: at white space, a quote or the end, less a colon, comma, full stop,
# semicolon or parenthesis just before it (the message's own: "…?<redacted>: cannot open").
_QUERY = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://[^\s?'\"]+)\?[^\s'\"]+?(?=[:,.;)]*(?:[\s'\"]|$))")
_PASSWORD = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@'\"]+):[^\s@/'\"]+@")


def redact(text: str) -> str:
    """`text` with URL query strings and URL passwords replaced."""
    return _PASSWORD.sub(r"\1:***@", _QUERY.sub(r"\1?<redacted>", text))
