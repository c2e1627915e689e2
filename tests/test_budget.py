"""The polling budget: cooldowns after 429, retry spacing, and what `r` may do, with plain datetimes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from claude_usage.core.budget import PollState, cooldown_seconds, error_retry_seconds, min_interval

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def rate_limited(times: int, retry_after_s: float | None = None) -> PollState:
    """The state after `times` 429s in a row, one at each cooldown's end."""
    state = PollState()
    now = T0
    for _ in range(times):
        state = state.after_rate_limit(now, retry_after_s)
        now = state.next_due or now
    return state


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


# PollState ----------------------------------------------------------------------------------------


def test_fresh_state_is_due() -> None:
    """A poller that never asked is due at once."""
    assert (True, False) == (PollState().due(T0), PollState().cooling_down(T0))


def test_after_success_due_after_interval() -> None:
    """After a good reading the next one is due one interval later, not before."""
    state = PollState().after_success(T0, 60.0)
    assert (at(60), False, True) == (state.next_due, state.due(at(59.9)), state.due(at(60)))


def test_after_success_forgets_failures_and_cooldown() -> None:
    """A good reading clears the failure count, the 429 count and the cooldown."""
    state = rate_limited(2).after_failure(at(900), 60.0).after_success(at(960), 60.0)
    assert PollState(last_attempt=at(960), next_due=at(1020)) == state


def test_after_failure_backs_off() -> None:
    """Repeated transient failures wait 5, 10, 20 s, each from its own attempt."""
    state = PollState().after_failure(T0, 60.0).after_failure(at(5), 60.0).after_failure(at(15), 60.0)
    assert (3, at(35)) == (state.failures, state.next_due)


def test_after_rate_limit_cools_down_five_minutes() -> None:
    """A 429 without Retry-After cools down for 5 minutes."""
    state = PollState().after_rate_limit(T0, None)
    assert (at(300), at(300), 1) == (state.cooldown_until, state.next_due, state.rate_limited_repeats)


def test_after_rate_limit_honours_retry_after() -> None:
    """A 429 with Retry-After cools down for that long."""
    assert at(90) == PollState().after_rate_limit(T0, 90.0).cooldown_until


def test_repeated_rate_limits_double() -> None:
    """Each 429 in a row doubles the cooldown: 5, 10, 20, 40 minutes, then an hour."""
    cooldowns = []
    state = PollState()
    now = T0
    for _ in range(6):
        state = state.after_rate_limit(now, None)
        assert state.cooldown_until is not None
        cooldowns.append((state.cooldown_until - now).total_seconds())
        now = state.cooldown_until
    assert [300.0, 600.0, 1200.0, 2400.0, 3600.0, 3600.0] == cooldowns


def test_rate_limit_after_success_starts_over() -> None:
    """A 429 after a good reading cools down for 5 minutes again."""
    state = rate_limited(3).after_success(at(10_000), 60.0).after_rate_limit(at(10_060), None)
    assert at(10_360) == state.cooldown_until


def test_cooling_down_until_cooldown_ends() -> None:
    """The poller is cooling down before the cooldown's end and not at it."""
    state = PollState().after_rate_limit(T0, None)
    assert (True, False) == (state.cooling_down(at(299)), state.cooling_down(at(300)))


@pytest.mark.parametrize(("interval_s", "expected"), [(60.0, at(5)), (1.0, at(1))])
def test_after_auth_wait_rechecks_store_soon(interval_s: float, expected: datetime) -> None:
    """Without usable credentials the store is re-read after 5 s, or sooner on a short interval."""
    assert expected == PollState().after_auth_wait(T0, interval_s).next_due


# Asking now (`r`) ---------------------------------------------------------------------------------


def test_asked_now_polls_at_once() -> None:
    """Asking long after the last attempt makes the poller due now."""
    state = PollState().after_success(T0, 60.0).asked_now(at(30), 10.0)
    assert (at(30), True) == (state.next_due, state.due(at(30)))


def test_asked_now_without_history_polls_at_once() -> None:
    """Asking before any attempt makes the poller due now."""
    assert T0 == PollState().asked_now(T0, 10.0).next_due


def test_asked_now_respects_spacing() -> None:
    """Asking right after an attempt waits until the minimum spacing has passed."""
    state = PollState().after_success(T0, 60.0).asked_now(at(3), 10.0)
    assert (at(10), False) == (state.next_due, state.due(at(3)))


def test_asked_now_never_delays() -> None:
    """Asking never pushes back a poll that was already due sooner."""
    state = PollState().after_failure(T0, 60.0).asked_now(at(1), 10.0)
    assert at(5) == state.next_due


def test_asked_now_respects_cooldown() -> None:
    """Asking while cooling down after a 429 changes nothing."""
    state = PollState().after_rate_limit(T0, None)
    assert state == state.asked_now(at(60), 10.0)
