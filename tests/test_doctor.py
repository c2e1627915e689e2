"""`claude-usage doctor`: each broken set-up gives its message, its fix and its exit status; no token shows."""

from __future__ import annotations

import json
import os
import re
import stat
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from claude_usage.adapters.credentials import token_kind
from claude_usage.adapters.history import History, Observation
from claude_usage.commands.doctor import render
from claude_usage.service.doctor import FAIL, NAMES, OK, WARN, Check, Report, check_clock
from claude_usage.standin import Reply, Script, StandIn
from tests.conftest import fresh_fixture
from tests.support.cli import TEST_TOKEN, Result, run_cli, write_credentials

INSTALL_FIX = "claude-usage statusline install"
LOGIN_FIX = "run `claude`, then type /login"
RENEW_FIX = "run `claude` (it renews the login's token whenever it runs)"
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """An empty directory to be the whole PATH: no notify-send, no osascript, unless a test puts one there."""
    path = tmp_path / "bin"
    path.mkdir()
    return path


@pytest.fixture
def logged_in(home: Path) -> Path:
    """A Max 5x login in ~/.claude/.credentials.json."""
    return write_credentials(home / ".claude")


def _env(api: StandIn, bin_dir: Path, **extra: str) -> dict[str, str]:
    return {"CLAUDE_USAGE_API_URL": api.url, "PATH": str(bin_dir), **extra}


def doctor(env: dict[str, str], *args: str) -> tuple[Result, dict[str, dict[str, Any]]]:
    """`claude-usage doctor --json`: the result and its checks by name."""
    result = run_cli("doctor", "--json", *args, env=env)
    report = json.loads(result.stdout)
    assert list(NAMES) == [check["name"] for check in report["checks"]]
    assert (result.code == 0) == report["ok"]
    return result, {check["name"]: check for check in report["checks"]}


def state_fix(check: dict[str, Any]) -> tuple[str, str | None]:
    return check["state"], check["fix"]


def _credentials(home: Path, **oauth: Any) -> Path:
    """A credentials file with some claudeAiOauth keys replaced."""
    path = write_credentials(home / ".claude")
    body = json.loads(path.read_text())
    body["claudeAiOauth"].update(oauth)
    path.write_text(json.dumps(body))
    return path


def _data_dir() -> Path:
    return Path(os.environ["CLAUDE_USAGE_DATA_DIR"])


def _install(env: dict[str, str], *args: str) -> None:
    """`claude-usage statusline install` (on the real PATH, where the command is found)."""
    result = run_cli("statusline", "install", *args, env={k: v for k, v in env.items() if k != "PATH"})
    assert 0 == result.code, result.stderr


def _feed(env: dict[str, str]) -> None:
    """One status-line render carrying rate_limits, as Claude Code sends them."""
    import subprocess
    import sys

    resets = int(time.time()) + 3600
    stdin = {"rate_limits": {"five_hour": {"used_percentage": 37, "resets_at": resets}}}
    subprocess.run(
        [sys.executable, "-m", "claude_usage", "statusline", "--no-refresh"],
        input=json.dumps(stdin).encode(),
        env={**os.environ, **env},
        capture_output=True,
        timeout=30,
        check=True,
    )


# -- a healthy set-up ---------------------------------------------------------------------------------


def test_a_healthy_set_up_passes_every_check_but_the_clock(
    logged_in: Path, home: Path, standin: StandIn, bin_dir: Path
) -> None:
    """Logged in, status line installed and fed, transcripts, a notifier: every check but the clock is ok."""
    env = _env(standin, bin_dir)
    _install(env)
    _feed(env)
    (home / ".claude" / "projects" / "-home-dev-shop").mkdir(parents=True)
    (home / ".claude" / "projects" / "-home-dev-shop" / "a.jsonl").write_text("{}\n")
    notifier = bin_dir / "notify-send"
    notifier.write_text("#!/bin/sh\nexit 0\n")
    notifier.chmod(0o755)
    result, checks = doctor(env)
    # The clock is ok once the HTTP client keeps the reply's Date header; until then it warns: not judged here.
    states = {name: check["state"] for name, check in checks.items() if name != "clock"}
    assert ({name: OK for name in NAMES if name != "clock"}, 0) == (states, result.code)


