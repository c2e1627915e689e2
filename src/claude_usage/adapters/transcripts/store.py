"""The index's SQLite file: its schema, opening (create, or move aside what is not ours), the dedupe rule
applied in SQL, and the grouped sums the reports are made from.

Schema 1 (`PRAGMA application_id = 0x43555478` "CUTx", `user_version = 1`)::

    root(id, path UNIQUE)                       a config dir, by real path
    file(id, root_id, relpath, project, session, dev, ino, size, mtime_ns,
         offset, head_len, head, bad)            per transcript: how far it was read and what it was
    entry(file_id, line, ts_us, model, msg_id, req_id, side,
          input, output, cache_write, cache_1h, cache_read, kept)
                                                `line`: the byte offset where the entry's line starts
    bad(file_id, line, reason)                  the first MAX_BAD_PER_FILE bad lines of each file (offsets)
    meta(name PRIMARY KEY, value)               "kept_for": the config dirs the `kept` flags were computed
                                                for; "generation": counts the changes to `entry`
    cache(key PRIMARY KEY, generation, data)    grouped sums as last computed (marshal), valid while the
                                                generation is unchanged: a re-run with nothing new is a lookup
    sums(file_id, q, model, long, n, input, output, c5, c1, cr, first, last)
                                                the counted entries summed per file, quarter hour, model and
                                                price tier, kept current per file (`stale` lists the files whose
                                                sums a scan must redo): a report sums ~5x fewer rows

`entry` holds every candidate copy of a response (at most one per file and key, see lines.py); `kept`
marks the one copy per response that counts, under the dedupe rule (docs/transcripts.md):

- copies are the same response when they share `message.id` and `requestId` (a missing `requestId` is
  one more value); a line without `message.id` is never a copy;
- of a response's copies the one with the largest input + output + cache-write + cache-read total is
  kept; on a tie the first by (config dir, path, line);
- subagent replays (ccusage's sidechain rule): when a `message.id` has a copy outside a sidechain, its
  sidechain copies (any `requestId`) are dropped; sidechain-only copies of one `message.id` are one response.

The rule is applied among the config dirs listed now: `kept` is recomputed for the message ids a scan
touched, and for all of them when the listed dirs differ from `meta.kept_for`.

Every write is one `BEGIN IMMEDIATE` transaction; the scan that writes holds `transcripts.sqlite3.lock`
(scan.py), so two processes never read the same bytes twice. WAL mode: reports read while a scan writes.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, TypeVar

from claude_usage.adapters.sqltx import transaction as transaction
from claude_usage.errors import UnavailableError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from claude_usage.adapters.transcripts.lines import Entry

_T = TypeVar("_T")
SCHEMA_VERSION = 1
APPLICATION_ID = 0x43555478  # "CUTx"
BUSY_TIMEOUT_S = 30.0
MAX_BAD_PER_FILE = 100
_MAGIC = b"SQLite format 3\x00"
_SIDECARS = ("-wal", "-shm", "-journal")
MSG_INDEX = "CREATE INDEX IF NOT EXISTS entry_msg ON entry (msg_id) WHERE msg_id IS NOT NULL"
_SCHEMA = (
    "CREATE TABLE root (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE)",
    """CREATE TABLE file (
        id INTEGER PRIMARY KEY, root_id INTEGER NOT NULL REFERENCES root(id), relpath TEXT NOT NULL,
        project TEXT NOT NULL, session TEXT NOT NULL, dev INTEGER NOT NULL, ino INTEGER NOT NULL,
        size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, offset INTEGER NOT NULL,
        head_len INTEGER NOT NULL, head BLOB, bad INTEGER NOT NULL DEFAULT 0, UNIQUE (root_id, relpath))""",
    """CREATE TABLE entry (
        file_id INTEGER NOT NULL, line INTEGER NOT NULL, ts_us INTEGER NOT NULL, model TEXT NOT NULL,
        msg_id TEXT, req_id TEXT, side INTEGER NOT NULL, input INTEGER NOT NULL, output INTEGER NOT NULL,
        cache_write INTEGER NOT NULL, cache_1h INTEGER NOT NULL, cache_read INTEGER NOT NULL,
        kept INTEGER NOT NULL, PRIMARY KEY (file_id, line)) WITHOUT ROWID""",
    MSG_INDEX,
    "CREATE TABLE bad (file_id INTEGER NOT NULL, line INTEGER NOT NULL, reason TEXT NOT NULL)",
    "CREATE INDEX bad_file ON bad (file_id)",
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value) WITHOUT ROWID",
    "CREATE TABLE cache (key TEXT PRIMARY KEY, generation INTEGER NOT NULL, data BLOB NOT NULL) WITHOUT ROWID",
    """CREATE TABLE sums (
        file_id INTEGER NOT NULL, q INTEGER NOT NULL, model TEXT NOT NULL, long INTEGER NOT NULL,
        n INTEGER NOT NULL, input INTEGER NOT NULL, output INTEGER NOT NULL, c5 INTEGER NOT NULL,
        c1 INTEGER NOT NULL, cr INTEGER NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL,
        PRIMARY KEY (file_id, q, model, long)) WITHOUT ROWID""",
    "CREATE TABLE stale (file_id INTEGER PRIMARY KEY)",
)
QUARTER_US = 900_000_000
LONG_CONTEXT_THRESHOLD = 200_000  # the `long` of `sums`; a price table with another threshold sums `entry`
_REFRESH = (
    "DELETE FROM sums WHERE file_id IN (SELECT file_id FROM stale)",
    # ts_us / QUARTER_US, and LONG_CONTEXT_THRESHOLD (a test checks that these literals agree)
    """INSERT INTO sums SELECT file_id, ts_us / 900000000, model,
        input + cache_write + cache_read > 200000, count(*), sum(input), sum(output),
        sum(cache_write - cache_1h), sum(cache_1h), sum(cache_read), min(ts_us), max(ts_us)
        FROM entry WHERE kept = 1 AND file_id IN (SELECT file_id FROM stale) GROUP BY 1, 2, 3, 4""",
    "DELETE FROM stale",
)
_RANK = """
WITH cand AS (
  SELECT e.file_id AS fid, e.line AS at, e.side AS side,
         row_number() OVER (
           PARTITION BY e.msg_id, e.side, CASE WHEN e.side THEN NULL ELSE e.req_id END
           ORDER BY e.input + e.output + e.cache_write + e.cache_read DESC, r.path, f.relpath, e.line
         ) AS rn,
         min(e.side) OVER (PARTITION BY e.msg_id) AS only_side
  FROM entry e JOIN file f ON f.id = e.file_id JOIN root r ON r.id = f.root_id
  WHERE e.msg_id IS NOT NULL AND f.root_id IN (SELECT id FROM temp.listed) {only_dirty}
)
UPDATE entry SET kept = 1
WHERE (file_id, line) IN (SELECT fid, at FROM cand WHERE rn = 1 AND (side = 0 OR only_side = 1))
"""


class IndexError_(UnavailableError):
    """The transcript index could not be opened, read or written; names the file."""


@contextmanager
def seam(path: str, doing: str) -> Iterator[None]:
    """sqlite3 and OS errors become IndexError_ naming the file."""
    try:
        yield
    except sqlite3.Error as exc:
        raise IndexError_(f"cannot {doing} {path}: {exc}") from exc
    except OSError as exc:
        raise IndexError_(f"cannot {doing} {path}: {exc.strerror or exc}") from exc


def open_index(path: str) -> tuple[sqlite3.Connection, str | None]:
    """A connection to the index at `path`, created 0600 (directory 0700) when missing; a notice when a
    file that is not a readable index of this schema was moved aside (never deleted) and a new one begun.

    Call it under the scan lock: creating and moving aside are not safe against a second process otherwise.
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
    notice = None
    state = _state(path)
    if state not in ("missing", "empty", "current"):
        aside = _move_aside(path, state)
        notice = f"{path} was {state}: moved it to {aside} and started a new transcript index (a full scan follows)"
        state = "missing"
    if state == "missing":
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY | getattr(os, "O_BINARY", 0), 0o600))
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA cache_size = -32768")  # up to 32 MiB: the msg_id index's random inserts stay in memory
    if state != "current":
        with transaction(conn):
            if conn.execute("PRAGMA user_version").fetchone()[0] == 0:
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS listed (id INTEGER PRIMARY KEY)")
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS dirty (msg_id TEXT PRIMARY KEY) WITHOUT ROWID")
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS dup (msg_id TEXT PRIMARY KEY) WITHOUT ROWID")
    return conn, notice


