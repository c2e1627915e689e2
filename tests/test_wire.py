"""The reply parser: every sample reply, the tolerance rules, wire times, and arbitrary JSON."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claude_usage.core.model import FIVE_HOURS, SEVEN_DAYS, ExtraUsage, Money, Usage, Window, WindowKind
from claude_usage.core.wire import (
    MAX_KEY_CHARS,
    MAX_TEXT_CHARS,
    in_band_error,
    parse_retry_after,
    parse_time,
    parse_usage,
    safe_text,
)
from claude_usage.errors import BadReply
from tests import strategies
from tests.conftest import fixture_names, load_fixture

UTC = timezone.utc
SESSION_RESET = datetime(2026, 11, 24, 15, 0, 0, 482311, tzinfo=UTC)
WEEK_RESET = datetime(2026, 11, 27, 9, 0, 0, 482311, tzinfo=UTC)
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

# (key, label, utilization, resets_at) of every window each sample reply holds, in display order.
FIXTURE_WINDOWS: dict[str, list[tuple[str, str, float, datetime | None]]] = {
    "max-typical": [
        ("five_hour", "Current session", 78.0, SESSION_RESET),
        ("seven_day", "Current week (all models)", 41.0, WEEK_RESET),
        ("seven_day_sonnet", "Current week (Sonnet only)", 12.0, WEEK_RESET),
    ],
    "limits-only": [
        ("limits.session", "Current session", 64.0, SESSION_RESET),
        ("limits.weekly_all", "Current week (all models)", 88.5, WEEK_RESET),
        ("limits.weekly_scoped.opus", "Current week (Opus)", 35.0, datetime(2026, 11, 27, 9, tzinfo=UTC)),
        ("limits.weekly_scoped.claude-fable-5", "Current week (Fable 5)", 0.0, None),
    ],
    "future-keys": [
        ("five_hour", "Current session", 5.5, SESSION_RESET),
        ("seven_day", "Current week (all models)", 1.0, WEEK_RESET),
        ("seven_day_cowork", "Current week (Cowork)", 9.0, WEEK_RESET),
        ("brand_new_window", "Brand new window", 2.0, WEEK_RESET),
    ],
    "enterprise-nulls": [],
    "yen-credits": [
        ("five_hour", "Current session", 12.0, SESSION_RESET),
        ("seven_day", "Current week (all models)", 5.0, WEEK_RESET),
    ],
    "pro-fresh-window": [
        ("five_hour", "Current session", 0.0, None),
        ("seven_day", "Current week (all models)", 3.0, WEEK_RESET),
    ],
    "over-limit-with-credit": [
        ("five_hour", "Current session", 100.0, SESSION_RESET),
        ("seven_day", "Current week (all models)", 97.0, WEEK_RESET),
        ("seven_day_sonnet", "Current week (Sonnet only)", 100.0, WEEK_RESET),
        ("cinder_cove", "Claude Code and Cowork credit", 40.0, datetime(2026, 12, 31, tzinfo=UTC)),
    ],
}

FIXTURE_EXTRA_USAGE: dict[str, ExtraUsage | None] = {
    "max-typical": ExtraUsage(
        is_enabled=True,
        monthly_limit=Money(5000, "USD"),
        used=Money(1234, "USD"),
        utilization=24.68,
        currency="USD",
    ),
    "limits-only": None,
    "future-keys": None,
    "enterprise-nulls": ExtraUsage(
        is_enabled=True, monthly_limit=None, used=Money(880000, "USD"), utilization=None, currency="USD"
    ),
    "yen-credits": ExtraUsage(
        is_enabled=True,
        monthly_limit=Money(3000, "JPY"),
        used=Money(1500, "JPY"),
        utilization=50.0,
        currency="JPY",
    ),
    "pro-fresh-window": ExtraUsage(is_enabled=False, monthly_limit=None, used=None, utilization=None, currency="USD"),
    "over-limit-with-credit": ExtraUsage(
        is_enabled=True,
        monthly_limit=Money(20000, "EUR"),
        used=Money(20000, "EUR"),
        utilization=100.0,
        currency="EUR",
        spend_limit_reached=True,
    ),
}

FIXTURE_ERRORS = {
    "error-401-expired": (
        "authentication_error",
        "OAuth access token has expired. Re-authenticate to continue.",
    ),
    "error-403-scope": ("permission_error", "OAuth token does not meet scope requirement user:profile"),
    "error-429": ("rate_limit_error", "Rate limited. Please try again later."),
}


def summary(usage: Usage) -> list[tuple[str, str, float, datetime | None]]:
    return [(w.key, w.label, w.utilization, w.resets_at) for w in usage.windows]


def keys(raw: dict[str, Any]) -> list[str]:
    return [w.key for w in parse_usage(raw).windows]


def only_window(raw: dict[str, Any]) -> Window:
    (window,) = parse_usage(raw).windows
    return window


def bad_reply_path(raw: object) -> str:
    """The JSON path a BadReply names (its message is `<path>: <what is wrong>`)."""
    with pytest.raises(BadReply) as excinfo:
        parse_usage(raw)
    return str(excinfo.value).partition(": ")[0]


# Sample replies -----------------------------------------------------------------------------------


def test_every_fixture_has_expectations() -> None:
    """Each sample reply on disk is covered by the expectations below."""
    assert set(fixture_names()) == set(FIXTURE_WINDOWS) | set(FIXTURE_ERRORS)


@pytest.mark.parametrize("name", sorted(FIXTURE_WINDOWS))
def test_fixture_windows(name: str) -> None:
    """A sample reply gives exactly its listed windows with their titles, percents and reset times."""
    assert FIXTURE_WINDOWS[name] == summary(parse_usage(load_fixture(name)))


@pytest.mark.parametrize("name", sorted(FIXTURE_EXTRA_USAGE))
def test_fixture_extra_usage(name: str) -> None:
    """A sample reply's usage credits come out in minor units of the right currency."""
    assert FIXTURE_EXTRA_USAGE[name] == parse_usage(load_fixture(name)).extra_usage


