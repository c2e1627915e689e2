"""The usage reply as the API sends it, and the one tolerant parser that turns it into the model.

Rules: unknown keys are ignored (they stay in the raw reply), a window whose utilization is null is
absent, an unknown window-shaped key is kept under its own name, no window is ever invented, and a known
key that is malformed raises `BadReply` naming its JSON path. Every time on the wire (ISO-8601 with an
offset or a trailing `Z`, or epoch seconds) goes through `parse_time`. Every text that reaches the model
(window keys, labels, model names, ids, currencies, reasons) is made safe for a terminal here, at the seam:
escape sequences and control characters dropped, length capped (`terminal_safe`, MAX_TEXT_CHARS).
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any, TypedDict

from claude_usage.core.document import twin_of
from claude_usage.core.model import (
    FIVE_HOURS,
    SEVEN_DAYS,
    ExtraUsage,
    Money,
    Usage,
    Window,
    WindowKind,
)
from claude_usage.core.times import parse_time as parse_time
from claude_usage.errors import BadReply


class WireWindow(TypedDict, total=False):
    utilization: float | None
    resets_at: str | None


class WireScope(TypedDict, total=False):
    model: dict[str, Any] | None
    surface: Any


class WireLimit(TypedDict, total=False):
    kind: str
    group: str
    percent: float | None
    resets_at: str | float | None
    severity: str
    is_active: bool
    scope: WireScope | None


class WireExtraUsage(TypedDict, total=False):
    is_enabled: bool
    monthly_limit: float | None
    used_credits: float | None
    utilization: float | None
    currency: str
    disabled_reason: str | None
    spend_limit_reached: bool


class WireReply(TypedDict, total=False):
    five_hour: WireWindow | None
    seven_day: WireWindow | None
    seven_day_sonnet: WireWindow | None
    seven_day_opus: WireWindow | None
    seven_day_oauth_apps: WireWindow | None
    cinder_cove: WireWindow | None
    wattle_ember: dict[str, Any] | None
    promo_credits: list[dict[str, Any]] | None
    extra_usage: WireExtraUsage | None
    limits: list[WireLimit] | None


# The keys Claude Code accepts as proof that a 200 body is a usage reply.
USAGE_KEYS = frozenset(
    {
        "five_hour",
        "seven_day",
        "seven_day_oauth_apps",
        "seven_day_opus",
        "seven_day_sonnet",
        "cinder_cove",
        "wattle_ember",
        "extra_usage",
        "limits",
    }
)

WINDOW_LABELS = {
    "five_hour": "Current session",
    "seven_day": "Current week (all models)",
    "seven_day_sonnet": "Current week (Sonnet only)",
    "seven_day_opus": "Current week (Opus only)",
    "seven_day_oauth_apps": "Current week (OAuth apps)",
}
# Keys that are not limit windows even if they ever grow a window shape.
_NOT_WINDOWS = frozenset({"extra_usage", "limits", "spend", "promo_credits", "ended_promo_credits", "error"})
_CREDIT_KEYS = ("cinder_cove", "wattle_ember")
_CREDIT_LABELS = {"cinder_cove": "Claude Code and Cowork credit"}
# Promo credits Claude Code itself hides.
_HIDDEN_PROMOS = frozenset({"model_promo_fable"})
# ISO 4217 currencies without minor units (amounts arrive as whole units).
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a `Retry-After` header (seconds or HTTP date); None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    from email.utils import parsedate_to_datetime  # ~11 ms, and only a 429 with an HTTP date needs it

    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - now).total_seconds())


def in_band_error(raw: object) -> tuple[str, str] | None:
    """`(type, message)` when a 200 body is an error object rather than a usage reply."""
    if not isinstance(raw, dict):
        return None
    if USAGE_KEYS & raw.keys():
        return None
    error = raw.get("error")
    if isinstance(error, dict):
        kind = error.get("type")
        message = error.get("message")
        return (
            kind if isinstance(kind, str) else "error",
            message[:200] if isinstance(message, str) else "no message",
        )
    return ("error", "the reply has none of the usage fields")


def _number(value: object, path: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadReply(f"{path}: expected a number, got {type(value).__name__}")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an integer beyond the range of a float
        raise BadReply(f"{path}: number out of range") from None
    if not finite:
        raise BadReply(f"{path}: expected a finite number, got {value!r}")
    return value


# How long a text from the reply may be once cleaned (labels, model names, ids; window keys; currencies).
MAX_TEXT_CHARS = 80
MAX_KEY_CHARS = 64
MAX_CURRENCY_CHARS = 8
# Terminal escape sequences (ECMA-48), whole: CSI (ESC [ or 0x9B) with its parameters and final byte; the
# strings (OSC, DCS, SOS, PM, APC: a window title, say) up to BEL or ST; any other ESC and what it selects.
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?"
)
# What is left of control characters: C0, DEL, C1.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    """`text` without terminal escape sequences (each dropped whole) or any other control character."""
    return _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", text))


def safe_text(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """A text from the reply as the model keeps it: `terminal_safe`, stripped, at most `limit` characters."""
    return terminal_safe(text[: 4 * limit]).strip()[:limit].rstrip()


def _text(value: object, limit: int = MAX_TEXT_CHARS) -> str | None:
    """A non-empty string from the reply, as `safe_text` keeps it; None for anything else."""
    if not isinstance(value, str):
        return None
    return safe_text(value, limit) or None


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _is_window_shaped(value: object) -> bool:
    return isinstance(value, dict) and "utilization" in value and "resets_at" in value


def _title_from_key(key: str) -> str:
    if key.startswith("seven_day_"):
        return f"Current week ({key.removeprefix('seven_day_').replace('_', ' ').title()})"
    return key.replace("_", " ").capitalize()


def _period_for_key(key: str) -> timedelta | None:
    if key == "five_hour":
        return FIVE_HOURS
    if key == "seven_day" or key.startswith("seven_day_"):
        return SEVEN_DAYS
    return None


def _dollars(value: object, path: str) -> Money | None:
    amount = _number(value, path)
    if amount is None:
        return None
    cents = amount * 100
    if not math.isfinite(cents):
        raise BadReply(f"{path}: amount out of range")
    return Money(round(cents), "USD")


def _window(key: str, value: dict[str, Any], path: str, *, label: str, kind: str, **extra: Any) -> Window | None:
    utilization = _number(value.get("utilization"), f"{path}.utilization")
    resets_at = parse_time(value.get("resets_at"), f"{path}.resets_at")
    if utilization is None:
        return None
    return Window(key=key, label=label, utilization=utilization, resets_at=resets_at, kind=kind, **extra)


def _top_level_window(key: str, value: object) -> Window | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadReply(f"{key}: expected an object, got {type(value).__name__}")
    label = WINDOW_LABELS.get(key) or _title_from_key(key)
    return _window(key, value, key, label=label, kind=WindowKind.WINDOW, period=_period_for_key(key))


def _credit(key: str, value: object) -> Window | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadReply(f"{key}: expected an object, got {type(value).__name__}")
    label = _CREDIT_LABELS.get(key) or _text(value.get("label")) or "Credit"
    return _window(
        key,
        value,
        key,
        label=label,
        kind=WindowKind.CREDIT,
        used=_dollars(value.get("used_dollars"), f"{key}.used_dollars"),
        limit=_dollars(value.get("limit_dollars"), f"{key}.limit_dollars"),
    )


def _promo_credits(value: object) -> list[Window]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadReply(f"promo_credits: expected a list, got {type(value).__name__}")
    windows: list[Window] = []
    for index, entry in enumerate(value):
        path = f"promo_credits[{index}]"
        if not isinstance(entry, dict):
            raise BadReply(f"{path}: expected an object, got {type(entry).__name__}")
        program = _text(entry.get("program_id")) or str(index)
        if program in _HIDDEN_PROMOS:
            continue
        window = _window(
            f"promo_credits.{program}",
            entry,
            path,
            label=_text(entry.get("label")) or "Promotional credit",
            kind=WindowKind.CREDIT,
            used=_dollars(entry.get("used_dollars"), f"{path}.used_dollars"),
            limit=_dollars(entry.get("limit_dollars"), f"{path}.limit_dollars"),
        )
        if window is not None:
            windows.append(window)
    return windows


def _limit_model(scope: object) -> tuple[str | None, str | None]:
    """`(key part, display name)` of a limits[] entry's model scope."""
    if not isinstance(scope, dict):
        return None, None
    model = scope.get("model")
    if not isinstance(model, dict):
        return None, None
    model_id = _text(model.get("id"))
    name = _text(model.get("display_name"))
    key_part = model_id or (name.lower().replace(" ", "-") if name else None)
    return key_part, name or model_id


