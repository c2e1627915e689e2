"""Single key presses from the terminal, without echo, restoring the terminal on exit.

POSIX: cbreak mode (Ctrl+C still raises KeyboardInterrupt) and `select` with a timeout. Windows:
`msvcrt`. Without a terminal on stdin (CI, pipes) no key is ever read; the wait still happens.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any


class KeyReader:
    """`with KeyReader() as keys: key = keys.read(timeout_s)`; `read` returns a key or None."""

    def __init__(self) -> None:
        self._fd: int | None = None
        self._saved: Any = None
        self._windows = os.name == "nt"

    def __enter__(self) -> KeyReader:
        try:
            interactive = sys.stdin is not None and sys.stdin.isatty()
        except (ValueError, OSError):
            interactive = False
        if not interactive or self._windows:
            self._fd = -1 if interactive else None
            return self
        import termios
        import tty

        fd = sys.stdin.fileno()
        try:
            self._saved = termios.tcgetattr(fd)
            tty.setcbreak(fd)
        except termios.error:
            return self
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._saved is not None and self._fd is not None and self._fd >= 0:
            import termios

            saved, self._saved = self._saved, None
            try:
                termios.tcsetattr(self._fd, termios.TCSADRAIN, saved)
            except (termios.error, OSError):  # the terminal is gone (a dropped SSH session): nothing to restore
                return

    def read(self, timeout_s: float) -> str | None:
        """The next key pressed within `timeout_s` seconds, or None."""
        timeout_s = max(0.0, timeout_s)
        if self._fd is None:
            time.sleep(timeout_s)
            return None
        if self._windows:
            return self._read_windows(timeout_s)
        import select

        ready, _, _ = select.select([self._fd], [], [], timeout_s)
        if not ready:
            return None
        data = os.read(self._fd, 64)
        return data.decode(errors="ignore")[:1] or None

    def _read_windows(self, timeout_s: float) -> str | None:  # pragma: no cover - Windows only
        import msvcrt

        deadline = time.monotonic() + timeout_s
        while True:
            if msvcrt.kbhit():  # type: ignore[attr-defined,unused-ignore]
                key: str = msvcrt.getwch()  # type: ignore[attr-defined,unused-ignore]
                return key
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.05)
