"""Observations from several sources, kept in one document per account, merged into what is shown.

Pure: the shared store (adapters/store.py) keeps the document; this module decides what goes in it and
what comes out. The document (schema 1)::

    {"schema": 1,
     "sources": {"api" | "demo" | "claude_cache": {"observed_at": ISO, "raw": <usage reply>, "plan": str|null},
                 "statusline": {"windows": {"five_hour": {"utilization", "resets_at", "observed_at"}, ...}}},
     "budget": {...}, "poller": {...}}     # see core/budget.py

Each number shown comes from the freshest source that has it; a number whose window has reset since it was
observed is kept only as `reset_passed`; a status-line 100 % that no other source confirms is
`unconfirmed` (recent Claude Code caps an old epoch glitch at exactly 100).
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime
from typing import Any

from claude_usage.core.feed import FEED_KEYS, SCHEMA, record_feed, sanitize_feed
from claude_usage.core.model import Usage, Window
from claude_usage.core.times import parse_time
from claude_usage.core.wire import WINDOW_LABELS, parse_usage
from claude_usage.errors import BadReply

READING_SOURCES = ("api", "demo", "claude_cache")


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


def _sources(doc: dict[str, Any]) -> dict[str, Any]:
    sources = doc.get("sources")
    return sources if isinstance(sources, dict) else {}


def record_reading(
    doc: dict[str, Any], *, source: str, raw: dict[str, Any], plan: str | None, observed_at: datetime
) -> dict[str, Any]:
    """The document with a whole usage reply recorded under `source` (a copy)."""
    sources = dict(_sources(doc))
    sources[source] = {"observed_at": observed_at.isoformat(), "raw": raw, "plan": plan}
    return {**doc, "schema": SCHEMA, "sources": sources}


def _time(value: object) -> datetime | None:
    try:
        return parse_time(value, "store")
    except BadReply:
        return None


def usages(doc: dict[str, Any]) -> list[Usage]:
    """Every source's usage in the document; unreadable entries are skipped, never fatal."""
    found: list[Usage] = []
    sources = _sources(doc)
    for name in READING_SOURCES:
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
    for key, period in FEED_KEYS.items():
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


def _freshest_whole(doc: dict[str, Any]) -> tuple[str, dict[str, Any], datetime] | None:
    """`(source, entry, observed_at)` of the freshest whole reply in the document."""
    best: tuple[str, dict[str, Any], datetime] | None = None
    for name in READING_SOURCES:
        entry = _sources(doc).get(name)
        if not isinstance(entry, dict) or not isinstance(entry.get("raw"), dict):
            continue
        observed_at = _time(entry.get("observed_at"))
        if observed_at is not None and (best is None or observed_at > best[2]):
            best = (name, entry, observed_at)
    return best


def plan(doc: dict[str, Any]) -> str | None:
    """The plan recorded with the freshest whole reading, if any."""
    best = _freshest_whole(doc)
    found = best[1].get("plan") if best else None
    return found if isinstance(found, str) else None


def raw_reply(doc: dict[str, Any]) -> tuple[dict[str, Any], str, datetime] | None:
    """The freshest whole reply in the document: `(raw, source, observed_at)`."""
    best = _freshest_whole(doc)
    return (best[1]["raw"], best[0], best[2]) if best else None


def _current(window: Window, now: datetime) -> bool:
    return window.resets_at is None or window.resets_at > now


def merge(found: list[Usage], now: datetime) -> Usage:
    """Per limit, the freshest current observation; the extra usage of the freshest whole reading."""
    by_key: dict[str, list[Window]] = {}
    order: list[str] = []
    for usage in found:
        for window in usage.windows:
            if window.key not in by_key:
                order.append(window.key)
            by_key.setdefault(window.key, []).append(window)
    merged: list[Window] = []
    for key in order:
        candidates = by_key[key]
        current = [w for w in candidates if _current(w, now)]
        if not current:
            newest = max(candidates, key=_observed)
            merged.append(replace(newest, reset_passed=True))
            continue
        best = max(current, key=_observed)
        if best.source == "statusline" and math.floor(best.utilization) >= 100:
            confirmed = any(
                w.source != "statusline" and math.floor(w.utilization) >= 100 for w in current if w is not best
            )
            best = replace(best, unconfirmed=not confirmed)
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
