"""The demo's simulated account: resets on fixed grids, so every launch within a window reports the same one."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from claude_usage.demo import DEMO_TOKEN, SimulatedAccount
from claude_usage.standin import Request
from tests.support.fakes import FakeClock

UTC = timezone.utc
LAUNCH = datetime(2026, 11, 24, 12, 49, tzinfo=UTC)


def reply(clock: FakeClock) -> dict[str, Any]:
    """What a freshly launched demo answers at the clock's time."""
    answer = SimulatedAccount(clock)(Request("GET", "/api/oauth/usage", {"authorization": f"Bearer {DEMO_TOKEN}"}))
    assert 200 == answer.status
    body: dict[str, Any] = answer.body
    return body


def resets(body: dict[str, Any]) -> tuple[str, ...]:
    """The session's, the week's and the Sonnet week's reset, as the reply has them."""
    return tuple(body[key]["resets_at"] for key in ("five_hour", "seven_day", "seven_day_sonnet"))


def test_two_launches_in_one_window_report_the_same_resets() -> None:
    """Demos launched at 12:49 and at 15:30 report the same session and week resets."""
    assert resets(reply(FakeClock(LAUNCH))) == resets(reply(FakeClock(LAUNCH + timedelta(hours=2, minutes=41))))


def test_the_session_resets_on_the_five_hour_grid_and_the_week_on_thursdays() -> None:
    """At 12:49 UTC the session resets at 16:00 (every fifth hour since the epoch), the weeks on Thursday 00:00."""
    expected = ("2026-11-24T16:00:00+00:00", "2026-11-26T00:00:00+00:00", "2026-11-26T00:00:00+00:00")
    assert expected == resets(reply(FakeClock(LAUNCH)))


def test_a_running_demo_moves_to_the_next_window_once_its_reset_passes() -> None:
    """A demo still running after its session reset reports the next one, five hours later."""
    clock = FakeClock(LAUNCH)
    account = SimulatedAccount(clock)
    clock.advance(4 * 3600)
    body = account(Request("GET", "/api/oauth/usage", {"authorization": f"Bearer {DEMO_TOKEN}"})).body
    assert "2026-11-24T21:00:00+00:00" == body["five_hour"]["resets_at"]
