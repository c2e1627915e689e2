"""Summaries of past windows from history rows: the peak, when it was hit, and the time spent at the limit.

A window is one (account, key, reset time): every row of a limit with the same `resets_at` belongs to the
same window. Time at the limit is the time between a sighting at 100 % or more and the next sighting of
that window (or, for the last one, its last sighting). A window is running until its reset. Titles are
Claude Code's, from the parser's own label rules (core/wire.py). Pure.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple, Protocol

# The parser's label rules, so a stored key gets the title its window had when it was read.
from claude_usage.core.wire import _CREDIT_LABELS, WINDOW_LABELS, _limit_label, _title_from_key

if TYPE_CHECKING:
    from collections.abc import Iterable


class RowLike(Protocol):
    """A stored history row (adapters/history.py's Row)."""

    @property
    def account(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def utilization(self) -> float: ...
    @property
    def resets_at(self) -> datetime | None: ...
    @property
    def source(self) -> str: ...
    @property
    def observed_at(self) -> datetime: ...
    @property
    def last_seen_at(self) -> datetime: ...


class WindowSummary(NamedTuple):
    """One past (or current) window of one limit."""

    account: str
    key: str
    resets_at: datetime | None
    first_seen: datetime
    last_seen: datetime
    peak: float
    peak_at: datetime
    at_limit: timedelta
    sightings: int


def window_title(key: str) -> str:
    """Claude Code's title for a stored limit key: `Current session` for five_hour and limits.session, ...

    A limits[] key keeps its model's id, not its display name: `Current week (claude-opus-4)`.
    """
    if key in WINDOW_LABELS:
        return WINDOW_LABELS[key]
    if key.startswith("limits."):
        kind, _, model = key.removeprefix("limits.").partition(".")
        return _limit_label(kind, model or None)
    if key in _CREDIT_LABELS:
        return _CREDIT_LABELS[key]
    if key.startswith("promo_credits."):
        return "Promotional credit"
    return _title_from_key(key)


def running(summary: WindowSummary, now: datetime) -> bool:
    """Whether the window is still open at `now`: its reset is known and ahead."""
    return summary.resets_at is not None and summary.resets_at > now


def _window_id(row: RowLike) -> tuple[str, str, datetime | None]:
    # Resets drift by fractions of a second between sources (14:59:59.94 and 15:00:00): the nearest
    # minute identifies the window.
    reset = (row.resets_at + timedelta(seconds=30)).replace(second=0, microsecond=0) if row.resets_at else None
    return row.account, row.key, reset


def summarise(rows: Iterable[RowLike]) -> list[WindowSummary]:
    """One summary per window, oldest first."""
    groups: dict[tuple[str, str, datetime | None], list[RowLike]] = {}
    for row in rows:
        groups.setdefault(_window_id(row), []).append(row)
    summaries = []
    for (account, key, _), members in groups.items():
        members.sort(key=lambda r: r.observed_at)
        peak_row = max(members, key=lambda r: (r.utilization, -r.observed_at.timestamp()))
        at_limit = timedelta()
        for index, row in enumerate(members):
            if math.floor(row.utilization) < 100:
                continue
            nxt = members[index + 1].observed_at if index + 1 < len(members) else row.last_seen_at
            at_limit += max(timedelta(), nxt - row.observed_at)
        summaries.append(
            WindowSummary(
                account=account,
                key=key,
                resets_at=members[-1].resets_at,
                first_seen=members[0].observed_at,
                last_seen=max(r.last_seen_at for r in members),
                peak=peak_row.utilization,
                peak_at=peak_row.observed_at,
                at_limit=at_limit,
                sightings=len(members),
            )
        )
    summaries.sort(key=lambda s: (s.first_seen, s.key))
    return summaries


def summary_json(summary: WindowSummary) -> dict[str, object]:
    """A window summary as the documented export has it (times ISO-8601 with offset)."""

    def iso(when: datetime | None) -> str | None:
        return when.isoformat() if when else None

    return {
        "account": summary.account,
        "key": summary.key,
        "resets_at": iso(summary.resets_at),
        "first_seen": iso(summary.first_seen),
        "last_seen": iso(summary.last_seen),
        "peak": summary.peak,
        "peak_at": iso(summary.peak_at),
        "seconds_at_limit": int(summary.at_limit.total_seconds()),
        "sightings": summary.sightings,
    }


SUMMARY_COLUMNS = (
    "account",
    "key",
    "resets_at",
    "first_seen",
    "last_seen",
    "peak",
    "peak_at",
    "seconds_at_limit",
    "sightings",
)
