"""Durations, money, percent and levels as text: one function per displayed quantity.

Pure: callers pass `now` and the local time zone (`tz`) wherever a clock time is shown. Light at module
level (math only): the status line takes its levels and percents from here, so neither the wire parser
nor `enum`, `dataclasses` or `typing` may load with it.
"""

from __future__ import annotations

import math

TYPE_CHECKING = False  # not typing's: this module is on the status line's path
if TYPE_CHECKING:
    from datetime import datetime, tzinfo

    from claude_usage.core.model import ExtraUsage, Money, Window

WARNING_AT = 50
ALARM_AT = 80
DAY = 86_400

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "KRW": "₩", "VND": "₫", "INR": "₹", "CNY": "CN¥"}
_PREFIXED_DOLLARS = {"AUD": "A$", "CAD": "CA$", "NZD": "NZ$", "HKD": "HK$", "SGD": "S$", "MXN": "MX$"}


class Level:
    """How worried to be about a percent: below 50 calm, 50-80 warning, 80 and over alarm (plain strings)."""

    CALM = "calm"
    WARNING = "warning"
    ALARM = "alarm"


def percent(utilization: float) -> int:
    """The percent Claude Code shows: the floor of `utilization`, never rescaled."""
    return math.floor(utilization)


MAX_SHOWN_PERCENT = 999


def percent_text(utilization: float) -> str:
    """`78%`; over 100 shows as such; past 999 `>999%`, so an absurd value never floods a line."""
    if utilization > MAX_SHOWN_PERCENT:
        return f">{MAX_SHOWN_PERCENT}%"
    return f"{percent(utilization)}%"


def level(utilization: float) -> str:
    """The colour level of a shown percent."""
    shown = percent(utilization)
    if shown >= ALARM_AT:
        return Level.ALARM
    if shown >= WARNING_AT:
        return Level.WARNING
    return Level.CALM


def bar_fraction(utilization: float) -> float:
    """How much of a bar to fill, 0.0-1.0 (a value over 100 fills it)."""
    return min(1.0, max(0.0, utilization / 100))


def seconds_until(when: datetime, now: datetime) -> int:
    """Whole seconds from `now` until `when`, never negative."""
    return max(0, math.ceil((when - now).total_seconds()))


def duration(seconds: float) -> str:
    """`2d 21h`, `2h 11m`, `11m 5s`, `42s`: two units at most, rounded down."""
    total = max(0, int(seconds))
    days, rest = divmod(total, DAY)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m {secs}s" if secs else f"{minutes}m"
    return f"{secs}s"


def compact_duration(seconds: float) -> str:
    """`2h11m`, `3d4h`, `42m`, `30s`: for tight spaces such as a status line."""
    total = max(0, int(seconds))
    if total >= 3600:
        return duration(total).replace(" ", "")
    return f"{total // 60}m" if total >= 60 else f"{total}s"


def clock_time(when: datetime, now: datetime, tz: tzinfo) -> str:
    """`15:00`, or `Fri 09:00` when more than a day away, or `Dec 5 09:00` past a week, in local time."""
    local = when.astimezone(tz)
    away = (when - now).total_seconds()
    if away > 6 * DAY:
        return f"{local:%b} {local.day} {local:%H:%M}"
    if away > DAY:
        return f"{local:%a %H:%M}"
    return f"{local:%H:%M}"


def reset_text(window: Window, now: datetime, tz: tzinfo) -> str:
    """`Resets in 2h 11m (15:00)`; `resetting…` once the reset has passed; `Not started` without one."""
    if window.resets_at is None:
        return "Not started" if window.utilization == 0 else "No reset time given"
    if window.resets_at <= now:
        return "resetting…"
    verb = "Expires" if window.kind == "credit" else "Resets"
    left = duration(seconds_until(window.resets_at, now))
    return f"{verb} in {left} ({clock_time(window.resets_at, now, tz)})"


def age(seconds: float) -> str:
    """`just now`, `40 s ago`, `3m ago`, `2h 5m ago`."""
    if seconds < 2:
        return "just now"
    if seconds < 60:
        return f"{int(seconds)} s ago"
    return f"{duration(seconds - seconds % 60 if seconds < 3600 else seconds)} ago"


SOURCE_NAMES = {"api": "API", "statusline": "status line", "claude_cache": "Claude Code cache", "demo": "demo"}


def source_text(source: str, age_s: float) -> str:
    """`API · 40 s ago`, `status line · just now`: where a number came from and how old it is."""
    return f"{SOURCE_NAMES.get(source, source)} · {age(max(0.0, age_s))}"


def money(amount: Money) -> str:
    """`$12.34`, `€200.00`, `¥1,500`, `CHF 12.34`: minor units with the currency's decimals."""
    from claude_usage.core.wire import ZERO_DECIMAL_CURRENCIES

    code = amount.currency.upper()
    decimals = 0 if code in ZERO_DECIMAL_CURRENCIES else 2
    whole, fraction = divmod(abs(amount.minor), 10**decimals)  # integers: no float rounding
    number = f"{whole:,}.{fraction:0{decimals}d}" if decimals else f"{whole:,}"
    sign = "-" if amount.minor < 0 else ""
    symbol = _SYMBOLS.get(code) or _PREFIXED_DOLLARS.get(code)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{code} {number}"


def extra_usage_text(extra: ExtraUsage) -> str:
    """`$12.34 / $50.00 spent`, `$8,800.00 spent · no cap`, `off`, with the reason when there is one."""
    if extra.is_enabled is False:
        return f"off · {_reason(extra.disabled_reason)}" if extra.disabled_reason else "off"
    parts = []
    if extra.used is not None and extra.monthly_limit is not None:
        parts.append(f"{money(extra.used)} / {money(extra.monthly_limit)} spent")
    elif extra.used is not None:
        parts.append(f"{money(extra.used)} spent · no cap")
    elif extra.monthly_limit is not None:
        parts.append(f"cap {money(extra.monthly_limit)}")
    else:
        parts.append("on · no cap")
    if extra.spend_limit_reached:
        parts.append("cap reached")
    if extra.disabled_reason:
        parts.append(_reason(extra.disabled_reason))
    return " · ".join(parts)


def credit_text(window: Window) -> str | None:
    """`$4.00 of $10.00 used` for dollar credits; None when the source gave no amounts."""
    if window.used is None or window.limit is None:
        return None
    return f"{money(window.used)} of {money(window.limit)} used"


def _reason(reason: str) -> str:
    return reason.replace("_", " ")


def plan_label(subscription: str | None, tier: str | None) -> str | None:
    """`Pro`, `Max 5x`, `Max 20x`, `Team`, `Enterprise` from the credentials' plan fields."""
    if not subscription:
        return None
    name = subscription.strip().lower().removeprefix("claude_")
    label = name.capitalize()
    if tier:
        suffix = tier.rsplit("_", 1)[-1]
        if suffix.endswith("x") and suffix[:-1].isdigit():
            label = f"{label} {suffix}"
    return label