def test_the_endpoint_check_sends_one_request(logged_in: Path, standin: StandIn, bin_dir: Path) -> None:
    """One run of the doctor asks the endpoint once, and says it answered."""
    _, checks = doctor(_env(standin, bin_dir))
    assert (1, OK, True) == (
        len(standin.usage_requests()),
        checks["endpoint"]["state"],
        "answered with a usage reply" in checks["endpoint"]["message"],
    )


def test_a_second_run_within_the_spacing_does_not_ask(logged_in: Path, standin: StandIn, bin_dir: Path) -> None:
    """The budget holds the second run's request back; the fresh reply stored makes that fine."""
    env = _env(standin, bin_dir)
    doctor(env)
    result, checks = doctor(env)
    endpoint = checks["endpoint"]
    assert (1, OK, 0) == (len(standin.usage_requests()), endpoint["state"], result.code)
    assert "not asked: the shared budget holds requests back until" in endpoint["message"]


def test_the_text_report_puts_each_fix_under_its_check(logged_in: Path, standin: StandIn, bin_dir: Path) -> None:
    """Without --json: one line per check, `fix:` under those that are not ok, and a summary."""
    result = run_cli("doctor", env=_env(standin, bin_dir))
    lines = result.stdout.splitlines()
    status = next(i for i, line in enumerate(lines) if line.startswith("warn  statusline"))
    assert (0, f"{' ' * 20}fix: {INSTALL_FIX}") == (result.code, lines[status + 1])
    assert "9 ok, 3 warnings, 0 failures" == lines[-1]  # clock: ok against the stand-in's Date


# -- the login ----------------------------------------------------------------------------------------


def test_no_credentials_fail_with_exit_3(standin: StandIn, bin_dir: Path) -> None:
    """No login anywhere: credentials fail, the checks that need one are skipped, nothing is sent."""
    result, checks = doctor(_env(standin, bin_dir))
    assert (3, (FAIL, LOGIN_FIX), 0) == (result.code, state_fix(checks["credentials"]), len(standin.usage_requests()))
    assert "Not logged in to Claude Code with a subscription" in checks["credentials"]["message"]
    assert ((WARN, LOGIN_FIX), "not asked: there is no stored login") == (
        state_fix(checks["endpoint"]),
        checks["endpoint"]["message"],
    )


def test_an_expired_token_fails_with_exit_3(home: Path, standin: StandIn, bin_dir: Path) -> None:
    """An expired token: token_expiry fails with the time it expired; the credentials themselves are fine."""
    write_credentials(home / ".claude", expires_in_s=-600)
    result, checks = doctor(_env(standin, bin_dir))
    expiry = checks["token_expiry"]
    assert (3, (FAIL, RENEW_FIX), OK, 0) == (
        result.code,
        state_fix(expiry),
        checks["credentials"]["state"],
        len(standin.usage_requests()),
    )
    assert "expired at" in expiry["message"]
    assert ".credentials.json" in expiry["message"]


def test_malformed_credentials_fail_with_exit_3(home: Path, standin: StandIn, bin_dir: Path) -> None:
    """A credentials file that is not JSON: credentials fail, naming the file and where it broke."""
    path = home / ".claude" / ".credentials.json"
    path.write_text('{"claudeAiOauth": ')
    path.chmod(0o600)
    result, checks = doctor(_env(standin, bin_dir))
    found = checks["credentials"]
    assert (3, (FAIL, LOGIN_FIX)) == (result.code, state_fix(found))
    assert f"{path} is not valid JSON (line 1, column 19)" in found["message"]


