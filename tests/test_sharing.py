"""One budget for the whole machine, checked with real processes against the stand-in on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from claude_usage.standin import Reply, Script, StandIn
from tests.conftest import fresh_fixture, load_fixture
from tests.support.cli import TEST_TOKEN, run_cli, write_credentials


@pytest.fixture
def logged_in(home: Path) -> Path:
    return write_credentials(home / ".claude")


def _env(api: StandIn, **extra: str) -> dict[str, str]:
    return {"CLAUDE_USAGE_API_URL": api.url, **extra}


def _json(*args: str, env: dict[str, str]) -> tuple[int, dict[str, object], str]:
    result = run_cli("--json", *args, env=env)
    return result.code, (json.loads(result.stdout) if result.stdout.strip() else {}), result.stderr


def test_ten_processes_at_once_send_one_request(logged_in: Path) -> None:
    """Ten one-shots started together share a single request and all print its numbers."""
    with StandIn(Script(Reply(200, fresh_fixture("max-typical"), delay=1.0))) as api:
        env = {**os.environ, **_env(api)}
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "claude_usage", "--json"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
            )
            for _ in range(10)
        ]
        outputs = [proc.communicate(timeout=60) for proc in procs]
        assert 1 == len(api.usage_requests())
    assert [0] * 10 == [proc.returncode for proc in procs]
    for stdout, _ in outputs:
        assert 78.0 == json.loads(stdout)["windows"][0]["utilization"]
        assert TEST_TOKEN.encode() not in stdout


def test_a_young_reading_is_reused_without_a_request(logged_in: Path, standin: StandIn) -> None:
    """A second one-shot within --max-age answers from the store, not stale."""
    _json(env=_env(standin))
    code, doc, _ = _json(env=_env(standin))
    assert (0, False) == (code, doc["stale"])
    assert 1 == len(standin.usage_requests())
    assert "api" == doc["windows"][0]["source"]  # type: ignore[index]


def test_the_spacing_holds_back_a_second_request(logged_in: Path, standin: StandIn) -> None:
    """--max-age 0 right after a request still waits for the spacing: the stored reading, marked stale."""
    _json(env=_env(standin))
    time.sleep(1.1)
    code, doc, _ = _json("--max-age", "0", env=_env(standin))
    assert (0, True) == (code, doc["stale"])
    assert 1 == len(standin.usage_requests())


def test_a_shorter_spacing_lets_the_request_through(logged_in: Path, standin: StandIn) -> None:
    """With --min-spacing 1 (allowed against loopback) a second request goes out after a second."""
    _json(env=_env(standin))
    time.sleep(1.1)
    code, doc, _ = _json("--max-age", "0", "--min-spacing", "1", env=_env(standin))
    assert (0, False) == (code, doc["stale"])
    assert 2 == len(standin.usage_requests())


def test_a_429_cools_down_every_process(logged_in: Path) -> None:
    """The process that gets a 429 and the next one both answer from the store, stale; only one 429 is sent."""
    script = Script(Reply(200, fresh_fixture("max-typical")))
    with StandIn(script) as api:
        env = _env(api, CLAUDE_USAGE_MIN_SPACING="1")
        assert 0 == _json(env=env)[0]
        script.then(Reply(429, load_fixture("error-429"), {"Retry-After": "300"}))
        time.sleep(1.1)
        code, doc, stderr = _json("--max-age", "0", env=env)
        assert (0, True) == (code, doc["stale"])  # the 429 itself: the stored reading, marked stale
        assert "rate limited" in stderr
        time.sleep(1.1)
        code, doc, _ = _json("--max-age", "0", env=env)
        assert 2 == len(api.usage_requests())
    assert (0, True) == (code, doc["stale"])


def test_cooling_down_with_nothing_stored_exits_4_and_says_when(logged_in: Path) -> None:
    """With nothing stored, a cooldown means exit 4 with the local time and seconds of the next try."""
    with StandIn(Script(Reply(429, load_fixture("error-429"), {"Retry-After": "300"}))) as api:
        assert 4 == run_cli("--json", env=_env(api)).code
        result = run_cli("--json", env=_env(api))
        assert 1 == len(api.usage_requests())
    assert 4 == result.code
    assert "it is rate limited: the next request is allowed at" in result.stderr
    assert " s)" in result.stderr


def test_a_passed_reset_is_never_current(logged_in: Path) -> None:
    """A stored window whose reset has passed has utilization null and reset_passed true."""
    past = (datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat()
    reply = {"five_hour": {"utilization": 64.0, "resets_at": past}, "seven_day": None}
    with StandIn(Script(Reply(200, reply))) as api:
        code, doc, _ = _json(env=_env(api))
    window = doc["windows"][0]  # type: ignore[index]
    assert (0, None, True) == (code, window["utilization"], window["reset_passed"])


def test_json_windows_say_where_and_when(logged_in: Path, standin: StandIn) -> None:
    """Each window in --json carries its source and observed_at, and the document its age."""
    _, doc, _ = _json(env=_env(standin))
    window = doc["windows"][0]  # type: ignore[index]
    assert "api" == window["source"]
    assert datetime.fromisoformat(window["observed_at"]).tzinfo is not None
    assert isinstance(doc["age_seconds"], int)


def test_status_line_numbers_are_used_by_one_shots(home: Path, standin: StandIn) -> None:
    """A fresher status-line reading of the session wins over an older API reading, with its source."""
    write_credentials(home / ".claude")
    _json(env=_env(standin))
    resets = int(time.time()) + 2 * 3600 + 11 * 60  # the stand-in's session window, which resets in 2h11m
    feed = {"rate_limits": {"five_hour": {"used_percentage": 81.0, "resets_at": resets}}}
    subprocess.run(
        [sys.executable, "-m", "claude_usage", "statusline", "--no-refresh"],
        input=json.dumps(feed).encode(),
        capture_output=True,
        check=True,
        env={**os.environ, **_env(standin)},
    )
    _, doc, _ = _json(env=_env(standin))
    session = next(w for w in doc["windows"] if w["key"] == "five_hour")  # type: ignore[attr-defined]
    assert (81.0, "statusline") == (session["utilization"], session["source"])
    assert 1 == len(standin.usage_requests())


def test_an_account_with_no_limits_says_so(logged_in: Path) -> None:
    """A good reply with every window null is a reading: exit 0, and --once says No active limits."""
    reply = {"five_hour": None, "seven_day": None, "extra_usage": None}
    with StandIn(Script(Reply(200, reply))) as api:
        code, doc, _ = _json(env=_env(api))
        once = run_cli("--once", env={**_env(api), "COLUMNS": "80"})
    assert (0, []) == (code, doc["windows"])
    assert 0 == once.code
    assert "No active limits" in once.stdout


def test_a_background_refresh_sends_one_attempt(logged_in: Path) -> None:
    """`claude-usage refresh` against a failing endpoint sends one request, not a burst of retries."""
    with StandIn(Script(Reply(503, "<h1>down</h1>"))) as api:
        result = run_cli("refresh", env=_env(api))
        assert 1 == len(api.usage_requests())
    assert (4, "") == (result.code, result.stdout)


def test_after_a_401_the_next_one_shot_says_the_token_was_rejected(logged_in: Path) -> None:
    """The next process after a 401 exits 3 with the same fix (not exit 4 for the budget) and sends nothing."""
    with StandIn(Script(Reply(401, load_fixture("error-401-expired")))) as api:
        first = run_cli("--json", env=_env(api))
        second = run_cli("--json", "--max-age", "0", env=_env(api))
        requests = len(api.usage_requests())
    assert (3, 3, 1) == (first.code, second.code, requests)
    assert ("401" in second.stderr, "claude" in second.stderr) == (True, True)


def test_held_back_one_shot_is_stale(logged_in: Path, standin: StandIn) -> None:
    """--max-age 0 right after another one-shot: the budget forbids asking, so the answer says stale: true."""
    _json(env=_env(standin))
    code, doc, _ = _json("--max-age", "0", env=_env(standin))
    assert (0, True, 1) == (code, doc["stale"], len(standin.usage_requests()))


def test_a_one_shot_sends_at_most_four_requests_to_a_failing_endpoint(logged_in: Path) -> None:
    """Against a 503 that never ends, a one-shot gives up after four requests in all (exit 4)."""
    with StandIn(Script(Reply(503, {"error": {"type": "overloaded_error", "message": "busy"}}))) as api:
        result = run_cli("--json", "--min-spacing", "1", "--wait", "60", env=_env(api))
        requests = len(api.usage_requests())
    assert (4, 4) == (result.code, requests)
