"""`claude-usage doctor`'s checks of our own files: the shared store and the history.

Each gives one `Check` (service/doctor.py). Nothing here writes: the store is read as it is (a damaged document
is reported, not moved aside), and the history is inspected without being opened for use (opening it would
move a damaged file aside). Permissions are checked on POSIX only: the store's and the history's directories
0700, their files 0600, all owned by the user.

Must not import rich or httpx; sqlite3 stays in adapters/history.py.
"""

from __future__ import annotations

import json
import os
import stat
from typing import TYPE_CHECKING, Any, NamedTuple

from claude_usage.service.doctor import FAIL, OK, WARN, Check, quote

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path

_POSIX = os.name == "posix"


def loose_mode(path: str) -> int | None:
    """The permission bits of `path` when group or others may use it (POSIX); None when private or unknown."""
    if not _POSIX:
        return None
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None
    return mode if mode & 0o077 else None


# -- the store ----------------------------------------------------------------------------------------


class StoreFindings(NamedTuple):
    """What the store held before this run took a reading: its documents and what is wrong with its files."""

    root: str
    documents: int
    loose: tuple[str, ...] = ()  # readable or writable by group or others
    foreign: tuple[str, ...] = ()  # owned by another user (a `sudo claude-usage`, say)
    unreadable: tuple[str, ...] = ()  # one line each, naming the file
    damaged: tuple[str, ...] = ()  # documents that are not a JSON object


def inspect_store(root: str) -> StoreFindings:
    """Read (never write) every file of the store at `root`."""
    if not os.path.isdir(root):
        return StoreFindings(root, 0)
    loose: list[str] = []
    foreign: list[str] = []
    unreadable: list[str] = []
    damaged: list[str] = []
    documents = 0
    uid = os.getuid() if _POSIX else None
    for path, info in _entries(root, unreadable):
        if uid is not None and info.st_uid != uid:
            foreign.append(path)
        if _POSIX and stat.S_IMODE(info.st_mode) & 0o077:
            loose.append(path)
        name = os.path.basename(path)
        if os.path.dirname(path) != root or not name.endswith(".json") or name.startswith("."):
            continue
        documents += 1
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except OSError as exc:
            unreadable.append(f"cannot read {path}: {exc.strerror or type(exc).__name__}")
            continue
        if _document(raw) is None:
            damaged.append(path)
    return StoreFindings(root, documents, tuple(loose), tuple(foreign), tuple(unreadable), tuple(damaged))


def _entries(root: str, unreadable: list[str]) -> Iterator[tuple[str, os.stat_result]]:
    """The root, its files and those of its subdirectories (pointers/), each with its stat."""
    pending = [root]
    while pending:
        directory = pending.pop(0)
        try:
            yield directory, os.stat(directory)
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as exc:
            unreadable.append(f"cannot read {directory}: {exc.strerror or type(exc).__name__}")
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # removed meanwhile (a temp file, a lock)
            if stat.S_ISDIR(info.st_mode):
                if directory == root:
                    pending.append(entry.path)
                continue
            yield entry.path, info


def _document(raw: bytes) -> dict[str, Any] | None:
    """The document in `raw`, None when it is not a JSON object (as adapters/store.py judges it)."""
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return doc if isinstance(doc, dict) else None


def read_document(path: str) -> dict[str, Any]:
    """An account's document as it is now; {} when missing, unreadable or damaged (reported by the store check)."""
    try:
        with open(path, "rb") as f:
            return _document(f.read()) or {}
    except OSError:
        return {}


