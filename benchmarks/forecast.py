"""Accuracy of `core.pace.forecast` on synthetic usage trajectories, fed to it as if live.

Each trajectory is one window (5 hours or 7 days) of simulated usage: while active, a user's requests
arrive as a Poisson process (4 a minute: an agent loop calls the model every ~15 s) with gamma-
distributed costs (coefficient of variation 0.71), under one of these scenarios:

- steady: one rate for the whole window.
- shifting: the rate changes at random moments (exponential segments) by a log-normal factor.
- bursty: a steady base plus rare big jumps (an agent run costing several points at once) that carry
  about 40 % of the expected usage.
- idle: active and idle spells alternate (5 h: ~45 min on, ~30 min off; 7 d: a working day with a
  lunch break, nights off and a quarter of days off); during half of the idle spells the poller is not
  running either (a closed laptop), so there are no samples at all.
- glitch: steady usage, but the first few readings of the window still show the previous window's
  percentage with the new reset time (the endpoint's post-reset glitch).
- over-limit: a heavy user who runs out early; usage stays at 100 % once the limit is hit.

Each trajectory's expected end value is drawn at random (40-180 %; 150-300 % for over-limit), so
about half of them run out before the reset. Usage is blocked at 100 %. The endpoint reports whole
percents (the floor of the real value), sampled every 60 s (5 h) or 5 min (7 d) as a poller would.
The future of a trajectory comes from the same process as its past, so a recent rate can be right,
but it is never known to the forecaster: the truth is what the simulation then actually did.

From a fifth of the window on, every 5 min (5 h) or hour (7 d), the samples seen so far go to
`forecast()`, and the answer is compared with the truth:

- time error: |predicted - true exhaustion| / (true exhaustion - now), for trajectories that run out
  and have not yet; when the forecast says "not before the reset", its predicted time is where the
  line through the current value and `end_pct` crosses 100 % (infinite when flat).
- verdict: `before_reset` against whether the trajectory runs out before its reset.
- end error: |end_pct - true end value| in points, for trajectories that do not run out.
- coverage: the share of evaluation points with a forecast at all. Points where the poller is not
  running are skipped: nobody asks for a forecast then.
- ref: a reference that needs no estimate at all: it knows the real (unrounded) value and the
  process's true mean rate at that moment (idle: the long-run mean over on and off spells) and
  projects it. What it gets wrong is the randomness of the future itself, which no forecaster can
  know: the floor for the forecaster's numbers.

Targets (issue 5): median time error ≤ 10 %, verdict right ≥ 90 % once a window is a fifth elapsed.
Deterministic for a given seed; prints numbers and asserts nothing.

    .venv/bin/python -m benchmarks.forecast [--trajectories 200] [--seed 1] [--scenario steady ...]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import time
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from benchmarks._common import print_machine, print_table
from claude_usage.core.model import Window
from claude_usage.core.pace import Forecast, Sample, forecast
from claude_usage.core.times import FIVE_HOURS, SEVEN_DAYS

TARGET_MEDIAN_ERROR = 0.10
TARGET_VERDICT = 0.90
SCENARIOS = ("steady", "shifting", "bursty", "idle", "glitch", "over-limit")
EPOCH = datetime(2026, 1, 5, tzinfo=timezone.utc)  # a Monday; windows start at a random hour after it
REQUESTS_PER_MIN = 4.0  # while active: an agent loop calls the model every ~15 s
COST_SHAPE = 2.0  # the gamma shape of one request's cost (coefficient of variation 0.71)
HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class Kind:
    """A window length with the poller's and the evaluation's cadence."""

    name: str
    period: timedelta
    poll_s: float
    every_s: float
    burst_pct: float  # mean size of one burst, in points of this window

    @property
    def period_s(self) -> float:
        return self.period.total_seconds()


KINDS = (
    Kind("5h", FIVE_HOURS, 60.0, 300.0, 8.0),
    Kind("7d", SEVEN_DAYS, 300.0, HOUR, 3.0),
)


@dataclass(frozen=True, slots=True)
class Trajectory:
    """Poller samples (seconds since the window start, reported percent) and the truth."""

    samples: list[tuple[float, float]]
    reference: list[tuple[float, float]]  # per sample: the real value and the process's mean rate then
    exhausts_s: float | None  # when the real value first reached 100 %, seconds since the start
    end_pct: float  # the real value at the reset


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small means used here."""
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _costs(rng: random.Random, n: int, mean: float) -> float:
    """The total cost of `n` requests of gamma-distributed cost with this mean (a sum of gammas)."""
    return rng.gammavariate(COST_SHAPE * n, mean / COST_SHAPE) if n else 0.0


