"""Pace and forecast on hand-made trajectories with known answers, with plain datetimes (no clock)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claude_usage.core.model import Window
from claude_usage.core.pace import (
    NO_FORECAST,
    Forecast,
    Pace,
    Sample,
    forecast,
    lookback,
    pace,
)
from claude_usage.core.times import FIVE_HOURS, SEVEN_DAYS

UTC = timezone.utc
CET = timezone(timedelta(hours=1))  # a fixed local zone, one hour ahead of UTC
START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday; the 5-hour window runs 12:00-17:00
RESET = START + FIVE_HOURS
WEEK_START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # the 7-day window runs Monday to Monday
WEEK_RESET = WEEK_START + SEVEN_DAYS
METHOD_5H = "recent-rate/clipped-mean/90m"


def minute(m: float) -> datetime:
    return START + timedelta(minutes=m)


def hour(h: float) -> datetime:
    return WEEK_START + timedelta(hours=h)


def five_hour(
    utilization: float = 0.0,
    *,
    resets_at: datetime | None = RESET,
    period: timedelta | None = FIVE_HOURS,
    reset_passed: bool = False,
    observed_at: datetime | None = None,
) -> Window:
    return Window(
        key="five_hour",
        label="Current session",
        utilization=utilization,
        resets_at=resets_at,
        period=period,
        reset_passed=reset_passed,
        observed_at=observed_at,
    )


def seven_day(utilization: float = 0.0) -> Window:
    return Window(
        key="seven_day", label="Current week", utilization=utilization, resets_at=WEEK_RESET, period=SEVEN_DAYS
    )


def trace(first: int, last: int, pct: Callable[[int], float]) -> list[Sample]:
    """One sample a minute of the 5-hour window, from minute `first` to `last` inclusive."""
    return [Sample(minute(m), pct(m)) for m in range(first, last + 1)]


def weekly_trace(hours: int, per_hour: float) -> list[Sample]:
    """A sample every 5 minutes of the 7-day window for `hours` hours, rising `per_hour` points an hour."""
    return [Sample(WEEK_START + timedelta(minutes=5 * i), per_hour * i / 12) for i in range(hours * 12 + 1)]


def pace_an_hour_in(utilization: float, *, tolerance_pct: float = 5.0) -> Pace:
    """The pace one hour (a fifth) into the 5-hour window."""
    result = pace(five_hour(utilization), minute(60), tolerance_pct=tolerance_pct)
    assert result is not None
    return result


# Pace ---------------------------------------------------------------------------------------------


def test_pace_a_fifth_through_with_32_used_is_12_points_ahead() -> None:
    """One hour into five with 32 % used is 12 points ahead of pace."""
    assert Pace(elapsed_pct=20.0, delta_pct=12.0, label="ahead") == pace(five_hour(32.0), minute(60))


def test_pace_ahead_text() -> None:
    """Ahead of pace reads as whole points."""
    assert "12 points ahead of pace" == Pace(20.0, 12.0, "ahead").text()


def test_pace_under_text() -> None:
    """Under pace reads as whole points under."""
    assert "8 points under pace" == pace_an_hour_in(12.0).text()


def test_pace_on_pace_text() -> None:
    """Within the tolerance it is simply on pace."""
    assert "on pace" == pace_an_hour_in(23.0).text()


def test_pace_one_point_is_singular() -> None:
    """A delta that rounds to one point says "point"."""
    assert "1 point ahead of pace" == Pace(50.0, 1.4, "ahead").text()


@pytest.mark.parametrize(
    ("utilization", "label"),
    [(25.0, "on_pace"), (15.0, "on_pace"), (25.5, "ahead"), (14.5, "under"), (20.0, "on_pace")],
)
def test_pace_label_boundaries(utilization: float, label: str) -> None:
    """Exactly ±5 points from pace is still on pace; beyond it is ahead or under."""
    assert label == pace_an_hour_in(utilization).label


def test_pace_tolerance_is_configurable() -> None:
    """A tighter tolerance turns 4 points into "ahead"."""
    assert "4 points ahead of pace" == pace_an_hour_in(24.0, tolerance_pct=2.0).text()


def test_pace_of_a_week() -> None:
    """Half way through a 7-day window with 40 % used is 10 points under pace."""
    assert Pace(50.0, -10.0, "under") == pace(seven_day(40.0), hour(84))


def test_pace_at_the_reset_is_fully_elapsed() -> None:
    """At the reset instant the whole window has elapsed."""
    assert Pace(100.0, 0.0, "on_pace") == pace(five_hour(100.0), RESET)


@pytest.mark.parametrize(
    ("window", "now"),
    [
        (five_hour(30.0, period=None), minute(60)),
        (five_hour(30.0, resets_at=None), minute(60)),
        (five_hour(30.0, reset_passed=True), minute(60)),
        (five_hour(30.0), minute(-1)),
        (five_hour(30.0), minute(301)),
    ],
    ids=["no-period", "no-reset", "reset-passed", "before-start", "after-reset"],
)
def test_no_pace(window: Window, now: datetime) -> None:
    """No pace without a period or reset, once the reset has passed, or outside the window."""
    assert pace(window, now) is None


# Forecast: known answers ------------------------------------------------------------------------


def test_linear_usage_gives_the_exact_exhaustion_time() -> None:
    """Half a point a minute from 0 reaches 100 % at minute 200, 100 minutes before the reset."""
    result = forecast(trace(0, 100, lambda m: 0.5 * m), five_hour(50.0), minute(100))
    assert (minute(200), True, METHOD_5H) == (result.exhausts_at, result.before_reset, result.method)
    assert 150.0 == pytest.approx(result.end_pct)


def test_slow_usage_ends_below_the_limit() -> None:
    """A tenth of a point a minute from 20 % ends at 50 % at the reset, with no exhaustion time."""
    result = forecast(trace(0, 100, lambda m: 20 + 0.1 * m), five_hour(30.0), minute(100))
    assert (None, False) == (result.exhausts_at, result.before_reset)
    assert 50.0 == pytest.approx(result.end_pct)


def test_flat_usage_ends_at_the_current_value() -> None:
    """Two flat hours at 40 % project 40 % at the reset."""
    assert Forecast(None, False, 40.0, METHOD_5H, RESET) == forecast(
        trace(0, 120, lambda m: 40.0), five_hour(40.0), minute(120)
    )


def test_the_post_reset_glitch_is_ignored() -> None:
    """Readings that still show the old window's 87 % right after the reset change nothing."""
    clean = trace(0, 40, lambda m: 0.5 * m)
    glitched = [Sample(minute(m), 87.0) for m in range(3)] + clean[3:]
    result = forecast(glitched, five_hour(20.0), minute(40))
    assert forecast(clean, five_hour(20.0), minute(40)) == result
    assert minute(200) == result.exhausts_at


