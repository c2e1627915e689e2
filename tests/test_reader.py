"""The reader on a fake clock over a real store: when it asks, what holds it back, what it writes and files."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from claude_usage.adapters.claude_state import ClaudeState
from claude_usage.adapters.store import Store
from claude_usage.core import document
from claude_usage.core.shared import SharedBudget
from claude_usage.errors import NotLoggedIn, RateLimited, TokenRejected, UnavailableError
from claude_usage.service.fetch import MAX_ATTEMPTS
from claude_usage.service.reader import Reader
from tests.conftest import load_fixture
from tests.support.fakes import (
    ACCOUNT_KEY,
    ACCOUNT_UUID,
    CountingHistory,
    FakeClock,
    FakeCredentials,
    ScriptedClient,
    build_reader,
)

REPLY = load_fixture("max-typical")  # taken at FakeClock's start: its resets lie ahead
FIVE_HOUR_RESETS = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)


def _reply(five_hour: float) -> dict[str, Any]:
    """The fixture reply with another session number, to tell replies apart."""
    raw = copy.deepcopy(REPLY)
    raw["five_hour"]["utilization"] = five_hour
    return raw


def _limited(retry_after_s: float) -> RateLimited:
    return RateLimited("rate limited", retry_at=None, retry_after_s=retry_after_s)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store")


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    return {"HOME": str(home), "CLAUDE_CONFIG_DIR": str(home / ".claude")}


@pytest.fixture
def history(tmp_path: Path) -> Iterator[CountingHistory]:
    history = CountingHistory.open(tmp_path / "history.sqlite3")
    yield history
    history.close()


def _store_reply(store: Store, clock: FakeClock, *, age_s: float, raw: dict[str, Any] = REPLY) -> datetime:
    """Record an API reply observed `age_s` seconds ago, as another process would have; when it was observed."""
    observed_at = clock.now() - timedelta(seconds=age_s)
    store.update(
        ACCOUNT_KEY,
        lambda doc: document.record_reply(doc, source="api", raw=raw, plan=None, observed_at=observed_at),
    )
    return observed_at


def _store_capture(store: Store, value: float, observed_at: datetime) -> None:
    """Record a status-line capture of the session window, as a status line would have."""
    feed = {"five_hour": (value, FIVE_HOUR_RESETS)}
    store.update(ACCOUNT_KEY, lambda doc: document.record_feed(doc, feed, observed_at))


def _file_state(store: Store) -> tuple[bytes, int]:
    """The account document's bytes and modification time (ns)."""
    path = store.path(ACCOUNT_KEY)
    return Path(path).read_bytes(), os.stat(path).st_mtime_ns


# -- when it asks ---------------------------------------------------------------------------------------


def test_a_fresh_stored_reply_is_used_without_a_request(store: Store, clock: FakeClock, env: dict[str, str]) -> None:
    """A reply younger than the maximum age is answered from the store, sending nothing."""
    observed_at = _store_reply(store, clock, age_s=10)
    client = ScriptedClient(REPLY)
    snapshot = build_reader(store, clock, client, env=env).read(60)
    assert ([], False, observed_at) == (client.sent, snapshot.requested, snapshot.whole_at)


def test_an_old_reply_sends_one_request(store: Store, clock: FakeClock, env: dict[str, str]) -> None:
    """A reply older than the maximum age is asked for once, and the snapshot says it was."""
    _store_reply(store, clock, age_s=300)
    client = ScriptedClient(_reply(80.0))
    snapshot = build_reader(store, clock, client, env=env).read(60)
    assert (1, True) == (len(client.sent), snapshot.requested)


def test_the_answer_is_recorded_in_the_store(store: Store, clock: FakeClock, env: dict[str, str]) -> None:
    """The endpoint's answer lands in the shared document, observed now, for every other process."""
    _store_reply(store, clock, age_s=300)
    build_reader(store, clock, ScriptedClient(_reply(80.0)), env=env).read(60)
    entry = document.sources(store.read(ACCOUNT_KEY))["api"]
    assert (clock.now().isoformat(), 80.0) == (entry["observed_at"], entry["raw"]["five_hour"]["utilization"])


def test_missing_credentials_raise_before_anything_is_sent(store: Store, clock: FakeClock, env: dict[str, str]) -> None:
    """Without a login the reader raises NotLoggedIn and sends no request."""
    client = ScriptedClient(REPLY)
    reader = build_reader(store, clock, client, credentials=FakeCredentials(stored=None), env=env)
    with pytest.raises(NotLoggedIn):
        reader.read(60)
    assert [] == client.sent


