"""Drive a program in a real terminal: a private tmux server per test, fixed size, polled screens."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest


class Tmux:
    """One tmux server (`-L <unique>`, no config) with one window running `command`.

    When the command exits the pane shows `EXITED:<status>`, then the output of `after` (a shell command
    run in the same terminal, e.g. `stty -a`), and stays open.
    """

    def __init__(
        self, command: list[str], *, env: dict[str, str], width: int = 100, height: int = 30, after: str = ""
    ) -> None:
        if shutil.which("tmux") is None:
            pytest.skip("tmux is not installed (.ci/run installs it)")
        self.socket = f"cu-test-{uuid.uuid4().hex[:10]}"
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        # The trap keeps sh alive through Ctrl+C (its child still gets the default SIGINT) to report
        # the status; COLUMNS/LINES from the test process would pin the size the terminal must decide.
        program = f"env {exports} {shlex.join(command)}"
        then = f"{after}; " if after else ""
        shell = f"trap 'true' INT; unset COLUMNS LINES; {program}; echo EXITED:$?; {then}sleep 30"
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

    def pane(self, name: str) -> str:
        """A tmux format variable of the pane: `alternate_on` (1 on the alternate screen), `cursor_flag`..."""
        return self._tmux("display-message", "-p", "-t", "t", f"#{{{name}}}").strip()

    def program_pid(self, needle: str = "claude_usage", timeout: float = 10.0) -> int:
        """The pid of the process under the pane whose command line holds `needle` (Linux: reads /proc)."""
        if not Path("/proc/self/stat").exists():
            pytest.skip("finding the program's pid reads /proc: Linux only")
        root = int(self.pane("pane_pid"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = _descendant(root, needle.encode())
            if found is not None:
                return found
            time.sleep(0.1)
        raise AssertionError(f"no process with {needle!r} in its command line under pid {root}")

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


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _descendant(root: int, needle: bytes) -> int | None:
    """The first process below `root` (not `root` itself: the pane's shell names the program too)."""
    queue = _children(root)
    while queue:
        pid = queue.pop(0)
        try:
            if needle in (Path("/proc") / str(pid) / "cmdline").read_bytes():
                return pid
        except OSError:
            continue
        queue.extend(_children(pid))
    return None
