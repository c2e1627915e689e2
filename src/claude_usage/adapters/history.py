"""The usage history: every observation of a limit, kept in one SQLite file, and its CSV/JSON formats.

The file is `history_path(env)`: `$CLAUDE_USAGE_DATA_DIR/history.sqlite3`, else `history.sqlite3` in
platformdirs' `user_data_dir("claude-usage", appauthor=False)`. It is created 0600 (by `os.open`, before
SQLite touches it; SQLite gives its `-wal` and `-shm` files the same mode) in a directory created 0700.

Schema 2 (`PRAGMA user_version = 2`, `PRAGMA application_id = 0x43557367`, "CUsg")::

    observation(id, account, key, source, utilization REAL,
                resets_us INTEGER NULL, observed_us INTEGER, last_seen_us INTEGER)
        UNIQUE (account, key, source, observed_us, utilization, ifnull(resets_us, <min int64>))
    meta(name PRIMARY KEY, value)         "last_prune_us": when retention last ran

Times are integers: microseconds since 1970-01-01 UTC (exact for every aware `datetime`, ordered, cheap to
compare). An unchanged value is one row: recording an observation equal in (utilization, resets_at) to the
latest row (by observed_at) of its (account, key, source) only moves that row's `last_seen_us` forward.
Schema 1, one row per reading with ISO-8601 text times (`reading(id, account, key, utilization, resets_at,
source, observed_at)`), is migrated on open by collapsing each run of equal readings into one row.

Concurrency: WAL mode, `synchronous = NORMAL` (a power cut may lose the last commits, never the file),
a short busy timeout (BUSY_TIMEOUT_S, a second) and `BEGIN IMMEDIATE` for every write, so writers in
several processes queue for each other's millisecond transactions; a lock held longer (an open `sqlite3`
shell, a backup) makes the operation give up with HistoryBusy rather than hold up a reading. The readers
keep what they could not file (the store's documents) for the next writer. Setting up the file (create,
migrate, move aside) happens under `history.sqlite3.lock` (the reading store's lock), re-checked once
held; opening a current file takes no lock.

Retention (a year by default): `record` deletes rows last seen more than `retention_days` before the
newest observation it records, at most once a day (the day is counted from `meta.last_prune_us`);
`prune(now)` does it on demand. Imported rows are subject to the same rule at the next prune.

A file that is not a readable SQLite database, a SQLite file that is not ours (tables but none of ours,
or another application id) or one with a schema newer than SCHEMA_VERSION is moved aside beside itself
(`history.sqlite3.corrupt-<UTC stamp>`, `.foreign-…`, `.newer-…`, with its -wal/-shm/-journal files),
never deleted or overwritten; a fresh file is created and `History.notice` says so in one line. Damaged
pages count as corrupt: found at open by `PRAGMA quick_check` in files up to QUICK_CHECK_MAX_BYTES, else
by the first operation that reads one (SQLITE_CORRUPT), which moves the file aside, starts a new one, says
so through `on_notice` and runs again on the new file. Every operation first checks (one stat) that the
file at the path is still the one open, and reopens it when another process moved it aside.

Formats (documented and stable). CSV: UTF-8, "\\n" line ends, minimal quoting (a row with a carriage
return in a field is quoted whole), the header `account,key,utilization,resets_at,source,observed_at,
last_seen_at`; times ISO-8601 in UTC with offset (`+00:00`; read back: any offset or `Z`, none meaning
UTC); `resets_at` empty for none; utilization as `repr(float)`, the shortest text that reads back to the
same float. Open files with newline="". JSON: a list of objects with the same members, null for no reset.

The only module that imports sqlite3 at module level; must not import rich or httpx.
"""

from __future__ import annotations

import math
import os
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from claude_usage.adapters.paths import user_data_dir
from claude_usage.adapters.sqltx import transaction
from claude_usage.adapters.store import FileLock, StoreError
from claude_usage.clock import SystemClock
from claude_usage.core.times import iso_or_none, parse_time
from claude_usage.errors import BadReply, CommandLineError, UnavailableError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping
    from typing import IO

    from claude_usage.clock import Clock

    # (account, key, utilization, resets_us, source, observed_us, last_seen_us): a row as stored
    _Values = tuple[str, str, float, int | None, str, int, int]

