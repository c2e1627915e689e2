"""Wires the adapters to the core's decisions: one reading, a one-shot with retries, the live poller.

Owns the rules of talking to the endpoint: never send a token that was answered 401/403 again (wait
for the credentials store to hold a new one), fall back from a scope-less `CLAUDE_CODE_OAUTH_TOKEN` to
the stored login after a 403, retry transient failures only within a bounded time, honour Retry-After,
cool down after a 429. Imports no Rich; httpx only through `adapters.api`.
"""

from __future__ import annotations

import json
import os
import random
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from claude_usage.adapters import account
from claude_usage.core import budget, observe
from claude_usage.core.feed import take_pending
from claude_usage.core.fmt import duration
from claude_usage.core.model import Reading, Usage
from claude_usage.core.pace import ON_PACE_TOLERANCE_PCT
from claude_usage.core.shared import DEFAULT_SPACING_S, SharedBudget, with_poller
from claude_usage.core.times import iso_or_none
from claude_usage.core.wire import parse_usage
from claude_usage.errors import (
    AuthError,
    BadReply,
    ClaudeUsageError,
    RateLimited,
    TokenRejected,
    UnavailableError,
)
from claude_usage.insights import Insights
from claude_usage.insights import compute as compute_insights

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from claude_usage.adapters.claude_state import ClaudeState
    from claude_usage.adapters.credentials import Credentials, Secret
    from claude_usage.adapters.history import History, Observation
    from claude_usage.adapters.store import Store
    from claude_usage.clock import Clock

ONE_SHOT_WAIT_S = 30.0
IN_FLIGHT_S = 40.0  # a request recorded this recently without an answer yet is still on its way
INSIGHTS_EVERY_S = 30.0  # the dashboard recomputes pace and forecasts at least this often
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
        now = self.clock.now()
        usage = parse_usage(raw, source=self.source, observed_at=now)
        return Reading(usage=usage, fetched_at=now, source=self.source, plan=creds.plan, raw=dict(raw))

    def fetch_with_retries(
        self,
        *,
        wait_s: float = ONE_SHOT_WAIT_S,
        jitter: Callable[[], float] = random.random,
        on_retry: Callable[[], None] | None = None,
        creds: Credentials | None = None,
    ) -> Reading:
        """A one-shot reading: transient failures are retried with back-off and jitter within `wait_s`.

        `creds` serve the first attempt; retries read the store again (Claude Code may have refreshed it).
        """
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
                if self.clock.monotonic() + delay >= deadline:
                    tries = "1 try" if failures == 1 else f"{failures} tries"
                    raise UnavailableError(f"{exc} (gave up after {tries})") from exc
                self.clock.sleep(delay)
                if on_retry is not None:
                    on_retry()  # every attempt counts against the shared spacing

    def _rate_limited_message(self, retry_after_s: float | None) -> str:
        now = self.clock.now()
        wait = retry_after_s if retry_after_s else budget.COOLDOWN_DEFAULT_S
        return rate_limited_text(self.client.base_url, now + timedelta(seconds=wait), now)


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """What the store knows about an account at one instant, merged from every source."""

    account: str
    usage: Usage
    raw: dict[str, Any] | None = None
    source: str | None = None  # of the freshest whole reply ("api", "demo", "claude_cache"), else "statusline"
    fetched_at: datetime | None = None  # when that reply was observed (else the oldest number's time)
    whole_at: datetime | None = None  # when the freshest whole reply was observed; None: there is none
    plan: str | None = None
    budget: SharedBudget = field(default_factory=lambda: SharedBudget({}))
    requested: bool = False  # this call sent a request

    @property
    def empty(self) -> bool:
        """Nothing known at all (a whole reply with no active limits is not empty: it says so)."""
        return self.whole_at is None and not self.usage.windows and self.usage.extra_usage is None

    def oldest(self) -> datetime | None:
        return observe.oldest(self.usage)


