"""A process that records into the history, or holds its lock, for the multi-process history tests.

Run as `python history_worker.py PATH KEY N`: prints "ready", waits for a line on stdin (so that the test
can release all workers at once), opens the history at PATH (all workers race to create it), then records
N readings of window KEY for account ACCOUNT, each in its own transaction and each recorded a second time
a second later (which extends the row, adding none); prints "done <rows inserted> <notice>" (the
notice is "-" when opening found nothing to move aside).

Run as `python history_worker.py hold PATH`: takes SQLite's write lock on PATH (`BEGIN EXCLUSIVE`, as an
open `sqlite3` shell or a backup may), prints "locked", and holds it until a line arrives on stdin (or
stdin closes); then commits and prints "released".
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from claude_usage.adapters.history import History, Observation

ACCOUNT = "a-0123abcd4567ef89"
START = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
RESETS = datetime(2026, 11, 24, 17, 0, tzinfo=timezone.utc)


def reading(key: str, n: int, *, later_s: int = 0) -> Observation:
    """Reading number `n` of window `key`: utilization n / 4, observed n minutes (plus `later_s` s) after START."""
    return Observation(ACCOUNT, key, n / 4, RESETS, "api", START + timedelta(minutes=n, seconds=later_s))


def main(path: str, key: str, count: str) -> None:
    print("ready", flush=True)
    sys.stdin.readline()
    inserted = 0
    with History.open(Path(path)) as history:
        for n in range(int(count)):
            inserted += history.record([reading(key, n)])
            inserted += history.record([reading(key, n, later_s=1)])
    print("done", inserted, "notice" if history.notice else "-", flush=True)


def hold(path: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    print("locked", flush=True)
    sys.stdin.readline()
    conn.execute("COMMIT")
    conn.close()
    print("released", flush=True)


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Another process (this script's `hold`) holds SQLite's write lock on `path` until the block ends."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "hold", str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert "locked\n" == proc.stdout.readline()
        yield
    finally:
        proc.communicate("go\n", timeout=30)


if __name__ == "__main__":
    if sys.argv[1] == "hold":
        hold(sys.argv[2])
    else:
        main(*sys.argv[1:])