@pytest.mark.parametrize("name", sorted(FIXTURE_WINDOWS))
def test_fixture_is_not_an_in_band_error(name: str) -> None:
    """A usage reply is not mistaken for an in-band error."""
    assert None is in_band_error(load_fixture(name))


@pytest.mark.parametrize("name", sorted(FIXTURE_ERRORS))
def test_fixture_in_band_error(name: str) -> None:
    """An error body gives its type and message."""
    assert FIXTURE_ERRORS[name] == in_band_error(load_fixture(name))


@pytest.mark.parametrize("name", sorted(FIXTURE_ERRORS))
def test_error_fixture_parses_to_no_windows(name: str) -> None:
    """An error body parsed as usage raises nothing and invents no window."""
    assert Usage(windows=()) == parse_usage(load_fixture(name))


def test_in_band_error_without_error_object() -> None:
    """A 200 body with none of the usage fields and no error object is still an error."""
    assert ("error", "the reply has none of the usage fields") == in_band_error({"hello": 1})


def test_in_band_error_of_non_object() -> None:
    """A body that is not an object is left to the parser."""
    assert None is in_band_error([1, 2])


def test_future_keys_ignores_unknown_non_windows() -> None:
    """`spend` and a null unknown key (`iguana_necktie`) make no window."""
    found = keys(load_fixture("future-keys"))
    assert (False, False) == ("spend" in found, "iguana_necktie" in found)


@pytest.mark.parametrize(
    ("key", "period"),
    [("five_hour", FIVE_HOURS), ("seven_day", SEVEN_DAYS), ("seven_day_sonnet", SEVEN_DAYS)],
)
def test_top_level_window_period(key: str, period: timedelta) -> None:
    """Top-level windows carry their known length."""
    windows = {w.key: w for w in parse_usage(load_fixture("max-typical")).windows}
    assert (WindowKind.WINDOW, period) == (windows[key].kind, windows[key].period)


def test_limits_entries_carry_kind_period_severity() -> None:
    """A limits[] entry is a LIMIT row with its period, severity and activity."""
    weekly = parse_usage(load_fixture("limits-only")).windows[1]
    expected = (WindowKind.LIMIT, SEVEN_DAYS, "critical", True)
    assert expected == (weekly.kind, weekly.period, weekly.severity, weekly.is_active)