class SharedReader:
    """Readings through the machine-wide store: free sources first, the endpoint within the shared budget.

    Every process files what it learns under one key per account; only one process asks the endpoint at a
    time (the store's request lock), no two requests for an account come closer than the spacing, and a
    429 cools every process down.
    """

    def __init__(
        self,
        service: UsageService,
        store: Store,
        *,
        env: Mapping[str, str],
        spacing_s: float = DEFAULT_SPACING_S,
        spacing_floor_s: float = budget.MIN_INTERVAL_REMOTE_S,
        claude_state: ClaudeState | None = None,
        fixed_account: str | None = None,
        history: History | None = None,
        pace_tolerance_pct: float = ON_PACE_TOLERANCE_PCT,
    ) -> None:
        self.service = service
        self.store = store
        self.env = env
        self.clock = service.clock
        self.spacing_s = spacing_s
        self.spacing_floor_s = spacing_floor_s
        self.claude_state = claude_state
        self.fixed_account = fixed_account
        self.history = history
        self.pace_tolerance_pct = pace_tolerance_pct
        self._recorded: dict[str, int] = {}  # account -> hash of the document last filed in the history
        self._account: tuple[str, str] | None = None  # (token fingerprint, key)
        self._account_uuid: str | None = None

    # -- which account ------------------------------------------------------------------------------

    def account(self, creds: Credentials | None) -> str:
        """The account key for these credentials (None: the last account this profile used)."""
        if self.fixed_account is not None:
            return self.fixed_account
        if creds is None:
            if self._account is not None:
                return self._account[1]
            return account.resolve(self.env, self.store, account_id=None, token_fingerprint=None)
        fingerprint = creds.token.fingerprint
        if self._account is not None and self._account[0] == fingerprint:
            return self._account[1]
        if creds.from_env:  # a setup-token may belong to any account: keyed by its own fingerprint
            key = "t-" + fingerprint
        else:
            key = account.resolve(self.env, self.store, account_id=creds.account_id, token_fingerprint=fingerprint)
        self._account = (fingerprint, key)
        uuid = creds.account_id.partition(":")[0] if creds.account_id else None
        self._account_uuid = uuid or _uuid_from_key(key)
        return key

    # -- reading without asking ---------------------------------------------------------------------

    def snapshot(self, key: str) -> Snapshot:
        """What is known now, from the store and Claude Code's own cache, without any request."""
        now = self.clock.now()
        doc = self._with_claude_cache(key, self.store.read(key))
        found = observe.usages(doc)
        self._file_history(key, doc, found)
        usage = observe.merge(found, now)
        best = observe.raw_reply(doc)
        return Snapshot(
            account=key,
            usage=usage,
            raw=best[0] if best else None,
            source=best[1] if best else ("statusline" if usage.windows else None),
            fetched_at=best[2] if best else observe.oldest(usage),
            whole_at=best[2] if best else None,
            plan=observe.plan(doc) or self.service.plan,
            budget=SharedBudget(doc),
        )

    def _file_history(self, key: str, doc: dict[str, Any], found: list[Usage]) -> None:
        """Every observation in the document goes to the history (unchanged values extend their row)."""
        if self.history is None:
            return
        stamp = hash(json.dumps(doc.get("sources"), sort_keys=True, default=str))
        if self._recorded.get(key) == stamp and not doc.get("pending"):
            return
        pending: list[dict[str, Any]] = []

        def drain(current: dict[str, Any]) -> dict[str, Any] | None:
            rest, taken = take_pending(current)
            pending.extend(taken)
            return rest

        if doc.get("pending"):
            try:
                self.store.update(key, drain)
            except UnavailableError:
                pending.clear()  # left for the next writer
        from claude_usage.adapters.history import Observation

        observations = [
            Observation(key, w.key, w.utilization, w.resets_at, w.source, w.observed_at)
            for usage in found
            for w in usage.windows
            if w.observed_at is not None
        ]
        observations += _pending_observations(key, pending)
        observations.sort(key=lambda o: o.observed_at)  # so an unchanged value extends one row
        try:
            self.history.record(observations)
        except ClaudeUsageError:
            return  # the history is a record, never a reason to fail a reading
        self._recorded[key] = stamp

    def insights(self, snapshot: Snapshot) -> Insights:
        """Pace, forecasts, trajectories and the binding limit for what a snapshot shows."""
        return compute_insights(
            snapshot.usage,
            account=snapshot.account,
            history=self.history,
            now=self.clock.now(),
            tolerance_pct=self.pace_tolerance_pct,
        )

    def _with_claude_cache(self, key: str, doc: dict[str, Any]) -> dict[str, Any]:
        """Record Claude Code's cached reply for this account when it is newer than the one we hold."""
        if self.claude_state is None or self._account_uuid is None:
            return doc
        cached = self.claude_state.cached_usage(self._account_uuid)
        if cached is None:
            return doc
        raw, fetched_at = cached
        held = doc.get("sources", {}).get("claude_cache") if isinstance(doc.get("sources"), dict) else None
        if isinstance(held, dict) and held.get("observed_at") == fetched_at.isoformat():
            return doc

        def change(current: dict[str, Any]) -> dict[str, Any]:
            return observe.record_reading(current, source="claude_cache", raw=raw, plan=None, observed_at=fetched_at)

        try:
            return self.store.update(key, change)
        except UnavailableError:
            return change(doc)

    # -- asking, within the budget ------------------------------------------------------------------

    def read(
        self,
        max_age_s: float,
        *,
        is_poller: bool = False,
        one_shot: bool = False,
        wait_s: float = ONE_SHOT_WAIT_S,
        lock_wait_s: float = 8.0,
    ) -> Snapshot:
        """The freshest reading: from the store when young enough or when the budget says wait, else asked.

        Raises what the request raised (AuthError, UnavailableError) when one was sent and failed; credentials
        that are missing, expired or rejected raise before anything is sent.
        """
        creds = self.service.current_credentials()
        key = self.account(creds)
        known = self.snapshot(key)
        if not self._wants(known, max_age_s, is_poller):
            return known
        if self._held_back(known):
            if not self._asking_now(known):
                return known
            with self.store.request_lock(key, wait_s=lock_wait_s):
                return self.snapshot(key)  # the asker has answered (or given up): use what it wrote
        with self.store.request_lock(key, wait_s=lock_wait_s) as mine:
            if not mine:  # another process is asking right now: use what it wrote
                return self.snapshot(key)
            known = self.snapshot(key)  # re-check: it may have just been written
            if not self._wants(known, max_age_s, is_poller) or self._held_back(known):
                return known
            self._note_request(key)
            try:
                if one_shot:
                    reading = self.service.fetch_with_retries(
                        wait_s=wait_s, on_retry=lambda: self._note_request(key), creds=creds
                    )
                else:
                    reading = self.service.fetch(creds)  # the credentials read above: not twice per poll
            except RateLimited as exc:
                until = self._note_rate_limit(key, exc.retry_after_s)
                stored = self.snapshot(key)
                if not stored.empty and one_shot:
                    self.service.notes = (
                        *self.service.notes,
                        f"{self._rate_limited_text(until)}; showing the stored reading",
                    )
                    return stored
                raise RateLimited(
                    self._rate_limited_text(until), retry_at=until, retry_after_s=exc.retry_after_s
                ) from exc
            self._note_reading(key, reading)
        return replace(self.snapshot(key), requested=True)

    def _rate_limited_text(self, until: datetime) -> str:
        return rate_limited_text(self.service.client.base_url, until, self.clock.now())

    def _wants(self, known: Snapshot, max_age_s: float, is_poller: bool) -> bool:
        """Some number shown is too old or unconfirmed, or no whole reply is young enough.

        Only a whole reply says which windows the account has (a Sonnet week, usage credits): fresh
        status-line numbers for the session and the week do not make an old or missing reply current.
        """
        now = self.clock.now()
        allowed_age = known.budget.effective_max_age(max_age_s, now, is_poller=is_poller)
        if known.whole_at is None or (now - known.whole_at).total_seconds() > allowed_age:
            return True
        return observe.needs_refresh(known.usage, now, allowed_age)

    def _asking_now(self, known: Snapshot) -> bool:
        """Whether another process sent a request moments ago and has not written its answer yet."""
        sent = known.budget.last_request_at
        if sent is None:
            return False
        answered = known.fetched_at is not None and known.fetched_at >= sent
        return not answered and (self.clock.now() - sent).total_seconds() < IN_FLIGHT_S

    def _held_back(self, known: Snapshot) -> bool:
        return known.budget.next_allowed(self.clock.now(), self.spacing_s) is not None

    def next_allowed(self, known: Snapshot) -> datetime | None:
        """When this process may next ask the endpoint for this account; None means now."""
        return known.budget.next_allowed(self.clock.now(), self.spacing_s)

    def _note_request(self, key: str) -> None:
        now = self.clock.now()

        def change(doc: dict[str, Any]) -> dict[str, Any]:
            budget = SharedBudget(doc)
            budget.record_request(now)
            return budget.write(doc)

        self.store.update(key, change)

    def _note_rate_limit(self, key: str, retry_after_s: float | None) -> datetime:
        """Start (or extend) the account's shared cooldown; returns when it ends."""
        now = self.clock.now()
        until = now

        def change(doc: dict[str, Any]) -> dict[str, Any]:
            nonlocal until
            budget = SharedBudget(doc)
            until = budget.record_rate_limit(now, retry_after_s)
            return budget.write(doc)

        self.store.update(key, change)
        return until

    def _note_reading(self, key: str, reading: Reading) -> None:
        def change(doc: dict[str, Any]) -> dict[str, Any]:
            doc = observe.record_reading(
                doc, source=reading.source, raw=reading.raw, plan=reading.plan, observed_at=reading.fetched_at
            )
            budget = SharedBudget(doc)
            budget.record_success()
            return budget.write(doc)

        self.store.update(key, change)

    def store_stamp(self, key: str) -> tuple[int, int] | None:
        """A cheap "changed?" token for the account's document."""
        try:
            return self.store.stamp(key)
        except UnavailableError:
            return None

    def heartbeat(self, key: str, interval_s: float) -> None:
        """A live dashboard promises to poll this account every `interval_s` seconds."""
        now = self.clock.now()
        try:
            self.store.update(key, lambda doc: with_poller(doc, pid=os.getpid(), interval_s=interval_s, now=now))
        except UnavailableError:
            return  # a missed heartbeat only means others may ask a little sooner


