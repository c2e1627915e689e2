"""The shared reading store: one JSON document per account, shared by every process on the machine.

Files under the root (created 0700 on first write; every file 0600)::

    <key>.json              the account's document (opaque here), replaced atomically, never edited
    <key>.lock              held (flock / msvcrt) while a process reads, changes and replaces it
    <key>.request.lock      held while one process asks the endpoint for this account
    pointers/<name>         one account key per file: maps a name (say, a token fingerprint) to a key

Readers take no lock: a document is written to a temp file in the same directory, fsynced and
`os.replace`d into place, so a reader sees the old or the new file, whole, even when the writer is
killed mid-write (the next update removes the temp file it left). Locks belong to an open file, so
the kernel releases them when their process dies; nothing depends on a lock file existing.

The status line imports this module: json, os, sys, time and errno only at module level (not typing,
contextlib, re, tempfile, shutil, subprocess or threading); fcntl, msvcrt and _thread are imported
where they are used.
"""

from __future__ import annotations

import errno
import json
import os
import sys
import time

from claude_usage.errors import UnavailableError

TYPE_CHECKING = False  # not typing's: this module is on the status line's path
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any

SCHEMA = 1  # version of this file layout; documents carry their own versions

_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_NAME_CHARS = _ALNUM | frozenset("._-")
_O_BINARY: int = getattr(os, "O_BINARY", 0)  # Windows: no newline translation

# In-process guards, one per lock file: two opens of a lock file in one process may not exclude each
# other (flock emulated with fcntl locks on NFS), and a re-entrant update would wait for itself.
_GUARDS: dict[str, Any] = {}
_OWNERS: dict[str, int] = {}


class StoreError(UnavailableError):
    """The store's files could not be read or written (disk full, permissions); names the path."""


class StoreBusy(UnavailableError):
    """Another process held the account's lock for longer than we were willing to wait."""


def _is_name(name: object, longest: int) -> bool:
    """[A-Za-z0-9][A-Za-z0-9._-]*, at most `longest` long: no "..", no hidden or temp-file names."""
    return isinstance(name, str) and 0 < len(name) <= longest and name[0] in _ALNUM and _NAME_CHARS.issuperset(name)


def _is_key(name: object) -> bool:
    """Whether `name` is an account key ("x.request" is not: its lock would be x's request lock)."""
    return _is_name(name, 80) and not str(name).endswith(".request")


def _key(name: str) -> str:
    if not _is_key(name):
        raise ValueError(f"not a valid account key: {name!r}")
    return name


def _parse(raw: bytes | None) -> dict[str, Any] | None:
    """The document in `raw`; {} for no file; None for a file that is not a JSON object."""
    if raw is None:
        return {}
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return doc if isinstance(doc, dict) else None


def _call(path: str, doing: str, call: Callable[..., Any], *args: Any) -> Any:
    """`call(*args)`, an OSError turned into a StoreError naming `path` (on Windows, retried a while)."""
    retries = 20 if sys.platform == "win32" else 0
    while True:
        try:
            return call(*args)
        except PermissionError as exc:
            if not retries:
                raise StoreError(f"cannot {doing} {path}: {exc.strerror or exc}") from exc
            retries -= 1
            time.sleep(0.005)
        except OSError as exc:
            raise StoreError(f"cannot {doing} {path}: {exc.strerror or exc}") from exc


def _read(path: str) -> bytes | None:
    """The file's bytes, or None when it does not exist."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _open(root: str, path: str, flags: int) -> int:
    """os.open(path, flags, 0o600), first creating the root and the file's directory (0700) when missing."""
    try:
        return os.open(path, flags | _O_BINARY, 0o600)
    except FileNotFoundError:
        os.makedirs(root, mode=0o700, exist_ok=True)
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        return os.open(path, flags | _O_BINARY, 0o600)


def _flock(fd: int, take: bool) -> bool:
    """Take (without blocking) or release the exclusive lock on `fd`; False when another file holds it."""
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK if take else msvcrt.LK_UNLCK, 1)
        except OSError:
            return False
    else:
        import fcntl

        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB if take else fcntl.LOCK_UN)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                return False
            raise
    return True


class FileLock:
    """A cross-process exclusive lock on one lock file: `with` it to get whether it was taken in time."""

    def __init__(self, root: str, path: str, wait_s: float) -> None:
        self._root, self._path, self._wait_s = root, path, max(wait_s, 0.0)
        self._fd = -1
        self._guard: Any = None

    def __enter__(self) -> bool:
        import _thread  # built in: costs nothing, where `threading` costs a millisecond

        deadline = time.monotonic() + self._wait_s
        me = _thread.get_ident()
        if _OWNERS.get(self._path) == me:
            raise RuntimeError(f"{self._path} is held by this thread already: store locks are not re-entrant")
        guard = _GUARDS.get(self._path) or _GUARDS.setdefault(self._path, _thread.allocate_lock())
        if not (guard.acquire(timeout=self._wait_s) if self._wait_s else guard.acquire(blocking=False)):
            return False
        self._guard, _OWNERS[self._path] = guard, me
        try:
            self._fd = _call(self._path, "open", _open, self._root, self._path, os.O_RDWR | os.O_CREAT)
            delay = 0.001
            while not _call(self._path, "lock", _flock, self._fd, True):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.__exit__()
                    return False
                time.sleep(min(delay, remaining))
                delay = min(delay * 2, 0.025)
        except BaseException:
            self.__exit__()
            raise
        return True

    def __exit__(self, *exc_info: object) -> None:
        if self._fd >= 0:
            if sys.platform == "win32":  # closing releases a flock, but not promptly an msvcrt lock
                _flock(self._fd, False)
            os.close(self._fd)
            self._fd = -1
        if self._guard is not None:
            del _OWNERS[self._path]
            self._guard.release()
            self._guard = None


