"""The alert rules: which alerts a reading fires, given what has fired before. Pure: no files, no clock.

`evaluate(state, usage, forecasts, rules, now=…, tz=…, account=…)` returns the alerts to fire and the new state;
the caller keeps the state where every process sees it (service/alerts.py: the shared store, under its lock) so
that each alert fires once on the whole machine. The rules, per limit window (a window is its key plus its
`resets_at` to the minute; the API's sub-second part jitters between replies):

- `threshold`: the window reached one of its thresholds (default 80 and 95 %, per key overridable). Starting
  above a threshold fires it; a reading past several fires only the highest and counts the lower as fired.
- `forecast`: the forecast (core/pace.py) says the limit is reached before the window resets. Only once the
  forecast has data, and not once the limit is reached (`threshold` says that).
- `reset`: a window that had reached the lowest threshold has reset; the alert carries the new window's numbers
  and the old window's peak (`previous_peak`).
- `lose_it`: within `lose_it_hours` of the weekly (all models) reset with more than half of the week left.
- `credits`: usage credits started being spent this month, and 80 % of the monthly cap. The month is not on
  the wire: spending that goes down starts a new one.

Each rule fires once per window; the state remembers, per key, the window last seen, its peak and what fired.
Windows whose reset has passed (not current) and unconfirmed status-line 100 % are skipped; a reading of an
earlier window than the one remembered is old news. Quiet hours (`in_quiet`) are decided here too; holding
and summarising the desktop alerts they hold is `hold` / `take_held` / `summary`.

The state document (schema 1, JSON)::

    {"schema": 1,
     "windows": {"five_hour": {"resets_at": ISO (to the minute) | null, "peak": 96.0,
                               "fired": ["threshold:80", "threshold:95", "forecast"]}, ...},
     "credits": {"used": 1234, "fired": ["started", "cap"]},
     "held": [{"rule": "threshold", "key": "five_hour", "message": "...", "fired_at": ISO}, ...]}
"""

from __future__ import annotations

import math
from datetime import datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Any, NamedTuple

from claude_usage.core import fmt
from claude_usage.core.model import WindowKind
from claude_usage.core.pace import AT_LIMIT
from claude_usage.core.times import SEVEN_DAYS, iso_or_none

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import tzinfo

    from claude_usage.core.model import ExtraUsage, Usage, Window
    from claude_usage.core.pace import Forecast

SCHEMA = 1
THRESHOLD, FORECAST, RESET, LOSE_IT, CREDITS = "threshold", "forecast", "reset", "lose_it", "credits"
RULES = (THRESHOLD, FORECAST, RESET, LOSE_IT, CREDITS)
DESKTOP, BELL, COMMAND = "desktop", "bell", "command"
CHANNELS = (DESKTOP, BELL, COMMAND)
DEFAULT_THRESHOLDS = (80.0, 95.0)
CREDITS_KEY = "extra_usage"
CREDITS_LABEL = "Usage credits"
CREDITS_CAP_PCT = 80.0
# The week whose unused quota `lose_it` is about: the all-models week (the scoped weeks are parts of it).
WEEK_KEYS = frozenset({"seven_day", "limits.weekly_all"})
SAME_WINDOW_S = 60.0
HELD_CAP = 50  # desktop alerts held through quiet hours; the oldest go first past this


class Rules(NamedTuple):
    """What the rules need of the configuration."""

    thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS
    thresholds_by_key: Mapping[str, tuple[float, ...]] | None = None
    lose_it_hours: float = 1.0

    def thresholds_for(self, key: str) -> tuple[float, ...]:
        """The thresholds of one limit, ascending: its own when configured, else the global ones."""
        found = (self.thresholds_by_key or {}).get(key)
        return tuple(sorted(set(self.thresholds if found is None else found)))


