"""The usage client over real HTTP against the stand-in on 127.0.0.1: what is sent, what comes back."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from types import TracebackType
from typing import Any

import httpx
import pytest

from claude_usage.adapters.api import UsageClient
from claude_usage.adapters.credentials import Secret
from claude_usage.errors import (
    BadReply,
    ClaudeUsageError,
    RateLimited,
    TokenRejected,
    UnavailableError,
)
from claude_usage.standin import Reply, Request, Script, StandIn
from tests.conftest import load_fixture

TOKEN = "sk-ant-oat01-real-http-token-9876543210"
UA = "claude-cli/9.9.9 (external, cli)"


class Server:
    """One stand-in for the whole module (stopping one takes half a second), re-scripted per test."""

    def __init__(self) -> None:
        self.script = Script(Reply())
        self.api = StandIn(self.script)

    def answer(self, reply: Reply) -> StandIn:
        """Answer `reply` from now on, with a fresh request log."""
        self.script.then(reply)
        self.api.requests.clear()
        return self.api


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """The module's stand-in on 127.0.0.1."""
    server = Server()
    with server.api:
        yield server


def fetch(server: Server, reply: Reply, **kwargs: Any) -> dict[str, Any]:
    api = server.answer(reply)
    with UsageClient(api.url, user_agent=UA, **kwargs) as client:
        return client.fetch(Secret(TOKEN))


def failure(server: Server, reply: Reply, expected: type[ClaudeUsageError] = ClaudeUsageError) -> ClaudeUsageError:
    """The error `fetch` raises when the stand-in answers `reply`."""
    with pytest.raises(expected) as info:
        fetch(server, reply)
    return info.value


@pytest.fixture
def sent(server: Server) -> Request:
    """The one request a fetch of the max-typical fixture sent to the stand-in."""
    fetch(server, Reply(200, load_fixture("max-typical")))
    [request] = server.api.requests
    return request


def test_returns_fixture(server: Server) -> None:
    """A 200 fixture reply comes back decoded."""
    reply = load_fixture("max-typical")
    assert reply == fetch(server, Reply(200, reply))


def test_sends_token(sent: Request) -> None:
    """The token arrives in the Authorization header."""
    assert f"Bearer {TOKEN}" == sent.headers["authorization"]


def test_sends_claude_code_headers(sent: Request) -> None:
    """The beta, content-type and user-agent headers arrive as Claude Code sends them."""
    expected = ("oauth-2025-04-20", "application/json", UA)
    actual = (sent.headers["anthropic-beta"], sent.headers["content-type"], sent.headers["user-agent"])
    assert expected == actual


def test_gets_plain_path(sent: Request) -> None:
    """The request is a GET of the plain usage path."""
    assert ("GET", "/api/oauth/usage") == (sent.method, sent.path)


def test_401_is_token_rejected(server: Server) -> None:
    """A 401 raises TokenRejected quoting the server."""
    error = failure(server, Reply(401, load_fixture("error-401-expired")), TokenRejected)
    assert "(401: OAuth access token has expired. Re-authenticate to continue.)" in str(error)


def test_403_is_token_rejected(server: Server) -> None:
    """A 403 raises TokenRejected with status 403."""
    error = failure(server, Reply(403, load_fixture("error-403-scope")), TokenRejected)
    assert isinstance(error, TokenRejected)
    assert 403 == error.status


def test_429_with_retry_after(server: Server) -> None:
    """A 429 with Retry-After carries the wait."""
    error = failure(server, Reply(429, load_fixture("error-429"), headers={"Retry-After": "120"}), RateLimited)
    assert isinstance(error, RateLimited)
    assert 120.0 == error.retry_after_s


def test_429_without_retry_after(server: Server) -> None:
    """A 429 without Retry-After carries no wait."""
    error = failure(server, Reply(429, load_fixture("error-429")), RateLimited)
    assert isinstance(error, RateLimited)
    assert (None, None) == (error.retry_after_s, error.retry_at)


def test_5xx_is_unavailable(server: Server) -> None:
    """A 502 raises UnavailableError naming the status."""
    error = failure(server, Reply(502, "<html>Bad Gateway</html>"), UnavailableError)
    assert (UnavailableError, True) == (type(error), str(error).endswith("answered HTTP 502"))


