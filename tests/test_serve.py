"""`claude-usage serve` as a real process against the loopback stand-in: what it serves, and how it stops."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from claude_usage.adapters.store import Store
from claude_usage.commands.serve import listen_warning
from claude_usage.standin import StandIn
from tests.support.cli import run_cli, write_credentials
from tests.support.serve import Served, wait_for

Labels = tuple[tuple[str, str], ...]


@pytest.fixture
def served(home: Path, standin: StandIn) -> Iterator[Served]:
    """serve polling the stand-in every 600 s (one request in the test's lifetime), once it has a reading."""
    write_credentials(home / ".claude")
    server = Served("--interval", "600", env={"CLAUDE_USAGE_API_URL": standin.url})
    try:
        wait_for(lambda: _document(server), what="the first reading")
        yield server
    finally:
        assert 0 == server.terminate()


def _document(server: Served) -> dict[str, Any] | None:
    status, _, body = server.get("/api/usage")
    found: dict[str, Any] = json.loads(body)
    return found if status == 200 and found.get("windows") else None


def _metrics(server: Served) -> dict[str, dict[Labels, float]]:
    status, headers, body = server.get("/metrics")
    assert (200, "text/plain; version=0.0.4; charset=utf-8") == (status, headers["content-type"])
    found: dict[str, dict[Labels, float]] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def _limit(key: str) -> Labels:
    return (("account", "default"), ("limit", key))


def test_the_metrics_equal_the_json_document(served: Served) -> None:
    """Over HTTP, each limit's numbers in /metrics are those of /api/usage (the --json document)."""
    metrics, document = _metrics(served), _document(served)
    assert document is not None
    now = datetime.now(timezone.utc)
    assert ["five_hour", "seven_day", "seven_day_sonnet"] == [w["key"] for w in document["windows"]]
    for window in document["windows"]:
        labels = _limit(window["key"])
        resets = datetime.fromisoformat(window["resets_at"])
        assert window["utilization"] / 100 == metrics["claude_usage_utilization_ratio"][labels]
        assert window["utilization"] == metrics["claude_usage_utilization_percent"][labels]
        assert resets.timestamp() == metrics["claude_usage_reset_timestamp_seconds"][labels]
        assert abs((resets - now).total_seconds() - metrics["claude_usage_reset_remaining_seconds"][labels]) < 5
        assert window["label"] == _info(metrics, window["key"])["label"]
    credits = (("account", "default"), ("currency", "USD"))
    extra = document["extra_usage"]
    assert (extra["used_credits"] / 100, extra["monthly_limit"] / 100) == (
        metrics["claude_usage_credits_used"][credits],
        metrics["claude_usage_credits_limit"][credits],
    )


def _info(metrics: dict[str, dict[Labels, float]], key: str) -> dict[str, str]:
    (found,) = [dict(labels) for labels in metrics["claude_usage_limit_info"] if ("limit", key) in labels]
    return found


def test_scrapes_send_no_request(served: Served, standin: StandIn) -> None:
    """Forty scrapes of every path later, the stand-in has still seen only the poller's one request."""
    for _ in range(10):
        for path in ("/metrics", "/api/usage", "/", "/nope"):
            served.get(path)
    metrics = _metrics(served)
    assert (1, 1.0) == (
        len(standin.usage_requests()),
        metrics["claude_usage_endpoint_requests_total"][(("account", "default"),)],
    )


def test_it_keeps_the_pollers_heartbeat(served: Served) -> None:
    """Like the dashboard, it promises in the shared store to poll at its interval (status lines trust it)."""
    document = _document(served)
    assert document is not None
    stored = Store(Path(served.stderr_path).parent / "data").read(document["account"])
    assert (served.proc.pid, 600) == (stored["poller"]["pid"], stored["poller"]["interval_s"])


def test_the_page_shows_each_limit(served: Served) -> None:
    """`/` is HTML with each limit's percent, under a strict Content-Security-Policy."""
    status, headers, body = served.get("/")
    page = body.decode()
    assert (200, "text/html; charset=utf-8") == (status, headers["content-type"])
    assert "default-src 'none'" in headers["content-security-policy"]
    for key, shown in (("five_hour", "78%"), ("seven_day", "41%"), ("seven_day_sonnet", "12%")):
        assert f'data-limit="{key}">{shown}<' in page


def test_bad_requests_never_stop_it(served: Served) -> None:
    """Unknown paths (404), huge headers (431), garbage and a client that stops mid-request: /metrics still answers."""
    port = int(served.url.rsplit(":", 1)[1])
    assert 404 == served.get("/admin")[0]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n")
        assert sock.recv(64).startswith(b"HTTP/1.1 431")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"\x16\x03\x01\x00\xff garbage\r\n\r\n")
        sock.recv(64)
    slow = socket.create_connection(("127.0.0.1", port), timeout=5)
    slow.sendall(b"GET /metrics HTTP/1.1\r\n")
    try:
        assert 200 == served.get("/metrics")[0]
    finally:
        slow.close()


