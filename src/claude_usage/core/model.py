"""The usage model: frozen, slotted dataclasses shared by the loop, the store and the renderers."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from claude_usage.core.times import FIVE_HOURS as FIVE_HOURS
from claude_usage.core.times import SEVEN_DAYS as SEVEN_DAYS


class WindowKind(str, enum.Enum):
    """What a row on screen stands for."""

    WINDOW = "window"  # a top-level rolling limit window (five_hour, seven_day, ...)
    LIMIT = "limit"  # an entry of limits[]
    CREDIT = "credit"  # one-time and promotional credits (cinder_cove, wattle_ember, promo_credits)


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in integer minor units (cents; yen for zero-decimal currencies) and an ISO currency."""

    minor: int
    currency: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Window:
    """One limit as the source gave it.

    `utilization` is a percent (0-100, may exceed 100) exactly as received; `resets_at` is aware UTC.
    `period` is the window's length where it is known (5 h, 7 days), for pace and forecasts.
    """

    key: str
    label: str
    utilization: float
    resets_at: datetime | None
    kind: WindowKind = WindowKind.WINDOW
    period: timedelta | None = None
    severity: str | None = None
    is_active: bool | None = None
    used: Money | None = None
    limit: Money | None = None
    source: str = "api"
    observed_at: datetime | None = None
    reset_passed: bool = False  # the reset has passed since this number was observed: it is not current
    unconfirmed: bool = False  # a status-line 100 % that no other source confirms (see core/observe.py)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExtraUsage:
    """Paid usage credits (`extra_usage`); money in minor units of `currency`."""

    is_enabled: bool | None
    monthly_limit: Money | None
    used: Money | None
    utilization: float | None
    currency: str
    disabled_reason: str | None = None
    spend_limit_reached: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
    """Everything one reply says about the account's limits."""

    windows: tuple[Window, ...]
    extra_usage: ExtraUsage | None = None
    observed_at: datetime | None = None  # when the reply carrying extra_usage was observed


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading:
    """One good reading: the parsed usage, when and where it came from, the plan, the raw reply."""

    usage: Usage
    fetched_at: datetime
    source: str
    plan: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)
