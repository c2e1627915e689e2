"""Rendering the dashboard into a plain console at 32, 40 and 100 columns."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
from rich.console import Console

from claude_usage.core import pace as pace_maths
from claude_usage.core.model import Usage, Window
from claude_usage.core.pace import Sample
from claude_usage.core.wire import parse_usage
from claude_usage.insights import Insights
from claude_usage.ui.widgets import KEY_HINTS, SPARKS, Dashboard, Frame
from tests.conftest import load_fixture

NOW = datetime(2026, 11, 24, 12, 49, 0, tzinfo=timezone.utc)
UTC = timezone.utc
USABLE = [
    "max-typical",
    "limits-only",
    "future-keys",
    "enterprise-nulls",
    "over-limit-with-credit",
    "pro-fresh-window",
    "yen-credits",
]


def _usage(name: str) -> Usage:
    return parse_usage(load_fixture(name), observed_at=NOW)


def render(frame: Frame, width: int) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, legacy_windows=False)
    console.print(Dashboard(frame))
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(out, str)
    return out


def _frame(name: str, **changes: object) -> Frame:
    fields: dict[str, object] = {"usage": _usage(name), "now": NOW, "tz": UTC, "plan": "Max 5x", "updated_at": NOW}
    return Frame(**{**fields, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize("width", [32, 40, 100])
@pytest.mark.parametrize("name", USABLE)
def test_no_line_is_wider_than_the_console(name: str, width: int) -> None:
    """Every fixture renders within 32, 40 and 100 columns."""
    out = render(_frame(name, live=True), width)
    assert width >= max(len(line) for line in out.splitlines())


@pytest.mark.parametrize("width", [32, 40, 100])
def test_max_typical_shows_every_limit(width: int) -> None:
    """The typical Max reply shows its three windows, percents, reset and usage credits."""
    out = render(_frame("max-typical"), width)
    for text in ("Current session", "78%", "41%", "12%", "Resets in 2h 11m (15:00)", "$12.34 / $50.00 spent"):
        assert text in out


def test_roomy_layout_puts_one_limit_per_line() -> None:
    """At 100 columns the label, bar, percent and reset share one line."""
    out = render(_frame("max-typical"), 100)
    line = next(line for line in out.splitlines() if "Current session" in line)
    assert "78%" in line
    assert "Resets in 2h 11m (15:00)" in line
    assert "█" in line


def test_compact_layout_has_no_border() -> None:
    """At 32 columns there is no panel border, one column of compact bars."""
    out = render(_frame("max-typical"), 32)
    assert "╭" not in out
    assert "Claude usage · Max 5x" in out


def test_over_100_is_shown_as_such_with_a_full_bar() -> None:
    """A utilization over 100 shows its own percent and a full bar."""
    raw = {"five_hour": {"utilization": 112.7, "resets_at": "2026-11-24T15:00:00+00:00"}}
    out = render(Frame(usage=parse_usage(raw), now=NOW, tz=UTC, updated_at=NOW), 100)
    line = next(line for line in out.splitlines() if "Current session" in line)
    assert "112%" in line
    assert "░" not in line


def test_a_passed_reset_says_resetting() -> None:
    """A reset in the past shows resetting…, never a negative countdown."""
    out = render(_frame("max-typical", now=NOW + timedelta(hours=3)), 100)
    assert "resetting…" in out
    assert "-" not in out.split("Current session")[1].split("\n")[0]


def test_nothing_left_says_no_active_limits() -> None:
    """A reply with every window null says No active limits."""
    raw = {"five_hour": None, "seven_day": None}
    assert "No active limits" in render(Frame(usage=parse_usage(raw), now=NOW, tz=UTC, updated_at=NOW), 40)


def test_enterprise_with_only_credits_says_no_active_limits_and_shows_credits() -> None:
    """An account with only usage credits says so and shows the spend with no cap."""
    out = render(_frame("enterprise-nulls"), 100)
    assert "No active limits" in out
    assert "$8,800.00 spent · no cap" in out


def test_yen_credits_have_no_decimals() -> None:
    """JPY usage credits show whole yen."""
    assert "¥1,500 / ¥3,000 spent" in render(_frame("yen-credits"), 100)


def test_credits_off() -> None:
    """Usage credits that are off say off."""
    out = render(_frame("pro-fresh-window"), 100)
    line = next(line for line in out.splitlines() if "Usage credits" in line)
    assert "off" in line


def test_limits_only_account_shows_its_limits() -> None:
    """An account whose windows come only through limits[] shows each of them."""
    out = render(_frame("limits-only"), 100)
    for text in ("Current session", "64%", "Current week (all models)", "88%", "Current week (Opus)", "35%"):
        assert text in out


def test_stale_reading_shows_its_age_and_the_problem() -> None:
    """During a failure the reading is marked stale with its age and one line saying what went wrong."""
    frame = _frame("max-typical", now=NOW + timedelta(minutes=3), problem="cannot reach http://127.0.0.1:9")
    out = render(frame, 100)
    assert "Stale: last reading 12:49:00, 3m ago" in out
    assert "cannot reach http://127.0.0.1:9" in out


def test_cooling_down_counts_down_to_the_next_try() -> None:
    """While rate limited the screen says when the next try is."""
    frame = _frame("max-typical", live=True, cooling_until=NOW + timedelta(minutes=4, seconds=10))
    assert "rate limited · next try in 4m 10s" in render(frame, 100)


def test_live_frame_shows_next_reading_and_keys() -> None:
    """A live frame says when the next reading is due and shows the key hints."""
    frame = _frame("max-typical", live=True, next_due=NOW + timedelta(seconds=42))
    out = render(frame, 100)
    assert "next reading in 42s (12:49:42)" in out
    assert "API · just now" in out
    assert "q quit" in out


def test_demo_title() -> None:
    """The demo says DEMO in its title."""
    assert "DEMO" in render(_frame("max-typical", demo=True), 40)


def _insights(usage: Usage) -> Insights:
    """Pace, forecasts and two hours of rising samples for every window with a period."""
    trajectories = {
        w.key: [Sample(NOW - timedelta(minutes=m), max(0.0, w.utilization - m / 10)) for m in range(120, -1, -10)]
        for w in usage.windows
        if w.period is not None
    }
    return Insights(
        pace={w.key: p for w in usage.windows if (p := pace_maths.pace(w, NOW)) is not None},
        forecasts={
            w.key: pace_maths.forecast(trajectories[w.key], w, NOW) for w in usage.windows if w.key in trajectories
        },
        trajectories=trajectories,
    )


def _live(name: str = "max-typical", **changes: object) -> Frame:
    usage = _usage(name)
    fields: dict[str, object] = {"live": True, "next_due": NOW + timedelta(seconds=42), "insights": _insights(usage)}
    return _frame(name, **{**fields, **changes})


def render_at(frame: Frame, width: int, height: int) -> str:
    """The frame drawn on a screen of `width` x `height`, as the live dashboard sizes it."""
    console = Console(file=io.StringIO(), width=width, height=height, color_system=None, legacy_windows=False)
    lines = console.render_lines(Dashboard(frame), console.options.update_dimensions(width, height))
    return "\n".join("".join(segment.text for segment in line).rstrip() for line in lines).rstrip("\n")


SIZES = [(80, 12), (80, 24), (100, 40), (32, 12), (32, 40)]


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_a_live_frame_fits_the_screen_height(width: int, height: int) -> None:
    """A live frame never has more lines than the screen."""
    assert height >= len(render_at(_live(), width, height).splitlines())


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_footer_stays_at_every_height(width: int, height: int) -> None:
    """Updated, the next-reading countdown and the key hints show at 12, 24 and 40 lines alike."""
    lines = render_at(_live(), width, height).splitlines()
    found = [any(text in line for line in lines) for text in ("Updated 12:49:00", "next reading in 42s", KEY_HINTS)]
    assert [True, True, True] == found


@pytest.mark.parametrize("height", [12, 24])
def test_the_border_stays_closed_on_a_short_screen(height: int) -> None:
    """At 80 columns the frame's bottom edge shows above the key hints, however short the screen."""
    lines = render_at(_live(), 80, height).splitlines()
    assert lines[-2].startswith("╰")


