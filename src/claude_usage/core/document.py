"""The shared store's account document, read once: what each source holds and which number is shown.

One truth for every face: the status line (on every render), the one-shots and the dashboard all decide
through `choose`, and every writer records through `record_feed` / `record_reply`. Light on purpose
(datetime and math only; no dataclasses, no wire parser): the status line imports it.

The document (schema 1)::

    {"schema": 1,
     "sources": {"api" | "demo" | "claude_cache": {"observed_at": ISO, "raw": <usage reply>, "plan": str|null},
                 "statusline": {"windows": {"five_hour": {"utilization", "resets_at", "first_seen_at",
                                                          "observed_at"}, ...}}},
     "pending": [status-line values replaced before a history writer came by],
     "budget": {...}, "poller": {...}}     # see core/shared.py

A *window* is a limit's key plus its `resets_at` (two resets less than `SAME_WINDOW_S` apart are one
window: the API's sub-second part jitters, the feed has whole seconds). Within one window usage never goes
down. Claude Code's status-line feed carries no observation time, so an idle session keeps sending the
number of its last reply as if it were new. Hence, per window:

1. A number whose reset has passed is not current (shown only as `reset_passed`).
2. Of the current numbers the freshest is shown, except that a status-line capture never lowers a value
   known for the same window from any source (the higher one is shown, with its own source and time), and
   a capture of an earlier window than another current number is old news (a later `resets_at` supersedes).
3. A whole reply (the API's, the demo's, Claude Code's cached one) is authoritative for the windows it
   carries: recording it retires the older captures of those windows (they go to `pending`, for the history).
4. A status-line 100 % that no other source confirms is `unconfirmed` (recent Claude Code caps an old
   epoch-for-percent glitch at exactly 100).
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

from claude_usage.core.times import FIVE_HOURS, SEVEN_DAYS, iso_or_none

TYPE_CHECKING = False  # not typing's: this module is on the status line's path
if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import timedelta
    from typing import Any, Protocol, TypeVar

    class Observed(Protocol):
        """What `choose` needs of an observation (a `Seen` here, a model `Window` elsewhere)."""

        @property
        def source(self) -> str: ...
        @property
        def utilization(self) -> float: ...
        @property
        def resets_at(self) -> datetime | None: ...
        @property
        def observed_at(self) -> datetime | None: ...

    ObservedT = TypeVar("ObservedT", bound=Observed)

SCHEMA = 1
FEED = "statusline"
REPLY_SOURCES = ("api", "demo", "claude_cache")
FEED_KEYS: dict[str, timedelta] = {"five_hour": FIVE_HOURS, "seven_day": SEVEN_DAYS}
SAME_WINDOW_S = 60.0
PENDING_CAP = 500  # status-line values waiting for the history writer (the status line never opens SQLite)


class Seen:
    """One number of one window as one source holds it (a light stand-in for the model's `Window`)."""

    __slots__ = ("observed_at", "resets_at", "source", "utilization")

    def __init__(self, source: str, utilization: float, resets_at: datetime | None, observed_at: datetime) -> None:
        self.source = source
        self.utilization = utilization
        self.resets_at = resets_at
        self.observed_at: datetime | None = observed_at

    def __repr__(self) -> str:
        return f"Seen({self.source!r}, {self.utilization!r}, {self.resets_at!r}, {self.observed_at!r})"


class Choice:
    """The number shown for one limit: which observation, and whether it is current and confirmed."""

    __slots__ = ("reset_passed", "seen", "unconfirmed")

    def __init__(self, seen: Any, *, reset_passed: bool = False, unconfirmed: bool = False) -> None:
        self.seen = seen
        self.reset_passed = reset_passed
        self.unconfirmed = unconfirmed


def sources(doc: dict[str, Any]) -> dict[str, Any]:
    found = doc.get("sources")
    return found if isinstance(found, dict) else {}


def same_window(a: datetime | None, b: datetime | None) -> bool:
    """Whether two resets name the same window (both known, less than `SAME_WINDOW_S` apart)."""
    return a is not None and b is not None and abs((a - b).total_seconds()) < SAME_WINDOW_S


def _observed(seen: Observed) -> float:
    return seen.observed_at.timestamp() if seen.observed_at is not None else float("-inf")


def choose(candidates: Sequence[ObservedT], now: datetime) -> tuple[ObservedT, bool, bool] | None:
    """`(the observation shown, reset_passed, unconfirmed)` among one limit's observations (rules 1, 2, 4)."""
    if not candidates:
        return None
    current = [c for c in candidates if c.resets_at is None or c.resets_at > now]
    if not current:
        return max(candidates, key=_observed), True, False
    best = max(current, key=_observed)
    if best.source == FEED:
        resets = [c.resets_at for c in current if c.resets_at is not None]
        latest = max(resets) if resets else None
        reset = best.resets_at
        if latest is not None and reset is not None and (latest - reset).total_seconds() >= SAME_WINDOW_S:
            # an earlier window's capture: old news; the newest window's freshest number stands
            best = max((c for c in current if same_window(c.resets_at, latest)), key=_observed)
        if best.source == FEED:
            window = [c for c in current if same_window(c.resets_at, best.resets_at)]
            highest = max(window, key=lambda c: (c.utilization, _observed(c)))
            if highest.utilization > best.utilization:
                best = highest
    unconfirmed = (
        best.source == FEED
        and math.floor(best.utilization) >= 100
        and not any(c.source != FEED and math.floor(c.utilization) >= 100 for c in current)
    )
    return best, False, unconfirmed


# -- reading the document, lightly ----------------------------------------------------------------------


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def wire_time(value: object) -> datetime | None:
    """A reset time as a reply may carry it (ISO text with offset or `Z`, or epoch seconds); None if unreadable."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        dot = text.find(".")
        if dot != -1:  # Python 3.10 takes only 3 or 6 fractional digits
            end = dot + 1
            while end < len(text) and text[end].isdigit():
                end += 1
            text = text[:dot] + (text[dot:end] + "000000")[:7] + text[end:]
        found = iso_or_none(text)
        return found.astimezone(timezone.utc) if found is not None else None
    return None


def twin_of(kind: str, model_key: str | None) -> str | None:
    """The top-level window a limits[] entry of this kind (and model, for a scoped one) repeats, if any."""
    if kind == "session" and model_key is None:
        return "five_hour"
    if kind == "weekly_all" and model_key is None:
        return "seven_day"
    if kind == "weekly_scoped" and model_key:
        for family in ("sonnet", "opus"):
            if family in model_key:
                return f"seven_day_{family}"
    return None


def _model_key(scope: object) -> str | None:
    """A limits[] entry's model scope as a key part: its id, else its display name in lower case."""
    model = scope.get("model") if isinstance(scope, dict) else None
    if not isinstance(model, dict):
        return None
    found = model.get("id")
    if isinstance(found, str) and found:
        return found
    name = model.get("display_name")
    return name.lower().replace(" ", "-") if isinstance(name, str) and name else None


def reply_window(raw: object, key: str) -> tuple[float, datetime | None] | None:
    """`(utilization, resets_at)` of a top-level window of a usage reply, or of its limits[] twin."""
    if not isinstance(raw, dict):
        return None
    window = raw.get(key)
    if isinstance(window, dict):
        value = _number(window.get("utilization"))
        return None if value is None else (value, wire_time(window.get("resets_at")))
    limits = raw.get("limits")
    if not isinstance(limits, list):
        return None
    for entry in limits:
        kind = entry.get("kind") if isinstance(entry, dict) else None
        if not isinstance(kind, str) or twin_of(kind, _model_key(entry.get("scope"))) != key:
            continue
        value = _number(entry.get("percent"))
        return None if value is None else (value, wire_time(entry.get("resets_at")))
    return None


def feed_windows(doc: dict[str, Any]) -> dict[str, Any]:
    """The status line's captures: `{key: {"utilization", "resets_at", "first_seen_at", "observed_at"}}`."""
    held = sources(doc).get(FEED)
    windows = held.get("windows") if isinstance(held, dict) else None
    return windows if isinstance(windows, dict) else {}


def seen(doc: dict[str, Any], key: str) -> list[Seen]:
    """Every source's number for the window `key` (feed captures and whole replies alike)."""
    found: list[Seen] = []
    for name, entry in sources(doc).items():
        if not isinstance(entry, dict):
            continue
        if name == FEED:
            capture = feed_windows(doc).get(key)
            if not isinstance(capture, dict):
                continue
            value, observed = _number(capture.get("utilization")), iso_or_none(capture.get("observed_at"))
            if value is not None and observed is not None:
                found.append(Seen(FEED, value, iso_or_none(capture.get("resets_at")), observed))
            continue
        window = reply_window(entry.get("raw"), key)
        observed = iso_or_none(entry.get("observed_at"))
        if window is not None and observed is not None:
            found.append(Seen(name, window[0], window[1], observed))
    return found


def shown(doc: dict[str, Any], key: str, now: datetime) -> Choice | None:
    """The number the faces show for `key` now, by the rules above; None when no source has it."""
    picked = choose(seen(doc, key), now)
    if picked is None:
        return None
    best, reset_passed, unconfirmed = picked
    return Choice(best, reset_passed=reset_passed, unconfirmed=unconfirmed)


def freshest_reply(doc: dict[str, Any]) -> tuple[str, dict[str, Any], datetime] | None:
    """`(source, entry, observed_at)` of the freshest whole reply in the document."""
    best: tuple[str, dict[str, Any], datetime] | None = None
    for name in REPLY_SOURCES:
        entry = sources(doc).get(name)
        if not isinstance(entry, dict) or not isinstance(entry.get("raw"), dict):
            continue
        observed_at = iso_or_none(entry.get("observed_at"))
        if observed_at is not None and (best is None or observed_at > best[2]):
            best = (name, entry, observed_at)
    return best


def reply_age(doc: dict[str, Any], now: datetime) -> float | None:
    """Seconds since the freshest whole reply was observed; None when there is none."""
    best = freshest_reply(doc)
    return None if best is None else (now - best[2]).total_seconds()


# -- recording ------------------------------------------------------------------------------------------


def _known_high(doc: dict[str, Any], key: str, resets_at: datetime) -> tuple[float | None, bool]:
    """`(the highest number known for this window, whether a later window is known)`."""
    high: float | None = None
    later = False
    for found in seen(doc, key):
        if same_window(found.resets_at, resets_at):
            high = found.utilization if high is None else max(high, found.utilization)
        elif found.resets_at is not None and found.resets_at > resets_at:
            later = True
    return high, later


def same_capture(held: dict[str, Any], value: float, resets_at: datetime) -> bool:
    """Whether a held capture says the same: its value, in the same window (its reset may drift by a second)."""
    return held.get("utilization") == value and same_window(iso_or_none(held.get("resets_at")), resets_at)


def news(doc: dict[str, Any], feed: dict[str, tuple[float, datetime]]) -> dict[str, tuple[float, datetime]]:
    """The captures of `feed` that the document does not already know better (rule 2): what may be recorded.

    A capture that would lower a number known for its window, or that belongs to an earlier window than one
    already known, is old news from an idle session.
    """
    fresh = {}
    for key, (value, resets_at) in feed.items():
        high, later = _known_high(doc, key, resets_at)
        if not later and (high is None or value >= high):
            fresh[key] = (value, resets_at)
    return fresh


def record_feed(doc: dict[str, Any], feed: dict[str, tuple[float, datetime]], now: datetime) -> dict[str, Any]:
    """The document with the status line's captures recorded (a copy; `doc` is not changed).

    Only `news(doc, feed)` is recorded: old news from an idle session is not (rule 2). A capture equal to
    the held one only extends its sighting; a new value sends the one it replaces to `pending`.
    """
    windows = dict(feed_windows(doc))
    pending = doc.get("pending")
    pending = list(pending) if isinstance(pending, list) else []
    changed = False
    for key, (value, resets_at) in news(doc, feed).items():
        reset = resets_at.isoformat()
        old = windows.get(key)
        first_seen = now.isoformat()
        if isinstance(old, dict):
            if same_capture(old, value, resets_at):
                first_seen = old.get("first_seen_at") or old.get("observed_at") or first_seen
            elif "observed_at" in old:
                pending.append({"key": key, **old})  # the value it replaces, for the history
        windows[key] = {
            "utilization": value,
            "resets_at": reset,
            "first_seen_at": first_seen,
            "observed_at": now.isoformat(),
        }
        changed = True
    if not changed:
        return doc
    all_sources = dict(sources(doc))
    all_sources[FEED] = {"windows": windows}
    updated = {**doc, "schema": SCHEMA, "sources": all_sources}
    if pending:
        updated["pending"] = pending[-PENDING_CAP:]
    return updated


def record_reply(
    doc: dict[str, Any], *, source: str, raw: dict[str, Any], plan: str | None, observed_at: datetime
) -> dict[str, Any]:
    """The document with a whole usage reply recorded under `source` (a copy).

    The reply is authoritative for the windows it carries (rule 3): older captures of those windows are
    retired to `pending`, so the history keeps them and no later capture is measured against them.
    """
    all_sources = dict(sources(doc))
    all_sources[source] = {"observed_at": observed_at.isoformat(), "raw": raw, "plan": plan}
    updated = {**doc, "schema": SCHEMA, "sources": all_sources}
    windows = dict(feed_windows(doc))
    pending = doc.get("pending")
    pending = list(pending) if isinstance(pending, list) else []
    for key in list(windows):
        capture = windows[key]
        seen_at = iso_or_none(capture.get("observed_at")) if isinstance(capture, dict) else None
        if reply_window(raw, key) is None or (seen_at is not None and seen_at > observed_at):
            continue
        if isinstance(capture, dict) and seen_at is not None:
            pending.append({"key": key, **capture})
        del windows[key]
    if windows != feed_windows(doc):
        all_sources[FEED] = {"windows": windows}
        if pending:
            updated["pending"] = pending[-PENDING_CAP:]
    return updated


def take_pending(doc: dict[str, Any]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """`(doc without its pending history, the pending entries)`; `(None, [])` when there are none."""
    pending = doc.get("pending")
    if not isinstance(pending, list) or not pending:
        return None, []
    rest = {k: v for k, v in doc.items() if k != "pending"}
    return rest, [entry for entry in pending if isinstance(entry, dict)]
