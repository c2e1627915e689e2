"""The account document's per-window rules: a capture never lowers its window, a later reset supersedes,
a whole reply is authoritative, and the status line reads the same truth as the other faces."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from claude_usage.core import document
from claude_usage.core.document import Seen, choose, record_feed, record_reply, shown

NOW = datetime(2026, 11, 24, 12, 49, tzinfo=timezone.utc)
RESET = NOW + timedelta(hours=2, minutes=11)
NEXT_RESET = RESET + timedelta(hours=5)
WEEK = NOW + timedelta(days=3)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def capture(doc: dict[str, Any], at: datetime, value: float, reset: datetime = RESET) -> dict[str, Any]:
    return record_feed(doc, {"five_hour": (value, reset)}, at)


def reply(doc: dict[str, Any], at: datetime, value: float, reset: datetime = RESET) -> dict[str, Any]:
    raw = {"five_hour": {"utilization": value, "resets_at": reset.isoformat()}}
    return record_reply(doc, source="api", raw=raw, plan=None, observed_at=at)


def five(doc: dict[str, Any], now: datetime = NOW) -> tuple[float, str] | None:
    choice = shown(doc, "five_hour", now)
    return None if choice is None else (choice.seen.utilization, choice.seen.source)


def test_idle_session_never_flips_the_current_number() -> None:
    """Two sessions, one idle at 42 and one current at 80, alternating: the store keeps 80 throughout."""
    doc: dict[str, Any] = {}
    seen = []
    for step in range(6):
        doc = capture(doc, ago(60 - step * 5), 42.0 if step % 2 == 0 else 80.0)
        seen.append(five(doc))
    assert [(42.0, "statusline")] + [(80.0, "statusline")] * 5 == seen


def test_lower_capture_writes_nothing() -> None:
    """A capture below the known value of its window leaves the document as it was (no history news)."""
    doc = capture({}, ago(30), 80.0)
    assert doc is capture(doc, ago(5), 42.0)


def test_lower_capture_adds_nothing_pending() -> None:
    """The idle session's old number is never queued for the history: the sawtooth cannot happen."""
    doc = capture({}, ago(30), 80.0)
    for step in range(10):
        doc = capture(doc, ago(29 - step), 42.0 if step % 2 else 80.0)
    assert None is doc.get("pending")


def test_equal_capture_extends_the_sighting() -> None:
    """The same value again moves its last sighting and keeps its first."""
    doc = capture(capture({}, ago(30), 80.0), ago(5), 80.0)
    held = document.feed_windows(doc)["five_hour"]
    assert (ago(30).isoformat(), ago(5).isoformat()) == (held["first_seen_at"], held["observed_at"])


def test_rise_is_recorded_and_the_old_value_queued() -> None:
    """A higher value replaces the held one, which waits in `pending` for the history."""
    doc = capture(capture({}, ago(30), 40.0), ago(5), 45.0)
    assert ((45.0, "statusline"), [40.0]) == (five(doc), [p["utilization"] for p in doc["pending"]])


def test_capture_never_lowers_an_api_value() -> None:
    """Below a known API value of the same window, a capture is not recorded and the API's is shown."""
    doc = capture(reply({}, ago(60), 78.0), ago(5), 37.0)
    assert ((78.0, "api"), {}) == (five(doc), document.feed_windows(doc))


def test_later_reset_supersedes() -> None:
    """A capture of a new window (a later reset) is recorded even below the old window's value."""
    doc = capture(capture({}, ago(60), 90.0), ago(5), 3.0, NEXT_RESET)
    assert (3.0, "statusline") == five(doc)


def test_capture_of_an_earlier_window_is_old_news() -> None:
    """A capture whose reset is earlier than a known current window's is not recorded."""
    doc = capture(capture({}, ago(60), 3.0, NEXT_RESET), ago(5), 90.0)
    assert (3.0, "statusline") == five(doc)


def test_resets_a_few_seconds_apart_are_one_window() -> None:
    """The API's sub-second jitter and the feed's whole seconds name the same window."""
    doc = capture(reply({}, ago(60), 78.0, RESET + timedelta(seconds=0.6)), ago(5), 37.0)
    assert (78.0, "api") == five(doc)


def test_api_reply_is_authoritative_for_its_windows() -> None:
    """A newer reply below an older capture is shown: the API's word on its own windows stands."""
    doc = reply(capture({}, ago(60), 43.0), ago(5), 42.96)
    assert (42.96, "api") == five(doc)


def test_api_reply_retires_older_captures_to_pending() -> None:
    """Recording a reply moves the older captures of its windows to `pending`, for the history."""
    doc = reply(capture({}, ago(60), 43.0), ago(5), 42.96)
    assert ({}, [43.0]) == (document.feed_windows(doc), [p["utilization"] for p in doc["pending"]])


def test_capture_after_a_lower_reply_can_rise_again() -> None:
    """After an authoritative reply, a capture above the reply's value is recorded."""
    doc = capture(reply(capture({}, ago(90), 50.0), ago(60), 44.0), ago(5), 45.0)
    assert (45.0, "statusline") == five(doc)


