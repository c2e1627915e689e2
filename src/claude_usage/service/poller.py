"""The headless poll loop of one account: at most one request per interval, never dying, with change events.

The live dashboard runs it today; `watch`, `serve` and alerts subscribe to the same events. Thread-safe:
`run_forever()` polls in a worker thread; the face's thread calls `watch_store()` (to pick up what other
processes wrote), reads `view` and calls `ask_now()`. Every new view is announced to the subscribers as a
`Change` (previous view, new view), in the thread that made it.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from claude_usage.core import budget
from claude_usage.errors import AuthError, ClaudeUsageError, RateLimited, UnavailableError

if TYPE_CHECKING:
    from collections.abc import Callable

    from claude_usage.insights import Insights
    from claude_usage.service.reader import Reader, Snapshot

INSIGHTS_EVERY_S = 30.0  # pace and forecasts are recomputed at least this often


class PollView(NamedTuple):
    """What the dashboard shows about polling at one instant (replaced whole, never mutated)."""

    snapshot: Snapshot | None = None
    problem: str | None = None
    problem_kind: str | None = None  # "auth", "rate_limited", "unavailable"
    problem_type: str | None = None  # our exception's name: TokenExpired, NotLoggedIn, RateLimited, BadReply, ...
    next_due: datetime | None = None
    in_flight: bool = False
    notes: tuple[str, ...] = ()
    plan: str | None = None
    insights: Insights | None = None


class Change(NamedTuple):
    """A new view replaced the previous one (a reading, a problem, a poll starting or due)."""

    previous: PollView
    current: PollView

    @property
    def new_reading(self) -> bool:
        """Whether the numbers shown changed (another snapshot, not just the countdown)."""
        return self.current.snapshot is not self.previous.snapshot and self.current.snapshot is not None


class Poller:
    """The live dashboard's polling: at most one request per interval, never dying.

    Thread-safe: a worker thread calls `run_due()`; the UI thread calls `watch_store()` once a second (to pick
    up what other processes wrote), reads `view` and calls `ask_now()`.
    """

    def __init__(self, reader: Reader, *, interval_s: float, floor_s: float) -> None:
        self.reader = reader
        self.clock = reader.clock
        self.interval_s = interval_s
        self.floor_s = floor_s  # the shortest wait between requests to this endpoint
        self._lock = threading.RLock()  # re-entrant: a subscriber may call ask_now()
        self._next_due: datetime | None = None
        self._failures = 0
        self._forced = False
        self._key: str | None = None
        self._stamp: tuple[int, int] | None = None
        self._insights_at = float("-inf")
        self._view = PollView()
        self._subscribers: list[Callable[[Change], None]] = []

    @property
    def view(self) -> PollView:
        """What to show now (replaced whole, never mutated)."""
        return self._view

    def subscribe(self, callback: Callable[[Change], None]) -> None:
        """Call `callback(Change)` after every new view, in the thread that made it; it must not block."""
        self._subscribers.append(callback)

    def _set_view(self, view: PollView) -> None:
        with self._lock:
            change = Change(self._view, view)
            self._view = view
            for callback in self._subscribers:
                callback(change)

    def run_forever(self, stop: threading.Event, wake: threading.Event) -> None:
        """Poll until `stop` is set, sleeping until the next poll is due (`wake` cuts a sleep short)."""
        while not stop.is_set():
            try:
                self.run_due()
            except Exception as exc:  # noqa: BLE001 - the loop never dies: say it, back off, go on
                self._failures += 1
                retry = self._error_retry_s()
                with self._lock:
                    self._next_due = self.clock.now() + timedelta(seconds=retry)
                    self._set_view(
                        self.view._replace(
                            in_flight=False,
                            problem=f"unexpected error ({type(exc).__name__}); retrying",
                            problem_kind="unavailable",
                            problem_type="UnavailableError",
                            next_due=self._next_due,
                        )
                    )
            wake.wait(timeout=max(0.05, self.seconds_until_due()))
            wake.clear()

    def next_allowed(self) -> datetime | None:
        """When the shared budget next allows a request for the account shown; None: now, or nothing shown yet."""
        snapshot = self.view.snapshot
        return self.reader.next_allowed(snapshot) if snapshot is not None else None

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
            self._set_view(self.view._replace(next_due=self._next_due))

    def run_due(self) -> None:
        """Poll once if a poll is due; record the outcome in `view`."""
        with self._lock:
            now = self.clock.now()
            if self._next_due is not None and now < self._next_due:
                return
            forced, self._forced = self._forced, False
            self._set_view(self.view._replace(in_flight=True))
        max_age = 0.0 if forced else self.interval_s
        try:
            snapshot = self.reader.read(max_age, is_poller=True)
        except RateLimited as exc:
            self._failed("rate_limited", str(exc), 0.0, type(exc).__name__)
        except AuthError as exc:
            self._failed("auth", str(exc), budget.AUTH_RECHECK_S, type(exc).__name__)
        except UnavailableError as exc:
            self._failures += 1
            self._failed("unavailable", str(exc), self._error_retry_s(), type(exc).__name__)
        except Exception as exc:  # noqa: BLE001 - the dashboard never dies: say it, back off, try again
            self._failures += 1
            retry = self._error_retry_s()
            self._failed("unavailable", f"unexpected error ({type(exc).__name__}); retrying", retry, "UnavailableError")
        else:
            self._failures = 0
            # Our own writes first, so that the stamp `_settle` takes includes them (they are not news).
            self.reader.heartbeat(snapshot.account, self.interval_s)
            self.reader.file_history(snapshot.account)
            due = self._after_success(snapshot)
            allowed = self.reader.next_allowed(snapshot)
            if forced and snapshot.held_back and allowed is not None:
                due = allowed  # `r` inside the spacing: take that reading as soon as the budget allows
                with self._lock:
                    self._forced = True
            self._settle(snapshot, None, None, due)

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

    def _failed(self, kind: str, message: str, retry_s: float, error_type: str) -> None:
        try:
            creds = None if kind == "auth" else self.reader.service.current_credentials()
            snapshot: Snapshot | None = self.reader.snapshot(self.reader.key(creds))
        except ClaudeUsageError:
            snapshot = self.view.snapshot
        now = self.clock.now()
        due = now + timedelta(seconds=retry_s)
        if snapshot is not None:
            allowed = self.reader.next_allowed(snapshot)
            if allowed is not None and kind != "auth":
                due = max(due, allowed)
        self._settle(snapshot, kind, message, max(due, now + timedelta(seconds=1)), error_type)

    def _settle(
        self,
        snapshot: Snapshot | None,
        kind: str | None,
        message: str | None,
        due: datetime,
        error_type: str | None = None,
    ) -> None:
        with self._lock:
            self._next_due = due
            if snapshot is not None:
                self._key = snapshot.account
                self._stamp = self.reader.store_stamp(snapshot.account)
            self._set_view(
                PollView(
                    insights=self._insights(snapshot) if snapshot is not None else self.view.insights,
                    snapshot=snapshot or self.view.snapshot,
                    problem=message,
                    problem_kind=kind,
                    problem_type=error_type,
                    next_due=due,
                    notes=self.reader.service.notes,
                    plan=self.reader.service.plan or (snapshot.plan if snapshot else None) or self.view.plan,
                )
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
                    self._set_view(self.view._replace(insights=insights))
            return
        try:
            snapshot = self.reader.snapshot(key)
        except ClaudeUsageError:
            return
        self.reader.file_history(key)  # may empty `pending`: our own write, not news
        current = self.reader.store_stamp(key)
        with self._lock:
            self._stamp = current
            problem = self.view.problem
            if self.view.problem_kind == "rate_limited" and not snapshot.budget.cooling_down(self.clock.now()):
                problem = None
            self._set_view(self.view._replace(snapshot=snapshot, problem=problem, insights=self._insights(snapshot)))
