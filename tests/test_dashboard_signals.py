"""SIGTERM and SIGHUP end the live dashboard like `q`, then exit 128 + the signal: in tmux, and in process."""

from __future__ import annotations

import os
import re
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from claude_usage.standin import StandIn
from claude_usage.ui.dashboard import ExitSignals, Terminated
from tests.support.cli import write_credentials
from tests.support.tmux import Tmux

SIGNALS = [pytest.param(signal.SIGTERM, id="TERM"), pytest.param(signal.SIGHUP, id="HUP")]


@pytest.fixture
def terminals() -> Iterator[list[Tmux]]:
    started: list[Tmux] = []
    yield started
    for tmux in started:
        tmux.kill()


def _killed(terminals: list[Tmux], standin: StandIn, home: Path, number: int) -> Tmux:
    """A dashboard showing a reading, sent `number`; the pane then runs `stty -a` in the same terminal."""
    write_credentials(home / ".claude")
    env = {"CLAUDE_USAGE_API_URL": standin.url}
    tmux = Tmux([sys.executable, "-m", "claude_usage"], env=env, after="stty -a")
    terminals.append(tmux)
    tmux.wait_for(lambda s: "78%" in s)
    assert "1" == tmux.pane("alternate_on")
    os.kill(tmux.program_pid(), number)
    tmux.wait_for(lambda s: "EXITED:" in s and "speed" in s)  # stty has answered
    return tmux


@pytest.mark.tmux
@pytest.mark.parametrize("number", SIGNALS)
def test_signal_exits_with_128_plus_its_number(
    home: Path, terminals: list[Tmux], standin: StandIn, number: signal.Signals
) -> None:
    """SIGTERM exits 143 and SIGHUP 129, without a traceback."""
    screen = _killed(terminals, standin, home, number).screen()
    assert f"EXITED:{128 + number}" in screen
    assert "Traceback" not in screen


@pytest.mark.tmux
@pytest.mark.parametrize("number", SIGNALS)
def test_signal_leaves_the_alternate_screen_with_the_cursor_shown(
    home: Path, terminals: list[Tmux], standin: StandIn, number: signal.Signals
) -> None:
    """After the signal the pane is back on the normal screen, its cursor visible."""
    tmux = _killed(terminals, standin, home, number)
    assert ("0", "1") == (tmux.pane("alternate_on"), tmux.pane("cursor_flag"))


@pytest.mark.tmux
@pytest.mark.parametrize("number", SIGNALS)
def test_signal_restores_the_terminal_modes(
    home: Path, terminals: list[Tmux], standin: StandIn, number: signal.Signals
) -> None:
    """After the signal `stty -a` in the same terminal shows canonical input and echo again."""
    screen = _killed(terminals, standin, home, number).screen()
    modes = set(re.findall(r"(?<![\w-])-?(?:icanon|echo)\b", screen))
    assert {"icanon", "echo"} == modes


def test_a_signal_while_drawing_unwinds_with_terminated() -> None:
    """Inside the loop, SIGTERM raises Terminated carrying its number, to unwind like `q`."""
    with ExitSignals(), pytest.raises(Terminated) as raised:
        os.kill(os.getpid(), signal.SIGTERM)
    assert signal.SIGTERM == raised.value.signum


def test_a_signal_while_restoring_the_terminal_is_noted_not_raised() -> None:
    """Once restoring has begun a SIGHUP only sets the exit status: the clean-up is never cut short."""
    with ExitSignals() as signals:
        with signals.restoring():
            pass
        os.kill(os.getpid(), signal.SIGHUP)
    assert signal.SIGHUP == signals.received