def test_reply_keeps_newer_captures() -> None:
    """A capture observed after the reply stays (Claude Code's cache can be older than the feed)."""
    doc = capture({}, ago(5), 50.0)
    doc = record_reply(
        doc,
        source="claude_cache",
        raw={"five_hour": {"utilization": 44.0, "resets_at": RESET.isoformat()}},
        plan=None,
        observed_at=ago(600),
    )
    assert (50.0, "statusline") == five(doc)


def test_rounded_feed_above_the_api_shows_the_newer() -> None:
    """The feed's 43 (a rounded 42.96) is newer than the API's 42.96: the newer number is shown."""
    doc = capture(reply({}, ago(60), 42.96), ago(5), 43.0)
    assert (43.0, "statusline") == five(doc)


def test_newer_api_value_beats_a_rounded_capture() -> None:
    """Where the API's value for the same window and reset is newer, the API's is shown (not the rounding)."""
    doc = reply(capture({}, ago(60), 43.0), ago(5), 42.96)
    assert (42.96, "api") == five(doc)


def test_limits_twin_counts_as_the_same_window() -> None:
    """A limits-only reply's session entry stands for five_hour in the status line's reading."""
    raw = {"limits": [{"kind": "session", "percent": 64.0, "resets_at": RESET.isoformat()}]}
    doc = capture(record_reply({}, source="api", raw=raw, plan=None, observed_at=ago(60)), ago(5), 30.0)
    assert (64.0, "api") == five(doc)


def test_model_scoped_limit_is_not_the_twin() -> None:
    """A model's own session limit is not the account-wide five_hour."""
    raw = {"limits": [{"kind": "session", "percent": 64.0, "scope": {"model": {"id": "x"}}}]}
    doc = record_reply({}, source="api", raw=raw, plan=None, observed_at=ago(60))
    assert None is five(doc)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-24T15:00:00.528743+00:00", datetime(2026, 11, 24, 15, 0, 0, 528743, timezone.utc)),
        ("2026-11-24T15:00:00.5Z", datetime(2026, 11, 24, 15, 0, 0, 500000, timezone.utc)),
        (int(RESET.timestamp()), RESET),
        (int(RESET.timestamp()) * 1000, RESET),
        ("soon", None),
        (True, None),
        (None, None),
    ],
)
def test_wire_time(value: object, expected: datetime | None) -> None:
    """Reset times as replies carry them, read without the wire parser."""
    assert expected == document.wire_time(value)


def test_choose_passed_reset_is_kept_as_such() -> None:
    """When every number's reset has passed, the freshest is kept, marked reset_passed."""
    old = Seen("api", 78.0, ago(60), ago(3600))
    assert (old, True, False) == choose([old], NOW)


def test_choose_lone_feed_100_is_unconfirmed() -> None:
    """A status-line 100 no other source confirms is unconfirmed."""
    full = Seen("statusline", 100.0, RESET, ago(5))
    assert (full, False, True) == choose([full, Seen("api", 40.0, RESET, ago(60))], NOW)


def test_choose_feed_100_confirmed() -> None:
    """A status-line 100 with an API 100 beside it is confirmed."""
    full = Seen("statusline", 100.0, RESET, ago(5))
    assert (full, False, False) == choose([full, Seen("api", 100.0, RESET, ago(60))], NOW)


def test_reply_age() -> None:
    """Seconds since the freshest whole reply; None without one."""
    assert (None, 60.0) == (document.reply_age({}, NOW), document.reply_age(reply({}, ago(60), 1.0), NOW))


def test_same_week_from_two_sources_is_shown_once() -> None:
    """The status line's week and the API's week are one window: the higher stands."""
    doc = record_reply(
        {},
        source="api",
        raw={"seven_day": {"utilization": 41.0, "resets_at": WEEK.isoformat()}},
        plan=None,
        observed_at=ago(60),
    )
    doc = record_feed(doc, {"seven_day": (14.0, WEEK)}, ago(5))
    choice = shown(doc, "seven_day", NOW)
    assert (41.0, "api") == (choice.seen.utilization, choice.seen.source) if choice else None


def test_scoped_weekly_limit_is_the_sonnet_week() -> None:
    """A limits-only reply's Sonnet-scoped weekly entry stands for seven_day_sonnet on the status line, as in wire."""
    raw = {
        "limits": [
            {
                "kind": "weekly_scoped",
                "percent": 12.0,
                "resets_at": WEEK.isoformat(),
                "scope": {"model": {"id": "claude-sonnet-4"}},
            }
        ]
    }
    doc = record_reply({}, source="api", raw=raw, plan=None, observed_at=ago(60))
    choice = shown(doc, "seven_day_sonnet", NOW)
    assert 12.0 == (choice.seen.utilization if choice else None)


def test_same_value_with_a_reset_a_second_later_extends_its_sighting() -> None:
    """Claude Code's reset of one window can drift by a second between replies: the same value is no news."""
    doc = capture({}, ago(30), 80.0)
    doc = capture(doc, ago(5), 80.0, RESET + timedelta(seconds=1))
    held = document.feed_windows(doc)["five_hour"]
    assert (None, ago(30).isoformat(), ago(5).isoformat()) == (
        doc.get("pending"),
        held["first_seen_at"],
        held["observed_at"],
    )
