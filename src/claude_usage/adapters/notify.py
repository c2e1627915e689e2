"""Where alerts go: the desktop (notify-send / osascript), the terminal bell, the user's command.

Each channel's `send(alert)` either delivers or raises `ChannelFailed` with one line to log; nothing it runs
goes through a shell, and everything it runs has a timeout, after which the process (and its process group)
is killed. `Dispatcher` runs every channel in a worker thread of its own, so a slow or failing channel never
holds up the poll loop or the other channels; it logs what fails through `say(kind, text)`.

Desktop: `notify-send "Claude usage" MESSAGE` (Linux, the freedesktop notification service) or
`osascript -e 'display notification …'` (macOS), whichever is on PATH (the platform's own first). With
neither, a desktop alert is a no-op and the log says so once.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Protocol

from claude_usage.core.alerts import BELL, COMMAND, DESKTOP
from claude_usage.errors import ClaudeUsageError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from claude_usage.core.alerts import Alert

    Say = Callable[[str, str], None]  # (kind, text): one line in the event log

TITLE = "Claude usage"
DESKTOP_TIMEOUT_S = 5.0
KILL_WAIT_S = 2.0  # after the kill, how long to wait for the pipes to close
NOTIFIERS = ("notify-send", "osascript")
# AppleScript that takes the title and the message as arguments: no quoting of user text into a script.
_OSASCRIPT = (
    "-e",
    "on run argv",
    "-e",
    "display notification (item 2 of argv) with title (item 1 of argv)",
    "-e",
    "end run",
)


class ChannelFailed(ClaudeUsageError):
    """A channel could not deliver an alert; the message says why in one line (logged, never fatal)."""


class Channel(Protocol):
    """One way of telling the user: delivers or raises ChannelFailed (within its own timeout)."""

    name: str

    def describe(self) -> str:
        """The channel for the log, e.g. `desktop (notify-send)`."""
        ...

    def send(self, alert: Alert) -> None: ...


def desktop_notifier(env: Mapping[str, str], platform: str = sys.platform) -> str | None:
    """The path of notify-send or osascript on `env`'s PATH (the platform's own first); None when neither."""
    order = tuple(reversed(NOTIFIERS)) if platform == "darwin" else NOTIFIERS
    search = env.get("PATH", os.defpath)
    for name in order:
        found = shutil.which(name, path=search)
        if found:
            return found
    return None


def run(argv: Sequence[str], *, stdin: bytes | None, timeout_s: float, env: Mapping[str, str]) -> None:
    """Run `argv` (no shell) feeding it `stdin`; ChannelFailed when it cannot start, fails or outlives the timeout.

    The process leads a process group of its own, so a timeout kills whatever it started too.
    """
    name = os.path.basename(argv[0])
    posix = os.name == "posix"
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=dict(env),
            start_new_session=posix,
        )
    except OSError as exc:
        raise ChannelFailed(f"cannot run {argv[0]}: {exc.strerror or exc}") from exc
    try:
        _, err = proc.communicate(stdin, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill(proc, posix)
        raise ChannelFailed(f"{name} did not finish within {timeout_s:g} s: killed") from None
    except BaseException:
        _kill(proc, posix)
        raise
    if proc.returncode != 0:
        first = next((line.strip() for line in err.decode("utf-8", "replace").splitlines() if line.strip()), "")
        said = f": {first[:200]}" if first else ""
        raise ChannelFailed(f"{name} exited with status {proc.returncode}{said}")


def _kill(proc: subprocess.Popen[bytes], posix: bool) -> None:
    try:
        if posix:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except OSError:
        pass  # gone already
    with contextlib.suppress(subprocess.TimeoutExpired):  # a grandchild that left the group holds the pipe
        proc.communicate(timeout=KILL_WAIT_S)


class Desktop:
    """Desktop notifications through notify-send or osascript; with neither, the log says so once."""

    name = DESKTOP

    def __init__(self, env: Mapping[str, str], say: Say, *, timeout_s: float = DESKTOP_TIMEOUT_S) -> None:
        self.env = env
        self.say = say
        self.timeout_s = timeout_s
        self.notifier = desktop_notifier(env)
        self._noticed = False

    def describe(self) -> str:
        """`desktop (notify-send)`, or `desktop (none: neither notify-send nor osascript on PATH)`."""
        if self.notifier is None:
            return "desktop (none: neither notify-send nor osascript on PATH)"
        return f"desktop ({os.path.basename(self.notifier)})"

    def send(self, alert: Alert) -> None:
        self.show(alert.message)

    def show(self, message: str) -> None:
        """One notification titled "Claude usage"."""
        if self.notifier is None:
            if not self._noticed:
                self._noticed = True
                self.say(
                    "notice",
                    "no desktop notifications: neither notify-send nor osascript is on PATH "
                    "(alerts still go to this log and the other channels)",
                )
            return
        if os.path.basename(self.notifier).startswith("osascript"):
            argv = [self.notifier, *_OSASCRIPT, TITLE, message]
        else:
            argv = [self.notifier, TITLE, message]
            if message.startswith("-"):  # not an option
                argv.insert(1, "--")
        run(argv, stdin=None, timeout_s=self.timeout_s, env=self.env)


class Bell:
    """The terminal bell, rung by whoever owns the terminal (the live dashboard passes its console's bell)."""

    name = BELL

    def __init__(self, ring: Callable[[], None]) -> None:
        self.ring = ring

    def describe(self) -> str:
        return "bell"

    def send(self, alert: Alert) -> None:
        try:
            self.ring()
        except OSError as exc:
            raise ChannelFailed(f"cannot ring the bell: {exc.strerror or exc}") from exc


class Command:
    """The user's command, run without a shell, the alert as one JSON object on stdin; killed after the timeout."""

    name = COMMAND

    def __init__(self, argv: Sequence[str], *, timeout_s: float, env: Mapping[str, str]) -> None:
        self.argv = tuple(argv)
        self.timeout_s = timeout_s
        self.env = env

    def describe(self) -> str:
        return f"command ({os.path.basename(self.argv[0])})"

    def send(self, alert: Alert) -> None:
        body = json.dumps(alert.payload(), ensure_ascii=False) + "\n"
        run(self.argv, stdin=body.encode(), timeout_s=self.timeout_s, env=self.env)


class Dispatcher:
    """Hands each delivery to its channel's worker thread: channels never wait for each other or block the caller."""

    def __init__(self, channels: Sequence[Channel], say: Say) -> None:
        self.channels: dict[str, Channel] = {channel.name: channel for channel in channels}
        self.say = say
        self._queues: dict[str, queue.Queue[Callable[[], None] | None]] = {}
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False

    def send(self, name: str, alert: Alert) -> None:
        """Deliver `alert` through the channel `name` (in the background); unknown names are ignored."""
        channel = self.channels.get(name)
        if channel is not None:
            self.submit(name, lambda: channel.send(alert))

    def submit(self, name: str, job: Callable[[], None]) -> None:
        """Run `job` in the worker of the channel `name`; what it raises is logged there."""
        with self._lock:
            if self._closed:
                return
            found = self._queues.get(name)
            if found is None:
                found = self._queues[name] = queue.Queue()
                worker = threading.Thread(target=self._work, args=(name, found), name=f"alert-{name}", daemon=True)
                self._threads.append(worker)
                worker.start()
        found.put(job)

    def _work(self, name: str, jobs: queue.Queue[Callable[[], None] | None]) -> None:
        while (job := jobs.get()) is not None:
            try:
                job()
            except ChannelFailed as exc:
                self.say("error", f"{name}: {exc}")
            except Exception as exc:  # noqa: BLE001 - a channel never takes the monitor down: log it, go on
                self.say("error", f"{name}: unexpected error ({type(exc).__name__}: {exc})")

    def close(self, timeout_s: float = 0.0) -> None:
        """Stop taking work; wait up to `timeout_s` seconds for what is queued (daemon threads: never longer)."""
        with self._lock:
            self._closed = True
            queues, threads = list(self._queues.values()), list(self._threads)
        for jobs in queues:
            jobs.put(None)
        deadline = time.monotonic() + timeout_s
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
