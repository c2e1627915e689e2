"""The event log of `watch` and of the dashboard's alerts: one line per event, the local time and its kind first.

Lines go to stderr (`watch`) and to a rotating file in the user state dir (`watch.log`, `dashboard.log`: one file
per face, since two processes rotating one file would lose lines). A file that cannot be opened is said once on
stderr and left out; a write that fails later is dropped quietly (the log never stops the monitor).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from claude_usage.adapters import paths

if TYPE_CHECKING:
    from collections.abc import Mapping

MAX_BYTES = 1024 * 1024
BACKUPS = 3
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # local time: the reader of a log reads their own clock


def state_dir(env: Mapping[str, str]) -> str:
    """platformdirs' `user_state_dir("claude-usage", appauthor=False)`, computed from `env`."""
    if sys.platform in ("win32", "darwin"):
        return paths.user_data_dir(env)
    xdg = env.get("XDG_STATE_HOME") or ""
    return os.path.join(xdg if xdg.strip() else os.path.join(paths.home(env), ".local", "state"), paths.APP)


def log_path(env: Mapping[str, str], name: str) -> Path:
    """The log file of one face (`watch`, `dashboard`)."""
    return Path(state_dir(env), f"{name}.log")


class _QuietFile(logging.handlers.RotatingFileHandler):
    def handleError(self, record: logging.LogRecord) -> None:
        """A full disk or a vanished directory: drop the line, never print a traceback."""


class EventLog:
    """`say(kind, text)` writes `2026-11-24 13:49:02 KIND TEXT` to each of its outputs (thread-safe)."""

    def __init__(self, path: Path | None, *, stream: TextIO | None = None) -> None:
        self.path: Path | None = None
        self._logger = logging.Logger(f"claude_usage.events.{id(self)}")  # not registered: nothing else sees it
        formatter = logging.Formatter("%(asctime)s %(message)s", datefmt=TIME_FORMAT)
        if stream is not None:
            handler: logging.Handler = logging.StreamHandler(stream)
            handler.setFormatter(formatter)
            self._logger.addHandler(handler)
        if path is not None:
            try:
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                handler = _QuietFile(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
            except OSError as exc:
                print(f"claude-usage: cannot write the log {path}: {exc.strerror or exc}", file=sys.stderr)
            else:
                handler.setFormatter(formatter)
                self._logger.addHandler(handler)
                self.path = path

    def say(self, kind: str, text: str) -> None:
        """One line: the local time, `kind` (the rule, or start, stop, error, notice, ok), then `text`."""
        self._logger.info("%s %s", kind, " ".join(text.split()) if "\n" in text else text)

    def close(self) -> None:
        for handler in list(self._logger.handlers):
            handler.close()
            self._logger.removeHandler(handler)
