"""Several sources in one account document, merged into what is shown: freshest first, resets and 100 % checked."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from claude_usage.core.model import Money, Usage, Window
from claude_usage.core.observe import merge, needs_refresh, record_feed, record_reading, usages

NOW = datetime(2026, 11, 24, 12, 49, tzinfo=timezone.utc)
SESSION_RESET = NOW + timedelta(hours=2, minutes=11)
WEEK_RESET = NOW + timedelta(days=3)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def window(value: float, reset: datetime = SESSION_RESET) -> dict[str, Any]:
    return {"utilization": value, "resets_at": reset.isoformat()}


def api(doc: dict[str, Any], raw: dict[str, Any], observed_at: datetime, source: str = "api") -> dict[str, Any]:
    """`doc` with a whole reply recorded under `source`."""
    return record_reading(doc, source=source, raw=raw, plan="max", observed_at=observed_at)


def feed(doc: dict[str, Any], observed_at: datetime, **windows: tuple[float, datetime]) -> dict[str, Any]:
    """`doc` with status-line windows recorded."""
    return record_feed(doc, dict(windows), observed_at)


def shown(doc: dict[str, Any], now: datetime = NOW) -> dict[str, Window]:
    """The merged windows of `doc`, by key."""
    return {w.key: w for w in merge(usages(doc), now).windows}


def test_empty_document_has_no_usages() -> None:
    """A document without sources yields nothing."""
    assert [] == usages({})


@pytest.mark.parametrize(
    "sources",
    [
        "x",
        {"api": "x"},
        {"api": {"observed_at": "2026-11-24T12:48:00+00:00", "raw": "x"}},
        {"api": {"raw": {"five_hour": {"utilization": 1.0, "resets_at": None}}}},
        {"claude_cache": {"observed_at": "yesterday", "raw": {}}},
        {"demo": {"observed_at": "2026-11-24T12:48:00+00:00", "raw": {"five_hour": "full"}}},
        {"statusline": {"windows": {"five_hour": {"utilization": "37", "observed_at": "2026-11-24T12:48:00+00:00"}}}},
        {"statusline": {"windows": {"five_hour": {"utilization": 37.0}}}},
        {"statusline": "x"},
    ],
)
def test_unreadable_sources_are_skipped(sources: object) -> None:
    """Entries without a readable time or reply are skipped, never fatal."""
    assert [] == usages({"sources": sources})


def test_freshest_source_wins() -> None:
    """Of two whole readings, the newer one's number is shown, with its source."""
    doc = api({}, {"five_hour": window(50.0)}, ago(600))
    doc = api(doc, {"five_hour": window(60.0)}, ago(300), source="claude_cache")
    five = shown(doc)["five_hour"]
    assert (60.0, "claude_cache", ago(300)) == (five.utilization, five.source, five.observed_at)


def test_each_limit_comes_from_the_freshest_source_that_has_it() -> None:
    """A limit the newest reading lacks comes from an older reading that has it."""
    doc = api({}, {"five_hour": window(50.0), "seven_day_sonnet": window(12.0, WEEK_RESET)}, ago(600))
    doc = api(doc, {"five_hour": window(60.0)}, ago(300), source="claude_cache")
    sonnet = shown(doc)["seven_day_sonnet"]
    assert (12.0, "api") == (sonnet.utilization, sonnet.source)


def test_newer_status_line_value_wins_over_the_api() -> None:
    """A higher status-line number observed after the API reading is shown, marked as from the status line."""
    doc = api({}, {"five_hour": window(30.0)}, ago(60))
    doc = feed(doc, ago(5), five_hour=(37.0, SESSION_RESET))
    five = shown(doc)["five_hour"]
    assert (37.0, "statusline", ago(5)) == (five.utilization, five.source, five.observed_at)


def test_newer_but_lower_status_line_value_does_not_lower_the_window() -> None:
    """A capture below what the API said for the same window is an idle session's old news: the API's is shown."""
    doc = api({}, {"five_hour": window(78.0)}, ago(60))
    doc = feed(doc, ago(5), five_hour=(37.0, SESSION_RESET))
    five = shown(doc)["five_hour"]
    assert (78.0, "api", ago(60)) == (five.utilization, five.source, five.observed_at)


def test_newer_api_value_wins_over_the_status_line() -> None:
    """An API reading observed after the status line's number is shown instead of it."""
    doc = feed({}, ago(60), five_hour=(37.0, SESSION_RESET))
    doc = api(doc, {"five_hour": window(78.0)}, ago(5))
    five = shown(doc)["five_hour"]
    assert (78.0, "api") == (five.utilization, five.source)


def test_status_line_value_is_not_the_highest_but_the_newest() -> None:
    """Two captures disagree: the newer one is shown even though it is lower."""
    doc = api({}, {"seven_day": window(41.0, WEEK_RESET)}, ago(5))
    doc = feed(doc, ago(60), seven_day=(55.0, WEEK_RESET))
    assert 41.0 == shown(doc)["seven_day"].utilization


def test_reset_passed_in_every_source() -> None:
    """A window whose reset has passed in every source is kept only as reset_passed."""
    doc = api({}, {"five_hour": window(78.0, ago(60))}, ago(3 * 3600))
    doc = feed(doc, ago(2 * 3600), five_hour=(80.0, ago(60)))
    assert True is shown(doc)["five_hour"].reset_passed


def test_current_window_is_not_reset_passed() -> None:
    """A window whose reset is still ahead is current."""
    doc = api({}, {"five_hour": window(78.0)}, ago(60))
    assert False is shown(doc)["five_hour"].reset_passed


