"""One account's freshest reading: free sources first, the endpoint within the machine-wide budget.

Every process files what it learns under one key per account; only one process asks the endpoint at a time
(the store's request lock), no two requests for an account come closer than the spacing, and a 429 cools
every process down. `snapshot()` only reads; recording the free sources (`record_free_sources`) and filing
the history (`file_history`) are explicit steps, taken by `read()` and by the faces when they choose.
"""

from __future__ import annotations

import json
import math
import os
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from claude_usage.adapters import account
from claude_usage.core import budget, document, observe
from claude_usage.core.model import Usage
from claude_usage.core.pace import ON_PACE_TOLERANCE_PCT
from claude_usage.core.shared import DEFAULT_SPACING_S, SharedBudget, with_poller
from claude_usage.core.times import iso_or_none
from claude_usage.errors import ClaudeUsageError, RateLimited, TokenRejected, UnavailableError
from claude_usage.insights import Insights
from claude_usage.insights import compute as compute_insights
from claude_usage.service.fetch import ONE_SHOT_WAIT_S, rate_limited_text
from claude_usage.service.sources import ApiSource, ClaudeCacheSource, record_reading

if TYPE_CHECKING:
    from collections.abc import Mapping

    from claude_usage.adapters.claude_state import ClaudeState
    from claude_usage.adapters.credentials import Credentials
    from claude_usage.adapters.history import History, Observation
    from claude_usage.adapters.store import Store
    from claude_usage.service.fetch import UsageService
    from claude_usage.service.sources import Source

IN_FLIGHT_S = 40.0  # a request recorded this recently without an answer yet is still on its way
REJECTED_FOR_S = 600.0  # a token the endpoint rejected is not sent again, by any process, for this long


class Snapshot(NamedTuple):
    """What the store knows about an account at one instant, merged from every source."""

    account: str
    usage: Usage
    budget: SharedBudget
    raw: dict[str, Any] | None = None
    source: str | None = None  # of the freshest whole reply ("api", "demo", "claude_cache"), else "statusline"
    fetched_at: datetime | None = None  # when that reply was observed (else the oldest number's time)
    whole_at: datetime | None = None  # when the freshest whole reply was observed; None: there is none
    plan: str | None = None
    requested: bool = False  # this call sent a request
    held_back: bool = False  # a fresher reading was wanted, but the budget (spacing, cooldown) held it back

    @property
    def empty(self) -> bool:
        """Nothing known at all (a whole reply with no active limits is not empty: it says so)."""
        return self.whole_at is None and not self.usage.windows and self.usage.extra_usage is None

    def oldest(self) -> datetime | None:
        return observe.oldest(self.usage)


