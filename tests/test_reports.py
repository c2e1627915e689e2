"""The pure reports: periods cut in a time zone, blocks as ccusage cuts them, one grand total for all views."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from claude_usage.adapters.pricing import load_table
from claude_usage.core.reports import KINDS, UsageGroup, build, report_json

UTC = timezone.utc


def _us(text: str) -> int:
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (when - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def group(
    when: str,
    *,
    model: str = "claude-sonnet-4-6",
    tokens: int = 100,
    project: str = "p",
    session: str = "s",
    until: str | None = None,
) -> UsageGroup:
    """One bucket's sums: `tokens` input tokens at `when` (to `until`)."""
    return UsageGroup(
        model=model,
        long_context=False,
        entries=1,
        input_tokens=tokens,
        output_tokens=0,
        cache_write_5m=0,
        cache_write_1h=0,
        cache_read=0,
        first_us=_us(when),
        last_us=_us(until or when),
        project=project,
        session=session,
    )


def periods(kind: str, groups: list[UsageGroup], tz: str = "UTC", **kw: date) -> list[tuple[str, int]]:
    """(period, total tokens) of each row."""
    report = build(kind, groups, table=load_table(), tz=ZoneInfo(tz), now_us=_us("2030-01-01T00:00:00Z"), **kw)
    return [(row.period, row.tokens.total) for row in report.rows]


def test_days_are_cut_in_the_time_zone() -> None:
    """An entry at 23:30 UTC belongs to the next day in Berlin."""
    groups = [group("2026-07-02T21:30:00Z"), group("2026-07-02T22:30:00Z", tokens=5)]
    assert [("2026-07-02", 100), ("2026-07-03", 5)] == periods("daily", groups, "Europe/Berlin")


def test_days_follow_daylight_saving_time() -> None:
    """04:30 UTC is the evening before in New York's winter (UTC-5) but past midnight in its summer (UTC-4)."""
    groups = [group("2026-01-15T04:30:00Z"), group("2026-07-15T04:30:00Z", tokens=5)]
    assert [("2026-01-14", 100), ("2026-07-15", 5)] == periods("daily", groups, "America/New_York")


def test_a_half_hour_zone_cuts_on_its_half_hour() -> None:
    """In India (+05:30) 18:29 UTC is still the same day and 18:30 UTC the next."""
    groups = [group("2026-07-02T18:29:59.999Z"), group("2026-07-02T18:30:00Z", tokens=5)]
    assert [("2026-07-02", 100), ("2026-07-03", 5)] == periods("daily", groups, "Asia/Kolkata")


def test_weeks_start_on_monday() -> None:
    """A Sunday belongs to the week of the Monday before it."""
    groups = [group("2026-07-05T12:00:00Z"), group("2026-07-06T12:00:00Z", tokens=5)]
    assert [("2026-06-29", 100), ("2026-07-06", 5)] == periods("weekly", groups)


def test_months_are_year_and_month() -> None:
    """Monthly periods are YYYY-MM in order."""
    groups = [group("2026-12-31T12:00:00Z"), group("2027-01-01T12:00:00Z", tokens=5)]
    assert [("2026-12", 100), ("2027-01", 5)] == periods("monthly", groups)


def test_since_and_until_are_inclusive_local_days() -> None:
    """--since and --until keep the days they name, cut in the zone."""
    groups = [group(f"2026-07-0{d}T12:00:00Z", tokens=d) for d in range(1, 6)]
    assert [("2026-07-02", 2), ("2026-07-03", 3)] == periods(
        "daily", groups, since=date(2026, 7, 2), until=date(2026, 7, 3)
    )


def test_sessions_carry_project_and_last_activity() -> None:
    """A session row names its project and its last entry's time."""
    report = build(
        "session",
        [group("2026-07-02T09:00:00Z", until="2026-07-02T10:15:00.500Z", project="-home-ana-shop", session="abc")],
        table=load_table(),
        tz=UTC,
        now_us=0,
    )
    row = report_json(report, now_us=0, timezone_name="UTC")["session"][0]
    assert ("abc", "-home-ana-shop", "2026-07-02T10:15:00.500Z") == (row["period"], row["project"], row["lastActivity"])


