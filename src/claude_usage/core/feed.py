"""Claude Code's status-line feed (`rate_limits` on stdin): its guards.

Light on purpose (math, datetime; nothing that `json` does not already load): the status line runs this on
every render. Recording the feed in the account's document is core/document.py's `record_feed`.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from claude_usage.core.document import FEED_KEYS
from claude_usage.core.times import parse_time
from claude_usage.errors import BadReply

TYPE_CHECKING = False  # not typing's: this module is on the status line's path
if TYPE_CHECKING:
    pass

_FEED_MAX = 101.0  # above this a status-line value is the epoch glitch, not a percent
_RESET_SLACK = timedelta(minutes=10)


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
