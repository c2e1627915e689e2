"""The Prometheus metrics of `claude-usage serve`: a Collector that reads the pollers' views at scrape time.

A scrape only reads what the pollers already hold (and the request counts and transcript totals kept beside
them): it never reads a file, takes a lock or sends a request. One `ServedAccount` per account, in the order
given; every metric carries the `account` label (the account's name, `default` for the one login) and the
per-limit ones the `limit` label (the window key, as in `--json`). The names and their labels are documented
in the README ("Prometheus metrics"); `METRICS` below is the one list of them.

Imported only by `commands/serve.py`: prometheus_client loads with it, never on the status line's or a
one-shot's path (tests/test_serve_imports.py).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, NamedTuple

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector, CollectorRegistry

from claude_usage.core.binding import binding as find_binding
from claude_usage.core.wire import ZERO_DECIMAL_CURRENCIES
from claude_usage.errors import RateLimited

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from datetime import datetime

    from prometheus_client.metrics_core import Metric

    from claude_usage.adapters.credentials import Secret
    from claude_usage.core.model import Money, Window
    from claude_usage.service.fetch import UsageFetcher
    from claude_usage.service.poller import Poller, PollView
    from claude_usage.service.reader import Reader
    from claude_usage.service.totals import TranscriptTotals

PROBLEM_KINDS = ("auth", "rate_limited", "unavailable")

# name -> (type, labels, help): the one list of what /metrics exports (the README's table follows it).
METRICS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "claude_usage_utilization_ratio": ("gauge", ("account", "limit"), "Share of the limit used, 0-1 (may pass 1)."),
    "claude_usage_utilization_percent": ("gauge", ("account", "limit"), "Share of the limit used, in percent."),
    "claude_usage_reset_timestamp_seconds": ("gauge", ("account", "limit"), "When the limit resets (Unix time)."),
    "claude_usage_reset_remaining_seconds": ("gauge", ("account", "limit"), "Seconds until the limit resets."),
    "claude_usage_observed_age_seconds": (
        "gauge",
        ("account", "limit", "source"),
        "Age of the number shown for the limit; source: api, claude_cache, statusline, demo.",
    ),
    "claude_usage_pace_delta_ratio": (
        "gauge",
        ("account", "limit"),
        "Share used minus share of the window elapsed: above 0 runs ahead of an even pace.",
    ),
    "claude_usage_pace_elapsed_ratio": ("gauge", ("account", "limit"), "Share of the limit's window elapsed, 0-1."),
    "claude_usage_forecast_exhaustion_timestamp_seconds": (
        "gauge",
        ("account", "limit"),
        "When the limit is forecast to run out, if before its reset (Unix time).",
    ),
    "claude_usage_forecast_end_ratio": (
        "gauge",
        ("account", "limit"),
        "Share of the limit forecast to be used at its reset.",
    ),
    "claude_usage_binding": (
        "gauge",
        ("account", "limit"),
        "1 for the limit that binds (used up, or forecast to run out first), 0 for the others.",
    ),
    "claude_usage_limit_info": ("info", ("account", "limit", "label", "kind"), "Each limit's title and kind."),
    "claude_usage_credits_used": ("gauge", ("account", "currency"), "Usage credits spent this month, major units."),
    "claude_usage_credits_limit": ("gauge", ("account", "currency"), "Monthly cap on usage credits, major units."),
    "claude_usage_cooldown_seconds": (
        "gauge",
        ("account",),
        "Seconds until the endpoint may be asked again after a 429 (0: not cooling down).",
    ),
    "claude_usage_last_reading_timestamp_seconds": (
        "gauge",
        ("account",),
        "When the freshest reading shown was observed (Unix time).",
    ),
    "claude_usage_problem": (
        "gauge",
        ("account", "kind"),
        "1 while the last poll failed this way (auth, rate_limited, unavailable), else 0.",
    ),
    "claude_usage_account_info": ("info", ("account", "key", "plan"), "The account key and plan of each account."),
    "claude_usage_endpoint_requests_total": (
        "counter",
        ("account",),
        "Requests this process sent to the usage endpoint.",
    ),
    "claude_usage_endpoint_rate_limited_total": (
        "counter",
        ("account",),
        "Of those, the ones answered 429 (rate limited).",
    ),
    "claude_usage_tokens_total": (
        "counter",
        ("account", "model", "type"),
        "Tokens in Claude Code's transcripts; type: input, output, cache_write, cache_read.",
    ),
    "claude_usage_cost_usd_total": (
        "counter",
        ("account", "model"),
        "What those tokens would cost at API prices, in US dollars.",
    ),
}


class RequestCounts:
    """Requests this process sent for one account, and how many were answered 429 (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.rate_limited = 0

    def sent(self) -> None:
        with self._lock:
            self.requests += 1

    def was_rate_limited(self) -> None:
        with self._lock:
            self.rate_limited += 1


class CountingFetcher:
    """A UsageFetcher that counts each request it passes on, and each 429 answer, into `RequestCounts`."""

    def __init__(self, inner: UsageFetcher, counts: RequestCounts) -> None:
        self.inner = inner
        self.counts = counts
        self.base_url = inner.base_url
        self.timeout_s = inner.timeout_s

    def fetch(self, token: Secret) -> dict[str, object]:
        self.counts.sent()
        try:
            return self.inner.fetch(token)
        except RateLimited:
            self.counts.was_rate_limited()
            raise


def count_requests(reader: Reader) -> RequestCounts:
    """Count every request `reader` sends from now on (its service's client, wrapped once)."""
    client = reader.service.client
    if isinstance(client, CountingFetcher):
        return client.counts
    counts = RequestCounts()
    reader.service.client = CountingFetcher(client, counts)
    return counts


class ServedAccount(NamedTuple):
    """One account `serve` exports: its name (the `account` label), its poller, its counts, its transcripts."""

    name: str
    poller: Poller
    counts: RequestCounts
    totals: TranscriptTotals | None = None


def _major(amount: Money) -> float:
    """Minor units as major ones: cents as dollars, yen as yen."""
    return amount.minor / (1 if amount.currency.upper() in ZERO_DECIMAL_CURRENCIES else 100)


class UsageCollector(Collector):
    """Every metric of every served account, from the views the pollers hold at this instant."""

    def __init__(self, accounts: Sequence[ServedAccount]) -> None:
        self.accounts = list(accounts)

    def collect(self) -> Iterator[Metric]:
        families = {name: _family(name) for name in METRICS}
        for account in self.accounts:
            view = account.poller.view
            _account_metrics(families, account, view, account.poller.clock.now())
        yield from families.values()


def _family(name: str) -> Metric:
    kind, labels, text = METRICS[name]
    if kind == "counter":
        return CounterMetricFamily(name, text, labels=labels)
    if kind == "info":
        return InfoMetricFamily(name.removesuffix("_info"), text, labels=labels[:1])
    unit = "seconds" if name.endswith("_seconds") else "ratio" if name.endswith("_ratio") else ""
    return GaugeMetricFamily(name, text, labels=labels, unit=unit)


def _add(families: dict[str, Metric], name: str, labels: Sequence[str], value: float) -> None:
    family = families[name]
    assert isinstance(family, (GaugeMetricFamily, CounterMetricFamily))  # noqa: S101 - METRICS says so
    family.add_metric(list(labels), value)


def _info(families: dict[str, Metric], name: str, labels: Sequence[str]) -> None:
    family = families[name]
    assert isinstance(family, InfoMetricFamily)  # noqa: S101 - METRICS says so
    names = METRICS[name][1]
    family.add_metric([labels[0]], dict(zip(names[1:], labels[1:], strict=True)))


def _account_metrics(families: dict[str, Metric], account: ServedAccount, view: PollView, now: datetime) -> None:
    name = account.name
    for kind in PROBLEM_KINDS:
        _add(families, "claude_usage_problem", (name, kind), 1.0 if view.problem_kind == kind else 0.0)
    _add(families, "claude_usage_endpoint_requests_total", (name,), account.counts.requests)
    _add(families, "claude_usage_endpoint_rate_limited_total", (name,), account.counts.rate_limited)
    if account.totals is not None:
        _transcript_metrics(families, name, account.totals)
    snapshot = view.snapshot
    if snapshot is None:
        return
    _info(families, "claude_usage_account_info", (name, snapshot.account, view.plan or snapshot.plan or ""))
    cooldown = snapshot.budget.cooldown_until
    remaining = max(0.0, (cooldown - now).total_seconds()) if cooldown is not None else 0.0
    _add(families, "claude_usage_cooldown_seconds", (name,), remaining)
    if snapshot.fetched_at is not None:
        _add(families, "claude_usage_last_reading_timestamp_seconds", (name,), snapshot.fetched_at.timestamp())
    insights = view.insights
    bound = insights.binding if insights is not None else find_binding(snapshot.usage, {}, now)
    for window in snapshot.usage.windows:
        _window_metrics(families, name, window, now, view)
        _add(families, "claude_usage_binding", (name, window.key), 1.0 if bound and bound.key == window.key else 0.0)
    extra = snapshot.usage.extra_usage
    if extra is not None and extra.used is not None:
        _add(families, "claude_usage_credits_used", (name, extra.used.currency), _major(extra.used))
    if extra is not None and extra.monthly_limit is not None:
        limit = extra.monthly_limit
        _add(families, "claude_usage_credits_limit", (name, limit.currency), _major(limit))


def _window_metrics(families: dict[str, Metric], name: str, window: Window, now: datetime, view: PollView) -> None:
    labels = (name, window.key)
    _info(families, "claude_usage_limit_info", (name, window.key, window.label, window.kind))
    if window.resets_at is not None:
        _add(families, "claude_usage_reset_timestamp_seconds", labels, window.resets_at.timestamp())
        _add(
            families, "claude_usage_reset_remaining_seconds", labels, max(0.0, (window.resets_at - now).total_seconds())
        )
    if window.reset_passed or (window.resets_at is not None and window.resets_at <= now):
        return  # its number belongs to a window that has reset: nothing current to export
    _add(families, "claude_usage_utilization_ratio", labels, window.utilization / 100)
    _add(families, "claude_usage_utilization_percent", labels, window.utilization)
    if window.observed_at is not None:
        age = max(0.0, (now - window.observed_at).total_seconds())
        _add(families, "claude_usage_observed_age_seconds", (*labels, window.source), age)
    insights = view.insights
    if insights is None:
        return
    pace = insights.pace.get(window.key)
    if pace is not None:
        _add(families, "claude_usage_pace_delta_ratio", labels, pace.delta_pct / 100)
        _add(families, "claude_usage_pace_elapsed_ratio", labels, pace.elapsed_pct / 100)
    forecast = insights.forecasts.get(window.key)
    if forecast is not None and forecast.before_reset and forecast.exhausts_at is not None:
        _add(families, "claude_usage_forecast_exhaustion_timestamp_seconds", labels, forecast.exhausts_at.timestamp())
    if forecast is not None and forecast.end_pct is not None:
        _add(families, "claude_usage_forecast_end_ratio", labels, forecast.end_pct / 100)


def _transcript_metrics(families: dict[str, Metric], name: str, totals: TranscriptTotals) -> None:
    for model, sums in sorted(totals.by_model().items()):
        for kind in ("input", "output", "cache_write", "cache_read"):
            _add(families, "claude_usage_tokens_total", (name, model, kind), getattr(sums, kind))
        _add(families, "claude_usage_cost_usd_total", (name, model), sums.cost_usd)


def registry(accounts: Sequence[ServedAccount]) -> CollectorRegistry:
    """A registry of our collector alone (no process or platform metrics: they would say nothing useful)."""
    found = CollectorRegistry(auto_describe=False)
    found.register(UsageCollector(accounts))
    return found


def exposition(metrics: CollectorRegistry, accept: str | None) -> tuple[bytes, str]:
    """The metrics in the format the `Accept` header asks for (OpenMetrics, else the classic text format)."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(metrics), content_type
