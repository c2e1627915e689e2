"""The machine-wide budget of one account, as every process reads and writes it in the store's document."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from claude_usage.core.shared import SharedBudget, with_poller

NOW = datetime(2026, 11, 24, 12, 49, tzinfo=timezone.utc)
SPACING = 30.0


def fields(budget: SharedBudget) -> dict[str, Any]:
    """Every attribute of a budget, for comparing two of them."""
    return {name: getattr(budget, name) for name in SharedBudget.__slots__}


EMPTY_FIELDS = {
    "cooldown_until": None,
    "last_request_at": None,
    "poller_heartbeat_at": None,
    "poller_interval_s": None,
    "rate_limited_repeats": 0,
    "refresh_spawned_at": None,
}


def test_empty_document_has_an_empty_budget() -> None:
    """A document without budget or poller means no request, no cooldown, no poller."""
    assert EMPTY_FIELDS == fields(SharedBudget({}))


@pytest.mark.parametrize(
    "doc",
    [
        {"budget": "x", "poller": []},
        {"budget": None, "poller": 5},
        {
            "budget": {
                "last_request_at": 1767229200,
                "cooldown_until": "not a time",
                "rate_limited_repeats": True,
                "refresh_spawned_at": ["2026-11-24T12:00:00+00:00"],
            },
            "poller": {"interval_s": "60", "heartbeat_at": {}},
        },
        {
            "budget": {"last_request_at": "2026-11-24T12:48:00", "rate_limited_repeats": "3"},
            "poller": {"interval_s": -60, "heartbeat_at": "2026-11-24T12:48:00"},
        },
        {"budget": {"rate_limited_repeats": 2.5}, "poller": {"interval_s": 0, "heartbeat_at": None}},
        {"poller": {"interval_s": True}},
    ],
)
def test_garbage_document_has_an_empty_budget(doc: dict[str, Any]) -> None:
    """Unreadable entries (wrong types, naive times, non-positive intervals) count as absent."""
    assert EMPTY_FIELDS == fields(SharedBudget(doc))


def test_budget_reads_what_it_wrote() -> None:
    """Every value written comes back the same, through JSON as the store keeps it."""
    budget = SharedBudget({})
    budget.last_request_at = NOW - timedelta(seconds=12)
    budget.cooldown_until = NOW + timedelta(minutes=5)
    budget.rate_limited_repeats = 3
    budget.refresh_spawned_at = NOW - timedelta(seconds=2)
    doc = json.loads(json.dumps(with_poller(budget.write({}), pid=4242, interval_s=60.0, now=NOW)))
    expected = fields(budget) | {"poller_interval_s": 60.0, "poller_heartbeat_at": NOW}
    assert expected == fields(SharedBudget(doc))


def test_write_keeps_the_rest_of_the_document() -> None:
    """Writing the budget keeps the sources and the poller entry as they were."""
    doc = with_poller({"schema": 1, "sources": {"api": {"raw": {}}}}, pid=1, interval_s=60.0, now=NOW)
    budget = SharedBudget(doc)
    budget.record_request(NOW)
    new = budget.write(doc)
    assert {k: doc[k] for k in ("schema", "sources", "poller")} == {k: new[k] for k in ("schema", "sources", "poller")}


def test_write_does_not_change_its_input() -> None:
    """The document passed in is left as it was."""
    doc: dict[str, Any] = {"budget": {"rate_limited_repeats": 1}}
    before = copy.deepcopy(doc)
    budget = SharedBudget(doc)
    budget.record_rate_limit(NOW, None)
    budget.write(doc)
    assert before == doc


# -- next_allowed -----------------------------------------------------------------------------------


def test_nothing_recorded_allows_a_request_now() -> None:
    """With no request and no cooldown on record, a request may go out now."""
    assert SharedBudget({}).next_allowed(NOW, SPACING) is None


def test_recent_request_holds_back_until_the_spacing_has_passed() -> None:
    """A request 10 s ago with 30 s spacing allows the next one 20 s from now."""
    budget = SharedBudget({})
    budget.record_request(NOW - timedelta(seconds=10))
    assert NOW + timedelta(seconds=20) == budget.next_allowed(NOW, SPACING)


@pytest.mark.parametrize("ago", [30, 31, 3600])
def test_request_a_spacing_ago_allows_one_now(ago: int) -> None:
    """Once the spacing has passed since the last request, a request may go out now."""
    budget = SharedBudget({})
    budget.record_request(NOW - timedelta(seconds=ago))
    assert budget.next_allowed(NOW, SPACING) is None


def test_cooldown_holds_back_until_it_ends() -> None:
    """A cooldown ending in 4 minutes allows the next request then, even long after the last request."""
    budget = SharedBudget({})
    budget.record_request(NOW - timedelta(hours=1))
    budget.cooldown_until = NOW + timedelta(minutes=4)
    assert NOW + timedelta(minutes=4) == budget.next_allowed(NOW, SPACING)


def test_spacing_beyond_a_cooldown_wins() -> None:
    """When the spacing ends after the cooldown, the later of the two decides."""
    budget = SharedBudget({})
    budget.record_request(NOW - timedelta(seconds=5))
    budget.cooldown_until = NOW + timedelta(seconds=10)
    assert NOW + timedelta(seconds=25) == budget.next_allowed(NOW, SPACING)


def test_past_cooldown_allows_a_request_now() -> None:
    """A cooldown that has ended holds nothing back."""
    budget = SharedBudget({})
    budget.cooldown_until = NOW - timedelta(seconds=1)
    assert budget.next_allowed(NOW, SPACING) is None


def test_cooling_down_only_before_the_cooldown_ends() -> None:
    """cooling_down is true before the cooldown's end and false from then on."""
    budget = SharedBudget({})
    budget.cooldown_until = NOW
    actual = [budget.cooling_down(NOW - timedelta(seconds=1)), budget.cooling_down(NOW)]
    assert [True, False] == actual