def test_every_view_gives_the_same_grand_total() -> None:
    """Daily, weekly, monthly, session, project, model and blocks all sum to the same tokens and cost."""
    groups = [
        group(f"2026-0{m}-{d:02d}T{h:02d}:00:00Z", model=model, project=p, session=f"{p}{d}", tokens=d * h + 1)
        for m in (6, 7)
        for d in (1, 14, 28)
        for h in (0, 7, 23)
        for model, p in (("claude-opus-4-6", "a"), ("claude-haiku-4-5", "b"), ("claude-x-sonnet", "c"))
    ]
    totals = {
        kind: build(kind, groups, table=load_table(), tz=ZoneInfo("Pacific/Auckland"), now_us=0).totals
        for kind in KINDS
    }
    assert 1 == len(set(totals.values()))


# --- blocks ----------------------------------------------------------------------------------------------


def blocks(groups: list[UsageGroup], now: str = "2030-01-01T00:00:00Z") -> list[dict[str, object]]:
    report = build("blocks", groups, table=load_table(), tz=UTC, now_us=_us(now))
    doc = report_json(report, now_us=_us(now), timezone_name="UTC")["blocks"]
    return [{k: row[k] for k in ("period", "startTime", "endTime", "isGap", "totalTokens")} for row in doc]


def test_a_block_starts_at_the_first_entry_floored_to_the_hour() -> None:
    """A block starts at its first entry's UTC hour and lasts five hours."""
    assert [
        {
            "period": "2026-07-02T09:00:00.000Z",
            "startTime": "2026-07-02T09:00:00.000Z",
            "endTime": "2026-07-02T14:00:00.000Z",
            "isGap": False,
            "totalTokens": 200,
        }
    ] == blocks([group("2026-07-02T09:14:09.871Z"), group("2026-07-02T13:59:00Z")])


def test_an_entry_exactly_five_hours_after_the_start_stays_in_the_block() -> None:
    """An entry at exactly start + 5 h belongs to the block; one a millisecond later starts the next."""
    found = blocks(
        [group("2026-07-02T09:30:00Z"), group("2026-07-02T14:00:00Z"), group("2026-07-02T14:00:00.001Z", tokens=7)]
    )
    assert [("2026-07-02T09:00:00.000Z", 200), ("2026-07-02T14:00:00.000Z", 7)] == [
        (b["period"], b["totalTokens"]) for b in found
    ]


def test_a_silence_of_more_than_five_hours_is_a_gap() -> None:
    """After more than 5 h without entries a gap row runs from the last entry + 5 h to the next entry."""
    found = blocks([group("2026-07-02T09:30:00Z"), group("2026-07-02T15:00:00Z")])
    assert [False, True, False] == [b["isGap"] for b in found]


def test_only_the_running_block_is_active_with_a_burn_rate() -> None:
    """The block still running gets isActive, a burn rate per minute and a projection to its end."""
    groups = [group("2026-07-02T09:00:00Z", tokens=600), group("2026-07-02T09:10:00Z", tokens=600)]
    report = build("blocks", groups, table=load_table(), tz=UTC, now_us=_us("2026-07-02T09:20:00Z"))
    row = report_json(report, now_us=_us("2026-07-02T09:20:00Z"), timezone_name="UTC")["blocks"][0]
    assert (True, 120.0, 1200 + 120 * 280, None) == (  # 280 minutes left to 14:00
        row["isActive"],
        row["burnRate"]["tokensPerMinute"],
        row["projection"]["totalTokens"],
        row["official"],
    )


@pytest.mark.parametrize("kind", KINDS)
def test_the_json_has_the_reports_key_and_totals(kind: str) -> None:
    """Each report's JSON holds its rows under its own name, and "totals"."""
    doc = report_json(
        build(kind, [group("2026-07-02T09:00:00Z")], table=load_table(), tz=UTC, now_us=0),
        now_us=0,
        timezone_name="UTC",
    )
    assert ({kind, "totals", "pricing", "timezone"}, 100) == (set(doc), doc["totals"]["totalTokens"])
