"""The poll loop on a fake clock over a real store: when it polls, how it backs off, what it announces."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from claude_usage.adapters.store import Store
from claude_usage.core import budget, document
from claude_usage.core.shared import SharedBudget
from claude_usage.errors import ClaudeUsageError, RateLimited, TokenRejected, UnavailableError
from claude_usage.service.poller import Change, Poller
from claude_usage.service.reader import Snapshot
from tests.conftest import load_fixture
from tests.support.fakes import ACCOUNT_KEY, CountingHistory, FakeClock, ScriptedClient, build_reader

REPLY = load_fixture("max-typical")  # taken at FakeClock's start: its resets lie ahead
FIVE_HOUR_RESETS = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)
INTERVAL_S = 60.0
FLOOR_S = 10.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store")


@pytest.fixture
def history(tmp_path: Path) -> Iterator[CountingHistory]:
    history = CountingHistory.open(tmp_path / "history.sqlite3")
    yield history
    history.close()


@pytest.fixture
def client() -> ScriptedClient:
    return ScriptedClient(REPLY)


@pytest.fixture
def poller(store: Store, clock: FakeClock, client: ScriptedClient, history: CountingHistory, home: Path) -> Poller:
    """A poller every 60 s (floor 10 s) over a reader with the default 30 s spacing."""
    reader = build_reader(store, clock, client, env={"HOME": str(home)}, history=history)
    return Poller(reader, interval_s=INTERVAL_S, floor_s=FLOOR_S)


def _failing(
    store: Store, clock: FakeClock, history: CountingHistory, home: Path, error: Exception, *, spacing_s: float = 30.0
) -> Poller:
    """A poller whose every request fails with `error`."""
    reader = build_reader(
        store, clock, ScriptedClient(error), env={"HOME": str(home)}, history=history, spacing_s=spacing_s
    )
    return Poller(reader, interval_s=INTERVAL_S, floor_s=FLOOR_S)


def _shown(poller: Poller) -> Snapshot:
    snapshot = poller.view.snapshot
    assert snapshot is not None
    return snapshot


def _due_in(poller: Poller, clock: FakeClock) -> float:
    """Seconds from now until the view's next poll."""
    assert poller.view.next_due is not None
    return (poller.view.next_due - clock.now()).total_seconds()


def _changes(poller: Poller) -> list[Change]:
    """Every Change the poller announces from now on."""
    seen: list[Change] = []
    poller.subscribe(seen.append)
    return seen


def _capture(store: Store, value: float, observed_at: datetime) -> None:
    """Another process (a status line) records a capture of the session window."""
    feed = {"five_hour": (value, FIVE_HOUR_RESETS)}
    store.update(ACCOUNT_KEY, lambda doc: document.record_feed(doc, feed, observed_at))


# -- when it polls --------------------------------------------------------------------------------------


def test_the_first_run_due_polls_and_shows_the_reading(
    poller: Poller, client: ScriptedClient, clock: FakeClock
) -> None:
    """The first `run_due()` sends one request and the view shows its reading."""
    poller.run_due()
    snapshot = _shown(poller)
    assert (1, "api", clock.now(), None) == (len(client.sent), snapshot.source, snapshot.whole_at, poller.view.problem)


def test_a_success_is_due_again_one_interval_later(poller: Poller, clock: FakeClock) -> None:
    """After a successful poll the next one is due one interval later."""
    poller.run_due()
    assert INTERVAL_S == _due_in(poller, clock)


def test_run_due_before_the_interval_does_nothing(poller: Poller, client: ScriptedClient, clock: FakeClock) -> None:
    """59 s after a poll, `run_due()` neither asks nor announces anything."""
    poller.run_due()
    changes = _changes(poller)
    clock.advance(INTERVAL_S - 1)
    poller.run_due()
    assert ([], 1) == (changes, len(client.sent))


def test_after_the_interval_it_polls_again(poller: Poller, client: ScriptedClient, clock: FakeClock) -> None:
    """Once the interval has passed (and the reading is older than it), `run_due()` asks again."""
    poller.run_due()
    clock.advance(INTERVAL_S + 1)
    poller.run_due()
    assert 2 == len(client.sent)


