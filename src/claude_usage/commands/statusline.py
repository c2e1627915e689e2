"""`claude-usage statusline`: the line Claude Code shows under its prompt. The fast face.

Claude Code runs it on every render with its session JSON on stdin. It records the `rate_limits` it finds
there into the shared store (core/document.py's rules: a capture never lowers a number known for its
window, so an idle session's old number never flips the current one), prints one short line from what the
store holds, and never waits on the network. It causes an endpoint request only through a detached
`claude-usage refresh`, and only when the budget allows and no poller (a live dashboard) is keeping the
store fresh: for the session and the week when Claude Code's feed has not carried them for `--max-age`
(60 s), and for what only the endpoint has (Sonnet, Opus) at most every `--endpoint-max-age` (900 s; at
least 300 s against the real endpoint). It always exits 0 (Claude Code blanks the line on any other status)
and never prints a traceback.

Imports: stdlib (json, os, sys, math, re, datetime: all loaded by `json` anyway), the light core modules
(`document`, `feed`, `shared`, `times`), and the light adapters (`paths`, `store`, `account`). Never Rich,
httpx, sqlite3, argparse, dataclasses, enum, hashlib or typing: each would cost milliseconds on every render.
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
from claude_usage.core import document, fmt
from claude_usage.core.feed import sanitize_feed
from claude_usage.core.shared import DEFAULT_SPACING_S, SharedBudget
from claude_usage.core.times import iso_or_none
from claude_usage.errors import UnavailableError

TYPE_CHECKING = False  # not typing's: importing typing costs every render
if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping
    from typing import Any

    from claude_usage.core.document import Choice

DEFAULT_MAX_AGE_S = 60.0
DEFAULT_ENDPOINT_MAX_AGE_S = 900.0
ENDPOINT_MAX_AGE_FLOOR_S = 300.0  # against the real endpoint; a loopback one (tests, the demo) may go lower
MAX_AGE_CAP_S = 86_400.0  # what `claude-usage refresh --max-age` accepts
STDIN_LIMIT = 4 * 1024 * 1024  # Claude Code's JSON is a few kB; anything this big is not it
PLACEHOLDER = "5h –"
REWRITE_AFTER_S = 5.0  # the same values seen again within this are not written again
RESPAWN_AFTER_S = 30.0  # a refresh started this recently is still on its way
PENDING_FLUSH = 100  # status-line values waiting for the history: a refresh files them
STALE_MARK_S = 600.0  # feed numbers older than this get their age shown at the end of the line
ENDPOINT_STALE_MARK_S = 900.0  # an endpoint-only number older than this gets its own age
CHAIN_TIMEOUT_S = 2.0

# Placeholders of --format, each a window key of the shared store.
PLACEHOLDERS = {
    "5h": "five_hour",
    "7d": "seven_day",
    "sonnet": "seven_day_sonnet",
    "opus": "seven_day_opus",
}
_FIELD = re.compile(r"\{([a-z0-9_]+)\}")
_COLOURS = {"calm": "\x1b[32m", "warning": "\x1b[33m", "alarm": "\x1b[1;31m"}
_RESET = "\x1b[0m"


USAGE = (
    "usage: claude-usage statusline [--format FORMAT] [--max-age SECONDS] [--endpoint-max-age SECONDS]"
    " [--chain COMMAND] [--no-refresh]"
)
HELP = f"""{USAGE}
       claude-usage statusline install [--force] [--chain COMMAND] [--format FORMAT] [--refresh-interval SECONDS]
       claude-usage statusline uninstall

The line Claude Code shows under its prompt (it runs this with its session JSON on stdin): your limits from
Claude Code's own feed, what only the usage endpoint has (the Sonnet and Opus weeks) from the shared store.

