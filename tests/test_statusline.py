"""`claude-usage statusline`, run the way Claude Code runs it: a real process, its JSON on stdin, real files."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from claude_usage.adapters.store import Store
from claude_usage.standin import Reply, Script, StandIn
from tests.conftest import fresh_fixture
from tests.support.cli import TEST_TOKEN, write_credentials

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX shell commands and file modes")

ACCOUNT = "6f0b3c2e-9d41-4a8e-b7c5-2e1f0a9d8c7b"
ORG = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
KEY = f"a-{ACCOUNT}_{ORG}"  # adapters/account.py: key_for_ids(accountUuid, organizationUuid)
DEAD_API = "http://127.0.0.1:9"  # nothing listens there: a stray refresh never reaches a real endpoint
VENV_BIN = os.path.dirname(sys.executable)
EXE = os.path.join(VENV_BIN, "claude-usage")
# The line for `session()`'s defaults: 37.0 % with its reset 2h11m ahead, 14.2 % for the week.
REALISTIC_LINE = "5h 37% ↻2h11m · 7d 14%"


def session(
    five: object = 37.0,
    week: object = 14.2,
    *,
    five_reset: float | None = None,
    week_reset: float | None = None,
) -> dict[str, Any]:
    """docs/statusline.md §4's example, resets moved to 2h11m (and 30 s of slack) and 3 days from now.

    A window whose value is None is left out.
    """
    now = time.time()
    limits: dict[str, Any] = {}
    if five is not None:
        reset = now + 2 * 3600 + 11 * 60 + 30 if five_reset is None else five_reset
        limits["five_hour"] = {"used_percentage": five, "resets_at": int(reset)}
    if week is not None:
        reset = now + 3 * 86400 + 30 if week_reset is None else week_reset
        limits["seven_day"] = {"used_percentage": week, "resets_at": int(reset)}
    return {
        "session_id": "0c9d7e52-1a2b-4c3d-9e8f-5a6b7c8d9e0f",
        "transcript_path": "/home/dev/.claude/projects/-home-dev-shop/0c9d7e52-1a2b-4c3d-9e8f-5a6b7c8d9e0f.jsonl",
        "cwd": "/home/dev/shop/api",
        "prompt_id": "7e1f0a44-58c2-4b0e-9d6a-2f3c4b5a6d7e",
        "session_name": "fix checkout rounding",
        "model": {"id": "claude-opus-4-7", "display_name": "Opus 4.7"},
        "workspace": {
            "current_dir": "/home/dev/shop/api",
            "project_dir": "/home/dev/shop",
            "added_dirs": [],
            "repo": {"host": "github.com", "owner": "example", "name": "shop"},
        },
        "version": "2.1.332",
        "output_style": {"name": "default"},
        "cost": {
            "total_cost_usd": 3.8127,
            "total_duration_ms": 2712000,
            "total_api_duration_ms": 604300,
            "total_lines_added": 214,
            "total_lines_removed": 57,
        },
        "context_window": {
            "total_input_tokens": 84210,
            "total_output_tokens": 1530,
            "context_window_size": 200000,
            "used_percentage": 42,
            "remaining_percentage": 58,
            "current_usage": {
                "input_tokens": 1210,
                "output_tokens": 1530,
                "cache_creation_input_tokens": 3400,
                "cache_read_input_tokens": 79600,
            },
        },
        "exceeds_200k_tokens": False,
        "fast_mode": False,
        "effort": {"level": "high"},
        "thinking": {"enabled": True},
        "rate_limits": limits,
    }


def stdin_of(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()


def command_env(env: dict[str, str] | None = None, *, colour: bool = False) -> dict[str, str]:
    """The test's environment for a child: NO_COLOR unless `colour`, the dead API unless `env` names one."""
    full = dict(os.environ)
    full["CLAUDE_USAGE_API_URL"] = DEAD_API
    if not colour:
        full["NO_COLOR"] = "1"
    full.update(env or {})
    return full


def statusline(
    *args: str, stdin: bytes = b"", env: dict[str, str] | None = None, colour: bool = False
) -> subprocess.CompletedProcess[str]:
    """`python -m claude_usage statusline ARGS` fed `stdin`; the test token must appear nowhere."""
    proc = subprocess.run(
        [sys.executable, "-m", "claude_usage", "statusline", *args],
        input=stdin,
        capture_output=True,
        env=command_env(env, colour=colour),
        timeout=30,
        check=False,
    )
    assert TEST_TOKEN.encode() not in proc.stdout + proc.stderr
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def data_dir() -> Path:
    return Path(os.environ["CLAUDE_USAGE_DATA_DIR"])


def only_document() -> Path:
    """The one account document in the store (without credentials its key is the profile's)."""
    found = sorted(data_dir().glob("*.json"))
    assert 1 == len(found), found
    return found[0]


def read_document(path: Path) -> dict[str, Any]:
    try:
        doc: dict[str, Any] = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    return doc


def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    """Poll `predicate` until it holds or `timeout` seconds have passed; whether it held."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def login(home: Path) -> None:
    """Claude Code's credentials file naming the account and organization (so the key is KEY)."""
    path = write_credentials(home / ".claude")
    data = json.loads(path.read_text())
    data["claudeAiOauth"].update(accountUuid=ACCOUNT, organizationUuid=ORG)
    path.write_text(json.dumps(data))


