"""Pace and forecast maths (draft)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from claude_usage.core import fmt
from claude_usage.core.times import FIVE_HOURS, SEVEN_DAYS

if TYPE_CHECKING:
    from datetime import tzinfo

    from claude_usage.core.model import Window

ON_PACE_TOLERANCE_PCT = 5.0

LOOKBACK_5H = timedelta(minutes=60)
LOOKBACK_7D = timedelta(hours=24)
MIN_SPAN_5H = timedelta(minutes=10)
MIN_SPAN_7D = timedelta(hours=1)
MIN_POINTS = 3
MAX_FIT_POINTS = 64
GLITCH_TOLERANCE_PCT = 1.0
END_PCT_CAP = 200.0

ESTIMATOR = "theil-sen"


@dataclass(frozen=True, slots=True)
class Pace:
    elapsed_pct: float
    delta_pct: float
    label: str

    def text(self) -> str:
        if self.label == "on_pace":
            return "on pace"
        points = math.floor(abs(self.delta_pct) + 0.5)
        unit = "point" if points == 1 else "points"
        side = "ahead of" if self.label == "ahead" else "under"
        return f"{points} {unit} {side} pace"


def pace(window: Window, now: datetime, *, tolerance_pct: float = ON_PACE_TOLERANCE_PCT) -> Pace | None:
    if window.period is None or window.resets_at is None or window.reset_passed:
        return None
    period_s = window.period.total_seconds()
    if period_s <= 0 or not math.isfinite(window.utilization):
        return None
    start = window.resets_at - window.period
    if not start <= now <= window.resets_at:
        return None
    elapsed = (now - start).total_seconds() / period_s * 100
    delta = window.utilization - elapsed
    if delta > tolerance_pct:
        label = "ahead"
    elif delta < -tolerance_pct:
        label = "under"
    else:
        label = "on_pace"
    return Pace(elapsed_pct=elapsed, delta_pct=delta, label=label)


@dataclass(frozen=True, slots=True)
class Sample:
    at: datetime
    pct: float


@dataclass(frozen=True, slots=True)
class Forecast:
    exhausts_at: datetime | None
    before_reset: bool | None
    end_pct: float | None
    method: str
    resets_at: datetime | None = None

    def text(self, tz: tzinfo, now: datetime) -> str | None:
        if self.before_reset is None:
            return None
        if self.exhausts_at is not None and self.resets_at is not None:
            margin = fmt.compact_duration((self.resets_at - self.exhausts_at).total_seconds())
            if self.method == "at-limit":
                return f"limit reached — resets in {margin}"
            return f"limit at {fmt.clock_time(self.exhausts_at, now, tz)} — {margin} before reset"
        if self.end_pct is None:
            return None
        return f"on track to end at ~{fmt.percent(self.end_pct)}%"


NO_FORECAST = Forecast(exhausts_at=None, before_reset=None, end_pct=None, method="insufficient-data")


def _scaled(period: timedelta, five_hour: timedelta, seven_day: timedelta) -> timedelta:
    if period == FIVE_HOURS:
        return five_hour
    if period == SEVEN_DAYS:
        return seven_day
    if period <= timedelta(days=1):
        return period * (five_hour / FIVE_HOURS)
    return period * (seven_day / SEVEN_DAYS)


def _span_text(span: timedelta) -> str:
    minutes = round(span.total_seconds() / 60)
    if minutes < 120 or minutes % 60:
        return f"{minutes}m"
    return f"{minutes // 60}h"


def _drop_glitches(points: list[tuple[datetime, float]]) -> list[tuple[datetime, float]]:
    n = len(points)
    kept: list[tuple[datetime, float]] = []
    floor = math.inf
    for i in range(n - 1, -1, -1):
        pct = points[i][1]
        if pct <= floor + GLITCH_TOLERANCE_PCT:
            kept.append(points[i])
        confirmed = max(pct, points[i + 1][1]) if i + 1 < n else pct
        floor = min(floor, confirmed)
    kept.reverse()
    return kept


def _thin(points: list[tuple[float, float]], limit: int) -> list[tuple[float, float]]:
    if len(points) <= limit:
        return points
    step = (len(points) - 1) / (limit - 1)
    return [points[round(i * step)] for i in range(limit)]


def _theil_sen(points: list[tuple[float, float]]) -> float:
    pts = _thin(points, MAX_FIT_POINTS)
    slopes = [
        (pts[j][1] - pts[i][1]) / (pts[j][0] - pts[i][0])
        for i in range(len(pts))
        for j in range(i + 1, len(pts))
        if pts[j][0] > pts[i][0]
    ]
    slopes.sort()
    n = len(slopes)
    mid = n // 2
    return slopes[mid] if n % 2 else (slopes[mid - 1] + slopes[mid]) / 2


def _mean_rate(points: list[tuple[float, float]]) -> float:
    span = points[-1][0] - points[0][0]
    return (points[-1][1] - points[0][1]) / span


def _clipped_rate(points: list[tuple[float, float]]) -> float:
    steps = [max(0.0, b[1] - a[1]) for a, b in zip(points, points[1:])]
    if len(steps) >= 2:
        top = sorted(steps)[-2]
        steps = [min(s, top) for s in steps]
    span = points[-1][0] - points[0][0]
    return sum(steps) / span


def _rate_clipped(points: list[tuple[float, float]]) -> float:
    steps = [(max(0.0, b[1] - a[1]), b[0] - a[0]) for a, b in zip(points, points[1:]) if b[0] > a[0]]
    speeds = sorted(d / dt for d, dt in steps)
    if len(speeds) >= 2:
        cap = speeds[-2]
        total = sum(min(d, cap * dt) for d, dt in steps)
    else:
        total = sum(d for d, _ in steps)
    span = points[-1][0] - points[0][0]
    return total / span


LEVEL = "last"


def forecast(samples: Sequence[Sample], window: Window, now: datetime) -> Forecast:
    if window.period is None or window.resets_at is None or window.reset_passed:
        return NO_FORECAST
    reset, period = window.resets_at, window.period
    start = reset - period
    if period <= timedelta(0) or not start <= now < reset:
        return NO_FORECAST
    seen = {s.at for s in samples}
    readings = [(s.at, s.pct) for s in samples if start <= s.at <= now and math.isfinite(s.pct)]
    if window.observed_at is not None and window.observed_at not in seen and start <= window.observed_at <= now:
        readings.append((window.observed_at, window.utilization))
    readings.sort(key=lambda p: p[0])
    points = _drop_glitches(readings)
    lookback = _scaled(period, LOOKBACK_5H, LOOKBACK_7D)
    since = max(start, now - lookback)
    recent = [p for p in points if p[0] >= since]
    earlier = [p for p in points if p[0] < since]
    if earlier:
        recent.insert(0, (since, earlier[-1][1]))
    if len({p[0] for p in recent}) < MIN_POINTS or recent[-1][0] - recent[0][0] < _scaled(
        period, MIN_SPAN_5H, MIN_SPAN_7D
    ):
        return NO_FORECAST
    last_at, current = recent[-1]
    xy = [((t - since).total_seconds(), pct) for t, pct in recent]
    if ESTIMATOR == "theil-sen":
        rate = _theil_sen(xy)
    elif ESTIMATOR == "mean":
        rate = _mean_rate(xy)
    elif ESTIMATOR == "clipped":
        rate = _clipped_rate(xy)
    else:
        rate = _rate_clipped(xy)
    if math.isnan(rate):
        return NO_FORECAST
    rate = max(0.0, rate)
    if LEVEL == "fit01" and rate > 0:
        x_last = xy[-1][0]
        fitted = statistics.median(y + rate * (x_last - x) for x, y in xy)
        current = current + min(1.0, max(0.0, fitted - current))
    method = f"recent-rate/{ESTIMATOR}/{_span_text(lookback)}"
    left = (reset - last_at).total_seconds()
    end = current + rate * left if rate > 0 else current
    if current >= 100:
        return Forecast(now, True, min(max(current, end), max(current, END_PCT_CAP)), "at-limit", reset)
    to_limit = (100 - current) / rate if rate > 0 else math.inf
    if to_limit < left:
        at = max(now, last_at + timedelta(seconds=round(to_limit)))
        return Forecast(at, True, min(end, END_PCT_CAP), method, reset)
    return Forecast(None, False, end, method, reset)
