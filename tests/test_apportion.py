"""Who ate this window: the apportioning of an official window's rise, on constructed data with a known answer."""

from __future__ import annotations

import pytest

from claude_usage.adapters.pricing import load_table
from claude_usage.core.apportion import WINDOW_US, OfficialWindow, Reading, apportion, overlapping, windows
from claude_usage.core.reports import UsageGroup

MIN = 60 * 1_000_000
RESETS = 1_790_000_000 * 1_000_000 // (60 * MIN) * (60 * MIN)  # on the hour
START = RESETS - WINDOW_US


def _use(minute: int, project: str, output: int, model: str = "claude-opus-4-6") -> UsageGroup:
    at = START + minute * MIN
    return UsageGroup(model, False, 1, 0, output, 0, 0, 0, at, at, project, "s")


def _window(*points: tuple[int, float]) -> OfficialWindow:
    readings = tuple((START + minute * MIN, u) for minute, u in points)
    return OfficialWindow("five_hour", RESETS, readings, max(u for _, u in readings))


def test_rise_is_split_by_cost_and_the_rest_is_not_in_local_logs() -> None:
    """10 points rose while nothing ran locally; the other 36 go 3:1 by API cost; later use is left out."""
    window = _window((60, 10.0), (120, 40.0), (150, 39.0), (180, 46.0))
    groups = [
        _use(90, "api-server", 600),
        _use(100, "docs", 400),
        _use(170, "api-server", 600),
        _use(200, "docs", 50_000),  # after the last reading: in no reading yet
    ]
    found = apportion(window, groups, load_table())
    assert found is not None
    assert (46.0, 10.0, 4) == (found.rise, found.not_local, found.readings)
    assert [("api-server", 27.0), ("docs", 9.0)] == [(s.name, round(s.points, 9)) for s in found.projects]
    assert [("claude-opus-4-6", 36.0)] == [(s.name, round(s.points, 9)) for s in found.models]
    assert "this window: 46% · api-server 27% · docs 9% · not in local logs 10%" == found.text()


def test_cost_not_tokens_weighs_the_models() -> None:
    """The same tokens of Opus weigh 5/3 of Sonnet's (output at $25 against $15 a million)."""
    window = _window((30, 8.0), (60, 16.0))
    groups = [_use(20, "a", 1000), _use(40, "a", 1000, model="claude-sonnet-4-6")]
    found = apportion(window, groups, load_table())
    assert found is not None
    assert {"claude-opus-4-6": 10.0, "claude-sonnet-4-6": 6.0} == {s.name: round(s.points, 9) for s in found.models}
    assert 0.0 == found.not_local


@pytest.mark.parametrize(
    "points",
    [
        ((60, 30.0),),  # one reading
        ((60, 0.0), (120, 0.5)),  # a rise under a point
    ],
)
def test_declines_with_too_few_readings(points: tuple[tuple[int, float], ...]) -> None:
    assert apportion(_window(*points), [_use(90, "a", 100)], load_table()) is None


def test_windows_group_readings_by_reset_and_pick_the_overlapping_one() -> None:
    """A reset reported a few seconds apart is one window; the next window is another."""
    readings = [
        Reading("five_hour", RESETS, START + 10 * MIN, 5.0),
        Reading("five_hour", RESETS + 2_000_000, START + 20 * MIN, 7.0),
        Reading("five_hour", RESETS + WINDOW_US, RESETS + 10 * MIN, 3.0),
        Reading("seven_day", RESETS, START + 10 * MIN, 50.0),
        Reading("five_hour", None, START + 30 * MIN, 9.0),
    ]
    found = windows(readings)
    assert [(RESETS, 7.0, 2), (RESETS + WINDOW_US, 3.0, 1)] == [(w.resets_us, w.peak, len(w.readings)) for w in found]
    best = overlapping(found, START + 60 * MIN, START + 60 * MIN + WINDOW_US)
    assert best is not None
    assert RESETS == best.resets_us
    assert overlapping(found, START - 2 * WINDOW_US, START - WINDOW_US) is None
