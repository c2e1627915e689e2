"""`claude-usage statusline`: the line Claude Code shows under its prompt. The fast face.

Claude Code runs it on every render with its session JSON on stdin. It records the `rate_limits` it
finds there into the shared store (so every other process can use them), prints one short line from the
freshest numbers the store holds, and never waits on the network: when the store lacks what the line
needs, or it is older than `--max-age` (60 s), and the machine-wide budget allows, it starts a detached
`claude-usage refresh` and prints what it has now. It always exits 0 (Claude Code blanks the line on any
other status) and never prints a traceback.

Imports: stdlib (json, os, sys, time, datetime, re: all loaded by `json` anyway), the light core modules
(`feed`, `shared`, `times`), and the light adapters (`paths`, `store`, `account`). Never Rich, httpx,
sqlite3, argparse, dataclasses or typing: each would cost milliseconds on every render.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from datetime import datetime, timezone

from claude_usage.adapters import account, paths
from claude_usage.adapters.store import Store
from claude_usage.core.feed import record_feed, sanitize_feed
from claude_usage.core.shared import DEFAULT_SPACING_S, SharedBudget
from claude_usage.core.times import iso_or_none
from claude_usage.errors import UnavailableError

TYPE_CHECKING = False  # not typing's: importing typing costs every render
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any

DEFAULT_MAX_AGE_S = 60.0
MAX_AGE_CAP_S = 86_400.0  # what `claude-usage refresh --max-age` accepts
STDIN_LIMIT = 4 * 1024 * 1024  # Claude Code's JSON is a few kB; anything this big is not it
PLACEHOLDER = "5h –"
REWRITE_AFTER_S = 5.0  # the same values seen again within this are not written again
RESPAWN_AFTER_S = 30.0  # a refresh started this recently is still on its way
PENDING_FLUSH = 100  # status-line values waiting for the history: a refresh files them
STALE_MARK_S = 600.0  # numbers older than this get their age shown
CHAIN_TIMEOUT_S = 2.0

# Placeholders of --format, each a window key (or a derived value) of the shared store.
PLACEHOLDERS = {
    "5h": "five_hour",
    "7d": "seven_day",
    "sonnet": "seven_day_sonnet",
    "opus": "seven_day_opus",
}
TWINS = {"five_hour": ("limits", "session"), "seven_day": ("limits", "weekly_all")}
_FIELD = re.compile(r"\{([a-z0-9_]+)\}")
_COLOURS = {"calm": "\x1b[32m", "warning": "\x1b[33m", "alarm": "\x1b[1;31m"}
_RESET = "\x1b[0m"


USAGE = (
    "usage: claude-usage statusline [--format FORMAT] [--max-age SECONDS] [--chain COMMAND] [--no-refresh]"
    " | install [--force] [--chain COMMAND] [--format FORMAT] | uninstall"
)


class BadOption(Exception):
    """A status line option we do not know; shown in the line itself (stderr goes nowhere)."""


def main(argv: list[str]) -> int:
    """Print the status line; always 0 (install/uninstall have real exit codes)."""
    if argv[:1] in (["install"], ["uninstall"]):
        from claude_usage.statusline_setup import manage

        return manage(argv)
    try:
        line = render(argv, os.environ, sys.stdin)
    except BadOption as exc:
        line = str(exc) if str(exc) == USAGE else f"{PLACEHOLDER} · claude-usage statusline: {exc}"
    except Exception:  # noqa: BLE001 - Claude Code shows nothing on a crash: always print a line
        line = PLACEHOLDER
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except OSError:
        pass  # Claude Code aborted this render and closed the pipe
    return 0


def _options(argv: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {"format": None, "max_age": DEFAULT_MAX_AGE_S, "chain": None, "refresh": True}
    args = list(argv)
    while args:
        arg = args.pop(0)
        name, eq, value = arg.partition("=")
        if name in ("--format", "--max-age", "--chain"):
            if not eq:
                if not args:
                    raise BadOption(f"{name} needs a value")
                value = args.pop(0)
            if name == "--max-age":
                try:
                    options["max_age"] = min(MAX_AGE_CAP_S, max(0.0, float(value)))
                except ValueError:
                    raise BadOption(f"--max-age takes seconds, not {value!r}") from None
            else:
                options[name[2:]] = value
        elif arg == "--no-refresh":
            options["refresh"] = False
        elif arg in ("-h", "--help"):
            raise BadOption(USAGE)
        else:
            raise BadOption(f"unknown option {arg!r}")
    return options


def _read_stdin(stdin: Any) -> tuple[dict[str, Any], bytes]:
    """`(the session JSON, the raw bytes)`; `({}, b"")` for no, unreadable or oversized input."""
    if stdin is None:
        return {}, b""
    try:
        if stdin.isatty():
            return {}, b""
        data = stdin.buffer.read(STDIN_LIMIT + 1)
    except (OSError, ValueError, AttributeError):
        return {}, b""
    if not data or len(data) > STDIN_LIMIT:
        return {}, b""
    try:
        parsed = json.loads(data)
    except (ValueError, RecursionError):
        return {}, data
    return (parsed if isinstance(parsed, dict) else {}), data


def render(argv: list[str], env: Mapping[str, str], stdin: Any) -> str:
    """The status line for this stdin, recording its numbers and starting a refresh when one is due."""
    options = _options(argv)
    session, raw = _read_stdin(stdin)
    now = datetime.now(timezone.utc)
    feed = sanitize_feed(session.get("rate_limits"), now)
    store = Store(paths.data_dir(env))
    account_id, token_fp = account.ids_from_credentials(env)
    key = account.env_token_key(env) or account.resolve(
        env, store, account_id=account_id, token_fingerprint=token_fp, remember=False
    )
    doc = _record(store, key, feed, now)
    values = {name: _freshest(doc, window_key, now) for name, window_key in PLACEHOLDERS.items()}
    if options["refresh"]:
        pending = doc.get("pending")
        # A refresh also files the values waiting for the history, even for a login it cannot use.
        flush = isinstance(pending, list) and len(pending) >= PENDING_FLUSH
        if flush or ((account_id or token_fp) and _wants_refresh(doc, values, options, now, env)):
            _claim_and_spawn(store, key, options["max_age"], now, env)
    line = _format(options["format"], values, doc, now, colour=not env.get("NO_COLOR"))
    if options["chain"]:
        line = _chain(options["chain"], raw, line)
    return line


def _record(store: Store, key: str, feed: dict[str, Any], now: datetime) -> dict[str, Any]:
    try:
        doc = store.read(key)
    except UnavailableError:
        doc = {}
    if not feed or _already_known(doc, feed, now):
        return doc
    try:
        return store.update(key, lambda doc: record_feed(doc, feed, now), timeout_s=0.3)
    except UnavailableError:  # busy or unwritable: show what stdin said anyway
        return record_feed({}, feed, now)


def _already_known(doc: dict[str, Any], feed: dict[str, Any], now: datetime) -> bool:
    """The store has these very values, seen moments ago: no write (renders come several a second)."""
    sources = doc.get("sources")
    held = sources.get("statusline") if isinstance(sources, dict) else None
    windows = held.get("windows") if isinstance(held, dict) else None
    if not isinstance(windows, dict):
        return False
    for key, (value, resets_at) in feed.items():
        old = windows.get(key)
        if not isinstance(old, dict):
            return False
        seen = iso_or_none(old.get("observed_at"))
        if seen is None or not 0 <= (now - seen).total_seconds() < REWRITE_AFTER_S:
            return False
        if old.get("utilization") != value or old.get("resets_at") != resets_at.isoformat():
            return False
    return True


def _freshest(doc: dict[str, Any], key: str, now: datetime) -> dict[str, Any] | None:
    """The freshest current observation of one window: {"utilization", "resets_at", "observed_at", "source"}.

    The same rule as core/observe.py's `merge` (freshest wins, a passed reset is not current, a lone
    status-line 100 % is unconfirmed), on the raw document, without the model's imports.
    """
    candidates: list[dict[str, Any]] = []
    sources = doc.get("sources") if isinstance(doc.get("sources"), dict) else {}
    assert isinstance(sources, dict)  # noqa: S101 - narrows for mypy
    for name, entry in sources.items():
        if not isinstance(entry, dict):
            continue
        if name == "statusline":
            windows = entry.get("windows")
            found = windows.get(key) if isinstance(windows, dict) else None
            observed = iso_or_none(found.get("observed_at")) if isinstance(found, dict) else None
        else:
            found = _window_in_reply(entry.get("raw"), key)
            observed = iso_or_none(entry.get("observed_at"))
        if not isinstance(found, dict) or observed is None:
            continue
        value = found.get("utilization")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        resets_at = _reset_time(found.get("resets_at"))
        if resets_at is not None and resets_at <= now:
            continue
        candidates.append({"utilization": value, "resets_at": resets_at, "observed_at": observed, "source": name})
    if not candidates:
        return None
    best = max(candidates, key=lambda c: c["observed_at"])
    if best["source"] == "statusline" and math.floor(best["utilization"]) >= 100:
        best["unconfirmed"] = not any(
            c["source"] != "statusline" and math.floor(c["utilization"]) >= 100 for c in candidates
        )
    return best


def _window_in_reply(raw: object, key: str) -> dict[str, Any] | None:
    """A top-level window of a usage reply, or its limits[] twin for accounts that report only those."""
    if not isinstance(raw, dict):
        return None
    window = raw.get(key)
    if isinstance(window, dict):
        return window
    twin = TWINS.get(key)
    limits = raw.get(twin[0]) if twin else None
    if not twin or not isinstance(limits, list):
        return None
    for entry in limits:
        if isinstance(entry, dict) and entry.get("kind") == twin[1] and not _scoped(entry):
            return {"utilization": entry.get("percent"), "resets_at": entry.get("resets_at")}
    return None


def _scoped(entry: dict[str, Any]) -> bool:
    scope = entry.get("scope")
    return isinstance(scope, dict) and isinstance(scope.get("model"), dict)


def _reset_time(value: object) -> datetime | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        return iso_or_none(value.replace("Z", "+00:00"))
    return None


def _whole_reading_age(doc: dict[str, Any], now: datetime) -> float | None:
    ages = []
    sources = doc.get("sources")
    for name in ("api", "demo", "claude_cache"):
        entry = sources.get(name) if isinstance(sources, dict) else None
        observed = iso_or_none(entry.get("observed_at")) if isinstance(entry, dict) else None
        if observed is not None:
            ages.append((now - observed).total_seconds())
    return min(ages) if ages else None


def _needed(fmt: str | None) -> list[str]:
    if fmt is None:
        return ["5h", "7d", "sonnet"]
    return [name for name in _FIELD.findall(fmt) if name.split("_")[0] in PLACEHOLDERS]


def _wants_refresh(
    doc: dict[str, Any], values: dict[str, Any], options: dict[str, Any], now: datetime, env: Mapping[str, str]
) -> bool:
    budget = SharedBudget(doc)
    max_age = budget.effective_max_age(options["max_age"], now)
    whole_age = _whole_reading_age(doc, now)
    for name in dict.fromkeys(n.split("_")[0] for n in _needed(options["format"])):
        value = values.get(name)
        if value is None:
            if whole_age is None or whole_age > max_age:
                return True  # not known; a fresh whole reading would say whether the account has it
            continue
        if value.get("unconfirmed") or (now - value["observed_at"]).total_seconds() > max_age:
            return True
    return False


def _spacing(env: Mapping[str, str]) -> float:
    try:
        return max(1.0, float(env.get("CLAUDE_USAGE_MIN_SPACING") or DEFAULT_SPACING_S))
    except ValueError:
        return DEFAULT_SPACING_S


def _claim_and_spawn(store: Store, key: str, max_age: float, now: datetime, env: Mapping[str, str]) -> None:
    """Start one detached refresh for the account, unless the budget or a recent refresh says no."""
    spacing = _spacing(env)
    claimed = False

    def claim(doc: dict[str, Any]) -> dict[str, Any] | None:
        nonlocal claimed
        budget = SharedBudget(doc)
        if budget.next_allowed(now, spacing) is not None:
            return None
        spawned = budget.refresh_spawned_at
        if spawned is not None and 0 <= (now - spawned).total_seconds() < RESPAWN_AFTER_S:
            return None
        budget.refresh_spawned_at = now
        claimed = True
        return budget.write(doc)

    try:
        store.update(key, claim, timeout_s=0.3)
    except UnavailableError:
        return
    if claimed:
        _spawn_refresh(max_age)


def _spawn_refresh(max_age: float) -> None:
    """`claude-usage refresh` in the background, detached from Claude Code's pipes and process group."""
    import subprocess

    command = [sys.executable, "-m", "claude_usage", "refresh", "--max-age", f"{max_age:g}", "--no-keychain"]
    flags: dict[str, Any] = {}
    if os.name == "nt":
        flags["creationflags"] = subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined,unused-ignore]
    else:
        flags["start_new_session"] = True
    try:
        subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            **flags,
        )
    except OSError:
        return


