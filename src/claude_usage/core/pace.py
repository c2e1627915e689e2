"""Pace and forecast maths for one limit window: pure, no I/O, no clock (callers pass `now`).

Imports stdlib value modules (`datetime`, `math`, `itertools`, `typing`) and `core` only; never `os`,
`pathlib`, `time` or a clock.

**Pace** compares the share of the window used with the share of its period elapsed. A window of period
`P` resetting at `R` started at `R - P`; `elapsed_pct` is how far `now` is through it, `delta_pct` is
`utilization - elapsed_pct` in percentage points, and within ±`tolerance_pct` (5 points) it is on pace.

**Forecast** projects the *recent rate* of use forward from the latest sample:

1. Only samples inside the current window count (`R - P <= at <= now`, finite percentages; readings
   at the same instant collapse to their highest). The window's own reading joins them when it has an
   `observed_at` no sample already has.
2. *Post-reset glitch.* Usage never goes down within a window, so a sample higher than what follows it
   is wrong. Right after a reset the endpoint can still return the old percentage with the new reset
   time: those high readings are dropped. A sample is kept only if it is at most 1 point above every
   later *confirmed* level (the higher of a sample and its successor), so one spurious low reading later
   on cannot wipe out the history before it.
3. *Lookback.* The rate comes from the last 90 minutes (5-hour windows) or 24 hours (7-day windows),
   never from before the window started; other periods scale in proportion (periods up to a day like
   5 h, longer ones like 7 d). A day is the natural unit for a week: most people use Claude by day and
   sleep at night, and a lookback shorter than a day sees either only working hours or only the night.
   90 minutes in a 5-hour window is long enough to average out request-to-request noise and whole-
   percent rounding (about 30 points of usage at a pace that runs out at the reset), short enough to
   follow a change of pace within the session. The level at the start of the lookback is interpolated
   between the samples either side of it, so a flat stretch stored as one row (first and last seen)
   still counts as flat, and a gap with no samples spreads its rise evenly over the gap.
4. *Rate.* The rise over the lookback divided by its length, with one guard against bursts: the
   fastest single step (its rise over its duration) counts no faster than the second-fastest step, but
   always at least one point (the endpoint's usual resolution). A single big jump (an agent run
   finishing) then adds about as much as an ordinary step, while two or more alike count in full
   (then they are the pattern) and a lone whole-percent tick still counts. Falls count as zero (usage
   never goes down). This is a mean, not a fitted slope: Theil-Sen or least squares put a straight
   line through step-shaped data (idle stretches, whole-percent ticks, working days and nights) and
   follow its shape rather than its total; docs/forecast.md has the measured difference.
5. *Projection.* From the latest sample (`current` at `last`): 100 % is reached at
   `last + (100 - current) / rate`. Before the reset: `exhausts_at` is that time (never before `now`),
   `before_reset` True, `end_pct` the straight line at the reset, capped at 200 %. Otherwise:
   `exhausts_at` None, `before_reset` False, `end_pct = current + rate * (reset - last)`. At or over
   100 % already: `exhausts_at = now`, `before_reset` True, method `at-limit`.

No forecast (`NO_FORECAST`, method `insufficient-data`) when the window has no period or no reset,
when the reset has passed, when `now` is outside the window, or when the lookback holds fewer than 3
points (the interpolated start counts) or spans less than 10 minutes (5 h) / 1 hour (7 d).
`benchmarks/forecast.py` measures the accuracy on synthetic trajectories (numbers in docs/forecast.md).
"""

from __future__ import annotations

import itertools
import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from claude_usage.core import fmt
from claude_usage.core.times import FIVE_HOURS, SEVEN_DAYS

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import tzinfo

    from claude_usage.core.model import Window

ON_PACE_TOLERANCE_PCT = 5.0