# -- the shared budget ----------------------------------------------------------------------------------


def test_the_spacing_holds_back_another_readers_request(store: Store, clock: FakeClock, env: dict[str, str]) -> None:
    """A second reader on the same store, 5 s after the first one's request, is held back and sends nothing."""
    _store_reply(store, clock, age_s=300)
    build_reader(store, clock, ScriptedClient(REPLY), env=env).read(60)
    clock.advance(5)
    other = ScriptedClient(REPLY)
    snapshot = build_reader(store, clock, other, env=env).read(0)
    assert ([], True, False) == (other.sent, snapshot.held_back, snapshot.requested)


def test_past_the_spacing_another_reader_may_ask(store: Store, clock: FakeClock, env: dict[str, str]) -> None:
    """Once the spacing has passed, a second reader that wants a fresher reply sends its request."""
    build_reader(store, clock, ScriptedClient(REPLY), env=env).read(60)
    clock.advance(31)
    other = ScriptedClient(REPLY)
    build_reader(store, clock, other, env=env).read(0)
    assert 1 == len(other.sent)


def test_a_429_starts_the_shared_cooldown(store: Store, clock: FakeClock, env: dict[str, str]) -> None:
    """A 429 with Retry-After: 120 writes a cooldown ending 120 s from now into the shared document."""
    _store_reply(store, clock, age_s=300)
    build_reader(store, clock, ScriptedClient(_limited(120)), env=env).read(60, one_shot=True)
    assert clock.now() + timedelta(seconds=120) == SharedBudget(store.read(ACCOUNT_KEY)).cooldown_until


def test_a_rate_limited_one_shot_answers_from_the_store(store: Store, clock: FakeClock, env: dict[str, str]) -> None:
    """A one-shot answered 429 shows the stored reply, held back, instead of failing."""
    observed_at = _store_reply(store, clock, age_s=300)
    snapshot = build_reader(store, clock, ScriptedClient(_limited(120)), env=env).read(60, one_shot=True)
    assert (observed_at, True) == (snapshot.whole_at, snapshot.held_back)


def test_a_rate_limited_one_shot_says_so_in_a_note(store: Store, clock: FakeClock, env: dict[str, str]) -> None:
    """The one-shot's notes say when the rate limit lifts and that the stored reading is shown."""
    _store_reply(store, clock, age_s=300)
    reader = build_reader(store, clock, ScriptedClient(_limited(120)), env=env)
    reader.read(60, one_shot=True)
    until = (clock.now() + timedelta(seconds=120)).astimezone()
    expected = (
        f"rate limited by {ScriptedClient.base_url}; try again after {until:%H:%M:%S} (in 2m; 120 s); "
        "showing the stored reading"
    )
    assert expected == reader.service.notes[-1]


def test_the_cooldown_holds_back_every_reader(store: Store, clock: FakeClock, env: dict[str, str]) -> None:
    """Another reader, past the spacing but inside the cooldown, is held back and sends nothing."""
    _store_reply(store, clock, age_s=300)
    build_reader(store, clock, ScriptedClient(_limited(120)), env=env).read(60, one_shot=True)
    clock.advance(60)
    other = ScriptedClient(REPLY)
    snapshot = build_reader(store, clock, other, env=env).read(0)
    assert ([], True) == (other.sent, snapshot.held_back)


def test_a_429_with_nothing_stored_says_when_to_try_again(store: Store, clock: FakeClock, env: dict[str, str]) -> None:
    """With nothing to show, a rate-limited one-shot raises RateLimited naming the wait."""
    reader = build_reader(store, clock, ScriptedClient(_limited(120)), env=env)
    with pytest.raises(RateLimited, match=r"in 2m; 120 s"):
        reader.read(60, one_shot=True)


def test_a_one_shot_sends_at_most_four_requests_to_a_failing_endpoint(
    store: Store, clock: FakeClock, env: dict[str, str]
) -> None:
    """Against an endpoint that keeps failing, a one-shot gives up with UnavailableError after 4 requests."""
    client = ScriptedClient(UnavailableError("HTTP 503"))
    reader = build_reader(store, clock, client, env=env)
    with pytest.raises(UnavailableError, match="gave up after 4 tries"):
        reader.read(60, one_shot=True, wait_s=60)
    assert (4, 4) == (MAX_ATTEMPTS, len(client.sent))


