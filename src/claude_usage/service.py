"""Wires the adapters to the core's decisions: one reading, a one-shot with retries, the live poller.

Owns the rules of talking to the endpoint: never send a token that was answered 401/403 again (wait
for the credentials store to hold a new one), fall back from a scope-less `CLAUDE_CODE_OAUTH_TOKEN` to
the stored login after a 403, retry transient failures only within a bounded time, honour Retry-After,
cool down after a 429. Imports no Rich; httpx only through `adapters.api`.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from claude_usage.core import budget
from claude_usage.core.fmt import clock_time, duration
from claude_usage.core.model import Reading
from claude_usage.core.wire import parse_usage
from claude_usage.errors import (
    AuthError,
    BadReply,
    RateLimited,
    TokenRejected,
    UnavailableError,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import tzinfo

    from claude_usage.adapters.credentials import Credentials, Secret
    from claude_usage.clock import Clock

ONE_SHOT_WAIT_S = 30.0
_RETRY_FIRST_S = 1.0
_RETRY_MAX_S = 8.0


class CredentialSource(Protocol):
    def read(self, *, skip_env_token: bool = False, skip_reason: str | None = None) -> Credentials: ...

    def invalidate(self) -> None:
        """Forget any in-memory copy (the macOS Keychain's) after the endpoint rejected it."""


class UsageFetcher(Protocol):
    base_url: str
    timeout_s: float

    def fetch(self, token: Secret) -> dict[str, object]: ...


class UsageService:
    """One reading at a time: credentials, then one request, then the parsed model."""

    def __init__(
        self,
        *,
        client: UsageFetcher,
        credentials: CredentialSource,
        clock: Clock,
        source: str = "api",
    ) -> None:
        self.client = client
        self.credentials = credentials
        self.clock = clock
        self.source = source
        self.notes: tuple[str, ...] = ()
        self.plan: str | None = None
        self._rejected: dict[str, str] = {}  # token fingerprint -> why it was rejected
        self._skip_env_reason: str | None = None

    def current_credentials(self) -> Credentials:
        """The credentials to use now; raises AuthError, sending nothing, when none are usable."""
        creds = self.credentials.read(
            skip_env_token=self._skip_env_reason is not None, skip_reason=self._skip_env_reason
        )
        self.notes = creds.notes
        self.plan = creds.plan
        why = self._rejected.get(creds.token.fingerprint)
        if why is not None:
            raise TokenRejected(
                f"{why}; waiting for Claude Code to refresh the login in {creds.source}", status=401
            )
        return creds

    def fetch(self) -> Reading:
        """One attempt: credentials, one request, the parsed reading."""
        creds = self.current_credentials()
        try:
            raw = self.client.fetch(creds.token)
        except TokenRejected as exc:
            if exc.status == 403 and creds.from_env and self._skip_env_reason is None:
                self._skip_env_reason = (
                    "the usage endpoint refused CLAUDE_CODE_OAUTH_TOKEN (403: it lacks the user:profile "
                    "scope); using the stored login"
                )
                return self.fetch()
            self._rejected[creds.token.fingerprint] = str(exc)
            self.credentials.invalidate()
            raise
        now = self.clock.now()
        usage = parse_usage(raw, source=self.source, observed_at=now)
        return Reading(usage=usage, fetched_at=now, source=self.source, plan=creds.plan, raw=dict(raw))

    def fetch_with_retries(
        self, *, wait_s: float = ONE_SHOT_WAIT_S, jitter: Callable[[], float] = random.random
    ) -> Reading:
        """A one-shot reading: transient failures are retried with back-off and jitter within `wait_s`."""
        deadline = self.clock.monotonic() + wait_s
        failures = 0
        while True:
            try:
                return self.fetch()
            except RateLimited as exc:
                wait = exc.retry_after_s
                if wait and self.clock.monotonic() + wait + self.client.timeout_s <= deadline:
                    self.clock.sleep(wait)
                    continue
                raise RateLimited(
                    self._rate_limited_message(exc.retry_after_s),
                    retry_at=exc.retry_at,
                    retry_after_s=exc.retry_after_s,
                ) from exc
            except BadReply:
                raise
            except UnavailableError as exc:
                failures += 1
                delay = min(_RETRY_MAX_S, _RETRY_FIRST_S * 2 ** (failures - 1)) * (0.5 + jitter() / 2)
                if self.clock.monotonic() + delay >= deadline:
                    tries = "1 try" if failures == 1 else f"{failures} tries"
                    raise UnavailableError(f"{exc} (gave up after {tries})") from exc
                self.clock.sleep(delay)

    def _rate_limited_message(self, retry_after_s: float | None) -> str:
        wait = retry_after_s if retry_after_s else budget.COOLDOWN_DEFAULT_S
        at = self.clock.now() + timedelta(seconds=wait)
        local = at.astimezone()
        return (
            f"rate limited by {self.client.base_url}; try again after {local:%H:%M:%S} "
            f"(in {duration(wait)}; {int(wait)} s)"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PollView:
    """What the dashboard shows about polling at one instant (replaced whole, never mutated)."""

    reading: Reading | None = None
    problem: str | None = None
    problem_kind: str | None = None  # "auth", "rate_limited", "unavailable"
    next_due: datetime | None = None
    cooling_until: datetime | None = None
    in_flight: bool = False
    notes: tuple[str, ...] = ()
    plan: str | None = None


class Poller:
    """The live dashboard's polling: one request per interval, cooling down after a 429, never dying.

    Thread-safe: a worker thread calls `run_due()`, the UI thread reads `view` and calls `ask_now()`.
    """

    def __init__(self, service: UsageService, *, interval_s: float, min_spacing_s: float) -> None:
        self.service = service
        self.clock = service.clock
        self.interval_s = interval_s
        self.min_spacing_s = min_spacing_s
        self._state = budget.PollState()
        self._lock = threading.Lock()
        self.view = PollView()

    def due(self) -> bool:
        with self._lock:
            return self._state.due(self.clock.now())

    def seconds_until_due(self) -> float:
        with self._lock:
            if self._state.next_due is None:
                return 0.0
            return max(0.0, (self._state.next_due - self.clock.now()).total_seconds())

    def ask_now(self) -> None:
        """`r`: a reading now, unless cooling down or the last request is closer than the spacing."""
        with self._lock:
            self._state = self._state.asked_now(self.clock.now(), self.min_spacing_s)
            self.view = replace(self.view, next_due=self._state.next_due)

    def run_due(self) -> None:
        """Poll once if a poll is due; record the outcome in `view`."""
        if not self.due():
            return
        self._set_view(in_flight=True)
        try:
            reading = self.service.fetch()
        except RateLimited as exc:
            retry_after_s = exc.retry_after_s
            self._after(lambda s, now: s.after_rate_limit(now, retry_after_s), "rate_limited", str(exc))
        except AuthError as exc:
            self._after(lambda s, now: s.after_auth_wait(now, self.interval_s), "auth", str(exc))
        except UnavailableError as exc:
            self._after(lambda s, now: s.after_failure(now, self.interval_s), "unavailable", str(exc))
        else:
            with self._lock:
                self._state = self._state.after_success(self.clock.now(), self.interval_s)
                self.view = PollView(
                    reading=reading,
                    next_due=self._state.next_due,
                    notes=self.service.notes,
                    plan=self.service.plan or reading.plan,
                )

    def _after(
        self, transition: Callable[[budget.PollState, datetime], budget.PollState], kind: str, message: str
    ) -> None:
        with self._lock:
            self._state = transition(self._state, self.clock.now())
            self.view = replace(
                self.view,
                problem=message,
                problem_kind=kind,
                next_due=self._state.next_due,
                cooling_until=self._state.cooldown_until
                if self._state.cooling_down(self.clock.now())
                else None,
                in_flight=False,
                notes=self.service.notes,
                plan=self.service.plan or self.view.plan,
            )

    def _set_view(self, **changes: object) -> None:
        with self._lock:
            self.view = replace(self.view, **changes)  # type: ignore[arg-type]


def reading_age_text(reading: Reading, now: datetime, tz: tzinfo) -> str:
    """`11:32:07, 2m ago`: when a reading was taken, for stale markers."""
    seconds = (now - reading.fetched_at).total_seconds()
    return f"{clock_time(reading.fetched_at, now, tz)}, {duration(max(0.0, seconds))} ago"