def test_html_is_bad_reply(server: Server) -> None:
    """A 200 HTML page raises BadReply saying it was HTML."""
    error = failure(server, Reply(200, "<html><body>Log in to the hotel Wi-Fi</body></html>"), BadReply)
    assert str(error).endswith("returned HTML, not the usage JSON (HTTP 200, text/html)")


def test_hang_times_out_quickly(server: Server) -> None:
    """A server that does not answer raises UnavailableError after the client's timeout."""
    started = time.monotonic()
    with pytest.raises(UnavailableError) as info:
        fetch(server, Reply(200, load_fixture("max-typical"), delay=3), timeout_s=0.5)
    elapsed = time.monotonic() - started
    assert (True, True) == (str(info.value).startswith("timed out after 0.5 s talking to"), elapsed < 2.0)


class DripServer:
    """A raw server on 127.0.0.1: headers promising 100000 bytes, then one byte every `every_s`.

    It gives up after `for_s` seconds (closing the connection), so that a client without an overall
    deadline fails this test instead of hanging it.
    """

    def __init__(self, *, every_s: float = 0.1, for_s: float = 5.0) -> None:
        self.every_s = every_s
        self.for_s = for_s
        self.stop = threading.Event()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.listener.settimeout(for_s)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def serve(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(self.for_s)
            try:
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    request += chunk
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
                give_up = time.monotonic() + self.for_s
                while time.monotonic() < give_up and not self.stop.wait(self.every_s):
                    conn.sendall(b" ")
            except OSError:
                return

    def __enter__(self) -> DripServer:
        self.thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop.set()
        self.thread.join(timeout=self.for_s + 1)
        self.listener.close()


def test_dripping_body_times_out_quickly() -> None:
    """A body dripping in a byte at a time still ends the fetch once the client's timeout is spent."""
    with DripServer() as drip, UsageClient(drip.url, user_agent=UA, timeout_s=0.5) as client:
        started = time.monotonic()
        with pytest.raises(UnavailableError) as info:
            client.fetch(Secret(TOKEN))
        elapsed = time.monotonic() - started
    expected = f"timed out after 0.5 s talking to {drip.url}/api/oauth/usage"
    assert (expected, True) == (str(info.value), elapsed < 1.5)


class HeaderDripServer:
    """A raw server on 127.0.0.1 over one keep-alive connection: `good` proper replies, then for the next
    request a status line and one header byte every `every_s`, until the test ends."""

    def __init__(self, *, good: int = 0, every_s: float = 0.1) -> None:
        self.good = good
        self.every_s = every_s
        self.stop = threading.Event()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.listener.settimeout(5)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = 0
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def serve(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        self.connections += 1
        with conn:
            conn.settimeout(5)
            try:
                for served in range(self.good + 1):
                    request = b""
                    while b"\r\n\r\n" not in request:
                        chunk = conn.recv(4096)
                        if not chunk:
                            return
                        request += chunk
                    if served < self.good:
                        body = json.dumps(load_fixture("max-typical")).encode()
                        head = (
                            f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                        )
                        conn.sendall(head.encode() + body)
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                while not self.stop.wait(self.every_s):
                    conn.sendall(b"X")
            except OSError:
                return

    def __enter__(self) -> HeaderDripServer:
        self.thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop.set()
        self.thread.join(timeout=6)
        self.listener.close()


def request_workers_ended(within_s: float) -> bool:
    """Whether every request worker thread has ended (polled for up to `within_s` seconds)."""
    deadline = time.monotonic() + within_s
    while any(t.name == "claude-usage-request" for t in threading.enumerate()):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def test_dripping_headers_time_out_quickly() -> None:
    """Headers that never end still end the fetch once the client's timeout is spent."""
    with HeaderDripServer() as drip, UsageClient(drip.url, user_agent=UA, timeout_s=0.5) as client:
        started = time.monotonic()
        with pytest.raises(UnavailableError) as info:
            client.fetch(Secret(TOKEN))
        elapsed = time.monotonic() - started
    expected = f"timed out after 0.5 s talking to {drip.url}/api/oauth/usage"
    assert (expected, True) == (str(info.value), elapsed < 1.5)


def test_timed_out_request_leaves_no_worker() -> None:
    """A request given up at its deadline has its socket shut down, so its worker thread ends too."""
    with HeaderDripServer() as drip, UsageClient(drip.url, user_agent=UA, timeout_s=0.5) as client:
        with pytest.raises(UnavailableError):
            client.fetch(Secret(TOKEN))
        assert request_workers_ended(within_s=1.0)


def test_reused_connection_times_out_quickly() -> None:
    """A keep-alive connection that starts dripping on its second request is given up on in time too."""
    with HeaderDripServer(good=1) as drip, UsageClient(drip.url, user_agent=UA, timeout_s=0.5) as client:
        client.fetch(Secret(TOKEN))
        started = time.monotonic()
        with pytest.raises(UnavailableError):
            client.fetch(Secret(TOKEN))
        elapsed = time.monotonic() - started
        ended = request_workers_ended(within_s=1.0)
    assert (1, True, True) == (drip.connections, elapsed < 1.5, ended)


def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_closed_port_is_unavailable() -> None:
    """Nothing listening on the port raises UnavailableError saying it cannot reach the URL."""
    url = closed_port_url()
    with pytest.raises(UnavailableError) as info, UsageClient(url, user_agent=UA) as client:
        client.fetch(Secret(TOKEN))
    assert str(info.value).startswith(f"cannot reach {url}/api/oauth/usage: ")


def test_loopback_bypasses_proxy(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy from the environment is not used for a loopback stand-in."""
    monkeypatch.setenv("HTTP_PROXY", closed_port_url())
    reply = load_fixture("max-typical")
    assert reply == fetch(server, Reply(200, reply))


class PortRecorder(httpx.BaseTransport):
    """A real HTTP transport that records the local port of the connection each reply came over."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.ports: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        stream = response.extensions["network_stream"]
        self.ports.append(stream.get_extra_info("client_addr")[1])
        return response

    def close(self) -> None:
        self.inner.close()


def test_keep_alive_reuses_connection(server: Server) -> None:
    """Two fetches with one client travel over one connection."""
    standin = server.answer(Reply(200, load_fixture("max-typical")))
    transport = PortRecorder()
    with UsageClient(standin.url, user_agent=UA, transport=transport) as client:
        client.fetch(Secret(TOKEN))
        client.fetch(Secret(TOKEN))
    assert (2, 1) == (len(standin.requests), len(set(transport.ports)))


def failing_replies() -> Iterator[Reply]:
    yield Reply(401, load_fixture("error-401-expired"))
    yield Reply(401, {"error": {"type": "authentication_error", "message": f"bad bearer {TOKEN}"}})
    yield Reply(403, load_fixture("error-403-scope"))
    yield Reply(429, load_fixture("error-429"), headers={"Retry-After": "5"})
    yield Reply(200, load_fixture("error-429"))
    yield Reply(200, {"error": {"type": "api_error", "message": f"echo: Bearer {TOKEN}"}})
    yield Reply(404, {"error": {"type": "not_found_error", "message": f"no token {TOKEN}"}})
    yield Reply(503, f"<html>{TOKEN}</html>")
    yield Reply(200, f"<html>{TOKEN}</html>")
    yield Reply(307, b"", headers={"Location": f"https://elsewhere.test/?t={TOKEN}"})


@pytest.mark.parametrize("reply", list(failing_replies()))
def test_token_in_no_error_message(server: Server, reply: Reply) -> None:
    """No error message carries the token, even when the server echoes it."""
    assert TOKEN not in str(failure(server, reply))


def test_client_keeps_the_servers_date(standin: StandIn) -> None:
    """After a reply, the client holds the server's `Date` (doctor compares our clock with it)."""
    with UsageClient(standin.url, user_agent=UA) as client:
        client.fetch(Secret("sk-ant-oat01-" + "x" * 40))
        found = client.last_reply_date
    now = datetime.now(timezone.utc)
    assert (True, True) == (found is not None, found is not None and abs((now - found).total_seconds()) < 60)
