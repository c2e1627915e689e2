"""Claude Code's user `settings.json`: adding and removing our `statusLine` entry, and nothing else.

Owns the file's reading (strict JSON, refused untouched when malformed), the decision whether a
`statusLine` is ours, the timestamped backup beside the file and the atomic rewrite (temp file in the
same directory, fsync, `os.replace`). Every `OSError` and JSON failure becomes a one-line
`CommandLineError` (exit 2) naming the file. See docs/statusline.md §1, §6 and §8.

Decisions:
- Strict parsing: a UTF-8 byte-order mark, invalid UTF-8, `NaN`/`Infinity`, a key repeated in one
  object (a rewrite would silently drop one of them) or a top level that is not an object are all
  refused like invalid JSON, and the file is left byte-identical (no backup, no temp file).
- An empty or whitespace-only file counts as `{}`; it is still backed up before it is rewritten.
- The rewrite is Claude Code's own format: `json.dumps(indent=2, ensure_ascii=False)` plus a newline.
  Every other key keeps its position and value; only number spellings may change (`1e3` -> `1000.0`).
- Re-installing over our own entry, or replacing another tool's (`--force`, or `--chain` of exactly
  its command), updates `type` and `command` in place and keeps the entry's other keys (`padding`,
  `refreshInterval`, `hideVimModeIndicator`); a new entry gets `"padding": 0`. `refreshInterval` is
  added (30 s unless told otherwise) only when the entry has none.
- Claude Code rewrites the file too (at start-up, for one): just before the atomic replace the file is
  read again, and if it changed, our change is decided again on the fresh content (which may now be
  malformed, foreign or already ours) and written again, up to 5 rounds, so another writer's keys are
  not undone (only a write landing between that last read and the rename could be; there is no lock
  Claude Code honours). The backup holds the content we actually replaced.
- A symlinked `settings.json` (dotfile managers) stays a symlink: its target is rewritten; the backup
  goes beside the link, where the user looks.
- Backup names use the local wall-clock time of `now`: `settings.json.bak-YYYYmmdd-HHMMSS[-N]`.

Must not import rich, httpx or sqlite3.
"""

from __future__ import annotations

import codecs
import contextlib
import itertools
import json
import os
import re
import shlex
import stat
import tempfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from claude_usage.adapters.paths import ClaudePaths
from claude_usage.errors import CommandLineError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from datetime import datetime
    from pathlib import Path

OUR_SUBCOMMAND = "statusline"
SETTINGS_NAME = "settings.json"
KEY = "statusLine"
NEW_FILE_MODE = 0o600
DEFAULT_REFRESH_INTERVAL = 30  # seconds; countdowns have minute resolution (docs/statusline.md §8)

_FIX = "fix or move it, then try again"
_MISSING = object()
_PROGRAMS = frozenset({"claude-usage", "claude-usage.exe"})
_MODULE = "claude_usage"
_PYTHON = re.compile(r"(?:py|python[\d.]*t?w?)(?:\.exe)?")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*", re.DOTALL)
_PREFIXES = frozenset({"exec", "env"})
_OPERATOR_CHARS = frozenset("();<>|&")
_PYTHON_FLAGS_WITH_VALUE = frozenset({"-X", "-W"})
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_ROUNDS = 5  # reads of a file another writer keeps rewriting before we give up


@dataclass(frozen=True, slots=True)
class SettingsChange:
    """What install/uninstall did to one settings file."""

    path: Path
    changed: bool
    backup: Path | None
    message: str
    status_line: object = field(default=None, compare=False)  # install: the statusLine value now in the file


@dataclass(frozen=True, slots=True)
class _Plan:
    """One decision over one reading of the file: the document to write (None: nothing to do) and why."""

    doc: dict[str, object] | None
    message: str
    status_line: object = None


def settings_path(env: Mapping[str, str]) -> Path:
    """The user settings file Claude Code reads: `$CLAUDE_CONFIG_DIR/settings.json`, else `~/.claude/`."""
    return ClaudePaths.from_env(env).config_dir / SETTINGS_NAME