def test_a_spurious_low_reading_keeps_the_history() -> None:
    """One reading of 0 in the middle of steady use shifts the forecast by about a minute, no more."""
    samples = trace(0, 100, lambda m: 0.0 if m == 50 else 0.5 * m)
    result = forecast(samples, five_hour(50.0), minute(100))
    assert result.exhausts_at is not None
    assert abs(result.exhausts_at - minute(200)) < timedelta(minutes=2)


def test_samples_from_the_previous_window_are_ignored() -> None:
    """Samples from before the window started play no part."""
    previous = [Sample(START - timedelta(minutes=m), 95.0) for m in range(1, 60)]
    samples = trace(0, 100, lambda m: 0.5 * m)
    assert forecast(samples, five_hour(50.0), minute(100)) == forecast(previous + samples, five_hour(50.0), minute(100))


def test_samples_in_any_order() -> None:
    """The order of the samples does not matter."""
    samples = trace(0, 100, lambda m: 0.5 * m)
    assert forecast(samples, five_hour(50.0), minute(100)) == forecast(samples[::-1], five_hour(50.0), minute(100))


def test_the_windows_own_reading_joins_the_samples() -> None:
    """The window's observed reading counts as the latest sample."""
    samples = trace(0, 100, lambda m: 0.5 * m)
    window = five_hour(50.0, observed_at=minute(100))
    assert forecast(samples, five_hour(50.0), minute(100)) == forecast(samples[:-1], window, minute(100))


def _idle_then_steady(with_samples_while_idle: bool) -> list[Sample]:
    """0.5/min for 20 min, idle at 10 % until minute 150, then 0.4/min: 50 % at minute 250."""
    idle = trace(21, 149, lambda m: 10.0) if with_samples_while_idle else []
    return [*trace(0, 20, lambda m: 0.5 * m), *idle, *trace(150, 250, lambda m: 10 + 0.4 * (m - 150))]


@pytest.mark.parametrize("with_samples_while_idle", [True, False], ids=["flat", "no-samples"])
def test_after_an_idle_gap_the_recent_rate_counts(with_samples_while_idle: bool) -> None:
    """After a long idle stretch, 0.4/min for the last 100 minutes projects 70 %, not the 60 % of the average."""
    result = forecast(_idle_then_steady(with_samples_while_idle), five_hour(50.0), minute(250))
    assert (None, False) == (result.exhausts_at, result.before_reset)
    assert 70.0 == pytest.approx(result.end_pct)