def test_sigterm_exits_0_cleanly(home: Path, standin: StandIn) -> None:
    """SIGTERM while serving: exit 0, nothing but the start line on stderr."""
    write_credentials(home / ".claude")
    server = Served("--interval", "600", env={"CLAUDE_USAGE_API_URL": standin.url})
    wait_for(lambda: _document(server), what="the first reading")
    started = time.monotonic()
    assert 0 == server.terminate()
    assert time.monotonic() - started < 5
    assert ["serving"] == [line.split()[1] for line in server.stderr().splitlines()]


def test_a_token_file_guards_every_path(home: Path, standin: StandIn, tmp_path: Path) -> None:
    """With --token-file: every path is 401 without the token or with a wrong one, 200 with it."""
    write_credentials(home / ".claude")
    token_file = tmp_path / "token"
    token_file.write_text("scrape-me-0123\n")
    server = Served("--token-file", str(token_file), env={"CLAUDE_USAGE_API_URL": standin.url})
    try:
        for path in ("/metrics", "/api/usage", "/", "/nope"):
            assert 401 == server.get(path)[0], path
            assert 401 == server.get(path, {"Authorization": "Bearer scrape-me-0124"})[0], path
        assert 200 == server.get("/metrics", {"Authorization": "Bearer scrape-me-0123"})[0]
    finally:
        assert 0 == server.terminate()
    assert "scrape-me-0123" not in server.stderr()


def test_without_a_login_it_serves_the_error(home: Path, standin: StandIn) -> None:
    """Not logged in: /api/usage is 503 with NotLoggedIn (exit 3), /metrics says problem auth, nothing is sent."""
    server = Served(env={"CLAUDE_USAGE_API_URL": standin.url})
    try:
        status, _, body = wait_for(lambda: _answered(server), what="the first poll")
        metrics = _metrics(server)
    finally:
        assert 0 == server.terminate()
    error = json.loads(body)["error"]
    assert (503, "NotLoggedIn", 3) == (status, error["type"], error["exit_code"])
    assert 1.0 == metrics["claude_usage_problem"][(("account", "default"), ("kind", "auth"))]
    assert [] == standin.usage_requests()


def _answered(server: Served) -> tuple[int, dict[str, str], bytes] | None:
    found = server.get("/api/usage")
    return found if b"NotLoggedIn" in found[2] else None


def test_a_port_in_use_exits_4_before_any_request(home: Path, standin: StandIn) -> None:
    """Listening where something already listens: exit 4 naming the address, and no request was sent."""
    write_credentials(home / ".claude")
    port = int(standin.url.rsplit(":", 1)[1])
    result = run_cli("serve", "--listen", f"127.0.0.1:{port}", env={"CLAUDE_USAGE_API_URL": standin.url})
    assert (4, True) == (result.code, f"claude-usage: cannot listen on 127.0.0.1:{port}: " in result.stderr)
    assert [] == standin.usage_requests()


@pytest.mark.parametrize("listen", ["9464", "127.0.0.1:http", "[::1:9464"])
def test_a_bad_listen_address_exits_2(listen: str) -> None:
    """A --listen that is not HOST:PORT is a command-line error."""
    assert 2 == run_cli("serve", "--listen", listen).code


def test_listening_beyond_loopback_warns() -> None:
    """The warning names the address and, without a token, says who can read the numbers."""
    assert "anyone who can reach it" in listen_warning("0.0.0.0:9464", token=False)
    assert "must carry the token" in listen_warning("0.0.0.0:9464", token=True)