class Reader:
    """Readings of one account (one login: a config dir, or the environment's token) through the shared store.

    Nothing here holds "the" account: each face builds one reader per account it shows.
    """

    def __init__(
        self,
        service: UsageService,
        store: Store,
        *,
        env: Mapping[str, str],
        name: str = "default",
        spacing_s: float = DEFAULT_SPACING_S,
        spacing_floor_s: float = budget.MIN_INTERVAL_REMOTE_S,
        claude_state: ClaudeState | None = None,
        fixed_key: str | None = None,
        history: History | None = None,
        pace_tolerance_pct: float = ON_PACE_TOLERANCE_PCT,
    ) -> None:
        self.service = service
        self.store = store
        self.env = env
        self.name = name
        self.clock = service.clock
        self.spacing_s = spacing_s
        self.spacing_floor_s = spacing_floor_s
        self.claude_state = claude_state
        self.fixed_key = fixed_key
        self.history = history
        self.pace_tolerance_pct = pace_tolerance_pct
        self._filed: dict[str, int] = {}  # account key -> hash of the sources last filed in the history
        self._key: tuple[str, str] | None = None  # (token fingerprint, key)
        self._account_uuid: str | None = None

    # -- which account ------------------------------------------------------------------------------

    def key(self, creds: Credentials | None) -> str:
        """The account key for these credentials (None: the last account this profile used)."""
        if self.fixed_key is not None:
            return self.fixed_key
        if creds is None:
            if self._key is not None:
                return self._key[1]
            return account.resolve(self.env, self.store, account_id=None, token_fingerprint=None)
        fingerprint = creds.token.fingerprint
        if self._key is not None and self._key[0] == fingerprint:
            return self._key[1]
        if creds.from_env:  # a setup-token may belong to any account: keyed by its own fingerprint
            key = "t-" + fingerprint
        else:
            key = account.resolve(self.env, self.store, account_id=creds.account_id, token_fingerprint=fingerprint)
        self._key = (fingerprint, key)
        uuid = creds.account_id.partition(":")[0] if creds.account_id else None
        self._account_uuid = uuid or _uuid_from_key(key)
        return key

    def free_sources(self) -> list[Source]:
        """The sources that cost no request: Claude Code's cached reply, once the account's uuid is known."""
        if self.claude_state is None or self._account_uuid is None:
            return []
        return [ClaudeCacheSource(self.claude_state, self._account_uuid)]

    # -- reading without asking ---------------------------------------------------------------------

    def snapshot(self, key: str) -> Snapshot:
        """What is known now, from the store and the free sources, without any request and without writing."""
        now = self.clock.now()
        doc = self.store.read(key)
        for source in self.free_sources():
            doc = source.record(doc, now) or doc
        return self._snapshot(key, doc, now)

    def _snapshot(self, key: str, doc: dict[str, Any], now: datetime) -> Snapshot:
        usage = observe.merge(observe.usages(doc), now)
        best = document.freshest_reply(doc)
        return Snapshot(
            account=key,
            usage=usage,
            raw=best[1]["raw"] if best else None,
            source=best[0] if best else ("statusline" if usage.windows else None),
            fetched_at=best[2] if best else observe.oldest(usage),
            whole_at=best[2] if best else None,
            plan=observe.plan(doc) or self.service.plan,
            budget=SharedBudget(doc),
        )

    def record_free_sources(self, key: str) -> None:
        """Write what the free sources know and the store lacks (so every process, status lines too, has it)."""
        sources = self.free_sources()
        if not sources:
            return
        now = self.clock.now()

        def change(doc: dict[str, Any]) -> dict[str, Any] | None:
            changed = None
            for source in sources:
                changed = source.record(changed or doc, now) or changed
            return changed

        try:
            self.store.update(key, change)
        except UnavailableError:
            return  # the store is busy or unwritable: the snapshot still merges them in memory

    def file_history(self, key: str) -> None:
        """File every observation in the document (and the status line's pending values) in the history.

        Unchanged values extend their row; a document already filed is not filed again. The pending values
        leave the document only once the history has them. The history is a record, never a reason to fail a
        reading: its errors are swallowed (the document keeps the numbers for the next writer).
        """
        if self.history is None:
            return
        try:
            doc = self.store.read(key)
        except UnavailableError:
            return
        stamp = hash(json.dumps(doc.get("sources"), sort_keys=True, default=str))
        _, pending = document.take_pending(doc)
        if self._filed.get(key) == stamp and not pending:
            return
        from claude_usage.adapters.history import Observation

        observations = [
            Observation(key, w.key, w.utilization, w.resets_at, w.source, w.observed_at)
            for usage in observe.usages(doc)
            for w in usage.windows
            if w.observed_at is not None
        ]
        observations += _pending_observations(key, pending)
        observations.sort(key=lambda o: o.observed_at)  # so an unchanged value extends one row
        try:
            self.history.record(observations)
        except ClaudeUsageError:
            return
        self._filed[key] = stamp
        if pending:
            self._drop_pending(key, pending)

    def _drop_pending(self, key: str, filed: list[dict[str, Any]]) -> None:
        """Take the pending values the history now holds out of the document (others may have come since)."""

        def change(current: dict[str, Any]) -> dict[str, Any] | None:
            rest, waiting = document.take_pending(current)
            if rest is None:
                return None
            left = [entry for entry in waiting if entry not in filed]
            return {**rest, "pending": left} if left else rest

        try:
            self.store.update(key, change)
        except UnavailableError:
            return  # filed twice later: an unchanged value only extends its row

    def insights(self, snapshot: Snapshot) -> Insights:
        """Pace, forecasts, trajectories and the binding limit for what a snapshot shows.

        A history that cannot be read now (locked, damaged) leaves the forecasts empty; it never fails a reading.
        """
        try:
            return self._insights(snapshot, self.history)
        except ClaudeUsageError:
            return self._insights(snapshot, None)

    def _insights(self, snapshot: Snapshot, history: History | None) -> Insights:
        return compute_insights(
            snapshot.usage,
            account=snapshot.account,
            history=history,
            now=self.clock.now(),
            tolerance_pct=self.pace_tolerance_pct,
        )

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
        key = self.key(creds)
        self.record_free_sources(key)
        known = self.snapshot(key)
        if not self._wants(known, max_age_s, is_poller):
            return known
        self._refuse_rejected(key, creds)  # a request is wanted: not with a token the endpoint just rejected
        if self._held_back(known):
            if not self._asking_now(known):
                return known._replace(held_back=True)
            with self.store.request_lock(key, wait_s=lock_wait_s):
                return self.snapshot(key)  # the asker has answered (or given up): use what it wrote
        with self.store.request_lock(key, wait_s=lock_wait_s) as mine:
            if not mine:  # another process is asking right now: use what it wrote
                return self.snapshot(key)
            known = self.snapshot(key)  # re-check: it may have just been written
            if not self._wants(known, max_age_s, is_poller):
                return known
            if self._held_back(known):
                return known._replace(held_back=True)
            self._note_request(key)
            if one_shot:
                api = ApiSource(
                    self.service.source,
                    lambda: self.service.fetch_with_retries(
                        wait_s=wait_s, on_retry=lambda: self._note_request(key), creds=creds
                    ),
                )
            else:  # the credentials read above: not twice per poll
                api = ApiSource(self.service.source, lambda: self.service.fetch(creds))
            try:
                self._record(key, api)
            except TokenRejected as exc:
                if not creds.from_env:  # an env token's 403 may have fallen back to the stored login's reply
                    self._note_rejected(key, creds, exc)
                raise
            except RateLimited as exc:
                until = self._note_rate_limit(key, exc.retry_after_s)
                stored = self.snapshot(key)
                if not stored.empty and one_shot:
                    self.service.notes = (
                        *self.service.notes,
                        f"{self._rate_limited_text(until)}; showing the stored reading",
                    )
                    return stored._replace(held_back=True)
                raise RateLimited(
                    self._rate_limited_text(until), retry_at=until, retry_after_s=exc.retry_after_s
                ) from exc
        return self.snapshot(key)._replace(requested=True)

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

    def _refuse_rejected(self, key: str, creds: Credentials) -> None:
        """Raise what the endpoint said when another process had this very token rejected lately.

        Without this the next one-shot would find the budget spent on the rejected request and say so
        (exit 4), instead of saying the login needs fixing (exit 3).
        """
        try:
            entry = _rejections(self.store.read(key)).get(creds.token.fingerprint)
        except UnavailableError:
            return
        at = iso_or_none(entry.get("at")) if entry else None
        if entry is None or at is None or (self.clock.now() - at).total_seconds() > REJECTED_FOR_S:
            return
        status = entry.get("status")
        raise TokenRejected(str(entry.get("message")), status=status if isinstance(status, int) else 401)

    def _note_rejected(self, key: str, creds: Credentials, exc: TokenRejected) -> None:
        """Record a rejected token (by fingerprint, never the token) so other processes do not send it."""
        now = self.clock.now()
        fingerprint = creds.token.fingerprint

        def change(doc: dict[str, Any]) -> dict[str, Any]:
            kept = {
                fp: entry
                for fp, entry in _rejections(doc).items()
                if (at := iso_or_none(entry.get("at"))) is not None and (now - at).total_seconds() <= REJECTED_FOR_S
            }
            kept[fingerprint] = {"status": exc.status, "message": str(exc), "at": now.isoformat()}
            return {**doc, "rejected": kept}

        try:
            self.store.update(key, change)
        except UnavailableError:
            return

    def _record(self, key: str, api: ApiSource) -> None:
        """Ask the endpoint, then record its reply and a clean budget in one store update.

        The request goes out before the document's lock is taken: it may take seconds, and status lines
        write the document on every render.
        """
        reading = api.fetch()

        def change(doc: dict[str, Any]) -> dict[str, Any]:
            shared = SharedBudget(doc)
            shared.record_success()
            return shared.write(record_reading(doc, reading))

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
        if not isinstance(key, str) or not key or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if last is None or not math.isfinite(value):  # a damaged document's NaN never reaches the history
            continue
        for when in dict.fromkeys(t for t in (first, last) if t is not None):
            found.append(Observation(account, key, float(value), resets_at, "statusline", when))
    return found


def _rejections(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = doc.get("rejected")
    if not isinstance(found, dict):
        return {}
    return {fp: entry for fp, entry in found.items() if isinstance(entry, dict)}


def _uuid_from_key(key: str) -> str | None:
    if not key.startswith("a-"):
        return None
    return key[2:].partition("_")[0] or None