def test_a_successful_poll_promises_the_next_one(poller: Poller, store: Store) -> None:
    """A success writes the poller's heartbeat and interval, which other readers trust."""
    poller.run_due()
    assert INTERVAL_S == SharedBudget(store.read(ACCOUNT_KEY)).poller_interval_s


def test_a_successful_poll_files_the_reading(poller: Poller, history: CountingHistory) -> None:
    """A success files every window of the reply in the history."""
    poller.run_due()
    assert ["five_hour", "seven_day", "seven_day_sonnet"] == sorted(r.key for r in history.rows(account=ACCOUNT_KEY))


# -- asking now -----------------------------------------------------------------------------------------


def test_ask_now_makes_a_poll_due_at_once(poller: Poller, clock: FakeClock) -> None:
    """`ask_now()` five seconds after a poll makes the next one due immediately."""
    poller.run_due()
    clock.advance(5)
    poller.ask_now()
    assert 0.0 == poller.seconds_until_due()


def test_ask_now_keeps_the_spacing(poller: Poller, client: ScriptedClient, clock: FakeClock) -> None:
    """Asked five seconds after a request, the poll is held back by the 30 s spacing and sends nothing."""
    poller.run_due()
    clock.advance(5)
    poller.ask_now()
    poller.run_due()
    assert (1, True) == (len(client.sent), _shown(poller).held_back)


def test_ask_now_inside_the_spacing_asks_when_it_is_allowed(
    poller: Poller, client: ScriptedClient, clock: FakeClock
) -> None:
    """`r` five seconds after a request is not dropped: the poll is due when the spacing allows, and then asks."""
    poller.run_due()
    clock.advance(5)
    poller.ask_now()
    poller.run_due()
    due_in = poller.seconds_until_due()
    clock.advance(due_in)
    poller.run_due()
    assert (25.0, 2) == (due_in, len(client.sent))


def test_ask_now_past_the_spacing_asks_at_once(poller: Poller, client: ScriptedClient, clock: FakeClock) -> None:
    """Asked 31 s after a request, with the reading still young, the poll sends a request."""
    poller.run_due()
    clock.advance(31)
    poller.ask_now()
    poller.run_due()
    assert 2 == len(client.sent)


# -- problems and back-off ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "kind", "says"),
    [
        (TokenRejected("401 expired", status=401), "auth", "401 expired"),
        (RateLimited("429", retry_at=None, retry_after_s=120), "rate_limited", "rate limited by https://usage"),
        (UnavailableError("HTTP 503"), "unavailable", "HTTP 503"),
    ],
)
def test_a_failed_poll_shows_its_problem(
    store: Store,
    clock: FakeClock,
    history: CountingHistory,
    home: Path,
    error: ClaudeUsageError,
    kind: str,
    says: str,
) -> None:
    """A failed poll lands in `view.problem` with its kind, and the poller lives on."""
    poller = _failing(store, clock, history, home, error)
    poller.run_due()
    problem = poller.view.problem or ""
    assert (kind, says) == (poller.view.problem_kind, problem[: len(says)])


@pytest.mark.parametrize(
    "error",
    [
        TokenRejected("401 expired", status=401),
        RateLimited("429", retry_at=None, retry_after_s=120),
        UnavailableError("HTTP 503"),
    ],
)
def test_a_failed_poll_names_its_exception(
    store: Store, clock: FakeClock, history: CountingHistory, home: Path, error: ClaudeUsageError
) -> None:
    """The view names the exception of a failed poll (`--json`'s error.type, the exporter's)."""
    poller = _failing(store, clock, history, home, error)
    poller.run_due()
    assert type(error).__name__ == poller.view.problem_type


def test_an_auth_problem_is_checked_again_soon(
    store: Store, clock: FakeClock, history: CountingHistory, home: Path
) -> None:
    """After a rejected token the credentials are read again in AUTH_RECHECK_S seconds (no request is sent)."""
    poller = _failing(store, clock, history, home, TokenRejected("401 expired", status=401))
    poller.run_due()
    assert budget.AUTH_RECHECK_S == _due_in(poller, clock)


