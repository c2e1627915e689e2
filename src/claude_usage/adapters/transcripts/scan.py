"""Bringing the index up to date: walk the config dirs, decide per file what to read, read it (on every
core for a big first scan), and file the entries.

Per file the index remembers (device, inode, size, mtime) and how far it read (`offset`, a line end) with
a digest of its first bytes. A file unchanged in all four is not opened. A file that grew, is the same
inode, still starts with the same bytes and still has a line end just before `offset` is read from
`offset` on. Anything else (another inode, shorter than `offset`, other first bytes) was truncated or
replaced: its entries are dropped and it is read again from the start. A file that went away keeps its
entries (Claude Code deletes old transcripts; the index outlives that).

A scan holds `<index>.lock` from the first look at the index to the last commit, re-reading the stored
state once it holds the lock: a second process waits, then finds nothing left to read. Commits come every
COMMIT_ENTRIES entries (a file's offset always in the same transaction as its entries), so an interrupted
scan loses at most its last batch and the next one goes on from there.
"""

from __future__ import annotations

import marshal
import os
import sys
import threading
import time
from typing import TYPE_CHECKING, NamedTuple

from claude_usage.adapters.transcripts import store
from claude_usage.adapters.transcripts.lines import HEAD_BYTES, head_digest, preload, read_range

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable, Iterator
    from multiprocessing.pool import Pool

    from claude_usage.adapters.transcripts.lines import Chunk, Entry
    from claude_usage.adapters.transcripts.roots import Roots
    from claude_usage.adapters.transcripts.store import Sums

CHUNK_BYTES = 32 * 1024 * 1024  # a file above this is read in pieces, so one huge file uses every core
PARALLEL_MIN_BYTES = 24 * 1024 * 1024  # below this, worker processes cost more than they save
BATCH_BYTES = 4 * 1024 * 1024  # smaller pieces go to a worker together: each hand-over costs ~0.15 ms
COMMIT_ENTRIES = 5_000  # small enough that filing keeps pace with the workers instead of trailing them
LOCK_WAIT_S = 600.0


class Seen(NamedTuple):
    """A transcript on disk: where, and its stat."""

    root_id: int
    relpath: str
    path: str
    dev: int
    ino: int
    size: int
    mtime_ns: int


class _Task(NamedTuple):
    """One byte range to read; `first` and `last` mark a file's first and last piece in this scan."""

    seen: Seen
    file_id: int
    start: int
    end: int
    first: bool
    last: bool


class ScanStats:
    """What one scan did: files seen and read, bytes read, entries filed, bad lines met, one-line notes."""

    def __init__(self, notes: list[str] | None = None) -> None:
        self.files = 0
        self.files_read = 0
        self.bytes_read = 0
        self.entries = 0
        self.bad_lines = 0
        self.seconds = 0.0
        self.notes: list[str] = notes or []


