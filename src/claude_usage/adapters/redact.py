"""Tokens out of everything we print: one-line errors, `--debug` tracebacks (chained causes included), logs.

Redacted: every token this process has read (the credentials adapter calls `remember`), the environment's
`CLAUDE_CODE_OAUTH_TOKEN` and `ANTHROPIC_API_KEY`, anything shaped like an Anthropic key or token
(`sk-ant-…`), and whatever follows `Bearer` (a reflected `Authorization` header). Light (re only).
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # not typing's: the status line path may import this module
if TYPE_CHECKING:
    from collections.abc import Mapping

REDACTED = "<redacted>"
_SHAPED = re.compile(r"sk-ant-[A-Za-z0-9_\-]+")
_BEARER = re.compile(r"(?i)(bearer)(\s+|\\x[0-9a-f]{2}|%20)+[^\s'\",)\]}]+")
_ENV_SECRETS = ("CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
_MIN_SECRET = 8  # shorter values are not redacted by value (they would blank out ordinary words)
_known: set[str] = set()


def remember(secret: str) -> None:
    """From now on, `secret` is redacted wherever it shows up in text this process prints."""
    if len(secret) >= _MIN_SECRET:
        _known.add(secret)


def redact(text: str, env: Mapping[str, str] | None = None) -> str:
    """`text` with every known token, bearer credential and `sk-ant-…` shape replaced by `<redacted>`."""
    secrets = set(_known)
    for name in _ENV_SECRETS:
        value = (env or {}).get(name, "").strip()
        if len(value) >= _MIN_SECRET:
            secrets.add(value)
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _SHAPED.sub(REDACTED, text)
    return _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