def test_a_login_without_the_profile_scope_fails_with_exit_3(home: Path, standin: StandIn, bin_dir: Path) -> None:
    """A stored login lacking user:profile: scopes fail and no request is spent on it."""
    _credentials(home, scopes=["user:inference"])
    result, checks = doctor(_env(standin, bin_dir))
    scopes = checks["scopes"]
    assert (3, (FAIL, f"{LOGIN_FIX} (a claude.ai login has user:profile)"), 0) == (
        result.code,
        state_fix(scopes),
        len(standin.usage_requests()),
    )
    assert "has the scopes user:inference, without user:profile: it cannot read usage" in scopes["message"]


def test_a_setup_token_without_a_stored_login_fails_with_exit_3(standin: StandIn, bin_dir: Path) -> None:
    """CLAUDE_CODE_OAUTH_TOKEN with the default scope and nothing to fall back on: scopes fail."""
    result, checks = doctor(_env(standin, bin_dir, CLAUDE_CODE_OAUTH_TOKEN=TEST_TOKEN))
    scopes = checks["scopes"]
    assert (3, (FAIL, LOGIN_FIX)) == (result.code, state_fix(scopes))
    assert scopes["message"].startswith(
        "CLAUDE_CODE_OAUTH_TOKEN has the default scope user:inference (no CLAUDE_CODE_OAUTH_SCOPES), not "
        "user:profile: a `claude setup-token` token cannot read usage, and there is no stored login"
    )


def test_a_setup_token_beside_a_stored_login_is_a_warning(logged_in: Path, standin: StandIn, bin_dir: Path) -> None:
    """With a stored login to fall back on, the scope-less environment token only warns."""
    result, checks = doctor(_env(standin, bin_dir, CLAUDE_CODE_OAUTH_TOKEN=TEST_TOKEN))
    assert (0, (WARN, "unset CLAUDE_CODE_OAUTH_TOKEN"), 1) == (
        result.code,
        state_fix(checks["scopes"]),
        len(standin.usage_requests()),
    )


def test_an_api_key_in_the_token_variable_fails(standin: StandIn, bin_dir: Path) -> None:
    """An API key passed as the OAuth token is named by its kind only, and fails the login."""
    key = "sk-ant-api03-QZXWVKJPQZMWXVKJPQZMW"
    env = _env(standin, bin_dir, CLAUDE_CODE_OAUTH_TOKEN=key, CLAUDE_CODE_OAUTH_SCOPES="user:inference user:profile")
    result, checks = doctor(env)
    found = checks["credentials"]
    assert (3, FAIL, "CLAUDE_CODE_OAUTH_TOKEN holds an API key (sk-ant-api03), not an OAuth access token") == (
        result.code,
        found["state"],
        found["message"].split(":")[0],
    )
    assert "QZXW" not in result.stdout


def test_a_credentials_file_others_can_read_is_a_warning(logged_in: Path, standin: StandIn, bin_dir: Path) -> None:
    """A credentials file with mode 0644: a warning with the chmod to copy."""
    logged_in.chmod(0o644)
    _, checks = doctor(_env(standin, bin_dir))
    assert (WARN, f"chmod 600 {logged_in}") == state_fix(checks["credentials"])


# -- the endpoint and the budget ------------------------------------------------------------------------


def test_a_rejected_token_fails_with_exit_3(logged_in: Path, bin_dir: Path) -> None:
    """The endpoint answers 401: the endpoint check fails as a login failure."""
    with StandIn(Script(Reply(401, {"error": {"message": "invalid token"}}))) as api:
        result, checks = doctor(_env(api, bin_dir))
        requests = len(api.usage_requests())
    endpoint = checks["endpoint"]
    assert (3, (FAIL, f"{RENEW_FIX}; if it persists, type /login"), 1) == (result.code, state_fix(endpoint), requests)
    assert "rejected the token (401: invalid token)" in endpoint["message"]


