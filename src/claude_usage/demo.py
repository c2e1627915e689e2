"""`--demo`: a simulated account served by the stand-in over real HTTP, so the app runs its production path.

The numbers climb slowly from the moment the demo starts (about 1 point a minute for the session), so a
watcher sees bars, percents and countdowns move. The resets sit on fixed grids of UTC time (the session
on every fifth hour since the epoch, the weeks on Thursdays 00:00 UTC, a week after the epoch's), so
every launch in the same window reports the same reset: the demo's history (account `demo`) keeps one
row per window instead of starting a new window at each launch.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from claude_usage.adapters.credentials import Credentials, Secret
from claude_usage.standin import Reply, Request

if TYPE_CHECKING:
    from claude_usage.clock import Clock

DEMO_TOKEN = "demo-not-a-real-token"  # noqa: S105 - the stand-in's own password, not a secret
DEMO_PLAN = "Max 5x"
SESSION = timedelta(hours=5)
WEEK = timedelta(days=7)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def next_boundary(now: datetime, period: timedelta) -> datetime:
    """The first multiple of `period` after the UTC epoch that lies strictly after `now` (aware, UTC)."""
    passed = (now - _EPOCH) // period
    return _EPOCH + (passed + 1) * period


class SimulatedAccount:
    """A Max 5x account mid-session, answering like the usage endpoint."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._started = clock.monotonic()

    @property
    def session_resets_at(self) -> datetime:
        """The end of the current five-hour window on the epoch's grid: the same for every launch within it."""
        return next_boundary(self.clock.now(), SESSION)

    @property
    def week_resets_at(self) -> datetime:
        """The end of the current week on the epoch's grid (Thursday 00:00 UTC)."""
        return next_boundary(self.clock.now(), WEEK)

    def __call__(self, request: Request) -> Reply:
        if request.headers.get("authorization") != f"Bearer {DEMO_TOKEN}":
            return Reply(401, {"type": "error", "error": {"type": "authentication_error", "message": "bad token"}})
        minutes = (self.clock.monotonic() - self._started) / 60
        wiggle = math.sin(minutes * 3) * 0.6
        session_resets_at, week_resets_at = self.session_resets_at, self.week_resets_at

        def window(value: float, resets_at: object) -> dict[str, object]:
            return {"utilization": round(min(value, 100.0), 1), "resets_at": resets_at}

        return Reply(
            200,
            {
                "five_hour": window(57.0 + minutes * 1.1 + wiggle, session_resets_at.isoformat()),
                "seven_day": window(34.0 + minutes * 0.2, week_resets_at.isoformat()),
                "seven_day_sonnet": window(12.0 + minutes * 0.1, week_resets_at.isoformat()),
                "seven_day_opus": None,
                "seven_day_oauth_apps": None,
                "extra_usage": {
                    "is_enabled": True,
                    "monthly_limit": 5000,
                    "used_credits": 1234 + int(minutes * 15),
                    "utilization": round((1234 + minutes * 15) / 50, 2),
                    "currency": "USD",
                },
                "limits": [],
            },
        )


class DemoCredentials:
    """The demo account's login: a fixed stand-in token that only the stand-in accepts."""

    def read(self, *, skip_env_token: bool = False, skip_reason: str | None = None) -> Credentials:
        return Credentials(
            token=Secret(DEMO_TOKEN),
            expires_at=None,
            scopes=("user:profile",),
            plan=DEMO_PLAN,
            source="the demo account",
            account_id="demo",
        )

    def reject(self, fingerprint: str) -> None:
        """Nothing is cached."""


def demo_credentials() -> DemoCredentials:
    return DemoCredentials()
