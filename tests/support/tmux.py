"""Drive a program in a real terminal: a private tmux server per test, fixed size, polled screens."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable

import pytest


class Tmux:
    """One tmux server (`-L <unique>`, no config) with one window running `command`."""

    def __init__(self, command: list[str], *, env: dict[str, str], width: int = 100, height: int = 30) -> None:
        if shutil.which("tmux") is None:
            pytest.skip("tmux is not installed (.ci/run installs it)")
        self.socket = f"cu-test-{uuid.uuid4().hex[:10]}"
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        # The trap keeps sh alive through Ctrl+C (its child still gets the default SIGINT) to report
        # the status; COLUMNS/LINES from the test process would pin the size the terminal must decide.
        program = f"env {exports} {shlex.join(command)}"
        shell = f"trap 'true' INT; unset COLUMNS LINES; {program}; echo EXITED:$?; sleep 30"
        self._tmux(
            "new-session",
            "-d",
            "-x",
            str(width),
            "-y",
            str(height),
            "-s",
            "t",
            "sh",
            "-c",
            shell,
        )

    def _tmux(self, *args: str) -> str:
        proc = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return proc.stdout

    def screen(self, *, escapes: bool = False) -> str:
        """The visible screen as text; with `escapes`, including its colour codes."""
        return self._tmux("capture-pane", "-p", *(["-e"] if escapes else []), "-t", "t")

    def send(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", "t", *keys)

    def resize(self, width: int, height: int) -> None:
        self._tmux("resize-window", "-t", "t", "-x", str(width), "-y", str(height))

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 15.0) -> str:
        """Poll the screen until `predicate` holds; fail with the last screen after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if predicate(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"screen never matched within {timeout} s; last screen:\n{screen}")

    def kill(self) -> None:
        self._tmux("kill-server")