def test_source_and_observed_at_stamped_on_every_window() -> None:
    """Every window records where and when it was read."""
    usage = parse_usage(load_fixture("over-limit-with-credit"), source="demo", observed_at=NOW)
    assert {("demo", NOW)} == {(w.source, w.observed_at) for w in usage.windows}


# limits[] against top-level windows ---------------------------------------------------------------

SESSION_ENTRY = {"kind": "session", "group": "default", "percent": 64.0, "resets_at": None, "scope": None}
WEEKLY_ALL_ENTRY = {
    "kind": "weekly_all",
    "group": "default",
    "percent": 88.5,
    "resets_at": None,
    "scope": None,
}
SONNET_ENTRY = {
    "kind": "weekly_scoped",
    "group": "models",
    "percent": 12.0,
    "resets_at": None,
    "scope": {"model": {"id": None, "display_name": "Sonnet"}, "surface": None},
}
TWINS = [
    ("five_hour", SESSION_ENTRY, "limits.session"),
    ("seven_day", WEEKLY_ALL_ENTRY, "limits.weekly_all"),
    ("seven_day_sonnet", SONNET_ENTRY, "limits.weekly_scoped.sonnet"),
]


@pytest.mark.parametrize(("top", "entry", "limit_key"), TWINS)
def test_limit_repeating_a_top_level_window_is_shown_once(top: str, entry: dict[str, Any], limit_key: str) -> None:
    """A limits[] entry that repeats a present top-level window is dropped."""
    raw = {top: {"utilization": 10.0, "resets_at": None}, "limits": [entry]}
    assert [top] == keys(raw)


@pytest.mark.parametrize(("top", "entry", "limit_key"), TWINS)
def test_limit_shown_when_top_level_window_is_null(top: str, entry: dict[str, Any], limit_key: str) -> None:
    """A limits[] entry is shown when its top-level twin is null."""
    assert [limit_key] == keys({top: None, "limits": [entry]})


@pytest.mark.parametrize(("top", "entry", "limit_key"), TWINS)
def test_limit_shown_when_top_level_utilization_is_null(top: str, entry: dict[str, Any], limit_key: str) -> None:
    """A limits[] entry is shown when its top-level twin has null utilization."""
    assert [limit_key] == keys({top: {"utilization": None, "resets_at": None}, "limits": [entry]})


def test_limit_for_other_model_is_kept_beside_top_level_windows() -> None:
    """A scoped limit for a model with no top-level window is shown beside them."""
    raw = load_fixture("max-typical") | {"limits": load_fixture("limits-only")["limits"][2:]}
    expected = ["five_hour", "seven_day", "seven_day_sonnet", "limits.weekly_scoped.opus"]
    expected.append("limits.weekly_scoped.claude-fable-5")
    assert expected == keys(raw)


def test_limit_key_from_display_name_with_spaces() -> None:
    """Without a model id the key uses the display name in lower case with spaces as `-`."""
    entry = SONNET_ENTRY | {"scope": {"model": {"display_name": "Fable 5.1"}, "surface": None}}
    assert ["limits.weekly_scoped.fable-5.1"] == keys({"limits": [entry]})


def test_repeated_limit_entry_is_shown_once() -> None:
    """Two limits[] entries with the same key make one row, the first."""
    raw = {"limits": [SESSION_ENTRY, SESSION_ENTRY | {"percent": 99.0}]}
    assert [64.0] == [w.utilization for w in parse_usage(raw).windows]


# Null utilization ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        {"five_hour": {"utilization": None, "resets_at": "2026-11-24T15:00:00Z"}},
        {"seven_day_cowork": {"utilization": None, "resets_at": None}},
        {"limits": [SESSION_ENTRY | {"percent": None}]},
        {"cinder_cove": {"utilization": None, "resets_at": None}},
        {"promo_credits": [{"program_id": "spring", "utilization": None, "resets_at": None}]},
    ],
)
def test_null_utilization_is_not_drawn(raw: dict[str, Any]) -> None:
    """A window, limit or credit whose utilization is null makes no row."""
    assert [] == keys(raw)