def test_a_tall_screen_shows_sparklines_and_insights() -> None:
    """At 100x40 every limit has its sparkline and its pace."""
    out = render_at(_live(), 100, 40)
    assert 3 == len([line for line in out.splitlines() if "pace" in line and any(c in line for c in SPARKS)])


def test_a_short_screen_drops_insights_but_keeps_every_limit() -> None:
    """At 80x12 the insight lines go, while every limit and the usage credits stay."""
    out = render_at(_live(), 80, 12)
    labels = ["Current session", "Current week (all models)", "Current week (Sonnet only)", "Usage credits"]
    assert ([True] * 4, False) == ([label in out for label in labels], "pace" in out)


def test_a_short_screen_drops_the_sources_to_keep_one_line_per_limit() -> None:
    """At 80x12 each limit keeps its reset on its own line, without the source beside it."""
    out = render_at(_live(), 80, 12)
    line = next(line for line in out.splitlines() if "Current session" in line)
    assert ("Resets in 2h 11m (15:00)" in line, "API" in out) == (True, False)


@pytest.mark.parametrize("name", USABLE)
def test_no_line_ends_with_a_dangling_separator_at_32_columns(name: str) -> None:
    """At 32 columns text breaks between pieces: no line ends with ` ·`."""
    frame = _live(name, problem="cannot reach http://127.0.0.1:9 · retrying", cooling_until=NOW + timedelta(minutes=4))
    dangling = [line for line in render(frame, 32).splitlines() if line.rstrip().endswith("·")]
    assert [] == dangling