def store_api_reading(raw: dict[str, Any], observed_at: datetime, **more: Any) -> None:
    """An earlier API reading in the account's document, as the dashboard or a refresh leaves it."""
    doc = {
        "schema": 1,
        "sources": {"api": {"observed_at": observed_at.isoformat(), "raw": raw, "plan": "Max 5x"}},
        **more,
    }
    Store(data_dir()).update(KEY, lambda _: doc)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


# -- the line ---------------------------------------------------------------------------------------


def test_realistic_stdin_prints_the_line() -> None:
    """Claude Code's JSON prints the session and week percentages and the session's countdown."""
    result = statusline(stdin=stdin_of(session()))
    assert (0, REALISTIC_LINE + "\n", "") == (result.returncode, result.stdout, result.stderr)


def test_line_without_credentials_records_the_feed() -> None:
    """With no credentials at all, the feed's numbers still reach the store, under the status line's source."""
    statusline(stdin=stdin_of(session()))
    windows = read_document(only_document())["sources"]["statusline"]["windows"]
    assert (37.0, 14.2) == (windows["five_hour"]["utilization"], windows["seven_day"]["utilization"])


def test_line_without_credentials_claims_no_refresh() -> None:
    """Without credentials there is nothing to refresh with: no budget entry is written."""
    statusline(stdin=stdin_of(session()))
    assert "budget" not in read_document(only_document())


@posix_only
def test_store_file_is_private() -> None:
    """The account document is readable by its owner only."""
    statusline(stdin=stdin_of(session()))
    assert 0o600 == stat.S_IMODE(only_document().stat().st_mode)


@pytest.mark.parametrize(
    ("value", "colour", "shown"),
    [
        (0, "32", "0%"),
        (37.0, "32", "37%"),
        (49.9, "32", "49%"),
        (50, "33", "50%"),
        (79.9, "33", "79%"),
        (80, "31", "80%"),
        (99.5, "31", "99%"),
    ],
)
def test_percent_is_coloured_by_level(value: float, colour: str, shown: str) -> None:
    """Without NO_COLOR the percentage is green below 50, yellow from 50, red from 80, then reset."""
    line = statusline(stdin=stdin_of(session(value, None)), colour=True).stdout
    match = re.fullmatch(r"5h \x1b\[([0-9;]*)m(\d+%)\x1b\[0m ↻2h11m\n", line)
    assert match is not None, repr(line)
    assert (True, shown) == (colour in match.group(1).split(";"), match.group(2))


def test_no_color_means_no_escape_codes() -> None:
    """With NO_COLOR set the line holds no escape character at all."""
    line = statusline(stdin=stdin_of(session(85.0, 60.0))).stdout
    assert "5h 85% ↻2h11m · 7d 60%\n" == line


GARBAGE = {
    "empty": b"",
    "not json": b"hello, world\n",
    "array": b"[]",
    "null": b"null",
    "number": b"42",
    "binary": bytes(range(256)) * 64,
    "invalid utf-8 in json": b'{"model": "\xff\xfe"}',
    "truncated": stdin_of(session())[:200],
    "deeply nested": b"[" * 100_000 + b"]" * 100_000,
    "5 MB of json": json.dumps({"padding": "x" * 5_000_000}).encode(),
    "rate_limits not an object": b'{"rate_limits": "lots"}',
    "windows not objects": b'{"rate_limits": {"five_hour": [37], "seven_day": "14"}}',
}


@pytest.mark.parametrize("stdin", GARBAGE.values(), ids=GARBAGE.keys())
def test_garbage_stdin_prints_the_placeholder(stdin: bytes) -> None:
    """Whatever arrives on stdin, the command exits 0 with the `5h –` placeholder when nothing is known."""
    result = statusline(stdin=stdin)
    assert (0, "5h –\n") == (result.returncode, result.stdout)


def test_garbage_stdin_keeps_the_last_known_numbers() -> None:
    """After a good render, a render with unusable stdin shows the numbers the store holds (absent is not 0 %)."""
    statusline(stdin=stdin_of(session()))
    assert REALISTIC_LINE + "\n" == statusline(stdin=b"not json").stdout


def test_missing_window_keeps_the_last_known_value() -> None:
    """A later feed without seven_day keeps showing the week recorded before."""
    statusline(stdin=stdin_of(session()))
    assert "5h 41% ↻2h11m · 7d 14%\n" == statusline(stdin=stdin_of(session(41.0, None))).stdout


# -- the glitches of docs/statusline.md §5 ----------------------------------------------------------


def test_epoch_for_percent_is_dropped() -> None:
    """A used_percentage over 101 (the resets_at epoch, anthropics/claude-code#52326) is not shown."""
    assert "5h – · 7d 14%\n" == statusline(stdin=stdin_of(session(1767229200))).stdout


def test_epoch_for_percent_is_not_recorded() -> None:
    """A used_percentage over 101 never reaches the store."""
    statusline(stdin=stdin_of(session(1767229200)))
    assert ["seven_day"] == list(read_document(only_document())["sources"]["statusline"]["windows"])


