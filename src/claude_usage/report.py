"""One-shot output as JSON: the documented, stable `--json` schema (keys are only ever added).

```
{"fetched_at": ISO-8601, "source": "api" | "demo", "plan": str | null,
 "windows": [{"key", "label", "utilization", "resets_at", "resets_in_seconds", "source", "observed_at"}],
 "extra_usage": <object as received> | null, "raw": <the reply as received>}
```
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from claude_usage.core.fmt import seconds_until

if TYPE_CHECKING:
    from datetime import datetime

    from claude_usage.core.model import Reading, Window


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()


def window_json(window: Window, now: datetime) -> dict[str, Any]:
    """One window as the schema has it."""
    return {
        "key": window.key,
        "label": window.label,
        "utilization": window.utilization,
        "resets_at": _iso(window.resets_at),
        "resets_in_seconds": None if window.resets_at is None else seconds_until(window.resets_at, now),
        "source": window.source,
        "observed_at": _iso(window.observed_at),
    }


def reading_json(reading: Reading, now: datetime) -> dict[str, Any]:
    """The whole `--json` document for one reading."""
    extra = reading.raw.get("extra_usage")
    return {
        "fetched_at": _iso(reading.fetched_at),
        "source": reading.source,
        "plan": reading.plan,
        "windows": [window_json(w, now) for w in reading.usage.windows],
        "extra_usage": extra if isinstance(extra, dict) else None,
        "raw": reading.raw,
    }


def dumps(document: dict[str, Any]) -> str:
    """Pretty, stable JSON text (non-ASCII kept as is)."""
    return json.dumps(document, indent=2, ensure_ascii=False)
