"""A process that records into the history, for the multi-process tests in tests/test_history.py.

Run as `python history_worker.py PATH KEY N`: prints "ready", waits for a line on stdin (so that the test
can release all workers at once), opens the history at PATH (all workers race to create it), then records
N readings of window KEY for account ACCOUNT, each in its own transaction and each recorded a second time
a second later (which extends the row, adding none); prints "done <rows inserted> <notice>" (the
notice is "-" when opening found nothing to move aside).
"""

from __future__ import annotations

import sys
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


if __name__ == "__main__":
    main(*sys.argv[1:])
