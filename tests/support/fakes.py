"""In-process fakes for the service's collaborators: a clock whose sleep advances time, a scripted client,
fixed logins, a history that counts its writes, and a real `Reader` wired to them over a real store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from claude_usage.adapters.credentials import Credentials, Secret
from claude_usage.adapters.history import History, Observation
from claude_usage.adapters.store import Store
from claude_usage.service.fetch import UsageService
from claude_usage.service.reader import Reader

# The account key of FakeCredentials' stored login (its account id is "acct-1:org-1").
ACCOUNT_KEY = "a-acct-1_org-1"
ACCOUNT_UUID = "acct-1"


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


class CountingHistory(History):
    """A real History that also keeps every batch `record` was given (open it with `CountingHistory.open`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batches: list[list[Observation]] = []

    @classmethod
    def open(cls, path: Path, **kwargs: Any) -> CountingHistory:
        history = super().open(path, **kwargs)
        assert isinstance(history, CountingHistory)
        return history

    def record(self, observations: Iterable[Observation]) -> int:
        batch = list(observations)
        self.batches.append(batch)
        return super().record(batch)


def build_reader(
    store: Store,
    clock: FakeClock,
    client: ScriptedClient,
    *,
    credentials: FakeCredentials | None = None,
    env: Mapping[str, str] | None = None,
    **options: Any,
) -> Reader:
    """A real Reader over `store` (FakeCredentials' stored login unless told otherwise); `options` go to Reader."""
    service = UsageService(client=client, credentials=credentials or FakeCredentials(), clock=clock)
    return Reader(service, store, env=env or {}, **options)
