"""The /metrics Collector over a real poller (fake clock, scripted client): parsed with prometheus_client's parsers."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

from claude_usage.adapters.store import Store
from claude_usage.commands.jsondoc import snapshot_json
from claude_usage.errors import RateLimited
from claude_usage.service.exporter import (
    METRICS,
    CountingFetcher,
    ServedAccount,
    count_requests,
    exposition,
    registry,
)
from claude_usage.service.poller import Poller
from claude_usage.service.totals import TranscriptTotals
from tests.conftest import load_fixture
from tests.support import transcripts
from tests.support.fakes import ACCOUNT_KEY, CountingHistory, FakeClock, FakeCredentials, ScriptedClient, build_reader

Labels = tuple[tuple[str, str], ...]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def history(tmp_path: Path) -> Iterator[CountingHistory]:
    history = CountingHistory.open(tmp_path / "history.sqlite3")
    yield history
    history.close()


def _served(
    tmp_path: Path,
    clock: FakeClock,
    client: ScriptedClient,
    *,
    history: CountingHistory | None = None,
    credentials: FakeCredentials | None = None,
    totals: TranscriptTotals | None = None,
) -> ServedAccount:
    reader = build_reader(Store(tmp_path / "store"), clock, client, credentials=credentials, history=history)
    counts = count_requests(reader)
    return ServedAccount("default", Poller(reader, interval_s=60.0, floor_s=10.0), counts, totals)


def _scrape(*accounts: ServedAccount, accept: str | None = None) -> dict[str, dict[Labels, float]]:
    """The text format parsed back: sample name -> labels -> value."""
    body, _ = exposition(registry(accounts), accept)
    found: dict[str, dict[Labels, float]] = {}
    for family in parse_text(body.decode()):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def _limit(limit: str, account: str = "default") -> Labels:
    return (("account", account), ("limit", limit))


def _document(account: ServedAccount) -> dict[str, Any]:
    view = account.poller.view
    assert view.snapshot is not None
    return snapshot_json(view.snapshot, account.poller.clock.now(), max_age_s=75, insights=view.insights)


def test_every_family_has_the_documented_name_type_and_labels(tmp_path: Path, clock: FakeClock) -> None:
    """The families parsed back are exactly METRICS, each with its type (info is a gauge in this format) and labels."""
    served = _served(tmp_path, clock, ScriptedClient(load_fixture("max-typical")))
    served.poller.run_due()
    body, _ = exposition(registry([served]), None)
    parsed = {family.name: family for family in parse_text(body.decode())}
    expected = {
        name.removesuffix("_total"): "gauge" if kind == "info" else kind for name, (kind, _, _) in METRICS.items()
    }
    assert expected == {name: family.type for name, family in parsed.items()}
    for name, (_, labels, _) in METRICS.items():
        family = parsed[name.removesuffix("_total")]
        assert all(set(labels) == set(sample.labels) for sample in family.samples), name


def test_per_limit_values_equal_the_json_document(tmp_path: Path, clock: FakeClock, history: CountingHistory) -> None:
    """Utilization, resets, age, pace and binding of every limit equal what `--json` says at the same instant."""
    served = _served(tmp_path, clock, ScriptedClient(load_fixture("max-typical")), history=history)
    served.poller.run_due()
    clock.advance(42)
    document, metrics = _document(served), _scrape(served)
    binding = document["binding"]["key"] if document["binding"] else None
    assert 3 == len(document["windows"])
    for window in document["windows"]:
        labels = _limit(window["key"])
        resets = datetime.fromisoformat(window["resets_at"])
        observed = datetime.fromisoformat(window["observed_at"])
        assert window["utilization"] / 100 == metrics["claude_usage_utilization_ratio"][labels]
        assert window["utilization"] == metrics["claude_usage_utilization_percent"][labels]
        assert resets.timestamp() == metrics["claude_usage_reset_timestamp_seconds"][labels]
        assert window["resets_in_seconds"] == math.ceil(metrics["claude_usage_reset_remaining_seconds"][labels])
        by_source = (*labels, ("source", window["source"]))
        age = metrics["claude_usage_observed_age_seconds"][by_source]
        assert (clock.now() - observed).total_seconds() == age
        assert window["pace"]["delta_pct"] == round(metrics["claude_usage_pace_delta_ratio"][labels] * 100, 2)
        assert (1.0 if window["key"] == binding else 0.0) == metrics["claude_usage_binding"][labels]


def test_the_binding_limit_is_1_and_the_others_0(tmp_path: Path, clock: FakeClock) -> None:
    """Over the limit: the used-up limit that frees up last binds; every other limit is exported as 0."""
    served = _served(tmp_path, clock, ScriptedClient(load_fixture("over-limit-with-credit")))
    served.poller.run_due()
    binding = _scrape(served)["claude_usage_binding"]
    assert _document(served)["binding"]["key"] == "seven_day_sonnet"
    assert {"five_hour": 0.0, "seven_day": 0.0, "seven_day_sonnet": 1.0, "cinder_cove": 0.0} == {
        dict(labels)["limit"]: value for labels, value in binding.items()
    }


@pytest.mark.parametrize(
    ("fixture", "currency", "used", "cap"),
    [("max-typical", "USD", 12.34, 50.0), ("yen-credits", "JPY", 1500.0, 3000.0)],
)
def test_credits_are_in_major_units_with_the_currency(
    tmp_path: Path, clock: FakeClock, fixture: str, currency: str, used: float, cap: float
) -> None:
    """Usage credits: cents become dollars, yen stay yen; the currency is a label."""
    served = _served(tmp_path, clock, ScriptedClient(load_fixture(fixture)))
    served.poller.run_due()
    metrics = _scrape(served)
    labels = (("account", "default"), ("currency", currency))
    assert (used, cap) == (metrics["claude_usage_credits_used"][labels], metrics["claude_usage_credits_limit"][labels])


def test_a_limit_past_its_reset_exports_no_utilization(tmp_path: Path, clock: FakeClock) -> None:
    """Once the session's reset has passed, its old number is not exported; its binding row still is."""
    served = _served(tmp_path, clock, ScriptedClient(load_fixture("max-typical")))
    served.poller.run_due()
    clock.advance(3 * 3600)  # past 15:00, the session's reset; the poller has not polled again
    metrics = _scrape(served)
    assert _limit("five_hour") not in metrics["claude_usage_utilization_ratio"]
    assert _limit("seven_day") in metrics["claude_usage_utilization_ratio"]
    assert 0.0 == metrics["claude_usage_reset_remaining_seconds"][_limit("five_hour")]
    assert _limit("five_hour") in metrics["claude_usage_binding"]