class Alert(NamedTuple):
    """One alert, as every channel receives it (`payload()` is the user command's JSON)."""

    rule: str
    key: str
    label: str
    utilization: float | None
    threshold: float | None
    resets_at: datetime | None
    message: str
    fired_at: datetime
    account: str
    previous_peak: float | None = None  # `reset`: the peak of the window that has reset
    exhausts_at: datetime | None = None  # `forecast`: when the limit is reached at the recent rate

    def payload(self) -> dict[str, Any]:
        """The alert as one JSON object: rule, key, label, utilization, threshold, resets_at, message, fired_at,
        account; plus previous_peak (reset) and exhausts_at (forecast)."""
        body: dict[str, Any] = {
            "rule": self.rule,
            "key": self.key,
            "label": self.label,
            "utilization": self.utilization,
            "threshold": _number(self.threshold),
            "resets_at": _iso(self.resets_at),
            "message": self.message,
            "fired_at": _iso(self.fired_at),
            "account": self.account,
        }
        if self.rule == RESET:
            body["previous_peak"] = self.previous_peak
        if self.rule == FORECAST:
            body["exhausts_at"] = _iso(self.exhausts_at)
        return body


def _number(value: float | None) -> float | int | None:
    """80.0 as 80 (thresholds read better whole), anything else as it is."""
    if value is None or not value.is_integer():
        return value
    return int(value)


def _iso(when: datetime | None) -> str | None:
    return when.astimezone(timezone.utc).isoformat() if when is not None else None


# -- the state, read tolerantly -------------------------------------------------------------------------


def _minute(when: datetime | None) -> str | None:
    """A reset to the minute (rounded to the nearest), as ISO text: one window however its seconds jitter."""
    if when is None:
        return None
    utc = when.astimezone(timezone.utc)
    rounded = (utc + timedelta(seconds=30)).replace(second=0, microsecond=0)
    return rounded.isoformat()


def _record(state: dict[str, Any], key: str) -> dict[str, Any] | None:
    windows = state.get("windows")
    found = windows.get(key) if isinstance(windows, dict) else None
    return found if isinstance(found, dict) else None


def _fired(record: dict[str, Any] | None) -> set[str]:
    found = record.get("fired") if record else None
    return {item for item in found if isinstance(item, str)} if isinstance(found, list) else set()


def _peak(record: dict[str, Any]) -> float | None:
    value = record.get("peak")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


class _Sameness:
    """How a reading's window relates to the one remembered for its key."""

    SAME, NEW, OLD = "same", "new", "old"


def _compare(record: dict[str, Any], resets_at: datetime | None, now: datetime) -> str:
    """Same window, a new (later) one, or old news (an earlier one) than the remembered `record`."""
    if "resets_at" not in record:
        return _Sameness.NEW
    known = iso_or_none(record.get("resets_at"))
    mine = iso_or_none(_minute(resets_at))
    if known is None and record.get("resets_at") is not None:
        return _Sameness.NEW  # unreadable: start afresh
    if known is None:
        return _Sameness.SAME if mine is None else _Sameness.NEW
    if mine is None:  # a window with no reset yet: the remembered one must have reset
        return _Sameness.NEW if known <= now + timedelta(seconds=SAME_WINDOW_S) else _Sameness.OLD
    delta = (mine - known).total_seconds()
    if abs(delta) <= SAME_WINDOW_S:
        return _Sameness.SAME
    return _Sameness.NEW if delta > 0 else _Sameness.OLD


# -- the rules ------------------------------------------------------------------------------------------


def evaluate(
    state: dict[str, Any],
    usage: Usage,
    forecasts: Mapping[str, Forecast],
    rules: Rules,
    *,
    now: datetime,
    tz: tzinfo,
    account: str,
) -> tuple[list[Alert], dict[str, Any]]:
    """The alerts this reading fires (each once per window and rule) and the state with them recorded (a copy)."""
    windows = state.get("windows")
    records: dict[str, Any] = dict(windows) if isinstance(windows, dict) else {}
    alerts: list[Alert] = []
    for window in usage.windows:
        if window.kind == WindowKind.CREDIT or window.reset_passed or window.unconfirmed:
            continue
        if not math.isfinite(window.utilization):
            continue
        found, record = _window_alerts(
            records.get(window.key), window, forecasts.get(window.key), rules, now=now, tz=tz, account=account
        )
        alerts += found
        if record is not None:
            records[window.key] = record
    new_state: dict[str, Any] = {**state, "schema": SCHEMA, "windows": records}
    credits, credit_state = _credit_alerts(state.get("credits"), usage.extra_usage, now=now, account=account)
    alerts += credits
    if credit_state is not None:
        new_state["credits"] = credit_state
    return alerts, new_state


