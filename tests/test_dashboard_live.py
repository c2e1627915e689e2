"""The live dashboard in a real terminal (tmux): in-place updates, outages, expired tokens, quitting."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from claude_usage.standin import Reply, Script, StandIn
from tests.conftest import load_fixture
from tests.support.cli import TEST_TOKEN, write_credentials
from tests.support.tmux import Tmux

pytestmark = pytest.mark.tmux


def _usage(session: float) -> dict[str, object]:
    resets = (datetime.now(timezone.utc) + timedelta(hours=2, minutes=11, seconds=30)).isoformat()
    return {"five_hour": {"utilization": session, "resets_at": resets}, "seven_day": None}


@pytest.fixture
def terminals() -> Iterator[list[Tmux]]:
    started: list[Tmux] = []
    yield started
    for tmux in started:
        tmux.kill()


def _dashboard(terminals: list[Tmux], *args: str, env: dict[str, str], width: int = 100, height: int = 30) -> Tmux:
    tmux = Tmux([sys.executable, "-m", "claude_usage", *args], env=env, width=width, height=height)
    terminals.append(tmux)
    return tmux


def test_updates_in_place_and_quits_with_q(home: Path, terminals: list[Tmux]) -> None:
    """A new reading replaces the old one on the same screen; q exits with status 0."""
    write_credentials(home / ".claude")
    script = Script(Reply(200, _usage(23.0)))
    with StandIn(script) as api:
        tmux = _dashboard(terminals, "--interval", "1", env={"CLAUDE_USAGE_API_URL": api.url})
        first = tmux.wait_for(lambda s: "23%" in s)
        assert "Current session" in first
        assert re.search(r"Resets in 2h 1[01]m", first)
        script.then(Reply(200, _usage(64.0)))
        second = tmux.wait_for(lambda s: "64%" in s)
        assert "23%" not in second
        assert 1 == second.count("Current session")
        tmux.send("q")
        done = tmux.wait_for(lambda s: "EXITED:" in s)
    assert "EXITED:0" in done
    assert "Traceback" not in done
    assert TEST_TOKEN not in done


def test_ctrl_c_exits_cleanly(home: Path, terminals: list[Tmux], standin: StandIn) -> None:
    """Ctrl+C leaves with status 0 and no traceback."""
    write_credentials(home / ".claude")
    tmux = _dashboard(terminals, env={"CLAUDE_USAGE_API_URL": standin.url})
    tmux.wait_for(lambda s: "78%" in s)
    tmux.send("C-c")
    done = tmux.wait_for(lambda s: "EXITED:" in s)
    assert "EXITED:0" in done
    assert "Traceback" not in done


def test_countdown_ticks_every_second(home: Path, terminals: list[Tmux], standin: StandIn) -> None:
    """The next-reading countdown changes from one second to the next without a new reading."""
    write_credentials(home / ".claude")
    tmux = _dashboard(terminals, env={"CLAUDE_USAGE_API_URL": standin.url})
    first = tmux.wait_for(lambda s: "next reading in" in s)
    line = next(line for line in first.splitlines() if "next reading in" in line)
    tmux.wait_for(lambda s: line not in s and "next reading in" in s, timeout=5)
    assert 1 == len(standin.usage_requests())


def test_rides_out_an_outage(home: Path, terminals: list[Tmux]) -> None:
    """During a 503 the last reading stays on screen, marked stale with one line saying why; it recovers."""
    write_credentials(home / ".claude")
    script = Script(Reply(200, _usage(41.0)))
    with StandIn(script) as api:
        tmux = _dashboard(terminals, "--interval", "1", env={"CLAUDE_USAGE_API_URL": api.url})
        tmux.wait_for(lambda s: "41%" in s)
        script.then(Reply(503, "<h1>Service Unavailable</h1>"))
        outage = tmux.wait_for(lambda s: "503" in s)
        assert "41%" in outage
        assert "Stale" in outage
        script.then(Reply(200, _usage(45.0)))
        recovered = tmux.wait_for(lambda s: "45%" in s and "503" not in s, timeout=20)
    assert "Stale" not in recovered


def test_expired_token_is_shown_and_recovers_after_refresh(home: Path, terminals: list[Tmux]) -> None:
    """An expired login is shown without sending it; once Claude Code refreshes the file, readings resume."""
    creds = write_credentials(home / ".claude", expires_in_s=60)
    with StandIn(Script(Reply(200, _usage(12.0)))) as api:
        tmux = _dashboard(terminals, "--interval", "1", env={"CLAUDE_USAGE_API_URL": api.url})
        expired = tmux.wait_for(lambda s: "expire" in s)
        assert "claude" in expired
        assert [] == api.usage_requests()
        write_credentials(creds.parent, token=TEST_TOKEN + "-refreshed")
        tmux.wait_for(lambda s: "12%" in s, timeout=20)


def test_rejected_token_is_not_sent_again(home: Path, terminals: list[Tmux]) -> None:
    """After a 401 the same token is never re-sent; a new token in the store is."""
    creds = write_credentials(home / ".claude")
    script = Script(Reply(401, load_fixture("error-401-expired")))
    with StandIn(script) as api:
        tmux = _dashboard(terminals, "--interval", "1", env={"CLAUDE_USAGE_API_URL": api.url})
        tmux.wait_for(lambda s: "401" in s)
        script.then(Reply(200, _usage(33.0)))
        tmux.send("r")
        time.sleep(6)  # `r` and at least one re-check of the store: neither may resend the token
        assert "401" in tmux.screen()
        assert 1 == len(api.usage_requests())
        write_credentials(creds.parent, token=TEST_TOKEN + "-new")
        tmux.wait_for(lambda s: "33%" in s, timeout=20)
        assert 2 == len(api.usage_requests())


def test_rate_limit_cools_down_and_keeps_the_reading(home: Path, terminals: list[Tmux]) -> None:
    """After a 429 the screen keeps the reading and counts down to the next try."""
    write_credentials(home / ".claude")
    script = Script(Reply(200, _usage(52.0)))
    with StandIn(script) as api:
        tmux = _dashboard(terminals, "--interval", "1", env={"CLAUDE_USAGE_API_URL": api.url})
        tmux.wait_for(lambda s: "52%" in s)
        script.then(Reply(429, load_fixture("error-429"), {"Retry-After": "250"}))
        limited = tmux.wait_for(lambda s: "rate limited · next try in" in s)
        assert "52%" in limited
        assert re.search(r"next try in 4m \d+s", limited)
        assert re.search(r"rate limited · next request in 4m \d+s", limited)
        count = len(api.usage_requests())
        tmux.send("r")
        time.sleep(2)  # `r` while cooling down must not send anything
        assert "rate limited" in tmux.screen()
    assert count == len(api.usage_requests())


def test_follows_a_resize(home: Path, terminals: list[Tmux], standin: StandIn) -> None:
    """Shrunk to 32 columns the dashboard redraws in one compact column."""
    write_credentials(home / ".claude")
    tmux = _dashboard(terminals, env={"CLAUDE_USAGE_API_URL": standin.url}, width=100)
    tmux.wait_for(lambda s: "78%" in s and "╭" in s)
    tmux.resize(32, 30)
    narrow = tmux.wait_for(lambda s: "╭" not in s and "78%" in s)
    assert 32 >= max(len(line.rstrip()) for line in narrow.splitlines())


def test_demo_needs_no_login(terminals: list[Tmux]) -> None:
    """--demo draws a full dashboard with no credentials at all and says DEMO."""
    tmux = _dashboard(terminals, "--demo", env={})
    screen = tmux.wait_for(lambda s: "DEMO" in s and "%" in s)
    assert "Current session" in screen
    tmux.send("q")
    assert "EXITED:0" in tmux.wait_for(lambda s: "EXITED:" in s)


def test_r_in_the_demo_says_when_a_request_is_allowed(terminals: list[Tmux]) -> None:
    """In the demo (spacing = interval) `r` right after a reading counts down to the next allowed request."""
    tmux = _dashboard(terminals, "--demo", env={})
    tmux.wait_for(lambda s: "DEMO" in s and "%" in s and "next reading in" in s)
    tmux.send("r")
    first = tmux.wait_for(lambda s: "next request allowed in" in s, timeout=5)
    said = re.search(r"next request allowed in \d+ s", first)
    assert said is not None
    tmux.wait_for(lambda s: said.group(0) not in s and "next request allowed in" in s, timeout=5)


def test_a_short_terminal_keeps_the_footer(home: Path, terminals: list[Tmux], standin: StandIn) -> None:
    """At 80x12 the frame's bottom edge, Updated, the countdown and the key hints all show."""
    write_credentials(home / ".claude")
    tmux = _dashboard(terminals, env={"CLAUDE_USAGE_API_URL": standin.url}, width=80, height=12)
    screen = tmux.wait_for(lambda s: "78%" in s and "next reading in" in s)
    assert [True] * 4 == [text in screen for text in ("╰", "Updated", "next reading in", "q quit")]