def walk(root_id: int, root: str, notes: list[str]) -> Iterator[Seen]:
    """Every `*.jsonl` under `<root>/projects`, recursively (subagent folders too), in path order; a
    folder that cannot be read is named in `notes` and skipped."""
    base = os.path.join(root, "projects")
    stack = [""]
    while stack:
        rel = stack.pop()
        here = os.path.join(base, rel) if rel else base
        try:
            with os.scandir(here) as found:
                items = sorted(found, key=lambda item: item.name, reverse=True)
        except OSError as exc:
            notes.append(f"cannot read {here}: {exc.strerror or exc}; its transcripts are left out")
            continue
        for item in items:
            relpath = f"{rel}/{item.name}" if rel else item.name
            try:
                if item.is_dir(follow_symlinks=False):
                    stack.append(relpath)
                elif item.name.endswith(".jsonl") and item.is_file():
                    st = item.stat()
                    yield Seen(root_id, relpath, item.path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
            except OSError:
                continue  # gone between the listing and the stat


def names(relpath: str) -> tuple[str, str]:
    """(project, session) of a transcript from its path under `projects/` (ccusage's rule): the project is
    the first folder, the session the file's stem, or for a subagent file the session folder it sits in."""
    parts = relpath.split("/")
    project = parts[0] if len(parts) > 1 else "unknown"
    stem = parts[-1][: -len(".jsonl")]
    session = parts[1] if len(parts) > 2 else stem
    return project, session


def scan(
    conn: sqlite3.Connection,
    roots: Roots,
    *,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> ScanStats:
    """Bring the index (its connection, held under the scan lock) up to date with `roots`' transcripts."""
    started = time.monotonic()
    stats = ScanStats(notes=list(roots.skipped))
    with store.transaction(conn):
        listed = store.root_ids(conn, roots.dirs, create=True)
        first = conn.execute("SELECT 1 FROM entry LIMIT 1").fetchone() is None  # rank all once, at the end
        if first:  # should this scan be cut short, the next one ranks everything
            conn.execute("DELETE FROM meta WHERE name = 'kept_for'")
            conn.execute("DROP INDEX IF EXISTS entry_msg")  # built once at the end: a sort, not random inserts
    tasks: list[_Task] = []
    resets: dict[int, Seen] = {}
    touched: list[tuple[Seen, int]] = []  # stat changed, nothing to read: remember the new stat
    with store.transaction(conn):
        for root_id, root in zip(listed, roots.dirs, strict=True):
            stored = {
                row[1]: row
                for row in conn.execute(
                    "SELECT id, relpath, dev, ino, size, mtime_ns, offset, head_len, head FROM file WHERE root_id = ?",
                    (root_id,),
                )
            }
            for seen in walk(root_id, root, stats.notes):
                stats.files += 1
                row = stored.get(seen.relpath)
                if row is not None and (row[2], row[3], row[4], row[5]) == seen[3:]:
                    continue
                file_id, start = _plan(conn, seen, row)
                if start < 0:
                    resets[file_id], start = seen, 0
                if seen.size > start:
                    tasks.extend(_pieces(seen, file_id, start))
                elif file_id not in resets:
                    touched.append((seen, file_id))
    tasks.sort(key=lambda task: -task.seen.size)  # the biggest files first: the cores finish together
    total = sum(task.end - task.start for task in tasks)
    stats.files_read = len({task.file_id for task in tasks})
    _run(conn, tasks, resets, listed, stats, total, progress, workers, first)
    with store.transaction(conn):
        for file_id, seen in resets.items():  # reset files not read now: emptied, or unreadable this time
            store.forget_entries(conn, file_id)
            touched.append((seen if seen.size == 0 else seen._replace(size=-1), file_id))
        conn.executemany(
            "UPDATE file SET dev = ?, ino = ?, size = ?, mtime_ns = ? WHERE id = ?",
            [(seen.dev, seen.ino, seen.size, seen.mtime_ns, file_id) for seen, file_id in touched],
        )
        conn.execute(store.MSG_INDEX)
        store.rerank(conn, listed, everything=first and stats.entries > 0, summed=first)
        store.refresh_sums(conn)
    stats.seconds = time.monotonic() - started
    return stats


def _plan(conn: sqlite3.Connection, seen: Seen, row: tuple[object, ...] | None) -> tuple[int, int]:
    """(file id, where to read from; -1: reset, read all again): a new file gets its row (in the caller's
    transaction); a replaced or truncated one is to be reset."""
    if row is None:
        project, session = names(seen.relpath)
        cur = conn.execute(
            "INSERT INTO file (root_id, relpath, project, session, dev, ino, size, mtime_ns, offset,"
            " head_len, head) VALUES (?, ?, ?, ?, ?, ?, -1, -1, 0, 0, NULL)",
            (seen.root_id, seen.relpath, project, session, seen.dev, seen.ino),
        )
        return int(cur.lastrowid or 0), 0
    file_id, offset, head_len, head = int(str(row[0])), int(str(row[6])), int(str(row[7])), row[8]
    same = (row[2], row[3]) == (seen.dev, seen.ino) and seen.size >= offset
    if same and offset:
        same = _still_starts_with(seen.path, offset, head_len, head)
    return (file_id, offset) if same else (file_id, -1)


def _still_starts_with(path: str, offset: int, head_len: int, head: object) -> bool:
    """True when the file's first `head_len` bytes have the stored digest and a line ends at `offset`."""
    try:
        with open(path, "rb") as f:
            first = f.read(head_len)
            f.seek(offset - 1)
            newline = f.read(1)
    except OSError:
        return False
    return newline == b"\n" and head_digest(first) == head


def _pieces(seen: Seen, file_id: int, start: int) -> list[_Task]:
    """The range [start, size) as tasks, cut at line ends about every CHUNK_BYTES."""
    cuts = [start]
    if seen.size - start > CHUNK_BYTES:
        try:
            with open(seen.path, "rb") as f:
                at = start + CHUNK_BYTES
                while at < seen.size - CHUNK_BYTES // 4:
                    f.seek(at)
                    found = -1
                    while found < 0:
                        block = f.read(1 << 16)
                        if not block:
                            break
                        found = block.find(b"\n")
                        at += len(block) if found < 0 else found + 1
                    if found < 0 or at >= seen.size:
                        break
                    cuts.append(at)
                    at += CHUNK_BYTES
        except OSError:
            cuts = [start]
    ends = [*cuts[1:], seen.size]
    return [
        _Task(seen, file_id, a, b, i == 0, i == len(cuts) - 1) for i, (a, b) in enumerate(zip(cuts, ends, strict=True))
    ]


def _run(
    conn: sqlite3.Connection,
    tasks: list[_Task],
    resets: dict[int, Seen],
    listed: list[int],
    stats: ScanStats,
    total: int,
    progress: Callable[[int, int], None] | None,
    workers: int | None,
    first: bool,
) -> None:
    """Read the tasks (in worker processes when there is enough to read) and file what they found."""
    # Two processes per core by default: on a cold page cache one waits for the disk while another parses
    # (measured on 1 GB, 2 cores: 1.9 s cold with 4 workers, 2.4 s with 2; the same with a warm cache).
    count = workers if workers is not None else min(2 * (os.cpu_count() or 1), 8)
    pool = _pool(count) if count > 1 and total >= PARALLEL_MIN_BYTES and len(tasks) > 1 else None
    done = 0
    pending: list[tuple[_Task, Chunk, list[Sums]]] = []
    pending_entries = 0
    broken: set[int] = set()  # files whose read stopped short: later pieces are dropped
    try:
        for task, chunk, sums in _results(tasks, pool, first):
            done += task.end - task.start
            if task.file_id in broken:
                continue
            if chunk[4] is not None:
                stats.notes.append(f"cannot read {chunk[4]}; read again next time")
                broken.add(task.file_id)
                continue
            if not task.last and chunk[2] != task.end:
                broken.add(task.file_id)  # changed under us: the rest waits for the next scan
            pending.append((task, chunk, sums))
            pending_entries += len(chunk[0])
            if pending_entries >= COMMIT_ENTRIES:
                _file(conn, pending, resets, listed, stats, first)
                pending, pending_entries = [], 0
            if progress is not None:
                progress(done, total)
        _file(conn, pending, resets, listed, stats, first)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()


def _pool(count: int) -> Pool:
    import multiprocessing

    # fork is cheapest, but only safe while this process has a single thread (and on Linux).
    method = "fork" if sys.platform == "linux" and threading.active_count() == 1 else "spawn"
    if method == "fork":
        preload()

    return multiprocessing.get_context(method).Pool(count)


_Packed = tuple[bytes, list[tuple[int, str]], int, "bytes | None", "str | None", bytes]


def _read(piece: tuple[str, int, int, bool]) -> _Packed:
    """A worker's job: one piece, parsed with orjson; its entries (and for a first scan their sums)
    marshalled: a third of pickle's cost to load, for the process that files them."""
    (entries, bad, end, head, error), sums = _read_piece(*piece, True)
    return marshal.dumps(entries), bad, end, head, error, marshal.dumps(sums)


def _read_piece(path: str, start: int, end: int, summed: bool, fast: bool) -> tuple[Chunk, list[Sums]]:
    """One piece read (`fast`: see read_range), with its entries' sums when `summed` (a first scan)."""
    chunk = read_range(path, start, end, fast)
    return chunk, store.group_sums(chunk[0]) if summed else []


def _read_batch(pieces: list[tuple[str, int, int, bool]]) -> list[_Packed]:
    return [_read(piece) for piece in pieces]


def _batches(pieces: list[tuple[str, int, int, bool]]) -> list[list[tuple[str, int, int, bool]]]:
    """The pieces in order, consecutive ones together until a batch holds BATCH_BYTES; a piece of that
    size or more goes alone (an incremental scan can have a small append before a big piece)."""
    batches: list[list[tuple[str, int, int, bool]]] = []
    size = BATCH_BYTES
    for piece in pieces:
        length = piece[2] - piece[1]
        if size >= BATCH_BYTES or length >= BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(piece)
        size += length
    return batches


def _unpacked(packed: _Packed) -> tuple[Chunk, list[Sums]]:
    entries: list[Entry] = marshal.loads(packed[0])  # noqa: S302 - from our own worker process
    sums: list[Sums] = marshal.loads(packed[5])  # noqa: S302
    return (entries, packed[1], packed[2], packed[3], packed[4]), sums


def _results(tasks: list[_Task], pool: Pool | None, summed: bool) -> Iterator[tuple[_Task, Chunk, list[Sums]]]:
    """Each task with its chunk (and with `summed`, its entries' sums), in task order. The workers never
    wait for this process: their results (a few bytes per entry) queue here, so a big piece at the head
    holds up nothing but the filing."""
    if pool is None:
        for task in tasks:
            yield (task, *_read_piece(task.seen.path, task.start, task.end, summed, False))
        return
    pieces = [(task.seen.path, task.start, task.end, summed) for task in tasks]
    found = (packed for batch in pool.imap(_read_batch, _batches(pieces), chunksize=1) for packed in batch)
    for task, packed in zip(tasks, found, strict=True):
        yield (task, *_unpacked(packed))


def _file(
    conn: sqlite3.Connection,
    pending: list[tuple[_Task, Chunk, list[Sums]]],
    resets: dict[int, Seen],
    listed: list[int],
    stats: ScanStats,
    first: bool,
) -> None:
    """One transaction: the pieces' entries and bad lines (on a first scan, their sums: every entry is
    kept until the ranking at the end, which redoes the sums of the few files it changes), and each
    file's new offset and stat."""
    if not pending:
        return
    files: list[tuple[object, ...]] = []  # (stat, offset, head, id) of files read from their start
    stay: list[tuple[object, ...]] = []  # (stat, offset, id) of files read on from an offset
    with store.transaction(conn):
        for task, chunk, sums in pending:
            entries, bad, end, head, _ = chunk
            if task.file_id in resets:
                store.forget_entries(conn, task.file_id)
                del resets[task.file_id]
            stats.entries += store.add_entries(conn, task.file_id, entries, track=not first)
            if first:
                store.add_sums(conn, task.file_id, sums)
            store.add_bad(conn, task.file_id, bad)
            stats.bad_lines += len(bad)
            stats.bytes_read += end - task.start
            seen = task.seen
            # Only once the last piece is in does the stat describe what was read.
            size, mtime = (seen.size, seen.mtime_ns) if task.last or end != task.end else (-1, -1)
            if head is not None:
                head_len = min(len(head), end, HEAD_BYTES)
                files.append(
                    (seen.dev, seen.ino, size, mtime, end, head_len, head_digest(head[:head_len]), task.file_id)
                )
            else:
                stay.append((seen.dev, seen.ino, size, mtime, end, task.file_id))
        conn.executemany(
            "UPDATE file SET dev = ?, ino = ?, size = ?, mtime_ns = ?, offset = ?, head_len = ?, head = ? WHERE id = ?",
            files,
        )
        conn.executemany("UPDATE file SET dev = ?, ino = ?, size = ?, mtime_ns = ?, offset = ? WHERE id = ?", stay)
        store.bump(conn)
        if not first:  # a first scan ranks everything once, when all is in
            store.rerank(conn, listed)