# Credits ------------------------------------------------------------------------------------------


def test_cinder_cove_is_a_credit_with_its_title() -> None:
    """`cinder_cove` is the one-time credit row, expiring at its resets_at."""
    window = only_window({"cinder_cove": {"utilization": 40.0, "resets_at": "2026-12-31T00:00:00+00:00"}})
    expected = ("Claude Code and Cowork credit", WindowKind.CREDIT, datetime(2026, 12, 31, tzinfo=UTC))
    assert expected == (window.label, window.kind, window.resets_at)


def test_wattle_ember_dollars_become_cents() -> None:
    """`wattle_ember` keeps its label and reads used/limit as dollars."""
    window = only_window(
        {
            "wattle_ember": {
                "utilization": 40.0,
                "resets_at": None,
                "label": "Holiday credit",
                "used_dollars": 4,
                "limit_dollars": 10,
                "remaining_dollars": 6,
            }
        }
    )
    expected = ("Holiday credit", Money(400, "USD"), Money(1000, "USD"), WindowKind.CREDIT)
    assert expected == (window.label, window.used, window.limit, window.kind)


def test_wattle_ember_fractional_dollars() -> None:
    """Fractional dollars are whole cents."""
    window = only_window({"wattle_ember": {"utilization": 25.0, "resets_at": None, "used_dollars": 2.5}})
    assert Money(250, "USD") == window.used


def test_wattle_ember_without_label_is_credit() -> None:
    """`wattle_ember` without a label is titled "Credit"."""
    assert "Credit" == only_window({"wattle_ember": {"utilization": 1.0, "resets_at": None}}).label


PROMOS = [
    {
        "program_id": "spring_2026",
        "label": "Spring credit",
        "utilization": 10.0,
        "resets_at": "2026-12-01T00:00:00Z",
        "limit_dollars": 20,
        "used_dollars": 2,
    },
    {"program_id": "model_promo_fable", "label": "Fable promo", "utilization": 50.0, "resets_at": None},
]


def test_promo_credits_keyed_by_program_and_fable_promo_hidden() -> None:
    """Promo credits are keyed `promo_credits.<program_id>`; `model_promo_fable` is hidden."""
    assert ["promo_credits.spring_2026"] == keys({"promo_credits": PROMOS})


def test_promo_credit_label_and_dollars() -> None:
    """A promo credit keeps its label and reads its amounts as dollars."""
    window = parse_usage({"promo_credits": PROMOS}).windows[0]
    expected = ("Spring credit", Money(200, "USD"), Money(2000, "USD"), WindowKind.CREDIT)
    assert expected == (window.label, window.used, window.limit, window.kind)


# Malformed known keys -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ([], "reply"),
        ("five_hour", "reply"),
        ({"five_hour": "full"}, "five_hour"),
        ({"five_hour": {"utilization": "78", "resets_at": None}}, "five_hour.utilization"),
        ({"seven_day": {"utilization": True, "resets_at": None}}, "seven_day.utilization"),
        ({"seven_day": {"utilization": 1.0, "resets_at": "next tuesday"}}, "seven_day.resets_at"),
        ({"cinder_cove": [1]}, "cinder_cove"),
        (
            {"wattle_ember": {"utilization": 1, "resets_at": None, "used_dollars": "4"}},
            "wattle_ember.used_dollars",
        ),
        ({"limits": {}}, "limits"),
        ({"limits": ["session"]}, "limits[0]"),
        ({"limits": [SESSION_ENTRY, SESSION_ENTRY | {"percent": "64"}]}, "limits[1].percent"),
        ({"limits": [SESSION_ENTRY | {"resets_at": True}]}, "limits[0].resets_at"),
        ({"limits": [{"percent": 1.0}]}, "limits[0].kind"),
        ({"promo_credits": {}}, "promo_credits"),
        ({"promo_credits": [PROMOS[0] | {"limit_dollars": []}]}, "promo_credits[0].limit_dollars"),
        ({"extra_usage": 5}, "extra_usage"),
        ({"extra_usage": {"is_enabled": True, "used_credits": "12"}}, "extra_usage.used_credits"),
        ({"extra_usage": {"is_enabled": True, "monthly_limit": float("inf")}}, "extra_usage.monthly_limit"),
        ({"five_hour": {"utilization": float("nan"), "resets_at": None}}, "five_hour.utilization"),
        ({"five_hour": {"utilization": 10**400, "resets_at": None}}, "five_hour.utilization"),
        ({"five_hour": {"utilization": 1.0, "resets_at": 10**400}}, "five_hour.resets_at"),
        (
            {"wattle_ember": {"utilization": 1, "resets_at": None, "used_dollars": 1e307}},
            "wattle_ember.used_dollars",
        ),
    ],
)
def test_malformed_known_key_names_its_path(raw: object, path: str) -> None:
    """A malformed known key raises BadReply naming its JSON path."""
    assert path == bad_reply_path(raw)


