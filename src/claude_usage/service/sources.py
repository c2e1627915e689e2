"""Where an account's numbers come from, behind one seam.

A `Source` folds what it knows into the account's document (core/document.py), by the document's rules: the
endpoint (`ApiSource`: one request, within the shared budget the reader enforces), Claude Code's own cached
reply (`ClaudeCacheSource`: free), the status-line feed (`FeedSource`: free; the status line itself records
through core/document.py directly, since it cannot afford this module's imports). The transcript index and
other accounts will be sources too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from claude_usage.core import document

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from claude_usage.adapters.claude_state import ClaudeState
    from claude_usage.core.model import Reading


class Source(Protocol):
    """One place an account's numbers come from."""

    name: str

    def record(self, doc: dict[str, Any], now: datetime) -> dict[str, Any] | None:
        """`doc` with what this source knows now recorded in it (a copy), or None when it adds nothing."""


class ClaudeCacheSource:
    """Claude Code's cached usage reply (`cachedUsageUtilization` in `.claude.json`), for one account."""

    name = "claude_cache"

    def __init__(self, state: ClaudeState, account_uuid: str) -> None:
        self.state = state
        self.account_uuid = account_uuid

    def record(self, doc: dict[str, Any], now: datetime) -> dict[str, Any] | None:
        cached = self.state.cached_usage(self.account_uuid)
        if cached is None:
            return None
        raw, fetched_at = cached
        held = document.sources(doc).get(self.name)
        if isinstance(held, dict) and held.get("observed_at") == fetched_at.isoformat():
            return None
        return document.record_reply(doc, source=self.name, raw=raw, plan=None, observed_at=fetched_at)


class FeedSource:
    """Claude Code's status-line `rate_limits`, already sanitized (core/feed.py), captured at `now`."""

    name = document.FEED

    def __init__(self, feed: dict[str, tuple[float, datetime]]) -> None:
        self.feed = feed

    def record(self, doc: dict[str, Any], now: datetime) -> dict[str, Any] | None:
        updated = document.record_feed(doc, self.feed, now)
        return None if updated is doc else updated


class ApiSource:
    """The usage endpoint: each `record` sends what `fetch` sends (one request, or a one-shot's retries).

    The reader decides when it may be asked (spacing, cooldown, the request lock); `reading` keeps the last one.
    """

    def __init__(self, name: str, fetch: Callable[[], Reading]) -> None:
        self.name = name
        self._fetch = fetch
        self.reading: Reading | None = None

    def fetch(self) -> Reading:
        """Send the request; the reading (also kept in `reading`)."""
        self.reading = self._fetch()
        return self.reading

    def record(self, doc: dict[str, Any], now: datetime) -> dict[str, Any] | None:
        return record_reading(doc, self.fetch())


def record_reading(doc: dict[str, Any], reading: Reading) -> dict[str, Any]:
    """`doc` with a reading from the endpoint recorded (authoritative for the windows it carries)."""
    return document.record_reply(
        doc, source=reading.source, raw=reading.raw, plan=reading.plan, observed_at=reading.fetched_at
    )
