"""`claude-usage doctor`'s checks of what we are wired into: the status line, transcripts, the config, alerts.

Each gives one `Check` (service/doctor.py). Only reads: Claude Code's `settings.json` (is our status line in
it, with a `refreshInterval`; has it received `rate_limits` lately, as the store's document shows), its
transcripts under the config dirs `report` reads, our config file (adapters/config.py, when this build has
it) and the PATH the alert channels run from.

Must not import rich or httpx.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import TYPE_CHECKING, Any, NamedTuple

from claude_usage.core import document
from claude_usage.core.fmt import age
from claude_usage.core.times import iso_or_none
from claude_usage.service.doctor import FAIL, OK, WARN, Check, quote

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

INSTALL_FIX = "claude-usage statusline install"
FEED_LATELY_S = 86_400.0  # rate_limits received within a day count as "lately"
SLOW_REFRESH_FLOOR_S = 5  # a refreshInterval below this spawns a process every few seconds per session
MAX_TRANSCRIPTS = 100_000  # counted up to here: enough to say "there are some", quick on any disk
CONFIG_MODULE = "claude_usage.adapters.config"


# -- the status line ----------------------------------------------------------------------------------


def check_statusline(env: Mapping[str, str], doc: dict[str, Any], now: datetime) -> Check:
    """Installed in `settings.json`, with a `refreshInterval`, and receiving `rate_limits` lately."""
    from claude_usage.adapters.paths import read_regular
    from claude_usage.adapters.redact import redact
    from claude_usage.adapters.settings import KEY, is_ours, settings_path

    path = settings_path(env)
    fed_s = fed_ago(doc, now)
    heard = f" (yet rate_limits came {age(fed_s)})" if fed_s is not None else ""
    try:
        raw, _ = read_regular(str(path))
    except FileNotFoundError:
        return Check("statusline", WARN, f"not installed: there is no {path}{heard}", INSTALL_FIX)
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        return Check("statusline", WARN, f"cannot read {path}: {why}", f"ls -l {quote(path)}")
    try:
        settings = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except json.JSONDecodeError as exc:
        return Check(
            "statusline",
            WARN,
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}): Claude Code cannot read it",
            f"correct line {exc.lineno} of {quote(path)}, then: {INSTALL_FIX}",
        )
    except (ValueError, RecursionError):
        return Check("statusline", WARN, f"{path} is not UTF-8 JSON: Claude Code cannot read it", f"fix {path}")
    entry = settings.get(KEY) if isinstance(settings, dict) else None
    if entry is None:
        return Check("statusline", WARN, f"not installed in {path}{heard}", INSTALL_FIX)
    if not is_ours(entry):
        command = entry.get("command") if isinstance(entry, dict) else None
        if not isinstance(command, str) or not command.strip():
            return Check(
                "statusline", WARN, f"{path} has a statusLine that is not ours{heard}", f"{INSTALL_FIX} --force"
            )
        shown = redact(command, env)
        return Check(
            "statusline",
            WARN,
            f"{path} runs another status line ({shown}); ours is not installed{heard}",
            f"{INSTALL_FIX} --chain {quote(shown)}",
        )
    interval = entry.get("refreshInterval")
    if interval is None:
        return Check(
            "statusline",
            WARN,
            f"installed in {path}, without refreshInterval: its countdowns stand still while Claude Code is idle",
            INSTALL_FIX,  # which adds "refreshInterval": 30 to an entry that has none
        )
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval < SLOW_REFRESH_FLOOR_S:
        return Check(
            "statusline",
            WARN,
            f"installed in {path}, with refreshInterval {json.dumps(interval)}: every session runs the status line "
            f"that often; 30 s is plenty for countdowns in minutes",
            f'set "refreshInterval": 30 in the statusLine entry of {path}',
        )
    installed = f"installed in {path}, refreshInterval {interval:g} s"
    send = "start `claude` and send a message; then run claude-usage doctor again"
    if fed_s is None:
        return Check(
            "statusline",
            WARN,
            f"{installed}; it has not received rate_limits yet (Claude Code sends them after the first reply of a "
            "session, for a claude.ai login)",
            send,
        )
    if fed_s > FEED_LATELY_S:
        return Check("statusline", WARN, f"{installed}; it last received rate_limits {age(fed_s)}", send)
    return Check("statusline", OK, f"{installed}; it received rate_limits {age(fed_s)}")


def fed_ago(doc: dict[str, Any], now: datetime) -> float | None:
    """Seconds since the status line last recorded `rate_limits` in the document; None when it never has."""
    captures = list(document.feed_windows(doc).values())
    pending = doc.get("pending")
    captures += pending if isinstance(pending, list) else []
    times = [iso_or_none(capture.get("observed_at")) for capture in captures if isinstance(capture, dict)]
    latest = max((t for t in times if t is not None), default=None)
    return None if latest is None else max(0.0, (now - latest).total_seconds())


# -- transcripts --------------------------------------------------------------------------------------


def check_transcripts(env: Mapping[str, str]) -> Check:
    """Claude Code's transcripts (`projects/**/*.jsonl`) under the config dirs `report` reads."""
    from claude_usage.adapters.paths import config_dir
    from claude_usage.adapters.transcripts.roots import config_roots

    roots = config_roots(env)
    skipped = "; " + "; ".join(roots.skipped) if roots.skipped else ""
    fix = "run `claude` in a project folder once (it writes its transcripts to <config dir>/projects)"
    if not roots.dirs:
        where = env.get("CLAUDE_CONFIG_DIR", "").strip() or config_dir(env)
        return Check("transcripts", WARN, f"no projects/ folder with transcripts in {where}{skipped}", fix)
    counts = [(root, _count_transcripts(os.path.join(root, "projects"))) for root in roots.dirs]
    total = sum(count for _, count in counts)
    listed = ", ".join(os.path.join(root, "projects") for root, _ in counts)
    if not total:
        return Check("transcripts", WARN, f"no transcripts (*.jsonl) under {listed}{skipped}", fix)
    more = "+" if total >= MAX_TRANSCRIPTS else ""
    return Check("transcripts", OK, f"{total:,}{more} transcript files under {listed}{skipped}")


