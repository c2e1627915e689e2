"""The usage model: immutable named tuples shared by the loop, the store and the renderers.

`typing.NamedTuple`, not frozen dataclasses: `dataclasses` imports `inspect` (~10 ms) and builds its
methods with `exec` at import time, on every one-shot run. Being tuples, these compare equal to a plain
tuple of the same values and serialize to JSON as lists; change one with `x._replace(field=value)`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final, NamedTuple

from claude_usage.core.times import FIVE_HOURS as FIVE_HOURS
from claude_usage.core.times import SEVEN_DAYS as SEVEN_DAYS


class WindowKind:
    """What a row on screen stands for: the values of `Window.kind` (plain strings, no `enum`)."""

    WINDOW: Final = "window"  # a top-level rolling limit window (five_hour, seven_day, ...)
    LIMIT: Final = "limit"  # an entry of limits[]
    CREDIT: Final = "credit"  # one-time and promotional credits (cinder_cove, wattle_ember, promo_credits)


class Money(NamedTuple):
    """An amount in integer minor units (cents; yen for zero-decimal currencies) and an ISO currency."""

    minor: int
    currency: str


class Window(NamedTuple):
    """One limit as the source gave it.

    `utilization` is a percent (0-100, may exceed 100) exactly as received; `resets_at` is aware UTC.
    `period` is the window's length where it is known (5 h, 7 days), for pace and forecasts.
    """

    key: str
    label: str
    utilization: float
    resets_at: datetime | None
    kind: str = WindowKind.WINDOW  # one of WindowKind's values
    period: timedelta | None = None
    severity: str | None = None
    is_active: bool | None = None
    used: Money | None = None
    limit: Money | None = None
    source: str = "api"
    observed_at: datetime | None = None
    reset_passed: bool = False  # the reset has passed since this number was observed: it is not current
    unconfirmed: bool = False  # a status-line 100 % that no other source confirms (see core/observe.py)


class ExtraUsage(NamedTuple):
    """Paid usage credits (`extra_usage`); money in minor units of `currency`."""

    is_enabled: bool | None
    monthly_limit: Money | None
    used: Money | None
    utilization: float | None
    currency: str
    disabled_reason: str | None = None
    spend_limit_reached: bool | None = None


class Usage(NamedTuple):
    """Everything one reply says about the account's limits."""

    windows: tuple[Window, ...]
    extra_usage: ExtraUsage | None = None
    observed_at: datetime | None = None  # when the reply carrying extra_usage was observed


class Reading(NamedTuple):
    """One good reading: the parsed usage, when and where it came from, the plan, the raw reply."""

    usage: Usage
    fetched_at: datetime
    source: str
    raw: dict[str, Any]  # required: a named tuple's default would be one dict shared by every reading
    plan: str | None = None
