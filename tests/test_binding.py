"""What is blocking you, on every fixture and on hand-made cases."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from claude_usage.core.binding import binding, credits_state
from claude_usage.core.pace import Forecast
from claude_usage.core.wire import parse_usage
from tests.conftest import FIXTURE_NOW, load_fixture

NOW = FIXTURE_NOW
UTC = timezone.utc


def _forecast(exhausts_at: datetime | None) -> Forecast:
    return Forecast(exhausts_at=exhausts_at, before_reset=exhausts_at is not None, end_pct=None, method="test")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("max-typical", None),
        ("pro-fresh-window", None),
        ("yen-credits", None),
        ("enterprise-nulls", None),
        ("future-keys", None),
        (
            "over-limit-with-credit",
            (
                "seven_day_sonnet",
                "used up (100%); usage credit cap reached",
                datetime(2026, 11, 27, 9, 0, 0, 482311, UTC),
            ),
        ),
        ("limits-only", ("limits.weekly_all", "critical", datetime(2026, 11, 27, 9, 0, 0, 482311, UTC))),
    ],
)
def test_binding_on_every_fixture(name: str, expected: tuple[str, str, datetime] | None) -> None:
    """Used-up limits bind (the one freeing up last); without forecasts nothing else does."""
    found = binding(parse_usage(load_fixture(name)), {}, NOW)
    assert expected == (None if found is None else (found.key, found.reason, found.free_at))


def test_error_fixtures_have_nothing_to_bind() -> None:
    """The error bodies parse to no windows, so nothing binds."""
    for name in ("error-401-expired", "error-403-scope", "error-429"):
        assert binding(parse_usage(load_fixture(name)), {}, NOW) is None


def test_the_limit_forecast_to_run_out_first_binds_when_none_is_used_up() -> None:
    """With nothing used up, the earliest forecast exhaustion names the binding limit."""
    usage = parse_usage(load_fixture("max-typical"))
    forecasts = {
        "five_hour": _forecast(NOW + timedelta(hours=2)),
        "seven_day": _forecast(NOW + timedelta(hours=1)),
    }
    found = binding(usage, forecasts, NOW)
    assert found is not None
    assert ("seven_day", "forecast to run out first; usage credits on") == (found.key, found.reason)


def test_a_forecast_that_ends_after_the_reset_does_not_bind() -> None:
    """A window forecast to finish under 100 % is not blocking."""
    usage = parse_usage(load_fixture("max-typical"))
    assert binding(usage, {"five_hour": _forecast(None)}, NOW) is None


def test_credits_are_not_limits() -> None:
    """A used-up one-time credit does not bind."""
    usage = parse_usage({"cinder_cove": {"utilization": 100.0, "resets_at": "2026-12-31T00:00:00+00:00"}})
    assert binding(usage, {}, NOW) is None


def test_over_100_binds_and_frees_at_its_reset() -> None:
    """A window over 100 % is used up; its reset is when it frees up."""
    usage = parse_usage({"five_hour": {"utilization": 112.0, "resets_at": "2026-11-24T15:00:00+00:00"}})
    found = binding(usage, {}, NOW)
    assert found is not None
    assert ("used up (112%)", datetime(2026, 11, 24, 15, tzinfo=UTC)) == (found.reason, found.free_at)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"is_enabled": False}, "usage credits off"),
        ({"is_enabled": False, "disabled_reason": "out_of_credits"}, "usage credits off (out of credits)"),
        ({"is_enabled": True, "spend_limit_reached": True}, "usage credit cap reached"),
        (
            {"is_enabled": True, "disabled_reason": "org_spend_cap_reached"},
            "usage credits unavailable (org spend cap reached)",
        ),
        ({"is_enabled": True}, "usage credits on"),
    ],
)
def test_credits_state(extra: dict[str, object], expected: str) -> None:
    """The usage-credit state is said in words."""
    assert expected == credits_state(parse_usage({"extra_usage": extra}).extra_usage)


def test_an_unconfirmed_100_does_not_bind() -> None:
    """A status-line 100 % that no other source confirms is not reported as blocking."""
    usage = parse_usage({"five_hour": {"utilization": 100.0, "resets_at": "2026-11-24T15:00:00+00:00"}})
    unconfirmed = usage._replace(windows=tuple(w._replace(unconfirmed=True) for w in usage.windows))
    assert binding(unconfirmed, {}, NOW) is None