def our_entry(executable: str, *, options: Sequence[str] = ()) -> dict[str, object]:
    """Our `statusLine` value: run `executable statusline [options]` (shell-quoted), no padding."""
    if os.name == "nt":  # Git Bash runs the command and eats backslashes (docs/statusline.md §1)
        executable = executable.replace("\\", "/")
    return {"type": "command", "command": shlex.join([executable, OUR_SUBCOMMAND, *options]), "padding": 0}


def is_ours(status_line: object) -> bool:
    """Whether a `statusLine` value runs our status line (any `claude-usage` path or `python -m`)."""
    if not isinstance(status_line, dict):
        return False
    command = status_line.get("command")
    if not isinstance(command, str):
        return False
    if _runs_our_statusline(command):
        return True
    # A Windows path written with backslashes, which POSIX quoting rules would eat.
    return "\\" in command and _runs_our_statusline(command.replace("\\", "/"))


def install(
    path: Path,
    executable: str,
    *,
    force: bool,
    now: datetime,
    options: Sequence[str] = (),
    refresh_interval: int | None = DEFAULT_REFRESH_INTERVAL,
) -> SettingsChange:
    """Point `statusLine` in `path` at our status line; refuses another tool's entry unless `force`.

    `refresh_interval` (seconds) is added as `refreshInterval` when the entry has none; None adds none.
    """
    ours = our_entry(executable, options=options)

    def plan(doc: dict[str, object] | None) -> _Plan:
        doc = {} if doc is None else doc
        current = doc.get(KEY, _MISSING)
        if current is _MISSING:
            entry, done = dict(ours), f"installed the status line in {path}"
        elif isinstance(current, dict) and is_ours(current):
            entry = {**current, "type": "command", "command": ours["command"]}
            entry.setdefault("padding", 0)
            done = f"updated the status line in {path}"
        elif not force and not _chains(options, current):
            raise CommandLineError(_refusal(path, current))
        else:
            kept = current if isinstance(current, dict) else ours
            entry = {**kept, "type": "command", "command": ours["command"]}
            done = f"replaced the status line of another command ({_describe(current)}) in {path}"
        if refresh_interval is not None:
            entry.setdefault("refreshInterval", refresh_interval)
        if current is not _MISSING and _dump(entry) == _dump(current):
            return _Plan(None, f"the status line is already installed in {path}", current)
        doc[KEY] = entry  # an existing key keeps its position; a new one goes last
        return _Plan(doc, done, entry)

    return _edit(path, now, plan)


def uninstall(path: Path, *, now: datetime) -> SettingsChange:
    """Remove `statusLine` from `path` if it is ours; another tool's entry is left alone."""

    def plan(doc: dict[str, object] | None) -> _Plan:
        if doc is None:
            return _Plan(None, f"no status line to remove: {path} does not exist")
        current = doc.get(KEY, _MISSING)
        if current is _MISSING:
            return _Plan(None, f"no status line to remove in {path}")
        if not is_ours(current):
            return _Plan(
                None, f"the status line in {path} belongs to another command ({_describe(current)}); left it alone"
            )
        del doc[KEY]
        return _Plan(doc, f"removed the status line from {path}")

    return _edit(path, now, plan)


# -- recognising our command ------------------------------------------------------------------------


def _runs_our_statusline(command: str) -> bool:
    """`[VAR=x] [exec|env] <claude-usage | python [-flags] -m claude_usage> statusline [options]`."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        words = list(lexer)
    except ValueError:  # unbalanced quotes: not something we wrote
        return False
    if any(word and set(word) <= _OPERATOR_CHARS for word in words):
        return False  # a pipeline or redirection the user built around it: theirs
    start = 0
    while start < len(words) and (words[start] in _PREFIXES or _ASSIGNMENT.fullmatch(words[start])):
        start += 1
    if start == len(words):
        return False
    program = re.split(r"[/\\]", words[start])[-1].lower()
    rest = words[start + 1 :]
    if program not in _PROGRAMS:
        if not _PYTHON.fullmatch(program):
            return False
        module_rest = _after_module(rest)
        if module_rest is None:
            return False
        rest = module_rest
    return bool(rest) and rest[0] == OUR_SUBCOMMAND


def _after_module(args: list[str]) -> list[str] | None:
    """The words after `-m claude_usage` in a Python command line, or None if it runs something else."""
    i = 0
    while i < len(args):
        word = args[i]
        if word == "-m":
            return args[i + 2 :] if args[i + 1 : i + 2] == [_MODULE] else None
        if word == f"-m{_MODULE}":
            return args[i + 1 :]
        if not word.startswith("-") or word in ("-", "-c"):
            return None  # a script, stdin or -c: not our module
        i += 2 if word in _PYTHON_FLAGS_WITH_VALUE else 1
    return None


# -- reading ----------------------------------------------------------------------------------------


class _Refused(Exception):
    """Why the text is not JSON we may rewrite; raised from json.loads hooks."""


def _read(path: Path) -> bytes | None:
    """The file's bytes, or None when it does not exist."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CommandLineError(f"cannot read {path}: {_reason(exc)}") from exc


