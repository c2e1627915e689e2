"""The user's config file: TOML in the user config dir (`CLAUDE_USAGE_CONFIG` names another), read and checked once.

`load(env)` gives the defaults when the file does not exist; a file that is not TOML, or holds a value of the
wrong type, raises `ConfigError` (exit 2) naming the file and the line (syntax) or the key (type). Unknown
tables are left for later versions; an unknown key inside `[alerts]` is an error, since a typo there would
silently turn an alert off. Only the faces that use the config read it: never the status line.

The file::

    [alerts]
    thresholds = [80, 95]           # percent of each limit; a list (may be empty)
    command = "ntfy publish me"     # split like a shell line, run without a shell (or a list: the argv)
    desktop = true                  # notify-send (Linux) / osascript (macOS)
    bell = true                     # the live dashboard rings the terminal bell
    quiet = "22:00-08:00"           # hold desktop alerts; one summary after
    lose_it_hours = 1               # before the weekly reset, with more than half left (0: never)
    command_timeout = 10            # seconds, then the command is killed

    [alerts.thresholds_by_key]      # per limit, replacing `thresholds`
    five_hour = [90]

    [alerts.channels]               # per rule, which channels (default: every channel that is on)
    reset = ["desktop"]
    lose_it = []

    [accounts]                      # several logins: NAME = Claude Code's config dir (`~` is the home)
    work = "~/.claude-work"
    personal = "~/.claude"
"""

from __future__ import annotations

import math
import os
import re
import sys
from datetime import time
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from claude_usage.adapters import paths
from claude_usage.core.alerts import CHANNELS, DEFAULT_THRESHOLDS, RULES, Rules
from claude_usage.errors import CommandLineError

if TYPE_CHECKING:
    from collections.abc import Mapping

FILE_NAME = paths.CONFIG_FILE_NAME
ENV_VAR = paths.CONFIG_ENV_VAR
MAX_BYTES = 1024 * 1024  # a config file past this is not one we wrote or a person did
_EMPTY: Mapping[str, Any] = MappingProxyType({})
_QUIET = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$")
_AT_END = " (at end of document)"
_AT_LINE = re.compile(r"^(.*?)\s*\(at line (\d+), column (\d+)\)\s*$", re.DOTALL)
ACCOUNT_NAME = re.compile(r"[A-Za-z0-9_-]+")


class ConfigError(CommandLineError):
    """The config file cannot be used: not TOML (names the file and line) or a wrong value (names the key)."""


class AlertsConfig(NamedTuple):
    """The `[alerts]` table, checked, with the defaults for what it leaves out."""

    thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS
    thresholds_by_key: Mapping[str, tuple[float, ...]] = _EMPTY
    command: tuple[str, ...] | None = None
    desktop: bool = True
    bell: bool = True
    quiet: tuple[time, time] | None = None
    lose_it_hours: float = 1.0
    command_timeout: float = 10.0
    channels: Mapping[str, tuple[str, ...]] = _EMPTY  # rule -> channels; a rule not named uses them all

    def rules(self) -> Rules:
        """What core/alerts.py needs of this table."""
        return Rules(self.thresholds, self.thresholds_by_key, self.lose_it_hours)

    def channels_for(self, rule: str) -> tuple[str, ...]:
        """The channels an alert of `rule` goes to (before asking which of them are on)."""
        return self.channels.get(rule, CHANNELS)


class Account(NamedTuple):
    """One login to show: its name (`[A-Za-z0-9_-]+`) and Claude Code's config dir for it (`CLAUDE_CONFIG_DIR`)."""

    name: str
    config_dir: str


class Config(NamedTuple):
    """The whole file; `source` is the file it came from, None when there was none (all defaults)."""

    alerts: AlertsConfig = AlertsConfig()
    source: Path | None = None
    accounts: tuple[Account, ...] = ()  # `[accounts]` in the file's order; empty: the one login of the environment


config_dir = paths.user_config_dir
config_path = paths.config_file


def load(env: Mapping[str, str], path: Path | None = None) -> Config:
    """The config in `path` (default: `config_path(env)`); the defaults when that file does not exist."""
    path = config_path(env) if path is None else path
    try:
        with path.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return Config()
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc.strerror or exc}") from exc
    if len(data) > MAX_BYTES:
        raise ConfigError(f"config file {path}: larger than {MAX_BYTES // 1024} KB; is it the right file?")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"config file {path}, line {line}: not UTF-8 text") from exc
    doc = _parse(text, path)
    table = doc.get("alerts", {})
    if not isinstance(table, dict):
        raise ConfigError(f"config file {path}: alerts: expected a table ([alerts]), got {_kind(table)}")
    accounts = doc.get("accounts", {})
    if not isinstance(accounts, dict):
        raise ConfigError(f"config file {path}: accounts: expected a table ([accounts]), got {_kind(accounts)}")
    return Config(alerts=_alerts(table, path), source=path, accounts=_accounts(accounts, path, env))