def _window_alerts(
    record: Any,
    window: Window,
    forecast: Forecast | None,
    rules: Rules,
    *,
    now: datetime,
    tz: tzinfo,
    account: str,
) -> tuple[list[Alert], dict[str, Any] | None]:
    """The alerts of one window and its new record; (no alerts, None) for old news."""
    thresholds = rules.thresholds_for(window.key)
    u = window.utilization
    alerts: list[Alert] = []

    def alert(rule: str, message: str, **extra: Any) -> Alert:
        threshold = extra.pop("threshold", None)
        return Alert(rule, window.key, window.label, u, threshold, window.resets_at, message, now, account, **extra)

    if isinstance(record, dict):
        sameness = _compare(record, window.resets_at, now)
        if sameness == _Sameness.OLD:
            return [], None
        if sameness == _Sameness.NEW:
            peak = _peak(record)
            if thresholds and peak is not None and peak >= thresholds[0]:
                text = f"{window.label} has reset (it had reached {fmt.percent_text(peak)}): {_used(window, now, tz)}"
                alerts.append(alert(RESET, text, previous_peak=peak))
            record = None
    fired = _fired(record)
    peak = _peak(record) if record is not None else None
    crossed = [t for t in thresholds if u >= t]
    if crossed and f"{THRESHOLD}:{crossed[-1]:g}" not in fired:
        text = f"{window.label}: {_used(window, now, tz, f' (alert at {crossed[-1]:g}%)')}"
        alerts.append(alert(THRESHOLD, text, threshold=crossed[-1]))
    fired |= {f"{THRESHOLD}:{t:g}" for t in crossed}
    if FORECAST not in fired and _runs_out(forecast, u):
        assert forecast is not None  # noqa: S101 - _runs_out says so
        said = forecast.text(tz, now)
        alerts.append(
            alert(FORECAST, f"{window.label}: {fmt.percent_text(u)} used, {said}", exhausts_at=forecast.exhausts_at)
        )
        fired.add(FORECAST)
    if LOSE_IT not in fired and _losing_it(window, rules.lose_it_hours, now):
        assert window.resets_at is not None  # noqa: S101 - _losing_it says so
        left = fmt.percent_text(max(0.0, 100 - u))
        when = (
            f"{fmt.clock_time(window.resets_at, now, tz)}, in {fmt.duration(fmt.seconds_until(window.resets_at, now))}"
        )
        alerts.append(alert(LOSE_IT, f"{window.label}: {left} left, resets at {when} — use it or lose it"))
        fired.add(LOSE_IT)
    new_record = {
        "resets_at": _minute(window.resets_at),
        "peak": max(u, peak) if peak is not None else u,
        "fired": sorted(fired),
    }
    return alerts, new_record


def _used(window: Window, now: datetime, tz: tzinfo, note: str = "") -> str:
    """`82% used (note), resets at 15:00 (in 2h 11m)`; without the reset when there is none."""
    used = f"{fmt.percent_text(window.utilization)} used{note}"
    if window.resets_at is None or window.resets_at <= now:
        return used
    left = fmt.duration(fmt.seconds_until(window.resets_at, now))
    return f"{used}, resets at {fmt.clock_time(window.resets_at, now, tz)} (in {left})"


