"""Claude Code's status-line feed (`rate_limits` on stdin): its guards, and recording it in the store.

Light on purpose (math, datetime; nothing that `json` does not already load): the status line runs this on
every render. See core/observe.py for the document it writes into.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from claude_usage.core.times import FIVE_HOURS, SEVEN_DAYS, parse_time
from claude_usage.errors import BadReply

TYPE_CHECKING = False  # not typing's: this module is on the status line's path
if TYPE_CHECKING:
    from typing import Any

SCHEMA = 1
FEED_KEYS = {"five_hour": FIVE_HOURS, "seven_day": SEVEN_DAYS}
_FEED_MAX = 101.0  # above this a status-line value is the epoch glitch, not a percent
_RESET_SLACK = timedelta(minutes=10)
# Status-line values replaced before a history writer came by (the status line never opens SQLite).
PENDING_CAP = 500


def sanitize_feed(rate_limits: object, now: datetime) -> dict[str, tuple[float, datetime]]:
    """`{key: (percent, resets_at)}` from the status line's `rate_limits`, with the glitches dropped.

    Dropped: values that are not numbers, negative or over 101 (the epoch-for-percent glitch), resets that
    are not in the future or further ahead than the window is long. 100-101 is clamped to 100.
    """
    if not isinstance(rate_limits, dict):
        return {}
    feed: dict[str, tuple[float, datetime]] = {}
    for key, period in FEED_KEYS.items():
        entry = rate_limits.get(key)
        if not isinstance(entry, dict):
            continue
        value = entry.get("used_percentage")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        if value < 0 or value > _FEED_MAX:
            continue
        try:
            resets_at = parse_time(entry.get("resets_at"), f"rate_limits.{key}.resets_at")
        except BadReply:
            continue
        if resets_at is None or resets_at <= now or resets_at > now + period + _RESET_SLACK:
            continue
        feed[key] = (min(float(value), 100.0), resets_at)
    return feed


def record_feed(doc: dict[str, Any], feed: dict[str, tuple[float, datetime]], now: datetime) -> dict[str, Any]:
    """The document with the status line's numbers recorded (a copy; `doc` is not changed)."""
    sources = doc.get("sources")
    sources = dict(sources) if isinstance(sources, dict) else {}
    previous = sources.get("statusline")
    held = previous.get("windows") if isinstance(previous, dict) else None
    windows = dict(held) if isinstance(held, dict) else {}
    pending = doc.get("pending")
    pending = list(pending) if isinstance(pending, list) else []
    for key, (value, resets_at) in feed.items():
        reset = resets_at.isoformat()
        old = windows.get(key)
        first_seen = now.isoformat()
        if isinstance(old, dict):
            if old.get("utilization") == value and old.get("resets_at") == reset:
                first_seen = old.get("first_seen_at") or old.get("observed_at") or first_seen
            elif "observed_at" in old:
                pending.append({"key": key, **old})  # the value it replaces, for the history
        windows[key] = {
            "utilization": value,
            "resets_at": reset,
            "first_seen_at": first_seen,
            "observed_at": now.isoformat(),
        }
    sources["statusline"] = {"windows": windows}
    updated = {**doc, "schema": SCHEMA, "sources": sources}
    if pending:
        updated["pending"] = pending[-PENDING_CAP:]
    return updated


def take_pending(doc: dict[str, Any]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """`(doc without its pending history, the pending entries)`; `(None, [])` when there are none."""
    pending = doc.get("pending")
    if not isinstance(pending, list) or not pending:
        return None, []
    rest = {k: v for k, v in doc.items() if k != "pending"}
    return rest, [entry for entry in pending if isinstance(entry, dict)]