def connect_existing(path: str) -> sqlite3.Connection | None:
    """A read connection to a current index, or None when there is none (yet) or it is not ours."""
    if _state(path) != "current":
        return None
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS listed (id INTEGER PRIMARY KEY)")
    return conn


def _state(path: str) -> str:
    try:
        with open(path, "rb") as f:
            head = f.read(len(_MAGIC))
    except FileNotFoundError:
        return "missing"
    if not head:
        return "empty"
    if head != _MAGIC:
        return "corrupt"
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            app = conn.execute("PRAGMA application_id").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return "corrupt"
    if app != APPLICATION_ID:
        return "empty" if (app, version) == (0, 0) and os.path.getsize(path) <= 4096 else "foreign"
    if version != SCHEMA_VERSION:
        return "newer" if version > SCHEMA_VERSION else "old"
    return "current"


def _move_aside(path: str, kind: str) -> str:
    base = f"{path}.{kind}-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}"
    aside, n = base, 2
    while any(os.path.lexists(aside + suffix) for suffix in ("", *_SIDECARS)):
        aside, n = f"{base}-{n}", n + 1
    for suffix in _SIDECARS:
        if os.path.lexists(f"{path}{suffix}"):
            os.replace(f"{path}{suffix}", aside + suffix)
    os.replace(path, aside)
    return aside