def test_just_over_100_is_recorded_as_100() -> None:
    """A used_percentage of 100.5 is recorded as 100."""
    statusline(stdin=stdin_of(session(100.5)))
    windows = read_document(only_document())["sources"]["statusline"]["windows"]
    assert 100.0 == windows["five_hour"]["utilization"]


def test_unconfirmed_100_is_marked() -> None:
    """A status-line 100 % that no other source confirms is shown as `100%?`."""
    assert "5h 100%? ↻2h11m · 7d 14%\n" == statusline(stdin=stdin_of(session(100))).stdout


def test_past_reset_is_dropped() -> None:
    """A window whose reset has passed has rolled over: its old percentage is not shown."""
    stdin = stdin_of(session(88.0, five_reset=time.time() - 60))
    assert "5h – · 7d 14%\n" == statusline(stdin=stdin).stdout


def test_implausibly_far_reset_is_dropped() -> None:
    """A five-hour window resetting in two days is not believed."""
    stdin = stdin_of(session(88.0, five_reset=time.time() + 2 * 86400))
    assert "5h – · 7d 14%\n" == statusline(stdin=stdin).stdout


# -- with an earlier API reading in the store -------------------------------------------------------


def test_sonnet_comes_from_an_earlier_api_reading(home: Path) -> None:
    """The API's Sonnet week joins the feed's numbers, under the account the credentials name."""
    login(home)
    store_api_reading(below_feed(fresh_fixture("max-typical")), utc_now())
    line = statusline(stdin=stdin_of(session())).stdout
    assert "5h 37% ↻2h11m · 7d 14% · Sonnet 12%\n" == line


def test_feed_is_recorded_under_the_credentials_account(home: Path) -> None:
    """With credentials naming the account, the feed goes into that account's document."""
    login(home)
    store_api_reading(below_feed(fresh_fixture("max-typical")), utc_now())
    statusline(stdin=stdin_of(session()))
    windows = read_document(data_dir() / f"{KEY}.json")["sources"]["statusline"]["windows"]
    assert 37.0 == windows["five_hour"]["utilization"]


def test_api_reading_alone_is_shown(home: Path) -> None:
    """Without rate_limits on stdin, the stored API reading is the line."""
    login(home)
    now = utc_now()
    store_api_reading(fresh_fixture("max-typical", now + timedelta(seconds=30)), now)
    assert "5h 78% ↻2h11m · 7d 41% · Sonnet 12%\n" == statusline(stdin=b"{}").stdout


def test_100_confirmed_by_the_api_is_not_marked(home: Path) -> None:
    """A status-line 100 % that a current API reading at 100 % agrees with is shown plainly."""
    login(home)
    raw = fresh_fixture("max-typical")
    raw["five_hour"]["utilization"] = 100.0
    store_api_reading(raw, utc_now() - timedelta(seconds=20))
    line = statusline(stdin=stdin_of(session(100))).stdout
    assert "5h 100% ↻2h11m · 7d 14% · Sonnet 12%\n" == line


def test_old_numbers_show_their_age(home: Path) -> None:
    """Numbers older than ten minutes carry their age, so a stale line is recognisable."""
    login(home)
    now = utc_now()
    store_api_reading(fresh_fixture("max-typical", now + timedelta(seconds=30)), now - timedelta(minutes=20, seconds=5))
    line = statusline("--max-age", "3600", stdin=b"{}").stdout
    assert "5h 78% ↻2h11m · 7d 41% · Sonnet 12% · 20m old\n" == line


def test_limits_only_reading_is_shown(home: Path) -> None:
    """An account that reports only limits[] shows its session and weekly entries."""
    login(home)
    now = utc_now()
    store_api_reading(fresh_fixture("limits-only", now + timedelta(seconds=30)), now)
    assert "5h 64% ↻2h11m · 7d 88%\n" == statusline(stdin=b"{}").stdout


def test_unusable_store_still_shows_the_feed(tmp_path: Path) -> None:
    """When the store cannot be read or written, the line still shows what stdin said."""
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    result = statusline(stdin=stdin_of(session()), env={"CLAUDE_USAGE_DATA_DIR": str(blocked)})
    assert REALISTIC_LINE + "\n" == result.stdout


def test_empty_no_color_keeps_colour() -> None:
    """An empty NO_COLOR counts as unset (no-color.org), as it does for the dashboard."""
    line = statusline(stdin=stdin_of(session(37.0, None)), env={"NO_COLOR": ""}, colour=True).stdout
    assert "\x1b[" in line


# -- options ----------------------------------------------------------------------------------------


def test_format_placeholders(home: Path) -> None:
    """`--format` fills {5h} {5h_reset} {7d} {sonnet} and {age} (of the oldest number shown)."""
    login(home)
    store_api_reading(below_feed(fresh_fixture("max-typical")), utc_now() - timedelta(minutes=5, seconds=10))
    fmt = "{5h} {5h_reset} {7d} {sonnet} {age}"
    line = statusline("--format", fmt, "--max-age", "3600", stdin=stdin_of(session())).stdout
    assert "37% 2h11m 14% 12% 5m\n" == line


def test_format_unknown_window_and_placeholder(home: Path) -> None:
    """A window the account lacks shows `–`; text in braces that is no placeholder is kept as typed."""
    login(home)
    store_api_reading(fresh_fixture("max-typical"), utc_now())
    line = statusline("--format=Opus {opus} {nope}", "--max-age", "3600", stdin=stdin_of(session())).stdout
    assert "Opus – {nope}\n" == line


