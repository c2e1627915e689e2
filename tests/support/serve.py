"""A real `claude-usage serve` process on 127.0.0.1, and a tiny HTTP client for it (loopback only)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from email.message import Message
from pathlib import Path
from typing import Any, TypeVar

from tests.support.cli import TEST_TOKEN

_T = TypeVar("_T")


def wait_for(probe: Callable[[], _T | None], *, timeout: float = 30.0, every: float = 0.1, what: str = "it") -> _T:
    """Call `probe` until it returns something other than None, against a monotonic deadline."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


class Served:
    """`python -m claude_usage serve --listen 127.0.0.1:0 ARGS`, its URL read from what it says on stderr."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.stderr_path = Path(full_env["HOME"]).parent / f"serve-{os.getpid()}-{id(self)}.err"
        self._stderr = self.stderr_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "claude_usage", "serve", "--listen", "127.0.0.1:0", *args],
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=cwd,
        )
        self.url = wait_for(self._announced, what="the server to say where it listens")

    def _announced(self) -> str | None:
        found = re.search(r"serving (http://127\.0\.0\.1:\d+)/", self.stderr())
        if found:
            return found.group(1)
        if self.proc.poll() is not None:
            raise AssertionError(f"serve exited {self.proc.returncode}: {self.stderr()}")
        return None

    def stderr(self) -> str:
        text = self.stderr_path.read_text()
        assert TEST_TOKEN not in text
        return text

    def terminate(self, *, timeout: float = 20.0) -> int:
        """SIGTERM, then its exit status (killed, and the test failed, if it does not stop in time)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("serve did not stop within 20 s of SIGTERM") from None
        finally:
            self._stderr.close()
        assert self.proc.stdout is not None
        out = self.proc.stdout.read().decode()
        self.proc.stdout.close()
        assert TEST_TOKEN not in out
        return code

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        return get(self.url + path, headers)

    def json(self, path: str = "/api/usage", headers: dict[str, str] | None = None) -> Any:
        status, _, body = self.get(path, headers)
        assert 200 == status, body
        return json.loads(body)


def get(url: str, headers: dict[str, str] | None = None, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """GET `url` (loopback only): status, headers (lower-case names), body; HTTP errors are answers too."""
    assert url.startswith(("http://127.0.0.1:", "http://[::1]:", "http://localhost:")), url
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - a loopback http URL, checked above
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, _headers(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, _headers(exc.headers), exc.read()


def _headers(message: Message) -> dict[str, str]:
    """Lower-case names; a header sent more than once is joined with ", "."""
    return {name.lower(): ", ".join(message.get_all(name) or []) for name in message}