def root_ids(conn: sqlite3.Connection, dirs: Sequence[str], *, create: bool) -> list[int]:
    """The ids of these config dirs (created when `create`; unknown ones left out otherwise), and
    `temp.listed` set to them."""
    ids: list[int] = []
    for path in dirs:
        found = conn.execute("SELECT id FROM root WHERE path = ?", (path,)).fetchone()
        if found is None and create:
            found = (conn.execute("INSERT INTO root (path) VALUES (?)", (path,)).lastrowid,)
        if found is not None:
            ids.append(int(found[0]))
    conn.execute("DELETE FROM temp.listed")
    conn.executemany("INSERT OR IGNORE INTO temp.listed (id) VALUES (?)", [(i,) for i in ids])
    return ids


def bump(conn: sqlite3.Connection) -> None:
    """Count a change to the entries (in the caller's transaction): cached sums are stale from now on."""
    conn.execute(
        "INSERT INTO meta (name, value) VALUES ('generation', 1) ON CONFLICT (name) DO UPDATE SET value = value + 1"
    )


def generation(conn: sqlite3.Connection) -> int:
    """The count of changes to the entries so far."""
    found = conn.execute("SELECT value FROM meta WHERE name = 'generation'").fetchone()
    return int(found[0]) if found is not None else 0