def test_a_429_is_due_when_the_cooldown_ends(
    store: Store, clock: FakeClock, history: CountingHistory, home: Path
) -> None:
    """After a 429 with Retry-After: 120 the next poll is due in 120 s."""
    poller = _failing(store, clock, history, home, RateLimited("429", retry_at=None, retry_after_s=120))
    poller.run_due()
    assert 120.0 == _due_in(poller, clock)


def test_failures_back_off_doubling_but_never_below_the_floor(
    store: Store, clock: FakeClock, history: CountingHistory, home: Path
) -> None:
    """Errors in a row retry after 10, 10, 20, 40, 60 s: 5 s doubling, at least the floor, at most the interval."""
    poller = _failing(store, clock, history, home, UnavailableError("HTTP 503"), spacing_s=1.0)
    waits = []
    for _ in range(5):
        poller.run_due()
        waits.append(_due_in(poller, clock))
        clock.advance(waits[-1])
    assert [10.0, 10.0, 20.0, 40.0, 60.0] == waits


def test_a_retry_after_an_error_keeps_the_spacing(
    store: Store, clock: FakeClock, history: CountingHistory, home: Path
) -> None:
    """With the default 30 s spacing, the first retry after an error waits 30 s, not the 10 s floor."""
    poller = _failing(store, clock, history, home, UnavailableError("HTTP 503"))
    poller.run_due()
    assert 30.0 == _due_in(poller, clock)


def test_a_failed_poll_keeps_showing_the_last_reading(poller: Poller, client: ScriptedClient, clock: FakeClock) -> None:
    """A poll that fails after a success still shows the stored reading, with the problem."""
    poller.run_due()
    client.outcomes = [UnavailableError("HTTP 503")]
    clock.advance(INTERVAL_S + 1)
    poller.run_due()
    assert ("unavailable", "api") == (poller.view.problem_kind, _shown(poller).source)


def test_a_success_clears_the_problem(poller: Poller, client: ScriptedClient, clock: FakeClock) -> None:
    """The first success after a failure removes the problem from the view."""
    client.outcomes = [UnavailableError("HTTP 503"), REPLY]
    poller.run_due()
    clock.advance(_due_in(poller, clock))
    poller.run_due()
    assert (None, None) == (poller.view.problem, poller.view.problem_kind)


# -- numbers other processes wrote ----------------------------------------------------------------------


def test_watch_store_picks_up_another_processs_number(poller: Poller, store: Store, clock: FakeClock) -> None:
    """A status line's 90 % written after the poll is shown after `watch_store()`."""
    poller.run_due()
    clock.advance(5)
    _capture(store, 90.0, clock.now())
    poller.watch_store()
    session = _shown(poller).usage.windows[0]
    assert ("five_hour", 90.0, "statusline") == (session.key, session.utilization, session.source)


def test_watch_store_files_another_processs_number(
    poller: Poller, store: Store, clock: FakeClock, history: CountingHistory
) -> None:
    """The status line's capture picked up by `watch_store()` is filed in the history."""
    poller.run_due()
    clock.advance(5)
    _capture(store, 90.0, clock.now())
    poller.watch_store()
    filed = [(r.utilization, r.observed_at) for r in history.rows(key="five_hour") if r.source == "statusline"]
    assert [(90.0, clock.now())] == filed


def test_watch_store_before_any_poll_does_nothing(poller: Poller, store: Store, clock: FakeClock) -> None:
    """Until a poll has named the account, `watch_store()` announces nothing."""
    _capture(store, 90.0, clock.now())
    changes = _changes(poller)
    poller.watch_store()
    assert [] == changes


def test_watch_store_after_a_poll_announces_nothing_new(poller: Poller, clock: FakeClock) -> None:
    """When no other process wrote since the poll, `watch_store()` announces no new reading."""
    poller.run_due()
    changes = _changes(poller)
    clock.advance(1)
    poller.watch_store()
    assert [] == [change for change in changes if change.new_reading]


