"""The service's rules on a fake clock: retries and back-off, Retry-After, 403 fallback, rejected tokens.

Also the suite's own guard (tests/conftest.py) that keeps every test, and what it runs, out of the real home.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from claude_usage.adapters import paths
from claude_usage.errors import RateLimited, TokenRejected, UnavailableError
from claude_usage.service.fetch import UsageService
from tests.conftest import REAL_HOME, HomeGuard, RealHomeTouched, fresh_fixture
from tests.support.fakes import FakeClock, FakeCredentials, ScriptedClient

REPLY = fresh_fixture("max-typical")


def _service(client: ScriptedClient, creds: FakeCredentials | None = None) -> tuple[UsageService, FakeClock]:
    clock = FakeClock()
    return UsageService(client=client, credentials=creds or FakeCredentials(), clock=clock), clock


def _limited(retry_after_s: float | None) -> RateLimited:
    return RateLimited("rate limited", retry_at=None, retry_after_s=retry_after_s)


def test_transient_failure_is_retried_after_a_backoff() -> None:
    """A 503 then a good reply gives the reading after one back-off sleep of 0.5-1 s."""
    client = ScriptedClient(UnavailableError("HTTP 503"), REPLY)
    service, clock = _service(client)
    reading = service.fetch_with_retries(wait_s=30, jitter=lambda: 0.5)
    assert 2 == len(client.sent)
    assert [0.75] == clock.slept
    assert 78.0 == reading.usage.windows[0].utilization


def test_backoff_doubles_and_gives_up_within_the_wait() -> None:
    """Persistent failures back off 1, 2, 4 s (jitter at its top) and stop before the wait is spent."""
    client = ScriptedClient(UnavailableError("HTTP 503"))
    service, clock = _service(client)
    with pytest.raises(UnavailableError, match="gave up after 4 tries"):
        service.fetch_with_retries(wait_s=10, jitter=lambda: 1.0)
    assert [1.0, 2.0, 4.0] == clock.slept


def test_sub_second_retry_after_is_not_a_tight_loop() -> None:
    """A 429 with Retry-After below a second stops at once: one request."""
    client = ScriptedClient(_limited(0.01))
    service, clock = _service(client)
    with pytest.raises(RateLimited, match="try again after"):
        service.fetch_with_retries(wait_s=30)
    assert (1, []) == (len(client.sent), clock.slept)


def test_a_short_retry_after_is_waited_out_once() -> None:
    """A 429 with Retry-After: 2 is slept through once; a second 429 stops."""
    client = ScriptedClient(_limited(2), _limited(2))
    service, clock = _service(client)
    with pytest.raises(RateLimited):
        service.fetch_with_retries(wait_s=30)
    assert (2, [2]) == (len(client.sent), clock.slept)


def test_a_long_retry_after_stops_at_once_and_says_when() -> None:
    """A Retry-After longer than the wait is not slept through; the message says when to try."""
    client = ScriptedClient(_limited(120))
    service, clock = _service(client)
    with pytest.raises(RateLimited, match=r"in 2m; 120 s"):
        service.fetch_with_retries(wait_s=30)
    assert [] == clock.slept


def test_env_token_refused_with_403_falls_back_to_the_stored_login() -> None:
    """A 403 for CLAUDE_CODE_OAUTH_TOKEN is followed by one request with the stored login, and a note says why."""
    client = ScriptedClient(TokenRejected("403 scope", status=403), REPLY)
    creds = FakeCredentials(env="env-token")
    service, _ = _service(client, creds)
    service.fetch()
    assert ["env-token", "stored-token"] == client.sent
    assert any("CLAUDE_CODE_OAUTH_TOKEN" in note for note in service.notes)


def test_rejected_token_is_never_sent_again() -> None:
    """After a 401 the same token raises at once without a request, until the store holds a new one."""
    creds = FakeCredentials()
    client = ScriptedClient(TokenRejected("401 expired", status=401), REPLY)
    service, _ = _service(client, creds)
    with pytest.raises(TokenRejected, match="401 expired"):
        service.fetch()
    for _ in range(3):
        with pytest.raises(TokenRejected, match="waiting for Claude Code"):
            service.fetch()
    assert 1 == len(client.sent)
    creds.stored = "refreshed-token"
    service.fetch()
    assert ["stored-token", "refreshed-token"] == client.sent


def test_rejected_env_token_says_to_set_a_new_one() -> None:
    """A rejected CLAUDE_CODE_OAUTH_TOKEN asks for a new variable, not for Claude Code to refresh it."""
    creds = FakeCredentials(env="env-token", stored=None)
    client = ScriptedClient(TokenRejected("401 invalid", status=401))
    service, _ = _service(client, creds)
    with pytest.raises(TokenRejected):
        service.fetch()
    with pytest.raises(TokenRejected, match="set a new CLAUDE_CODE_OAUTH_TOKEN") as excinfo:
        service.fetch()
    assert 401 == excinfo.value.status


# -- the home guard (tests/conftest.py) -----------------------------------------------------------------


def test_the_home_guard_fails_path_home_on_the_real_home(
    monkeypatch: pytest.MonkeyPatch, home_guard: HomeGuard
) -> None:
    """With the real HOME restored, Path.home() raises RealHomeTouched."""
    monkeypatch.setenv("HOME", REAL_HOME)
    with pytest.raises(RealHomeTouched, match=r"Path\.home\(\)"):
        Path.home()
    home_guard.hits.clear()  # touched on purpose


def test_the_home_guard_fails_expanduser_on_the_real_home(
    monkeypatch: pytest.MonkeyPatch, home_guard: HomeGuard
) -> None:
    """With HOME unset (the password file's home), a `~` path raises RealHomeTouched."""
    monkeypatch.delenv("HOME")
    with pytest.raises(RealHomeTouched, match="expanduser"):
        paths.config_dir({})
    home_guard.hits.clear()  # touched on purpose


def test_the_home_guard_catches_a_swallowed_touch(monkeypatch: pytest.MonkeyPatch, home_guard: HomeGuard) -> None:
    """A RealHomeTouched the code under test caught still fails the test when it ends."""
    monkeypatch.setenv("HOME", REAL_HOME)
    with contextlib.suppress(Exception):  # what a broad `except` in the code under test would do
        Path("~/.claude").expanduser()
    with pytest.raises(RealHomeTouched, match="caught"):
        home_guard.check_untouched()


def test_the_home_guard_refuses_a_subprocess_with_the_real_home(
    monkeypatch: pytest.MonkeyPatch, home_guard: HomeGuard
) -> None:
    """A subprocess that would inherit the real HOME is refused before it starts."""
    monkeypatch.setenv("HOME", REAL_HOME)
    with pytest.raises(RealHomeTouched, match="subprocess"):
        subprocess.run([sys.executable, "-c", "pass"], check=True)
    home_guard.hits.clear()  # touched on purpose


def test_the_isolated_home_passes_the_guard(home: Path) -> None:
    """Under the `home` fixture, Path.home() is the temp home."""
    assert home == Path.home()


def test_a_subprocess_gets_the_isolated_home(home: Path) -> None:
    """A subprocess resolves its home from the environment: the `home` fixture's."""
    probe = "import pathlib; print(pathlib.Path.home())"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert os.fspath(home) == out.stdout.strip()