def _runs_out(forecast: Forecast | None, utilization: float) -> bool:
    """The forecast has data and says the limit comes before the reset (not already reached)."""
    return (
        forecast is not None
        and forecast.before_reset is True
        and forecast.method != AT_LIMIT
        and forecast.exhausts_at is not None
        and utilization < 100
    )


def _losing_it(window: Window, hours: float, now: datetime) -> bool:
    """Within `hours` of the weekly reset with more than half of the week left."""
    if hours <= 0 or window.key not in WEEK_KEYS or window.resets_at is None:
        return False
    if window.period is not None and window.period != SEVEN_DAYS:
        return False
    left_s = (window.resets_at - now).total_seconds()
    return 0 < left_s <= hours * 3600 and window.utilization < 50


def _credit_alerts(
    record: Any, extra: ExtraUsage | None, *, now: datetime, account: str
) -> tuple[list[Alert], dict[str, Any] | None]:
    """`credits`: spending started this month; 80 % of the monthly cap. (alerts, new record or None)."""
    if extra is None or extra.is_enabled is False or extra.used is None:
        return [], None
    used = extra.used.minor
    record = record if isinstance(record, dict) else None
    before = record.get("used") if record else None
    fired = _fired(record)
    if isinstance(before, int) and not isinstance(before, bool) and used < before:
        fired = set()  # spending went down: a new month
    pct = extra.utilization
    if pct is None and extra.monthly_limit is not None and extra.monthly_limit.minor > 0:
        pct = used / extra.monthly_limit.minor * 100
    alerts: list[Alert] = []
    spent = fmt.extra_usage_text(extra)

    def alert(threshold: float | None, message: str) -> Alert:
        return Alert(CREDITS, CREDITS_KEY, CREDITS_LABEL, pct, threshold, None, message, now, account)

    if pct is not None and math.isfinite(pct) and pct >= CREDITS_CAP_PCT:
        if "cap" not in fired:
            alerts.append(
                alert(CREDITS_CAP_PCT, f"{CREDITS_LABEL}: {fmt.percent_text(pct)} of the monthly cap used ({spent})")
            )
        fired |= {"cap", "started"}
    if used > 0 and "started" not in fired:
        alerts.append(alert(None, f"{CREDITS_LABEL}: spending started ({spent})"))
        fired.add("started")
    return alerts, {"used": used, "fired": sorted(fired)}


# -- quiet hours ----------------------------------------------------------------------------------------


def in_quiet(quiet: tuple[time, time] | None, local: datetime) -> bool:
    """Whether the local time `local` is within quiet hours `(start, end)`; they may span midnight."""
    if quiet is None:
        return False
    start, end = quiet
    at = local.time().replace(tzinfo=None)
    if start <= end:
        return start <= at < end
    return at >= start or at < end


def hold(state: dict[str, Any], alerts: Iterable[Alert]) -> dict[str, Any]:
    """The state with these desktop alerts held for the summary after quiet hours (a copy)."""
    held = _held(state)
    held += [{"rule": a.rule, "key": a.key, "message": a.message, "fired_at": _iso(a.fired_at)} for a in alerts]
    return {**state, "held": held[-HELD_CAP:]}


def take_held(state: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(the held alerts, the state without them)."""
    held = _held(state)
    if not held and "held" not in state:
        return [], state
    return held, {k: v for k, v in state.items() if k != "held"}


def _held(state: dict[str, Any]) -> list[dict[str, Any]]:
    found = state.get("held")
    if not isinstance(found, list):
        return []
    return [entry for entry in found if isinstance(entry, dict) and isinstance(entry.get("message"), str)]


def summary(held: list[dict[str, Any]], quiet: tuple[time, time] | None) -> str:
    """One notification for the alerts held through quiet hours."""
    span = f" ({quiet[0]:%H:%M}–{quiet[1]:%H:%M})" if quiet else ""
    if len(held) == 1:
        return f"While quiet{span}: {held[0]['message']}"
    return f"{len(held)} alerts while quiet{span}:\n" + "\n".join(str(entry["message"]) for entry in held)
