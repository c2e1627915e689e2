"""Alerts in the faces: the dashboard fires them (bell, command) in a real terminal, one firing however many
monitors run, a malformed config stops only the faces that use it; and the layers stay as docs/architecture.md says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from claude_usage.standin import Reply, Script, StandIn
from tests.support.cli import run_cli, write_credentials
from tests.support.recorders import stdin_command, wait_for
from tests.support.tmux import Tmux


def usage(session: float) -> dict[str, Any]:
    resets = (datetime.now(timezone.utc) + timedelta(hours=2, minutes=11)).isoformat()
    return {"five_hour": {"utilization": session, "resets_at": resets}, "seven_day": None}


def _malformed(home: Path) -> Path:
    path = home / ".config" / "claude-usage" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[alerts]\nbell = maybe\n")
    return path


def _loaded(probe: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return out.stdout.split()


# -- one-shots and the status line keep working ---------------------------------------------------------


def test_a_one_shot_says_once_that_a_malformed_config_is_ignored(home: Path, standin: StandIn) -> None:
    """`--json` with a malformed config: the reading as usual, and one line on stderr saying it was ignored."""
    write_credentials(home / ".claude")
    path = _malformed(home)
    result = run_cli("--json", env={"CLAUDE_USAGE_API_URL": standin.url})
    said = f"claude-usage: config file {path}, line 2, column 8: invalid value; ignored, using the defaults"
    assert (0, [said], True) == (result.code, result.stderr.splitlines(), '"five_hour"' in result.stdout)


def test_the_status_line_never_reads_the_config(home: Path) -> None:
    """The status line renders with a malformed config present, loading neither the config module nor a TOML parser."""
    _malformed(home)
    probe = (
        "import io, sys; sys.stdin = io.StringIO('{}'); from claude_usage.cli import main; main(['statusline']); "
        "print(sorted({'claude_usage.adapters.config', 'tomllib', 'tomli'} & set(sys.modules)), file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "[]\n" == out.stderr  # nothing said about the config, nothing of it loaded


# -- the layers -----------------------------------------------------------------------------------------


def test_the_alert_rules_are_pure() -> None:
    """core/alerts.py loads no Rich, httpx, sqlite3, platformdirs, subprocess or store."""
    heavy = {"rich", "httpx", "sqlite3", "platformdirs", "subprocess", "claude_usage.adapters.store"}
    assert [] == _loaded(f"import sys, claude_usage.core.alerts; print(*sorted({heavy!r} & set(sys.modules)))")


def test_the_evaluator_stays_below_the_faces() -> None:
    """service/alerts.py loads no Rich, no ui and no command module."""
    heavy = {"rich", "claude_usage.ui", "claude_usage.commands", "claude_usage.cli"}
    assert [] == _loaded(f"import sys, claude_usage.service.alerts; print(*sorted({heavy!r} & set(sys.modules)))")


@pytest.mark.parametrize("name", ["watch", "config", "alerting", "watch_service"])
def test_the_alert_commands_import_nothing_heavy(name: str) -> None:
    """Importing watch or config (their row chosen, nothing run yet) loads neither Rich, httpx nor sqlite3."""
    heavy = {"rich", "httpx", "sqlite3"}
    module = f"claude_usage.commands.{name}"
    assert [] == _loaded(f"import sys, {module}; print(*sorted({heavy!r} & set(sys.modules)))")


# -- the live dashboard, in a real terminal -------------------------------------------------------------


@pytest.fixture
def terminals() -> Iterator[list[Tmux]]:
    started: list[Tmux] = []
    yield started
    for tmux in started:
        tmux.kill()


def _dashboard(terminals: list[Tmux], *args: str, env: dict[str, str]) -> Tmux:
    tmux = Tmux([sys.executable, "-m", "claude_usage", "--interval", "1", *args], env=env)
    terminals.append(tmux)
    return tmux


@pytest.mark.tmux
def test_the_dashboard_rings_the_bell_on_an_alert(home: Path, terminals: list[Tmux]) -> None:
    """At 85 % the live dashboard rings the terminal bell (tmux flags the window)."""
    write_credentials(home / ".claude")
    with StandIn(Script(Reply(200, usage(85.0)))) as api:
        tmux = _dashboard(terminals, "--no-desktop", env={"CLAUDE_USAGE_API_URL": api.url})
        tmux.wait_for(lambda s: "85%" in s)
        wait_for(lambda: tmux.pane("window_bell_flag") == "1")
        tmux.send("q")
        done = tmux.wait_for(lambda s: "EXITED:" in s)
    assert "EXITED:0" in done


@pytest.mark.tmux
def test_the_dashboard_rings_no_bell_below_the_thresholds(home: Path, terminals: list[Tmux]) -> None:
    """At 50 % nothing fires: the window has no bell flag after several readings."""
    write_credentials(home / ".claude")
    with StandIn(Script(Reply(200, usage(50.0)))) as api:
        tmux = _dashboard(terminals, "--no-desktop", env={"CLAUDE_USAGE_API_URL": api.url})
        tmux.wait_for(lambda s: "50%" in s)
        wait_for(lambda: len(api.usage_requests()) >= 3)
        flag = tmux.pane("window_bell_flag")
        tmux.send("q")
    assert "0" == flag


@pytest.mark.tmux
def test_the_dashboard_runs_the_alert_command(home: Path, tmp_path: Path, terminals: list[Tmux]) -> None:
    """--alert-command on the dashboard: the command receives the 80 % alert as JSON."""
    write_credentials(home / ".claude")
    out = tmp_path / "alerts.jsonl"
    command = " ".join(stdin_command(tmp_path, out))
    with StandIn(Script(Reply(200, usage(85.0)))) as api:
        tmux = _dashboard(terminals, "--no-desktop", "--alert-command", command, env={"CLAUDE_USAGE_API_URL": api.url})
        wait_for(out.exists)
        tmux.send("q")
        tmux.wait_for(lambda s: "EXITED:" in s)
    assert [("threshold", 80)] == [(a["rule"], a["threshold"]) for a in map(json.loads, out.read_text().splitlines())]


@pytest.mark.tmux
def test_a_dashboard_and_a_watch_fire_an_alert_once_in_all(home: Path, tmp_path: Path, terminals: list[Tmux]) -> None:
    """Two monitors of one account (the dashboard and watch), both with the same command: it runs once."""
    write_credentials(home / ".claude")
    out = tmp_path / "alerts.jsonl"
    flags = ["--no-desktop", "--alert-command", " ".join(stdin_command(tmp_path, out))]
    env = {**os.environ, "CLAUDE_USAGE_API_URL": ""}
    with StandIn(Script(Reply(200, usage(85.0)))) as api:
        env["CLAUDE_USAGE_API_URL"] = api.url
        watch = subprocess.Popen(
            [sys.executable, "-m", "claude_usage", "watch", "--interval", "1", *flags],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            tmux = _dashboard(terminals, *flags, env={"CLAUDE_USAGE_API_URL": api.url})
            tmux.wait_for(lambda s: "85%" in s)
            wait_for(out.exists)
            seen = len(api.usage_requests())
            # Both kept reading (and evaluating) for seconds after: a second firing would have run by now.
            wait_for(lambda: len(api.usage_requests()) >= seen + 6, timeout=30)
            tmux.send("q")
        finally:
            watch.terminate()
            watch.wait(20)
    assert 1 == len(out.read_text().splitlines())


@pytest.mark.tmux
def test_a_malformed_config_stops_the_live_dashboard(home: Path, terminals: list[Tmux], standin: StandIn) -> None:
    """The live dashboard refuses a malformed config: one line naming the file and the line, exit 2."""
    write_credentials(home / ".claude")
    path = _malformed(home)
    tmux = _dashboard(terminals, env={"CLAUDE_USAGE_API_URL": standin.url})
    done = tmux.wait_for(lambda s: "EXITED:" in s)
    said = f"claude-usage: config file {path}, line 2, column 8: invalid value"
    assert (True, True) == ("EXITED:2" in done, said in "".join(done.splitlines()))
