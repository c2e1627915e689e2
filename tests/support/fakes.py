"""In-process fakes for the service's collaborators: a clock whose sleep advances time, a scripted client."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from claude_usage.adapters.credentials import Credentials, Secret


class FakeClock:
    """Wall and monotonic time that only move when told to (or when slept on)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.wall = start or datetime(2026, 11, 24, 12, 49, tzinfo=timezone.utc)
        self.mono = 1000.0
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.mono += seconds


Outcome = dict[str, Any] | Exception


class ScriptedClient:
    """A UsageFetcher answering from a list (the last answer repeats); records the tokens it was sent."""

    base_url = "https://usage.example.test"
    timeout_s = 5.0

    def __init__(self, *outcomes: Outcome, before: Callable[[], None] | None = None) -> None:
        self.outcomes = list(outcomes)
        self.sent: list[str] = []
        self.before = before

    def fetch(self, token: Secret) -> dict[str, object]:
        self.sent.append(token.reveal())
        if self.before is not None:
            self.before()
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


class FakeCredentials:
    """A CredentialSource serving fixed logins: the env token first unless skipped, then the stored one."""

    def __init__(self, *, stored: str | None = "stored-token", env: str | None = None) -> None:
        self.stored = stored
        self.env = env
        self.rejected: list[str] = []

    def read(self, *, skip_env_token: bool = False, skip_reason: str | None = None) -> Credentials:
        notes = (skip_reason,) if skip_env_token and skip_reason else ()
        if self.env is not None and not skip_env_token:
            return Credentials(
                token=Secret(self.env),
                expires_at=None,
                scopes=None,
                plan=None,
                source="env",
                account_id=None,
                from_env=True,
            )
        if self.stored is None:
            from claude_usage.errors import NotLoggedIn

            raise NotLoggedIn("not logged in")
        return Credentials(
            token=Secret(self.stored),
            expires_at=None,
            scopes=("user:profile",),
            plan="Max 5x",
            source="/home/x/.claude/.credentials.json",
            account_id="acct-1:org-1",
            notes=notes,
        )

    def reject(self, fingerprint: str) -> None:
        self.rejected.append(fingerprint)
