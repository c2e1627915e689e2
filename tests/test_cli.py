"""The real CLI in a subprocess: exit codes, stdout/stderr, JSON schema, and that the token never leaks."""

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


def _env(api: StandIn) -> dict[str, str]:
    return {"CLAUDE_USAGE_API_URL": api.url}


@pytest.fixture
def logged_in(home: Path) -> Path:
    """A Max 5x login in ~/.claude/.credentials.json."""
    return write_credentials(home / ".claude")


def _future(hours: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(hours=hours)).isoformat()


def test_json_matches_the_documented_schema(logged_in: Path, standin: StandIn) -> None:
    """--json prints fetched_at, source, plan, windows, extra_usage and raw."""
    result = run_cli("--json", env=_env(standin))
    assert 0 == result.code, result.stderr
    doc = json.loads(result.stdout)
    expected = [
        "fetched_at",
        "source",
        "plan",
        "windows",
        "extra_usage",
        "raw",
        "stale",
        "age_seconds",
        "account",
        "binding",
        "window_usage",
    ]
    assert expected == list(doc)
    assert "api" == doc["source"]
    assert "Max 5x" == doc["plan"]
    assert list(load_fixture("max-typical")) == list(doc["raw"])
    assert 78.0 == doc["raw"]["five_hour"]["utilization"]
    assert doc["raw"]["extra_usage"] == doc["extra_usage"]
    assert datetime.fromisoformat(doc["fetched_at"]).tzinfo is not None


def test_json_windows_carry_key_label_utilization_and_reset(logged_in: Path) -> None:
    """Each window has its key, Claude Code's title, the utilization as received and its reset."""
    resets_at = _future(2)
    reply = {"five_hour": {"utilization": 78.0, "resets_at": resets_at}, "seven_day": None}
    with StandIn(Script(Reply(200, reply))) as api:
        result = run_cli("--json", env=_env(api))
    window = json.loads(result.stdout)["windows"][0]
    assert ("five_hour", "Current session", 78.0) == (window["key"], window["label"], window["utilization"])
    assert 7190 <= window["resets_in_seconds"] <= 7200
    assert datetime.fromisoformat(resets_at) == datetime.fromisoformat(window["resets_at"])


def test_the_request_carries_claude_codes_headers(logged_in: Path, standin: StandIn) -> None:
    """The request has the bearer token, the OAuth beta header and a claude-cli User-Agent."""
    run_cli("--json", env=_env(standin))
    headers = standin.usage_requests()[0].headers
    assert f"Bearer {TEST_TOKEN}" == headers["authorization"]
    assert "oauth-2025-04-20" == headers["anthropic-beta"]
    assert headers["user-agent"].startswith("claude-cli/")


def test_once_draws_the_dashboard_once(logged_in: Path, standin: StandIn) -> None:
    """--once prints every limit with its percent and exits 0."""
    result = run_cli("--once", env={**_env(standin), "COLUMNS": "100"})
    assert 0 == result.code, result.stderr
    for text in ("Current session", "78%", "Current week (all models)", "41%", "$12.34 / $50.00 spent"):
        assert text in result.stdout
    assert "\x1b[" not in result.stdout  # not a terminal: no colour codes


@pytest.mark.parametrize("columns", [32, 40, 100])
def test_once_fits_the_console(logged_in: Path, standin: StandIn, columns: int) -> None:
    """No line of --once is wider than the console."""
    result = run_cli("--once", env={**_env(standin), "COLUMNS": str(columns)})
    assert 0 == result.code
    assert columns >= max(len(line) for line in result.stdout.splitlines())
    assert "Current session" in result.stdout


def test_no_credentials_exit_3(standin: StandIn) -> None:
    """Without any login the exit status is 3, with one line naming the missing file."""
    result = run_cli("--json", env=_env(standin))
    assert 3 == result.code
    assert 1 == len(result.stderr.strip().splitlines())
    assert ".credentials.json" in result.stderr
    assert [] == standin.usage_requests()


def test_expired_token_sends_nothing_and_exits_3(home: Path, standin: StandIn) -> None:
    """A token expiring within 5 minutes is not sent; the message says to run claude."""
    write_credentials(home / ".claude", expires_in_s=120)
    result = run_cli("--json", env=_env(standin))
    assert 3 == result.code
    assert "expire" in result.stderr
    assert "claude" in result.stderr
    assert [] == standin.usage_requests()


@pytest.mark.parametrize(("status", "fixture"), [(401, "error-401-expired"), (403, "error-403-scope")])
def test_rejected_token_exit_3_without_retry(logged_in: Path, status: int, fixture: str) -> None:
    """401 and 403 exit 3 after exactly one request."""
    with StandIn(Script(Reply(status, load_fixture(fixture)))) as api:
        result = run_cli("--json", env=_env(api))
        assert 3 == result.code
        assert 1 == len(api.usage_requests())
    assert str(status) in result.stderr


def test_rate_limited_without_retry_after_says_when_to_try_again(logged_in: Path) -> None:
    """A 429 without Retry-After stops at once with exit 4 and a time to try again."""
    with StandIn(Script(Reply(429, load_fixture("error-429")))) as api:
        result = run_cli("--json", env=_env(api))
        assert 1 == len(api.usage_requests())
    assert 4 == result.code
    assert "rate limited" in result.stderr
    assert "try again" in result.stderr