def _spells(rng: random.Random, total_s: float, on_mean_s: float, off_mean_s: float) -> list[tuple[float, float]]:
    """Alternating on/off spells (exponential lengths), starting on: the (start, end) of each idle one."""
    idle: list[tuple[float, float]] = []
    t = rng.expovariate(1 / on_mean_s)
    while t < total_s:
        off = rng.expovariate(1 / off_mean_s)
        idle.append((t, t + off))
        t += off + rng.expovariate(1 / on_mean_s)
    return idle


def _workdays(rng: random.Random, start_hour: float, total_s: float) -> list[tuple[float, float]]:
    """Idle spells of a working week: nights, a lunch break, and a quarter of days off entirely."""
    active: list[tuple[float, float]] = []
    day = -HOUR * start_hour
    while day < total_s:
        if rng.random() >= 0.25:
            begin = day + rng.uniform(8, 10) * HOUR
            length = rng.uniform(6, 10) * HOUR
            lunch = begin + length * rng.uniform(0.35, 0.6)
            pause = rng.uniform(0.5, 1.5) * HOUR
            active += [(begin, lunch), (lunch + pause, begin + length + pause)]
        day += 24 * HOUR
    idle, t = [], 0.0
    for a, b in active:
        if b <= 0:
            continue
        if a > t:
            idle.append((t, a))
        t = max(t, b)
    if t < total_s:
        idle.append((t, total_s))
    return idle


def _inside(spans: Sequence[tuple[float, float]], t: float) -> bool:
    return any(a <= t < b for a, b in spans)


def simulate(kind: Kind, scenario: str, rng: random.Random) -> Trajectory:
    """One window of usage under `scenario`, sampled as a poller would."""
    total, step = kind.period_s, kind.poll_s
    expected_end = rng.uniform(150, 300) if scenario == "over-limit" else rng.uniform(40, 180)
    idle: list[tuple[float, float]] = []
    unpolled: list[tuple[float, float]] = []
    active_share = 1.0
    if scenario == "idle":
        if kind.name == "5h":
            idle = _spells(rng, total, 45 * 60, 30 * 60)
            active_share = 45 / 75
        else:
            idle = _workdays(rng, rng.uniform(0, 24), total)
            active_share = 0.75 * 8 / 24
        unpolled = [span for span in idle if rng.random() < 0.5]
    burst_share = 0.4 if scenario == "bursty" else 0.0
    base_rate = expected_end * (1 - burst_share) / (total * active_share)  # points per active second
    burst_rate = expected_end * burst_share / total / kind.burst_pct  # bursts per second
    shifts: list[tuple[float, float]] = []  # (from, factor)
    if scenario == "shifting":
        mean_segment = total / 4
        t, sigma = 0.0, 0.5
        while t < total:
            shifts.append((t, math.exp(rng.gauss(-sigma * sigma / 2, sigma))))  # mean factor 1
            t += rng.expovariate(1 / mean_segment)
    glitch_n = rng.randint(1, 5 if kind.name == "5h" else 3) if scenario == "glitch" else 0
    glitch_pct = float(rng.randint(40, 100))

    samples: list[tuple[float, float]] = []
    reference: list[tuple[float, float]] = []
    real, exhausts, factor, shift_i = 0.0, None, 1.0, 0
    t = 0.0
    while t <= total + 1e-9:
        if t > 0 and real < 100:
            while shift_i < len(shifts) and shifts[shift_i][0] <= t:
                factor = shifts[shift_i][1]
                shift_i += 1
            if not _inside(idle, t):
                rate = base_rate * factor
                n = _poisson(rng, REQUESTS_PER_MIN * step / 60)
                real += _costs(rng, n, rate * 60 / REQUESTS_PER_MIN)
            real += _costs(rng, _poisson(rng, burst_rate * step), kind.burst_pct)
            if real >= 100:
                real, exhausts = 100.0, t
        if not _inside(unpolled, t):
            shown = glitch_pct if len(samples) < glitch_n else float(math.floor(real))
            samples.append((t, shown))
            reference.append((real, (base_rate * factor * active_share + burst_rate * kind.burst_pct)))
        t += step
    return Trajectory(samples, reference, exhausts, real)