SCHEMA_VERSION = 2
DEFAULT_RETENTION_DAYS = 365
APPLICATION_ID = 0x43557367  # "CUsg"
# How long an operation waits for another process's lock (a writer, an open `sqlite3` shell, a backup)
# before giving up with HistoryBusy: filing history must never hold up a reading. `history import` waits
# longer (IMPORT_BUSY_TIMEOUT_S): nothing waits on it.
BUSY_TIMEOUT_S = 1.0
IMPORT_BUSY_TIMEOUT_S = 10.0
SETUP_WAIT_S = 30.0  # how long an open waits for another process creating or migrating the file
# Files up to this size get `PRAGMA quick_check` at open (about 1.8 ms a MiB, measured warm: 7 ms at the
# limit, a few weeks of history); damage in a bigger file is found by the operation that reads the page.
QUICK_CHECK_MAX_BYTES = 4 * 1024 * 1024
CSV_COLUMNS = ("account", "key", "utilization", "resets_at", "source", "observed_at", "last_seen_at")

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)
_DAY_US = 86_400_000_000
_MAGIC = b"SQLite format 3\x00"
_SIDECARS = ("-wal", "-shm", "-journal")
_MALFORMED = "database disk image is malformed"  # SQLite's own words for SQLITE_CORRUPT
_TABLES = {1: {"reading"}, 2: {"observation", "meta"}}
_SCHEMA_2 = (
    """CREATE TABLE observation (
        id           INTEGER PRIMARY KEY,
        account      TEXT    NOT NULL,
        key          TEXT    NOT NULL,
        source       TEXT    NOT NULL,
        utilization  REAL    NOT NULL,
        resets_us    INTEGER,
        observed_us  INTEGER NOT NULL,
        last_seen_us INTEGER NOT NULL CHECK (last_seen_us >= observed_us))""",
    """CREATE UNIQUE INDEX observation_identity ON observation
        (account, key, source, observed_us, utilization, ifnull(resets_us, -9223372036854775808))""",
    "CREATE INDEX observation_last_seen ON observation (last_seen_us)",
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value) WITHOUT ROWID",
)
_COLUMNS = "account, key, utilization, resets_us, source, observed_us, last_seen_us"
_T = TypeVar("_T")


class HistoryError(UnavailableError):
    """The history file could not be opened, read or written; names the file."""


class HistoryBusy(HistoryError):
    """Another process held the file locked for longer than the busy timeout; nothing was written."""


class Observation(NamedTuple):
    """One number as a source gave it: `account` is an account key (never a token), times aware UTC."""

    account: str
    key: str
    utilization: float
    resets_at: datetime | None
    source: str
    observed_at: datetime


class Row(NamedTuple):
    """One stored row: a value seen unchanged from `observed_at` (first) to `last_seen_at` (last)."""

    account: str
    key: str
    utilization: float
    resets_at: datetime | None
    source: str
    observed_at: datetime
    last_seen_at: datetime


def retention_days(env: Mapping[str, str]) -> int:
    """$CLAUDE_USAGE_HISTORY_DAYS (a whole number of days, at least 1), else a year."""
    text = env.get("CLAUDE_USAGE_HISTORY_DAYS", "").strip()
    if not text:
        return DEFAULT_RETENTION_DAYS
    try:
        days = int(text)
    except ValueError:
        days = 0
    if days < 1:
        raise CommandLineError(f"CLAUDE_USAGE_HISTORY_DAYS={text!r}: expected a whole number of days, at least 1")
    return days


def history_path(env: Mapping[str, str]) -> Path:
    """$CLAUDE_USAGE_DATA_DIR/history.sqlite3, else in platformdirs' user_data_dir (computed from `env`)."""
    override = env.get("CLAUDE_USAGE_DATA_DIR")
    if override:
        return Path(override, "history.sqlite3")
    return Path(user_data_dir(env), "history.sqlite3")


