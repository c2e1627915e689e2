"""Text of percents, levels, durations, reset times, money, usage credits and plans."""

from __future__ import annotations

import re
import string
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claude_usage.core import fmt
from claude_usage.core.fmt import Level
from claude_usage.core.model import ExtraUsage, Money, Window, WindowKind
from claude_usage.core.wire import parse_usage
from tests.conftest import load_fixture

UTC = timezone.utc
CET = timezone(timedelta(hours=1))  # a fixed local zone, one hour ahead of UTC
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # a Tuesday


def window(resets_at: datetime | None, *, utilization: float = 78.0, kind: str = WindowKind.WINDOW) -> Window:
    return Window(key="five_hour", label="Current session", utilization=utilization, resets_at=resets_at, kind=kind)


def extra(
    *,
    used: int | None,
    limit: int | None,
    currency: str = "USD",
    is_enabled: bool | None = True,
    disabled_reason: str | None = None,
    spend_limit_reached: bool | None = None,
) -> ExtraUsage:
    return ExtraUsage(
        is_enabled=is_enabled,
        monthly_limit=None if limit is None else Money(limit, currency),
        used=None if used is None else Money(used, currency),
        utilization=None,
        currency=currency,
        disabled_reason=disabled_reason,
        spend_limit_reached=spend_limit_reached,
    )


# Percent, level, bar ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("utilization", "expected"),
    [(0.0, 0), (0.5, 0), (1.0, 1), (78.0, 78), (99.9, 99), (100.0, 100), (112.4, 112)],
)
def test_percent_is_floor_never_rescaled(utilization: float, expected: int) -> None:
    """The shown percent is the floor of utilization, which is already a percent."""
    assert expected == fmt.percent(utilization)


def test_percent_text_over_100() -> None:
    """A percent over 100 shows as such."""
    assert "112%" == fmt.percent_text(112.4)


@pytest.mark.parametrize(
    ("utilization", "expected"),
    [
        (0.0, Level.CALM),
        (49.0, Level.CALM),
        (49.99, Level.CALM),
        (50.0, Level.WARNING),
        (79.99, Level.WARNING),
        (80.0, Level.ALARM),
        (100.0, Level.ALARM),
        (112.4, Level.ALARM),
    ],
)
def test_level_thresholds(utilization: float, expected: str) -> None:
    """Below 50 is calm, 50 up to 80 a warning, 80 and over an alarm."""
    assert expected == fmt.level(utilization)


@pytest.mark.parametrize(
    ("utilization", "expected"),
    [(-3.0, 0.0), (0.0, 0.0), (12.5, 0.125), (50.0, 0.5), (100.0, 1.0), (112.4, 1.0)],
)
def test_bar_fraction_clamps(utilization: float, expected: float) -> None:
    """The bar fills utilization/100 of its width, clamped to 0-1."""
    assert expected == fmt.bar_fraction(utilization)


@given(st.floats(min_value=0, max_value=1e9))
def test_percent_floor_property(utilization: float) -> None:
    """The shown percent is never more than utilization and less than one below it."""
    shown = fmt.percent(utilization)
    assert True is (shown <= utilization < shown + 1)


@given(st.floats(allow_nan=False))
def test_bar_fraction_always_within_bar(utilization: float) -> None:
    """Any finite or infinite utilization fills between none and all of the bar."""
    assert True is (0.0 <= fmt.bar_fraction(utilization) <= 1.0)


# Durations ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (7860, "2h 11m"),
        (7860.9, "2h 11m"),
        (2 * 86_400 + 21 * 3600 + 59 * 60, "2d 21h"),
        (665, "11m 5s"),
        (42, "42s"),
        (0, "0s"),
        (-5, "0s"),
        (7200, "2h"),
        (86_400, "1d"),
        (60, "1m"),
        (59.9, "59s"),
    ],
)
def test_duration(seconds: float, expected: str) -> None:
    """Durations show two units at most, rounded down."""
    assert expected == fmt.duration(seconds)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (7860, "2h11m"),
        (3 * 86_400 + 4 * 3600, "3d4h"),
        (42 * 60, "42m"),
        (42 * 60 + 30, "42m"),
        (30, "30s"),
        (0, "0s"),
    ],
)
def test_compact_duration(seconds: float, expected: str) -> None:
    """Compact durations drop the spaces and, under an hour, the seconds."""
    assert expected == fmt.compact_duration(seconds)


