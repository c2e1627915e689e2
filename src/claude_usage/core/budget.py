"""One process's polling maths: interval floors and back-off after failures. Pure, no clock.

The endpoint is rate limited hard (see docs/api.md): a remote endpoint is asked at most every 10 s
(60 s by default in the dashboard); after a 429 everything cools down for Retry-After, else 5 minutes
doubling on repeats, capped at an hour.
"""

from __future__ import annotations

from claude_usage.core.shared import COOLDOWN_CAP_S, COOLDOWN_DEFAULT_S, cooldown_seconds

__all__ = ["COOLDOWN_CAP_S", "COOLDOWN_DEFAULT_S", "cooldown_seconds", "error_retry_seconds", "min_interval"]

DEFAULT_INTERVAL_S = 60.0
MIN_INTERVAL_REMOTE_S = 10.0
MIN_INTERVAL_LOOPBACK_S = 1.0
# After a network error, 5xx or unreadable reply: retry sooner than the interval, doubling, never faster.
ERROR_RETRY_FIRST_S = 5.0
# While credentials are missing, expired or rejected: re-read the store this often (no request is sent).
AUTH_RECHECK_S = 5.0


def min_interval(loopback: bool) -> float:
    """The shortest polling interval allowed against this endpoint, in seconds."""
    return MIN_INTERVAL_LOOPBACK_S if loopback else MIN_INTERVAL_REMOTE_S


def error_retry_seconds(failures: int, interval_s: float) -> float:
    """Seconds before the next try after the `failures`-th transient failure in a row."""
    return min(interval_s, ERROR_RETRY_FIRST_S * 2.0 ** max(0, failures - 1))