def cached(conn: sqlite3.Connection, key: str, compute: Callable[[], _T]) -> _T:
    """`compute()`'s rows, from the cache when they were stored at the current generation (else stored)."""
    import marshal

    now = generation(conn)
    found = conn.execute("SELECT generation, data FROM cache WHERE key = ?", (key,)).fetchone()
    if found is not None and found[0] == now:
        kept: _T = marshal.loads(found[1])  # noqa: S302 - our own 0600 file, plain values
        return kept
    rows = compute()
    try:
        conn.execute("PRAGMA busy_timeout = 50")  # a cache is not worth waiting for a scan
        with transaction(conn):
            if generation(conn) == now:
                conn.execute("DELETE FROM cache WHERE generation != ?", (now,))
                data = marshal.dumps(rows)  # type: ignore[arg-type]  # str, or lists of tuples of str and int
                conn.execute("INSERT OR REPLACE INTO cache VALUES (?, ?, ?)", (key, now, data))
    except sqlite3.OperationalError:
        pass  # busy or read-only: computed again next time
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    return rows


def forget_entries(conn: sqlite3.Connection, file_id: int) -> None:
    """Drop a file's entries and bad lines (it was truncated or replaced); their responses are re-ranked."""
    bump(conn)
    conn.execute(
        "INSERT OR IGNORE INTO temp.dirty SELECT msg_id FROM entry WHERE file_id = ? AND msg_id IS NOT NULL",
        (file_id,),
    )
    conn.execute("DELETE FROM entry WHERE file_id = ?", (file_id,))
    conn.execute("INSERT OR IGNORE INTO stale VALUES (?)", (file_id,))
    conn.execute("DELETE FROM bad WHERE file_id = ?", (file_id,))
    conn.execute("UPDATE file SET bad = 0, offset = 0, head_len = 0, head = NULL WHERE id = ?", (file_id,))


