"""The alert rules (core/alerts.py) on constructed readings: once per window and rule, the next window, resets."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Any

from claude_usage.core.alerts import Alert, Rules, evaluate, hold, in_quiet, summary, take_held
from claude_usage.core.model import FIVE_HOURS, SEVEN_DAYS, ExtraUsage, Money, Usage, Window, WindowKind
from claude_usage.core.pace import NO_FORECAST, Forecast

NOW = datetime(2026, 11, 24, 12, 49, tzinfo=timezone.utc)
RESET = datetime(2026, 11, 24, 15, 0, 0, 482311, tzinfo=timezone.utc)
WEEK_RESET = datetime(2026, 11, 27, 9, 0, 0, 482311, tzinfo=timezone.utc)


def session(utilization: float, resets_at: datetime | None = RESET, **extra: Any) -> Window:
    return Window("five_hour", "Current session", utilization, resets_at, period=FIVE_HOURS, **extra)


def week(utilization: float, resets_at: datetime = WEEK_RESET, key: str = "seven_day") -> Window:
    return Window(key, "Current week (all models)", utilization, resets_at, period=SEVEN_DAYS)


def credits(used: int, limit: int = 5000, pct: float | None = None) -> ExtraUsage:
    share = used / limit * 100 if pct is None else pct
    return ExtraUsage(True, Money(limit, "USD"), Money(used, "USD"), share, "USD")


class Run:
    """One evaluator's state carried from reading to reading, as the shared store would."""

    def __init__(self, rules: Rules | None = None) -> None:
        self.state: dict[str, Any] = {}
        self.rules = rules or Rules()

    def read(
        self,
        *windows: Window,
        now: datetime = NOW,
        forecasts: dict[str, Forecast] | None = None,
        extra: ExtraUsage | None = None,
    ) -> list[Alert]:
        alerts, self.state = evaluate(
            self.state,
            Usage(windows=windows, extra_usage=extra),
            forecasts or {},
            self.rules,
            now=now,
            tz=timezone.utc,
            account="default",
        )
        return alerts

    def fired(self, *windows: Window, **options: Any) -> list[tuple[str, str, float | None]]:
        return [(a.rule, a.key, a.threshold) for a in self.read(*windows, **options)]


def test_a_threshold_fires_once_per_window() -> None:
    """A second reading above the same threshold in the same window fires nothing."""
    run = Run()
    first = run.fired(session(82.0))
    second = run.fired(session(83.0))
    assert ([("threshold", "five_hour", 80.0)], []) == (first, second)


def test_a_jump_past_two_thresholds_fires_only_the_highest() -> None:
    """From 50 % to 96 % fires the 95 % alert once and counts the 80 % one as fired."""
    run = Run()
    run.read(session(50.0))
    jumped = run.fired(session(96.0))
    later = run.fired(session(97.0))
    assert ([("threshold", "five_hour", 95.0)], []) == (jumped, later)


def test_starting_above_a_threshold_fires_it() -> None:
    """The first reading ever seen, at 85 %, fires the 80 % alert."""
    assert [("threshold", "five_hour", 80.0)] == Run().fired(session(85.0))


def test_the_next_window_fires_again() -> None:
    """The same threshold fires again once the window has reset (with the reset alert first)."""
    run = Run()
    run.read(session(82.0))
    later = NOW + timedelta(hours=5)
    fired = run.fired(session(81.0, RESET + timedelta(hours=5)), now=later)
    assert [("reset", "five_hour", None), ("threshold", "five_hour", 80.0)] == fired


def test_a_reset_carries_the_new_window_and_the_previous_peak() -> None:
    """After a window that reached 96 % resets, the alert has the new window's numbers and previous_peak 96."""
    run = Run()
    run.read(session(96.0))
    new_reset = RESET + timedelta(hours=5)
    (alert,) = run.read(session(3.0, new_reset), now=RESET + timedelta(minutes=2))
    assert ("reset", 3.0, new_reset, 96.0) == (alert.rule, alert.utilization, alert.resets_at, alert.previous_peak)


def test_a_reset_below_the_lowest_threshold_says_nothing() -> None:
    """A window that never reached 80 % resets without an alert."""
    run = Run()
    run.read(session(70.0))
    assert [] == run.fired(session(2.0, RESET + timedelta(hours=5)), now=RESET + timedelta(minutes=2))