def test_watch_store_announces_a_capture_once(poller: Poller, store: Store, clock: FakeClock) -> None:
    """A status line's new value that replaced an older one is announced once, not again after it is filed."""
    poller.run_due()
    clock.advance(5)
    _capture(store, 90.0, clock.now())
    clock.advance(5)
    _capture(store, 91.0, clock.now())  # 90 goes to `pending`, for the history
    poller.watch_store()
    changes = _changes(poller)
    clock.advance(1)
    poller.watch_store()
    assert [] == [change for change in changes if change.new_reading]


# -- change events --------------------------------------------------------------------------------------


def test_a_poll_announces_in_flight_then_the_reading(poller: Poller) -> None:
    """A poll announces two views: in flight without a reading, then settled with it."""
    changes = _changes(poller)
    poller.run_due()
    assert [(True, False), (False, True)] == [(c.current.in_flight, c.current.snapshot is not None) for c in changes]


def test_each_change_follows_the_one_before(poller: Poller, clock: FakeClock) -> None:
    """Every Change's previous view is the view the change before it announced, starting from the first view."""
    first = poller.view
    changes = _changes(poller)
    poller.run_due()
    clock.advance(5)
    poller.ask_now()
    poller.run_due()
    assert [first, *(c.current for c in changes[:-1])] == [c.previous for c in changes]


def test_the_last_change_is_the_view(poller: Poller) -> None:
    """The view a subscriber was last given is the poller's view."""
    changes = _changes(poller)
    poller.run_due()
    assert poller.view is changes[-1].current


def test_new_reading_only_when_the_snapshot_changed(poller: Poller, clock: FakeClock) -> None:
    """`new_reading` is true for the settled poll, not for the in-flight view nor for `ask_now()`'s."""
    changes = _changes(poller)
    poller.run_due()
    clock.advance(5)
    poller.ask_now()
    assert [False, True, False] == [c.new_reading for c in changes]


# -- the loop -------------------------------------------------------------------------------------------


def test_run_forever_stops_when_told(poller: Poller, client: ScriptedClient) -> None:
    """`run_forever` polls, then returns once `stop` is set (and `wake` cuts its wait short)."""
    polled = threading.Event()
    poller.subscribe(lambda change: polled.set() if change.new_reading else None)
    stop, wake = threading.Event(), threading.Event()
    worker = threading.Thread(target=poller.run_forever, args=(stop, wake), daemon=True)
    worker.start()
    assert polled.wait(timeout=10)
    stop.set()
    wake.set()
    worker.join(timeout=10)
    assert (False, 1) == (worker.is_alive(), len(client.sent))


def test_run_forever_with_stop_already_set_polls_nothing(poller: Poller, client: ScriptedClient) -> None:
    """Started with `stop` set, `run_forever` returns at once without a request."""
    stop = threading.Event()
    stop.set()
    poller.run_forever(stop, threading.Event())
    assert [] == client.sent


def test_ask_now_only_moves_the_due_time(poller: Poller, client: ScriptedClient) -> None:
    """`ask_now()` makes a poll due but sends nothing itself: the poll is `run_due()`'s."""
    poller.ask_now()
    assert (0.0, []) == (poller.seconds_until_due(), client.sent)


def test_run_forever_outlives_an_unexpected_error(poller: Poller, client: ScriptedClient) -> None:
    """An exception the poll did not expect lands in the view as a problem; the loop goes on and stops when told."""

    def broken(key: str) -> None:
        raise ValueError("a NaN in a damaged document")

    poller.reader.file_history = broken  # type: ignore[method-assign]
    failed = threading.Event()
    poller.subscribe(lambda change: failed.set() if change.current.problem_kind == "unavailable" else None)
    stop, wake = threading.Event(), threading.Event()
    worker = threading.Thread(target=poller.run_forever, args=(stop, wake), daemon=True)
    worker.start()
    assert failed.wait(timeout=10)
    stop.set()
    wake.set()
    worker.join(timeout=10)
    assert (False, "unexpected error (ValueError); retrying") == (worker.is_alive(), poller.view.problem)