def _parse(path: Path, data: bytes) -> dict[str, object]:
    """The settings object, strictly: anything Claude Code or a rewrite could get wrong is refused."""
    if data.startswith(codecs.BOM_UTF8):
        raise CommandLineError(f"{path} starts with a UTF-8 byte-order mark; save it without one, then try again")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CommandLineError(f"{path} is not valid UTF-8 (byte {exc.start}); {_FIX}") from exc
    if not text.strip(" \t\r\n"):
        return {}
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise CommandLineError(f"{path} is not valid JSON (line {exc.lineno} column {exc.colno}); {_FIX}") from exc
    except _Refused as exc:
        raise CommandLineError(f"{path} is not valid JSON ({exc}); {_FIX}") from exc
    except RecursionError as exc:
        raise CommandLineError(f"{path} is nested too deeply to edit safely; {_FIX}") from exc
    if not isinstance(value, dict):
        raise CommandLineError(f"{path} is not a JSON object (it holds {_kind(value)}); {_FIX}")
    return value


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    obj: dict[str, object] = {}
    for key, value in pairs:
        if key in obj:
            raise _Refused(f"the key {json.dumps(key, ensure_ascii=False)} appears twice in one object")
        obj[key] = value
    return obj


def _no_constant(name: str) -> object:
    raise _Refused(f"{name} is not a JSON number")


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array"


# -- writing ----------------------------------------------------------------------------------------


def _dump(value: object) -> str:
    """Claude Code's own layout; `\\u` escapes only if the text holds lone surrogates UTF-8 can't carry."""
    text = json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, indent=2) + "\n"
    return text


def _edit(path: Path, now: datetime, plan: Callable[[dict[str, object] | None], _Plan]) -> SettingsChange:
    """Apply `plan` to the file's content (None: no file) and replace it, deciding again if it changed."""
    content = _read(path)
    decision = plan(_load(path, content))
    backup: Path | None = None
    backed_up: bytes | None = None
    try:
        for _ in range(_ROUNDS):
            if decision.doc is None:
                _discard(backup)
                return SettingsChange(path, False, None, decision.message, decision.status_line)
            target = path.resolve() if path.is_symlink() else path
            mode = _mode(path, target, content)
            if backup is not None and backed_up != content:
                _discard(backup)
                backup = None
            if backup is None and content is not None:
                backup, backed_up = _backup(path, content, mode, now), content
            replaced, content = _replace(path, target, _dump(decision.doc).encode("utf-8"), mode, content)
            if replaced:
                note = _backup_note(backup)
                return SettingsChange(path, True, backup, f"{decision.message} ({note})", decision.status_line)
            decision = plan(_load(path, content))
    except BaseException:
        _discard(backup)
        raise
    _discard(backup)
    raise CommandLineError(f"{path} changed while we were editing it; nothing was written, try again")


def _load(path: Path, content: bytes | None) -> dict[str, object] | None:
    return None if content is None else _parse(path, content)


