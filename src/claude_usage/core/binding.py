"""What is blocking you: the one limit that binds, and why.

Rules: among the limits that are used up (at 100 % or more, or a `limits[]` entry whose severity is
critical while it is active) the binding one is the one that frees up last (nothing runs before it does);
if none is used up, the one forecast to run out first. Credits (one-time and promotional) are not limits.
The reason says which rule applied and what the paid usage credits can do about it. Pure.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

from claude_usage.core.model import WindowKind

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from claude_usage.core.model import ExtraUsage, Usage, Window
    from claude_usage.core.pace import Forecast


class Binding(NamedTuple):
    """The binding limit: its key and label, why it binds, and when it frees up (its reset)."""

    key: str
    label: str
    reason: str
    free_at: datetime | None


def used_up(window: Window) -> bool:
    """At or over 100 % (as shown: the floor), or a critical, active `limits[]` entry."""
    if window.reset_passed or window.unconfirmed:
        return False  # not current, or a status-line 100 % nobody confirms
    critical = window.kind == WindowKind.LIMIT and window.severity == "critical" and window.is_active is True
    return math.floor(window.utilization) >= 100 or critical


def credits_state(extra: ExtraUsage | None) -> str | None:
    """`usage credits on`, `usage credits off (out of credits)`, `usage credit cap reached`, or None."""
    if extra is None:
        return None
    if extra.is_enabled is False:
        reason = f" ({extra.disabled_reason.replace('_', ' ')})" if extra.disabled_reason else ""
        return f"usage credits off{reason}"
    if extra.spend_limit_reached:
        return "usage credit cap reached"
    if extra.disabled_reason:
        return f"usage credits unavailable ({extra.disabled_reason.replace('_', ' ')})"
    return "usage credits on" if extra.is_enabled else None


def _latest_reset(window: Window) -> float:
    return window.resets_at.timestamp() if window.resets_at else math.inf  # no reset known: frees up last


def binding(usage: Usage, forecasts: Mapping[str, Forecast], now: datetime) -> Binding | None:
    """The limit that binds now, or the one forecast to run out first; None when nothing is in sight."""
    limits = [w for w in usage.windows if w.kind != WindowKind.CREDIT and not w.reset_passed]
    credits = credits_state(usage.extra_usage)
    suffix = f"; {credits}" if credits else ""
    blocked = [w for w in limits if used_up(w)]
    if blocked:
        window = max(blocked, key=_latest_reset)
        why = "critical" if math.floor(window.utilization) < 100 else f"used up ({math.floor(window.utilization)}%)"
        return Binding(window.key, window.label, f"{why}{suffix}", window.resets_at)
    running_out = []
    for window in limits:
        forecast = forecasts.get(window.key)
        if forecast is not None and forecast.before_reset and forecast.exhausts_at is not None:
            running_out.append((forecast.exhausts_at, window))
    if not running_out:
        return None
    _, window = min(running_out, key=lambda pair: pair[0])
    return Binding(window.key, window.label, f"forecast to run out first{suffix}", window.resets_at)
