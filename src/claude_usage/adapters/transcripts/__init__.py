"""The incremental index of Claude Code's transcripts: what each response cost, kept in our own SQLite file.

    roots.py   which config dirs to read (CLAUDE_CONFIG_DIR, comma-separated, or the two defaults)
    lines.py   a byte range of one transcript -> usage entries (prefilter, orjson, checks); runs in workers
    scan.py    walk, decide per file what to read (offsets, identity), read on every core, file the entries
    store.py   the SQLite schema, the dedupe rule in SQL, opening / moving aside

The index lives beside the history (`transcripts.sqlite3` in the data dir of adapters/history.py:
$CLAUDE_USAGE_DATA_DIR, else the user data dir), not in a cache dir: it outlives the transcripts Claude
Code deletes, so it holds data that exists nowhere else. See docs/transcripts.md.

Must not import rich; sqlite3 and orjson are imported by the modules of this package only.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import TYPE_CHECKING

from claude_usage.adapters.transcripts.roots import Roots, config_roots
from claude_usage.adapters.transcripts.store import IndexError_

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable, Mapping
    from datetime import tzinfo
    from typing import Any

    from claude_usage.adapters.transcripts.scan import ScanStats
    from claude_usage.core.reports import UsageGroup

__all__ = ["IndexBusy", "IndexError_", "Roots", "TranscriptIndex", "config_roots", "index_path"]

INDEX_NAME = "transcripts.sqlite3"
QUARTER_HOUR_US = 15 * 60 * 1_000_000
MINUTE_US = 60 * 1_000_000


class IndexBusy(IndexError_):
    """Another process held the scan lock for longer than we were willing to wait."""


def index_path(env: Mapping[str, str]) -> str:
    """`transcripts.sqlite3` beside the history: $CLAUDE_USAGE_DATA_DIR, else the user data dir."""
    from claude_usage.adapters.paths import user_data_dir

    override = env.get("CLAUDE_USAGE_DATA_DIR")
    return os.path.join(override or user_data_dir(env), INDEX_NAME)  # a str: pathlib costs 8 ms to import


def _day_table(conn: sqlite3.Connection, query: str, args: list[object], tz: tzinfo | None) -> None:
    """`temp.qday`: each quarter hour the query names, with its day in `tz` (a proleptic ordinal)."""
    from claude_usage.core.reports import local_date

    assert tz is not None  # noqa: S101 - callers pass a zone
    quarters = [q for (q,) in conn.execute(query, args)]
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS qday (q INTEGER PRIMARY KEY, day INTEGER NOT NULL)")
    conn.execute("DELETE FROM temp.qday")
    conn.executemany(
        "INSERT INTO temp.qday VALUES (?, ?)", [(q, local_date(q * QUARTER_HOUR_US, tz).toordinal()) for q in quarters]
    )


def _numbered(found: list[tuple[str, int, str]]) -> list[tuple[str, str, str]]:
    """Byte offsets as line numbers, counting each file's newlines once (only for the files named)."""
    out: list[tuple[str, str, str]] = []
    counted: dict[str, tuple[int, int]] = {}  # path -> (offset counted to, newlines before it)
    for path, offset, reason in found:
        done, lines = counted.get(path, (0, 0))
        try:
            with open(path, "rb") as f:
                f.seek(done)
                lines += f.read(offset - done).count(b"\n")
        except OSError:
            out.append((path, f"byte {offset}", reason))
            continue
        counted[path] = (offset, lines)
        out.append((path, f"line {lines + 1}", reason))
    return out


