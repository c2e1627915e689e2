"""The polling budget: cooldowns after 429, retry spacing, and what `r` may do, with plain datetimes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from claude_usage.core.budget import cooldown_seconds, error_retry_seconds, min_interval

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# Intervals and cooldowns --------------------------------------------------------------------------


@pytest.mark.parametrize(("loopback", "expected"), [(False, 10.0), (True, 1.0)])
def test_min_interval(loopback: bool, expected: float) -> None:
    """A remote endpoint is asked at most every 10 s, a loopback one every second."""
    assert expected == min_interval(loopback)


@pytest.mark.parametrize(
    ("retry_after_s", "repeats", "expected"),
    [
        (None, 1, 300.0),
        (None, 2, 600.0),
        (None, 3, 1200.0),
        (None, 4, 2400.0),
        (None, 5, 3600.0),
        (None, 12, 3600.0),
        (0.0, 1, 300.0),
        (0.0, 3, 1200.0),
        (120.0, 1, 120.0),
        (120.0, 4, 120.0),
        (7200.0, 1, 3600.0),
    ],
)
def test_cooldown_seconds(retry_after_s: float | None, repeats: int, expected: float) -> None:
    """Retry-After wins when positive; else 5 minutes doubling on repeats; never over an hour."""
    assert expected == cooldown_seconds(retry_after_s, repeats)


@pytest.mark.parametrize(("failures", "expected"), [(1, 5.0), (2, 10.0), (3, 20.0), (4, 40.0), (5, 60.0), (9, 60.0)])
def test_error_retry_seconds(failures: int, expected: float) -> None:
    """Transient failures retry after 5 s, doubling, never later than the interval."""
    assert expected == error_retry_seconds(failures, 60.0)