def _limit_label(kind: str, model_name: str | None) -> str:
    if kind == "session":
        base = "Current session"
    elif kind == "weekly_all":
        return "Current week (all models)"
    elif kind.startswith("weekly"):
        base = "Current week"
    else:
        base = kind.replace("_", " ").capitalize()
    return f"{base} ({model_name})" if model_name else base


def _limits(value: object, shown: set[str]) -> list[Window]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadReply(f"limits: expected a list, got {type(value).__name__}")
    windows: list[Window] = []
    for index, entry in enumerate(value):
        path = f"limits[{index}]"
        if not isinstance(entry, dict):
            raise BadReply(f"{path}: expected an object, got {type(entry).__name__}")
        kind = _text(entry.get("kind"))
        if kind is None:
            raise BadReply(f"{path}.kind: expected a string")
        percent = _number(entry.get("percent"), f"{path}.percent")
        resets_at = parse_time(entry.get("resets_at"), f"{path}.resets_at")
        model_key, model_name = _limit_model(entry.get("scope"))
        key = f"limits.{kind}.{model_key}" if model_key else f"limits.{kind}"
        twin = twin_of(kind, model_key)
        if percent is None or key in shown or (twin is not None and twin in shown):
            continue
        group = _text(entry.get("group")) or ""
        if kind == "session":
            period: timedelta | None = FIVE_HOURS
        elif kind.startswith("weekly") or group == "weekly":
            period = SEVEN_DAYS
        else:
            period = None
        shown.add(key)
        windows.append(
            Window(
                key=key,
                label=_limit_label(kind, model_name),
                utilization=percent,
                resets_at=resets_at,
                kind=WindowKind.LIMIT,
                period=period,
                severity=_text(entry.get("severity")),
                is_active=_flag(entry.get("is_active")),
            )
        )
    return windows


