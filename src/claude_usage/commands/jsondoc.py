"""The `--json` document: the documented, stable schema (keys are only ever added).

```
{"fetched_at": ISO-8601, "source": "api" | "demo" | "claude_cache" | "statusline", "plan": str | null,
 "windows": [{"key", "label", "utilization", "resets_at", "resets_in_seconds", "source", "observed_at",
              "reset_passed", "unconfirmed"}],
 "extra_usage": <object as received> | null, "raw": <the reply as received> | null,
 "stale": bool, "age_seconds": int | null, "account": str,
 "binding": {"key", "label", "reason", "free_at"} | null,
 "window_usage": {"key", "start", "end", "tokens", "cost_usd", "burn_rate", "projects", "models",
                  "apportioned"} | null}
each window also has "pace": {"elapsed_pct", "delta_pct", "label"} | null and
"forecast": {"exhausts_at", "before_reset", "end_pct", "method"} (null members without enough data)
```
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from claude_usage.core.fmt import seconds_until
from claude_usage.core.pace import NO_FORECAST

if TYPE_CHECKING:
    from datetime import datetime

    from claude_usage.core.apportion import Share, WindowUsage
    from claude_usage.core.binding import Binding
    from claude_usage.core.model import Window
    from claude_usage.core.pace import Forecast, Pace
    from claude_usage.insights import Insights
    from claude_usage.service.reader import Snapshot


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()


def window_json(window: Window, now: datetime) -> dict[str, Any]:
    """One window as the schema has it."""
    return {
        "key": window.key,
        "label": window.label,
        "utilization": None if window.reset_passed else window.utilization,
        "resets_at": _iso(window.resets_at),
        "resets_in_seconds": None if window.resets_at is None else seconds_until(window.resets_at, now),
        "source": window.source,
        "observed_at": _iso(window.observed_at),
        "reset_passed": window.reset_passed,
        "unconfirmed": window.unconfirmed,
    }


def pace_json(found: Pace | None) -> dict[str, Any] | None:
    if found is None:
        return None
    return {"elapsed_pct": round(found.elapsed_pct, 2), "delta_pct": round(found.delta_pct, 2), "label": found.label}


def forecast_json(found: Forecast | None) -> dict[str, Any]:
    found = found or NO_FORECAST
    return {
        "exhausts_at": _iso(found.exhausts_at),
        "before_reset": found.before_reset,
        "end_pct": None if found.end_pct is None else round(found.end_pct, 2),
        "method": found.method,
    }


def binding_json(found: Binding | None) -> dict[str, Any] | None:
    if found is None:
        return None
    return {"key": found.key, "label": found.label, "reason": found.reason, "free_at": _iso(found.free_at)}


def window_usage_json(found: WindowUsage | None) -> dict[str, Any] | None:
    """The usage panel's numbers (docs/json-schema.md, `window_usage`)."""
    if found is None:
        return None
    from claude_usage.core.pricing import usd
    from claude_usage.core.reports import iso_utc

    def shares(items: tuple[Share, ...], name: str) -> list[dict[str, Any]]:
        return [{name: s.name, "tokens": s.tokens, "cost_usd": usd(s.cost)} for s in items]

    eaten = found.apportionment
    return {
        "key": "five_hour" if found.official else None,
        "start": iso_utc(found.start_us),
        "end": iso_utc(found.end_us),
        "tokens": found.tokens,
        "cost_usd": usd(found.cost),
        "burn_rate": {"tokens_per_minute": found.tokens_per_minute, "usd_per_hour": found.usd_per_hour},
        "projects": shares(found.projects, "project"),
        "models": shares(found.models, "model"),
        "apportioned": None
        if eaten is None
        else {
            "utilization": eaten.rise,
            "readings": eaten.readings,
            "projects": [{"project": s.name, "points": s.points} for s in eaten.projects],
            "models": [{"model": s.name, "points": s.points} for s in eaten.models],
            "not_in_local_logs": eaten.not_local,
            "text": eaten.text(),
        },
    }


def snapshot_json(
    snapshot: Snapshot,
    now: datetime,
    *,
    max_age_s: float,
    insights: Insights | None = None,
    window_usage: WindowUsage | None = None,
) -> dict[str, Any]:
    """The `--json` document for what the shared store holds (possibly merged from several sources)."""
    raw = snapshot.raw
    extra = raw.get("extra_usage") if raw else None
    oldest = snapshot.oldest()
    age = None if oldest is None else max(0, int((now - oldest).total_seconds()))
    # Older than asked for, or the budget kept this process from asking for a fresher one.
    stale = age is None or age > max_age_s or snapshot.held_back
    return {
        "fetched_at": _iso(snapshot.fetched_at),
        "source": snapshot.source,
        "plan": snapshot.plan,
        "windows": [_window_with_insights(w, now, insights) for w in snapshot.usage.windows],
        "extra_usage": extra if isinstance(extra, dict) else None,
        "raw": raw,
        "stale": stale,
        "age_seconds": age,
        "account": snapshot.account,
        "binding": binding_json(insights.binding if insights else None),
        "window_usage": window_usage_json(window_usage),
    }


def _window_with_insights(window: Window, now: datetime, insights: Insights | None) -> dict[str, Any]:
    document = window_json(window, now)
    document["pace"] = pace_json(insights.pace.get(window.key) if insights else None)
    document["forecast"] = forecast_json(insights.forecasts.get(window.key) if insights else None)
    return document


def dumps(document: dict[str, Any]) -> str:
    """Pretty, stable JSON text (non-ASCII kept as is)."""
    return json.dumps(document, indent=2, ensure_ascii=False)
