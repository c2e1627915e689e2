"""One request for an account's usage, with the rules of talking to the endpoint.

Never send a token that was answered 401/403 again (wait for the credentials store to hold a new one), fall
back from a scope-less `CLAUDE_CODE_OAUTH_TOKEN` to the stored login after a 403, retry transient failures
only a bounded number of times within a bounded time, honour one short Retry-After, say when a 429 lifts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from claude_usage.core import budget
from claude_usage.core.fmt import duration
from claude_usage.core.model import Reading
from claude_usage.errors import BadReply, RateLimited, TokenRejected, UnavailableError

if TYPE_CHECKING:
    from collections.abc import Callable

    from claude_usage.adapters.credentials import Credentials, Secret
    from claude_usage.clock import Clock

ONE_SHOT_WAIT_S = 30.0
MAX_ATTEMPTS = 4  # requests a one-shot sends at most against a failing endpoint: each counts against the limit
_RETRY_FIRST_S = 1.0
_RETRY_MAX_S = 8.0


def rate_limited_text(base_url: str, until: datetime, now: datetime) -> str:
    """`rate limited by URL; try again after 14:07:30 (in 4m 10s; 250 s)`: local time and seconds."""
    wait = max(0.0, (until - now).total_seconds())
    local = until.astimezone()
    return f"rate limited by {base_url}; try again after {local:%H:%M:%S} (in {duration(wait)}; {round(wait)} s)"


class CredentialSource(Protocol):
    def read(self, *, skip_env_token: bool = False, skip_reason: str | None = None) -> Credentials: ...

    def reject(self, fingerprint: str) -> None:
        """The endpoint rejected this token: never serve an in-memory copy of it again (the Keychain's)."""


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
        self._rejected: dict[str, tuple[str, int]] = {}  # token fingerprint -> (why it was rejected, status)
        self._skip_env_reason: str | None = None

    def current_credentials(self) -> Credentials:
        """The credentials to use now; raises AuthError, sending nothing, when none are usable."""
        creds = self.credentials.read(
            skip_env_token=self._skip_env_reason is not None, skip_reason=self._skip_env_reason
        )
        self.notes = creds.notes
        self.plan = creds.plan
        rejected = self._rejected.get(creds.token.fingerprint)
        if rejected is not None:
            why, status = rejected
            self.credentials.reject(creds.token.fingerprint)
            if creds.from_env:
                raise TokenRejected(
                    f"{why}; set a new CLAUDE_CODE_OAUTH_TOKEN (or unset it to use the login)", status=status
                )
            raise TokenRejected(f"{why}; waiting for Claude Code to refresh the login in {creds.source}", status=status)
        return creds

    def fetch(self, creds: Credentials | None = None) -> Reading:
        """One attempt: credentials (read now unless the caller just did), one request, the parsed reading."""
        if creds is None:
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
            self._rejected[creds.token.fingerprint] = (str(exc), exc.status)
            self.credentials.reject(creds.token.fingerprint)
            raise
        from claude_usage.core.wire import parse_usage  # only when a reply came: the store path never parses one

        now = self.clock.now()
        usage = parse_usage(raw, source=self.source, observed_at=now)
        return Reading(usage=usage, fetched_at=now, source=self.source, plan=creds.plan, raw=dict(raw))

    def fetch_with_retries(
        self,
        *,
        wait_s: float = ONE_SHOT_WAIT_S,
        jitter: Callable[[], float] | None = None,
        on_retry: Callable[[], None] | None = None,
        creds: Credentials | None = None,
    ) -> Reading:
        """A one-shot reading: transient failures are retried with back-off and jitter, at most
        `MAX_ATTEMPTS` requests in all, within `wait_s`.

        `creds` serve the first attempt; retries read the store again (Claude Code may have refreshed it).
        """
        if jitter is None:
            import random  # only a one-shot that retries needs it

            jitter = random.random
        deadline = self.clock.monotonic() + wait_s
        failures = 0
        waited_out_429 = False
        while True:
            try:
                first, creds = creds, None
                return self.fetch(first)
            except RateLimited as exc:
                wait = exc.retry_after_s
                # One short Retry-After (at least a second: never a tight loop) is waited out; not two.
                short = (
                    wait is not None and wait >= 1 and self.clock.monotonic() + wait + self.client.timeout_s <= deadline
                )
                if short and wait is not None and not waited_out_429:
                    waited_out_429 = True
                    self.clock.sleep(wait)
                    if on_retry is not None:
                        on_retry()
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
                if failures >= MAX_ATTEMPTS or self.clock.monotonic() + delay >= deadline:
                    tries = "1 try" if failures == 1 else f"{failures} tries"
                    raise UnavailableError(f"{exc} (gave up after {tries})") from exc
                self.clock.sleep(delay)
                if on_retry is not None:
                    on_retry()  # every attempt counts against the shared spacing

    def _rate_limited_message(self, retry_after_s: float | None) -> str:
        now = self.clock.now()
        wait = retry_after_s if retry_after_s else budget.COOLDOWN_DEFAULT_S
        return rate_limited_text(self.client.base_url, now + timedelta(seconds=wait), now)
