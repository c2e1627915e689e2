"""Hypothesis strategies: arbitrary JSON as `json.loads` returns it, and usage-shaped replies."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

# Top-level window keys of the reply, the ones Claude Code titles and a newer one titled from its key.
WINDOW_KEYS = (
    "five_hour",
    "seven_day",
    "seven_day_sonnet",
    "seven_day_opus",
    "seven_day_oauth_apps",
    "seven_day_cowork",
)
# Every top-level key the parser reads or deliberately skips, so arbitrary JSON reaches its branches.
TOP_LEVEL_KEYS = (
    *WINDOW_KEYS,
    "cinder_cove",
    "wattle_ember",
    "promo_credits",
    "ended_promo_credits",
    "extra_usage",
    "limits",
    "spend",
    "error",
    "brand_new_window",
)
# Keys inside windows, limits[] entries, promo credits, extra_usage and error bodies.
INNER_KEYS = (
    "utilization",
    "resets_at",
    "percent",
    "kind",
    "group",
    "severity",
    "is_active",
    "scope",
    "model",
    "id",
    "display_name",
    "program_id",
    "label",
    "used_dollars",
    "limit_dollars",
    "is_enabled",
    "monthly_limit",
    "used_credits",
    "currency",
    "disabled_reason",
    "spend_limit_reached",
    "type",
    "message",
)
LIMIT_KINDS = ("session", "weekly_all", "weekly_scoped", "daily")
CURRENCIES = ("USD", "EUR", "GBP", "JPY", "KRW", "VND", "CHF", "AUD", "INR", "usd")

# Fixed UTC offsets in whole minutes, as ISO-8601 writes them.
_ZONES = st.just(timezone.utc) | st.integers(min_value=-1439, max_value=1439).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


def aware_datetimes() -> st.SearchStrategy[datetime]:
    """Aware datetimes with any fixed UTC offset, over the years a reset can fall in (1970-9000)."""
    # hypothesis wants naive bounds; the zones make the values aware
    return st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(8999, 12, 30), timezones=_ZONES)  # noqa: DTZ001


def _iso_texts() -> st.SearchStrategy[str]:
    """ISO-8601 times as servers write them: `+00:00` or `Z`, 0 to 7 fractional digits, or no offset."""

    def render(when: datetime, digits: int, zulu: bool, naive: bool) -> str:
        text = when.replace(tzinfo=None).isoformat(timespec="seconds")
        if digits:
            text += "." + f"{when.microsecond:06d}{when.microsecond % 10}"[:digits]
        if naive:
            return text
        return text + ("Z" if zulu else when.strftime("%z")[:3] + ":" + when.strftime("%z")[3:])

    return st.builds(
        render,
        st.datetimes(
            min_value=datetime(1971, 1, 1),  # noqa: DTZ001 - bounds of a strategy that adds zones itself
            max_value=datetime(9000, 1, 1),  # noqa: DTZ001
            timezones=_ZONES,
        ),
        st.integers(min_value=0, max_value=7),
        st.booleans(),
        st.booleans(),
    )


def wire_times() -> st.SearchStrategy[str | int | float]:
    """Times as they arrive on the wire: ISO text, epoch seconds, epoch milliseconds."""
    epoch_s = st.integers(min_value=0, max_value=4_000_000_000)
    return _iso_texts() | epoch_s | epoch_s.map(lambda s: s * 1000) | epoch_s.map(float)


def json_numbers() -> st.SearchStrategy[int | float]:
    """Numbers `json.loads` returns: any int (even beyond a float), any float, NaN and Infinity included."""
    return st.integers() | st.integers(min_value=-(10**400), max_value=10**400) | st.floats()


def _json_keys() -> st.SearchStrategy[str]:
    return st.sampled_from(TOP_LEVEL_KEYS + INNER_KEYS) | st.text(max_size=12)


def _json_scalars() -> st.SearchStrategy[Any]:
    return st.none() | st.booleans() | json_numbers() | st.text(max_size=20) | wire_times()


def json_values() -> st.SearchStrategy[Any]:
    """Arbitrary JSON, leaning on the key names the parser reads so that its branches are reached."""
    return st.recursive(
        _json_scalars(),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(_json_keys(), children, max_size=5)
            | st.fixed_dictionaries({}, optional={key: children for key in INNER_KEYS[:12]})
        ),
        max_leaves=30,
    )


def json_replies() -> st.SearchStrategy[Any]:
    """Any JSON document, mostly objects whose keys are the reply's top-level keys."""
    return (
        st.dictionaries(st.sampled_from(TOP_LEVEL_KEYS) | st.text(max_size=12), json_values(), max_size=8)
        | json_values()
        | usage_replies()
    )


def utilizations() -> st.SearchStrategy[int | float]:
    """Percents as the endpoint sends them: ints or floats, 0 to past 100."""
    return st.sampled_from([0, 0.0, 1, 1.0, 0.5, 49.99, 99.9, 100, 100.0, 112.4]) | st.floats(
        min_value=0, max_value=1000, allow_nan=False
    )


def wire_windows() -> st.SearchStrategy[dict[str, Any] | None]:
    """A top-level window: null, or utilization and resets_at, each possibly null."""
    return st.none() | st.fixed_dictionaries(
        {"utilization": st.none() | utilizations(), "resets_at": st.none() | wire_times()}
    )


def _scopes() -> st.SearchStrategy[dict[str, Any] | None]:
    model = st.fixed_dictionaries(
        {
            "id": st.none() | st.sampled_from(["claude-fable-5", "claude-sonnet-4-5", "claude-opus-4-1"]),
            "display_name": st.sampled_from(["Fable 5", "Sonnet", "Opus", "Sonnet 4.5"]),
        }
    )
    return st.none() | st.fixed_dictionaries(
        {"model": st.none() | model, "surface": st.none() | st.just({"display_name": "Claude Code"})}
    )