class TranscriptIndex:
    """The index file: `update` it from the config dirs, then read grouped sums; a context manager."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self.notice: str | None = None
        self._conn: sqlite3.Connection | None = None
        self._listed = ""

    def __enter__(self) -> TranscriptIndex:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def update(
        self,
        roots: Roots,
        *,
        progress: Callable[[int, int], None] | None = None,
        workers: int | None = None,
        lock_wait_s: float | None = None,
    ) -> ScanStats:
        """Read what is new in the roots' transcripts into the index (under the scan lock); what it did.

        `progress(bytes_done, bytes_total)` is called as the reading goes; `workers` caps the processes
        (default: one per core). IndexBusy when another scan held the lock for `lock_wait_s`.
        """
        from claude_usage.adapters.store import FileLock, StoreError
        from claude_usage.adapters.transcripts import scan, store

        wait = scan.LOCK_WAIT_S if lock_wait_s is None else lock_wait_s
        directory = os.path.dirname(os.path.abspath(self.path))
        with store.seam(self.path, "update"):
            os.makedirs(directory, mode=0o700, exist_ok=True)
            try:
                lock = FileLock(directory, f"{self.path}.lock", wait)
                with lock as held:
                    if not held:
                        raise IndexBusy(f"{self.path} is being updated by another process (waited {wait:g} s)")
                    self.close()
                    self._conn, self.notice = store.open_index(self.path)
                    stats = scan.scan(self._conn, roots, progress=progress, workers=workers)
            except StoreError as exc:
                raise IndexError_(f"cannot lock {self.path}: {exc}") from exc
        if self.notice:
            stats.notes.insert(0, self.notice)
        return stats

    def _connection(self, roots: Roots) -> sqlite3.Connection | None:
        from claude_usage.adapters.transcripts import store

        if self._conn is None:
            with store.seam(self.path, "read"):
                self._conn = store.connect_existing(self.path)
        if self._conn is not None:
            with store.seam(self.path, "read"):
                self._listed = ",".join(map(str, store.root_ids(self._conn, roots.dirs, create=False)))
        return self._conn

    def groups(
        self,
        roots: Roots,
        *,
        minutes: bool = False,
        by_file: bool = False,
        project: str | None = None,
        long_context_threshold: int = 200_000,
        days_in: tzinfo | None = None,
    ) -> list[UsageGroup]:
        """Sums of the counted entries of the listed roots per quarter hour (minute when `minutes`; the
        local day in `days_in` when given), model and price tier, and per file (project and session filled
        in) when `by_file`. Days summed here are ~20x fewer rows to fetch than quarter hours."""
        from claude_usage.adapters.transcripts import store
        from claude_usage.core.reports import UsageGroup

        conn = self._connection(roots)
        if conn is None:
            return []
        grain, shift = (MINUTE_US, 1) if minutes else (QUARTER_HOUR_US, 0)
        where = "SELECT id FROM file WHERE root_id IN (SELECT id FROM temp.listed)"
        args: list[object] = []
        if project is not None:  # as shown, or without its leading "-" (which argparse takes for an option)
            where += " AND project IN (?, '-' || ?)"
            args.extend((project, project))
        day_key = ""
        if days_in is not None and not minutes and long_context_threshold == store.LONG_CONTEXT_THRESHOLD:
            day_key = f"{days_in!r}|{datetime.now(days_in).utcoffset()}"
            file_col = "s.file_id" if by_file else "0"
            sql = (
                f"SELECT d.day, s.model, s.long, {file_col}, sum(n), sum(input), sum(output), sum(c5), sum(c1),"  # noqa: S608
                " sum(cr), min(first), max(last) FROM sums s JOIN temp.qday d ON d.q = s.q"
                f" WHERE s.file_id IN ({where}) GROUP BY 1, 2, 3, 4"
            )
        elif not minutes and long_context_threshold == store.LONG_CONTEXT_THRESHOLD:  # the kept-current sums
            if by_file:
                sql = f"SELECT q, model, long, file_id, n, input, output, c5, c1, cr, first, last FROM sums WHERE file_id IN ({where})"  # noqa: S608, E501
            else:
                sql = (
                    "SELECT q, model, long, 0, sum(n), sum(input), sum(output), sum(c5), sum(c1), sum(cr),"  # noqa: S608
                    f" min(first), max(last) FROM sums WHERE file_id IN ({where}) GROUP BY 1, 2, 3"
                )
        else:
            file_col = "e.file_id" if by_file else "0"
            args = [shift, grain, long_context_threshold, *args]
            sql = (
                "SELECT (e.ts_us - ?) / ? AS b, e.model, e.input + e.cache_write + e.cache_read > ? AS long,"  # noqa: S608
                f" {file_col},"
                " count(*), sum(e.input), sum(e.output), sum(e.cache_write - e.cache_1h), sum(e.cache_1h),"
                " sum(e.cache_read), min(e.ts_us), max(e.ts_us)"
                f" FROM entry e WHERE e.kept = 1 AND e.file_id IN ({where}) GROUP BY 1, 2, 3, 4"
            )
        key = f"groups|{grain}|{shift}|{long_context_threshold}|{by_file}|{project}|{self._listed}|{day_key}"

        def compute() -> list[tuple[Any, ...]]:
            if day_key:
                _day_table(conn, f"SELECT DISTINCT q FROM sums WHERE file_id IN ({where})", args, days_in)  # noqa: S608
            return conn.execute(sql, args).fetchall()

        with store.seam(self.path, "read"):
            found = store.cached(conn, key, compute)
            names = {}
            if by_file:
                names = {row[0]: (row[1], row[2]) for row in conn.execute("SELECT id, project, session FROM file")}
        return [
            UsageGroup(
                model=row[1],
                long_context=bool(row[2]),
                entries=row[4],
                input_tokens=row[5],
                output_tokens=row[6],
                cache_write_5m=row[7],
                cache_write_1h=row[8],
                cache_read=row[9],
                first_us=row[10],
                last_us=row[11],
                project=names[row[3]][0] if by_file else "",
                session=names[row[3]][1] if by_file else "",
            )
            for row in found
        ]

    def cached(self, roots: Roots, key: str, compute: Callable[[], str]) -> str:
        """`compute()`, or what it returned before while the listed roots' entries have not changed since."""
        from claude_usage.adapters.transcripts import store

        conn = self._connection(roots)
        if conn is None:
            return compute()
        with store.seam(self.path, "read"):
            return store.cached(conn, f"text|{self._listed}|{key}", compute)

    def bad_lines(self, roots: Roots, limit: int = 200) -> tuple[int, list[tuple[str, str, str]]]:
        """(how many bad lines the listed roots' files have, the first `limit` as (path, where, reason)):
        where is "line N" (from 1), or "byte N" for a file that is gone."""
        from claude_usage.adapters.transcripts import store

        conn = self._connection(roots)
        if conn is None:
            return 0, []
        listed = "SELECT id FROM temp.listed"
        with store.seam(self.path, "read"):
            total = conn.execute(f"SELECT ifnull(sum(bad), 0) FROM file WHERE root_id IN ({listed})").fetchone()[0]  # noqa: S608
            rows = conn.execute(
                "SELECT r.path, f.relpath, b.line, b.reason FROM bad b JOIN file f ON f.id = b.file_id"  # noqa: S608
                f" JOIN root r ON r.id = f.root_id WHERE f.root_id IN ({listed})"
                " ORDER BY r.path, f.relpath, b.line LIMIT ?",
                (limit,),
            ).fetchall()
        return int(total), _numbered([(os.path.join(root, "projects", rel), at, why) for root, rel, at, why in rows])

    def projects(self, roots: Roots) -> list[str]:
        """The project names the listed roots have entries for, sorted."""
        from claude_usage.adapters.transcripts import store

        conn = self._connection(roots)
        if conn is None:
            return []
        with store.seam(self.path, "read"):
            found = conn.execute(
                "SELECT DISTINCT project FROM file WHERE root_id IN (SELECT id FROM temp.listed) ORDER BY project"
            ).fetchall()
        return [name for (name,) in found]
