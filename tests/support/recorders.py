"""Stand-ins for the programs alerts run: a `notify-send` / `osascript` that records its argv, and a user command
that writes its stdin to a file. Real executables on a PATH of the test's own; nothing is notified."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

RECORDER = """\
#!{python}
import json, os, sys
with open({log!r}, "a", encoding="utf-8") as f:
    f.write(json.dumps(sys.argv) + "\\n")
"""

STDIN_TO_FILE = """\
import sys
data = sys.stdin.buffer.read()
with open(sys.argv[1], "ab") as f:
    f.write(data)
"""


def fake_notifier(bin_dir: Path, name: str, log: Path) -> Path:
    """An executable `bin_dir/name` that appends its argv (as a JSON list) to `log`, one line per run."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / name
    path.write_text(RECORDER.format(python=sys.executable, log=str(log)))
    path.chmod(0o755)
    return path


def recorded(log: Path) -> list[list[str]]:
    """The argv of every run recorded in `log` (without the program itself)."""
    if not log.exists():
        return []
    return [json.loads(line)[1:] for line in log.read_text().splitlines() if line]


def stdin_command(tmp_path: Path, out: Path) -> list[str]:
    """The argv of a user command that appends its stdin to `out`."""
    script = tmp_path / "to_file.py"
    script.write_text(STDIN_TO_FILE)
    return [sys.executable, str(script), str(out)]


def wait_for(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    """Poll `predicate()` until it is true, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s")
        time.sleep(0.02)


def env_with_path(*dirs: Path) -> dict[str, str]:
    """The test's environment with PATH holding only `dirs` (no real notify-send can answer)."""
    return {**os.environ, "PATH": os.pathsep.join(str(d) for d in dirs)}