def _pending_observations(account: str, pending: list[dict[str, Any]]) -> list[Observation]:
    """Status-line values queued in the store: each is seen at its first and at its last sighting."""
    from claude_usage.adapters.history import Observation

    found: list[Observation] = []
    for entry in pending:
        value = entry.get("utilization")
        key = entry.get("key")
        resets_at = iso_or_none(entry.get("resets_at"))
        first, last = iso_or_none(entry.get("first_seen_at")), iso_or_none(entry.get("observed_at"))
        if not isinstance(key, str) or isinstance(value, bool) or not isinstance(value, (int, float)) or last is None:
            continue
        for when in dict.fromkeys(t for t in (first, last) if t is not None):
            found.append(Observation(account, key, float(value), resets_at, "statusline", when))
    return found


def _uuid_from_key(key: str) -> str | None:
    if not key.startswith("a-"):
        return None
    return key[2:].partition("_")[0] or None


@dataclass(frozen=True, slots=True, kw_only=True)
class PollView:
    """What the dashboard shows about polling at one instant (replaced whole, never mutated)."""

    snapshot: Snapshot | None = None
    problem: str | None = None
    problem_kind: str | None = None  # "auth", "rate_limited", "unavailable"
    next_due: datetime | None = None
    in_flight: bool = False
    notes: tuple[str, ...] = ()
    plan: str | None = None
    insights: Insights | None = None