def _extra_usage(value: object) -> ExtraUsage | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadReply(f"extra_usage: expected an object, got {type(value).__name__}")
    currency = (_text(value.get("currency"), MAX_CURRENCY_CHARS) or "USD").upper()

    def money(name: str) -> Money | None:
        amount = _number(value.get(name), f"extra_usage.{name}")
        return None if amount is None else Money(round(amount), currency)

    return ExtraUsage(
        is_enabled=_flag(value.get("is_enabled")),
        monthly_limit=money("monthly_limit"),
        used=money("used_credits"),
        utilization=_number(value.get("utilization"), "extra_usage.utilization"),
        currency=currency,
        disabled_reason=_text(value.get("disabled_reason")),
        spend_limit_reached=_flag(value.get("spend_limit_reached")),
    )


def parse_usage(raw: object, *, source: str = "api", observed_at: datetime | None = None) -> Usage:
    """The model of one usage reply; raises `BadReply` (with the JSON path) for anything malformed."""
    if not isinstance(raw, dict):
        raise BadReply(f"reply: expected a JSON object, got {type(raw).__name__}")
    windows: list[Window] = []
    shown: set[str] = set()
    for key in WINDOW_LABELS:
        window = _top_level_window(key, raw.get(key))
        if window is not None:
            windows.append(window)
            shown.add(key)
    unknown = [k for k in raw if k not in WINDOW_LABELS and k not in _CREDIT_KEYS and k not in _NOT_WINDOWS]
    # New seven_day_* windows sit with the weeks; other unknown window-shaped keys after limits[].
    new_weeks = [k for k in unknown if k.startswith("seven_day_")]
    others = [k for k in unknown if not k.startswith("seven_day_")]
    windows += _unknown_windows(raw, new_weeks, shown)
    windows += _limits(raw.get("limits"), shown)
    windows += _unknown_windows(raw, others, shown)
    for key in _CREDIT_KEYS:
        credit = _credit(key, raw.get(key))
        if credit is not None:
            windows.append(credit)
    windows += _promo_credits(raw.get("promo_credits"))
    stamped = tuple(_stamp(w, source, observed_at) for w in windows)
    return Usage(windows=stamped, extra_usage=_extra_usage(raw.get("extra_usage")), observed_at=observed_at)


def _unknown_windows(raw: dict[str, Any], keys: list[str], shown: set[str]) -> list[Window]:
    """Window-shaped keys we do not know, kept under their own names (made safe for a terminal and cut to
    MAX_KEY_CHARS: they become labels); unreadable ones, and ones that clean to a name already shown, are skipped.
    """
    windows = []
    for key in keys:
        name = _text(key, MAX_KEY_CHARS)
        if name is None or name in shown or not _is_window_shaped(raw[key]):
            continue
        try:
            window = _top_level_window(name, raw[key])
        except BadReply:
            continue  # an unknown key we cannot read is ignored, not fatal
        if window is not None:
            windows.append(window)
            shown.add(name)
    return windows


def _stamp(window: Window, source: str, observed_at: datetime | None) -> Window:
    if window.source == source and window.observed_at == observed_at:
        return window
    return window._replace(source=source, observed_at=observed_at)