def test_requests_and_429s_are_counted(tmp_path: Path, clock: FakeClock) -> None:
    """Each request sent counts once; a 429 counts in both, starts the cooldown and sets the problem."""
    limited = RateLimited("slow down", retry_at=None, retry_after_s=120.0)
    served = _served(tmp_path, clock, ScriptedClient(load_fixture("max-typical"), limited))
    served.poller.run_due()
    clock.advance(61)
    served.poller.run_due()
    metrics = _scrape(served)
    account = (("account", "default"),)
    assert (2.0, 1.0) == (
        metrics["claude_usage_endpoint_requests_total"][account],
        metrics["claude_usage_endpoint_rate_limited_total"][account],
    )
    assert 120.0 == metrics["claude_usage_cooldown_seconds"][account]
    assert 1.0 == metrics["claude_usage_problem"][(("account", "default"), ("kind", "rate_limited"))]


def test_a_scrape_sends_no_request(tmp_path: Path, clock: FakeClock) -> None:
    """Scraping a hundred times sends nothing: the count stays at the poller's one request."""
    client = ScriptedClient(load_fixture("max-typical"))
    served = _served(tmp_path, clock, client)
    served.poller.run_due()
    for _ in range(100):
        _scrape(served)
    assert (1, 1) == (len(client.sent), served.counts.requests)


def test_counting_wraps_the_client_once(tmp_path: Path, clock: FakeClock) -> None:
    """Counting a reader twice keeps one wrapper and one count."""
    reader = build_reader(Store(tmp_path / "store"), clock, ScriptedClient(load_fixture("max-typical")))
    first = count_requests(reader)
    assert (first, True) == (count_requests(reader), isinstance(reader.service.client, CountingFetcher))