def test_malformed_unknown_window_is_skipped() -> None:
    """An unknown window-shaped key that cannot be read is ignored, not fatal."""
    raw = {"seven_day_cowork": {"utilization": "lots", "resets_at": None}, "five_hour": None}
    assert [] == keys(raw)


# Wire times ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-24T15:00:00Z", datetime(2026, 11, 24, 15, tzinfo=UTC)),
        ("2026-11-24T15:00:00z", datetime(2026, 11, 24, 15, tzinfo=UTC)),
        ("2026-11-24T15:00:00.123Z", datetime(2026, 11, 24, 15, 0, 0, 123000, tzinfo=UTC)),
        ("2026-11-24T15:00:00.482311+00:00", datetime(2026, 11, 24, 15, 0, 0, 482311, tzinfo=UTC)),
        ("2026-11-24T15:00:00.4823119+00:00", datetime(2026, 11, 24, 15, 0, 0, 482311, tzinfo=UTC)),
        ("2026-11-24T15:00:00.5+00:00", datetime(2026, 11, 24, 15, 0, 0, 500000, tzinfo=UTC)),
        ("2026-11-24T16:00:00+01:00", datetime(2026, 11, 24, 15, tzinfo=UTC)),
        ("2026-11-24T15:00:00", datetime(2026, 11, 24, 15, tzinfo=UTC)),
        (1795770000, datetime(2026, 11, 27, 9, tzinfo=UTC)),
        (1795770000.5, datetime(2026, 11, 27, 9, 0, 0, 500000, tzinfo=UTC)),
        (1795770000000, datetime(2026, 11, 27, 9, tzinfo=UTC)),
        (None, None),
    ],
)
def test_parse_time(value: object, expected: datetime | None) -> None:
    """Wire times become aware UTC datetimes."""
    assert expected == parse_time(value, "t")


def test_parse_time_is_utc() -> None:
    """An offset time is converted to UTC, not just labelled."""
    parsed = parse_time("2026-11-24T16:00:00+01:00", "t")
    assert parsed is not None
    assert (UTC, 15) == (parsed.tzinfo, parsed.hour)


@pytest.mark.parametrize("value", [True, False, "soon", "", [], {}, float("nan"), float("inf"), 1e300])
def test_parse_time_rejects(value: object) -> None:
    """A value that is not a time (a bool included) raises BadReply naming the path."""
    with pytest.raises(BadReply) as excinfo:
        parse_time(value, "limits[0].resets_at")
    assert "limits[0].resets_at" == str(excinfo.value).partition(": ")[0]


@given(strategies.aware_datetimes())
def test_parse_time_round_trips_isoformat(when: datetime) -> None:
    """Any aware datetime written as ISO-8601 reads back as the same instant."""
    assert when == parse_time(when.isoformat(), "t")


@given(st.integers(min_value=0, max_value=10**11))
def test_parse_time_round_trips_epoch_seconds(seconds: int) -> None:
    """Whole epoch seconds read back exactly."""
    assert datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds) == parse_time(seconds, "t")


@given(strategies.wire_times())
def test_parse_time_never_naive(value: str | int | float) -> None:
    """Every wire time reads as an aware UTC datetime."""
    parsed = parse_time(value, "t")
    assert timedelta(0) == (parsed.utcoffset() if parsed else None)


