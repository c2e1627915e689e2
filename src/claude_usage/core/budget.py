"""The polling budget: (state, now) -> what to do next. Pure maths, no clock.

The endpoint is rate limited hard (see docs/api.md): a remote endpoint is asked at most every 10 s
(60 s by default in the dashboard); after a 429 everything cools down for Retry-After, else 5 minutes
doubling on repeats, capped at an hour.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from claude_usage.core.shared import COOLDOWN_CAP_S, COOLDOWN_DEFAULT_S, cooldown_seconds

__all__ = ["COOLDOWN_CAP_S", "COOLDOWN_DEFAULT_S", "PollState", "cooldown_seconds", "min_interval"]

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


@dataclass(frozen=True, slots=True)
class PollState:
    """What one poller remembers between polls. Times are aware UTC."""

    last_attempt: datetime | None = None
    next_due: datetime | None = None
    cooldown_until: datetime | None = None
    rate_limited_repeats: int = 0
    failures: int = 0

    def after_success(self, now: datetime, interval_s: float) -> PollState:
        return PollState(last_attempt=now, next_due=now + timedelta(seconds=interval_s))

    def after_failure(self, now: datetime, interval_s: float) -> PollState:
        failures = self.failures + 1
        wait = error_retry_seconds(failures, interval_s)
        return replace(self, last_attempt=now, next_due=now + timedelta(seconds=wait), failures=failures)

    def after_rate_limit(self, now: datetime, retry_after_s: float | None) -> PollState:
        repeats = self.rate_limited_repeats + 1
        until = now + timedelta(seconds=cooldown_seconds(retry_after_s, repeats))
        return replace(self, last_attempt=now, next_due=until, cooldown_until=until, rate_limited_repeats=repeats)

    def after_auth_wait(self, now: datetime, interval_s: float) -> PollState:
        """Credentials missing, expired or rejected: re-read the store soon (it costs no request)."""
        wait = min(interval_s, AUTH_RECHECK_S)
        return replace(self, last_attempt=now, next_due=now + timedelta(seconds=wait))

    def due(self, now: datetime) -> bool:
        return self.next_due is None or now >= self.next_due

    def cooling_down(self, now: datetime) -> bool:
        return self.cooldown_until is not None and now < self.cooldown_until

    def asked_now(self, now: datetime, min_spacing_s: float) -> PollState:
        """`r` pressed: poll now unless cooling down or the last attempt is closer than the spacing."""
        if self.cooling_down(now):
            return self
        earliest = now
        if self.last_attempt is not None:
            earliest = max(now, self.last_attempt + timedelta(seconds=min_spacing_s))
        return replace(self, next_due=min(earliest, self.next_due or earliest))