def test_a_cooldown_in_force_is_a_warning_and_nothing_is_sent(logged_in: Path, bin_dir: Path) -> None:
    """After a 429 (Retry-After 600) the budget and the endpoint warn, exit 0, and the doctor sends nothing."""
    with StandIn(Script(Reply(429, {"error": {"message": "slow down"}}, headers={"Retry-After": "600"}))) as api:
        env = _env(api, bin_dir)
        assert 4 == run_cli("refresh", env=env).code
        result, checks = doctor(env)
        requests = len(api.usage_requests())
    budget, endpoint = checks["budget"], checks["endpoint"]
    assert (0, 1, WARN, WARN) == (result.code, requests, budget["state"], endpoint["state"])
    assert budget["message"].startswith("cooling down after a 429 until ")
    assert endpoint["message"].startswith("not asked: cooling down after a 429 until ")
    assert re.fullmatch(r"sleep (59\d|600) && claude-usage doctor", endpoint["fix"])


def test_a_429_to_the_doctors_own_request_is_a_warning(logged_in: Path, bin_dir: Path) -> None:
    """The one request the doctor sends is answered 429: a warning saying when to try again."""
    with StandIn(Script(Reply(429, {}, headers={"Retry-After": "120"}))) as api:
        result, checks = doctor(_env(api, bin_dir))
    endpoint = checks["endpoint"]
    assert (0, WARN) == (result.code, endpoint["state"])
    assert "rate limited by" in endpoint["message"]
    assert endpoint["fix"].startswith("wait until ")


def test_an_unreachable_endpoint_fails_with_exit_1(logged_in: Path, bin_dir: Path) -> None:
    """A 503: the endpoint check fails (not a login failure), exit 1."""
    with StandIn(Script(Reply(503, "down for maintenance"))) as api:
        result, checks = doctor(_env(api, bin_dir))
    assert (1, FAIL) == (result.code, checks["endpoint"]["state"])
    assert "answered HTTP 503" in checks["endpoint"]["message"]


def test_a_bad_min_spacing_fails_the_budget(logged_in: Path, standin: StandIn, bin_dir: Path) -> None:
    """CLAUDE_USAGE_MIN_SPACING that is not a number fails the budget check (the reading faces would exit 2)."""
    result, checks = doctor(_env(standin, bin_dir, CLAUDE_USAGE_MIN_SPACING="soon"))
    assert (1, FAIL) == (result.code, checks["budget"]["state"])
    assert "CLAUDE_USAGE_MIN_SPACING='soon' is not a number of seconds" == checks["budget"]["message"]


def test_a_login_failure_wins_over_another_failure(standin: StandIn, bin_dir: Path) -> None:
    """No login and a damaged store document: exit 3, not 1."""
    _data_dir().mkdir(mode=0o700, parents=True)
    (_data_dir() / "t-0000000000000000.json").write_text("{not json")
    (_data_dir() / "t-0000000000000000.json").chmod(0o600)
    result, checks = doctor(_env(standin, bin_dir))
    assert (3, FAIL, FAIL) == (result.code, checks["credentials"]["state"], checks["store"]["state"])


# -- the status line ------------------------------------------------------------------------------------


def test_a_status_line_not_installed_is_a_warning(logged_in: Path, home: Path, standin: StandIn, bin_dir: Path) -> None:
    """settings.json without our statusLine: a warning, the install command as the fix, exit 0."""
    settings = home / ".claude" / "settings.json"
    settings.write_text('{"model": "opus"}\n')
    result, checks = doctor(_env(standin, bin_dir))
    assert (0, (WARN, INSTALL_FIX), f"not installed in {settings}") == (
        result.code,
        state_fix(checks["statusline"]),
        checks["statusline"]["message"],
    )


def test_another_status_line_is_offered_a_chain(logged_in: Path, home: Path, standin: StandIn, bin_dir: Path) -> None:
    """Another tool's status line: the fix keeps it, chained above ours."""
    settings = home / ".claude" / "settings.json"
    settings.write_text(json.dumps({"statusLine": {"type": "command", "command": "ccstatusline"}}))
    _, checks = doctor(_env(standin, bin_dir))
    assert (WARN, f"{INSTALL_FIX} --chain ccstatusline") == state_fix(checks["statusline"])