LOOKBACK_5H = timedelta(minutes=90)
LOOKBACK_7D = timedelta(hours=24)
MIN_SPAN_5H = timedelta(minutes=10)
MIN_SPAN_7D = timedelta(hours=1)
MIN_POINTS = 3
RESOLUTION_PCT = 1.0  # the endpoint mostly reports whole percents: a step of one point is never a burst
GLITCH_TOLERANCE_PCT = 1.0  # a sample may sit this far above later ones and still count
END_PCT_CAP = 200.0  # past the limit, the projection only says how far over pace the window is
_SHORT_PERIOD = timedelta(days=1)  # periods up to this scale like the 5-hour window, longer like 7 days

_Point = tuple[datetime, float]


class Pace(NamedTuple):
    """Where a window stands against an even pace through its period."""

    elapsed_pct: float  # share of the window elapsed, 0-100
    delta_pct: float  # used minus elapsed, in percentage points
    label: str  # "ahead" | "on_pace" | "under"

    def text(self) -> str:
        """`12 points ahead of pace`, `on pace`, `8 points under pace` (points rounded half up)."""
        if self.label == "on_pace":
            return "on pace"
        points = math.floor(abs(self.delta_pct) + 0.5)
        unit = "point" if points == 1 else "points"
        return f"{points} {unit} {'ahead of' if self.label == 'ahead' else 'under'} pace"


def pace(window: Window, now: datetime, *, tolerance_pct: float = ON_PACE_TOLERANCE_PCT) -> Pace | None:
    """The window's pace at `now`; None without a period or reset, after the reset, or outside the window."""
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


class Sample(NamedTuple):
    """One observed utilization of a window: `at` aware, `pct` a percent as received."""

    at: datetime
    pct: float


class Forecast(NamedTuple):
    """Where a window's usage is heading; all None (method `insufficient-data`) without a forecast.

    `resets_at` is the reset the forecast was made against, for `text()`; it is not part of the JSON.
    """

    exhausts_at: datetime | None  # when it reaches 100 %, if before the reset; never before `now`
    before_reset: bool | None  # True: reaches 100 % before the reset; False: not; None: no forecast
    end_pct: float | None  # projected utilization at the reset, at most 200
    method: str  # "recent-rate/clipped-mean/90m", "at-limit", "insufficient-data"
    resets_at: datetime | None = None

    def text(self, tz: tzinfo, now: datetime) -> str | None:
        """`limit at 16:40 — 1h20m before reset`, `limit reached — resets in 2h`, `on track to end at ~64%`.

        None without a forecast. Clock times are local to `tz`, with the weekday when over a day away.
        """
        if self.before_reset is None:
            return None
        if self.exhausts_at is not None:
            if self.resets_at is None:
                return f"limit at {fmt.clock_time(self.exhausts_at, now, tz)}"
            margin = fmt.compact_duration((self.resets_at - self.exhausts_at).total_seconds())
            if self.method == AT_LIMIT:
                return f"limit reached — resets in {margin}"
            return f"limit at {fmt.clock_time(self.exhausts_at, now, tz)} — {margin} before reset"
        if self.end_pct is None:
            return None
        return f"on track to end at ~{fmt.percent(self.end_pct)}%"


AT_LIMIT = "at-limit"
NO_FORECAST = Forecast(exhausts_at=None, before_reset=None, end_pct=None, method="insufficient-data")


def lookback(period: timedelta) -> timedelta:
    """How far back the recent rate looks for a window of this period: 90 min for 5 h, 24 h for 7 d."""
    return _scaled(period, LOOKBACK_5H, LOOKBACK_7D)