def test_rate_limited_with_a_short_retry_after_waits_and_succeeds(logged_in: Path) -> None:
    """A 429 with Retry-After: 1 is waited out and the next reply is used."""
    script = Script(
        Reply(429, load_fixture("error-429"), {"Retry-After": "1"}), Reply(200, fresh_fixture("max-typical"))
    )
    with StandIn(script) as api:
        started = time.monotonic()
        result = run_cli("--json", env=_env(api))
        assert 2 == len(api.usage_requests())
    assert 0 == result.code, result.stderr
    assert time.monotonic() - started >= 1


def test_in_band_rate_limit_is_a_429(logged_in: Path) -> None:
    """A 200 whose body is a rate_limit_error exits 4 as rate limited."""
    with StandIn(Script(Reply(200, load_fixture("error-429")))) as api:
        result = run_cli("--json", env=_env(api))
    assert 4 == result.code
    assert "rate limited" in result.stderr


def test_server_error_then_success_is_retried(logged_in: Path) -> None:
    """A 503 followed by a good reply gives exit 0."""
    with StandIn(Script(Reply(503, "<h1>down</h1>"), Reply(200, fresh_fixture("max-typical")))) as api:
        result = run_cli("--json", env=_env(api))
        assert 2 == len(api.usage_requests())
    assert 0 == result.code, result.stderr


def test_persistent_server_error_gives_up_within_the_wait(logged_in: Path) -> None:
    """A server that keeps failing ends in exit 4 within --wait, after a few tries."""
    with StandIn(Script(Reply(502, "<h1>bad gateway</h1>"))) as api:
        started = time.monotonic()
        result = run_cli("--json", "--wait", "4", env=_env(api))
        tries = len(api.usage_requests())
    assert 4 == result.code
    assert 2 <= tries <= 4
    assert time.monotonic() - started < 10
    assert "502" in result.stderr
    assert 1 == len(result.stderr.strip().splitlines())


def test_html_body_exit_4(logged_in: Path) -> None:
    """A captive-portal HTML page with status 200 is an unexpected reply: exit 4."""
    with StandIn(Script(Reply(200, "<html>Sign in to the hotel wifi</html>"))) as api:
        result = run_cli("--json", env=_env(api))
    assert 4 == result.code
    assert "Traceback" not in result.stderr


def test_unreachable_endpoint_exit_4(logged_in: Path) -> None:
    """Nothing listening on the port: exit 4 naming the URL."""
    with StandIn(Script(Reply(200, {}))) as api:
        url = api.url
    result = run_cli("--json", "--wait", "2", env={"CLAUDE_USAGE_API_URL": url})
    assert 4 == result.code
    assert url in result.stderr


def test_plain_http_to_a_remote_host_is_refused(logged_in: Path) -> None:
    """An http:// URL that is not loopback is refused before anything is sent (exit 2)."""
    result = run_cli("--json", env={"CLAUDE_USAGE_API_URL": "http://example.com"})
    assert 2 == result.code
    assert "http://example.com" in result.stderr


@pytest.mark.parametrize("args", [["--interval", "abc"], ["--interval", "0"], ["--once", "--json"], ["--bogus"]])
def test_bad_command_line_exit_2_in_one_line(args: list[str]) -> None:
    """Bad arguments exit 2 with one line on stderr."""
    result = run_cli(*args)
    assert 2 == result.code
    assert 1 == len(result.stderr.strip().splitlines())


def test_interval_floor_against_a_remote_endpoint(logged_in: Path) -> None:
    """--interval below 10 s against a remote endpoint is refused."""
    result = run_cli("--interval", "5", env={"CLAUDE_USAGE_API_URL": "https://usage.invalid"})
    assert 2 == result.code
    assert "at least 10" in result.stderr


def test_api_key_alone_is_not_a_subscription(standin: StandIn) -> None:
    """ANTHROPIC_API_KEY without a login says that is API billing, exit 3."""
    result = run_cli("--json", env={**_env(standin), "ANTHROPIC_API_KEY": "sk-ant-api03-xyz"})
    assert 3 == result.code
    assert "API" in result.stderr
    assert "sk-ant-api03-xyz" not in result.stderr


def test_demo_json_needs_no_login() -> None:
    """--demo --json reads the simulated account over HTTP and says so."""
    result = run_cli("--demo", "--json")
    assert 0 == result.code, result.stderr
    doc = json.loads(result.stdout)
    assert "demo" == doc["source"]
    assert ["five_hour", "seven_day", "seven_day_sonnet"] == [w["key"] for w in doc["windows"]]


def test_demo_once_says_demo() -> None:
    """--demo --once draws the dashboard with DEMO in its title."""
    result = run_cli("--demo", "--once", env={"COLUMNS": "100"})
    assert 0 == result.code, result.stderr
    assert "DEMO" in result.stdout


def test_version() -> None:
    """--version prints the program and version."""
    result = run_cli("--version")
    assert 0 == result.code
    assert result.stdout.startswith("claude-usage ")


@pytest.mark.parametrize("launcher", [["./monitor-usage.py"], [sys.executable, "monitor-usage.py"]])
def test_the_old_script_still_launches(launcher: list[str]) -> None:
    """`./monitor-usage.py` and `python3 monitor-usage.py` at the repository root run the same CLI."""
    root = Path(__file__).resolve().parents[1]
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])  # python3 = ours
    result = subprocess.run(
        [*launcher, "--demo", "--json"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PATH": path},
    )
    assert 0 == result.returncode, result.stderr
    assert "demo" == json.loads(result.stdout)["source"]