def test_a_status_line_without_refresh_interval_is_a_warning(
    logged_in: Path, home: Path, standin: StandIn, bin_dir: Path
) -> None:
    """Our entry without refreshInterval: re-installing adds it."""
    env = _env(standin, bin_dir)
    _install(env, "--refresh-interval", "0")
    _, checks = doctor(env)
    assert (WARN, INSTALL_FIX) == state_fix(checks["statusline"])
    assert "without refreshInterval" in checks["statusline"]["message"]


def test_a_status_line_that_never_received_rate_limits_is_a_warning(
    logged_in: Path, standin: StandIn, bin_dir: Path
) -> None:
    """Installed, but no rate_limits recorded yet: a warning saying how to get them."""
    env = _env(standin, bin_dir)
    _install(env)
    _, checks = doctor(env)
    found = checks["statusline"]
    assert (WARN, "start `claude` and send a message; then run claude-usage doctor again") == state_fix(found)
    assert "it has not received rate_limits yet" in found["message"]


def test_rate_limits_received_lately_are_reported(logged_in: Path, standin: StandIn, bin_dir: Path) -> None:
    """Installed and fed a moment ago: ok, with when."""
    env = _env(standin, bin_dir)
    _install(env)
    _feed(env)
    _, checks = doctor(env)
    assert (OK, True) == (
        checks["statusline"]["state"],
        "it received rate_limits just now" in checks["statusline"]["message"],
    )


# -- the store and the history ----------------------------------------------------------------------


def test_a_damaged_store_document_fails_with_exit_1(logged_in: Path, standin: StandIn, bin_dir: Path) -> None:
    """Another account's document that is not JSON: the store check fails, naming it, and leaves it be."""
    env = _env(standin, bin_dir)
    doctor(env)
    damaged = _data_dir() / "a-other.json"
    damaged.write_text("{\x00garbage")
    damaged.chmod(0o600)
    result, checks = doctor(env)
    assert (1, (FAIL, f"rm {damaged}"), "{\x00garbage") == (
        result.code,
        state_fix(checks["store"]),
        damaged.read_text(),
    )
    assert f"{damaged}: not a JSON object (damaged)" in checks["store"]["message"]


def test_a_damaged_document_of_this_account_is_found_before_the_reading(
    logged_in: Path, standin: StandIn, bin_dir: Path
) -> None:
    """The doctor inspects the store before its own reading, which then moves the damaged document aside."""
    env = _env(standin, bin_dir)
    doctor(env)
    (document,) = _data_dir().glob("*.json")
    document.write_text("[1, 2")
    result, checks = doctor(env)
    found = checks["store"]
    assert (0, WARN, True) == (result.code, found["state"], f"{document} was damaged" in found["message"])
    assert "this run's reading moved it aside" in found["message"]


def test_a_store_others_can_read_is_a_warning(logged_in: Path, standin: StandIn, bin_dir: Path) -> None:
    """A store directory with mode 0755: a warning with the chmod to copy."""
    env = _env(standin, bin_dir)
    doctor(env)
    _data_dir().chmod(0o755)
    _, checks = doctor(env)
    assert (WARN, f"chmod -R go-rwx {_data_dir()}") == state_fix(checks["store"])


def test_a_damaged_history_fails_and_is_left_alone(logged_in: Path, standin: StandIn, bin_dir: Path) -> None:
    """A history file that is not SQLite fails the history check; the doctor does not move it aside."""
    _data_dir().mkdir(mode=0o700, parents=True)
    history = _data_dir() / "history.sqlite3"
    history.write_bytes(b"this is not a database, it is a shopping list" * 100)
    history.chmod(0o600)
    result, checks = doctor(_env(standin, bin_dir))
    found = checks["history"]
    assert (1, (FAIL, "claude-usage history"), True) == (result.code, state_fix(found), history.exists())
    assert f"{history} is not a SQLite database" in found["message"]


