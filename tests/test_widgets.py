"""Rendering the dashboard into a plain console at 32, 40 and 100 columns."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
from rich.console import Console

from claude_usage.core.model import Usage
from claude_usage.core.wire import parse_usage
from claude_usage.ui.widgets import Dashboard, Frame
from tests.conftest import load_fixture

NOW = datetime(2026, 11, 24, 12, 49, 0, tzinfo=timezone.utc)
UTC = timezone.utc
USABLE = [
    "max-typical",
    "limits-only",
    "future-keys",
    "enterprise-nulls",
    "over-limit-with-credit",
    "pro-fresh-window",
    "yen-credits",
]


def _usage(name: str) -> Usage:
    return parse_usage(load_fixture(name), observed_at=NOW)


def render(frame: Frame, width: int) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False)
    console.print(Dashboard(frame))
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(out, str)
    return out


def _frame(name: str, **changes: object) -> Frame:
    fields: dict[str, object] = {"now": NOW, "tz": UTC, "plan": "Max 5x", "updated_at": NOW, **changes}
    return Frame(usage=_usage(name), **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("width", [32, 40, 100])
@pytest.mark.parametrize("name", USABLE)
def test_no_line_is_wider_than_the_console(name: str, width: int) -> None:
    """Every fixture renders within 32, 40 and 100 columns."""
    out = render(_frame(name, live=True), width)
    assert width >= max(len(line) for line in out.splitlines())


@pytest.mark.parametrize("width", [32, 40, 100])
def test_max_typical_shows_every_limit(width: int) -> None:
    """The typical Max reply shows its three windows, percents, reset and usage credits."""
    out = render(_frame("max-typical"), width)
    for text in ("Current session", "78%", "41%", "12%", "Resets in 2h 11m (15:00)", "$12.34 / $50.00 spent"):
        assert text in out


def test_roomy_layout_puts_one_limit_per_line() -> None:
    """At 100 columns the label, bar, percent and reset share one line."""
    out = render(_frame("max-typical"), 100)
    line = next(line for line in out.splitlines() if "Current session" in line)
    assert "78%" in line
    assert "Resets in 2h 11m (15:00)" in line
    assert "█" in line


def test_compact_layout_has_no_border() -> None:
    """At 32 columns there is no panel border, one column of compact bars."""
    out = render(_frame("max-typical"), 32)
    assert "╭" not in out
    assert "Claude usage · Max 5x" in out


def test_over_100_is_shown_as_such_with_a_full_bar() -> None:
    """A utilization over 100 shows its own percent and a full bar."""
    raw = {"five_hour": {"utilization": 112.7, "resets_at": "2026-11-24T15:00:00+00:00"}}
    out = render(Frame(usage=parse_usage(raw), now=NOW, tz=UTC, updated_at=NOW), 100)
    line = next(line for line in out.splitlines() if "Current session" in line)
    assert "112%" in line
    assert "░" not in line


def test_a_passed_reset_says_resetting() -> None:
    """A reset in the past shows resetting…, never a negative countdown."""
    out = render(_frame("max-typical", now=NOW + timedelta(hours=3)), 100)
    assert "resetting…" in out
    assert "-" not in out.split("Current session")[1].split("\n")[0]


def test_nothing_left_says_no_active_limits() -> None:
    """A reply with every window null says No active limits."""
    raw = {"five_hour": None, "seven_day": None}
    assert "No active limits" in render(Frame(usage=parse_usage(raw), now=NOW, tz=UTC, updated_at=NOW), 40)


def test_enterprise_with_only_credits_says_no_active_limits_and_shows_credits() -> None:
    """An account with only usage credits says so and shows the spend with no cap."""
    out = render(_frame("enterprise-nulls"), 100)
    assert "No active limits" in out
    assert "$8,800.00 spent · no cap" in out


def test_yen_credits_have_no_decimals() -> None:
    """JPY usage credits show whole yen."""
    assert "¥1,500 / ¥3,000 spent" in render(_frame("yen-credits"), 100)


def test_credits_off() -> None:
    """Usage credits that are off say off."""
    out = render(_frame("pro-fresh-window"), 100)
    line = next(line for line in out.splitlines() if "Usage credits" in line)
    assert "off" in line


def test_limits_only_account_shows_its_limits() -> None:
    """An account whose windows come only through limits[] shows each of them."""
    out = render(_frame("limits-only"), 100)
    for text in ("Current session", "64%", "Current week (all models)", "88%", "Current week (Opus)", "35%"):
        assert text in out


def test_stale_reading_shows_its_age_and_the_problem() -> None:
    """During a failure the reading is marked stale with its age and one line saying what went wrong."""
    frame = _frame("max-typical", now=NOW + timedelta(minutes=3), problem="cannot reach http://127.0.0.1:9")
    out = render(frame, 100)
    assert "Stale: last reading 12:49:00, 3m ago" in out
    assert "cannot reach http://127.0.0.1:9" in out


def test_cooling_down_counts_down_to_the_next_try() -> None:
    """While rate limited the screen says when the next try is."""
    frame = _frame("max-typical", live=True, cooling_until=NOW + timedelta(minutes=4, seconds=10))
    assert "rate limited · next try in 4m 10s" in render(frame, 100)


def test_live_frame_shows_next_reading_and_keys() -> None:
    """A live frame says when the next reading is due and shows the key hints."""
    frame = _frame("max-typical", live=True, next_due=NOW + timedelta(seconds=42))
    out = render(frame, 100)
    assert "next reading in 42s (12:49:42)" in out
    assert "API · just now" in out
    assert "q quit" in out


def test_demo_title() -> None:
    """The demo says DEMO in its title."""
    assert "DEMO" in render(_frame("max-typical", demo=True), 40)
