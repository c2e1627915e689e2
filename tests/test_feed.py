"""Claude Code's status-line feed: the glitch guards of sanitize_feed and how record_feed files it."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from claude_usage.core.document import record_feed
from claude_usage.core.feed import sanitize_feed

NOW = datetime(2026, 11, 24, 12, 49, tzinfo=timezone.utc)
SESSION_RESET = NOW + timedelta(hours=2, minutes=11)
WEEK_RESET = NOW + timedelta(days=3)


def epoch(when: datetime) -> int:
    return int(when.timestamp())


def limits(five: object = 37.0, five_reset: object = None, **more: Any) -> dict[str, Any]:
    """A `rate_limits` object with one five_hour entry (reset 2h11m ahead unless given)."""
    reset = epoch(SESSION_RESET) if five_reset is None else five_reset
    return {"five_hour": {"used_percentage": five, "resets_at": reset}, **more}


@pytest.mark.parametrize("rate_limits", [None, [], "rate_limits", 37, True, [{"five_hour": {}}]])
def test_not_an_object_gives_nothing(rate_limits: object) -> None:
    """A `rate_limits` that is not a JSON object yields no windows."""
    assert {} == sanitize_feed(rate_limits, NOW)


def test_realistic_feed_is_kept() -> None:
    """Both windows of a realistic feed come through as (percent, reset)."""
    raw = {
        "five_hour": {"used_percentage": 37.0, "resets_at": epoch(SESSION_RESET)},
        "seven_day": {"used_percentage": 14.2, "resets_at": epoch(WEEK_RESET)},
    }
    expected = {"five_hour": (37.0, SESSION_RESET), "seven_day": (14.2, WEEK_RESET)}
    assert expected == sanitize_feed(raw, NOW)


@pytest.mark.parametrize("entry", [None, [], "37", 37.0, {"used_percentage": 37.0}])
def test_malformed_entry_is_dropped(entry: object) -> None:
    """A window entry that is not an object with a percent and a reset is dropped."""
    assert {} == sanitize_feed({"five_hour": entry}, NOW)


@pytest.mark.parametrize(
    "value",
    [True, False, None, "37", "NaN", "nan", "Infinity", float("nan"), float("inf"), float("-inf"), [37], {"v": 37}],
)
def test_value_that_is_not_a_finite_number_is_dropped(value: object) -> None:
    """Booleans, strings (even "NaN"), null, NaN and infinities are not percentages."""
    assert {} == sanitize_feed(limits(value), NOW)


@pytest.mark.parametrize("value", [-0.1, -1, -100])
def test_negative_value_is_dropped(value: float) -> None:
    """A negative percentage is dropped."""
    assert {} == sanitize_feed(limits(value), NOW)


@pytest.mark.parametrize("value", [101.01, 102, 1767229200, 1.0e300])
def test_value_over_101_is_dropped(value: float) -> None:
    """Over 101 is the epoch-for-percent glitch (anthropics/claude-code#52326), not a percentage."""
    assert {} == sanitize_feed(limits(value), NOW)


@pytest.mark.parametrize("value", [100, 100.0, 100.5, 101, 101.0])
def test_value_from_100_to_101_is_clamped_to_100(value: float) -> None:
    """100 to 101 inclusive is recorded as exactly 100."""
    assert {"five_hour": (100.0, SESSION_RESET)} == sanitize_feed(limits(value), NOW)


@pytest.mark.parametrize("value", [0, 0.0, 14.000000000000002, 99.9])
def test_value_in_range_is_kept_as_a_float(value: float) -> None:
    """A value within 0-100 is kept as it came, as a float."""
    assert {"five_hour": (float(value), SESSION_RESET)} == sanitize_feed(limits(value), NOW)


@pytest.mark.parametrize("reset", [NOW - timedelta(seconds=1), NOW - timedelta(days=3), NOW])
def test_reset_not_in_the_future_is_dropped(reset: datetime) -> None:
    """A window whose reset is now or past has rolled over: its percent is not current."""
    assert {} == sanitize_feed(limits(37.0, epoch(reset)), NOW)


def test_absent_reset_is_dropped() -> None:
    """A window without a reset cannot be checked for a rollover and is dropped."""
    assert {} == sanitize_feed({"five_hour": {"used_percentage": 37.0}}, NOW)


@pytest.mark.parametrize("reset", [True, "soon", "2026-13-01T00:00:00Z", [1], float("nan"), 10**30])
def test_unreadable_reset_is_dropped(reset: object) -> None:
    """A reset that is not a time is dropped, never fatal."""
    assert {} == sanitize_feed(limits(37.0, reset), NOW)


@pytest.mark.parametrize(
    ("key", "ahead"),
    [("five_hour", timedelta(hours=5, minutes=11)), ("seven_day", timedelta(days=7, minutes=11))],
)
def test_reset_further_ahead_than_the_window_is_dropped(key: str, ahead: timedelta) -> None:
    """A reset more than the window's length (plus 10 minutes of slack) ahead is implausible."""
    raw = {key: {"used_percentage": 37.0, "resets_at": epoch(NOW + ahead)}}
    assert {} == sanitize_feed(raw, NOW)


@pytest.mark.parametrize(
    ("key", "ahead"),
    [("five_hour", timedelta(hours=5, minutes=9)), ("seven_day", timedelta(days=7, minutes=9))],
)
def test_reset_within_the_slack_is_kept(key: str, ahead: timedelta) -> None:
    """A reset up to 10 minutes beyond the window's length is kept (clocks disagree a little)."""
    raw = {key: {"used_percentage": 37.0, "resets_at": epoch(NOW + ahead)}}
    assert {key: (37.0, NOW + ahead)} == sanitize_feed(raw, NOW)


@pytest.mark.parametrize(
    "reset", ["2026-11-24T15:00:00Z", "2026-11-24T15:00:00+00:00", "2026-11-24T16:00:00.000+01:00"]
)
def test_iso_reset_is_accepted(reset: str) -> None:
    """An ISO-8601 reset (trailing Z or an offset) is read as well as epoch seconds."""
    expected = {"five_hour": (37.0, datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc))}
    assert expected == sanitize_feed(limits(37.0, reset), NOW)


