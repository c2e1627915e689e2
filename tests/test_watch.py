"""`claude-usage watch` in a real process against the loopback stand-in: alerts, the log, signals, the service unit."""

from __future__ import annotations

import json
import os
import plistlib
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import platformdirs
import pytest

from claude_usage.standin import Reply, Script, StandIn
from tests.support.cli import TEST_TOKEN, run_cli, write_credentials
from tests.support.recorders import fake_notifier, recorded, stdin_command

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and executables")

ROOT = Path(__file__).resolve().parents[1]
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [a-z_]+ ")


def usage(session: float, resets_in: timedelta = timedelta(hours=2, minutes=11)) -> dict[str, Any]:
    resets = (datetime.now(timezone.utc) + resets_in).isoformat()
    return {"five_hour": {"utilization": session, "resets_at": resets}, "seven_day": None}


class Watch:
    """`claude-usage watch ARGS` running; its stderr collected line by line."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "claude_usage", "watch", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, predicate: Callable[[list[str]], bool], timeout: float = 20.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while not predicate(list(self.lines)):
            if time.monotonic() > deadline or (self.proc.poll() is not None and not self._reader.is_alive()):
                raise AssertionError("watch never logged what was expected; it logged:\n" + "\n".join(self.lines))
            time.sleep(0.05)
        return list(self.lines)

    def logged(self, kind: str) -> Callable[[list[str]], bool]:
        return lambda lines: any(LINE.match(line) and line.split()[2] == kind for line in lines)

    def stop(self, signum: int = signal.SIGTERM) -> int:
        self.proc.send_signal(signum)
        code = self.proc.wait(timeout=20)
        self._close()
        assert all(TEST_TOKEN not in line for line in self.lines)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close()

    def _close(self) -> None:
        self._reader.join(10)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None and not pipe.closed:
                pipe.close()


@pytest.fixture
def env(home: Path, tmp_path: Path) -> dict[str, str]:
    """Logged in; PATH holds only a recording notify-send."""
    write_credentials(home / ".claude")
    fake_notifier(tmp_path / "bin", "notify-send", tmp_path / "notify.log")
    return {**os.environ, "PATH": str(tmp_path / "bin")}


@pytest.fixture
def watches() -> Iterator[list[Watch]]:
    started: list[Watch] = []
    yield started
    for watch in started:
        watch.kill()


def start(watches: list[Watch], api: StandIn, env: dict[str, str], *args: str) -> Watch:
    watch = Watch("--interval", "1", *args, env={**env, "CLAUDE_USAGE_API_URL": api.url})
    watches.append(watch)
    return watch


def rise_and_reset(watch: Watch, script: Script) -> None:
    """50 %, then 85 %, then 97 %, then a new window at 2 %: each step once watch has taken it in."""
    watch.wait_for(watch.logged("ok"))
    script.then(Reply(200, usage(85.0)))
    watch.wait_for(lambda lines: sum("alert at" in line for line in lines) == 1)
    script.then(Reply(200, usage(97.0)))
    watch.wait_for(lambda lines: sum("alert at" in line for line in lines) == 2)
    script.then(Reply(200, usage(2.0, timedelta(hours=4, minutes=59))))
    watch.wait_for(watch.logged("reset"))


def test_watch_fires_through_a_rising_series_and_a_reset(
    env: dict[str, str], tmp_path: Path, watches: list[Watch]
) -> None:
    """The user command receives 80 %, 95 % and the reset (with the previous peak), once each, as JSON."""
    out = tmp_path / "alerts.jsonl"
    script = Script(Reply(200, usage(50.0)))
    with StandIn(script) as api:
        watch = start(watches, api, env, "--alert-command", " ".join(stdin_command(tmp_path, out)))
        rise_and_reset(watch, script)
        assert 0 == watch.stop()
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    got = [(a["rule"], a["threshold"], a.get("previous_peak"), a["utilization"], a["account"]) for a in alerts]
    assert [
        ("threshold", 80, None, 85.0, "default"),
        ("threshold", 95, None, 97.0, "default"),
        ("reset", None, 97.0, 2.0, "default"),
    ] == got


def test_watch_notifies_the_desktop(env: dict[str, str], tmp_path: Path, watches: list[Watch]) -> None:
    """Each alert runs notify-send "Claude usage" MESSAGE once."""
    script = Script(Reply(200, usage(50.0)))
    with StandIn(script) as api:
        watch = start(watches, api, env)
        rise_and_reset(watch, script)
        assert 0 == watch.stop()
    titles = [argv[0] for argv in recorded(tmp_path / "notify.log")]
    firsts = [argv[1].split(":")[0] for argv in recorded(tmp_path / "notify.log")]
    assert (["Claude usage"] * 3, ["Current session"] * 2 + ["Current session has reset (it had reached 97%)"]) == (
        titles,
        firsts,
    )


def test_no_desktop_runs_no_notifier(env: dict[str, str], tmp_path: Path, watches: list[Watch]) -> None:
    """With --no-desktop, notify-send is never run though an alert fires."""
    with StandIn(Script(Reply(200, usage(85.0)))) as api:
        watch = start(watches, api, env, "--no-desktop")
        watch.wait_for(watch.logged("threshold"))
        assert 0 == watch.stop()
    assert [] == recorded(tmp_path / "notify.log")


def test_thresholds_flag_replaces_the_defaults(env: dict[str, str], watches: list[Watch]) -> None:
    """--thresholds 40 fires at 50 %."""
    with StandIn(Script(Reply(200, usage(50.0)))) as api:
        watch = start(watches, api, env, "--thresholds", "40")
        lines = watch.wait_for(watch.logged("threshold"))
        watch.stop()
    assert ["alert at 40%"] == re.findall(r"alert at \d+%", "\n".join(lines))


def test_the_demos_alerts_reach_only_a_command_given_on_the_command_line(
    env: dict[str, str], home: Path, tmp_path: Path, watches: list[Watch]
) -> None:
    """With --demo, neither the desktop nor the config's command hears of the simulated account; --alert-command
    does, with account "demo"."""
    configured, given = tmp_path / "configured.jsonl", tmp_path / "given.jsonl"
    config = home / ".config" / "claude-usage" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f"[alerts]\ncommand = {json.dumps(stdin_command(tmp_path, configured))}\n")
    watch = Watch("--demo", "--thresholds", "5", "--alert-command", " ".join(stdin_command(tmp_path, given)), env=env)
    watches.append(watch)
    watch.wait_for(watch.logged("threshold"))
    watch.wait_for(lambda lines: given.exists())
    watch.stop()
    accounts = {json.loads(line)["account"] for line in given.read_text().splitlines()}
    assert (False, [], {"demo"}) == (configured.exists(), recorded(tmp_path / "notify.log"), accounts)


def test_each_line_begins_with_the_local_time_and_the_rule(env: dict[str, str], watches: list[Watch]) -> None:
    """Every line on stderr is `YYYY-MM-DD HH:MM:SS KIND …`, the time local and within the run."""
    with StandIn(Script(Reply(200, usage(85.0)))) as api:
        before = datetime.now().replace(microsecond=0)  # noqa: DTZ005 - the log's local wall time
        watch = start(watches, api, env)
        watch.wait_for(watch.logged("threshold"))
        watch.stop()
        after = datetime.now()  # noqa: DTZ005 - the log's local wall time
    kinds = [line.split()[2] for line in watch.lines]
    times = [datetime.strptime(" ".join(line.split()[:2]), "%Y-%m-%d %H:%M:%S") for line in watch.lines]  # noqa: DTZ007
    assert (["start", "ok", "threshold", "stop"], True) == (
        [kind for kind in kinds if kind != "notice"],
        all(before <= at <= after for at in times),
    )


def test_sigterm_exits_0_and_logs_the_stop(env: dict[str, str], watches: list[Watch], standin: StandIn) -> None:
    """SIGTERM: exit 0, the last line says stop."""
    watch = start(watches, standin, env)
    watch.wait_for(watch.logged("ok"))
    code = watch.stop(signal.SIGTERM)
    assert (0, "stop on SIGTERM") == (code, " ".join(watch.lines[-1].split()[2:]))


def test_sigint_exits_0_and_logs_the_stop(env: dict[str, str], watches: list[Watch], standin: StandIn) -> None:
    """SIGINT (Ctrl+C): exit 0, no traceback, the last line says stop."""
    watch = start(watches, standin, env)
    watch.wait_for(watch.logged("ok"))
    code = watch.stop(signal.SIGINT)
    assert (0, "stop on SIGINT", False) == (
        code,
        " ".join(watch.lines[-1].split()[2:]),
        any("Traceback" in line for line in watch.lines),
    )


def test_a_failed_reading_is_logged(env: dict[str, str], watches: list[Watch]) -> None:
    """A server error is one `error` line naming the failure; watch keeps running."""
    with StandIn(Script(Reply(503, {"error": {"type": "overloaded_error", "message": "busy"}}))) as api:
        watch = start(watches, api, env)
        lines = watch.wait_for(watch.logged("error"))
        running = watch.proc.poll() is None
        watch.stop()
    error = next(line for line in lines if line.split()[2] == "error")
    assert (True, True) == (running, "reading failed (unavailable)" in error)


def test_the_log_file_is_in_the_user_state_dir(env: dict[str, str], home: Path, watches: list[Watch]) -> None:
    """The same lines go to watch.log in the user state dir."""
    with StandIn(Script(Reply(200, usage(85.0)))) as api:
        watch = start(watches, api, env)
        watch.wait_for(watch.logged("threshold"))
        watch.stop()
    log = (home / ".local" / "state" / "claude-usage" / "watch.log").read_text().splitlines()
    assert watch.lines == log


def test_the_log_dir_is_platformdirs_user_state_dir() -> None:
    """The log's directory is where platformdirs' user_state_dir says, computed without it."""
    from claude_usage.adapters.eventlog import state_dir

    assert platformdirs.user_state_dir("claude-usage", appauthor=False) == state_dir(dict(os.environ))


def test_thresholds_must_be_percentages(env: dict[str, str]) -> None:
    """--thresholds 80,abc is refused in one line, exit 2."""
    result = run_cli("watch", "--thresholds", "80,abc", env=env)
    assert (2, 1) == (result.code, len(result.stderr.splitlines()))


def test_an_empty_thresholds_list_turns_them_off() -> None:
    """--thresholds "" means none; the order and repeats of a list do not matter."""
    from claude_usage.commands.alerting import thresholds

    assert ((), (80.0, 95.0)) == (thresholds(""), thresholds("95, 80,95"))


def test_watch_keeps_the_heartbeat(env: dict[str, str], watches: list[Watch], standin: StandIn) -> None:
    """watch is a poller: the store's document carries its pid and interval, so status lines trust it."""
    watch = start(watches, standin, env)
    watch.wait_for(watch.logged("ok"))
    data = Path(os.environ["CLAUDE_USAGE_DATA_DIR"])
    pollers = [json.loads(p.read_text()).get("poller", {}) for p in data.glob("*.json")]
    watch.stop()
    assert [(watch.proc.pid, 1)] == [(p.get("pid"), p.get("interval_s")) for p in pollers if p]


