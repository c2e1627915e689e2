"""`--demo`: a simulated account served by the stand-in over real HTTP, so the app runs its production path.

The numbers climb slowly from the moment the demo starts (about 1 point a minute for the session), so a
watcher sees bars, percents and countdowns move.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import TYPE_CHECKING

from claude_usage.adapters.credentials import Credentials, Secret
from claude_usage.standin import Reply, Request

if TYPE_CHECKING:
    from claude_usage.clock import Clock

DEMO_TOKEN = "demo-not-a-real-token"  # noqa: S105 - the stand-in's own password, not a secret
DEMO_PLAN = "Max 5x"


class SimulatedAccount:
    """A Max 5x account mid-session, answering like the usage endpoint."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        now = clock.now().replace(second=0, microsecond=0)
        self._started = clock.monotonic()
        self.session_resets_at = now + timedelta(hours=2, minutes=11)
        self.week_resets_at = (now + timedelta(days=2, hours=21)).replace(minute=0)

    def __call__(self, request: Request) -> Reply:
        if request.headers.get("authorization") != f"Bearer {DEMO_TOKEN}":
            return Reply(401, {"type": "error", "error": {"type": "authentication_error", "message": "bad token"}})
        minutes = (self.clock.monotonic() - self._started) / 60
        wiggle = math.sin(minutes * 3) * 0.6

        def window(value: float, resets_at: object) -> dict[str, object]:
            return {"utilization": round(min(value, 100.0), 1), "resets_at": resets_at}

        return Reply(
            200,
            {
                "five_hour": window(57.0 + minutes * 1.1 + wiggle, self.session_resets_at.isoformat()),
                "seven_day": window(34.0 + minutes * 0.2, self.week_resets_at.isoformat()),
                "seven_day_sonnet": window(12.0 + minutes * 0.1, self.week_resets_at.isoformat()),
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