def store_check(findings: StoreFindings) -> Check:
    """The store check, judged after this run's reading: a damaged document it moved aside is a warning."""

    root = findings.root
    if not os.path.lexists(root):
        return Check("store", OK, f"no store yet at {root}: the first reading creates it")
    if not os.path.isdir(root):
        return Check("store", FAIL, f"{root} is not a directory", f"rm {quote(root)}")
    if findings.unreadable:
        fix = f'sudo chown -R "$USER" {quote(root)}' if findings.foreign else f"chmod -R u+rwX {quote(root)}"
        return Check("store", FAIL, "; ".join(findings.unreadable), fix)
    still = [path for path in findings.damaged if not _replaced(path)]
    if still:
        return Check(
            "store",
            FAIL,
            f"{_names(still)}: not a JSON object (damaged); that account's numbers start from nothing",
            "rm " + " ".join(quote(path) for path in still),
        )
    if findings.foreign:
        return Check(
            "store",
            FAIL,
            f"{_names(findings.foreign)}: owned by another user; this user's readings cannot be written there",
            f'sudo chown -R "$USER" {quote(root)}',
        )
    moved = [(path, _aside(path)) for path in findings.damaged]
    if moved:
        asides = [aside for _, aside in moved if aside]
        return Check(
            "store",
            WARN,
            f"{_names([path for path, _ in moved])} was damaged; this run's reading moved it aside"
            + (f" ({_names(asides)})" if asides else "")
            + " and wrote a fresh one",
            ("rm " + " ".join(quote(aside) for aside in asides) + "  (only frees the space)") if asides else None,
        )
    if findings.loose:
        return Check(
            "store",
            WARN,
            f"{_names(findings.loose)}: readable by other users (the store keeps 0700 directories, 0600 files)",
            f"chmod -R go-rwx {quote(root)}",
        )
    count = findings.documents
    what = f"{count} account document{'s' if count != 1 else ''}" if count else "no account documents yet"
    private = ", private (0700/0600)" if _POSIX else ""
    return Check("store", OK, f"{root}: {what}{private}")


def _names(paths: list[str] | tuple[str, ...]) -> str:
    shown = ", ".join(paths[:3])
    return shown + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def _replaced(path: str) -> bool:
    """Whether the document at `path` is whole now (a write moved the damaged one aside)."""
    try:
        with open(path, "rb") as f:
            return _document(f.read()) is not None
    except OSError:
        return False


def _aside(path: str) -> str | None:
    """The newest `<path>.corrupt-<time>` the store moved a damaged document to."""
    folder, name = os.path.split(path)
    try:
        found = [entry for entry in os.listdir(folder) if entry.startswith(name + ".corrupt-")]
    except OSError:
        return None
    return os.path.join(folder, max(found)) if found else None


# -- the history --------------------------------------------------------------------------------------


def check_history(env: Mapping[str, str]) -> Check:
    """Permissions and `PRAGMA quick_check` (files up to the size that keeps it fast), without opening it for use."""
    from claude_usage.adapters import history

    path = history.history_path(env)
    if not path.exists():
        return Check("history", OK, f"no history yet at {path}: the first reading starts one")
    rescue = "claude-usage history"
    try:
        state, version = history.inspect(path)
    except history.HistoryBusy:
        return Check("history", WARN, f"{path} is locked by another process: not checked", "claude-usage doctor")
    except history.HistoryError as exc:
        return Check("history", FAIL, str(exc), f"ls -l {quote(path.parent)}  (then fix what it shows)")
    size = _size(path)
    broken = {
        "corrupt": "is not a SQLite database",
        "damaged": "fails PRAGMA quick_check (damaged pages)",
        "foreign": "is a SQLite file, but not a claude-usage history",
    }
    if state in broken:
        return Check(
            "history",
            FAIL,
            f"{path} {broken[state]}; `{rescue}` moves it aside (keeping it) and starts a new history",
            rescue,
        )
    if state == "newer":
        return Check(
            "history",
            FAIL,
            f"{path} has schema {version}, newer than this claude-usage knows ({history.SCHEMA_VERSION}): "
            "upgrade before a reading moves it aside",
            "pip install --upgrade claude-code-usage-monitor  (or pipx upgrade / uv tool upgrade)",
        )
    loose = _loose_files(path)
    if loose:
        return Check(
            "history",
            WARN,
            f"{_names(loose)}: readable by other users (the history is kept 0600 in a 0700 directory)",
            "chmod go-rwx " + " ".join(quote(item) for item in loose),
        )
    if state == "empty":
        return Check("history", OK, f"{path}: empty so far")
    checked = (
        "PRAGMA quick_check ok"
        if size <= history.QUICK_CHECK_MAX_BYTES
        else f"over {history.QUICK_CHECK_MAX_BYTES // (1024 * 1024)} MiB, so not quick-checked (damage is found "
        "when a page is read)"
    )
    old = f"; schema {version}, brought up to date at the next reading" if state == "old" else ""
    return Check("history", OK, f"{path}: {_megabytes(size)}, {checked}{old}")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB" if size >= 1024 * 1024 else f"{max(1, size // 1024)} KiB"


def _loose_files(path: Path) -> list[str]:
    candidates = [str(path.parent), str(path), *(f"{path}{suffix}" for suffix in ("-wal", "-shm", "-journal"))]
    return [item for item in candidates if os.path.exists(item) and loose_mode(item) is not None]