# Retry-After --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("-5", 0.0),
        ("Tue, 24 Nov 2026 12:04:10 GMT", 250.0),
        ("Tue, 24 Nov 2026 11:00:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    """Retry-After in seconds or as an HTTP date becomes seconds from now; garbage is None."""
    assert expected == parse_retry_after(value, NOW)


@given(st.text())
def test_parse_retry_after_never_raises(value: str) -> None:
    """Any header text gives a non-negative number of seconds or None."""
    seconds = parse_retry_after(value, NOW)
    assert True is (seconds is None or seconds >= 0)


# Hypothesis: arbitrary JSON -----------------------------------------------------------------------


def window_candidates(raw: dict[str, Any]) -> dict[str, list[object]]:
    """Where a window may come from: key -> the utilizations the reply gives under it."""
    found: dict[str, list[object]] = {}

    def numeric(value: object) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    for key, value in raw.items():
        if isinstance(value, dict) and numeric(value.get("utilization")):
            found.setdefault(safe_text(key, MAX_KEY_CHARS), []).append(value["utilization"])
    limits = raw.get("limits")
    for entry in limits if isinstance(limits, list) else []:
        if isinstance(entry, dict) and numeric(entry.get("percent")):
            found.setdefault("limits.", []).append(entry["percent"])
    promos = raw.get("promo_credits")
    for entry in promos if isinstance(promos, list) else []:
        if isinstance(entry, dict) and numeric(entry.get("utilization")):
            found.setdefault("promo_credits.", []).append(entry["utilization"])
    return found


def sources_of(key: str) -> list[str]:
    """The candidate groups a window key may come from: its own top-level key, or a list it names."""
    return [key] + [prefix for prefix in ("limits.", "promo_credits.") if key.startswith(prefix)]


@given(strategies.json_replies())
def test_arbitrary_json_raises_only_bad_reply(raw: Any) -> None:
    """Any JSON either parses or raises BadReply, nothing else."""
    with contextlib.suppress(BadReply):
        parse_usage(raw)


@given(strategies.json_replies())
def test_arbitrary_json_never_invents_a_window(raw: Any) -> None:
    """Every window traces to a numeric utilization or percent in the reply, and there are no extras."""
    try:
        usage = parse_usage(raw)
    except BadReply:
        return
    candidates = window_candidates(raw)
    for window in usage.windows:
        allowed = [value for source in sources_of(window.key) for value in candidates.get(source, [])]
        assert True is (window.utilization in allowed)
    assert True is (len(usage.windows) <= sum(len(found) for found in candidates.values()))


# Hypothesis: usage-shaped replies -----------------------------------------------------------------


def expected_limit_percents(raw: dict[str, Any]) -> dict[str, float]:
    """The percent of the first numeric limits[] entry under each key, keyed as the issue describes."""
    percents: dict[str, float] = {}
    for entry in raw.get("limits") or []:
        model = (entry["scope"] or {}).get("model")
        part = None
        if model:
            part = model["id"] or model["display_name"].lower().replace(" ", "-")
        key = f"limits.{entry['kind']}.{part}" if part else f"limits.{entry['kind']}"
        if entry["percent"] is not None:
            percents.setdefault(key, entry["percent"])
    return percents


@given(strategies.usage_replies())
def test_usage_reply_always_parses(raw: dict[str, Any]) -> None:
    """A well-formed reply never raises."""
    assert isinstance(parse_usage(raw), Usage)


@given(strategies.usage_replies())
def test_top_level_utilization_round_trips(raw: dict[str, Any]) -> None:
    """Each top-level window with a utilization comes back with exactly that number, never rescaled."""
    expected = {
        key: raw[key]["utilization"]
        for key in strategies.WINDOW_KEYS
        if raw.get(key) is not None and raw[key]["utilization"] is not None
    }
    windows = parse_usage(raw).windows
    assert expected == {w.key: w.utilization for w in windows if w.kind is WindowKind.WINDOW}


@given(strategies.usage_replies())
def test_limit_utilization_round_trips(raw: dict[str, Any]) -> None:
    """Each limits[] row carries exactly the percent of its entry."""
    expected = expected_limit_percents(raw)
    for window in parse_usage(raw).windows:
        if window.kind is WindowKind.LIMIT:
            assert expected[window.key] == window.utilization


@given(strategies.usage_replies())
def test_extra_usage_amounts_round_trip(raw: dict[str, Any]) -> None:
    """Whole minor-unit amounts of extra_usage come back unchanged, in the reply's currency."""
    extra = parse_usage(raw).extra_usage
    wire = raw.get("extra_usage")
    if wire is None or extra is None:
        assert (None, None) == (wire, extra)
        return
    currency = wire.get("currency", "USD").upper()
    used = wire.get("used_credits")
    expected = None if used is None else Money(int(used), currency)
    assert expected == extra.used


# Hypothesis: hostile text -------------------------------------------------------------------------

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Two capped texts (a limit's kind and its model's name) and our own words around them.
LONGEST_TEXT = 2 * MAX_TEXT_CHARS + 40


def texts_of(value: object) -> Iterator[str]:
    """Every str in a parsed value: the fields of its named tuples, their tuples, recursively."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, tuple):
        for item in value:
            yield from texts_of(item)


def parsed_texts(raw: object) -> list[str]:
    """Every str of the model `parse_usage` makes of `raw` (none when it raises BadReply)."""
    try:
        return list(texts_of(parse_usage(raw)))
    except BadReply:
        return []


@given(strategies.hostile_replies())
def test_hostile_text_reaches_the_model_without_control_characters(raw: dict[str, Any]) -> None:
    """No text of the model (keys, labels, names, currency, reasons) holds a control character."""
    assert [] == [text for text in parsed_texts(raw) if CONTROL.search(text)]


@given(strategies.json_replies())
def test_arbitrary_json_reaches_the_model_without_control_characters(raw: Any) -> None:
    """Whatever the JSON, no text of the model holds a control character."""
    assert [] == [text for text in parsed_texts(raw) if CONTROL.search(text)]


@given(strategies.hostile_replies())
def test_hostile_text_reaches_the_model_capped(raw: dict[str, Any]) -> None:
    """No text of the model is longer than two capped texts and our words around them."""
    assert [] == [text for text in parsed_texts(raw) if len(text) > LONGEST_TEXT]


def test_unknown_key_loses_escape_sequences_whole() -> None:
    """An unknown week's key loses its escape sequences, whole, and titles the row without them."""
    raw = {"seven_day_cowork\x1b]0;Pwned\x07\x1b[2J": {"utilization": 9.0, "resets_at": None}}
    [window] = parse_usage(raw).windows
    assert ("seven_day_cowork", "Current week (Cowork)") == (window.key, window.label)


def test_unknown_key_cleaning_to_a_shown_key_is_skipped() -> None:
    """An unknown key that cleans to the name of a window already shown adds no second window."""
    raw = {
        "seven_day_cowork": {"utilization": 9.0, "resets_at": None},
        "seven_day_cowork\x07": {"utilization": 99.0, "resets_at": None},
    }
    assert [("seven_day_cowork", 9.0)] == [(w.key, w.utilization) for w in parse_usage(raw).windows]


def test_model_name_loses_escape_sequences_whole() -> None:
    """A limit's model name loses its escape sequences, whole, in the key and the label."""
    scope = {"model": {"id": None, "display_name": "Fable\x1b[2J 5\x9d0;x\x9c"}}
    raw = {"limits": [{"kind": "weekly_scoped", "percent": 3.0, "resets_at": None, "scope": scope}]}
    [window] = parse_usage(raw).windows
    assert ("limits.weekly_scoped.fable-5", "Current week (Fable 5)") == (window.key, window.label)


def test_long_label_is_capped() -> None:
    """A credit's label is cut at MAX_TEXT_CHARS."""
    raw = {"wattle_ember": {"utilization": 1.0, "resets_at": None, "label": "x" * 500}}
    assert "x" * MAX_TEXT_CHARS == parse_usage(raw).windows[0].label