@dataclass(slots=True)
class Tally:
    """What one scenario (or a total) scored."""

    points: int = 0
    forecasts: int = 0
    right: int = 0
    time_errors: list[float] = field(default_factory=list)
    end_errors: list[float] = field(default_factory=list)
    ref_right: int = 0
    ref_time_errors: list[float] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.points += other.points
        self.forecasts += other.forecasts
        self.right += other.right
        self.time_errors += other.time_errors
        self.end_errors += other.end_errors
        self.ref_right += other.ref_right
        self.ref_time_errors += other.ref_time_errors


def _implied_exhaustion(answer: Forecast, last: tuple[float, float], reset_s: float) -> float:
    """Seconds since the start at which the forecast's line reaches 100 %, infinite when it never does."""
    if answer.end_pct is None:
        return math.inf
    rise = answer.end_pct - last[1]
    if rise <= 0:
        return math.inf
    return last[0] + (100 - last[1]) * (reset_s - last[0]) / rise


def score(kind: Kind, trajectory: Trajectory, start: datetime) -> Tally:
    """Feed the trajectory to `forecast()` from a fifth of the window on and compare with the truth."""
    tally = Tally()
    times = [t for t, _ in trajectory.samples]
    live = [Sample(start + timedelta(seconds=t), pct) for t, pct in trajectory.samples]
    total = kind.period_s
    reset = start + kind.period
    now_s = math.ceil(total / 5 / kind.every_s) * kind.every_s
    while now_s < total:
        seen = bisect_right(times, now_s)
        if not seen or now_s - times[seen - 1] >= kind.poll_s:  # the poller is not running: nobody asks
            now_s += kind.every_s
            continue
        now = start + timedelta(seconds=now_s)
        window = Window(
            key="five_hour" if kind.name == "5h" else "seven_day",
            label=kind.name,
            utilization=live[seen - 1].pct,
            resets_at=reset,
            period=kind.period,
            observed_at=live[seen - 1].at,
        )
        answer = forecast(live[:seen], window, now)
        tally.points += 1
        exhausts = trajectory.exhausts_s
        real, rate = trajectory.reference[seen - 1]
        ref = now_s if real >= 100 else now_s + (100 - real) / rate if rate > 0 else math.inf
        tally.ref_right += (ref < total) == (exhausts is not None)
        if exhausts is not None and exhausts > now_s:
            tally.ref_time_errors.append(abs(ref - exhausts) / (exhausts - now_s))
        if answer.before_reset is not None:
            tally.forecasts += 1
            tally.right += answer.before_reset == (exhausts is not None)
            if exhausts is not None and exhausts > now_s:
                if answer.exhausts_at is not None:
                    predicted = (answer.exhausts_at - start).total_seconds()
                else:
                    predicted = _implied_exhaustion(answer, trajectory.samples[seen - 1], total)
                tally.time_errors.append(abs(predicted - exhausts) / (exhausts - now_s))
            if exhausts is None and answer.end_pct is not None:
                tally.end_errors.append(abs(answer.end_pct - trajectory.end_pct))
        now_s += kind.every_s
    return tally


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _quantile(values: Sequence[float], q: float) -> float:
    """Nearest-rank quantile; the median is the usual one."""
    if q == 0.5:
        return statistics.median(values)
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def _share(values: Sequence[float], q: float) -> str:
    if not values:
        return "-"
    value = _quantile(values, q)
    return "inf" if math.isinf(value) else f"{100 * value:.1f}%"


