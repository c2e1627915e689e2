"""Several accounts in the live faces: the dashboard in a real terminal (tmux), and `watch` with its alerts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from claude_usage.standin import Reply
from tests.support.accounts import REJECTED, Accounts, no_secret, usage
from tests.support.tmux import Tmux


@pytest.fixture
def terminals() -> Iterator[list[Tmux]]:
    started: list[Tmux] = []
    yield started
    for tmux in started:
        tmux.kill()


def _dashboard(terminals: list[Tmux], accounts: Accounts, *, width: int = 100, height: int = 40) -> Tmux:
    args = [sys.executable, "-m", "claude_usage", "--interval", "5", "--no-desktop", *accounts.flags()]
    tmux = Tmux(args, env=accounts.env(), width=width, height=height)
    terminals.append(tmux)
    return tmux


@pytest.mark.tmux
def test_dashboard_stacks_a_titled_section_per_account(home: Path, terminals: list[Tmux]) -> None:
    """The live dashboard shows both accounts, each under its name, in order, the failing one with its problem."""
    with Accounts(home, Reply(200, usage(23.0, 41.0)), REJECTED) as accounts:
        tmux = _dashboard(terminals, accounts)
        screen = tmux.wait_for(lambda s: "23%" in s and "Invalid token" in s)
        tmux.send("q")
        done = tmux.wait_for(lambda s: "EXITED:" in s)
    work, personal = screen.index("Claude usage · work"), screen.index("Claude usage · personal")
    assert (True, True, "EXITED:0", True) == (
        work < screen.index("23%") < personal < screen.index("Invalid token"),
        no_secret(screen + done),
        done.strip().splitlines()[-1].strip(),
        1 == screen.count("q quit"),
    )


@pytest.mark.tmux
def test_short_terminal_keeps_every_account_name(home: Path, terminals: list[Tmux]) -> None:
    """On a terminal too short for both sections, each account still shows its name and its number."""
    with Accounts(home, Reply(200, usage(23.0, 41.0)), Reply(200, usage(64.0, 12.0))) as accounts:
        tmux = _dashboard(terminals, accounts, width=60, height=6)
        screen = tmux.wait_for(lambda s: "23%" in s and "64%" in s)
    assert (True, True) == ("work" in screen, "personal" in screen)


def test_watch_alerts_carry_the_account_name(home: Path, tmp_path: Path) -> None:
    """`watch` with two accounts fires each account's threshold alert with `"account": NAME`."""
    out = tmp_path / "alerts.jsonl"
    command = f"{sys.executable} -c \"import sys; open({str(out)!r}, 'a').write(sys.stdin.read().strip() + chr(10))\""
    with Accounts(home, Reply(200, usage(85.0, 41.0)), Reply(200, usage(96.0, 12.0))) as accounts:
        args = ["watch", "--interval", "5", "--no-desktop", "--thresholds", "80", "--alert-command", command]
        proc = subprocess.Popen(
            [sys.executable, "-m", "claude_usage", *args, *accounts.flags()],
            env={**os.environ, **accounts.env()},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 2):
                time.sleep(0.1)
        finally:
            proc.send_signal(signal.SIGTERM)
            _, stderr = proc.communicate(timeout=20)
    fired = sorted(
        (alert["account"], alert["key"], alert["threshold"]) for alert in map(json.loads, out.read_text().splitlines())
    )
    assert ([("personal", "five_hour", 80.0), ("work", "five_hour", 80.0)], 0, True) == (
        fired,
        proc.returncode,
        no_secret(stderr),
    )


def test_watch_logs_each_account_by_name(home: Path, tmp_path: Path) -> None:
    """`watch` with two accounts says which account each reading or failure belongs to."""
    err = tmp_path / "stderr.txt"
    wanted = ("work: reading: five_hour 23%", "personal: reading failed (auth)")
    with Accounts(home, Reply(200, usage(23.0, 41.0)), REJECTED) as accounts, err.open("w") as sink:
        args = ["watch", "--interval", "5", "--no-desktop", "--thresholds", ""]
        proc = subprocess.Popen(
            [sys.executable, "-m", "claude_usage", *args, *accounts.flags()],
            env={**os.environ, **accounts.env()},
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not all(line in err.read_text() for line in wanted):
                time.sleep(0.1)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
    text = err.read_text()
    assert ([True, True], 0, True) == ([line in text for line in wanted], proc.returncode, no_secret(text))
