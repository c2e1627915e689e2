"""The dashboard's usage panel: the current 5-hour window's local usage, who ate it, and `--json`'s window_usage."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from claude_usage.adapters.history import History, Observation, history_path
from claude_usage.core.apportion import WINDOW_US, Apportionment, Share, WindowUsage
from claude_usage.service.usage_panel import compute, short_project
from tests.support.cli import run_cli
from tests.support.transcripts import assistant, env_for, write
from tests.test_widgets import NOW, _frame, _live, render, render_at

NOW_US = int(NOW.timestamp()) * 1_000_000
EATEN = Apportionment(
    "five_hour",
    NOW_US + 3600 * 1_000_000,
    46.0,
    12,
    (Share("api-server", 31.0, 0, 0), Share("docs", 9.0, 0, 0)),
    (Share("claude-opus-4-6", 40.0, 0, 0),),
    6.0,
)
PANEL = WindowUsage(
    NOW_US - 4 * 3600 * 1_000_000,
    NOW_US + 3600 * 1_000_000,
    True,
    1_234_567,
    45_600_000_000,
    12_300.0,
    3.4,
    (Share("api-server", 0.0, 31_000_000_000, 900_000), Share("docs", 0.0, 14_600_000_000, 334_567)),
    (Share("claude-opus-4-6", 0.0, 45_600_000_000, 1_234_567),),
    EATEN,
    NOW_US,
)


def test_the_panel_at_100_columns() -> None:
    out = render(_frame("max-typical", window_usage=PANEL), 100)
    assert "This window: 1.23M tokens · $4.56 · 12.3k tok/min · $3.40/h (15 min)" in out
    assert "Projects: api-server $3.10 · docs $1.46" in out
    assert "Models: opus-4-6 $4.56" in out
    assert "this window: 46% · api-server 31% · docs 9% · not in local logs 6%" in out
    assert all(len(line) <= 100 for line in out.splitlines())


def test_the_panel_at_60_columns_breaks_between_pieces() -> None:
    out = render(_frame("max-typical", window_usage=PANEL), 60)
    assert all(len(line) <= 60 for line in out.splitlines())
    assert "This window: 1.23M tokens · $4.56" in out
    assert "not in local logs 6%" in out
    assert not any(line.rstrip().endswith("·") for line in out.splitlines())


def test_a_short_screen_drops_the_panel_first() -> None:
    frame = _live(window_usage=PANEL)
    tall = render_at(frame, 100, 60)
    short = render_at(frame, 100, len(render_at(_live(), 100, 60).splitlines()))
    assert "tok/min" in tall
    assert "tok/min" not in short
    assert "▁" in short or "ahead" in short or "pace" in short  # the insights stay while the panel goes


def test_project_names_lose_the_home_prefix() -> None:
    assert ("api-server", "-srv-x") == (
        short_project("-home-ana-api-server", "/home/ana"),
        short_project("-srv-x", "/home/ana"),
    )


def test_compute_reads_the_transcripts_and_the_history(home: Path) -> None:
    """The current window from real files: tokens, burn rate, and who ate it from the history."""
    now = datetime(2026, 7, 2, 12, 0, tzinfo=timezone.utc)
    resets = datetime(2026, 7, 2, 14, 30, tzinfo=timezone.utc)
    config = home / ".claude"
    project = str(home).replace("/", "-").replace(".", "-") + "-shop"
    write(
        config,
        f"{project}/s.jsonl",
        assistant("m0", "r0", when="2026-07-02T08:00:00.000Z", output_tokens=777),  # before the window
        assistant("m1", "r1", when="2026-07-02T10:00:00.000Z", output_tokens=1000),
        assistant("m2", "r2", when="2026-07-02T11:50:00.000Z", output_tokens=2000),
    )
    env = {**env_for(config), "CLAUDE_USAGE_DATA_DIR": str(home / "data"), "HOME": str(home)}
    with History.open(history_path(env)) as history:
        history.record(
            Observation("acct", "five_hour", pct, resets, "api", now - timedelta(minutes=m))
            # 1 point by 10:00 (use at 10:00), 9 more by 10:30 (none), 4 more by 11:55 (use at 11:50)
            for m, pct in ((120, 1.0), (90, 10.0), (5, 14.0))
        )

        found = compute(env, _snapshot(resets, now), history, now)  # type: ignore[arg-type]
    assert found is not None
    assert (True, resets_us(resets) - WINDOW_US) == (found.official, found.start_us)
    assert 3000 + 2 * 3 == found.tokens  # input 3 per line by default
    assert (2003 / 15) == found.tokens_per_minute
    assert ["shop"] == [s.name for s in found.projects]
    assert found.apportionment is not None
    assert "this window: 14% · shop 5% · not in local logs 9%" == found.apportionment.text()


def resets_us(when: datetime) -> int:
    return int(when.timestamp()) * 1_000_000


def _snapshot(resets: datetime, now: datetime) -> object:
    class _Window:
        key = "five_hour"
        resets_at = resets
        reset_passed = False

    class _Usage:
        windows = (_Window(),)

    class _Snapshot:
        usage = _Usage()
        account = "acct"

    return _Snapshot()


def test_json_without_an_index_has_a_null_window_usage(home: Path) -> None:
    """A one-shot never scans the transcripts: with no index yet, `window_usage` is null (and it answers at once)."""
    config = home / ".claude"
    write(config, "-p/s.jsonl", assistant("m1", "r1", when=datetime.now(timezone.utc).isoformat()[:23] + "Z"))
    result = run_cli("--json", "--demo", env={**env_for(config), "CLAUDE_USAGE_DATA_DIR": str(home / "data")})
    assert (0, None) == (result.code, json.loads(result.stdout)["window_usage"])


def test_demo_json_has_window_usage(home: Path) -> None:
    """Once the index is up to date (here by `report`), `--json` carries the current window's usage."""
    config = home / ".claude"
    write(config, "-p/s.jsonl", assistant("m1", "r1", when=datetime.now(timezone.utc).isoformat()[:23] + "Z"))
    env = {**env_for(config), "CLAUDE_USAGE_DATA_DIR": str(home / "data")}
    assert 0 == run_cli("report", "daily", "--json", env=env).code
    result = run_cli("--json", "--demo", env=env)
    assert 0 == result.code, result.stderr
    doc = json.loads(result.stdout)
    assert "window_usage" in doc
    assert doc["window_usage"]["tokens"] > 0
    assert {"key", "start", "end", "tokens", "cost_usd", "burn_rate", "projects", "models", "apportioned"} == set(
        doc["window_usage"]
    )
