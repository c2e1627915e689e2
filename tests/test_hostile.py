"""The real CLI against hostile servers on 127.0.0.1: replies that reflect the token, headers that never end."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

import pytest

from claude_usage.standin import Reply, Script, StandIn
from tests.conftest import fresh_fixture
from tests.support.cli import write_credentials

MIN_RUN = 12  # adapters/redact.py: no run this long of a token may be printed


class RawServer:
    """A raw TCP server on 127.0.0.1: for each connection, reads the request head, then `answer(conn, head)`.

    Each connection has its own daemon thread; `stop` is set when the test ends, and `answer` should give
    up when it is.
    """

    def __init__(self, answer: Callable[[socket.socket, bytes, threading.Event], None]) -> None:
        self.answer = answer
        self.stop = threading.Event()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = 0
        self.thread = threading.Thread(target=self.accept, daemon=True)

    def accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    head += chunk
                self.answer(conn, head, self.stop)
            except OSError:
                return

    def __enter__(self) -> RawServer:
        self.thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop.set()
        self.thread.join(timeout=2)
        self.listener.close()


def run(*args: str, api: str, timeout: float = 60) -> tuple[int, str, str, float]:
    """`python -m claude_usage ARGS` against `api`: (exit status, stdout, stderr, seconds it took)."""
    env = {**os.environ, "CLAUDE_USAGE_API_URL": api, "NO_COLOR": "1"}
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "claude_usage", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started


def runs_of(token: str, text: str) -> list[str]:
    """The MIN_RUN-character runs of `token` that occur in `text`."""
    return [token[i : i + MIN_RUN] for i in range(len(token) - MIN_RUN + 1) if token[i : i + MIN_RUN] in text]


# -- a reply that reflects the request's Authorization header --------------------------------------------


def authorization(head: bytes) -> bytes:
    """The request's `Authorization: Bearer …` line."""
    return next(line for line in head.split(b"\r\n") if line.lower().startswith(b"authorization:"))


REFLECTIONS: dict[str, Callable[[bytes], bytes]] = {
    # The header line without its colon: h11 quotes it in "illegal header line: bytearray(b'…')".
    "colon dropped": lambda line: line.replace(b":", b" ", 1),
    # Only the credential, without the `Bearer` that gives it away.
    "credential only": lambda line: b"Echo " + line.split(b" ", 2)[2],
    # The credential cut in two by a byte the repr escapes.
    "credential split": lambda line: b"Echo " + line.split(b" ", 2)[2][:20] + b"\x01" + line.split(b" ", 2)[2][20:],
}


def reflector(reflect: Callable[[bytes], bytes]) -> Callable[[socket.socket, bytes, threading.Event], None]:
    def answer(conn: socket.socket, head: bytes, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\n" + reflect(authorization(head)) + b"\r\n\r\n")

    return answer


TOKENS = {
    "plain": secrets.token_urlsafe(30),  # 40 characters, nothing like sk-ant: only its value gives it away
    "sk-ant": "sk-ant-oat01-" + secrets.token_urlsafe(30),
}


@pytest.mark.parametrize("kind", list(TOKENS))
@pytest.mark.parametrize("reflection", list(REFLECTIONS))
def test_debug_traceback_never_shows_a_reflected_token(home: Path, kind: str, reflection: str) -> None:
    """A reply reflecting the token in a malformed header line leaves no run of it in `--json --debug`'s output."""
    token = TOKENS[kind]
    write_credentials(home / ".claude", token=token)
    with RawServer(reflector(REFLECTIONS[reflection])) as server:
        code, out, err, _ = run("--json", "--debug", "--wait", "1", api=server.url)
    assert (4, True, []) == (code, "Traceback (most recent call last)" in err, runs_of(token, out + err))


# -- headers that never end ------------------------------------------------------------------------------


def drip_headers(conn: socket.socket, head: bytes, stop: threading.Event) -> None:
    """A status line, then one header byte every 0.5 s, until the test ends."""
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    while not stop.wait(0.5):
        conn.sendall(b"X")


@pytest.fixture
def dripping() -> Iterator[RawServer]:
    """A server whose headers never end."""
    with RawServer(drip_headers) as server:
        yield server


@pytest.fixture
def logged_in(home: Path) -> None:
    write_credentials(home / ".claude")


@pytest.mark.usefixtures("logged_in")
def test_one_shot_ends_when_headers_never_do(dripping: RawServer) -> None:
    """`--json --wait 5` against headers that never end exits 4 with one line naming the URL, within 20 s."""
    code, _, err, took = run("--json", "--wait", "5", api=dripping.url, timeout=40)
    lines = err.splitlines()
    assert (4, 1, True, True) == (code, len(lines), f"{dripping.url}/api/oauth/usage" in err, took < 20), (err, took)


@pytest.mark.usefixtures("logged_in")
def test_refresh_ends_when_headers_never_do(dripping: RawServer) -> None:
    """`refresh` against headers that never end exits 4 within 20 s."""
    code, _, _, took = run("refresh", "--max-age", "0", api=dripping.url, timeout=40)
    assert (4, True) == (code, took < 20), took


# -- text that would drive the terminal ------------------------------------------------------------------


@pytest.mark.usefixtures("logged_in")
def test_once_draws_no_escape_sequence_from_the_reply() -> None:
    """`--once` draws an unknown week whose key carries escape sequences without a single ESC byte."""
    reply = fresh_fixture("max-typical")
    reply["seven_day_cowork\x1b]0;Pwned\x07\x1b[2J"] = {"utilization": 9.0, "resets_at": None}
    with StandIn(Script(Reply(200, reply))) as api:
        code, out, err, _ = run("--once", api=api.url)
    assert (0, True, False, False) == (code, "Current week (Cowork)" in out, "\x1b" in out + err, "Pwned" in out)


# -- a reply the parser refuses --------------------------------------------------------------------------


@pytest.mark.usefixtures("logged_in")
def test_unreadable_reply_names_the_url() -> None:
    """`--json` against a reply with a number out of range exits 4 with one line naming the URL and the path."""
    reply = fresh_fixture("max-typical")
    reply["five_hour"]["utilization"] = 10**400
    with StandIn(Script(Reply(200, reply))) as api:
        code, _, err, _ = run("--json", api=api.url)
    expected = (
        f"claude-usage: {api.url}/api/oauth/usage sent a reply that cannot be read: "
        "five_hour.utilization: number out of range\n"
    )
    assert (4, expected) == (code, err)
