"""Each alert channel end to end: real programs on a PATH of the test's own, real timeouts, real kills."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from claude_usage.adapters.notify import Bell, Channel, Command, Desktop, Dispatcher, desktop_notifier
from claude_usage.core.alerts import Alert
from tests.support.recorders import env_with_path, fake_notifier, recorded, stdin_command, wait_for

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the fakes are POSIX executables")

ALERT = Alert(
    rule="threshold",
    key="five_hour",
    label="Current session",
    utilization=82.0,
    threshold=80.0,
    resets_at=datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc),
    message="Current session: 82% used (alert at 80%), resets at 15:00 (in 2h 11m)",
    fired_at=datetime(2026, 11, 24, 12, 49, tzinfo=timezone.utc),
    account="default",
)


class Said:
    """A `say(kind, text)` that keeps the lines."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def __call__(self, kind: str, text: str) -> None:
        self.lines.append((kind, text))


def test_desktop_runs_notify_send_with_the_title_and_the_message(tmp_path: Path) -> None:
    """Linux: `notify-send "Claude usage" MESSAGE`."""
    fake_notifier(tmp_path / "bin", "notify-send", tmp_path / "argv.log")
    Desktop(env_with_path(tmp_path / "bin"), Said()).send(ALERT)
    assert [["Claude usage", ALERT.message]] == recorded(tmp_path / "argv.log")


def test_desktop_runs_osascript_when_that_is_what_there_is(tmp_path: Path) -> None:
    """macOS: osascript's display notification, the title and the message passed as arguments, never as script."""
    fake_notifier(tmp_path / "bin", "osascript", tmp_path / "argv.log")
    Desktop(env_with_path(tmp_path / "bin"), Said()).send(ALERT)
    expected = [
        "-e",
        "on run argv",
        "-e",
        "display notification (item 2 of argv) with title (item 1 of argv)",
        "-e",
        "end run",
        "Claude usage",
        ALERT.message,
    ]
    assert [expected] == recorded(tmp_path / "argv.log")


def test_macos_prefers_osascript_when_both_are_there(tmp_path: Path) -> None:
    """On macOS, osascript comes first; elsewhere notify-send."""
    for name in ("notify-send", "osascript"):
        fake_notifier(tmp_path / "bin", name, tmp_path / "argv.log")
    env = env_with_path(tmp_path / "bin")
    found = [Path(str(desktop_notifier(env, platform))).name for platform in ("darwin", "linux")]
    assert ["osascript", "notify-send"] == found


def test_without_a_notifier_the_log_says_so_once(tmp_path: Path) -> None:
    """Neither notify-send nor osascript: one notice in the log however many alerts, and nothing raised."""
    (tmp_path / "empty").mkdir()
    said = Said()
    desktop = Desktop(env_with_path(tmp_path / "empty"), said)
    desktop.send(ALERT)
    desktop.send(ALERT)
    assert ["notice"] == [kind for kind, _ in said.lines]


def test_the_command_receives_the_alert_as_json_on_stdin(tmp_path: Path) -> None:
    """The user command gets exactly the alert's JSON object on stdin."""
    out = tmp_path / "alert.json"
    Command(stdin_command(tmp_path, out), timeout_s=10, env=dict(os.environ)).send(ALERT)
    expected = {
        "rule": "threshold",
        "key": "five_hour",
        "label": "Current session",
        "utilization": 82.0,
        "threshold": 80,
        "resets_at": "2026-11-24T15:00:00+00:00",
        "message": ALERT.message,
        "fired_at": "2026-11-24T12:49:00+00:00",
        "account": "default",
    }
    assert expected == json.loads(out.read_text())


def test_the_command_runs_without_a_shell(tmp_path: Path) -> None:
    """Shell syntax in the command's words stays text: `$HOME` and `;` reach the program as written."""
    fake_notifier(tmp_path / "bin", "tool", tmp_path / "argv.log")
    Command([str(tmp_path / "bin" / "tool"), "$HOME;", "rm -rf x"], timeout_s=10, env=dict(os.environ)).send(ALERT)
    assert [["$HOME;", "rm -rf x"]] == recorded(tmp_path / "argv.log")


def test_a_command_past_its_timeout_is_killed_and_logged(tmp_path: Path) -> None:
    """A command still running after its timeout is killed (its whole process group) and the log says so."""
    script = tmp_path / "hang.py"
    pid_file = tmp_path / "pid"
    script.write_text(f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(60)\n")
    said = Said()
    dispatcher = Dispatcher([Command([sys.executable, str(script)], timeout_s=0.5, env=dict(os.environ))], said)
    dispatcher.send("command", ALERT)
    wait_for(lambda: said.lines)
    dispatcher.close()
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert [("error", "command: python3 did not finish within 0.5 s: killed")] == [
        (kind, text.replace(Path(sys.executable).name, "python3")) for kind, text in said.lines
    ]


def test_a_failing_command_is_logged_with_its_stderr(tmp_path: Path) -> None:
    """A command exiting non-zero is logged with its status and the first line it wrote on stderr."""
    script = tmp_path / "fail.py"
    script.write_text("import sys\nsys.stdin.read()\nsys.stderr.write('\\nwebhook said 403\\nmore\\n')\nsys.exit(3)\n")
    said = Said()
    dispatcher = Dispatcher([Command([sys.executable, str(script)], timeout_s=10, env=dict(os.environ))], said)
    dispatcher.send("command", ALERT)
    dispatcher.close(10)
    name = Path(sys.executable).name
    assert [("error", f"command: {name} exited with status 3: webhook said 403")] == said.lines


def test_a_missing_command_is_logged(tmp_path: Path) -> None:
    """A command that does not exist is one line in the log, nothing raised."""
    said = Said()
    dispatcher = Dispatcher([Command([str(tmp_path / "nope")], timeout_s=10, env=dict(os.environ))], said)
    dispatcher.send("command", ALERT)
    dispatcher.close(10)
    assert [("error", f"command: cannot run {tmp_path / 'nope'}: No such file or directory")] == said.lines


def test_a_slow_channel_never_holds_up_another(tmp_path: Path) -> None:
    """While the command is still running, the bell has already rung, and send() returned at once."""
    script = tmp_path / "slow.py"
    script.write_text("import time\ntime.sleep(5)\n")
    rung = threading.Event()
    channels: list[Channel] = [
        Command([sys.executable, str(script)], timeout_s=10, env=dict(os.environ)),
        Bell(rung.set),
    ]
    dispatcher = Dispatcher(channels, Said())
    started = time.monotonic()
    dispatcher.send("command", ALERT)
    dispatcher.send("bell", ALERT)
    returned = time.monotonic() - started
    assert (True, True) == (rung.wait(3), returned < 0.5)
    dispatcher.close()


def test_the_bell_rings_the_callback(tmp_path: Path) -> None:
    """The bell channel calls what the dashboard gave it (its console's bell)."""
    rings: list[int] = []
    Bell(lambda: rings.append(1)).send(ALERT)
    assert [1] == rings