def test_older_current_value_beats_a_newer_one_whose_reset_passed() -> None:
    """A number from before a rollover is never shown when a current one exists."""
    doc = api({}, {"five_hour": window(3.0)}, ago(600))
    doc = feed(doc, ago(5), five_hour=(90.0, ago(1)))
    five = shown(doc)["five_hour"]
    assert (3.0, "api", False) == (five.utilization, five.source, five.reset_passed)


def test_lone_status_line_100_is_unconfirmed() -> None:
    """A status-line 100 % that no other source confirms is unconfirmed."""
    doc = feed({}, ago(5), five_hour=(100.0, SESSION_RESET))
    assert True is shown(doc)["five_hour"].unconfirmed


def test_status_line_100_confirmed_by_the_api() -> None:
    """A status-line 100 % is confirmed by an older but current API reading at 100 %."""
    doc = api({}, {"five_hour": window(100.0)}, ago(600))
    doc = feed(doc, ago(5), five_hour=(100.0, SESSION_RESET))
    five = shown(doc)["five_hour"]
    assert ("statusline", False) == (five.source, five.unconfirmed)


@pytest.mark.parametrize("value", [100.4, 120.0])
def test_api_value_over_100_stands_against_the_capped_feed(value: float) -> None:
    """Claude Code caps its feed at 100: an API reading above it is the better number and is shown, confirmed."""
    doc = api({}, {"five_hour": window(value)}, ago(600))
    doc = feed(doc, ago(5), five_hour=(100.0, SESSION_RESET))
    five = shown(doc)["five_hour"]
    assert (value, "api", False) == (five.utilization, five.source, five.unconfirmed)


def test_status_line_100_against_a_lower_api_value_is_unconfirmed() -> None:
    """An API reading below 100 % does not confirm a status-line 100 %."""
    doc = api({}, {"five_hour": window(99.9)}, ago(600))
    doc = feed(doc, ago(5), five_hour=(100.0, SESSION_RESET))
    assert True is shown(doc)["five_hour"].unconfirmed


def test_api_100_is_not_unconfirmed() -> None:
    """Only a status-line value can be unconfirmed: an API 100 % is what the endpoint says."""
    doc = api({}, {"five_hour": window(100.0)}, ago(5))
    assert False is shown(doc)["five_hour"].unconfirmed


def test_status_line_below_100_is_not_unconfirmed() -> None:
    """A status-line 99 % needs no confirmation."""
    doc = feed({}, ago(5), five_hour=(99.0, SESSION_RESET))
    assert False is shown(doc)["five_hour"].unconfirmed


def test_extra_usage_comes_from_the_freshest_whole_reading() -> None:
    """Extra usage (money) is taken from the newest reply that carries it, with that reply's time."""
    extra = {"is_enabled": True, "monthly_limit": 5000, "utilization": 24.68, "currency": "USD"}
    doc = api({}, {"extra_usage": {**extra, "used_credits": 1234.0}}, ago(600))
    doc = api(doc, {"extra_usage": {**extra, "used_credits": 2000.0}}, ago(300), source="claude_cache")
    doc = feed(doc, ago(5), five_hour=(37.0, SESSION_RESET))
    merged = merge(usages(doc), NOW)
    assert merged.extra_usage is not None
    assert (Money(2000, "USD"), ago(300)) == (merged.extra_usage.used, merged.observed_at)


def test_no_extra_usage_from_the_status_line_alone() -> None:
    """The status line carries no money: extra usage stays unknown."""
    doc = feed({}, ago(5), five_hour=(37.0, SESSION_RESET))
    merged = merge(usages(doc), NOW)
    assert (None, None) == (merged.extra_usage, merged.observed_at)


# -- needs_refresh ----------------------------------------------------------------------------------


def test_nothing_known_needs_a_refresh() -> None:
    """With nothing at all, a reading is needed."""
    assert True is needs_refresh(Usage(windows=()), NOW, 60.0)


def test_fresh_reading_needs_no_refresh() -> None:
    """Numbers observed 10 s ago are fresh enough for a max age of 60 s."""
    doc = api({}, {"five_hour": window(78.0), "seven_day": window(41.0, WEEK_RESET)}, ago(10))
    assert False is needs_refresh(merge(usages(doc), NOW), NOW, 60.0)


def test_old_reading_needs_a_refresh() -> None:
    """Numbers observed 2 minutes ago are too old for a max age of 60 s."""
    doc = api({}, {"five_hour": window(78.0)}, ago(120))
    assert True is needs_refresh(merge(usages(doc), NOW), NOW, 60.0)


def test_oldest_number_decides() -> None:
    """A fresh status-line number does not hide an old API number shown beside it."""
    doc = api({}, {"five_hour": window(78.0), "seven_day_sonnet": window(12.0, WEEK_RESET)}, ago(120))
    doc = feed(doc, ago(1), five_hour=(37.0, SESSION_RESET))
    assert True is needs_refresh(merge(usages(doc), NOW), NOW, 60.0)


def test_unconfirmed_100_needs_a_refresh() -> None:
    """A fresh but unconfirmed status-line 100 % asks for a confirming reading."""
    doc = feed({}, ago(1), five_hour=(100.0, SESSION_RESET))
    assert True is needs_refresh(merge(usages(doc), NOW), NOW, 60.0)


def test_reset_passed_needs_a_refresh() -> None:
    """A window that has reset since it was observed asks for a new reading."""
    doc = api({}, {"five_hour": window(78.0, ago(1))}, ago(10))
    assert True is needs_refresh(merge(usages(doc), NOW), NOW, 60.0)