def test_a_history_with_damaged_pages_fails_the_quick_check(logged_in: Path, standin: StandIn, bin_dir: Path) -> None:
    """A history with a page of garbage in the middle fails PRAGMA quick_check; the doctor leaves it be."""
    path = _data_dir() / "history.sqlite3"
    with History.open(path) as history:  # closed: its WAL is folded into the file
        history.record(
            Observation("a-x", f"window-{n % 7}", n % 97, None, "api", NOW + timedelta(seconds=n)) for n in range(2000)
        )
    data = bytearray(path.read_bytes())
    middle = len(data) // 4096 // 2
    data[middle * 4096 : (middle + 1) * 4096] = b"\xde\xad\xbe\xef" * 1024
    path.write_bytes(bytes(data))
    result, checks = doctor(_env(standin, bin_dir))
    found = checks["history"]
    assert (1, (FAIL, "claude-usage history"), bytes(data)) == (result.code, state_fix(found), path.read_bytes())
    assert f"{path} fails PRAGMA quick_check (damaged pages)" in found["message"]


# -- transcripts, config and alerts ------------------------------------------------------------------------


def test_transcripts_are_counted(logged_in: Path, home: Path, standin: StandIn, bin_dir: Path) -> None:
    """projects/**/*.jsonl under the config dir: counted."""
    project = home / ".claude" / "projects" / "-home-dev-shop"
    (project / "sub").mkdir(parents=True)
    for name in ("a.jsonl", "b.jsonl", "sub/c.jsonl", "notes.txt"):
        (project / name).write_text("{}\n")
    _, checks = doctor(_env(standin, bin_dir))
    assert (OK, f"3 transcript files under {home / '.claude' / 'projects'}") == (
        checks["transcripts"]["state"],
        checks["transcripts"]["message"],
    )


def test_no_transcripts_is_a_warning(logged_in: Path, standin: StandIn, bin_dir: Path) -> None:
    """No projects/ folder: a warning (report has nothing to read)."""
    _, checks = doctor(_env(standin, bin_dir))
    assert WARN == checks["transcripts"]["state"]


def _config_path(home: Path) -> Path:
    return home / ".config" / "claude-usage" / "config.toml"


def test_a_malformed_config_fails_with_exit_1(logged_in: Path, home: Path, standin: StandIn, bin_dir: Path) -> None:
    """A config file that is not TOML fails the config check, naming the file and the line."""
    pytest.importorskip("claude_usage.adapters.config")
    config = tmp_config = home / "elsewhere.toml"
    tmp_config.write_text("[alerts]\nthresholds = [80, 95\ndesktop = true\n")
    result, checks = doctor(_env(standin, bin_dir, CLAUDE_USAGE_CONFIG=str(config)))
    found = checks["config"]
    assert (1, FAIL) == (result.code, found["state"])
    assert found["message"].startswith(f"config file {config}, line ")
    assert found["fix"] == (
        f"correct {config} where it says, or start over: mv {config} {config}.bak && claude-usage config init"
    )


def test_a_config_with_a_wrong_type_names_the_key(logged_in: Path, home: Path, standin: StandIn, bin_dir: Path) -> None:
    """A value of the wrong type fails the config check, naming the key."""
    pytest.importorskip("claude_usage.adapters.config")
    config = _config_path(home)
    config.parent.mkdir(parents=True)
    config.write_text('[alerts]\ndesktop = "yes"\n')
    result, checks = doctor(_env(standin, bin_dir))
    assert (1, FAIL, True) == (result.code, checks["config"]["state"], "desktop" in checks["config"]["message"])