def test_a_gap_without_samples_spreads_its_rise() -> None:
    """The level where the lookback starts, inside a gap in the samples, is interpolated across the gap."""
    samples = [*trace(0, 20, lambda m: m // 2), *trace(90, 130, lambda m: m // 2)]  # whole percents
    result = forecast(samples, five_hour(65.0), minute(130))
    assert minute(200) == result.exhausts_at


def test_a_single_burst_does_not_dominate() -> None:
    """A 15-point jump on top of 0.2/min counts as one point: 39 % ends at ~77 %, not at the limit."""
    samples = [*trace(0, 119, lambda m: 0.2 * m), Sample(minute(120), 24.0 + 15.0)]
    result = forecast(samples, five_hour(39.0), minute(120))
    assert (None, False) == (result.exhausts_at, result.before_reset)
    assert 39.0 + (0.2 * 89 + 1.0) / 90 * 180 == pytest.approx(result.end_pct)


def test_a_single_tick_counts() -> None:
    """One whole-percent tick in an otherwise flat lookback counts as a point."""
    samples = [*trace(0, 99, lambda m: 40.0), Sample(minute(100), 41.0)]
    result = forecast(samples, five_hour(41.0), minute(100))
    assert 41.0 + 1.0 / 90 * 200 == pytest.approx(result.end_pct)


def test_repeated_bursts_count() -> None:
    """Two similar jumps are the pattern, not an accident: both count in full."""
    samples = trace(0, 120, lambda m: 30.0 + (10.0 if m >= 60 else 0.0) + (10.0 if m >= 100 else 0.0))
    result = forecast(samples, five_hour(50.0), minute(120))
    assert 50.0 + 20.0 / 90 * 180 == pytest.approx(result.end_pct)


def test_never_a_forecast_in_the_past() -> None:
    """When the line crossed 100 % between the last sample and now, the limit is now, not earlier."""
    result = forecast(trace(0, 60, lambda m: 1.6 * m), five_hour(96.0), minute(70))
    assert (minute(70), True) == (result.exhausts_at, result.before_reset)


def test_at_the_limit_the_limit_is_now() -> None:
    """At 100 % the limit is reached now, before the reset."""
    samples = [*trace(0, 80, lambda m: 1.25 * m), *trace(81, 180, lambda m: 100.0)]
    result = forecast(samples, five_hour(100.0), minute(180))
    assert (minute(180), True, 100.0, "at-limit") == (
        result.exhausts_at,
        result.before_reset,
        result.end_pct,
        result.method,
    )


def test_a_weekly_window_uses_a_day_of_samples() -> None:
    """0.75 points an hour in a 7-day window reaches 100 % on Saturday at 13:20."""
    result = forecast(weekly_trace(48, 0.75), seven_day(36.0), hour(48))
    assert (hour(133) + timedelta(minutes=20), True, "recent-rate/clipped-mean/24h") == (
        result.exhausts_at,
        result.before_reset,
        result.method,
    )


def test_lookback_scales_with_the_period() -> None:
    """90 min for 5 h, a day for 7 d, in proportion for other periods."""
    assert [timedelta(minutes=90), timedelta(hours=24), timedelta(minutes=18), timedelta(hours=48)] == [
        lookback(FIVE_HOURS),
        lookback(SEVEN_DAYS),
        lookback(timedelta(hours=1)),
        lookback(timedelta(days=14)),
    ]


# Forecast: when there is none ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "samples",
    [
        [],
        trace(95, 100, lambda m: 0.5 * m)[::3],  # 2 samples
        trace(95, 100, lambda m: 0.5 * m),  # 6 samples over 5 minutes
        trace(0, 5, lambda m: 0.5 * m),  # all older than the lookback, the last 95 minutes ago
    ],
    ids=["none", "two", "five-minutes", "stale"],
)
def test_too_little_data_gives_no_forecast(samples: list[Sample]) -> None:
    """Fewer than 3 points or less than 10 minutes of them in the lookback: no forecast."""
    assert NO_FORECAST == forecast(samples, five_hour(50.0), minute(100))


def test_ten_minutes_of_samples_are_enough() -> None:
    """Three samples spanning exactly 10 minutes give a forecast."""
    samples = [Sample(minute(m), 0.5 * m) for m in (90, 95, 100)]
    assert minute(200) == forecast(samples, five_hour(50.0), minute(100)).exhausts_at


@pytest.mark.parametrize(("span_min", "expected"), [(50, False), (60, True)])
def test_a_weekly_window_needs_an_hour_of_samples(span_min: int, expected: bool) -> None:
    """In a 7-day window the samples must span an hour."""
    now = hour(48)
    samples = [Sample(now - timedelta(minutes=span_min * k / 2), 36.0) for k in range(3)]
    assert expected == (forecast(samples, seven_day(36.0), now).before_reset is not None)


@pytest.mark.parametrize(
    ("window", "now"),
    [
        (five_hour(50.0, period=None), minute(100)),
        (five_hour(50.0, resets_at=None), minute(100)),
        (five_hour(50.0, reset_passed=True), minute(100)),
        (five_hour(50.0), RESET),
        (five_hour(50.0), minute(-5)),
    ],
    ids=["no-period", "no-reset", "reset-passed", "at-reset", "before-start"],
)
def test_no_forecast_without_a_current_window(window: Window, now: datetime) -> None:
    """No forecast without a period or reset, once the reset has passed, or outside the window."""
    assert NO_FORECAST == forecast(trace(0, 100, lambda m: 0.5 * m), window, now)


def test_no_forecast_is_all_none() -> None:
    """NO_FORECAST carries no numbers and says why."""
    assert (None, None, None, "insufficient-data") == (
        NO_FORECAST.exhausts_at,
        NO_FORECAST.before_reset,
        NO_FORECAST.end_pct,
        NO_FORECAST.method,
    )


# Forecast text ------------------------------------------------------------------------------------


def test_text_limit_before_reset() -> None:
    """An exhaustion before the reset names the local time and the margin."""
    result = forecast(trace(0, 100, lambda m: 0.5 * m), five_hour(50.0), minute(100))
    assert "limit at 15:20 — 1h40m before reset" == result.text(UTC, minute(100))


def test_text_in_local_time() -> None:
    """The clock time is local to the given zone."""
    result = forecast(trace(0, 100, lambda m: 0.5 * m), five_hour(50.0), minute(100))
    assert "limit at 16:20 — 1h40m before reset" == result.text(CET, minute(100))


def test_text_more_than_a_day_away_names_the_day() -> None:
    """A weekly window's limit days away names the weekday."""
    result = forecast(weekly_trace(48, 0.75), seven_day(36.0), hour(48))
    assert "limit at Sat 13:20 — 1d10h before reset" == result.text(UTC, hour(48))


def test_text_on_track() -> None:
    """Without an exhaustion it says where the window ends, in whole percent."""
    assert "on track to end at ~64%" == Forecast(None, False, 64.7, METHOD_5H, RESET).text(UTC, minute(100))


def test_text_limit_reached() -> None:
    """At the limit it says so, and when it resets."""
    samples = [*trace(0, 80, lambda m: 1.25 * m), *trace(81, 180, lambda m: 100.0)]
    assert "limit reached — resets in 2h" == forecast(samples, five_hour(100.0), minute(180)).text(UTC, minute(180))


def test_text_without_a_forecast() -> None:
    """No forecast, no text."""
    assert NO_FORECAST.text(UTC, minute(100)) is None


# Forecast: properties -----------------------------------------------------------------------------

_PCTS = st.one_of(
    st.floats(min_value=-10, max_value=250),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 99.0, 99.5, 100.0, 101.0]),
)
_SAMPLES = st.lists(
    st.tuples(st.integers(-3_600, 6 * 3_600), _PCTS).map(lambda p: Sample(START + timedelta(seconds=p[0]), p[1])),
    max_size=60,
)
_WINDOWS = st.builds(
    five_hour,
    _PCTS,
    period=st.sampled_from([FIVE_HOURS, timedelta(hours=1), timedelta(hours=6), None]),
    reset_passed=st.booleans(),
    observed_at=st.none() | st.integers(-3_600, 6 * 3_600).map(lambda s: START + timedelta(seconds=s)),
)


@given(samples=_SAMPLES, window=_WINDOWS, now_s=st.integers(-3_600, 6 * 3_600))
def test_forecast_is_never_in_the_past(samples: list[Sample], window: Window, now_s: int) -> None:
    """Any samples give a consistent answer without raising: an exhaustion time in [now, reset] or none."""
    now = START + timedelta(seconds=now_s)
    result = forecast(samples, window, now)
    if result.before_reset is None:
        assert NO_FORECAST == result
    elif result.exhausts_at is None:
        assert result.before_reset is False
    else:
        assert result.before_reset is True
        assert now <= result.exhausts_at <= RESET
