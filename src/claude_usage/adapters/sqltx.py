"""One write transaction on either of our SQLite files (the history, the transcript index).

A module of its own so that the transcript index has it without importing the history module (and the
pathlib that comes with it: ~10 ms before a report's first read).
"""

from __future__ import annotations

from contextlib import contextmanager

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterator


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE (wait for the write lock now, not at the first write) ... COMMIT, or ROLLBACK."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