def test_an_alert_command_not_on_path_fails(logged_in: Path, home: Path, standin: StandIn, bin_dir: Path) -> None:
    """The configured user command's program is missing: the alerts check fails."""
    pytest.importorskip("claude_usage.adapters.config")
    config = _config_path(home)
    config.parent.mkdir(parents=True)
    config.write_text('[alerts]\ncommand = "ntfy publish me"\ndesktop = false\n')
    result, checks = doctor(_env(standin, bin_dir))
    found = checks["alerts"]
    assert (1, (FAIL, f"install ntfy, or correct `command` in [alerts] of {config}")) == (result.code, state_fix(found))
    assert "the alert command's program 'ntfy' is not on PATH" in found["message"]


def test_an_alert_command_on_path_passes(logged_in: Path, home: Path, standin: StandIn, bin_dir: Path) -> None:
    """The configured user command's program is on PATH: ok, naming where it runs from."""
    pytest.importorskip("claude_usage.adapters.config")
    config = _config_path(home)
    config.parent.mkdir(parents=True)
    config.write_text('[alerts]\ncommand = "ntfy publish me"\ndesktop = false\n')
    program = bin_dir / "ntfy"
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o755)
    _, checks = doctor(_env(standin, bin_dir))
    assert (OK, f"the alert command runs {program}; desktop notifications off ({config})") == (
        checks["alerts"]["state"],
        checks["alerts"]["message"],
    )


@pytest.mark.skipif(os.name != "posix", reason="desktop notifiers are looked up on POSIX PATHs here")
def test_no_desktop_notifier_is_a_warning(logged_in: Path, standin: StandIn, bin_dir: Path) -> None:
    """Desktop alerts on (the default) without notify-send or osascript on PATH: a warning."""
    _, checks = doctor(_env(standin, bin_dir))
    assert (WARN, True) == (
        checks["alerts"]["state"],
        "desktop alert becomes one notice in the log" in checks["alerts"]["message"],
    )


# -- never a token ----------------------------------------------------------------------------------------

SECRET_TAIL = "QZXWVKJPMQZWXVKJ_PQZMWXVKJ-ZQMWXVKJPQZ"


@pytest.mark.parametrize(
    "setup",
    ["file", "file_401", "env_usable", "env_unusable", "env_unusable_401"],
)
def test_no_output_shows_any_of_the_token_past_its_kind(setup: str, home: Path, bin_dir: Path, tmp_path: Path) -> None:
    """Text and JSON name the token's kind (sk-ant-oat01) at most, never a run of its characters after that."""
    token = f"sk-ant-oat01-{SECRET_TAIL}"
    status = 401 if setup.endswith("_401") else 200
    reply = Reply(status, fresh_fixture("max-typical") if status == 200 else {"error": {"message": f"bad {token}"}})
    extra: dict[str, str] = {}
    if setup.startswith("file"):
        write_credentials(home / ".claude", token=token)
    else:
        extra["CLAUDE_CODE_OAUTH_TOKEN"] = token
        if setup == "env_usable":
            extra["CLAUDE_CODE_OAUTH_SCOPES"] = "user:inference user:profile"
        else:
            write_credentials(home / ".claude")
    with StandIn(Script(reply)) as api:
        env = _env(api, bin_dir, **extra)
        outputs = [run_cli("doctor", env=env), run_cli("doctor", "--json", "--debug", env=env)]
    text = "".join(result.stdout + result.stderr for result in outputs)
    runs = {SECRET_TAIL[i : i + 4] for i in range(len(SECRET_TAIL) - 3)}
    assert ([], True) == (sorted(run for run in runs if run in text), "sk-ant-oat01" in text or status == 401)


# -- the pieces, in process -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("skew_s", "state"),
    [(0, OK), (59, OK), (-59, OK), (120, WARN), (-120, WARN), (301, FAIL), (-3600, FAIL)],
)
def test_the_clock_is_judged_against_the_servers_date(skew_s: float, state: str) -> None:
    """Within a minute: ok; within five: a warning; beyond: a failure."""
    server = NOW - timedelta(seconds=skew_s)
    assert state == check_clock(server, NOW, asked=True, platform="linux").state