def test_one_bad_window_leaves_the_other() -> None:
    """A glitch in one window drops that window only."""
    raw = {
        "five_hour": {"used_percentage": 1767229200, "resets_at": epoch(SESSION_RESET)},
        "seven_day": {"used_percentage": 14.2, "resets_at": epoch(WEEK_RESET)},
    }
    assert {"seven_day": (14.2, WEEK_RESET)} == sanitize_feed(raw, NOW)


def test_other_keys_are_ignored() -> None:
    """Only five_hour and seven_day are read; spend_limit and unknown keys are ignored."""
    raw = limits(
        37.0,
        spend_limit={"used_percentage": 50, "resets_at": epoch(SESSION_RESET)},
        seven_day_sonnet={"used_percentage": 12, "resets_at": epoch(WEEK_RESET)},
    )
    assert {"five_hour": (37.0, SESSION_RESET)} == sanitize_feed(raw, NOW)


# -- record_feed ------------------------------------------------------------------------------------


def test_record_feed_into_an_empty_document() -> None:
    """An empty document gets schema 1 and the status line's windows, each stamped with now."""
    expected = {
        "schema": 1,
        "sources": {
            "statusline": {
                "windows": {
                    "five_hour": {
                        "utilization": 37.0,
                        "resets_at": "2026-11-24T15:00:00+00:00",
                        "first_seen_at": "2026-11-24T12:49:00+00:00",
                        "observed_at": "2026-11-24T12:49:00+00:00",
                    }
                }
            }
        },
    }
    reset = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)
    assert expected == record_feed({}, {"five_hour": (37.0, reset)}, NOW)


def test_record_feed_keeps_other_keys() -> None:
    """The budget, the poller and other sources are kept as they were."""
    doc: dict[str, Any] = {
        "schema": 1,
        "sources": {"api": {"observed_at": "2026-11-24T12:00:00+00:00", "raw": {"x": 1}, "plan": "max"}},
        "budget": {"cooldown_until": None, "rate_limited_repeats": 2},
        "poller": {"pid": 4242, "interval_s": 60, "heartbeat_at": "2026-11-24T12:48:30+00:00"},
    }
    new = record_feed(doc, {"five_hour": (37.0, SESSION_RESET)}, NOW)
    kept = {k: new[k] for k in ("budget", "poller")} | {"api": new["sources"]["api"]}
    expected = {k: doc[k] for k in ("budget", "poller")} | {"api": doc["sources"]["api"]}
    assert expected == kept