def test_format_with_colour(home: Path) -> None:
    """`--format` placeholders are coloured like the default line."""
    line = statusline("--format", "[{5h}]", stdin=stdin_of(session(85.0)), colour=True).stdout
    assert re.fullmatch(r"\[\x1b\[[0-9;]*31m85%\x1b\[0m\]\n", line), repr(line)


@pytest.mark.parametrize("args", [["--bogus"], ["--max-age", "soon"], ["--format"], ["extra"]])
def test_bad_option_is_reported_in_the_line(args: list[str]) -> None:
    """A bad option is named in the one line printed (Claude Code drops stderr) and the exit status is 0."""
    result = statusline(*args, stdin=stdin_of(session()))
    lines = result.stdout.splitlines()
    assert (0, 1, True) == (result.returncode, len(lines), args[0] in lines[0])


@posix_only
def test_chain_prints_the_other_line_first() -> None:
    """`--chain CMD` shows the other status line's output, then ours."""
    result = statusline("--chain", 'printf "other\\n"', stdin=stdin_of(session()))
    assert ["other", REALISTIC_LINE] == result.stdout.splitlines()


@posix_only
def test_chain_gets_the_same_stdin() -> None:
    """The chained command reads the same session JSON that Claude Code gave us."""
    result = statusline("--chain", "grep -o claude-opus-4-7", stdin=stdin_of(session()))
    assert ["claude-opus-4-7", REALISTIC_LINE] == result.stdout.splitlines()


@posix_only
def test_failing_chain_leaves_our_line() -> None:
    """A chained command that fails without output leaves our line alone."""
    result = statusline("--chain", "echo oops >&2; exit 3", stdin=stdin_of(session()))
    assert (0, REALISTIC_LINE + "\n") == (result.returncode, result.stdout)


# -- refreshing in the background -------------------------------------------------------------------
# A session's first render has no rate_limits yet (Claude Code adds them after its first API reply).
FIRST_RENDER = stdin_of(session(None, None))


@pytest.fixture
def slow_api() -> Iterator[StandIn]:
    """The usage stand-in answering the max-typical fixture after 3 s (the client's timeout is 5 s)."""
    with StandIn(Script(Reply(200, fresh_fixture("max-typical"), delay=3.0))) as api:
        yield api


@pytest.fixture
def quick_api() -> Iterator[StandIn]:
    """The usage stand-in answering the max-typical fixture at once."""
    with StandIn(Script(Reply(200, fresh_fixture("max-typical")))) as api:
        yield api


def below_feed(raw: dict[str, Any]) -> dict[str, Any]:
    """`raw` with its session below the feed's 37 %: an earlier reading of the same window (usage only rises)."""
    raw["five_hour"]["utilization"] = 30.0
    return raw


def document() -> dict[str, Any]:
    return read_document(data_dir() / f"{KEY}.json")


def api_recorded() -> bool:
    sources = document().get("sources")
    return isinstance(sources, dict) and "api" in sources


def refresh_claim() -> object:
    """When a render last started a refresh for the account, as the shared budget records it."""
    budget = document().get("budget")
    return budget.get("refresh_spawned_at") if isinstance(budget, dict) else None


def test_render_does_not_wait_for_the_endpoint(home: Path, slow_api: StandIn) -> None:
    """With an empty store and a slow endpoint, the line and both pipes are done long before the reply."""
    login(home)
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "claude_usage", "statusline"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=command_env({"CLAUDE_USAGE_API_URL": slow_api.url}),
    )
    try:
        out, _ = proc.communicate(FIRST_RENDER, timeout=10)  # EOF on both pipes: no child holds them
        elapsed = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        wait_for(api_recorded, 10)  # let the detached refresh finish before the stand-in goes
    assert ("5h –\n", True) == (out.decode(), elapsed < 2.0), elapsed


def test_detached_refresh_records_an_api_reading(home: Path, slow_api: StandIn) -> None:
    """The background refresh a render starts files the endpoint's reply in the account's document."""
    login(home)
    statusline(stdin=FIRST_RENDER, env={"CLAUDE_USAGE_API_URL": slow_api.url})
    assert wait_for(api_recorded, 10), "no API reading reached the store"
    raw = document()["sources"]["api"]["raw"]
    assert (78.0, 12.0) == (raw["five_hour"]["utilization"], raw["seven_day_sonnet"]["utilization"])


def test_refreshed_reading_shows_on_the_next_render(home: Path) -> None:
    """Once the refresh has landed, the next render shows the API's numbers beside the feed's."""
    login(home)
    with StandIn(Script(Reply(200, below_feed(fresh_fixture("max-typical"))))) as api:
        env = {"CLAUDE_USAGE_API_URL": api.url}
        statusline(stdin=FIRST_RENDER, env=env)
        wait_for(api_recorded, 10)
        assert "5h 37% ↻2h11m · 7d 14% · Sonnet 12%\n" == statusline(stdin=stdin_of(session()), env=env).stdout