class Poller:
    """The live dashboard's polling: at most one request per interval, never dying.

    Thread-safe: a worker thread calls `run_due()`; the UI thread calls `watch_store()` once a second (to pick
    up what other processes wrote), reads `view` and calls `ask_now()`.
    """

    def __init__(self, reader: SharedReader, *, interval_s: float, floor_s: float) -> None:
        self.reader = reader
        self.clock = reader.clock
        self.interval_s = interval_s
        self.floor_s = floor_s  # the shortest wait between requests to this endpoint
        self._lock = threading.Lock()
        self._next_due: datetime | None = None
        self._failures = 0
        self._forced = False
        self._key: str | None = None
        self._stamp: tuple[int, int] | None = None
        self._insights_at = float("-inf")
        self.view = PollView()

    def seconds_until_due(self) -> float:
        with self._lock:
            if self._next_due is None:
                return 0.0
            return max(0.0, (self._next_due - self.clock.now()).total_seconds())

    def ask_now(self) -> None:
        """`r`: a reading now, within the shared budget (never while cooling down or closer than the spacing)."""
        with self._lock:
            self._next_due = self.clock.now()
            self._forced = True
            self.view = replace(self.view, next_due=self._next_due)

    def run_due(self) -> None:
        """Poll once if a poll is due; record the outcome in `view`."""
        with self._lock:
            now = self.clock.now()
            if self._next_due is not None and now < self._next_due:
                return
            forced, self._forced = self._forced, False
            self.view = replace(self.view, in_flight=True)
        max_age = 0.0 if forced else self.interval_s
        try:
            snapshot = self.reader.read(max_age, is_poller=True)
        except RateLimited as exc:
            self._failed("rate_limited", str(exc), 0.0)
        except AuthError as exc:
            self._failed("auth", str(exc), budget.AUTH_RECHECK_S)
        except UnavailableError as exc:
            self._failures += 1
            self._failed("unavailable", str(exc), self._error_retry_s())
        except Exception as exc:  # noqa: BLE001 - the dashboard never dies: say it, back off, try again
            self._failures += 1
            self._failed("unavailable", f"unexpected error ({type(exc).__name__}); retrying", self._error_retry_s())
        else:
            self._failures = 0
            self._settle(snapshot, None, None, self._after_success(snapshot))
            self.reader.heartbeat(snapshot.account, self.interval_s)

    def _error_retry_s(self) -> float:
        """After a network error, 5xx or bad reply: sooner than the interval, doubling, never under the floor."""
        return max(self.floor_s, budget.error_retry_seconds(self._failures, self.interval_s))

    def _after_success(self, snapshot: Snapshot) -> datetime:
        """Next poll: one interval after the oldest number, or when the budget next allows a request."""
        now = self.clock.now()
        due = now + timedelta(seconds=self.interval_s)
        oldest = snapshot.oldest()
        if oldest is not None and not snapshot.requested:
            due = min(due, max(now, oldest + timedelta(seconds=self.interval_s)))
        allowed = self.reader.next_allowed(snapshot)
        if allowed is not None:
            due = max(due, allowed)
        return max(due, now + timedelta(seconds=1))

    def _failed(self, kind: str, message: str, retry_s: float) -> None:
        try:
            creds = None if kind == "auth" else self.reader.service.current_credentials()
            snapshot: Snapshot | None = self.reader.snapshot(self.reader.account(creds))
        except ClaudeUsageError:
            snapshot = self.view.snapshot
        now = self.clock.now()
        due = now + timedelta(seconds=retry_s)
        if snapshot is not None:
            allowed = self.reader.next_allowed(snapshot)
            if allowed is not None and kind != "auth":
                due = max(due, allowed)
        self._settle(snapshot, kind, message, max(due, now + timedelta(seconds=1)))

    def _settle(self, snapshot: Snapshot | None, kind: str | None, message: str | None, due: datetime) -> None:
        with self._lock:
            self._next_due = due
            if snapshot is not None:
                self._key = snapshot.account
                self._stamp = self.reader.store_stamp(snapshot.account)
            self.view = PollView(
                insights=self._insights(snapshot) if snapshot is not None else self.view.insights,
                snapshot=snapshot or self.view.snapshot,
                problem=message,
                problem_kind=kind,
                next_due=due,
                notes=self.reader.service.notes,
                plan=self.reader.service.plan or (snapshot.plan if snapshot else None) or self.view.plan,
            )

    def _insights(self, snapshot: Snapshot) -> Insights | None:
        self._insights_at = self.clock.monotonic()
        try:
            return self.reader.insights(snapshot)
        except ClaudeUsageError:
            return None

    def _insights_due(self) -> bool:
        """Pace moves with the clock: recompute now and then even when no number changed."""
        return self.clock.monotonic() - self._insights_at >= INSIGHTS_EVERY_S

    def watch_store(self) -> None:
        """Pick up numbers other processes wrote (status lines, other dashboards) since the last look."""
        with self._lock:
            key, stamp = self._key, self._stamp
        if key is None:
            return
        current = self.reader.store_stamp(key)
        if current == stamp:
            if self.view.snapshot is not None and self._insights_due():
                insights = self._insights(self.view.snapshot)
                with self._lock:
                    self.view = replace(self.view, insights=insights)
            return
        try:
            snapshot = self.reader.snapshot(key)
        except ClaudeUsageError:
            return
        with self._lock:
            self._stamp = current
            problem = self.view.problem
            if self.view.problem_kind == "rate_limited" and not snapshot.budget.cooling_down(self.clock.now()):
                problem = None
            self.view = replace(self.view, snapshot=snapshot, problem=problem, insights=self._insights(snapshot))