def limit_entries() -> st.SearchStrategy[dict[str, Any]]:
    """One `limits[]` entry."""
    return st.fixed_dictionaries(
        {
            "kind": st.sampled_from(LIMIT_KINDS),
            "group": st.sampled_from(["default", "weekly", "models"]),
            "percent": st.none() | utilizations(),
            "resets_at": st.none() | wire_times(),
            "severity": st.sampled_from(["normal", "warning", "critical"]),
            "is_active": st.booleans(),
            "scope": _scopes(),
        }
    )


def _amounts() -> st.SearchStrategy[int | float]:
    """Whole amounts, sometimes written as floats (`1234.0`)."""
    whole = st.integers(min_value=0, max_value=10**9)
    return whole | whole.map(float)


def extra_usages() -> st.SearchStrategy[dict[str, Any] | None]:
    """`extra_usage`: null, or an object with some of its fields."""
    return st.none() | st.fixed_dictionaries(
        {"is_enabled": st.booleans()},
        optional={
            "monthly_limit": st.none() | _amounts(),
            "used_credits": st.none() | _amounts(),
            "utilization": st.none() | utilizations(),
            "currency": st.sampled_from(CURRENCIES),
            "disabled_reason": st.none() | st.sampled_from(["out_of_credits", "org_spend_cap_reached"]),
            "spend_limit_reached": st.booleans(),
        },
    )


def _dollar_credits() -> st.SearchStrategy[dict[str, Any]]:
    dollars = st.none() | st.integers(min_value=0, max_value=10_000) | st.sampled_from([2.5, 0.01, 99.99])
    return st.fixed_dictionaries(
        {"utilization": st.none() | utilizations(), "resets_at": st.none() | wire_times()},
        optional={"label": st.text(max_size=20), "used_dollars": dollars, "limit_dollars": dollars},
    )


def promo_credits() -> st.SearchStrategy[dict[str, Any]]:
    """One `promo_credits` entry."""
    return st.fixed_dictionaries(
        {"program_id": st.sampled_from(["spring_2026", "launch", "model_promo_fable"])}
    ).flatmap(lambda head: _dollar_credits().map(lambda body: {**head, **body}))


def usage_replies() -> st.SearchStrategy[dict[str, Any]]:
    """Well-formed usage replies with random windows, limits, credits and extra_usage."""
    return st.fixed_dictionaries(
        {},
        optional={
            **{key: wire_windows() for key in WINDOW_KEYS},
            "cinder_cove": wire_windows(),
            "wattle_ember": st.none() | _dollar_credits(),
            "promo_credits": st.none() | st.lists(promo_credits(), max_size=3),
            "limits": st.none() | st.lists(limit_entries(), max_size=5),
            "extra_usage": extra_usages(),
            "spend": st.just({"whatever": 1}),
        },
    )


# Terminal escape sequences and control characters a hostile server may put in any text.
HOSTILE_PIECES = (
    "\x1b]0;Pwned\x07",  # OSC: retitles the window
    "\x1b]8;;https://evil.test\x1b\\",  # OSC 8 hyperlink, ended by ST
    "\x1b[2J",  # CSI: clears the screen
    "\x1b[1;31m",
    "\x9b2J",  # the same, as a C1 CSI
    "\x9d0;Pwned\x9c",  # C1 OSC ended by C1 ST
    "\x1bP+q\x1b\\",  # DCS
    "\x1b(B",
    "\x1b",
    "\x07",
    "\x00",
    "\r",
    "\n",
    "\x7f",
    "\x85",
)


def hostile_texts() -> st.SearchStrategy[str]:
    """Texts mixing escape sequences and control characters with words, or far too long."""
    piece = st.sampled_from(HOSTILE_PIECES) | st.text(max_size=6)
    return st.lists(piece, max_size=8).map("".join) | st.text(min_size=100, max_size=400)


def hostile_replies() -> st.SearchStrategy[dict[str, Any]]:
    """Usage-shaped replies whose every text (unknown window keys too) may be hostile."""
    text = hostile_texts()
    window = st.fixed_dictionaries({"utilization": utilizations(), "resets_at": st.none() | wire_times()})
    model = st.fixed_dictionaries({"id": st.none() | text, "display_name": text})
    limit = st.fixed_dictionaries(
        {
            "kind": text | st.sampled_from(LIMIT_KINDS),
            "group": text,
            "percent": utilizations(),
            "resets_at": st.none() | wire_times(),
            "severity": text,
            "scope": st.fixed_dictionaries({"model": st.none() | model}),
        }
    )
    credit = window.flatmap(lambda w: st.fixed_dictionaries({"label": text}).map(lambda extra: {**w, **extra}))
    promo = credit.flatmap(lambda c: st.fixed_dictionaries({"program_id": text}).map(lambda extra: {**c, **extra}))
    extra = st.fixed_dictionaries(
        {"is_enabled": st.booleans(), "used_credits": _amounts(), "currency": text, "disabled_reason": text}
    )
    unknown_key = text | text.map(lambda name: "seven_day_" + name)
    return st.tuples(
        st.dictionaries(unknown_key, window, max_size=3),
        st.fixed_dictionaries(
            {},
            optional={
                "wattle_ember": credit,
                "promo_credits": st.lists(promo, max_size=3),
                "limits": st.lists(limit, max_size=3),
                "extra_usage": extra,
            },
        ),
    ).map(lambda parts: {**parts[0], **parts[1]})