def test_picks_up_numbers_another_process_wrote(home: Path, terminals: list[Tmux], standin: StandIn) -> None:
    """A status line's fresher session number shows on the dashboard within a couple of seconds, with its source."""
    write_credentials(home / ".claude")
    tmux = _dashboard(terminals, env={"CLAUDE_USAGE_API_URL": standin.url})
    first = tmux.wait_for(lambda s: "78%" in s)
    assert "API · " in first
    same_window = int(time.time()) + 2 * 3600 + 11 * 60  # the stand-in's session resets in 2h11m
    feed = {"rate_limits": {"five_hour": {"used_percentage": 91.0, "resets_at": same_window}}}
    subprocess.run(
        [sys.executable, "-m", "claude_usage", "statusline", "--no-refresh"],
        input=json.dumps(feed).encode(),
        capture_output=True,
        check=True,
        env={**os.environ, "CLAUDE_USAGE_API_URL": standin.url},
    )
    updated = tmux.wait_for(lambda s: "91%" in s, timeout=3)
    assert "status line · " in updated
    assert 1 == len(standin.usage_requests())


@pytest.mark.parametrize(("no_color", "coloured"), [(False, True), (True, False)])
def test_colour_follows_no_color(
    home: Path, terminals: list[Tmux], standin: StandIn, no_color: bool, coloured: bool
) -> None:
    """In a terminal the percents are coloured by level, unless NO_COLOR is set."""
    write_credentials(home / ".claude")
    env = {"CLAUDE_USAGE_API_URL": standin.url, **({"NO_COLOR": "1"} if no_color else {})}
    tmux = _dashboard(terminals, "--once", env=env)
    tmux.wait_for(lambda s: "EXITED:0" in s)
    screen = tmux.screen(escapes=True).split("EXITED")[0]
    assert coloured == bool(re.search(r"\x1b\[(?:\d+;)*(?:3[0-8]|9[0-7])m", screen))  # a foreground colour
