"""Every time on a wire (ISO-8601 with an offset or `Z`, or epoch seconds) goes through `parse_time`.

Light on purpose (datetime, math, re: all already loaded by `json`): the status line imports it.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone

from claude_usage.errors import BadReply

FIVE_HOURS = timedelta(hours=5)
SEVEN_DAYS = timedelta(days=7)
MIN_YEAR, MAX_YEAR = 1970, 9000
_FRACTION = re.compile(r"(\.\d+)")


def parse_time(value: object, path: str) -> datetime | None:
    """An aware UTC datetime from ISO-8601 (offset or `Z`) or epoch seconds; None for null.

    Years outside 1970-9000 are refused: no limit resets then, and near datetime's edges converting to
    local time for display would overflow.
    """
    parsed = _parse_time(value, path)
    if parsed is not None and not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise BadReply(f"{path}: time {parsed.year}-… is out of range")
    return parsed


def _parse_time(value: object, path: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise BadReply(f"{path}: expected a time, got {value!r}")
    if isinstance(value, (int, float)):
        try:
            seconds = float(value)
        except OverflowError:  # an integer beyond the range of a float
            raise BadReply(f"{path}: time is out of range") from None
        if not math.isfinite(seconds):
            raise BadReply(f"{path}: expected a time, got {value!r}")
        if seconds > 1e11:  # epoch milliseconds
            seconds /= 1000
        try:
            return datetime.fromtimestamp(seconds, timezone.utc)
        except (OverflowError, OSError, ValueError) as exc:
            raise BadReply(f"{path}: time {value!r} is out of range") from exc
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        # Python 3.10 accepts only 3 or 6 fractional digits.
        text = _FRACTION.sub(lambda m: (m.group(1) + "000000")[:7], text, count=1)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as exc:
            raise BadReply(f"{path}: {value[:40]!r} is not an ISO-8601 time") from exc
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        try:
            return parsed.astimezone(timezone.utc)
        except (OverflowError, ValueError) as exc:
            raise BadReply(f"{path}: time {value[:40]!r} is out of range") from exc
    raise BadReply(f"{path}: expected a time, got {type(value).__name__}")


def iso_or_none(value: object) -> datetime | None:
    """An aware datetime from text we wrote ourselves (ISO-8601 with offset); None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