# -- 429s -------------------------------------------------------------------------------------------


def test_repeated_429s_double_the_cooldown_up_to_an_hour() -> None:
    """Without Retry-After, the cooldown is 5 minutes, doubling on each repeat, capped at an hour."""
    budget = SharedBudget({})
    actual = [(budget.record_rate_limit(NOW, None) - NOW).total_seconds() for _ in range(6)]
    assert [300.0, 600.0, 1200.0, 2400.0, 3600.0, 3600.0] == actual


def test_retry_after_is_honoured() -> None:
    """A Retry-After of 120 s sets the cooldown to end 120 s from now, repeats or not."""
    budget = SharedBudget({"budget": {"rate_limited_repeats": 3}})
    assert NOW + timedelta(seconds=120) == budget.record_rate_limit(NOW, 120.0)


def test_zero_retry_after_falls_back_to_the_default() -> None:
    """A Retry-After of 0 is no advice: the first cooldown is 5 minutes."""
    assert NOW + timedelta(minutes=5) == SharedBudget({}).record_rate_limit(NOW, 0.0)


def test_429_is_recorded_in_the_document() -> None:
    """The cooldown and the repeat count reach the document that other processes read."""
    budget = SharedBudget({})
    budget.record_rate_limit(NOW, None)
    written = budget.write({})["budget"]
    assert {"cooldown_until": "2026-11-24T12:54:00+00:00", "rate_limited_repeats": 1} == {
        k: written[k] for k in ("cooldown_until", "rate_limited_repeats")
    }


def test_success_ends_the_cooldown() -> None:
    """A good reply clears the cooldown and the repeat count, so the next 429 starts at 5 minutes again."""
    budget = SharedBudget({})
    budget.record_rate_limit(NOW, None)
    budget.record_rate_limit(NOW, None)
    budget.record_success()
    assert NOW + timedelta(minutes=5) == budget.record_rate_limit(NOW, None)


# -- a live poller ----------------------------------------------------------------------------------


def test_max_age_without_a_poller() -> None:
    """Without a dashboard polling, a reader's own max age applies."""
    assert 30.0 == SharedBudget({}).effective_max_age(30.0, NOW)


@pytest.mark.parametrize("ago", [0, 10, 75])
def test_live_poller_is_trusted_within_its_interval_and_15_s(ago: int) -> None:
    """A dashboard polling every 60 s that beat 0-75 s ago stretches others' max age to 75 s."""
    doc = with_poller({}, pid=4242, interval_s=60.0, now=NOW - timedelta(seconds=ago))
    assert 75.0 == SharedBudget(doc).effective_max_age(30.0, NOW)


@pytest.mark.parametrize("ago", [76, 3600])
def test_gone_poller_is_ignored(ago: int) -> None:
    """A dashboard whose heartbeat is older than its interval plus 15 s no longer counts."""
    doc = with_poller({}, pid=4242, interval_s=60.0, now=NOW - timedelta(seconds=ago))
    assert 30.0 == SharedBudget(doc).effective_max_age(30.0, NOW)


def test_poller_never_shortens_a_longer_max_age() -> None:
    """A reader content with 10-minute-old numbers keeps its own max age."""
    doc = with_poller({}, pid=4242, interval_s=60.0, now=NOW)
    assert 600.0 == SharedBudget(doc).effective_max_age(600.0, NOW)


def test_poller_does_not_trust_itself() -> None:
    """The dashboard itself polls on its own max age."""
    doc = with_poller({}, pid=4242, interval_s=60.0, now=NOW)
    assert 30.0 == SharedBudget(doc).effective_max_age(30.0, NOW, is_poller=True)
