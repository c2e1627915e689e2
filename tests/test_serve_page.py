"""serve's page for a person: rendered in process, then served and loaded in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from claude_usage.adapters.history import History, Observation, Row
from claude_usage.adapters.store import Store
from claude_usage.service.poller import Poller, PollView
from claude_usage.standin import StandIn
from claude_usage.ui.page import PageAccount, render, stretches
from tests.conftest import load_fixture
from tests.support.cli import write_credentials
from tests.support.fakes import ACCOUNT_KEY, FakeClock, ScriptedClient, build_reader
from tests.support.serve import Served, wait_for

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
UTC = timezone.utc
SHOWN = {"five_hour": "78%", "seven_day": "41%", "seven_day_sonnet": "12%"}  # max-typical, as Claude Code shows it


def _weeks_of_rows(account: str, now: datetime) -> list[Observation]:
    """Four weeks of a session limit climbing through each 5-hour window, and a weekly one climbing by day."""
    found = []
    start = now - timedelta(days=28)
    for hour in range(28 * 24):
        at = start + timedelta(hours=hour)
        if at.hour < 8:  # nights off: the chart breaks its line there
            continue
        found.append(Observation(account, "five_hour", float(min(100, (hour % 5) * 22)), None, "api", at))
        found.append(Observation(account, "seven_day", float((hour % (7 * 24)) // 2), None, "api", at))
    return found


@pytest.fixture
def view(tmp_path: Path) -> PollView:
    clock = FakeClock()
    reader = build_reader(Store(tmp_path / "store"), clock, ScriptedClient(load_fixture("max-typical")))
    poller = Poller(reader, interval_s=60.0, floor_s=10.0)
    poller.run_due()
    return poller.view


def _rows(account: str, now: datetime) -> list[Row]:
    return [
        Row(o.account, o.key, o.utilization, o.resets_at, o.source, o.observed_at, o.observed_at)
        for o in _weeks_of_rows(account, now)
    ]


def test_the_page_shows_each_limits_percent_as_claude_code_does(view: PollView) -> None:
    """Each limit's row carries its percent, the floor of the reply's utilization."""
    now = datetime(2026, 11, 24, 12, 49, tzinfo=UTC)
    page = render([PageAccount("default", view)], now=now, tz=UTC, refresh_s=60)
    found = dict(re.findall(r'<td class="pct" data-limit="([^"]+)">([^<]+)<', page))
    assert SHOWN == found


def test_the_page_draws_a_chart_per_window_with_history(view: PollView) -> None:
    """One SVG per window key with rows, its line broken at each night without sightings."""
    now = datetime(2026, 11, 24, 12, 49, tzinfo=UTC)
    page = render([PageAccount("default", view, _rows(ACCOUNT_KEY, now))], now=now, tz=UTC, refresh_s=60)
    charts = re.findall(r'<div class="chart" data-limit="([^"]+)">(.*?)</div>', page)
    assert ["five_hour", "seven_day"] == [key for key, _ in charts]
    assert 28 <= charts[0][1].count("<polyline") <= 29  # one stretch per day


def test_the_page_needs_nothing_from_outside(view: PollView) -> None:
    """No script, no external URL, a meta refresh: it works offline under `default-src 'none'`."""
    now = datetime(2026, 11, 24, 12, 49, tzinfo=UTC)
    page = render([PageAccount("default", view)], now=now, tz=UTC, refresh_s=30)
    assert ([], [], True) == (
        re.findall(r"<script", page),
        re.findall(r'(?:src|href)="(?:https?:)?//', page),
        '<meta http-equiv="refresh" content="30">' in page,
    )


def test_text_from_the_reply_is_escaped(view: PollView) -> None:
    """A label or problem holding markup is shown as text."""
    assert view.snapshot is not None
    windows = tuple(w._replace(label="<img src=x onerror=alert(1)>") for w in view.snapshot.usage.windows)
    usage = view.snapshot.usage._replace(windows=windows)
    hostile = view._replace(snapshot=view.snapshot._replace(usage=usage), problem="<b>boom</b>")
    page = render(
        [PageAccount("default", hostile)], now=datetime(2026, 11, 24, 12, 49, tzinfo=UTC), tz=UTC, refresh_s=60
    )
    assert ("<img" in page, "&lt;img src=x" in page, "&lt;b&gt;boom" in page) == (False, True, True)


def test_without_a_reading_the_page_says_so() -> None:
    """Before the first answer: "No reading yet", and the problem if there is one."""
    page = render(
        [PageAccount("default", PollView(problem="not logged in"))], now=datetime.now(UTC), tz=UTC, refresh_s=60
    )
    assert ("No reading yet." in page, "not logged in" in page) == (True, True)


def test_stretches_break_where_sightings_are_hours_apart() -> None:
    """Rows an hour apart join; a gap over three hours starts a new line; a lone sighting is a dot."""
    t0 = datetime(2026, 11, 1, 8, tzinfo=UTC)

    def row(hours: float, pct: float) -> Row:
        at = t0 + timedelta(hours=hours)
        return Row("a", "five_hour", pct, None, "api", at, at)

    lines = stretches([row(0, 1), row(1, 2), row(2, 3), row(9, 10)], t0 - timedelta(days=1))
    assert [[1.0, 2.0, 3.0], [10.0, 10.0]] == [[pct for _, pct in line] for line in lines]


# -- in a real browser ---------------------------------------------------------------------------------


@pytest.fixture
def page_server(home: Path, standin: StandIn, tmp_path: Path) -> Iterator[Served]:
    """serve against the stand-in, with four weeks of history filed for its account."""
    write_credentials(home / ".claude")
    served = Served("--interval", "600", env={"CLAUDE_USAGE_API_URL": standin.url})
    try:
        document = wait_for(lambda: _answered(served), what="the first reading")
        with History.open(tmp_path / "data" / "history.sqlite3") as history:
            history.record(_weeks_of_rows(document, datetime.now(UTC)))
        yield served
    finally:
        assert 0 == served.terminate()


def _answered(served: Served) -> str | None:
    status, _, body = served.get("/api/usage")
    found = re.search(r'"account": "([^"]+)"', body.decode()) if status == 200 else None
    return found.group(1) if found else None


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    profile = tmp_path / "chromium-profile"
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--hide-scrollbars",
        "--window-size=820,1300",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium (Debian's `chromium` package; .ci/run installs it)")
def test_chromium_shows_each_limit_and_the_charts(page_server: Served, tmp_path: Path) -> None:
    """Headless Chromium loads `/`: its DOM holds each limit's percent and a chart per window; a screenshot is taken."""
    dom = _chromium(tmp_path, "--dump-dom", page_server.url + "/")
    assert 0 == dom.returncode, dom.stderr[-2000:]
    found = dict(re.findall(r'<td class="pct" data-limit="([^"]+)">([^<]+)<', dom.stdout))
    assert SHOWN == found
    assert {"five_hour", "seven_day"} <= set(re.findall(r'<div class="chart" data-limit="([^"]+)"', dom.stdout))
    shot = tmp_path / "page.png"
    result = _chromium(tmp_path, f"--screenshot={shot}", page_server.url + "/")
    assert 0 == result.returncode, result.stderr[-2000:]
    assert (b"\x89PNG", True) == (shot.read_bytes()[:4], shot.stat().st_size > 20_000)
