"""The live dashboard's screen: second by second it shows what a full render shows, writing only what changed."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

from rich.console import Console
from rich.segment import Segment

from claude_usage.core.wire import parse_usage
from claude_usage.ui.dashboard import InPlace
from claude_usage.ui.widgets import Dashboard, Frame
from tests.conftest import load_fixture
from tests.support.fakes import FakeClock

UTC = timezone.utc
START = datetime(2026, 11, 24, 12, 49, 0, tzinfo=UTC)


def _console(width: int = 100, height: int = 30) -> Console:
    return Console(
        file=io.StringIO(),
        width=width,
        height=height,
        force_terminal=True,
        color_system="truecolor",
        legacy_windows=False,
    )


def _frame(
    clock: FakeClock,
    *,
    read_at: datetime,
    session: float = 78.0,
    problem: str | None = None,
    due: datetime | None = None,
) -> Frame:
    """What the dashboard shows at the clock's now, the reading taken at `read_at`, the next due a minute later."""
    raw = load_fixture("max-typical")
    raw["five_hour"]["utilization"] = session
    return Frame(
        usage=parse_usage(raw, observed_at=read_at),
        now=clock.now(),
        tz=UTC,
        plan="Max 5x",
        live=True,
        updated_at=read_at,
        next_due=due or read_at + timedelta(seconds=60),
        problem=problem,
    )


def full_render(console: Console, frame: Frame) -> list[list[Segment]]:
    """The whole screen rendered at once through Rich, padded to the console's height."""
    width, height = console.size
    return console.render_lines(Dashboard(frame), console.options.update_dimensions(width, height), pad=True)


def test_every_tick_shows_what_a_full_render_shows() -> None:
    """Over two minutes of ticks, a new reading, an outage and a resize, the screen equals a full render each second."""
    console = _console()
    clock = FakeClock(START)
    mismatches = []
    with InPlace(console) as screen:
        for second in range(120):
            read_at = START if second < 40 else START + timedelta(seconds=40)
            frame = _frame(clock, read_at=read_at, session=78.0 if second < 40 else 81.0)
            if 70 <= second < 90:
                frame = _frame(clock, read_at=read_at, session=81.0, problem="cannot reach http://127.0.0.1:9")
            if second == 100:
                console.size = (80, 12)
            screen.draw(Dashboard(frame))
            if screen.lines != full_render(console, frame):
                mismatches.append(second)
            clock.advance(1)
    assert [] == mismatches


def test_an_idle_tick_writes_only_the_rows_that_changed() -> None:
    """A second without a new reading rewrites only the rows whose countdown or age moved."""
    console = _console()
    clock = FakeClock(START + timedelta(seconds=5))
    with InPlace(console) as screen:
        screen.draw(Dashboard(_frame(clock, read_at=START)))
        before = full_render(console, _frame(clock, read_at=START))
        clock.advance(1)
        screen.draw(Dashboard(_frame(clock, read_at=START)))
        after = full_render(console, _frame(clock, read_at=START))
    assert [row for row, line in enumerate(after) if line != before[row]] == screen.written


def test_an_idle_tick_with_ages_in_minutes_writes_only_the_countdown() -> None:
    """With the reading minutes old, a tick rewrites one row: the next-reading countdown."""
    console = _console()
    clock = FakeClock(START + timedelta(minutes=3))
    with InPlace(console) as screen:
        screen.draw(Dashboard(_frame(clock, read_at=START, due=START + timedelta(minutes=5))))
        clock.advance(1)
        screen.draw(Dashboard(_frame(clock, read_at=START, due=START + timedelta(minutes=5))))
        written = ["".join(segment.text for segment in screen.lines[row]).strip(" │") for row in screen.written]
    assert ["next reading in 1m 59s (12:54:00)"] == written