def add_entries(conn: sqlite3.Connection, file_id: int, entries: Iterable[Entry], *, track: bool = True) -> int:
    """Insert a file's new entries; how many. The caller bumps the generation once per transaction.

    `track`: mark their responses for ranking and their file's sums for redoing; without it (a first
    scan, which ranks the whole index at the end) the caller adds their `group_sums` itself."""
    rows = [(file_id, e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7], e[8], e[9], e[10], 1) for e in entries]
    conn.executemany("INSERT INTO entry VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    if track:
        if rows:
            conn.execute("INSERT OR IGNORE INTO stale VALUES (?)", (file_id,))
        conn.executemany("INSERT OR IGNORE INTO temp.dirty VALUES (?)", [(r[4],) for r in rows if r[4] is not None])
    return len(rows)


# A `sums` row without its file_id: (q, model, long, n, input, output, c5, c1, cr, first, last)
Sums = tuple[int, str, int, int, int, int, int, int, int, int, int]


def group_sums(entries: Iterable[Entry]) -> list[Sums]:
    """The `sums` rows (without file_id) of entries that are all kept: what `_REFRESH` computes in SQL,
    done where the entries are (a worker of a first scan) so the filing process only adds them up."""
    groups: dict[tuple[int, str, int], list[int]] = {}
    for e in entries:
        ts = e[1]
        key = (ts // QUARTER_US, e[2], 1 if e[6] + e[8] + e[10] > LONG_CONTEXT_THRESHOLD else 0)
        row = groups.get(key)
        if row is None:
            groups[key] = [1, e[6], e[7], e[8] - e[9], e[9], e[10], ts, ts]
        else:
            row[0] += 1
            row[1] += e[6]
            row[2] += e[7]
            row[3] += e[8] - e[9]
            row[4] += e[9]
            row[5] += e[10]
            row[6] = min(row[6], ts)
            row[7] = max(row[7], ts)
    return [(*key, *row) for key, row in groups.items()]  # type: ignore[misc]


def add_sums(conn: sqlite3.Connection, file_id: int, rows: Sequence[Sums]) -> None:
    """Add `group_sums` rows to a file's `sums` (a file read in several pieces shares quarter hours)."""
    conn.executemany(
        "INSERT INTO sums VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (file_id, q, model, long) DO UPDATE"
        " SET n = n + excluded.n, input = input + excluded.input, output = output + excluded.output,"
        " c5 = c5 + excluded.c5, c1 = c1 + excluded.c1, cr = cr + excluded.cr,"
        " first = min(first, excluded.first), last = max(last, excluded.last)",
        [(file_id, *row) for row in rows],
    )


def add_bad(conn: sqlite3.Connection, file_id: int, bad: Sequence[tuple[int, str]]) -> None:
    """Count a file's bad lines, keeping the first MAX_BAD_PER_FILE of them (by byte offset)."""
    if not bad:
        return
    stored = conn.execute("SELECT bad FROM file WHERE id = ?", (file_id,)).fetchone()[0]
    room = max(MAX_BAD_PER_FILE - stored, 0)
    conn.executemany(
        "INSERT INTO bad (file_id, line, reason) VALUES (?, ?, ?)",
        [(file_id, offset, reason) for offset, reason in bad[:room]],
    )
    conn.execute("UPDATE file SET bad = bad + ? WHERE id = ?", (len(bad), file_id))


def rerank(conn: sqlite3.Connection, listed: Sequence[int], *, everything: bool = False, summed: bool = False) -> None:
    """Recompute `kept` for the responses in `temp.dirty`; for all of them when `everything` or when the
    listed dirs differ from those of the last ranking. `summed`: every entry is kept and summed already
    (a first scan), so only the files whose entries the ranking changes need their sums redone.

    A response with one candidate copy is kept as it is; only those with several (a few percent) are
    ranked by the window query.
    """
    key = ",".join(str(i) for i in sorted(listed))
    last = conn.execute("SELECT value FROM meta WHERE name = 'kept_for'").fetchone()
    conn.execute("DELETE FROM temp.dup")
    if everything or last is None or last[0] != key:
        bump(conn)
        if not summed:
            conn.execute("INSERT OR IGNORE INTO stale SELECT id FROM file")
            conn.execute("UPDATE entry SET kept = 1 WHERE kept = 0")
        conn.execute(
            "INSERT INTO temp.dup SELECT msg_id FROM entry WHERE msg_id IS NOT NULL GROUP BY msg_id HAVING count(*) > 1"
        )
        conn.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('kept_for', ?)", (key,))
    elif conn.execute("SELECT 1 FROM temp.dirty LIMIT 1").fetchone() is not None:
        conn.execute(
            "INSERT OR IGNORE INTO stale SELECT file_id FROM entry"
            " WHERE kept = 0 AND msg_id IN (SELECT msg_id FROM temp.dirty)"
        )
        conn.execute("UPDATE entry SET kept = 1 WHERE kept = 0 AND msg_id IN (SELECT msg_id FROM temp.dirty)")
        conn.execute(
            "INSERT INTO temp.dup SELECT msg_id FROM entry WHERE msg_id IN (SELECT msg_id FROM temp.dirty)"
            " GROUP BY msg_id HAVING count(*) > 1"
        )
    conn.execute("DELETE FROM temp.dirty")
    if conn.execute("SELECT 1 FROM temp.dup LIMIT 1").fetchone() is None:
        return
    if not summed:
        conn.execute(
            "INSERT OR IGNORE INTO stale SELECT file_id FROM entry WHERE msg_id IN (SELECT msg_id FROM temp.dup)"
        )
    conn.execute("UPDATE entry SET kept = 0 WHERE msg_id IN (SELECT msg_id FROM temp.dup)")
    conn.execute(_RANK.format(only_dirty="AND e.msg_id IN (SELECT msg_id FROM temp.dup)"))
    if summed:  # every entry was in its file's sums: only the files of the copies that lost are off
        conn.execute(
            "INSERT OR IGNORE INTO stale SELECT file_id FROM entry"
            " WHERE kept = 0 AND msg_id IN (SELECT msg_id FROM temp.dup)"
        )


def refresh_sums(conn: sqlite3.Connection) -> None:
    """Redo the `sums` of the files listed in `stale` (in the caller's transaction)."""
    for statement in _REFRESH:
        conn.execute(statement)