def test_refreshed_reading_is_never_lowered_by_the_feed(home: Path, quick_api: StandIn) -> None:
    """After the API said 78 % for the session, a feed saying 37 % for the same window (old news) shows 78 %."""
    login(home)
    env = {"CLAUDE_USAGE_API_URL": quick_api.url}
    statusline(stdin=FIRST_RENDER, env=env)
    wait_for(api_recorded, 10)
    line = statusline(stdin=stdin_of(session()), env=env).stdout
    # The API's reset stands with its number: 2h11m from the stand-in's start, so 2h10m or 2h11m by now.
    assert "5h 78% ↻2h1?m · 7d 14% · Sonnet 12%\n" == re.sub(r"↻2h1[01]m", "↻2h1?m", line)


def test_refresh_for_a_missing_window_brings_it(home: Path, quick_api: StandIn) -> None:
    """A render with the feed's fresh numbers but no Sonnet week starts a refresh that fetches a whole reading."""
    login(home)
    statusline(stdin=stdin_of(session()), env={"CLAUDE_USAGE_API_URL": quick_api.url})
    assert wait_for(api_recorded, 4), "the refresh sent no request"


def test_second_render_starts_no_second_refresh(home: Path, slow_api: StandIn) -> None:
    """A render right after one that started a refresh leaves the endpoint to that refresh: one request."""
    login(home)
    env = {"CLAUDE_USAGE_API_URL": slow_api.url}
    statusline(stdin=FIRST_RENDER, env=env)
    statusline(stdin=FIRST_RENDER, env=env)
    wait_for(api_recorded, 10)
    wait_for(lambda: len(slow_api.usage_requests()) > 1, 2)
    assert 1 == len(slow_api.usage_requests())


def test_second_render_keeps_the_first_claim(home: Path, quick_api: StandIn) -> None:
    """A render while a refresh is on its way does not claim another (the shared budget keeps the first)."""
    login(home)
    env = {"CLAUDE_USAGE_API_URL": quick_api.url}
    statusline(stdin=FIRST_RENDER, env=env)
    first = refresh_claim()
    statusline(stdin=FIRST_RENDER, env=env)
    second = refresh_claim()
    wait_for(api_recorded, 10)
    assert (True, first) == (first is not None, second)


def test_fresh_api_reading_starts_no_refresh(home: Path, quick_api: StandIn) -> None:
    """With an API reading under a minute old in the store, a render sends no request."""
    login(home)
    store_api_reading(fresh_fixture("max-typical"), utc_now() - timedelta(seconds=20))
    statusline(stdin=stdin_of(session()), env={"CLAUDE_USAGE_API_URL": quick_api.url})
    wait_for(lambda: bool(quick_api.usage_requests()), 2)
    assert 0 == len(quick_api.usage_requests())


def test_fresh_api_reading_claims_no_refresh(home: Path) -> None:
    """With an API reading under a minute old in the store, a render starts no refresh process."""
    login(home)
    store_api_reading(fresh_fixture("max-typical"), utc_now() - timedelta(seconds=20))
    statusline(stdin=stdin_of(session()))
    assert refresh_claim() is None


def test_old_api_reading_claims_a_refresh(home: Path, quick_api: StandIn) -> None:
    """With the stored API reading over a minute old, a render starts a refresh."""
    login(home)
    store_api_reading(fresh_fixture("max-typical"), utc_now() - timedelta(minutes=5))
    statusline(stdin=b"{}", env={"CLAUDE_USAGE_API_URL": quick_api.url})
    claimed = refresh_claim()
    wait_for(lambda: bool(quick_api.usage_requests()), 10)
    assert isinstance(claimed, str)


def test_max_age_over_a_day_still_refreshes(home: Path, quick_api: StandIn) -> None:
    """A reading older than a long --max-age (over a day) is refreshed like any other."""
    login(home)
    store_api_reading(fresh_fixture("max-typical"), utc_now() - timedelta(days=2))
    statusline("--max-age", "100000", stdin=b"{}", env={"CLAUDE_USAGE_API_URL": quick_api.url})
    assert wait_for(lambda: bool(quick_api.usage_requests()), 4), "the refresh sent no request"


def test_cooldown_starts_no_refresh(home: Path, quick_api: StandIn) -> None:
    """While the shared cooldown after a 429 lasts, a render with nothing stored sends no request."""
    login(home)
    until = (utc_now() + timedelta(minutes=10)).isoformat()
    Store(data_dir()).update(KEY, lambda _: {"budget": {"cooldown_until": until, "rate_limited_repeats": 1}})
    result = statusline(stdin=FIRST_RENDER, env={"CLAUDE_USAGE_API_URL": quick_api.url})
    wait_for(lambda: bool(quick_api.usage_requests()), 2)
    assert ("5h –\n", 0) == (result.stdout, len(quick_api.usage_requests()))


def test_cooldown_claims_no_refresh(home: Path) -> None:
    """While the shared cooldown lasts, a render starts no refresh process."""
    login(home)
    until = (utc_now() + timedelta(minutes=10)).isoformat()
    Store(data_dir()).update(KEY, lambda _: {"budget": {"cooldown_until": until, "rate_limited_repeats": 1}})
    statusline(stdin=FIRST_RENDER)
    assert refresh_claim() is None


# -- install / uninstall ----------------------------------------------------------------------------