options:
  --format FORMAT        the line's layout; placeholders: {{5h}} {{7d}} {{sonnet}} {{opus}} (percent),
                         {{5h_reset}} {{7d_reset}} {{sonnet_reset}} {{opus_reset}} (time to reset), {{age}} (age
                         of the oldest number); default "5h {{5h}} ↻{{5h_reset}} · 7d {{7d}} · Sonnet {{sonnet}}"
  --max-age SECONDS      the session and week numbers may be this old before a background refresh is
                         started, when Claude Code's feed does not carry them (default 60)
  --endpoint-max-age SECONDS
                         what only the endpoint has is refreshed at most this often (default 900; at
                         least 300 against the real endpoint); never while a live dashboard polls
  --chain COMMAND        run another status line command first (same stdin, 2 s timeout); its lines above ours
  --no-refresh           never start a background refresh: show only what the store holds

install                  add this status line to Claude Code's settings.json (a backup beside it);
                         --force replaces another tool's line, --chain COMMAND keeps it above ours,
                         --refresh-interval SECONDS re-renders while Claude Code idles (default 30; 0: none)
uninstall                remove it (another tool's line is left alone)

It always exits 0 and prints a line; 5h – means nothing is known yet."""


DESCRIPTION = "Add or remove claude-usage's status line in Claude Code's settings.json."


def configure(parser: Any) -> None:
    """`statusline install | uninstall` (the render itself takes no argparse: see `main`)."""
    from claude_usage.commands import statusline_setup

    statusline_setup.configure(parser)


def run(args: Any, env: Mapping[str, str]) -> int:
    from claude_usage.commands import statusline_setup

    return statusline_setup.run(args, env)


class BadOption(Exception):
    """A status line option we do not know; shown in the line itself (stderr goes nowhere)."""


class Help(Exception):
    """--help: the whole help text, printed as is."""


def main(argv: list[str]) -> int:
    """Print the status line; always 0 (install/uninstall have real exit codes)."""
    try:
        line = render(argv, os.environ, sys.stdin)
    except Help:
        line = HELP
    except BadOption as exc:
        line = f"{PLACEHOLDER} · claude-usage statusline: {exc}"
    except Exception:  # noqa: BLE001 - Claude Code shows nothing on a crash: always print a line
        line = PLACEHOLDER
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except OSError:
        pass  # Claude Code aborted this render and closed the pipe
    except ValueError:  # a stdout that cannot encode the line (cp1252 on Windows has no ↻): write UTF-8 bytes
        try:
            sys.stdout.buffer.write((line + "\n").encode())
            sys.stdout.buffer.flush()
        except (OSError, ValueError, AttributeError):
            pass
    return 0


def _options(argv: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {
        "format": None,
        "max_age": DEFAULT_MAX_AGE_S,
        "endpoint_max_age": DEFAULT_ENDPOINT_MAX_AGE_S,
        "chain": None,
        "refresh": True,
    }
    args = list(argv)
    while args:
        arg = args.pop(0)
        name, eq, value = arg.partition("=")
        if name in ("--format", "--max-age", "--endpoint-max-age", "--chain"):
            if not eq:
                if not args:
                    raise BadOption(f"{name} needs a value")
                value = args.pop(0)
            if name in ("--max-age", "--endpoint-max-age"):
                try:
                    seconds = float(value)
                except ValueError:
                    raise BadOption(f"{name} takes seconds, not {value!r}") from None
                if not math.isfinite(seconds):
                    raise BadOption(f"{name} takes seconds, not {value!r}")
                options[name[2:].replace("-", "_")] = min(MAX_AGE_CAP_S, max(0.0, seconds))
            else:
                options[name[2:]] = value
        elif arg == "--no-refresh":
            options["refresh"] = False
        elif arg in ("-h", "--help"):
            raise Help
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
    key, logged_in = account.current_key(env, store)
    doc = _record(store, key, feed, now)
    values = {name: document.shown(doc, window_key, now) for name, window_key in PLACEHOLDERS.items()}
    if options["refresh"]:
        pending = doc.get("pending")
        # A refresh also files the values waiting for the history, even for a login it cannot use.
        flush = isinstance(pending, list) and len(pending) >= PENDING_FLUSH
        due = _refresh_due(doc, values, options, now, env, feed) if logged_in else None
        if flush or due:
            # Only filing the pending values: a refresh that asks nothing unless the reply is a day old.
            _claim_and_spawn(store, key, due or MAX_AGE_CAP_S, now, env)
    line = _format(options["format"], values, now, colour=not env.get("NO_COLOR"))
    if options["chain"]:
        line = _chain(options["chain"], raw, line)
    return line


def _record(store: Store, key: str, feed: dict[str, Any], now: datetime) -> dict[str, Any]:
    try:
        doc = store.read(key)
    except UnavailableError:
        doc = {}
    fresh = document.news(doc, feed)
    if not fresh or _already_known(doc, fresh, now):
        return doc  # an idle session's old news, or values seen moments ago: no write (renders come often)
    try:
        return store.update(key, lambda doc: document.record_feed(doc, feed, now), timeout_s=0.3)
    except UnavailableError:  # busy or unwritable: show what stdin said anyway
        return document.record_feed(doc, feed, now)


def _already_known(doc: dict[str, Any], feed: dict[str, Any], now: datetime) -> bool:
    """The store has these very values, seen moments ago: no write (renders come several a second)."""
    windows = document.feed_windows(doc)
    for key, (value, resets_at) in feed.items():
        old = windows.get(key)
        if not isinstance(old, dict):
            return False
        seen = iso_or_none(old.get("observed_at"))
        if seen is None or not 0 <= (now - seen).total_seconds() < REWRITE_AFTER_S:
            return False
        if not document.same_capture(old, value, resets_at):
            return False
    return True


def _needed(fmt: str | None) -> list[str]:
    if fmt is None:
        return ["5h", "7d", "sonnet"]
    names = (name.split("_")[0] for name in _FIELD.findall(fmt))
    return list(dict.fromkeys(name for name in names if name in PLACEHOLDERS))


def _loopback_api(env: Mapping[str, str]) -> bool:
    """Whether $CLAUDE_USAGE_API_URL names a loopback host (the refresh itself validates the URL)."""
    url = env.get("CLAUDE_USAGE_API_URL", "").strip().lower()
    if "://" not in url:
        return False
    rest = url.split("://", 1)[1]
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    if host.startswith("["):
        return host[1:].split("]", 1)[0] == "::1"
    host = host.split(":", 1)[0]
    return host == "localhost" or host.startswith("127.")


def _refresh_due(
    doc: dict[str, Any],
    values: dict[str, Choice | None],
    options: dict[str, Any],
    now: datetime,
    env: Mapping[str, str],
    fed: Collection[str] = (),
) -> float | None:
    """The `--max-age` a refresh should run with, or None when the line needs no request now.

    The session and the week come from Claude Code's feed (`fed`: the keys this render's stdin carried):
    never asked for while it carries them, else only when no source has had them for `--max-age`. What only
    the endpoint has is asked for at most every `--endpoint-max-age`. Nothing is asked while a live dashboard
    (a poller) keeps the store fresh.
    """
    shared = SharedBudget(doc)
    if shared.poller_alive(now):
        return None
    endpoint_age = options["endpoint_max_age"]
    if not _loopback_api(env):
        endpoint_age = max(endpoint_age, ENDPOINT_MAX_AGE_FLOOR_S)
    reply_age = document.reply_age(doc, now)
    for name in _needed(options["format"]):
        value = values.get(name)
        if PLACEHOLDERS[name] in fed:
            # Claude Code's feed carried it in this very render: fresh, whichever number is shown (the feed
            # may round a little below the endpoint's). Only an unconfirmed 100 is worth a rare look.
            if value is not None and value.unconfirmed and (reply_age is None or reply_age > endpoint_age):
                return float(endpoint_age)
        elif PLACEHOLDERS[name] in document.FEED_KEYS:
            # Unknown (a whole reply would say whether the account has it), unconfirmed or old, and no
            # whole reply young enough to stand for it.
            wanted = value is None or value.reset_passed or value.unconfirmed or _age(value, now) > options["max_age"]
            if wanted and (reply_age is None or reply_age > options["max_age"]):
                return float(options["max_age"])
        elif reply_age is None or reply_age > endpoint_age:
            return float(endpoint_age)
    return None


def _age(choice: Choice, now: datetime) -> float:
    observed = choice.seen.observed_at
    return float("inf") if observed is None else (now - observed).total_seconds()


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


def _percent(value: Choice | None, colour: bool) -> str:
    if value is None or value.reset_passed:
        return "–"
    utilization = value.seen.utilization
    text = fmt.percent_text(utilization) + ("?" if value.unconfirmed else "")
    return f"{_COLOURS[fmt.level(utilization)]}{text}{_RESET}" if colour else text


def _countdown(value: Choice | None, now: datetime) -> str:
    resets_at = None if value is None or value.reset_passed else value.seen.resets_at
    if resets_at is None:
        return "–"
    seconds = int((resets_at - now).total_seconds())
    days, rest = divmod(max(0, seconds), 86_400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d{hours}h"
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"


def _age_text(seconds: float) -> str:
    if seconds < 60:
        return f"{int(seconds)}s"
    return f"{int(seconds // 60)}m" if seconds < 3600 else f"{int(seconds // 3600)}h"


def _oldest_age(values: list[Choice | None], now: datetime) -> float | None:
    ages = [_age(v, now) for v in values if v is not None and not v.reset_passed]
    return max(ages) if ages else None


def _format(fmt: str | None, values: dict[str, Choice | None], now: datetime, *, colour: bool) -> str:
    if fmt is None:
        return _default_line(values, now, colour)
    oldest = _oldest_age(list(values.values()), now)
    fields: dict[str, Callable[[], str]] = {"age": lambda: "–" if oldest is None else _age_text(oldest)}
    for name in PLACEHOLDERS:
        value = values.get(name)
        fields[name] = lambda value=value: _percent(value, colour)  # type: ignore[misc]
        fields[f"{name}_reset"] = lambda value=value: _countdown(value, now)  # type: ignore[misc]
    line = _FIELD.sub(lambda m: fields[m.group(1)]() if m.group(1) in fields else m.group(0), fmt)
    return line.replace("\n", " ").strip() or PLACEHOLDER


def _default_line(values: dict[str, Choice | None], now: datetime, colour: bool) -> str:
    """`5h 78% ↻2h11m · 7d 41% · Sonnet 12%`; `5h –` when nothing is known.

    When the session's and the week's numbers are over ten minutes old the line ends with the oldest age
    shown; otherwise an endpoint-only number (Sonnet) over fifteen minutes old carries its own.
    """
    session, week, sonnet = values.get("5h"), values.get("7d"), values.get("sonnet")
    if all(v is None or v.reset_passed for v in (session, week, sonnet)):
        return PLACEHOLDER
    parts = [f"5h {_percent(session, colour)}" + (f" ↻{_countdown(session, now)}" if session else "")]
    if week is not None:
        parts.append(f"7d {_percent(week, colour)}")
    fed = _oldest_age([session, week], now)
    stale = fed is not None and fed > STALE_MARK_S
    if sonnet is not None:
        text = f"Sonnet {_percent(sonnet, colour)}"
        age = _age(sonnet, now)
        if not stale and not sonnet.reset_passed and age > ENDPOINT_STALE_MARK_S:
            text += f" ({_age_text(age)})"
        parts.append(text)
    if stale:
        oldest = _oldest_age([session, week, sonnet], now)
        parts.append(f"{_age_text(oldest or 0.0)} old")
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