def _count_transcripts(folder: str) -> int:
    count = 0
    for _, _, files in os.walk(folder):
        count += sum(1 for name in files if name.endswith(".jsonl"))
        if count >= MAX_TRANSCRIPTS:
            break
    return count


# -- config and alerts --------------------------------------------------------------------------------


class Alerts(NamedTuple):
    """What the alert channels need: the user command (argv), desktop notifications on or off, the config file."""

    command: tuple[str, ...] | None = None
    desktop: bool = True
    source: str | None = None  # the config file that says so; None: the defaults


def check_config(env: Mapping[str, str]) -> tuple[Check, Alerts | None]:
    """The config file parses (adapters/config.py's `load`); the alerts it configures (None: it does not load)."""
    from claude_usage.errors import ClaudeUsageError

    module = _config_module()
    if isinstance(module, str):
        return Check("config", FAIL, module, "pip install --force-reinstall claude-code-usage-monitor"), None
    if module is None:
        return Check("config", OK, "no config module in this claude-usage: nothing to check"), Alerts()
    path = module.config_path(env)
    try:
        config = module.load(env)
    except ClaudeUsageError as exc:  # ConfigError: names the file and the line or key
        moved = f"{path}.bak"
        return (
            Check(
                "config",
                FAIL,
                str(exc),
                f"correct {quote(path)} where it says, or start over: mv {quote(path)} {quote(moved)} "
                "&& claude-usage config init",
            ),
            None,
        )
    alerts = getattr(config, "alerts", None)
    command = getattr(alerts, "command", None)
    desktop = getattr(alerts, "desktop", True)
    found = Alerts(
        tuple(str(word) for word in command) if command else None,
        bool(desktop),
        str(path) if os.path.exists(path) else None,
    )
    if found.source is None:
        return Check("config", OK, f"no config file at {path}: the defaults apply"), found
    return Check("config", OK, f"{path} is valid"), found


def _config_module() -> Any:
    """adapters/config.py, None when this build has none, or a line saying why it cannot be imported."""
    import importlib

    try:
        return importlib.import_module(CONFIG_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name == CONFIG_MODULE:
            return None
        return f"cannot load the config reader: {exc}"


def check_alerts(env: Mapping[str, str], alerts: Alerts | None, platform: str) -> Check:
    """The user command's program is on PATH; a desktop notifier is (`notify-send`, `osascript`)."""

    where = "the defaults (the config could not be read)" if alerts is None else (alerts.source or "the defaults")
    alerts = alerts or Alerts()
    in_config = f"in [alerts] of {alerts.source}" if alerts.source else "in [alerts] of the config file"
    parts: list[str] = []
    if alerts.command:
        program = alerts.command[0]
        found = _program(program, env)
        if found is None:
            return Check(
                "alerts",
                FAIL,
                f"the alert command's program {program!r} is not on PATH (`command` {in_config})",
                f"install {program}, or correct `command` {in_config}",
            )
        parts.append(f"the alert command runs {found}")
    if not alerts.desktop:
        parts.append("desktop notifications off")
    else:
        found = desktop_notifier(env, platform)
        if found is None:
            own = "osascript" if platform == "darwin" else "notify-send"
            install = (
                "put /usr/bin on PATH"
                if own == "osascript"
                else "install notify-send (Debian/Ubuntu: sudo apt install libnotify-bin; Fedora: sudo dnf install "
                "libnotify)"
            )
            return Check(
                "alerts",
                WARN,
                "; ".join([*parts, f"no {own} on PATH: a desktop alert becomes one notice in the log ({where})"]),
                f"{install}, or set desktop = false {in_config}",
            )
        parts.append(f"desktop notifications through {found}")
    return Check("alerts", OK, "; ".join(parts) + f" ({where})")


def desktop_notifier(env: Mapping[str, str], platform: str) -> str | None:
    """notify-send or osascript on the environment's PATH, the platform's own first (as adapters/notify.py)."""
    order = ("osascript", "notify-send") if platform == "darwin" else ("notify-send", "osascript")
    return next((found for name in order if (found := _program(name, env)) is not None), None)


def _program(name: str, env: Mapping[str, str]) -> str | None:
    """Where `name` runs from: a path as given if executable, else found on the environment's PATH."""
    if os.sep in name or (os.altsep and os.altsep in name):
        return name if os.path.isfile(name) and os.access(name, os.X_OK) else None
    return shutil.which(name, path=env.get("PATH", os.defpath))