needs_console_script = pytest.mark.skipif(
    not os.path.isfile(EXE), reason=f"no installed claude-usage console script beside {sys.executable}"
)


def setup_env(path: str | None = None) -> dict[str, str]:
    """The test's environment with the venv's bin first on PATH (or PATH as given)."""
    return {**os.environ, "PATH": path if path is not None else VENV_BIN + os.pathsep + os.environ.get("PATH", "")}


def manage(*args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m claude_usage statusline install|uninstall ...`."""
    return subprocess.run(
        [sys.executable, "-m", "claude_usage", "statusline", *args],
        capture_output=True,
        text=True,
        env=setup_env(path),
        stdin=subprocess.DEVNULL,
        timeout=30,
        check=False,
    )


@pytest.fixture
def settings_file(home: Path) -> Path:
    return home / ".claude" / "settings.json"


OUR_ENTRY = {"type": "command", "command": f"{EXE} statusline", "padding": 0, "refreshInterval": 30}
USER_SETTINGS: dict[str, Any] = {
    "$schema": "https://json.schemastore.org/claude-code-settings.json",
    "model": "opus",
    "env": {"GREETING": "grüß dich ✓"},
    "permissions": {"allow": ["Bash(npm run test:*)"], "deny": ["Read(./.env)"]},
    "hooks": {"Stop": []},
}
FOREIGN_ENTRY = {"type": "command", "command": "npx -y ccstatusline@latest", "padding": 0}


def backups(settings_file: Path) -> list[Path]:
    return sorted(settings_file.parent.glob("settings.json.bak-*"))


def write_settings(settings_file: Path, doc: dict[str, Any]) -> bytes:
    data = (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()
    settings_file.write_bytes(data)
    return data


@needs_console_script
def test_install_creates_settings_with_our_entry(settings_file: Path) -> None:
    """Without a settings.json, install creates one holding only our statusLine entry."""
    result = manage("install")
    assert (0, {"statusLine": OUR_ENTRY}) == (result.returncode, json.loads(settings_file.read_text()))


@needs_console_script
def test_installed_command_is_absolute_and_runs_our_statusline(settings_file: Path) -> None:
    """The entry's command starts with an absolute path and ends with ` statusline`."""
    manage("install")
    command = json.loads(settings_file.read_text())["statusLine"]["command"]
    assert (True, True) == (os.path.isabs(command.split(" ")[0]), command.endswith(" statusline"))


@needs_console_script
@posix_only
def test_installed_command_prints_the_line(settings_file: Path) -> None:
    """The command written into settings.json, run as Claude Code runs it, prints our line."""
    manage("install")
    command = json.loads(settings_file.read_text())["statusLine"]["command"]
    result = subprocess.run(  # noqa: S602 - run through a shell, as Claude Code does
        command, shell=True, input=stdin_of(session()), capture_output=True, env=command_env(), timeout=30, check=False
    )
    assert (0, REALISTIC_LINE + "\n") == (result.returncode, result.stdout.decode())


@needs_console_script
def test_install_keeps_other_keys(settings_file: Path) -> None:
    """Every other key of an existing settings.json is kept as it was."""
    write_settings(settings_file, USER_SETTINGS)
    manage("install")
    doc = json.loads(settings_file.read_text())
    assert {**USER_SETTINGS, "statusLine": OUR_ENTRY} == doc


@needs_console_script
def test_install_backs_up_an_existing_file(settings_file: Path) -> None:
    """The settings.json found is copied byte for byte to `settings.json.bak-*` beside it."""
    original = write_settings(settings_file, USER_SETTINGS)
    manage("install")
    assert [original] == [p.read_bytes() for p in backups(settings_file)]


@needs_console_script
def test_install_of_a_new_file_writes_no_backup(settings_file: Path) -> None:
    """A settings.json created from nothing has nothing to back up."""
    manage("install")
    assert ["settings.json"] == sorted(p.name for p in settings_file.parent.iterdir())


@needs_console_script
def test_install_is_idempotent(settings_file: Path) -> None:
    """Installing again changes no byte and writes no second backup."""
    write_settings(settings_file, USER_SETTINGS)
    manage("install")
    before = settings_file.read_bytes()
    result = manage("install")
    assert (0, before, 1) == (result.returncode, settings_file.read_bytes(), len(backups(settings_file)))


@needs_console_script
def test_install_refuses_another_status_line(settings_file: Path) -> None:
    """Another tool's statusLine makes install exit 2, say how to chain, and leave the file byte-identical."""
    original = write_settings(settings_file, {**USER_SETTINGS, "statusLine": FOREIGN_ENTRY})
    result = manage("install")
    actual = (result.returncode, "--chain" in result.stderr, settings_file.read_bytes(), backups(settings_file))
    assert (2, True, original, []) == actual


@needs_console_script
def test_install_force_replaces_another_status_line(settings_file: Path) -> None:
    """With --force, install replaces another tool's statusLine with ours."""
    write_settings(settings_file, {**USER_SETTINGS, "statusLine": FOREIGN_ENTRY})
    result = manage("install", "--force")
    assert (0, OUR_ENTRY) == (result.returncode, json.loads(settings_file.read_text())["statusLine"])


@needs_console_script
def test_uninstall_removes_our_entry_only(settings_file: Path) -> None:
    """Uninstall takes our statusLine out and keeps every other key."""
    write_settings(settings_file, USER_SETTINGS)
    manage("install")
    result = manage("uninstall")
    assert (0, USER_SETTINGS) == (result.returncode, json.loads(settings_file.read_text()))


def test_uninstall_leaves_another_status_line_alone(settings_file: Path) -> None:
    """Another tool's statusLine survives uninstall byte for byte, and uninstall says so."""
    original = write_settings(settings_file, {**USER_SETTINGS, "statusLine": FOREIGN_ENTRY})
    result = manage("uninstall")
    actual = (result.returncode, "ccstatusline" in result.stdout, settings_file.read_bytes())
    assert (0, True, original) == actual


MALFORMED = {
    "truncated": b'{"model": "opus",\n',
    "trailing garbage": b'{"model": "opus"} x',
    "byte-order mark": b'\xef\xbb\xbf{"model": "opus"}',
    "repeated key": b'{"model": "opus", "model": "sonnet"}',
    "not an object": b'["model"]',
    "invalid utf-8": b'{"model": "\xff"}',
}


@needs_console_script
@pytest.mark.parametrize("action", ["install", "uninstall"])
@pytest.mark.parametrize("content", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_settings_are_left_untouched(settings_file: Path, action: str, content: bytes) -> None:
    """A settings.json we cannot parse strictly: exit 2, the file byte-identical, nothing written beside it."""
    settings_file.write_bytes(content)
    result = manage(action)
    actual = (result.returncode, settings_file.read_bytes(), sorted(p.name for p in settings_file.parent.iterdir()))
    assert (2, content, ["settings.json"]) == actual


def test_install_without_an_installed_command_refuses(settings_file: Path, tmp_path: Path) -> None:
    """With no claude-usage on PATH there is no absolute command to write: exit 2 and no file."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = manage("install", path=str(empty))
    assert (2, False) == (result.returncode, settings_file.exists())


# -- what the render path loads ---------------------------------------------------------------------

HEAVY = {"rich", "httpx", "sqlite3", "argparse", "typing", "dataclasses", "platformdirs", "pathlib", "subprocess"}


def test_statusline_module_imports_nothing_heavy() -> None:
    """Importing the status line in a fresh interpreter loads none of the modules it cannot afford."""
    probe = f"import sys, claude_usage.commands.statusline; print(sorted(set({sorted(HEAVY)!r}) & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=30)
    assert "[]" == out.stdout.strip()


def test_whole_render_imports_nothing_heavy() -> None:
    """A whole `python -m claude_usage statusline` render (no refresh due) loads none of them either."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "claude_usage", "statusline"],
        input=stdin_of(session()),
        capture_output=True,
        env=command_env(),
        timeout=30,
        check=True,
    )
    loaded = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.decode().splitlines() if "|" in line}
    assert (REALISTIC_LINE + "\n", set()) == (proc.stdout.decode(), HEAVY & loaded)


# -- what the line costs the endpoint (issue 8: the status line must not poll) ----------------------


def test_fresh_feed_with_an_old_api_reading_claims_no_refresh(home: Path) -> None:
    """The feed carries the session and the week; a 5-minute-old Sonnet number is young enough: no request."""
    login(home)
    store_api_reading(below_feed(fresh_fixture("max-typical")), utc_now() - timedelta(minutes=5))
    statusline(stdin=stdin_of(session()))
    assert None is refresh_claim()


def test_endpoint_only_number_older_than_its_max_age_claims_a_refresh(home: Path) -> None:
    """Sonnet, which only the endpoint has, is refreshed once it is older than --endpoint-max-age."""
    login(home)
    store_api_reading(below_feed(fresh_fixture("max-typical")), utc_now() - timedelta(minutes=16))
    statusline(stdin=stdin_of(session()))
    assert isinstance(refresh_claim(), str)


def test_endpoint_max_age_is_taken(home: Path) -> None:
    """--endpoint-max-age 600 against a loopback endpoint refreshes a 11-minute-old Sonnet number."""
    login(home)
    store_api_reading(below_feed(fresh_fixture("max-typical")), utc_now() - timedelta(minutes=11))
    statusline("--endpoint-max-age", "600", stdin=stdin_of(session()))
    assert isinstance(refresh_claim(), str)


def test_endpoint_max_age_has_a_floor_against_the_real_endpoint(home: Path) -> None:
    """Against a remote endpoint --endpoint-max-age cannot go under 300 s: a 4-minute-old number is kept."""
    login(home)
    store_api_reading(below_feed(fresh_fixture("max-typical")), utc_now() - timedelta(minutes=4))
    statusline(
        "--endpoint-max-age", "60", stdin=stdin_of(session()), env={"CLAUDE_USAGE_API_URL": "https://example.invalid"}
    )
    assert None is refresh_claim()


def test_format_without_endpoint_numbers_never_claims_with_a_fresh_feed(home: Path) -> None:
    """A line of the session and the week only, fed by Claude Code, causes no request even with nothing stored."""
    login(home)
    statusline("--format", "{5h} {7d}", stdin=stdin_of(session()))
    assert None is refresh_claim()


def test_no_refresh_while_a_poller_runs(home: Path) -> None:
    """While a live dashboard keeps its heartbeat, the line starts no refresh, even for an old Sonnet number."""
    login(home)
    heartbeat = {"pid": 1, "interval_s": 60, "heartbeat_at": utc_now().isoformat()}
    store_api_reading(below_feed(fresh_fixture("max-typical")), utc_now() - timedelta(minutes=30), poller=heartbeat)
    statusline(stdin=stdin_of(session()))
    assert None is refresh_claim()


def test_old_endpoint_number_shows_its_age(home: Path) -> None:
    """With a fresh feed, a Sonnet number over 15 minutes old carries its own age."""
    login(home)
    store_api_reading(below_feed(fresh_fixture("max-typical")), utc_now() - timedelta(minutes=20, seconds=5))
    line = statusline("--no-refresh", stdin=stdin_of(session())).stdout
    assert "5h 37% ↻2h11m · 7d 14% · Sonnet 12% (20m)\n" == line


def test_young_endpoint_number_shows_no_age(home: Path) -> None:
    """A Sonnet number under 15 minutes old is shown plainly."""
    login(home)
    store_api_reading(below_feed(fresh_fixture("max-typical")), utc_now() - timedelta(minutes=14))
    line = statusline("--no-refresh", stdin=stdin_of(session())).stdout
    assert "5h 37% ↻2h11m · 7d 14% · Sonnet 12%\n" == line


def test_absurd_percent_is_capped_on_the_line(home: Path) -> None:
    """A utilization of 1e308 is drawn as >999%, so the line stays short."""
    login(home)
    raw = below_feed(fresh_fixture("max-typical"))
    raw["seven_day_sonnet"]["utilization"] = 1e308
    store_api_reading(raw, utc_now())
    line = statusline("--no-refresh", stdin=stdin_of(session())).stdout
    assert "5h 37% ↻2h11m · 7d 14% · Sonnet >999%\n" == line


def test_idle_session_does_not_flip_the_line(home: Path) -> None:
    """Two sessions on one account, one idle at 42 % and one current at 80 %: every render shows 80 %."""
    login(home)
    lines = [
        statusline("--no-refresh", stdin=stdin_of(session(value, 17.0 if value == 42.0 else 30.0))).stdout
        for value in (80.0, 42.0, 80.0, 42.0)
    ]
    assert ["5h 80% ↻2h11m · 7d 30%\n"] * 4 == lines


def test_idle_session_files_no_sawtooth(home: Path) -> None:
    """The idle session's old number never reaches the pending history: only the rise from 42 to 80 does."""
    login(home)
    for value in (42.0, 80.0, 42.0, 80.0, 42.0):
        statusline("--no-refresh", stdin=stdin_of(session(value, None)))
    pending = read_document(data_dir() / f"{KEY}.json").get("pending", [])
    assert [42.0] == [entry["utilization"] for entry in pending]


def test_help_explains_the_options() -> None:
    """`statusline --help` explains --format and its placeholders, --chain, --no-refresh, install and uninstall."""
    text = statusline("--help").stdout
    wanted = ["--format", "{5h_reset}", "{sonnet}", "--chain", "--no-refresh", "--endpoint-max-age", "install"]
    assert [True] * len(wanted) == [word in text for word in wanted]


def test_render_of_old_news_writes_nothing(home: Path) -> None:
    """An idle session's lower session number beside a week seen moments ago leaves the document untouched."""
    login(home)
    statusline("--no-refresh", stdin=stdin_of(session(80.0)))
    before = (data_dir() / f"{KEY}.json").stat().st_mtime_ns
    statusline("--no-refresh", stdin=stdin_of(session(42.0)))
    assert before == (data_dir() / f"{KEY}.json").stat().st_mtime_ns


def test_feed_a_little_below_the_api_claims_no_refresh(home: Path) -> None:
    """The feed's 41 beside the API's 41.3 for the same window (rounding): the feed is fresh, nothing is asked."""
    login(home)
    raw = fresh_fixture("max-typical")
    raw["five_hour"]["utilization"] = 41.3
    raw["seven_day"]["utilization"] = 14.0
    store_api_reading(raw, utc_now() - timedelta(minutes=2))
    week_reset = datetime.fromisoformat(raw["seven_day"]["resets_at"]).timestamp()
    statusline(stdin=stdin_of(session(41.0, 14.0, week_reset=week_reset)))
    assert None is refresh_claim()


def test_filing_pending_values_asks_the_endpoint_nothing(home: Path, quick_api: StandIn) -> None:
    """A refresh started only to file the status line's pending values sends no request for a young reply."""
    login(home)
    now = utc_now()
    pending = [
        {
            "key": "five_hour",
            "utilization": float(n),
            "resets_at": (now + timedelta(hours=2)).isoformat(),
            "first_seen_at": now.isoformat(),
            "observed_at": now.isoformat(),
        }
        for n in range(100)
    ]
    store_api_reading(below_feed(fresh_fixture("max-typical")), now - timedelta(minutes=5), pending=pending)
    statusline(stdin=stdin_of(session()), env={"CLAUDE_USAGE_API_URL": quick_api.url})
    assert wait_for(lambda: not document().get("pending"), 15), "the refresh filed nothing"
    assert 0 == len(quick_api.usage_requests())