class Store:
    """Documents, locks and pointers under one root directory."""

    def __init__(self, root: Path | str) -> None:
        self.root = root
        self._root = os.fspath(root)

    def path(self, account: str) -> str:
        """The document's file name, for messages and `doctor`."""
        return os.path.join(self._root, _key(account) + ".json")

    def read(self, account: str) -> dict[str, Any]:
        """The account's document; {} when there is none or the file is not a JSON object."""
        return _parse(_read(self.path(account))) or {}

    def stamp(self, account: str) -> tuple[int, int] | None:
        """(mtime in ns, size in bytes) of the document, None when missing: a cheap "changed?" test."""
        path = self.path(account)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from exc
        return st.st_mtime_ns, st.st_size

    def update(
        self,
        account: str,
        change: Callable[[dict[str, Any]], dict[str, Any] | None],
        *,
        timeout_s: float = 2.0,
    ) -> dict[str, Any]:
        """Under the account's lock, replace the document with `change(doc)` (None: keep it); the result."""
        path = self.path(account)
        with FileLock(self._root, path[: -len(".json")] + ".lock", timeout_s) as held:
            if not held:
                raise StoreBusy(f"{path} is locked by another process (waited {timeout_s:g} s)")
            raw = _read(path)
            doc = _parse(raw)
            new = change({} if doc is None else doc)
            if new is None:
                return _parse(raw) or {}  # a fresh copy: `change` may have edited `doc`
            if not isinstance(new, dict):
                raise TypeError(f"change() returned {type(new).__name__}, not dict or None")
            data = json.dumps(new, ensure_ascii=False, separators=(",", ":")).encode()
            if data != raw:
                if doc is None:  # not ours to lose: keep it beside the fresh document
                    _call(path, "move aside", os.replace, path, f"{path}.corrupt-{int(time.time())}")
                self._write(path, data)
                self._sweep(account)
            return _parse(data) or {}

    def request_lock(self, account: str, *, wait_s: float) -> FileLock:
        """`with` it to hold the account's request lock: True if taken within `wait_s` seconds, else False."""
        return FileLock(self._root, os.path.join(self._root, _key(account) + ".request.lock"), wait_s)

    def pointer(self, name: str) -> str | None:
        """The account key stored under `name`, or None when there is none (or it is not a key)."""
        raw = _read(self._pointer_path(name))
        value = raw.decode("utf-8", "replace").strip() if raw is not None else ""
        return value if _is_key(value) else None

    def set_pointer(self, name: str, value: str) -> None:
        """Store the account key `value` under `name`, atomically; nothing is written if unchanged."""
        path = self._pointer_path(name)
        if self.pointer(name) != _key(value):
            self._write(path, value.encode())

    def _pointer_path(self, name: str) -> str:
        if not _is_name(name, 80):
            raise ValueError(f"not a valid pointer name: {name!r}")
        return os.path.join(self._root, "pointers", name)

    def _sweep(self, account: str) -> None:
        """Remove temp files of killed writers of this document: under its lock, no one else writes one."""
        prefix = f".{account}."
        try:
            for name in os.listdir(self._root):
                pid, _, stamp = name[len(prefix) : -len(".tmp")].partition(".")
                if name.startswith(prefix) and name.endswith(".tmp") and pid.isdigit() and stamp.isdigit():
                    os.unlink(os.path.join(self._root, name))
        except OSError:
            pass  # a leftover temp file costs only disk space

    def _write(self, path: str, data: bytes) -> None:
        """Write `data` to a temp file beside `path`, fsync it and move it into place."""
        head, name = os.path.split(path)
        stem = name[: -len(".json")] if name.endswith(".json") else name
        tmp = os.path.join(head, f".{stem}.{os.getpid()}.{time.monotonic_ns()}.tmp")
        fd = _call(path, "write", _open, self._root, tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[_call(path, "write", os.write, fd, view) :]
                _call(path, "write", os.fsync, fd)
            finally:
                os.close(fd)
            _call(path, "replace", os.replace, tmp, path)
        except BaseException:
            # Not contextlib.suppress: importing contextlib costs the status line 0.7 ms.
            try:  # noqa: SIM105
                os.unlink(tmp)
            except OSError:
                pass
            raise
