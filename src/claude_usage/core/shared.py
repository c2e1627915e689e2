"""The machine-wide budget of one account, shared by every process through the store's document.

Light on purpose (datetime only): the status line reads it on every render. Times are aware UTC and are
stored as ISO-8601 text under the document's `budget` and `poller` keys (see core/observe.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from claude_usage.core.times import iso_or_none

DEFAULT_SPACING_S = 30.0
COOLDOWN_DEFAULT_S = 300.0
COOLDOWN_CAP_S = 3600.0
# A live dashboard that has polled within this many seconds past its interval is trusted to poll again.
POLLER_GRACE_S = 15.0

TYPE_CHECKING = False  # not typing's: this module is on the status line's path
if TYPE_CHECKING:
    from typing import Any


def cooldown_seconds(retry_after_s: float | None, repeats: int) -> float:
    """How long to leave the endpoint alone after the `repeats`-th 429 in a row (1 = the first)."""
    if retry_after_s is not None and retry_after_s > 0:
        return min(retry_after_s, COOLDOWN_CAP_S)
    return min(COOLDOWN_DEFAULT_S * 2.0 ** max(0, repeats - 1), COOLDOWN_CAP_S)


def _section(doc: dict[str, Any], name: str) -> dict[str, Any]:
    value = doc.get(name)
    return value if isinstance(value, dict) else {}


class SharedBudget:
    """The per-account budget every process reads and writes under the store's lock."""

    __slots__ = (
        "cooldown_until",
        "last_request_at",
        "poller_heartbeat_at",
        "poller_interval_s",
        "rate_limited_repeats",
        "refresh_spawned_at",
    )

    def __init__(self, doc: dict[str, Any]) -> None:
        budget = _section(doc, "budget")
        poller = _section(doc, "poller")
        repeats = budget.get("rate_limited_repeats")
        interval = poller.get("interval_s")
        self.last_request_at = iso_or_none(budget.get("last_request_at"))
        self.cooldown_until = iso_or_none(budget.get("cooldown_until"))
        self.rate_limited_repeats = repeats if isinstance(repeats, int) and not isinstance(repeats, bool) else 0
        self.refresh_spawned_at = iso_or_none(budget.get("refresh_spawned_at"))
        self.poller_interval_s: float | None = None
        if isinstance(interval, (int, float)) and not isinstance(interval, bool) and interval > 0:
            self.poller_interval_s = float(interval)
        self.poller_heartbeat_at = iso_or_none(poller.get("heartbeat_at"))

    def write(self, doc: dict[str, Any]) -> dict[str, Any]:
        """`doc` with this budget written in (a copy; the poller entry is left as it is)."""

        def iso(when: datetime | None) -> str | None:
            return when.isoformat() if when else None

        budget = {
            "last_request_at": iso(self.last_request_at),
            "cooldown_until": iso(self.cooldown_until),
            "rate_limited_repeats": self.rate_limited_repeats,
            "refresh_spawned_at": iso(self.refresh_spawned_at),
        }
        return {**doc, "budget": budget}

    def next_allowed(self, now: datetime, spacing_s: float) -> datetime | None:
        """When the next request for this account may go out; None means now."""
        earliest = now
        if self.cooldown_until is not None:
            earliest = max(earliest, self.cooldown_until)
        if self.last_request_at is not None:
            earliest = max(earliest, self.last_request_at + timedelta(seconds=spacing_s))
        return None if earliest <= now else earliest

    def cooling_down(self, now: datetime) -> bool:
        return self.cooldown_until is not None and now < self.cooldown_until

    def record_request(self, now: datetime) -> None:
        """A request goes out now (recorded before it is sent, so that others hold back)."""
        self.last_request_at = now

    def record_success(self) -> None:
        self.cooldown_until = None
        self.rate_limited_repeats = 0

    def record_rate_limit(self, now: datetime, retry_after_s: float | None) -> datetime:
        """Start (or extend) the shared cooldown; returns when it ends."""
        self.rate_limited_repeats += 1
        self.cooldown_until = now + timedelta(seconds=cooldown_seconds(retry_after_s, self.rate_limited_repeats))
        return self.cooldown_until

    def poller_alive(self, now: datetime) -> bool:
        """Whether a poller (a live dashboard) has kept its promise to poll lately: it keeps the store fresh."""
        if self.poller_interval_s is None or self.poller_heartbeat_at is None:
            return False
        return (now - self.poller_heartbeat_at).total_seconds() <= self.poller_interval_s + POLLER_GRACE_S

    def effective_max_age(self, max_age_s: float, now: datetime, *, is_poller: bool = False) -> float:
        """How old a reading may be before this reader asks: a live dashboard's cadence is trusted by others."""
        if is_poller or not self.poller_alive(now):
            return max_age_s  # none, or that dashboard is gone or stuck
        assert self.poller_interval_s is not None  # noqa: S101 - poller_alive() says so
        return max(max_age_s, self.poller_interval_s + POLLER_GRACE_S)


def with_poller(doc: dict[str, Any], *, pid: int, interval_s: float, now: datetime) -> dict[str, Any]:
    """`doc` with a live dashboard's promise to poll every `interval_s` seconds (a copy)."""
    return {**doc, "poller": {"pid": pid, "interval_s": interval_s, "heartbeat_at": now.isoformat()}}