def test_every_retry_counts_against_the_shared_spacing(store: Store, clock: FakeClock, env: dict[str, str]) -> None:
    """The shared budget's last request is the one-shot's last retry, not its first attempt."""
    reader = build_reader(store, clock, ScriptedClient(UnavailableError("HTTP 503")), env=env)
    with pytest.raises(UnavailableError):
        reader.read(60, one_shot=True, wait_s=60)
    assert clock.now() == SharedBudget(store.read(ACCOUNT_KEY)).last_request_at


# -- a live poller's promise ----------------------------------------------------------------------------


def test_a_live_pollers_heartbeat_lets_others_trust_the_store_longer(
    store: Store, clock: FakeClock, env: dict[str, str]
) -> None:
    """With a poller promising every 120 s, a 100 s old reply satisfies a reader wanting 60 s."""
    _store_reply(store, clock, age_s=100)
    build_reader(store, clock, ScriptedClient(REPLY), env=env).heartbeat(ACCOUNT_KEY, 120.0)
    other = ScriptedClient(REPLY)
    build_reader(store, clock, other, env=env).read(60)
    assert [] == other.sent


def test_a_stale_heartbeat_is_not_trusted(store: Store, clock: FakeClock, env: dict[str, str]) -> None:
    """A poller silent for longer than its interval plus the grace no longer stretches the maximum age."""
    build_reader(store, clock, ScriptedClient(REPLY), env=env).heartbeat(ACCOUNT_KEY, 120.0)
    clock.advance(40)
    _store_reply(store, clock, age_s=0)
    clock.advance(100)  # the reply is 100 s old, the heartbeat 140 s (> 120 + 15)
    other = ScriptedClient(REPLY)
    build_reader(store, clock, other, env=env).read(60)
    assert 1 == len(other.sent)


def test_the_poller_itself_keeps_its_own_interval(store: Store, clock: FakeClock, env: dict[str, str]) -> None:
    """The poller's own reads are not stretched by its heartbeat: a 100 s old reply is asked for again."""
    _store_reply(store, clock, age_s=100)
    client = ScriptedClient(REPLY)
    reader = build_reader(store, clock, client, env=env)
    reader.heartbeat(ACCOUNT_KEY, 120.0)
    reader.read(60, is_poller=True)
    assert 1 == len(client.sent)


# -- reading only, writing explicitly: Claude Code's cache -----------------------------------------------


@pytest.fixture
def cached(store: Store, clock: FakeClock, env: dict[str, str], home: Path) -> Reader:
    """A reader that knows its account, an old API reply in the store, and a newer Claude Code cache (80 %)."""
    _store_reply(store, clock, age_s=600)
    cache = {
        "accountUuid": ACCOUNT_UUID,
        "fetchedAtMs": int((clock.now() - timedelta(seconds=5)).timestamp() * 1000),
        "utilization": _reply(80.0),
    }
    (home / ".claude" / ".claude.json").write_text(json.dumps({"cachedUsageUtilization": cache}))
    reader = build_reader(store, clock, ScriptedClient(REPLY), env=env, claude_state=ClaudeState(env))
    reader.key(reader.service.current_credentials())  # learns the account's uuid, as read() does first
    return reader


def test_snapshot_shows_a_newer_claude_code_cache(cached: Reader) -> None:
    """The snapshot merges Claude Code's newer cached reply in memory."""
    snapshot = cached.snapshot(ACCOUNT_KEY)
    assert ("claude_cache", 80.0) == (snapshot.source, snapshot.usage.windows[0].utilization)


def test_snapshot_writes_nothing(cached: Reader, store: Store) -> None:
    """Even with a newer Claude Code cache, `snapshot()` leaves the document's bytes and mtime alone."""
    before = _file_state(store)
    cached.snapshot(ACCOUNT_KEY)
    assert before == _file_state(store)


def test_record_free_sources_writes_the_cache(cached: Reader, store: Store, clock: FakeClock) -> None:
    """`record_free_sources()` files Claude Code's cached reply in the document, observed when it was fetched."""
    cached.record_free_sources(ACCOUNT_KEY)
    entry = document.sources(store.read(ACCOUNT_KEY))["claude_cache"]
    assert ((clock.now() - timedelta(seconds=5)).isoformat(), 80.0) == (
        entry["observed_at"],
        entry["raw"]["five_hour"]["utilization"],
    )


def test_record_free_sources_writes_an_unchanged_cache_once(cached: Reader, store: Store) -> None:
    """A second `record_free_sources()` with the same cache leaves the document alone."""
    cached.record_free_sources(ACCOUNT_KEY)
    before = _file_state(store)
    cached.record_free_sources(ACCOUNT_KEY)
    assert before == _file_state(store)


# -- filing the history ---------------------------------------------------------------------------------


