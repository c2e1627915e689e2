"""`claude-usage report` as users run it: the real CLI in a subprocess, its JSON, CSV and tables."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from claude_usage.adapters.pricing import load_table
from claude_usage.commands.report import parse_day
from claude_usage.core.reports import UsageGroup, build
from claude_usage.errors import CommandLineError
from claude_usage.ui.report import ReportView
from tests.support.cli import run_cli
from tests.support.transcripts import assistant, env_for, user, write


@pytest.fixture
def claude(home: Path) -> Path:
    """A config dir with two sessions in two projects over two days, a streamed copy and a bad line."""
    config = home / ".claude"
    write(
        config,
        "-home-ana-shop/s1.jsonl",
        user(),
        assistant("m1", "r1", when="2026-07-01T23:30:00.000Z", output_tokens=5, cache_write=1000, cache_1h=400),
        assistant("m1", "r1", when="2026-07-01T23:30:00.100Z", output_tokens=500, cache_write=1000, cache_1h=400),
        '{"type":"assistant","message":{"usage":{"input_tokens":',
        assistant("m2", "r2", when="2026-07-02T10:00:00.000Z", model="claude-opus-4-6", cache_read=5000),
    )
    write(
        config,
        "-home-ana-docs/s2.jsonl",
        assistant("m3", "r3", when="2026-07-02T11:00:00.000Z", model="claude-haiku-4-5-20251001", input_tokens=7),
    )
    return config


def _json(*args: str, env: dict[str, str]) -> dict[str, object]:
    result = run_cli("report", *args, "--json", env=env)
    assert (0, "") == (result.code, result.stderr)
    doc: dict[str, object] = json.loads(result.stdout)
    return doc


def test_daily_json_is_shaped_like_ccusage(claude: Path) -> None:
    """`report daily --json` has "daily" rows with ccusage's keys and "totals"."""
    doc = _json("daily", "--timezone", "UTC", env=env_for(claude))
    rows = doc["daily"]
    assert isinstance(rows, list)
    assert (
        ["2026-07-01", "2026-07-02"],
        {"period", "inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens", "totalTokens"},
        {"modelName", "inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens", "cost"},
    ) == (
        [row["period"] for row in rows],
        {"period", "inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens", "totalTokens"}
        & set(rows[0]),
        set(rows[0]["modelBreakdowns"][0]),
    )


def test_the_days_move_with_the_time_zone(claude: Path) -> None:
    """At 23:30 UTC it is already the next day in Berlin: both entries fall on July 2."""
    doc = _json("daily", "--timezone", "Europe/Berlin", env=env_for(claude))
    assert ["2026-07-02"] == [row["period"] for row in doc["daily"]]  # type: ignore[attr-defined]


def test_streamed_copies_count_once_in_the_json(claude: Path) -> None:
    """The JSON totals count the final streamed copy once and skip the bad line."""
    totals = _json("model", env=env_for(claude))["totals"]
    assert {"inputTokens": 13, "outputTokens": 692, "cacheCreationTokens": 1000, "cacheReadTokens": 5000} == {
        k: totals[k]  # type: ignore[index]
        for k in ("inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens")
    }


def test_the_cost_in_json_is_exact_and_unrounded(claude: Path) -> None:
    """The JSON total cost is the exact sum at list prices, not rounded to cents."""
    expected = (
        3 * 3
        + 500 * 15
        + 600 * 3.75
        + 400 * 6  # sonnet: input, output, 5 m and 1 h cache writes
        + 3 * 5
        + 96 * 25
        + 5000 * 0.5  # opus
        + 7 * 1
        + 96 * 5  # haiku
    ) / 1_000_000
    assert pytest.approx(expected, abs=1e-12) == _json("daily", env=env_for(claude))["totals"]["totalCost"]  # type: ignore[index]


def test_session_rows_carry_project_and_last_activity(claude: Path) -> None:
    """Session rows name their project and last activity at the top level."""
    rows = _json("session", env=env_for(claude))["session"]
    assert [
        ("s1", "-home-ana-shop", "2026-07-02T10:00:00.000Z"),
        ("s2", "-home-ana-docs", "2026-07-02T11:00:00.000Z"),
    ] == [
        (r["period"], r["project"], r["lastActivity"])
        for r in rows  # type: ignore[attr-defined]
    ]