UNIT_SECONDS = {"d": 86_400, "h": 3600, "m": 60, "s": 1}
# What a duration may leave out, by its largest unit: `2d 21h` drops minutes and seconds, and so on.
DROPPED_BELOW = {"d": 3600, "h": 60, "m": 1, "s": 1}


@given(st.floats(min_value=0, max_value=1e12) | st.integers(min_value=0, max_value=10**12))
def test_duration_reads_back_within_its_precision(seconds: float) -> None:
    """A duration's text, read back, is the input rounded down to its smallest shown unit."""
    parts = re.fullmatch(r"(\d+)([dhms])(?: (\d+)([dhms]))?", fmt.duration(seconds))
    assert parts is not None
    amounts = [(int(parts[1]), parts[2])] + ([(int(parts[3]), parts[4])] if parts[3] else [])
    total = sum(n * UNIT_SECONDS[unit] for n, unit in amounts)
    assert True is (0 <= int(seconds) - total < DROPPED_BELOW[parts[2]])


@given(st.floats(allow_nan=False, allow_infinity=False) | st.integers(min_value=-(10**15), max_value=10**15))
def test_durations_never_crash(seconds: float) -> None:
    """Any finite number of seconds formats, compact or not, without a space in the compact form."""
    assert (True, False) == (bool(fmt.duration(seconds)), " " in fmt.compact_duration(seconds))


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (datetime(2026, 11, 24, 15, 0, 1, tzinfo=UTC), 10_801),
        (datetime(2026, 11, 24, 12, 0, 0, 500_000, tzinfo=UTC), 1),
        (datetime(2026, 11, 24, 11, 0, tzinfo=UTC), 0),
    ],
)
def test_seconds_until(when: datetime, expected: int) -> None:
    """Seconds until a time round up and are never negative."""
    assert expected == fmt.seconds_until(when, NOW)


# Reset text ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "resets_at", "expected"),
    [
        (
            datetime(2026, 11, 24, 12, 49, tzinfo=UTC),
            datetime(2026, 11, 24, 15, 0, 0, 482311, tzinfo=UTC),
            "Resets in 2h 11m (16:00)",
        ),
        (NOW, datetime(2026, 11, 24, 12, 30, tzinfo=UTC), "Resets in 30m (13:30)"),
        (NOW, datetime(2026, 11, 27, 9, 0, tzinfo=UTC), "Resets in 2d 21h (Fri 10:00)"),
        (NOW, datetime(2026, 12, 5, 8, 0, tzinfo=UTC), "Resets in 10d 20h (Dec 5 09:00)"),
    ],
)
def test_reset_text_future(now: datetime, resets_at: datetime, expected: str) -> None:
    """A future reset shows a countdown and its local clock time (with the day when far off)."""
    assert expected == fmt.reset_text(window(resets_at), now, CET)


def test_reset_text_credit_expires() -> None:
    """A credit's reset time is its expiry."""
    credit = window(datetime(2026, 12, 31, tzinfo=UTC), kind=WindowKind.CREDIT)
    assert "Expires in 36d 12h (Dec 31 01:00)" == fmt.reset_text(credit, NOW, CET)


@pytest.mark.parametrize("resets_at", [NOW, NOW - timedelta(seconds=1), NOW - timedelta(days=3)])
def test_reset_text_past_is_resetting(resets_at: datetime) -> None:
    """A reset that has come or gone shows "resetting…", never a negative countdown."""
    assert "resetting…" == fmt.reset_text(window(resets_at), NOW, CET)


@pytest.mark.parametrize(("utilization", "expected"), [(0.0, "Not started"), (12.0, "No reset time given")])
def test_reset_text_without_reset(utilization: float, expected: str) -> None:
    """A window without a reset time says whether it has started."""
    assert expected == fmt.reset_text(window(None, utilization=utilization), NOW, CET)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0, "just now"), (40, "40 s ago"), (185, "3m ago"), (7500, "2h 5m ago")],
)
def test_age(seconds: float, expected: str) -> None:
    """The age of a reading reads naturally."""
    assert expected == fmt.age(seconds)


# Money --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (Money(1234, "USD"), "$12.34"),
        (Money(5, "USD"), "$0.05"),
        (Money(0, "USD"), "$0.00"),
        (Money(880000, "USD"), "$8,800.00"),
        (Money(-1234, "USD"), "-$12.34"),
        (Money(1234, "usd"), "$12.34"),
        (Money(20000, "EUR"), "€200.00"),
        (Money(1234, "GBP"), "£12.34"),
        (Money(1234, "AUD"), "A$12.34"),
        (Money(1234, "CHF"), "CHF 12.34"),
        (Money(1500, "JPY"), "¥1,500"),
        (Money(3000, "KRW"), "₩3,000"),
        (Money(12345, "VND"), "₫12,345"),
        (Money(500, "CLP"), "CLP 500"),
        (Money(10**17 + 1, "USD"), "$1,000,000,000,000,000.01"),
    ],
)
def test_money(amount: Money, expected: str) -> None:
    """Minor units show with the currency's symbol or code and its decimals (none for JPY, KRW, VND)."""
    assert expected == fmt.money(amount)