def test_a_reset_to_a_window_not_started_yet_is_a_reset() -> None:
    """After the reset the API may say 0 % with no reset time: the window that reached 96 % has reset."""
    run = Run()
    run.read(session(96.0))
    fired = run.fired(session(0.0, None), now=RESET + timedelta(minutes=1))
    assert [("reset", "five_hour", None)] == fired


def test_jitter_in_the_reset_time_is_the_same_window() -> None:
    """Replies whose reset differs by a fraction of a second are one window: nothing fires twice."""
    run = Run()
    run.read(session(82.0, RESET))
    assert [] == run.fired(session(84.0, RESET + timedelta(seconds=0.7)))


def test_a_reading_of_an_earlier_window_is_old_news() -> None:
    """Once the next window is known, a late reading of the previous one fires nothing and changes nothing."""
    run = Run()
    run.read(session(96.0))
    run.read(session(5.0, RESET + timedelta(hours=5)), now=RESET + timedelta(minutes=1))
    before = run.state
    fired = run.fired(session(97.0, RESET), now=RESET + timedelta(minutes=1))
    assert ([], before) == (fired, run.state)


def test_per_key_thresholds_replace_the_global_ones() -> None:
    """With five_hour = [90], the session at 85 % is quiet while the week at 85 % fires 80 %."""
    run = Run(Rules(thresholds_by_key={"five_hour": (90.0,)}))
    assert [("threshold", "seven_day", 80.0)] == run.fired(session(85.0), week(85.0))


def test_the_forecast_fires_when_the_limit_comes_before_the_reset() -> None:
    """A forecast that reaches 100 % before the reset fires once, with when."""
    exhausts = NOW + timedelta(hours=1)
    forecast = Forecast(exhausts, True, 140.0, "recent-rate/clipped-mean/90m", RESET)
    run = Run()
    (alert,) = run.read(session(62.0), forecasts={"five_hour": forecast})
    again = run.read(session(63.0), forecasts={"five_hour": forecast})
    assert ("forecast", exhausts, []) == (alert.rule, alert.exhausts_at, again)


def test_no_forecast_alert_without_enough_data() -> None:
    """A forecast without data (insufficient-data) fires nothing."""
    assert [] == Run().fired(session(62.0), forecasts={"five_hour": NO_FORECAST})


def test_a_forecast_at_the_limit_is_left_to_the_thresholds() -> None:
    """At 100 % the forecast says `at-limit`: only the threshold fires."""
    forecast = Forecast(NOW, True, 100.0, "at-limit", RESET)
    assert [("threshold", "five_hour", 95.0)] == Run().fired(session(100.0), forecasts={"five_hour": forecast})


def test_use_it_or_lose_it_within_the_hour_before_the_weekly_reset() -> None:
    """Fifty minutes before the weekly reset with 30 % used fires lose_it once."""
    run = Run()
    soon = WEEK_RESET - timedelta(minutes=50)
    first = run.fired(week(30.0), now=soon)
    second = run.fired(week(30.0), now=soon + timedelta(minutes=5))
    assert ([("lose_it", "seven_day", None)], []) == (first, second)


def test_use_it_or_lose_it_needs_more_than_half_left() -> None:
    """With 60 % of the week used, the last hour says nothing."""
    assert [] == Run().fired(week(60.0), now=WEEK_RESET - timedelta(minutes=50))


def test_use_it_or_lose_it_waits_for_the_last_hours() -> None:
    """Two hours before the reset (the default is one) says nothing."""
    assert [] == Run().fired(week(30.0), now=WEEK_RESET - timedelta(hours=2))


def test_use_it_or_lose_it_hours_are_configurable() -> None:
    """With lose_it_hours = 3, two hours before the reset fires it."""
    assert [("lose_it", "seven_day", None)] == Run(Rules(lose_it_hours=3)).fired(
        week(30.0), now=WEEK_RESET - timedelta(hours=2)
    )


def test_use_it_or_lose_it_is_about_the_all_models_week() -> None:
    """A model's own week (Sonnet) left unused says nothing."""
    sonnet = week(10.0, key="seven_day_sonnet")
    assert [] == Run().fired(sonnet, now=WEEK_RESET - timedelta(minutes=30))