def test_block_rows_have_times_and_a_null_official_window(claude: Path) -> None:
    """Block rows carry start and end times, isActive, burnRate, projection and "official": null."""
    row = _json("blocks", env=env_for(claude))["blocks"][0]  # type: ignore[index]
    assert ("2026-07-01T23:00:00.000Z", "2026-07-02T04:00:00.000Z", False, None, None, None) == (
        row["startTime"],
        row["endTime"],
        row["isActive"],
        row["burnRate"],
        row["projection"],
        row["official"],
    )


def test_project_filter_takes_the_name_the_report_shows(claude: Path) -> None:
    """--project=NAME keeps the project of that name only."""
    doc = _json("project", "--project=-home-ana-docs", env=env_for(claude))
    assert ["-home-ana-docs"] == [row["period"] for row in doc["project"]]  # type: ignore[attr-defined]


def test_project_filter_takes_the_name_without_its_leading_dash(claude: Path) -> None:
    """--project NAME also finds the project NAME with its leading dash left out."""
    doc = _json("session", "--project", "home-ana-shop", env=env_for(claude))
    assert ["s1"] == [row["period"] for row in doc["session"]]  # type: ignore[attr-defined]


def test_csv_round_trips_to_the_json(claude: Path) -> None:
    """--csv has a header of the JSON keys, plain integers, and a last row Total equal to the JSON totals."""
    result = run_cli("report", "daily", "--csv", "--timezone", "UTC", env=env_for(claude))
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    totals = _json("daily", "--timezone", "UTC", env=env_for(claude))["totals"]
    assert (["2026-07-01", "2026-07-02", "Total"], totals) == (
        [row["period"] for row in rows],
        {k: (float(v) if k == "totalCost" else int(v)) for k, v in rows[-1].items() if k != "period"},
    )


def test_since_and_until_accept_both_date_forms(claude: Path) -> None:
    """--since 20260702 and --until 2026-07-02 keep that day only."""
    doc = _json("daily", "--since", "20260702", "--until", "2026-07-02", "--timezone", "UTC", env=env_for(claude))
    assert ["2026-07-02"] == [row["period"] for row in doc["daily"]]  # type: ignore[attr-defined]


def test_a_bad_date_is_a_command_line_error() -> None:
    """A date in another form is refused with the forms it takes."""
    with pytest.raises(CommandLineError, match="YYYY-MM-DD or YYYYMMDD"):
        parse_day("02/07/2026", "--since")


def test_verbose_names_the_bad_line(claude: Path) -> None:
    """--verbose says which file and line was skipped, on stderr, while stdout stays JSON."""
    result = run_cli("report", "--json", "--verbose", env=env_for(claude))
    assert (True, True) == (
        f"{claude / 'projects' / '-home-ana-shop' / 's1.jsonl'}, line 4: not JSON" in result.stderr,
        isinstance(json.loads(result.stdout), dict),
    )


def test_an_unknown_zone_exits_2(claude: Path) -> None:
    """--timezone with a zone the system does not know exits 2 naming it."""
    result = run_cli("report", "--timezone", "Mars/Olympus", env=env_for(claude))
    assert (2, True) == (result.code, "Mars/Olympus" in result.stderr)


def _render(width: int) -> str:
    groups = [
        UsageGroup(
            model=model,
            long_context=False,
            entries=1,
            input_tokens=1234,
            output_tokens=56789,
            cache_write_5m=1_000_000,
            cache_write_1h=0,
            cache_read=98_765_432,
            first_us=(1_783_000_000 + day * 86_400) * 1_000_000,
            last_us=(1_783_000_000 + day * 86_400) * 1_000_000,
        )
        for day in range(3)
        for model in ("claude-opus-4-6", "claude-sonnet-4-6")
    ]
    from datetime import timezone

    report = build("daily", groups, table=load_table(), tz=timezone.utc, now_us=0)
    out = io.StringIO()
    Console(file=out, width=width, color_system=None).print(ReportView(report, "UTC"))
    return out.getvalue()


def test_the_table_fits_60_columns_with_a_totals_row() -> None:
    """At 60 columns every line fits and the totals row shows the tokens and the cost."""
    text = _render(60)
    total_line = next(line for line in text.splitlines() if "Total" in line)
    assert (True, True, True) == (
        max(len(line) for line in text.splitlines()) <= 60,
        "599M" in total_line,
        "$" in total_line,
    )


def test_the_table_at_120_columns_shows_every_field_in_full() -> None:
    """At 120 columns the table shows each token field in full, with thousands separators, and the models."""
    text = _render(120)
    assert (True, True, True) == (
        max(len(line) for line in text.splitlines()) <= 120,
        "592,592,592" in text,
        "opus-4-6" in text,
    )