def test_without_a_login_only_the_problem_and_counts_are_exported(tmp_path: Path, clock: FakeClock) -> None:
    """No credentials: problem{kind="auth"} is 1, nothing was sent, and no limit is made up."""
    served = _served(tmp_path, clock, ScriptedClient({}), credentials=FakeCredentials(stored=None))
    served.poller.run_due()
    metrics = _scrape(served)
    assert 1.0 == metrics["claude_usage_problem"][(("account", "default"), ("kind", "auth"))]
    assert 0.0 == metrics["claude_usage_endpoint_requests_total"][(("account", "default"),)]
    assert "claude_usage_utilization_ratio" not in metrics


def test_the_account_info_names_the_key_and_plan(tmp_path: Path, clock: FakeClock) -> None:
    """claude_usage_account_info carries the account key and the plan."""
    served = _served(tmp_path, clock, ScriptedClient(load_fixture("max-typical")))
    served.poller.run_due()
    info = _scrape(served)["claude_usage_account_info"]
    assert {(("account", "default"), ("key", ACCOUNT_KEY), ("plan", "Max 5x")): 1.0} == info


def test_openmetrics_is_served_when_asked(tmp_path: Path, clock: FakeClock) -> None:
    """Accept: application/openmetrics-text gets OpenMetrics (parsed by its own parser), with units and # EOF."""
    served = _served(tmp_path, clock, ScriptedClient(load_fixture("max-typical")))
    served.poller.run_due()
    accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
    body, content_type = exposition(registry([served]), accept)
    parsed = parse_openmetrics(body.decode())  # type: ignore[no-untyped-call]  # this parser has no hints
    families = {family.name: family for family in parsed}
    assert content_type.startswith("application/openmetrics-text; version=")
    assert body.endswith(b"# EOF\n")
    assert ("counter", "seconds") == (
        families["claude_usage_endpoint_requests"].type,
        families["claude_usage_reset_remaining_seconds"].unit,
    )


def test_the_classic_text_format_is_the_default(tmp_path: Path, clock: FakeClock) -> None:
    """Without an Accept header: the Prometheus text format 0.0.4."""
    served = _served(tmp_path, clock, ScriptedClient(load_fixture("max-typical")))
    assert exposition(registry([served]), None)[1].startswith("text/plain; version=0.0.4")


def test_several_accounts_are_told_apart_by_their_label(tmp_path: Path, clock: FakeClock) -> None:
    """Two served accounts: each limit once per account, under its own name."""
    first = _served(tmp_path / "a", clock, ScriptedClient(load_fixture("max-typical")))
    second = _served(tmp_path / "b", clock, ScriptedClient(load_fixture("yen-credits")))
    second = second._replace(name="work")
    first.poller.run_due()
    second.poller.run_due()
    ratio = _scrape(first, second)["claude_usage_utilization_ratio"]
    assert (0.78, 0.12) == (ratio[_limit("five_hour")], ratio[_limit("five_hour", "work")])


def test_transcript_tokens_and_cost_are_counted_per_model(tmp_path: Path, clock: FakeClock, home: Path) -> None:
    """With transcripts: tokens by model and type, and their cost in dollars at API prices."""
    claude = home / ".claude"
    when = (clock.now() - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    transcripts.write(
        claude,
        "-home-ana-shop/s1.jsonl",
        transcripts.assistant("m1", "r1", when=when, input_tokens=1000, output_tokens=2000, cache_read=500),
        transcripts.assistant("m2", "r2", when=when, model="claude-opus-4-6", input_tokens=10, output_tokens=20),
    )
    totals = TranscriptTotals(
        {"HOME": str(home), "CLAUDE_CONFIG_DIR": str(claude), "CLAUDE_USAGE_DATA_DIR": str(tmp_path)}
    )
    totals.refresh()
    served = _served(tmp_path, clock, ScriptedClient(load_fixture("max-typical")), totals=totals)
    metrics = _scrape(served)
    tokens = metrics["claude_usage_tokens_total"]
    sonnet = (("account", "default"), ("model", "claude-sonnet-4-6"))
    by_type = {
        dict(labels)["type"]: value for labels, value in tokens.items() if ("model", "claude-sonnet-4-6") in labels
    }
    assert {"input": 1000.0, "output": 2000.0, "cache_read": 500.0, "cache_write": 0.0} == by_type
    cost = metrics["claude_usage_cost_usd_total"]
    assert pytest.approx(1000 * 3e-6 + 2000 * 15e-6 + 500 * 0.3e-6) == cost[sonnet]
    assert 2 == len(cost)