class History:
    """An open history file. Use `History.open`; safe to share between threads; a context manager.

    Every operation first follows the file at `path` (reopening it when another process moved it aside
    or replaced it), and a damaged page met on the way moves the file aside and starts a new one: the
    read then sees the new, empty history and a write goes into it.
    """

    def __init__(
        self,
        path: Path,
        conn: sqlite3.Connection,
        *,
        retention_days: int,
        notice: str | None,
        clock: Clock | None = None,
        on_notice: Callable[[str], None] | None = None,
        busy_timeout_s: float = BUSY_TIMEOUT_S,
        read_only: bool = False,
    ) -> None:
        self.path = path
        self.busy_timeout_s = busy_timeout_s
        self.read_only = read_only
        self.retention_days = retention_days
        self.notice = notice
        self._conn = conn
        import _thread  # `threading` costs a one-shot a millisecond for one lock

        self._lock = _thread.allocate_lock()
        self._clock = clock or SystemClock()
        self._on_notice = on_notice
        self._ident = _identity(path)

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        clock: Clock | None = None,
        on_notice: Callable[[str], None] | None = None,
        busy_timeout_s: float = BUSY_TIMEOUT_S,
        read_only_fallback: bool = False,
    ) -> History:
        """Open (creating, migrating or moving aside as needed) the history at `path`.

        `clock` only names moved-aside files; `notice` is set when that happened at open. `on_notice` is
        called with each later notice (a damaged file met by an operation and moved aside); it also
        becomes `notice`. An operation waits at most `busy_timeout_s` for another process's lock, then
        raises HistoryBusy (a HistoryError) having changed nothing.

        With `read_only_fallback`, an existing file that cannot be opened for writing (a read-only disk or
        directory) is opened read-only instead: `read_only` is then True, `notice` says so, and writes
        raise HistoryError. For export and display, so that a history can be rescued from such a disk.
        """
        if retention_days < 1:
            raise ValueError(f"retention_days must be at least 1, got {retention_days}")
        path = Path(path)
        clock = clock or SystemClock()
        read_only = False
        try:
            with _seam(path, "open"):
                conn, notice = _open(path, clock, busy_timeout_s)
        except HistoryBusy:
            raise
        except HistoryError as exc:
            if not read_only_fallback or not os.path.isfile(path):
                raise
            with _seam(path, "open read-only"):
                conn, notice = _open_read_only(path, busy_timeout_s, why=exc)
            read_only = True
        return cls(
            path,
            conn,
            retention_days=retention_days,
            notice=notice,
            clock=clock,
            on_notice=on_notice,
            busy_timeout_s=busy_timeout_s,
            read_only=read_only,
        )

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock, _seam(self.path, "close"):
            self._conn.close()

    def record(self, observations: Iterable[Observation]) -> int:
        """Store readings in one transaction; the rows inserted (an equal latest value is extended instead).

        ValueError, before anything is written, for a naive time, a non-finite utilization or an empty name.
        """
        batch = [_observation_values(obs) for obs in observations]
        if not batch:
            return 0

        def write(conn: sqlite3.Connection) -> int:
            added = 0
            for values in batch:
                added += _record_one(conn, values)
            newest_us = max(values[5] for values in batch)
            _prune(conn, newest_us, self.retention_days, due_only=True)
            return added

        return self._run("write", write, write=True)

    def rows(self, *, account: str | None = None, key: str | None = None, since: datetime | None = None) -> list[Row]:
        """Stored rows ordered by observed_at; `since` keeps those last seen at or after it."""
        where: list[str] = []
        args: list[object] = []
        for column, value in (("account", account), ("key", key)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if since is not None:
            where.append("last_seen_us >= ?")
            args.append(_to_us(since, "since"))
        sql = f"SELECT {_COLUMNS} FROM observation"  # noqa: S608 (constants; values are bound)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY observed_us, account, key, source, id"
        found = self._run("read", lambda conn: conn.execute(sql, args).fetchall(), write=False)
        return [_row(values) for values in found]

    def accounts(self) -> list[str]:
        """The account keys with stored rows, sorted (one index seek per account: 0.3 ms, not 80, at 500k rows)."""
        query = (
            "WITH RECURSIVE found(account) AS (SELECT min(account) FROM observation UNION ALL"
            " SELECT (SELECT min(account) FROM observation WHERE account > found.account)"
            " FROM found WHERE found.account IS NOT NULL)"
            " SELECT account FROM found WHERE account IS NOT NULL"
        )
        found = self._run("read", lambda conn: conn.execute(query).fetchall(), write=False)
        return [account for (account,) in found]

    def import_rows(self, rows: Iterable[Row]) -> int:
        """Add rows not stored yet (same identity: last_seen_at max'ed instead); the rows added.

        All or nothing: `rows` is read to the end (a CSV error raises) before the one write transaction.
        """
        batch = [_row_values(row) for row in rows]
        return self._run("write", lambda conn: sum(_insert(conn, values) for values in batch), write=True)

    def prune(self, now: datetime) -> int:
        """Delete rows last seen more than `retention_days` before `now`; how many."""
        now_us = _to_us(now, "now")
        return self._run("prune", lambda conn: _prune(conn, now_us, self.retention_days, due_only=False), write=True)

    def _run(self, doing: str, op: Callable[[sqlite3.Connection], _T], *, write: bool) -> _T:
        """`op` on the file now at `path` (in a write transaction when `write`); once more after a recovery."""
        with self._lock, _seam(self.path, doing):
            if self.read_only:
                if write:
                    raise HistoryError(f"cannot {doing} {self.path}: it is open read-only")
                return self._once(op, write=False)  # nothing to follow or move aside on a read-only disk
            self._follow()
            try:
                return self._once(op, write=write)
            except sqlite3.DatabaseError as exc:
                if not _is_corruption(exc):
                    raise
                self._recover(str(exc))
            return self._once(op, write=write)

    def _once(self, op: Callable[[sqlite3.Connection], _T], *, write: bool) -> _T:
        if not write:
            return op(self._conn)
        with transaction(self._conn):
            return op(self._conn)

    def _follow(self) -> None:
        """Reopen when the file at `path` is no longer the one open here (moved aside, replaced, removed)."""
        if _identity(self.path) == self._ident:
            return
        self._conn.close()
        self._conn, notice = _open(self.path, self._clock, self.busy_timeout_s)
        self._ident = _identity(self.path)
        if notice:
            self._say(notice)

    def _recover(self, why: str) -> None:
        """A damaged page: move the file aside (unless another process did) and start a new history."""
        self._conn.close()
        notice = None
        with _setup_lock(self.path):
            if _identity(self.path) == self._ident:
                aside = _move_aside(self.path, "corrupt", self._clock)
                notice = f"{self.path} is damaged ({why}): moved it to {aside} and started a new history"
            self._conn, found = _setup(self.path, self._clock, self.busy_timeout_s)
        self._ident = _identity(self.path)
        notice = notice or found
        if notice:
            self._say(notice)

    def _say(self, notice: str) -> None:
        self.notice = notice
        if self._on_notice is not None:
            self._on_notice(notice)


# --- the seam: foreign errors become ours ------------------------------------------------------------


@contextmanager
def _seam(path: Path, doing: str) -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as exc:
        if _is_busy(exc):
            raise HistoryBusy(f"cannot {doing} {path}: another process holds it locked ({exc})") from exc
        raise HistoryError(f"cannot {doing} {path}: {exc}") from exc
    except sqlite3.Error as exc:
        raise HistoryError(f"cannot {doing} {path}: {exc}") from exc
    except StoreError as exc:  # the setup lock's file
        raise HistoryError(f"cannot {doing} {path}: {exc}") from exc
    except OSError as exc:
        raise HistoryError(f"cannot {doing} {path}: {exc.strerror or exc}") from exc


# --- opening: inspect, then create, migrate or move aside under the setup lock ------------------------


class _Unreadable(Exception):
    """The file's contents cannot be read as a history (raised while migrating)."""


def _is_busy(exc: sqlite3.Error) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED: another connection holds a lock we waited for in vain."""
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if isinstance(code, int):
        return code & 0xFF in (5, 6)
    return "locked" in str(exc)


def _is_corruption(exc: sqlite3.Error) -> bool:
    """SQLITE_CORRUPT or SQLITE_NOTADB: plain DatabaseError (busy, I/O, full are OperationalError)."""
    return type(exc) is sqlite3.DatabaseError


def _connect(path: Path, busy_s: float) -> sqlite3.Connection:
    """A connection to the existing file (never creating one), autocommit, usable from any thread."""
    uri = path.absolute().as_uri() + "?mode=rw"
    return sqlite3.connect(uri, uri=True, timeout=busy_s, isolation_level=None, check_same_thread=False)


def inspect(path: Path) -> tuple[str, int]:
    """`(state, user_version)` of a history file, checked without opening it for use (for `doctor`).

    States as `_inspect` has them; raises HistoryBusy or HistoryError when the file cannot be looked at.
    """
    with _seam(path, "check"):
        state, conn, version = _inspect(path, BUSY_TIMEOUT_S)
        if conn is not None:
            conn.close()
    return state, version


def _inspect(path: Path, busy_s: float) -> tuple[str, sqlite3.Connection | None, int]:
    """(state, connection when the file is SQLite, user_version).

    States: missing, empty (no tables yet), current, old, corrupt (not SQLite), damaged (a current file
    failing `PRAGMA quick_check`, run when it is at most QUICK_CHECK_MAX_BYTES), foreign, newer.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(len(_MAGIC))
    except FileNotFoundError:
        return "missing", None, 0
    if head and head != _MAGIC:
        return "corrupt", None, 0
    conn = _connect(path, busy_s)
    try:
        state, version = _classify(conn)
    except sqlite3.Error as exc:
        conn.close()
        if _is_corruption(exc):
            return "corrupt", None, 0
        raise
    try:
        damaged = state == "current" and not _passes_quick_check(path, conn)
    except BaseException:
        conn.close()
        raise
    if damaged:
        conn.close()
        return "damaged", None, version
    return state, conn, version


def _classify(conn: sqlite3.Connection) -> tuple[str, int]:
    """(state, user_version) of a SQLite file from its header and tables: empty, current, old, foreign, newer."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    app = conn.execute("PRAGMA application_id").fetchone()[0]
    found = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    tables = {name for (name,) in found if not name.startswith("sqlite_")}
    if app not in (0, APPLICATION_ID):
        return "foreign", version
    if version > SCHEMA_VERSION:
        return "newer", version
    if version == 0:
        return ("foreign" if tables else "empty"), version
    if not _TABLES[version] <= tables:
        return "foreign", version
    return ("old" if version < SCHEMA_VERSION else "current"), version


def _open_read_only(path: Path, busy_s: float, *, why: Exception) -> tuple[sqlite3.Connection, str]:
    """A read-only connection to a current history that cannot be opened for writing, and a notice saying so.

    `mode=ro` reads a WAL file whose -wal and -shm exist (a process had it open when the disk went
    read-only); without them SQLite cannot create the -shm, so the file is read as `immutable` (its
    -wal, if one is left without a -shm, cannot be read).
    """
    base = path.absolute().as_uri()
    failure: sqlite3.Error | None = None
    for query, immutable in (("mode=ro", False), ("mode=ro&immutable=1", True)):
        conn = sqlite3.connect(
            f"{base}?{query}", uri=True, timeout=busy_s, isolation_level=None, check_same_thread=False
        )
        try:
            state, _ = _classify(conn)
        except sqlite3.OperationalError as exc:
            conn.close()
            if _is_busy(exc):
                raise
            failure = exc
            continue
        except BaseException:
            conn.close()
            raise
        if state != "current":
            conn.close()
            raise HistoryError(f"cannot open {path} read-only: it is not a current history ({state})")
        cause = why.__cause__ or why
        notice = f"cannot write {path} ({cause}): reading it read-only"
        wal = Path(f"{path}-wal")
        if immutable and wal.exists() and wal.stat().st_size > 0:
            notice += f"; the last changes, in {wal}, cannot be read"
        return conn, notice
    assert failure is not None  # noqa: S101 - the loop ran and every attempt failed
    raise failure


def _passes_quick_check(path: Path, conn: sqlite3.Connection) -> bool:
    """False when a file small enough to check cheaply has a damaged page (True for bigger files)."""
    if os.path.getsize(path) > QUICK_CHECK_MAX_BYTES:
        return True
    try:
        found: tuple[object, ...] | None = conn.execute("PRAGMA quick_check(1)").fetchone()
    except sqlite3.Error as exc:
        if _is_corruption(exc):
            return False
        raise
    return found == ("ok",)


def _open(path: Path, clock: Clock, busy_s: float) -> tuple[sqlite3.Connection, str | None]:
    state, conn, _ = _inspect(path, busy_s)
    if conn is not None and state == "current":
        return _tuned(conn), None
    if conn is not None:
        conn.close()
    with _setup_lock(path):
        return _setup(path, clock, busy_s)


@contextmanager
def _setup_lock(path: Path) -> Iterator[None]:
    """Hold `<path>.lock` (creating the directory 0700) while the file is created, migrated or moved aside."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    with FileLock(directory, f"{path}.lock", SETUP_WAIT_S) as held:
        if not held:
            raise HistoryError(f"{path} is being set up by another process (waited {SETUP_WAIT_S:g} s)")
        yield


def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at `path`, None when there is none: which file a name means now."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _setup(path: Path, clock: Clock, busy_s: float) -> tuple[sqlite3.Connection, str | None]:
    """Under the setup lock: bring the file at `path` to the current schema, whatever it holds now."""
    state, conn, version = _inspect(path, busy_s)
    notice = None
    try:
        if conn is not None and state == "old":
            try:
                _migrate(conn)
            except _Unreadable:
                conn.close()
                conn, state = None, "corrupt"
        if state in ("corrupt", "damaged", "foreign", "newer"):
            if conn is not None:
                conn.close()
                conn = None
            aside = _move_aside(path, "corrupt" if state == "damaged" else state, clock)
            why = {
                "corrupt": "is not a readable SQLite database",
                "damaged": f"is damaged ({_MALFORMED})",
                "foreign": "is not a claude-usage history",
                "newer": f"has history schema {version}, newer than this claude-usage knows ({SCHEMA_VERSION})",
            }[state]
            notice = f"{path} {why}: moved it to {aside} and started a new history"
            state = "missing"
        if state == "missing":
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY | getattr(os, "O_BINARY", 0), 0o600))
            state = "empty"
        if conn is None:
            conn = _connect(path, busy_s)
        if state == "empty":
            conn.execute("PRAGMA journal_mode = WAL")
            with transaction(conn):
                if conn.execute("PRAGMA user_version").fetchone()[0] == 0:
                    _create(conn)
        return _tuned(conn), notice
    except BaseException:
        if conn is not None:
            conn.close()
        raise


