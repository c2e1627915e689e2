"""`report blocks` joined with the history: the official 5-hour windows beside the local blocks, and who ate them."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from claude_usage.adapters.history import History, Observation, history_path
from tests.support.cli import run_cli
from tests.support.transcripts import assistant, env_for, write


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    """Local use at 10:00 (shop) and 11:00 (docs); official readings at 09:45 (2 %), 10:30 (20 %), 11:30 (25 %)."""
    config = home / ".claude"
    write(
        config,
        "-home-ana-shop/s1.jsonl",
        assistant("m1", "r1", when="2026-07-01T23:30:00.000Z", output_tokens=500),
        assistant("m2", "r2", when="2026-07-02T10:00:00.000Z", model="claude-opus-4-6", output_tokens=3000),
    )
    write(config, "-home-ana-docs/s2.jsonl", assistant("m3", "r3", when="2026-07-02T11:00:00.000Z", output_tokens=1000))
    found = {**env_for(config), "CLAUDE_USAGE_DATA_DIR": str(home / "data")}
    resets = _at("2026-07-02T14:30:00")
    with History.open(history_path(found)) as history:
        history.record(
            Observation("acct", "five_hour", pct, resets, "api", _at(when))
            for when, pct in (
                ("2026-07-02T09:45:00", 2.0),
                ("2026-07-02T10:30:00", 20.0),
                ("2026-07-02T11:30:00", 25.0),
            )
        )
    return found


def test_blocks_json_carries_the_official_window_and_who_ate_it(env: dict[str, str]) -> None:
    result = run_cli("report", "blocks", "--json", env=env)
    assert (0, "") == (result.code, result.stderr)
    rows = [row for row in json.loads(result.stdout)["blocks"] if not row["isGap"]]
    assert [None, {"key": "five_hour", "resets_at": "2026-07-02T14:30:00.000Z", "peak_utilization": 25.0}] == [
        row["official"] for row in rows
    ]
    assert rows[0]["apportioned"] is None
    eaten = rows[1]["apportioned"]
    assert (25.0, 3, 2.0) == (eaten["rise"], eaten["readings"], eaten["notInLocalLogs"])
    points = {share["project"]: share["points"] for share in eaten["projects"]}
    # Opus output at $25 a million against Sonnet's $15: about 3000 x 25 to 1000 x 15 of the 23 points explained
    # (the few input tokens of each line weigh in too).
    assert {
        "-home-ana-shop": pytest.approx(23 * 75 / 90, rel=1e-3),
        "-home-ana-docs": pytest.approx(23 * 15 / 90, rel=1e-3),
    } == points
    assert eaten["text"].endswith("not in local logs 2%")


def test_blocks_table_shows_the_official_windows(env: dict[str, str]) -> None:
    result = run_cli("report", "blocks", env={**env, "COLUMNS": "100"})
    assert 0 == result.code, result.stderr
    assert "Official" in result.stdout
    assert "25% ↺14:30" in result.stdout
    assert "this window: 25% · -home-ana-shop 19% · -home-ana-docs 4% · not in local logs 2%" in result.stdout


def test_without_a_history_official_is_null(home: Path) -> None:
    config = home / ".claude"
    write(config, "-p/s.jsonl", assistant("m1", "r1", when="2026-07-02T10:00:00.000Z"))
    result = run_cli("report", "blocks", "--json", env={**env_for(config), "CLAUDE_USAGE_DATA_DIR": str(home / "d")})
    row = json.loads(result.stdout)["blocks"][0]
    assert (None, None) == (row["official"], row["apportioned"])
    assert not (home / "d" / "history.sqlite3").exists()