def test_record_feed_keeps_windows_it_did_not_get() -> None:
    """A seven_day recorded earlier stays when a later feed carries five_hour only."""
    earlier = NOW - timedelta(minutes=5)
    doc = record_feed({}, {"seven_day": (14.2, WEEK_RESET)}, earlier)
    new = record_feed(doc, {"five_hour": (37.0, SESSION_RESET)}, NOW)
    expected = {
        "utilization": 14.2,
        "resets_at": WEEK_RESET.isoformat(),
        "first_seen_at": earlier.isoformat(),
        "observed_at": earlier.isoformat(),
    }
    assert expected == new["sources"]["statusline"]["windows"]["seven_day"]


def test_record_feed_replaces_a_window_it_got() -> None:
    """A newer value of a window replaces the older one with the new time stamp."""
    doc = record_feed({}, {"five_hour": (20.0, SESSION_RESET)}, NOW - timedelta(minutes=5))
    new = record_feed(doc, {"five_hour": (37.0, SESSION_RESET)}, NOW)
    expected = {
        "utilization": 37.0,
        "resets_at": SESSION_RESET.isoformat(),
        "first_seen_at": NOW.isoformat(),
        "observed_at": NOW.isoformat(),
    }
    assert expected == new["sources"]["statusline"]["windows"]["five_hour"]


def test_record_feed_keeps_the_first_sighting_of_an_unchanged_value() -> None:
    """The same value seen again keeps when it was first seen and moves when it was last seen."""
    doc = record_feed({}, {"five_hour": (20.0, SESSION_RESET)}, NOW - timedelta(minutes=5))
    window = record_feed(doc, {"five_hour": (20.0, SESSION_RESET)}, NOW)["sources"]["statusline"]["windows"][
        "five_hour"
    ]
    assert ((NOW - timedelta(minutes=5)).isoformat(), NOW.isoformat()) == (
        window["first_seen_at"],
        window["observed_at"],
    )


def test_record_feed_keeps_a_replaced_value_for_the_history() -> None:
    """A value replaced by a new one is queued, with its first and last sighting, for the next history writer."""
    earlier = NOW - timedelta(minutes=5)
    doc = record_feed({}, {"five_hour": (20.0, SESSION_RESET)}, earlier)
    new = record_feed(doc, {"five_hour": (37.0, SESSION_RESET)}, NOW)
    expected = [
        {
            "key": "five_hour",
            "utilization": 20.0,
            "resets_at": SESSION_RESET.isoformat(),
            "first_seen_at": earlier.isoformat(),
            "observed_at": earlier.isoformat(),
        }
    ]
    assert expected == new["pending"]


def test_record_feed_does_not_change_its_input() -> None:
    """The document passed in is left as it was."""
    doc = record_feed({"budget": {"x": 1}}, {"seven_day": (14.2, WEEK_RESET)}, NOW - timedelta(minutes=5))
    before = copy.deepcopy(doc)
    record_feed(doc, {"five_hour": (37.0, SESSION_RESET)}, NOW)
    assert before == doc


@pytest.mark.parametrize("sources", ["x", [], None, {"statusline": "x"}, {"statusline": {"windows": {}}}])
def test_record_feed_over_garbage_sources(sources: object) -> None:
    """Unreadable `sources` are replaced rather than fatal."""
    new = record_feed({"sources": sources}, {"five_hour": (37.0, SESSION_RESET)}, NOW)
    assert ["five_hour"] == list(new["sources"]["statusline"]["windows"])


@pytest.mark.parametrize("windows", ["x", [1], 5, None])
def test_record_feed_over_garbage_windows(windows: object) -> None:
    """An unreadable `sources.statusline.windows` is replaced rather than fatal."""
    doc = {"sources": {"statusline": {"windows": windows}}}
    new = record_feed(doc, {"five_hour": (37.0, SESSION_RESET)}, NOW)
    assert ["five_hour"] == list(new["sources"]["statusline"]["windows"])