def _parse(text: str, path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _AT_LINE.match(message)
        if found is not None:
            what, line, column = found.groups()
            where = f"line {line}, column {column}"
        elif message.endswith(_AT_END):
            what, where = message[: -len(_AT_END)], f"line {text.count(chr(10)) + 1} (the end of the file)"
        else:
            raise ConfigError(f"config file {path}: {message}") from None
        raise ConfigError(f"config file {path}, {where}: {what[:1].lower()}{what[1:]}") from None


# -- checking the [alerts] table ------------------------------------------------------------------------


class _Checker:
    """Reads one table's values, raising ConfigError that names the file and the key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, expected: str, value: object) -> ConfigError:
        return ConfigError(f"config file {self.path}: {key}: expected {expected}, got {_shown(value)}")

    def flag(self, key: str, value: object) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, "true or false", value)
        return value

    def number(self, key: str, value: object, low: float, high: float, *, low_open: bool = False) -> float:
        number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan
        if not ((low < number if low_open else low <= number) and number <= high):
            bound = "more than" if low_open else "at least"
            raise self.fail(key, f"a number {bound} {low:g} and at most {high:g}", value)
        return number

    def percents(self, key: str, value: object) -> tuple[float, ...]:
        expected = "a list of percentages, each more than 0 and at most 100 (like [80, 95])"
        if not isinstance(value, list):
            raise self.fail(key, expected, value)
        found = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, (int, float)) or not 0 < item <= 100:
                raise self.fail(key, expected, value)
            found.append(float(item))
        return tuple(sorted(set(found)))

    def names(self, key: str, value: object, allowed: tuple[str, ...]) -> tuple[str, ...]:
        expected = f"a list of {', '.join(allowed)}"
        if not isinstance(value, list) or not all(isinstance(item, str) and item in allowed for item in value):
            raise self.fail(key, expected, value)
        return tuple(dict.fromkeys(value))

    def command(self, key: str, value: object) -> tuple[str, ...] | None:
        if isinstance(value, list) and value and all(isinstance(item, str) and item for item in value):
            return tuple(value)
        if not isinstance(value, str):
            raise self.fail(key, "a command line (text) or a list of its words", value)
        try:
            return split_command(value)
        except ValueError as exc:
            raise ConfigError(f"config file {self.path}: {key}: {exc}") from None

    def quiet(self, key: str, value: object) -> tuple[time, time] | None:
        if value == "" or value is False:
            return None
        if isinstance(value, str):
            try:
                return parse_quiet(value)
            except ValueError:
                pass
        raise self.fail(key, 'quiet hours as "HH:MM-HH:MM" (like "22:00-08:00")', value)


def split_command(text: str) -> tuple[str, ...] | None:
    """A command line split like a shell would (quotes, backslashes), never run through one; None when empty."""
    import shlex

    try:
        words = tuple(shlex.split(text))
    except ValueError as exc:
        raise ValueError(f"cannot split {text!r}: {str(exc)[:1].lower()}{str(exc)[1:]}") from None
    return words or None


def parse_quiet(text: str) -> tuple[time, time]:
    """`"22:00-08:00"` -> (22:00, 08:00); ValueError for anything else (or an empty span)."""
    found = _QUIET.match(text)
    if found is None:
        raise ValueError(text)
    h1, m1, h2, m2 = (int(part) for part in found.groups())
    start, end = time(h1, m1), time(h2, m2)  # ValueError past 23:59
    if start == end:
        raise ValueError(text)
    return start, end


def _alerts(table: dict[str, Any], path: Path) -> AlertsConfig:
    check = _Checker(path)
    found: dict[str, Any] = {}
    for name, value in table.items():
        key = f"alerts.{name}"
        if name == "thresholds":
            found["thresholds"] = check.percents(key, value)
        elif name == "thresholds_by_key":
            if not isinstance(value, dict):
                raise check.fail(key, "a table ([alerts.thresholds_by_key])", value)
            per_key = {k: check.percents(f"{key}.{_toml_key(k)}", v) for k, v in value.items()}
            found["thresholds_by_key"] = MappingProxyType(per_key)
        elif name == "command":
            found["command"] = check.command(key, value)
        elif name in ("desktop", "bell"):
            found[name] = check.flag(key, value)
        elif name == "quiet":
            found["quiet"] = check.quiet(key, value)
        elif name == "lose_it_hours":
            found["lose_it_hours"] = check.number(key, value, 0, 168)
        elif name == "command_timeout":
            found["command_timeout"] = check.number(key, value, 0, 3600, low_open=True)
        elif name == "channels":
            if not isinstance(value, dict):
                raise check.fail(key, "a table ([alerts.channels])", value)
            for rule in value:
                if rule not in RULES:
                    raise ConfigError(
                        f"config file {path}: {key}.{_toml_key(rule)}: unknown rule (rules: {', '.join(RULES)})"
                    )
            per_rule = {rule: check.names(f"{key}.{rule}", v, CHANNELS) for rule, v in value.items()}
            found["channels"] = MappingProxyType(per_rule)
        else:
            known = ", ".join(AlertsConfig._fields)
            raise ConfigError(f"config file {path}: {key}: unknown key (known: {known})")
    return AlertsConfig(**found)


def _accounts(table: dict[str, Any], path: Path, env: Mapping[str, str]) -> tuple[Account, ...]:
    """`[accounts]`: NAME = "config dir", in the file's order; a leading `~` is the home directory."""
    found = []
    for name, value in table.items():
        if not ACCOUNT_NAME.fullmatch(name):
            raise ConfigError(
                f"config file {path}: accounts.{_toml_key(name)}: a name may hold only letters, digits, _ and -"
            )
        if not isinstance(value, str) or not value.strip():
            raise _Checker(path).fail(f"accounts.{name}", "Claude Code's config dir (text)", value)
        found.append(Account(name, expand_home(value, env)))
    return tuple(found)


def expand_home(text: str, env: Mapping[str, str]) -> str:
    """`~` and `~/…` with the home of `env` (as a shell would have expanded it for Claude Code); else as is."""
    if text == "~" or text.startswith(("~/", "~" + os.sep)):
        return os.path.join(paths.home(env), text[2:]) if len(text) > 1 else paths.home(env)
    return text


def _toml_key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else f'"{name}"'


def _kind(value: object) -> str:
    return {dict: "a table", list: "a list", str: "text", bool: "a boolean"}.get(type(value), type(value).__name__)


def _shown(value: object) -> str:
    """A value as the user wrote it (TOML-ish), cut short."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = f'"{value}"'
    elif isinstance(value, dict):
        text = "a table"
    else:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- the default file -----------------------------------------------------------------------------------

DEFAULT_FILE = """\
# claude-usage's config file (TOML). `claude-usage config path` prints where it is read from;
# the environment variable CLAUDE_USAGE_CONFIG names another file. Every key may be left out: the
# defaults are the values shown. Flags on `claude-usage watch` and the dashboard override this file.

[alerts]
# Alert when a limit reaches each of these percentages (once per window each).
thresholds = [80, 95]

# Run a command for every alert, with the alert as one JSON object on stdin (keys: rule, key,
# label, utilization, threshold, resets_at, message, fired_at, account). It is split like a shell
# line and run without a shell; write `sh -c '...'` to have one.
# command = "curl -s -H 'Title: Claude usage' --data-binary @- https://ntfy.sh/my-topic"

# Desktop notifications: notify-send on Linux, osascript on macOS.
desktop = true

# Ring the terminal bell in the live dashboard.
bell = true

# Hold desktop notifications between these local times, then show one summary.
# quiet = "22:00-08:00"

# Say so this many hours before the weekly reset when more than half of the week is left (0: never).
lose_it_hours = 1

# Seconds the command may run before it is killed.
command_timeout = 10

[alerts.thresholds_by_key]
# Thresholds for one limit, replacing `thresholds` for it. Keys as in `claude-usage --json`.
# five_hour = [90]
# seven_day = [50, 80, 95]

[alerts.channels]
# Which channels each rule uses (desktop, bell, command); a rule left out uses all of them.
# Rules: threshold, forecast, reset, lose_it, credits. An empty list turns a rule off.
# reset = ["desktop"]
# lose_it = []

# Several logins on one screen (the dashboard, --once, --json, watch): NAME = the config dir Claude Code
# uses for it (its CLAUDE_CONFIG_DIR). `--account NAME=DIR` on the command line replaces this table.
# [accounts]
# work = "~/.claude-work"
# personal = "~/.claude"
"""


def write_default(path: Path, *, force: bool = False) -> None:
    """Write the commented default file at `path` (0600: a command may hold a webhook's secret URL).

    Refuses (ConfigError) to replace an existing file unless `force`; the replacement is atomic.
    """
    if not force and (path.exists() or path.is_symlink()):
        raise ConfigError(f"{path} exists already; use --force to replace it with the defaults")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not force:  # O_EXCL: a file that appeared meanwhile is never replaced
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as f:
                f.write(DEFAULT_FILE)
            return
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as f:
                f.write(DEFAULT_FILE)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    except FileExistsError:
        raise ConfigError(f"{path} exists already; use --force to replace it with the defaults") from None
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from exc