def _tuned(conn: sqlite3.Connection) -> sqlite3.Connection:
    conn.execute("PRAGMA journal_mode = WAL")  # persistent: a no-op once set
    conn.execute("PRAGMA synchronous = NORMAL")  # in WAL mode: durable but for the last commits on power loss
    return conn


def _move_aside(path: Path, kind: str, clock: Clock) -> Path:
    """Rename the file (and its sidecars) to `<path>.<kind>-<UTC stamp>[-n]`, a name nothing has yet."""
    base = f"{path}.{kind}-{clock.now().astimezone(timezone.utc):%Y%m%dT%H%M%SZ}"
    aside, n = base, 2
    while any(os.path.lexists(aside + suffix) for suffix in ("", *_SIDECARS)):
        aside, n = f"{base}-{n}", n + 1
    for suffix in _SIDECARS:  # first, so that a fresh file never picks up a stale -wal
        if os.path.lexists(f"{path}{suffix}"):
            os.replace(f"{path}{suffix}", aside + suffix)
    os.replace(path, aside)
    return Path(aside)


def _create(conn: sqlite3.Connection) -> None:
    for statement in _SCHEMA_2:
        conn.execute(statement)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring an older schema to SCHEMA_VERSION in one transaction (re-checked once the write lock is held)."""
    with transaction(conn):
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 1:
            _migrate_1_to_2(conn)


def _migrate_1_to_2(conn: sqlite3.Connection) -> None:
    """Schema 1 kept a row per reading (ISO text times); collapse each run of equal readings into one row."""
    _create(conn)
    run: _Values | None = None
    try:
        readings = conn.execute(
            "SELECT account, key, utilization, resets_at, source, observed_at FROM reading"
            " ORDER BY account, key, source, observed_at, id"  # v1 wrote UTC isoformat(): text order is time order
        )
        for account, key, utilization, resets_text, source, observed_text in readings:
            if isinstance(utilization, bool) or not isinstance(utilization, (int, float)):
                raise _Unreadable(f"utilization {utilization!r}")
            try:
                observed = _v1_time(observed_text)
                if observed is None:
                    raise ValueError("observed_at is NULL")
                values = _checked(account, key, utilization, _v1_time(resets_text), source, observed, observed)
            except ValueError as exc:
                raise _Unreadable(str(exc)) from exc
            if run is not None and run[:5] == values[:5]:
                run = (*run[:6], max(values[6], run[6]))
                continue
            if run is not None:
                _insert(conn, run)
            run = values
        if run is not None:
            _insert(conn, run)
    except sqlite3.Error as exc:
        if _is_corruption(exc):
            raise _Unreadable(str(exc)) from exc
        raise
    conn.execute("DROP TABLE reading")


def _v1_time(text: object) -> datetime | None:
    """A schema-1 time: ISO-8601 text with an offset, or NULL."""
    parsed = iso_or_none(text)
    if parsed is None and text is not None:
        raise ValueError(f"time {text!r} is not ISO-8601 with an offset")
    return parsed


# --- rows ----------------------------------------------------------------------------------------------


def _to_us(value: datetime, what: str) -> int:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime, got {value!r}")
    return (value - _EPOCH) // _US


def _from_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def _checked(
    account: str,
    key: str,
    utilization: float,
    resets_at: datetime | None,
    source: str,
    observed_at: datetime,
    last_seen_at: datetime,
) -> _Values:
    for name, text in (("account", account), ("key", key), ("source", source)):
        if not isinstance(text, str) or not text:
            raise ValueError(f"{name} must be a non-empty string, got {text!r}")
    if isinstance(utilization, bool) or not isinstance(utilization, (int, float)) or not math.isfinite(utilization):
        raise ValueError(f"utilization must be a finite number, got {utilization!r}")
    resets_us = None if resets_at is None else _to_us(resets_at, "resets_at")
    observed_us, last_seen_us = _to_us(observed_at, "observed_at"), _to_us(last_seen_at, "last_seen_at")
    if last_seen_us < observed_us:
        raise ValueError(f"last_seen_at {last_seen_at} is before observed_at {observed_at}")
    return account, key, float(utilization), resets_us, source, observed_us, last_seen_us


def _observation_values(obs: Observation) -> _Values:
    return _checked(obs.account, obs.key, obs.utilization, obs.resets_at, obs.source, obs.observed_at, obs.observed_at)


def _row_values(row: Row) -> _Values:
    return _checked(row.account, row.key, row.utilization, row.resets_at, row.source, row.observed_at, row.last_seen_at)


def _row(values: tuple[str, str, float, int | None, str, int, int]) -> Row:
    account, key, utilization, resets_us, source, observed_us, last_seen_us = values
    resets_at = None if resets_us is None else _from_us(resets_us)
    return Row(account, key, utilization, resets_at, source, _from_us(observed_us), _from_us(last_seen_us))


def _insert(conn: sqlite3.Connection, values: _Values) -> int:
    """Insert the row unless one with its identity exists (then max its last_seen_us); 1 if inserted."""
    added: int = conn.execute(
        f"INSERT OR IGNORE INTO observation ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",  # noqa: S608 (a constant)
        values,
    ).rowcount
    if not added:
        account, key, utilization, resets_us, source, observed_us, last_seen_us = values
        conn.execute(
            "UPDATE observation SET last_seen_us = max(last_seen_us, ?) WHERE account = ? AND key = ?"
            " AND source = ? AND observed_us = ? AND utilization = ? AND resets_us IS ?",
            (last_seen_us, account, key, source, observed_us, utilization, resets_us),
        )
    return added


def _record_one(conn: sqlite3.Connection, values: _Values) -> int:
    account, key, utilization, resets_us, source, observed_us, _ = values
    latest = conn.execute(
        "SELECT id, utilization, resets_us FROM observation WHERE account = ? AND key = ? AND source = ?"
        " ORDER BY observed_us DESC, id DESC LIMIT 1",
        (account, key, source),
    ).fetchone()
    if latest is not None and (latest[1], latest[2]) == (utilization, resets_us):
        conn.execute(
            "UPDATE observation SET last_seen_us = max(last_seen_us, ?) WHERE id = ?", (observed_us, latest[0])
        )
        return 0
    return _insert(conn, values)


def _prune(conn: sqlite3.Connection, now_us: int, retention_days: int, *, due_only: bool) -> int:
    """Delete rows last seen before now - retention (when `due_only`: only if the last run is a day away)."""
    last = conn.execute("SELECT value FROM meta WHERE name = 'last_prune_us'").fetchone()
    if due_only and last is not None and isinstance(last[0], int) and abs(now_us - last[0]) < _DAY_US:
        return 0
    deleted: int = conn.execute(
        "DELETE FROM observation WHERE last_seen_us < ?", (now_us - retention_days * _DAY_US,)
    ).rowcount
    conn.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('last_prune_us', ?)", (now_us,))
    return deleted


# --- formats -------------------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(timezone.utc).isoformat()


def rows_to_csv(rows: Iterable[Row], file: IO[str]) -> int:
    """Write the header and one line per row to `file` (open it with newline=""); the rows written."""
    import csv  # only the formats need it, not a reading

    # "\n" line ends; a row with a "\r" in a field (which minimal quoting would leave bare) is quoted whole.
    plain = csv.writer(file, lineterminator="\n")
    quoted = csv.writer(file, lineterminator="\n", quoting=csv.QUOTE_ALL)
    plain.writerow(CSV_COLUMNS)
    count = 0
    for row in rows:
        utilization, resets_at = repr(float(row.utilization)), _iso(row.resets_at) or ""
        fields = (
            row.account,
            row.key,
            utilization,
            resets_at,
            row.source,
            _iso(row.observed_at),
            _iso(row.last_seen_at),
        )
        (quoted if any("\r" in field for field in fields if field) else plain).writerow(fields)
        count += 1
    return count


def rows_from_csv(file: IO[str]) -> Iterator[Row]:
    """The rows of a CSV export; anything malformed raises CommandLineError naming the line."""
    import csv

    name = getattr(file, "name", None)
    where = f"{name}, line" if isinstance(name, str) else "line"
    reader = csv.reader(file, strict=True)
    header_seen = False
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise CommandLineError(f"{where} {reader.line_num}: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise CommandLineError(f"{where} {reader.line_num + 1} or after: not UTF-8 text") from exc
        if not header_seen:
            header = [fields[0].removeprefix("\ufeff"), *fields[1:]] if fields else []
            if tuple(header) != CSV_COLUMNS:
                raise CommandLineError(f"{where} {reader.line_num}: expected the header {','.join(CSV_COLUMNS)}")
            header_seen = True
        elif fields:
            try:
                yield _csv_row(fields)
            except ValueError as exc:
                raise CommandLineError(f"{where} {reader.line_num}: {exc}") from exc
    if not header_seen:
        raise CommandLineError(f"{where} 1: empty; expected the header {','.join(CSV_COLUMNS)}")


def _csv_row(fields: list[str]) -> Row:
    if len(fields) != len(CSV_COLUMNS):
        raise ValueError(f"expected {len(CSV_COLUMNS)} fields, found {len(fields)}")
    account, key, utilization_text, resets_text, source, observed_text, last_seen_text = fields
    try:
        utilization = float(utilization_text)
    except ValueError:
        raise ValueError(f"utilization {utilization_text[:40]!r} is not a number") from None
    resets_at = _csv_time(resets_text, "resets_at") if resets_text else None
    observed_at = _csv_time(observed_text, "observed_at")
    last_seen_at = _csv_time(last_seen_text, "last_seen_at")
    _checked(account, key, utilization, resets_at, source, observed_at, last_seen_at)
    return Row(account, key, utilization, resets_at, source, observed_at, last_seen_at)


def _csv_time(text: str, column: str) -> datetime:
    try:
        parsed = parse_time(text, column)
    except BadReply as exc:
        raise ValueError(str(exc)) from None
    if parsed is None:
        raise ValueError(f"{column} is missing")
    return parsed


def rows_to_json(rows: Iterable[Row]) -> list[dict[str, str | float | None]]:
    """The rows as JSON-ready objects with the CSV's members (times ISO-8601 with offset, null for none)."""
    return [
        {
            "account": row.account,
            "key": row.key,
            "utilization": float(row.utilization),
            "resets_at": _iso(row.resets_at),
            "source": row.source,
            "observed_at": _iso(row.observed_at),
            "last_seen_at": _iso(row.last_seen_at),
        }
        for row in rows
    ]