@pytest.fixture
def captured(store: Store, clock: FakeClock) -> tuple[datetime, datetime]:
    """Two status-line captures of the session (40 % then 45 %): the first waits in `pending`; their times."""
    first, second = clock.now() - timedelta(seconds=120), clock.now() - timedelta(seconds=60)
    _store_capture(store, 40.0, first)
    _store_capture(store, 45.0, second)
    return first, second


def _rows(history: CountingHistory) -> list[tuple[str, float, str, datetime]]:
    return [(r.key, r.utilization, r.source, r.observed_at) for r in history.rows(account=ACCOUNT_KEY)]


def test_file_history_files_observations_and_pending_values(
    store: Store, clock: FakeClock, history: CountingHistory, captured: tuple[datetime, datetime]
) -> None:
    """The replaced capture waiting in `pending` and the current one both become history rows."""
    build_reader(store, clock, ScriptedClient(REPLY), history=history).file_history(ACCOUNT_KEY)
    first, second = captured
    assert [("five_hour", 40.0, "statusline", first), ("five_hour", 45.0, "statusline", second)] == _rows(history)


def test_file_history_drains_the_pending_values(
    store: Store, clock: FakeClock, history: CountingHistory, captured: tuple[datetime, datetime]
) -> None:
    """Once filed, the pending values leave the shared document."""
    build_reader(store, clock, ScriptedClient(REPLY), history=history).file_history(ACCOUNT_KEY)
    assert "pending" not in store.read(ACCOUNT_KEY)


def test_file_history_files_an_unchanged_document_once(
    store: Store, clock: FakeClock, history: CountingHistory, captured: tuple[datetime, datetime]
) -> None:
    """A second `file_history()` with nothing new writes nothing to the history."""
    reader = build_reader(store, clock, ScriptedClient(REPLY), history=history)
    reader.file_history(ACCOUNT_KEY)
    reader.file_history(ACCOUNT_KEY)
    assert 1 == len(history.batches)


def test_file_history_files_a_changed_document_again(
    store: Store, clock: FakeClock, history: CountingHistory, captured: tuple[datetime, datetime]
) -> None:
    """A new capture after the first filing is filed by the next `file_history()`."""
    reader = build_reader(store, clock, ScriptedClient(REPLY), history=history)
    reader.file_history(ACCOUNT_KEY)
    _store_capture(store, 50.0, clock.now())
    reader.file_history(ACCOUNT_KEY)
    assert ("five_hour", 50.0, "statusline", clock.now()) == _rows(history)[-1]


# -- a token the endpoint rejected ------------------------------------------------------------------------


def test_a_rejected_token_still_gets_a_fresh_reading(store: Store, clock: FakeClock, env: dict[str, str]) -> None:
    """Another process had the token rejected, but the store is fresh: the reading is answered, nothing sent."""
    rejecting = build_reader(store, clock, ScriptedClient(TokenRejected("401 expired", status=401)), env=env)
    with pytest.raises(TokenRejected):
        rejecting.read(60)
    clock.advance(40)
    _store_reply(store, clock, age_s=5)
    client = ScriptedClient(REPLY)
    snapshot = build_reader(store, clock, client, env=env).read(60)
    assert ([], False) == (client.sent, snapshot.empty)


def test_a_rejected_token_is_not_sent_by_another_reader(store: Store, clock: FakeClock, env: dict[str, str]) -> None:
    """When a request is wanted, another reader refuses the token the endpoint rejected, sending nothing."""
    rejecting = build_reader(store, clock, ScriptedClient(TokenRejected("401 expired", status=401)), env=env)
    with pytest.raises(TokenRejected):
        rejecting.read(60)
    clock.advance(40)
    client = ScriptedClient(REPLY)
    with pytest.raises(TokenRejected):
        build_reader(store, clock, client, env=env).read(60)
    assert [] == client.sent


def test_a_pending_nan_never_reaches_the_history(
    store: Store, clock: FakeClock, env: dict[str, str], history: CountingHistory
) -> None:
    """A damaged document's NaN among the pending values is skipped; the rest is filed."""
    _store_reply(store, clock, age_s=5)
    bad = {"key": "five_hour", "utilization": float("nan"), "observed_at": clock.now().isoformat()}
    store.update(ACCOUNT_KEY, lambda doc: {**doc, "pending": [bad]})
    reader = build_reader(store, clock, ScriptedClient(REPLY), env=env, history=history)
    reader.read(60)
    reader.file_history(ACCOUNT_KEY)
    assert ([], 3) == (store.read(ACCOUNT_KEY).get("pending", []), len(history.rows(account=ACCOUNT_KEY)))
