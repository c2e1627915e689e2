"""Pace, forecast, trajectory and the binding limit of a reading, from the history of its numbers.

Glue between the pure maths (core/pace.py, core/binding.py) and the history store (adapters/history.py):
the samples of a window are the history rows of its account and key since the window opened, each row
giving the time it was first and last seen. Imports no Rich and no sqlite3 (the History object does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from claude_usage.core import pace as pace_maths
from claude_usage.core.binding import Binding, binding
from claude_usage.core.pace import Forecast, Pace, Sample

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from claude_usage.adapters.history import History, Row
    from claude_usage.core.model import Usage, Window


class Insights(NamedTuple):
    """Per window key: pace, forecast and trajectory; and the binding limit.

    The dicts are required: a named tuple's default would be one dict shared by every instance.
    """

    pace: dict[str, Pace]
    forecasts: dict[str, Forecast]
    trajectories: dict[str, list[Sample]]
    binding: Binding | None = None


def samples_from_rows(rows: Iterable[Row]) -> list[Sample]:
    """Each row is a value held from its first to its last sighting: two samples when those differ."""
    samples: list[Sample] = []
    for row in rows:
        samples.append(Sample(row.observed_at, row.utilization))
        if row.last_seen_at > row.observed_at:
            samples.append(Sample(row.last_seen_at, row.utilization))
    samples.sort(key=lambda s: s.at)
    return samples


def window_start(window: Window) -> datetime | None:
    if window.resets_at is None or window.period is None:
        return None
    return window.resets_at - window.period


def compute(
    usage: Usage,
    *,
    account: str,
    history: History | None,
    now: datetime,
    tolerance_pct: float = pace_maths.ON_PACE_TOLERANCE_PCT,
) -> Insights:
    """Everything the dashboard and `--json` say beyond the numbers themselves."""
    paces: dict[str, Pace] = {}
    forecasts: dict[str, Forecast] = {}
    trajectories: dict[str, list[Sample]] = {}
    for window in usage.windows:
        found = pace_maths.pace(window, now, tolerance_pct=tolerance_pct)
        if found is not None:
            paces[window.key] = found
        start = window_start(window)
        if start is None or window.reset_passed:
            continue
        samples = samples_from_rows(history.rows(account=account, key=window.key, since=start)) if history else []
        if window.observed_at is not None and (not samples or samples[-1].at < window.observed_at):
            samples.append(Sample(window.observed_at, window.utilization))
        trajectories[window.key] = samples
        forecasts[window.key] = pace_maths.forecast(samples, window, now)
    return Insights(paces, forecasts, trajectories, binding(usage, forecasts, now))