def _level(value: float) -> str:
    shown = math.floor(value)
    return "alarm" if shown >= 80 else "warning" if shown >= 50 else "calm"


def _percent(value: dict[str, Any] | None, colour: bool) -> str:
    if value is None:
        return "–"
    text = f"{math.floor(value['utilization'])}%" + ("?" if value.get("unconfirmed") else "")
    return f"{_COLOURS[_level(value['utilization'])]}{text}{_RESET}" if colour else text


def _countdown(value: dict[str, Any] | None, now: datetime) -> str:
    if value is None or value["resets_at"] is None:
        return "–"
    seconds = int((value["resets_at"] - now).total_seconds())
    days, rest = divmod(max(0, seconds), 86_400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d{hours}h"
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"


def _age_text(values: dict[str, Any], now: datetime) -> str:
    stamps = [v["observed_at"] for v in values.values() if v is not None]
    if not stamps:
        return "–"
    seconds = (now - min(stamps)).total_seconds()
    if seconds < 60:
        return f"{int(seconds)}s"
    return f"{int(seconds // 60)}m" if seconds < 3600 else f"{int(seconds // 3600)}h"


def _format(fmt: str | None, values: dict[str, Any], doc: dict[str, Any], now: datetime, *, colour: bool) -> str:
    if fmt is None:
        return _default_line(values, now, colour)
    fields: dict[str, Callable[[], str]] = {"age": lambda: _age_text(values, now)}
    for name in PLACEHOLDERS:
        value = values.get(name)
        fields[name] = lambda value=value: _percent(value, colour)  # type: ignore[misc]
        fields[f"{name}_reset"] = lambda value=value: _countdown(value, now)  # type: ignore[misc]
    line = _FIELD.sub(lambda m: fields[m.group(1)]() if m.group(1) in fields else m.group(0), fmt)
    return line.replace("\n", " ").strip() or PLACEHOLDER


def _default_line(values: dict[str, Any], now: datetime, colour: bool) -> str:
    """`5h 78% ↻2h11m · 7d 41% · Sonnet 12%`; `5h –` when nothing is known."""
    session, week, sonnet = values.get("5h"), values.get("7d"), values.get("sonnet")
    if session is None and week is None and sonnet is None:
        return PLACEHOLDER
    parts = [f"5h {_percent(session, colour)}" + (f" ↻{_countdown(session, now)}" if session else "")]
    if week is not None:
        parts.append(f"7d {_percent(week, colour)}")
    if sonnet is not None:
        parts.append(f"Sonnet {_percent(sonnet, colour)}")
    known = [v for v in (session, week, sonnet) if v is not None]
    oldest = min(v["observed_at"] for v in known)
    if (now - oldest).total_seconds() > STALE_MARK_S:
        parts.append(f"{_age_text({'x': {'observed_at': oldest}}, now)} old")
    return " · ".join(parts)


def _chain(command: str, stdin: bytes, line: str) -> str:
    """Another status line command's lines first (same stdin, short timeout), then ours."""
    import subprocess

    try:
        result = subprocess.run(  # noqa: S602 - the user's own status line command, run as Claude Code would
            command,
            shell=True,
            input=stdin,  # exactly what Claude Code sent
            capture_output=True,
            timeout=CHAIN_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return line
    theirs = [text.strip() for text in result.stdout.decode(errors="replace").splitlines() if text.strip()]
    return "\n".join([*theirs, line])
