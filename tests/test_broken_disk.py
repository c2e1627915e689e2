"""The real CLI where Claude Code's files are not what they should be: named pipes, runaway sizes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from claude_usage.core import document
from claude_usage.standin import StandIn
from tests.support.cli import TEST_TOKEN, write_credentials

posix_only = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")

ACCOUNT = "6f0b3c2e-9d41-4a8e-b7c5-2e1f0a9d8c7b"
ORG = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
DEAD_API = "http://127.0.0.1:9"  # nothing listens there: a stray refresh never reaches a real endpoint


def run(*args: str, stdin: bytes = b"", api: str = DEAD_API, timeout: float = 30) -> tuple[int, str, str, float]:
    """`python -m claude_usage ARGS` fed `stdin`: (exit status, stdout, stderr, seconds it took)."""
    env = {**os.environ, "CLAUDE_USAGE_API_URL": api, "NO_COLOR": "1"}
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "claude_usage", *args],
        input=stdin,
        env=env,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    took = time.monotonic() - started
    assert TEST_TOKEN.encode() not in proc.stdout + proc.stderr
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode(), took


def login_with_account(home: Path) -> Path:
    """Claude Code's credentials file naming the account and organization."""
    path = write_credentials(home / ".claude")
    data = json.loads(path.read_text())
    data["claudeAiOauth"].update(accountUuid=ACCOUNT, organizationUuid=ORG)
    path.write_text(json.dumps(data))
    return path


# -- named pipes -----------------------------------------------------------------------------------------


@posix_only
def test_statusline_with_a_named_pipe_for_credentials_returns_at_once(home: Path) -> None:
    """A named pipe at the credentials path is taken for no login: the line comes within 2 s."""
    os.mkfifo(home / ".claude" / ".credentials.json")
    code, out, _, took = run("statusline", stdin=b"{}", timeout=20)
    assert (0, "5h –\n", True) == (code, out, took < 2), took


@posix_only
def test_statusline_with_a_named_pipe_for_the_state_file_returns_at_once(home: Path) -> None:
    """A named pipe at `.claude.json` is taken for no such file: the line comes within 2 s."""
    write_credentials(home / ".claude")  # no accountUuid: the state file would be asked which account it is
    os.mkfifo(home / ".claude.json")
    code, out, _, took = run("statusline", stdin=b"{}", timeout=20)
    assert (0, "5h –\n", True) == (code, out, took < 2), took


@posix_only
def test_json_with_a_named_pipe_for_credentials_exits_3(home: Path) -> None:
    """`--json` with a named pipe at the credentials path exits 3 saying it is not a regular file, within 5 s."""
    path = home / ".claude" / ".credentials.json"
    os.mkfifo(path)
    code, _, err, took = run("--json", timeout=20)
    expected = (
        f"claude-usage: {path} is not a regular file (a named pipe); "
        "Claude Code keeps its login in a file: run /login\n"
    )
    assert (3, expected, True) == (code, err, took < 5), took


@posix_only
def test_json_with_a_named_pipe_for_the_state_file_reads_the_endpoint(home: Path, standin: StandIn) -> None:
    """`--json` with a named pipe at `.claude.json` skips Claude Code's cached reply and asks the endpoint."""
    login_with_account(home)
    os.mkfifo(home / ".claude.json")
    code, out, _, took = run("--json", api=standin.url, timeout=20)
    assert (0, 78.0, True) == (code, json.loads(out)["windows"][0]["utilization"], took < 5), took


# -- a credentials file grown large ----------------------------------------------------------------------


def grow(path: Path, megabytes: float) -> None:
    """Claude Code's credentials file with MCP server logins added until it is `megabytes` large."""
    data = json.loads(path.read_text())
    entry = {"serverName": "docs", "accessToken": "m" * 900, "refreshToken": "r" * 400, "expiresAt": 1}
    count = int(megabytes * 1024 * 1024 / len(json.dumps(entry))) + 1
    data["mcpOAuth"] = {f"server-{i}|{i:016x}": entry for i in range(count)}
    path.write_text(json.dumps(data))


def session_stdin() -> bytes:
    """A render's stdin whose feed carries the session and the week."""
    now = time.time()
    limits = {
        "five_hour": {"used_percentage": 37.0, "resets_at": int(now + 7890)},
        "seven_day": {"used_percentage": 14.2, "resets_at": int(now + 3 * 86400)},
    }
    return json.dumps({"session_id": "s", "rate_limits": limits}).encode()


def test_statusline_files_a_large_login_under_its_account(home: Path) -> None:
    """With a 2 MB credentials file naming the account, the feed is filed under that account's key."""
    grow(login_with_account(home), 2)
    run("statusline", stdin=session_stdin())
    doc = json.loads((Path(os.environ["CLAUDE_USAGE_DATA_DIR"]) / f"a-{ACCOUNT}_{ORG}.json").read_text())
    assert 37.0 == document.feed_windows(doc)["five_hour"]["utilization"]


def test_statusline_claims_a_refresh_for_a_large_login(home: Path) -> None:
    """With a 2 MB credentials file naming the account, a render claims a background refresh for it."""
    grow(login_with_account(home), 2)
    run("statusline", stdin=b"{}")
    doc = json.loads((Path(os.environ["CLAUDE_USAGE_DATA_DIR"]) / f"a-{ACCOUNT}_{ORG}.json").read_text())
    assert isinstance(doc["budget"]["refresh_spawned_at"], str)