def test_a_piece_that_fits_is_kept_whole_at_32_columns() -> None:
    """At 32 columns a source and its age stay together on one line."""
    lines = [line.strip() for line in render(_live(), 32).splitlines()]
    below = lines.index("Current session              78%") + 2  # under the label and the bar
    assert ["Resets in 2h 11m (15:00)", "API · just now"] == lines[below : below + 2]


def test_a_passed_reset_shows_the_number_given_with_resetting() -> None:
    """A reply whose reset has passed (the server has not rolled the window yet) shows its 104 % and resetting…."""
    window = Window("five_hour", "Current session", 104.0, NOW - timedelta(minutes=1), reset_passed=True)
    out = render(Frame(usage=Usage((window,)), now=NOW, tz=UTC, updated_at=NOW), 100)
    line = next(line for line in out.splitlines() if "Current session" in line)
    assert ("104%" in line, "resetting…" in line, "Resets in" in line) == (True, True, False)


CONTROLS = "\x1b]0;Pwned\x07\x1b[2J\x9b31m\x00"


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"usage": Usage((Window("x", f"Label{CONTROLS}", 5.0, None),))}, id="label"),
        pytest.param({"notes": (f"note{CONTROLS}",)}, id="note"),
        pytest.param({"problem": f"problem{CONTROLS}"}, id="problem"),
        pytest.param({"plan": f"plan{CONTROLS}"}, id="plan"),
    ],
)
@pytest.mark.parametrize("width", [32, 100])
def test_control_characters_from_servers_never_reach_the_terminal(changes: dict[str, object], width: int) -> None:
    """A label, note, problem or plan holding escape sequences is drawn without its control characters."""
    out = render(_frame("max-typical", live=True, **changes), width)
    assert [] == [char for char in out if char not in "\n" and (ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0)]


def test_control_characters_are_dropped_and_the_rest_shown() -> None:
    """`\\x1b]0;Pwned\\x1b[2J` in a label shows as `]0;Pwned[2J`."""
    usage = Usage((Window("x", "\x1b]0;Pwned\x1b[2J", 5.0, None),))
    assert "]0;Pwned[2J" in render(Frame(usage=usage, now=NOW, tz=UTC, updated_at=NOW), 100)


def test_after_r_the_footer_counts_down_to_the_next_allowed_request() -> None:
    """Within the budget's spacing the footer says when a request is allowed, in seconds."""
    out = render(_live(request_allowed_at=NOW + timedelta(seconds=7)), 100)
    assert "next request allowed in 7 s" in out


def test_the_request_countdown_goes_once_allowed() -> None:
    """Once the spacing has passed the footer no longer mentions it."""
    out = render(_live(request_allowed_at=NOW - timedelta(seconds=1)), 100)
    assert "next request allowed" not in out