def test_without_a_reply_the_clock_is_not_compared() -> None:
    """No Date header to compare with: a warning that says so."""
    found = check_clock(None, NOW, asked=False, platform="linux")
    assert (WARN, "no reply to compare our clock with (this run sent no request)") == (found.state, found.message)


@pytest.mark.parametrize(
    ("platform", "fix"),
    [
        ("linux", "sudo timedatectl set-ntp true"),
        ("darwin", "sudo sntp -sS time.apple.com"),
        ("win32", "w32tm /resync"),
    ],
)
def test_the_clock_fix_suits_the_platform(platform: str, fix: str) -> None:
    """Each platform gets its own command to set the clock."""
    assert fix == check_clock(NOW - timedelta(hours=1), NOW, asked=True, platform=platform).fix


@pytest.mark.parametrize(
    ("token", "kind"),
    [
        ("sk-ant-oat01-abc", "sk-ant-oat01"),
        ("sk-ant-api03-abc", "sk-ant-api03"),
        ("sk-ant-oat01", None),
        ("opaque-token", None),
        ("", None),
    ],
)
def test_a_tokens_kind_is_the_part_before_its_secret(token: str, kind: str | None) -> None:
    """Only `sk-ant-<kind><nn>-…` has a kind; nothing else is shown of any token."""
    assert kind == token_kind(token)


def _report(*states: tuple[str, bool]) -> Report:
    return Report(
        tuple(Check(f"c{i}", state, "m", None if state == OK else "f", auth) for i, (state, auth) in enumerate(states))
    )


@pytest.mark.parametrize(
    ("states", "code"),
    [
        ([(OK, False), (WARN, False)], 0),
        ([(FAIL, False), (WARN, False)], 1),
        ([(FAIL, False), (FAIL, True)], 3),
        ([(FAIL, True)], 3),
    ],
)
def test_the_exit_status_lets_a_login_failure_win(states: list[tuple[str, bool]], code: int) -> None:
    """0 with warnings, 1 for a failure, 3 when the login failed (even beside another failure)."""
    assert code == _report(*states).exit_code


def test_the_text_report_aligns_names_and_fixes() -> None:
    """State, name and message in columns; the fix under the message; counts at the end."""
    report = Report(
        (
            Check("credentials", OK, "a login"),
            Check("statusline", WARN, "not installed", INSTALL_FIX),
            Check("token_expiry", FAIL, "expired", "run `claude`", True),
        )
    )
    expected = (
        "ok    credentials   a login\n"
        "warn  statusline    not installed\n"
        "                    fix: claude-usage statusline install\n"
        "fail  token_expiry  expired\n"
        "                    fix: run `claude`\n"
        "\n"
        "1 ok, 1 warning, 1 failure\n"
    )
    assert expected == render(report)


def test_store_files_are_private_after_a_reading(logged_in: Path, standin: StandIn, bin_dir: Path) -> None:
    """The store the doctor's own reading writes passes its own permission check (0700 / 0600)."""
    _, checks = doctor(_env(standin, bin_dir))
    modes = {stat.S_IMODE(path.stat().st_mode) for path in _data_dir().iterdir() if path.is_file()}
    assert (OK, {0o600}) == (checks["store"]["state"], modes)


def test_the_doctor_face_imports_nothing_heavy() -> None:
    """Importing the face (its row chosen, nothing run yet) loads neither Rich, httpx nor sqlite3."""
    import subprocess
    import sys

    probe = "import sys, claude_usage.commands.doctor; print(sorted({'rich', 'httpx', 'sqlite3'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "[]" == out.stdout.strip()


def test_the_checks_never_load_rich() -> None:
    """The service behind the doctor stays below the faces: no Rich, no ui, no command module."""
    import subprocess
    import sys

    probe = (
        "import sys, claude_usage.service.doctor, claude_usage.service.login, claude_usage.service.health, "
        "claude_usage.service.integration; "
        "print(sorted(m for m in sys.modules"
        " if m == 'rich' or m.startswith(('claude_usage.ui', 'claude_usage.commands'))))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "[]" == out.stdout.strip()