def _points(values: Sequence[float], q: float) -> str:
    return f"{_quantile(values, q):.1f}" if values else "-"


def row(label: str, tally: Tally) -> list[str]:
    return [
        label,
        str(tally.points),
        _pct(tally.forecasts, tally.points),
        _share(tally.time_errors, 0.5),
        _share(tally.time_errors, 0.9),
        _pct(tally.right, tally.forecasts),
        _points(tally.end_errors, 0.5),
        _points(tally.end_errors, 0.9),
        _share(tally.ref_time_errors, 0.5),
        _pct(tally.ref_right, tally.points),
    ]


def run(
    trajectories: int, seed: int, scenarios: Sequence[str], progress: Callable[[str], None]
) -> dict[tuple[str, str], Tally]:
    """Score `trajectories` windows per kind and scenario; each window has its own seeded generator."""
    results: dict[tuple[str, str], Tally] = {}
    for kind in KINDS:
        for scenario in scenarios:
            tally = Tally()
            for i in range(trajectories):
                rng = random.Random(f"{seed}/{kind.name}/{scenario}/{i}")  # noqa: S311 - a seeded simulation
                start = EPOCH + timedelta(minutes=rng.randrange(0, 7 * 24 * 60))
                tally.add(score(kind, simulate(kind, scenario, rng), start))
            results[kind.name, scenario] = tally
            progress(f"{kind.name} {scenario}")
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--trajectories", type=int, default=200, help="windows per kind and scenario")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scenario", action="append", choices=SCENARIOS, help="repeatable; default all")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    scenarios = args.scenario or list(SCENARIOS)
    began = time.perf_counter()
    results = run(args.trajectories, args.seed, scenarios, (lambda _: None) if args.quiet else _progress)
    elapsed = time.perf_counter() - began

    headers = [
        "window / scenario",
        "points",
        "coverage",
        "err p50",
        "err p90",
        "verdict",
        "end p50",
        "end p90",
        "ref p50",
        "ref verdict",
    ]
    rows: list[list[str]] = []
    totals: dict[str, Tally] = {}
    everything = Tally()
    for kind in KINDS:
        subtotal = Tally()
        for scenario in scenarios:
            tally = results[kind.name, scenario]
            rows.append(row(f"{kind.name} {scenario}", tally))
            subtotal.add(tally)
        rows.append(row(f"{kind.name} all", subtotal))
        totals[kind.name] = subtotal
        everything.add(subtotal)
    rows.append(row("all", everything))
    totals["all"] = everything
    print(f"forecast accuracy: {args.trajectories} windows per kind and scenario, seed {args.seed}")
    print("err: |predicted - true exhaustion| / time then remaining; end: |end_pct - true end| in points")
    print()
    print_table(headers, rows)
    print()
    for name, tally in totals.items():
        median = _quantile(tally.time_errors, 0.5) if tally.time_errors else math.nan
        verdict = tally.right / tally.forecasts if tally.forecasts else math.nan
        print(
            f"targets {name:>3}: median time error {median:.1%} (≤ {TARGET_MEDIAN_ERROR:.0%}: "
            f"{_met(median <= TARGET_MEDIAN_ERROR)}), verdict right {verdict:.1%} "
            f"(≥ {TARGET_VERDICT:.0%}: {_met(verdict >= TARGET_VERDICT)})"
        )
    print(f"runtime: {elapsed:.1f} s")
    print_machine()
    return 0


def _met(ok: bool) -> str:
    return "met" if ok else "missed"


def _progress(text: str) -> None:
    print(f"  done: {text}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
