"""The account document as the model: every source's `Usage`, merged into what the faces show.

Pure. The document's schema and the per-window rules (freshest wins, a capture never lowers its window,
a later reset supersedes, a whole reply is authoritative, a lone status-line 100 is unconfirmed) live in
core/document.py, which the status line uses directly; this module applies the same `choose` to the
model's windows, for the dashboard and the one-shots.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from claude_usage.core import document
from claude_usage.core.document import REPLY_SOURCES, SCHEMA, record_feed, record_reply
from claude_usage.core.feed import sanitize_feed
from claude_usage.core.model import Usage, Window
from claude_usage.core.times import parse_time
from claude_usage.core.wire import WINDOW_LABELS, parse_usage
from claude_usage.errors import BadReply

__all__ = [
    "SCHEMA",
    "merge",
    "needs_refresh",
    "oldest",
    "plan",
    "raw_reply",
    "record_feed",
    "record_reading",
    "sanitize_feed",
    "usages",
]

record_reading = record_reply  # the name the rest of the service knows


def _time(value: object) -> datetime | None:
    try:
        return parse_time(value, "store")
    except BadReply:
        return None


def usages(doc: dict[str, Any]) -> list[Usage]:
    """Every source's usage in the document; unreadable entries are skipped, never fatal."""
    found: list[Usage] = []
    sources = document.sources(doc)
    for name in REPLY_SOURCES:
        entry = sources.get(name)
        if not isinstance(entry, dict):
            continue
        observed_at = _time(entry.get("observed_at"))
        if observed_at is None:
            continue
        try:
            found.append(parse_usage(entry.get("raw"), source=name, observed_at=observed_at))
        except BadReply:
            continue
    feed = sources.get("statusline")
    windows = feed.get("windows") if isinstance(feed, dict) else None
    if isinstance(windows, dict):
        feed_windows = _feed_windows(windows)
        if feed_windows:
            found.append(Usage(windows=tuple(feed_windows)))
    return found


def _feed_windows(windows: dict[str, Any]) -> list[Window]:
    result = []
    for key, period in document.FEED_KEYS.items():
        entry = windows.get(key)
        if not isinstance(entry, dict):
            continue
        value = entry.get("utilization")
        observed_at = _time(entry.get("observed_at"))
        if isinstance(value, bool) or not isinstance(value, (int, float)) or observed_at is None:
            continue
        result.append(
            Window(
                key=key,
                label=WINDOW_LABELS[key],
                utilization=value,
                resets_at=_time(entry.get("resets_at")),
                period=period,
                source="statusline",
                observed_at=observed_at,
            )
        )
    return result


def plan(doc: dict[str, Any]) -> str | None:
    """The plan recorded with the freshest whole reading, if any."""
    best = document.freshest_reply(doc)
    found = best[1].get("plan") if best else None
    return found if isinstance(found, str) else None


def raw_reply(doc: dict[str, Any]) -> tuple[dict[str, Any], str, datetime] | None:
    """The freshest whole reply in the document: `(raw, source, observed_at)`."""
    best = document.freshest_reply(doc)
    return (best[1]["raw"], best[0], best[2]) if best else None


def merge(found: list[Usage], now: datetime) -> Usage:
    """Per limit, the observation `document.choose` picks; the extra usage of the freshest whole reading."""
    by_key: dict[str, list[Window]] = {}
    for usage in found:
        for window in usage.windows:
            by_key.setdefault(window.key, []).append(window)
    merged: list[Window] = []
    for candidates in by_key.values():
        picked = document.choose(candidates, now)
        if picked is None:
            continue
        best, reset_passed, unconfirmed = picked
        if reset_passed or unconfirmed:
            best = best._replace(reset_passed=reset_passed, unconfirmed=unconfirmed)
        merged.append(best)
    extras = [u for u in found if u.extra_usage is not None]
    freshest = max(extras, key=_usage_observed) if extras else None
    return Usage(
        windows=tuple(merged),
        extra_usage=freshest.extra_usage if freshest else None,
        observed_at=freshest.observed_at if freshest else None,
    )


def _observed(window: Window) -> float:
    return window.observed_at.timestamp() if window.observed_at else float("-inf")


def _usage_observed(usage: Usage) -> float:
    return usage.observed_at.timestamp() if usage.observed_at else float("-inf")


def oldest(usage: Usage) -> datetime | None:
    """When the oldest current number shown was observed (None when nothing is shown)."""
    stamps = [w.observed_at for w in usage.windows if w.observed_at is not None and not w.reset_passed]
    if usage.extra_usage is not None and usage.observed_at is not None:
        stamps.append(usage.observed_at)
    return min(stamps) if stamps else None


def needs_refresh(usage: Usage, now: datetime, max_age_s: float) -> bool:
    """True when some number is older than `max_age_s`, unconfirmed, or there is nothing at all."""
    if not usage.windows and usage.extra_usage is None:
        return True
    if any(w.unconfirmed or w.reset_passed for w in usage.windows):
        return True
    first = oldest(usage)
    return first is None or (now - first).total_seconds() > max_age_s