CURRENCIES = st.sampled_from(["USD", "EUR", "GBP", "JPY", "KRW", "VND", "INR", "CNY", "AUD", "CHF", "usd"]) | st.text(
    alphabet=string.ascii_uppercase, min_size=3, max_size=3
)
SYMBOLS = "$€£¥₩₫₹"


@given(st.builds(Money, st.integers(min_value=-(10**30), max_value=10**30), CURRENCIES))
def test_money_shows_symbol_or_code(amount: Money) -> None:
    """Any amount in any currency formats with the currency's symbol or code."""
    text = fmt.money(amount)
    assert True is (amount.currency.upper() in text or any(symbol in text for symbol in SYMBOLS))


@given(st.builds(Money, st.integers(min_value=-(10**30), max_value=10**30), CURRENCIES))
def test_money_digits_round_trip(amount: Money) -> None:
    """The digits shown are exactly the minor units, and the sign shows for a negative amount."""
    text = fmt.money(amount)
    digits = int("".join(ch for ch in text if ch.isdigit()))
    assert (abs(amount.minor), amount.minor < 0) == (digits, text.startswith("-"))


def test_credit_text() -> None:
    """A dollar credit shows what was used of its limit."""
    credit = Window(
        key="wattle_ember",
        label="Credit",
        utilization=40.0,
        resets_at=None,
        kind=WindowKind.CREDIT,
        used=Money(400, "USD"),
        limit=Money(1000, "USD"),
    )
    assert "$4.00 of $10.00 used" == fmt.credit_text(credit)


def test_credit_text_without_amounts() -> None:
    """A credit without amounts has no money line."""
    assert None is fmt.credit_text(window(None))


# Usage credits ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        (extra(used=1234, limit=5000), "$12.34 / $50.00 spent"),
        (extra(used=1500, limit=3000, currency="JPY"), "¥1,500 / ¥3,000 spent"),
        (extra(used=880000, limit=None), "$8,800.00 spent · no cap"),
        (extra(used=None, limit=None, is_enabled=False), "off"),
        (
            extra(used=None, limit=None, is_enabled=False, disabled_reason="out_of_credits"),
            "off · out of credits",
        ),
        (
            extra(used=20000, limit=20000, currency="EUR", spend_limit_reached=True),
            "€200.00 / €200.00 spent · cap reached",
        ),
        (extra(used=None, limit=5000), "cap $50.00"),
        (extra(used=None, limit=None), "on · no cap"),
    ],
)
def test_extra_usage_text(usage: ExtraUsage, expected: str) -> None:
    """Usage credits read as spent of cap, spent with no cap, or off."""
    assert expected == fmt.extra_usage_text(usage)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("max-typical", "$12.34 / $50.00 spent"),
        ("yen-credits", "¥1,500 / ¥3,000 spent"),
        ("enterprise-nulls", "$8,800.00 spent · no cap"),
        ("pro-fresh-window", "off"),
        ("over-limit-with-credit", "€200.00 / €200.00 spent · cap reached"),
    ],
)
def test_extra_usage_text_of_fixture(name: str, expected: str) -> None:
    """A sample reply's usage credits read as Claude Code shows them."""
    usage = parse_usage(load_fixture(name)).extra_usage
    assert usage is not None
    assert expected == fmt.extra_usage_text(usage)


# Plan ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subscription", "tier", "expected"),
    [
        ("pro", None, "Pro"),
        ("max", "default_claude_max_5x", "Max 5x"),
        ("max", "default_claude_max_20x", "Max 20x"),
        ("max", None, "Max"),
        ("claude_max", "default_claude_max_20x", "Max 20x"),
        ("team", None, "Team"),
        ("enterprise", "some_opaque_tier", "Enterprise"),
        (None, None, None),
        ("", "default_claude_max_5x", None),
    ],
)
def test_plan_label(subscription: str | None, tier: str | None, expected: str | None) -> None:
    """The plan reads Pro, Max 5x, Max 20x, Team or Enterprise; nothing without a subscription type."""
    assert expected == fmt.plan_label(subscription, tier)