def forecast(samples: Sequence[Sample], window: Window, now: datetime) -> Forecast:
    """The projected time `window` reaches 100 % and whether that is before its reset, from its recent rate.

    `samples` are this window's observations in any order (older windows' are ignored); see the module
    docstring for the method and when there is no forecast.
    """
    if window.period is None or window.resets_at is None or window.reset_passed:
        return NO_FORECAST
    reset, period = window.resets_at, window.period
    start = reset - period
    if period <= timedelta(0) or not start <= now < reset:
        return NO_FORECAST
    readings = [(s.at, s.pct) for s in samples]
    observed = window.observed_at
    if observed is not None and all(at != observed for at, _ in readings):
        readings.append((observed, window.utilization))
    points = _drop_glitches(_in_window(readings, start, now))
    since = max(start, now - lookback(period))
    recent = _since(points, since)
    min_span = _scaled(period, MIN_SPAN_5H, MIN_SPAN_7D)
    if len(recent) < MIN_POINTS or recent[-1][0] - recent[0][0] < min_span:
        return NO_FORECAST
    rate = _clipped_rate(recent)  # percentage points per second
    if not math.isfinite(rate):
        return NO_FORECAST
    last, current = recent[-1]
    left = (reset - last).total_seconds()
    end = current + rate * left
    if current >= 100:
        return Forecast(now, True, min(max(current, end), max(current, END_PCT_CAP)), AT_LIMIT, reset)
    method = f"recent-rate/clipped-mean/{_span_text(lookback(period))}"
    to_limit = (100 - current) / rate if rate > 0 else math.inf
    if to_limit < left:
        at = min(reset, max(now, last + timedelta(seconds=round(to_limit))))
        return Forecast(at, True, min(end, END_PCT_CAP), method, reset)
    return Forecast(None, False, end, method, reset)


def _scaled(period: timedelta, five_hour: timedelta, seven_day: timedelta) -> timedelta:
    """A duration chosen for the 5-hour and 7-day windows, in proportion for any other period."""
    if period == FIVE_HOURS:
        return five_hour
    if period == SEVEN_DAYS:
        return seven_day
    if period <= _SHORT_PERIOD:
        return period * (five_hour / FIVE_HOURS)
    return period * (seven_day / SEVEN_DAYS)


def _span_text(span: timedelta) -> str:
    """`90m`, `24h`: whole hours from two hours up, minutes below."""
    minutes = round(span.total_seconds() / 60)
    return f"{minutes // 60}h" if minutes >= 120 and minutes % 60 == 0 else f"{minutes}m"


def _in_window(readings: list[_Point], start: datetime, now: datetime) -> list[_Point]:
    """Finite readings in `[start, now]`, in time order, one per instant (the highest)."""
    inside = sorted((at, pct) for at, pct in readings if start <= at <= now and math.isfinite(pct))
    points: list[_Point] = []
    for at, pct in inside:  # the same instant's readings are adjacent, the highest last
        if points and points[-1][0] == at:
            points[-1] = (at, pct)
        else:
            points.append((at, pct))
    return points


def _drop_glitches(points: list[_Point]) -> list[_Point]:
    """Without the readings that sit above a later confirmed level (the post-reset glitch)."""
    kept: list[_Point] = []
    floor = math.inf  # the lowest confirmed level after the reading being looked at
    following = math.inf  # the reading after it
    for at, pct in reversed(points):
        if pct <= floor + GLITCH_TOLERANCE_PCT:
            kept.append((at, pct))
        confirmed = pct if following == math.inf or pct >= following else following
        if confirmed < floor:
            floor = confirmed
        following = pct
    kept.reverse()
    return kept


def _since(points: list[_Point], since: datetime) -> list[_Point]:
    """The points from `since` on, led by the level at `since` interpolated from the points either side."""
    cut = next((i for i, (at, _) in enumerate(points) if at >= since), len(points))
    recent = points[cut:]
    if 0 < cut < len(points) and recent[0][0] > since:
        (t0, v0), (t1, v1) = points[cut - 1], recent[0]
        share = (since - t0) / (t1 - t0)
        recent.insert(0, (since, v0 + (v1 - v0) * share))
    return recent


def _clipped_rate(points: list[_Point]) -> float:
    """Rise per second over the points; the fastest step counts no faster than the second-fastest,
    but at least one point (the endpoint's resolution)."""
    steps = [(max(0.0, v1 - v0), (t1 - t0).total_seconds()) for (t0, v0), (t1, v1) in itertools.pairwise(points)]
    speeds = sorted(rise / seconds for rise, seconds in steps)
    cap = speeds[-2] if len(speeds) >= 2 else math.inf
    rise = sum(min(rise, max(cap * seconds, RESOLUTION_PCT)) for rise, seconds in steps)
    return rise / (points[-1][0] - points[0][0]).total_seconds()