def _mode(path: Path, target: Path, content: bytes | None) -> int:
    """The permission bits to keep: the file's own, or 0600 for a file we create."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        return NEW_FILE_MODE if content is None else stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return NEW_FILE_MODE  # removed since we read it: the re-read before the replace notices
    except OSError as exc:
        raise CommandLineError(f"cannot write {path}: {_reason(exc)}") from exc


def _discard(backup: Path | None) -> None:
    """Remove a backup of content we did not replace after all."""
    if backup is not None:
        with contextlib.suppress(OSError):
            backup.unlink()


def _backup(path: Path, original: bytes, mode: int, now: datetime) -> Path:
    """A byte-identical copy beside `path`, named after `now`'s local time, never overwriting one."""
    stem = f"{path.name}.bak-{now.astimezone():%Y%m%d-%H%M%S}"
    for n in itertools.count(1):
        candidate = path.with_name(stem if n == 1 else f"{stem}-{n}")
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        except FileExistsError:
            continue
        except OSError as exc:
            raise CommandLineError(f"cannot write the backup {candidate}: {_reason(exc)}") from exc
        try:
            _fill(fd, original, mode)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                candidate.unlink()
            if isinstance(exc, OSError):
                raise CommandLineError(f"cannot write the backup {candidate}: {_reason(exc)}") from exc
            raise
        return candidate
    raise AssertionError("unreachable")  # pragma: no cover


def _before_recheck(target: Path) -> None:
    """Nothing; the moment another writer may slip in before our re-read (tests play that writer here)."""


def _replace(path: Path, target: Path, data: bytes, mode: int, expected: bytes | None) -> tuple[bool, bytes | None]:
    """Write a temp file beside `target` and, if the file still holds `expected`, `os.replace` it.

    Returns (True, `expected`) once replaced, else (False, the file's new content, None when it is gone).
    """
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.tmp-{os.getpid()}-", dir=target.parent)
    except OSError as exc:
        raise CommandLineError(f"cannot write {path}: {_reason(exc)}") from exc
    try:
        _fill(fd, data, mode)
        _before_recheck(target)
        fresh = _read(target)
        if fresh != expected:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
            return False, fresh
        os.replace(tmp_name, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        if isinstance(exc, OSError):
            raise CommandLineError(f"cannot write {path}: {_reason(exc)}; it was left as it was") from exc
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable; best effort
        with contextlib.suppress(OSError):
            dir_fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    return True, expected


def _fill(fd: int, data: bytes, mode: int) -> None:
    """Write all of `data` to the open `fd`, set its permission bits, fsync and close it."""
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        if hasattr(os, "fchmod"):
            os.fchmod(f.fileno(), mode)
        os.fsync(f.fileno())


# -- messages ---------------------------------------------------------------------------------------


def _refusal(path: Path, current: object) -> str:
    """Why install stopped, and the two ways on, in one line."""
    head = f"{path} already has a status line from another command ({_describe(current)})"
    force = "re-run with --force to replace it (the backup keeps the old one)"
    command = current.get("command") if isinstance(current, dict) else None
    if not isinstance(command, str) or not command.strip():
        return f"{head}; {force}"
    chain = _one_line(f"claude-usage {OUR_SUBCOMMAND} install --chain {shlex.quote(command)}")
    return f"{head}; {force}, or keep it above ours: {chain}"


def _chains(options: Sequence[str], current: object) -> bool:
    """Whether the options chain exactly the command already installed (then replacing it loses nothing)."""
    command = current.get("command") if isinstance(current, dict) else None
    options = list(options)
    return isinstance(command, str) and "--chain" in options[:-1] and options[options.index("--chain") + 1] == command


def _describe(status_line: object) -> str:
    """The other entry's command, or its JSON when it has none; on one line, at most 200 characters."""
    command = status_line.get("command") if isinstance(status_line, dict) else None
    text = command if isinstance(command, str) else json.dumps(status_line, ensure_ascii=False)
    text = _one_line(text)
    return text if len(text) <= 200 else text[:199] + "\N{HORIZONTAL ELLIPSIS}"


def _one_line(text: str) -> str:
    """Unprintable characters (newlines, tabs, escapes) shown as backslash escapes."""
    return "".join(c if c == " " or c.isprintable() else _ESCAPES.get(c, f"\\u{ord(c):04x}") for c in text)


def _backup_note(backup: Path | None) -> str:
    return "new file" if backup is None else f"backup: {backup}"


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__