def test_credits_spending_started() -> None:
    """Usage credits going from nothing spent to something fire `credits` once, without a threshold."""
    run = Run()
    run.read(extra=credits(0))
    started = run.fired(extra=credits(250))
    again = run.fired(extra=credits(400))
    assert ([("credits", "extra_usage", None)], []) == (started, again)


def test_credits_at_80_percent_of_the_cap() -> None:
    """Crossing 80 % of the monthly cap fires `credits` with threshold 80."""
    run = Run()
    run.read(extra=credits(250))
    assert [("credits", "extra_usage", 80.0)] == run.fired(extra=credits(4100))


def test_credits_first_seen_past_the_cap_fire_only_the_cap() -> None:
    """Seen first at 85 %, only the cap alert fires (spending started counts as fired)."""
    run = Run()
    first = run.fired(extra=credits(4250))
    assert ([("credits", "extra_usage", 80.0)], []) == (first, run.fired(extra=credits(4300)))


def test_credits_spending_down_is_a_new_month() -> None:
    """Spending that goes down starts a new month: spending started fires again."""
    run = Run()
    run.read(extra=credits(4250))
    run.read(extra=credits(0))
    assert [("credits", "extra_usage", None)] == run.fired(extra=credits(100))


def test_windows_past_their_reset_are_skipped() -> None:
    """A number whose reset has passed (not current) fires nothing."""
    assert [] == Run().fired(session(99.0, reset_passed=True))


def test_an_unconfirmed_status_line_100_is_skipped() -> None:
    """A lone status-line 100 % no other source confirms fires nothing."""
    assert [] == Run().fired(session(100.0, source="statusline", unconfirmed=True))


def test_credit_windows_have_no_thresholds() -> None:
    """One-time credits (cinder_cove) are not limits: 90 % of one fires nothing."""
    credit = Window("cinder_cove", "Claude Code and Cowork credit", 90.0, RESET, kind=WindowKind.CREDIT)
    assert [] == Run().fired(credit)


def test_the_payload_has_the_documented_keys() -> None:
    """The user command's JSON: rule, key, label, utilization, threshold, resets_at, message, fired_at, account."""
    (alert,) = Run().read(session(82.0))
    expected = {
        "rule": "threshold",
        "key": "five_hour",
        "label": "Current session",
        "utilization": 82.0,
        "threshold": 80,
        "resets_at": "2026-11-24T15:00:00.482311+00:00",
        "message": "Current session: 82% used (alert at 80%), resets at 15:00 (in 2h 11m)",
        "fired_at": "2026-11-24T12:49:00+00:00",
        "account": "default",
    }
    assert expected == alert.payload()


def test_a_reset_payload_adds_the_previous_peak() -> None:
    """The reset alert's JSON carries previous_peak."""
    run = Run()
    run.read(session(96.0))
    (alert,) = run.read(session(3.0, RESET + timedelta(hours=5)), now=RESET + timedelta(minutes=2))
    assert 96.0 == alert.payload()["previous_peak"]


def test_quiet_hours_span_midnight() -> None:
    """22:00-08:00 holds 23:30 and 07:59, not 08:00 or 21:59."""
    quiet = (time(22, 0), time(8, 0))
    at = [datetime(2026, 11, 24, h, m, tzinfo=timezone.utc) for h, m in ((23, 30), (7, 59), (8, 0), (21, 59))]
    assert [True, True, False, False] == [in_quiet(quiet, when) for when in at]


def test_quiet_hours_within_a_day() -> None:
    """12:00-13:00 holds 12:30 only."""
    quiet = (time(12, 0), time(13, 0))
    at = [datetime(2026, 11, 24, h, m, tzinfo=timezone.utc) for h, m in ((11, 59), (12, 30), (13, 0))]
    assert [False, True, False] == [in_quiet(quiet, when) for when in at]


def test_held_alerts_come_back_once_as_one_summary() -> None:
    """Two alerts held through quiet hours make one summary, and are gone from the state after."""
    run = Run()
    state = hold({}, run.read(session(82.0), week(85.0)))
    held, rest = take_held(state)
    text = summary(held, (time(22, 0), time(8, 0)))
    assert (2, "2 alerts while quiet (22:00–08:00):", [], {}) == (
        len(held),
        text.splitlines()[0],
        take_held(rest)[0],
        rest,
    )