def test_a_malformed_config_exits_2_in_one_line(env: dict[str, str], home: Path) -> None:
    """watch refuses a malformed config file: one line naming the file and the line, exit 2."""
    path = home / ".config" / "claude-usage" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text("[alerts]\nthresholds = [80,\n  x]\n")
    result = run_cli("watch", env=env)
    assert (2, [f"claude-usage: config file {path}, line 3, column 3: invalid value"]) == (
        result.code,
        result.stderr.splitlines(),
    )


def test_a_config_flag_naming_no_file_exits_2(env: dict[str, str], tmp_path: Path) -> None:
    """--config FILE must exist."""
    result = run_cli("watch", "--config", str(tmp_path / "nope.toml"), env=env)
    assert (2, f"claude-usage: config file {tmp_path / 'nope.toml'}: no such file\n") == (result.code, result.stderr)


def test_the_interval_has_the_dashboards_floor(env: dict[str, str]) -> None:
    """Against the real endpoint, --interval 5 is refused before anything is sent (exit 2)."""
    result = run_cli("watch", "--interval", "5", env=env)
    assert (2, "claude-usage: --interval must be at least 10 s against https://api.anthropic.com (got 5)\n") == (
        result.code,
        result.stderr,
    )


# -- --install-service -----------------------------------------------------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the systemd unit is Linux's")
def test_install_service_writes_a_systemd_user_unit(env: dict[str, str], home: Path) -> None:
    """The unit runs this interpreter's `-m claude_usage watch` with the options given; nothing is started."""
    result = run_cli(
        "watch", "--install-service", "--interval", "120", "--alert-command", "ntfy pub 'my topic'", env=env
    )
    unit = (home / ".config" / "systemd" / "user" / "claude-usage-watch.service").read_text()
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    expected = (
        f"ExecStart={sys.executable} -m claude_usage watch --interval 120 --alert-command \"ntfy pub 'my topic'\""
    )
    assert (0, expected, True) == (result.code, exec_start, "systemctl --user enable --now" in result.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the systemd unit is Linux's")
def test_install_service_never_replaces_a_unit_without_force(env: dict[str, str], home: Path) -> None:
    """A second --install-service exits 2 and leaves the unit alone; --force replaces it."""
    path = home / ".config" / "systemd" / "user" / "claude-usage-watch.service"
    path.parent.mkdir(parents=True)
    path.write_text("# mine\n")
    refused = run_cli("watch", "--install-service", env=env)
    kept = path.read_text()
    forced = run_cli("watch", "--install-service", "--force", env=env)
    assert (2, "# mine\n", 0, True) == (refused.code, kept, forced.code, "ExecStart=" in path.read_text())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the systemd unit is Linux's")
def test_install_service_never_writes_the_token(env: dict[str, str], home: Path) -> None:
    """CLAUDE_CODE_OAUTH_TOKEN stays out of the unit, while the config dir goes in."""
    result = run_cli("watch", "--install-service", env={**env, "CLAUDE_CODE_OAUTH_TOKEN": TEST_TOKEN})
    unit = (home / ".config" / "systemd" / "user" / "claude-usage-watch.service").read_text()
    assert (0, False, True) == (result.code, TEST_TOKEN in unit, f"XDG_STATE_HOME={home}/.local/state" in unit)


def test_a_launch_agent_for_macos(home: Path, tmp_path: Path) -> None:
    """On macOS, a LaunchAgent plist runs the same command line at login, restarted unless it exits 0."""
    from claude_usage.cli import build_parser
    from claude_usage.commands import watch_service

    args = build_parser("watch").parse_args(["--install-service", "--thresholds", "90", "--no-desktop"])
    assert 0 == watch_service.install(args, {**os.environ, "PATH": "/usr/bin:/bin"}, platform="darwin")
    agent = plistlib.loads((home / "Library" / "LaunchAgents" / "com.claude-usage.watch.plist").read_bytes())
    argv = [sys.executable, "-m", "claude_usage", "watch", "--thresholds", "90", "--no-desktop"]
    assert ("com.claude-usage.watch", argv, {"SuccessfulExit": False}, "/usr/bin:/bin") == (
        agent["Label"],
        agent["ProgramArguments"],
        agent["KeepAlive"],
        agent["EnvironmentVariables"]["PATH"],
    )


def test_the_shipped_examples_run_watch() -> None:
    """contrib/ ships a systemd unit and a launchd plist that both run `claude-usage watch`."""
    unit = (ROOT / "contrib" / "systemd" / "claude-usage-watch.service").read_text()
    agent = plistlib.loads((ROOT / "contrib" / "launchd" / "com.claude-usage.watch.plist").read_bytes())
    assert ("ExecStart=%h/.local/bin/claude-usage watch", ["claude-usage", "watch"]) == (
        next(line for line in unit.splitlines() if line.startswith("ExecStart=")),
        [Path(agent["ProgramArguments"][0]).name, agent["ProgramArguments"][1]],
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the systemd unit is Linux's")
def test_install_service_keeps_the_accounts(env: dict[str, str], home: Path) -> None:
    """`--account` options given to `watch --install-service` are written into the unit, with absolute dirs."""
    result = run_cli("watch", "--install-service", "--account", "work=~/.claude-work", env=env)
    unit = (home / ".config" / "systemd" / "user" / "claude-usage-watch.service").read_text()
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    expected = f"ExecStart={sys.executable} -m claude_usage watch --account work={home / '.claude-work'}"
    assert (0, expected) == (result.code, exec_start)
