"""The SQLite history: recording, filters, migration, odd files, retention, import, formats, many writers."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import platformdirs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from claude_usage.adapters import history as history_module
from claude_usage.adapters.history import (
    CSV_COLUMNS,
    DEFAULT_RETENTION_DAYS,
    SCHEMA_VERSION,
    History,
    HistoryBusy,
    HistoryError,
    Observation,
    Row,
    history_path,
    rows_from_csv,
    rows_to_csv,
    rows_to_json,
)
from claude_usage.errors import CommandLineError, ExitCode
from tests import strategies
from tests.support import history_worker
from tests.support.fakes import FakeClock

WORKER = Path(__file__).resolve().parent / "support" / "history_worker.py"
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
RESETS = datetime(2026, 11, 24, 17, 0, tzinfo=timezone.utc)
STAMP = "20261124T124900Z"  # FakeClock's default now, as moved-aside files are named
ACCOUNT = "a-0123abcd4567ef89"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def obs(
    utilization: float,
    minutes: float,
    *,
    account: str = ACCOUNT,
    key: str = "five_hour",
    source: str = "api",
    resets_at: datetime | None = RESETS,
) -> Observation:
    """A reading of `utilization` taken `minutes` after T0."""
    return Observation(account, key, utilization, resets_at, source, at(minutes))


def row(
    utilization: float,
    first: float,
    last: float,
    *,
    account: str = ACCOUNT,
    key: str = "five_hour",
    source: str = "api",
    resets_at: datetime | None = RESETS,
) -> Row:
    """A stored row first seen `first` and last seen `last` minutes after T0."""
    return Row(account, key, utilization, resets_at, source, at(first), at(last))


@pytest.fixture
def path() -> Path:
    return history_path(os.environ)


@pytest.fixture
def history(path: Path) -> Iterator[History]:
    with History.open(path) as opened:
        yield opened


def sql(path: Path, query: str) -> list[tuple[object, ...]]:
    """Run one statement on the file with a plain sqlite3 connection; its rows."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        return conn.execute(query).fetchall()
    finally:
        conn.close()


def sqlite_file(path: Path, *statements: str) -> bytes:
    """Build a SQLite file by hand from `statements`; its bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in statements:
        conn.execute(statement)
    conn.close()
    return path.read_bytes()


# --- where it lives, how it is kept -------------------------------------------------------------------


def test_history_path_follows_the_data_dir_override(tmp_path: Path) -> None:
    """CLAUDE_USAGE_DATA_DIR puts history.sqlite3 in that directory."""
    assert tmp_path / "data" / "history.sqlite3" == history_path(os.environ)


def test_history_path_defaults_to_platformdirs_user_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the override the file lives in platformdirs' user_data_dir for claude-usage."""
    monkeypatch.delenv("CLAUDE_USAGE_DATA_DIR")
    expected = Path(platformdirs.user_data_dir("claude-usage", appauthor=False), "history.sqlite3")
    assert expected == history_path(os.environ)


@posix_only
def test_files_are_private(path: Path, history: History) -> None:
    """The directory is created 0700; the file and its -wal and -shm files are 0600."""
    history.record([obs(10, 0)])
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (path.parent, *path.parent.glob("history.sqlite3*"))}
    expected = {"data": 0o700, "history.sqlite3": 0o600, "history.sqlite3-wal": 0o600, "history.sqlite3-shm": 0o600}
    assert expected == {name: mode for name, mode in modes.items() if not name.endswith(".lock")}


def test_file_is_in_wal_mode_with_the_current_schema(path: Path, history: History) -> None:
    """Another connection sees WAL journaling, our schema version and our application id."""
    found = [sql(path, f"PRAGMA {name}")[0][0] for name in ("journal_mode", "user_version", "application_id")]
    assert ["wal", SCHEMA_VERSION, 0x43557367] == found


def test_reopening_keeps_the_rows(path: Path) -> None:
    """Rows recorded and closed are there when the file is opened again, with no notice."""
    with History.open(path) as first:
        first.record([obs(10, 0)])
    with History.open(path) as second:
        assert ([row(10, 0, 0)], None) == (second.rows(), second.notice)


def test_history_imports_neither_rich_nor_httpx() -> None:
    """The history adapter stays off the UI and network stacks (checked in a fresh interpreter)."""
    probe = "import sys, claude_usage.adapters.history; print(sorted({'rich', 'httpx'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "[]" == out.stdout.strip()


# --- recording ------------------------------------------------------------------------------------------


def test_unchanged_value_extends_the_row(history: History) -> None:
    """Reading the same value again adds no row: it moves the row's last_seen_at."""
    added = [history.record([obs(10, 0)]), history.record([obs(10, 5)])]
    assert ([1, 0], [row(10, 0, 5)]) == (added, history.rows())


def test_a_change_inserts_and_a_change_back_inserts_again(history: History) -> None:
    """10, 20, then 10 again are three rows: only the latest row absorbs an equal reading."""
    added = [history.record([obs(u, m)]) for u, m in ((10, 0), (10, 1), (20, 2), (10, 3))]
    assert ([1, 0, 1, 1], [row(10, 0, 1), row(20, 2, 2), row(10, 3, 3)]) == (added, history.rows())


def test_a_new_reset_time_is_a_change(history: History) -> None:
    """The same utilization with another resets_at starts a new row."""
    history.record([obs(0, 0), obs(0, 1, resets_at=RESETS + timedelta(hours=5))])
    assert [row(0, 0, 0), row(0, 1, 1, resets_at=RESETS + timedelta(hours=5))] == history.rows()


def test_last_seen_only_moves_forward(history: History) -> None:
    """An older reading of the latest value leaves last_seen_at where it was."""
    history.record([obs(10, 0), obs(10, 10), obs(10, 5)])
    assert [row(10, 0, 10)] == history.rows()


def test_each_account_key_and_source_has_its_own_latest_row(history: History) -> None:
    """An equal value from another source, window or account is a row of its own."""
    added = history.record([obs(10, 0), obs(10, 1, source="statusline"), obs(10, 2, key="seven_day")])
    added += history.record([obs(10, 3, account="demo"), obs(10, 4)])
    expected = [
        row(10, 0, 4),
        row(10, 1, 1, source="statusline"),
        row(10, 2, 2, key="seven_day"),
        row(10, 3, 3, account="demo"),
    ]
    assert (4, expected) == (added, history.rows())


def test_times_come_back_in_utc(history: History) -> None:
    """A reading taken in another offset is stored and returned as the same instant in UTC."""
    plus_two = timezone(timedelta(hours=2))
    history.record([Observation(ACCOUNT, "five_hour", 1.5, None, "api", at(0).astimezone(plus_two))])
    assert [(timezone.utc, at(0))] == [(r.observed_at.tzinfo, r.observed_at) for r in history.rows()]


@pytest.mark.parametrize(
    "bad",
    [
        Observation(ACCOUNT, "five_hour", 1.0, None, "api", datetime(2026, 11, 24, 12)),  # noqa: DTZ001
        Observation(ACCOUNT, "five_hour", float("nan"), None, "api", T0),
        Observation(ACCOUNT, "five_hour", float("inf"), None, "api", T0),
        Observation("", "five_hour", 1.0, None, "api", T0),
    ],
    ids=["naive-time", "nan", "infinity", "no-account"],
)
def test_record_refuses_what_it_cannot_store(history: History, bad: Observation) -> None:
    """A naive time, a non-finite utilization or an empty account is a ValueError; nothing is stored."""
    with pytest.raises(ValueError):  # noqa: PT011 (the message varies with the field)
        history.record([obs(1, 0), bad])
    assert [] == history.rows()


# --- reading --------------------------------------------------------------------------------------------


@pytest.fixture
def filled(history: History) -> History:
    history.record([obs(10, 0), obs(10, 30), obs(50, 0, key="seven_day"), obs(20, 40), obs(7, 5, account="demo")])
    return history


def test_rows_are_ordered_by_first_seen(filled: History) -> None:
    """All rows, oldest first."""
    expected = [row(10, 0, 30), row(50, 0, 0, key="seven_day"), row(7, 5, 5, account="demo"), row(20, 40, 40)]
    assert expected == filled.rows()


def test_rows_filter_by_account_and_key(filled: History) -> None:
    """account= and key= keep only that account's, that window's rows."""
    assert (
        [row(10, 0, 30), row(20, 40, 40)],
        [row(7, 5, 5, account="demo")],
    ) == (filled.rows(account=ACCOUNT, key="five_hour"), filled.rows(account="demo"))


def test_since_keeps_rows_still_seen_after_it(filled: History) -> None:
    """since= keeps rows last seen at or after it, including one first seen before."""
    assert [row(10, 0, 30), row(20, 40, 40)] == filled.rows(since=at(30))


def test_accounts_are_listed_once_each_sorted(filled: History) -> None:
    """accounts() names each account with rows once, in order."""
    assert [ACCOUNT, "demo"] == filled.accounts()


# --- migration and files that are not a current history ---------------------------------------------

V1_TABLE = """CREATE TABLE reading (
    id INTEGER PRIMARY KEY, account TEXT NOT NULL, key TEXT NOT NULL, utilization REAL NOT NULL,
    resets_at TEXT, source TEXT NOT NULL, observed_at TEXT NOT NULL)"""


def v1_file(path: Path, *readings: tuple[str, str, float, str | None, str, str]) -> bytes:
    """A schema-1 file (one row per reading, ISO text times) built by hand."""
    sqlite_file(path, V1_TABLE, "PRAGMA user_version = 1")
    conn = sqlite3.connect(path)
    with conn:
        insert = "INSERT INTO reading (account, key, utilization, resets_at, source, observed_at) VALUES (?,?,?,?,?,?)"
        conn.executemany(insert, readings)
    conn.close()
    return path.read_bytes()


def test_a_schema_1_file_is_migrated(path: Path) -> None:
    """Runs of equal schema-1 readings become one row each; the old table is dropped; no notice."""
    r, t = RESETS.isoformat(), [at(m).isoformat() for m in range(6)]
    v1_file(
        path,
        (ACCOUNT, "five_hour", 10.0, r, "api", t[2]),  # out of id order: sorted by time
        (ACCOUNT, "five_hour", 10.0, r, "api", t[0]),
        (ACCOUNT, "five_hour", 10.0, r, "api", t[1]),
        (ACCOUNT, "five_hour", 20.0, r, "api", t[3]),
        (ACCOUNT, "five_hour", 10.0, r, "api", t[4]),
        ("demo", "limits.session", 0.1 + 0.2, None, "demo", t[5]),
    )
    with History.open(path) as history:
        found = (history.notice, history.rows())
    expected = [
        row(10, 0, 2),
        row(20, 3, 3),
        row(10, 4, 4),
        row(0.1 + 0.2, 5, 5, account="demo", key="limits.session", source="demo", resets_at=None),
    ]
    tables = sql(path, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    assert (None, expected, [("meta",), ("observation",)], [(2,)]) == (
        *found,
        tables,
        sql(path, "PRAGMA user_version"),
    )


def test_a_migrated_file_keeps_recording(path: Path) -> None:
    """After migration the latest migrated row absorbs an equal reading."""
    v1_file(path, (ACCOUNT, "five_hour", 10.0, RESETS.isoformat(), "api", at(0).isoformat()))
    with History.open(path) as history:
        history.record([obs(10, 9)])
        assert [row(10, 0, 9)] == history.rows()


def test_a_schema_1_file_with_unreadable_rows_is_moved_aside(path: Path) -> None:
    """A schema-1 row whose time is not ISO-8601 makes the file corrupt: moved aside, bytes kept."""
    original = v1_file(path, (ACCOUNT, "five_hour", 10.0, None, "api", "yesterday"))
    with History.open(path, clock=FakeClock()) as history:
        assert [] == history.rows()
    assert original == Path(f"{path}.corrupt-{STAMP}").read_bytes()


def moved(path: Path, original: bytes, kind: str, why: str) -> None:
    """Opening `path` moves it to `<path>.<kind>-STAMP` with its bytes, says so in one line, starts afresh."""
    with History.open(path, clock=FakeClock()) as history:
        history.record([obs(10, 0)])
        result = (history.notice, history.rows())
    aside = Path(f"{path}.{kind}-{STAMP}")
    notice = f"{path} {why}: moved it to {aside} and started a new history"
    assert (notice, [row(10, 0, 0)], original) == (*result, aside.read_bytes())


def test_a_garbage_file_is_moved_aside(path: Path) -> None:
    """Bytes that are not SQLite: reported, kept beside as .corrupt-<stamp>, replaced by a new history."""
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00garbage\xff" * 1000)
    moved(path, path.read_bytes(), "corrupt", "is not a readable SQLite database")


def test_a_truncated_sqlite_file_is_moved_aside(path: Path, tmp_path: Path) -> None:
    """A SQLite header over a malformed body counts as corrupt too."""
    whole = sqlite_file(tmp_path / "whole.sqlite3", "CREATE TABLE t (x)", "INSERT INTO t VALUES (1)")
    path.parent.mkdir(parents=True)
    path.write_bytes(whole[:150])
    moved(path, whole[:150], "corrupt", "is not a readable SQLite database")


def test_a_database_of_another_application_is_moved_aside(path: Path) -> None:
    """A SQLite file with tables but none of ours is foreign: moved aside, never written to."""
    original = sqlite_file(path, "CREATE TABLE notes (body TEXT)", "INSERT INTO notes VALUES ('mine')")
    moved(path, original, "foreign", "is not a claude-usage history")


def test_another_application_id_is_foreign_even_with_our_tables(path: Path) -> None:
    """Our table names under another application id do not make a file ours."""
    original = sqlite_file(path, V1_TABLE, "PRAGMA user_version = 1", "PRAGMA application_id = 42")
    moved(path, original, "foreign", "is not a claude-usage history")


def test_a_newer_schema_is_moved_aside(path: Path) -> None:
    """A history written by a newer claude-usage is kept aside as .newer-<stamp>, not misread."""
    History.open(path).close()
    original = sqlite_file(path, f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    moved(path, original, "newer", f"has history schema 3, newer than this claude-usage knows ({SCHEMA_VERSION})")


def test_a_stale_wal_moves_aside_with_its_file(path: Path) -> None:
    """A -wal beside a corrupt file goes with it, so the new history never replays it."""
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not sqlite")
    Path(f"{path}-wal").write_bytes(b"stale wal")
    moved(path, b"not sqlite", "corrupt", "is not a readable SQLite database")
    assert b"stale wal" == Path(f"{path}.corrupt-{STAMP}-wal").read_bytes()


def test_moving_aside_never_overwrites_an_earlier_one(path: Path) -> None:
    """Two corrupt files in the same second are kept as .corrupt-<stamp> and .corrupt-<stamp>-2."""
    path.parent.mkdir(parents=True)
    for content in (b"first", b"second"):
        path.write_bytes(content)
        History.open(path, clock=FakeClock()).close()
    found = [Path(f"{path}.corrupt-{STAMP}{n}").read_bytes() for n in ("", "-2")]
    assert [b"first", b"second"] == found


def test_an_empty_file_becomes_a_history_without_notice(path: Path) -> None:
    """A zero-byte file (a crash right after creating it) is simply set up."""
    path.parent.mkdir(parents=True)
    path.touch()
    with History.open(path) as history:
        history.record([obs(1, 0)])
        assert (None, [row(1, 0, 0)]) == (history.notice, history.rows())


def test_a_path_that_is_a_directory_is_an_error_naming_it(path: Path) -> None:
    """OSError at the seam becomes a HistoryError (exit 4) that names the file."""
    path.mkdir(parents=True)
    with pytest.raises(HistoryError, match=str(path)) as caught:
        History.open(path)
    assert ExitCode.UNAVAILABLE == caught.value.exit_code


def test_a_closed_history_raises_history_error(history: History) -> None:
    """sqlite3's errors, such as using a closed connection, become HistoryError."""
    history.close()
    with pytest.raises(HistoryError, match="cannot read"):
        history.rows()


# --- damaged pages -------------------------------------------------------------------------------------

MALFORMED = "database disk image is malformed"


def filled_file(path: Path, count: int = 2000) -> None:
    """A real history of `count` rows over seven windows, closed (so its WAL is folded into the file)."""
    with History.open(path) as history:
        history.record([obs(n % 97, n, key=f"window-{n % 7}") for n in range(count)])


def damage(path: Path, page: int | None = None) -> bytes:
    """Write garbage over one page (numbered from 1; the middle one unless given); the file's new bytes."""
    size = sql(path, "PRAGMA page_size")[0][0]
    assert isinstance(size, int)
    data = bytearray(path.read_bytes())
    index = (page - 1) if page is not None else len(data) // size // 2
    data[index * size : (index + 1) * size] = b"\xde\xad\xbe\xef" * (size // 4)
    path.write_bytes(bytes(data))
    return bytes(data)


def damage_observations(path: Path) -> bytes:
    """Garbage over the root page of the observation table, which every read and write goes through."""
    ((root,),) = sql(path, "SELECT rootpage FROM sqlite_master WHERE name = 'observation'")
    assert isinstance(root, int)
    return damage(path, root)


@pytest.fixture
def no_quick_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """Open as a file too big for `PRAGMA quick_check` is opened: damage is found by the operations."""
    monkeypatch.setattr(history_module, "QUICK_CHECK_MAX_BYTES", 0)


def damaged_notice(path: Path) -> str:
    aside = Path(f"{path}.corrupt-{STAMP}")
    return f"{path} is damaged ({MALFORMED}): moved it to {aside} and started a new history"


def test_a_damaged_page_is_found_at_open(path: Path) -> None:
    """Garbage over a middle page: opening moves the file aside (bytes kept), says so and starts afresh."""
    filled_file(path)
    damaged = damage(path)
    with History.open(path, clock=FakeClock()) as history:
        found = (history.notice, history.rows())
    assert (damaged_notice(path), [], damaged) == (*found, Path(f"{path}.corrupt-{STAMP}").read_bytes())


@pytest.mark.usefixtures("no_quick_check")
def test_a_read_meeting_a_damaged_page_moves_the_file_aside(path: Path) -> None:
    """A read that meets a damaged page moves the file aside, says so once, and reads the new history."""
    filled_file(path)
    damaged = damage_observations(path)
    said: list[str] = []
    with History.open(path, clock=FakeClock(), on_notice=said.append) as history:
        found = [history.rows(), history.rows()]
    assert ([[], []], [damaged_notice(path)], damaged) == (found, said, Path(f"{path}.corrupt-{STAMP}").read_bytes())


@pytest.mark.usefixtures("no_quick_check")
def test_a_write_meeting_a_damaged_page_lands_in_the_new_history(path: Path) -> None:
    """A write that meets a damaged page is made again in the new history: nothing is lost."""
    filled_file(path)
    damage_observations(path)
    with History.open(path, clock=FakeClock()) as history:
        added = history.record([obs(10, 0)])
        found = (added, history.rows(), history.notice)
    assert (1, [row(10, 0, 0)], damaged_notice(path)) == found


@pytest.mark.usefixtures("no_quick_check")
def test_a_file_another_history_moved_aside_is_followed_silently(path: Path) -> None:
    """When another open history moved the file aside, this one writes to the new file and says nothing."""
    filled_file(path)
    damage_observations(path)
    said: list[str] = []
    with History.open(path, clock=FakeClock()) as first, History.open(path, on_notice=said.append) as second:
        first.rows()
        second.record([obs(10, 0)])
        found = (first.rows(), said, second.notice)
    assert ([row(10, 0, 0)], [], None) == found


# --- another process's lock ------------------------------------------------------------------------------


def test_a_write_gives_up_within_a_second_when_another_process_holds_the_lock(path: Path) -> None:
    """A write under another process's lock raises HistoryBusy after about a second, not the old ten."""
    with History.open(path) as history, history_worker.locked(path):
        started = time.monotonic()
        with pytest.raises(HistoryBusy, match=str(path)):
            history.record([obs(10, 0)])
        waited = time.monotonic() - started
    assert (True, ExitCode.UNAVAILABLE) == (waited < 2.5, HistoryBusy.exit_code)


def test_a_write_given_up_leaves_nothing_behind(path: Path) -> None:
    """A write that gave up on the lock changed nothing, and the next one after the release is filed."""
    with History.open(path) as history:
        with history_worker.locked(path), pytest.raises(HistoryBusy):
            history.record([obs(10, 0)])
        history.record([obs(10, 0)])
        assert [row(10, 0, 0)] == history.rows()


def test_reads_go_on_under_another_process_write_lock(path: Path) -> None:
    """In WAL mode a write lock held elsewhere never stops a read (insights read while a shell holds it)."""
    with History.open(path) as history:
        history.record([obs(10, 0)])
        with history_worker.locked(path):
            assert [row(10, 0, 0)] == history.rows()


# --- a disk that cannot be written --------------------------------------------------------------------


@pytest.fixture
def unwritable(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A history with one row whose opening for writing fails as on a read-only disk."""
    with History.open(path) as history:
        history.record([obs(10, 0)])

    def refuse(*args: object) -> None:
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(history_module, "_open", refuse)


@pytest.mark.usefixtures("unwritable")
def test_a_history_that_cannot_be_written_is_read_read_only(path: Path) -> None:
    """With read_only_fallback, a file that cannot be opened for writing is read read-only, and it says so."""
    with History.open(path, read_only_fallback=True) as history:
        found = (history.read_only, history.rows(), history.notice)
    notice = f"cannot write {path} (unable to open database file): reading it read-only"
    assert (True, [row(10, 0, 0)], notice) == found


@pytest.mark.usefixtures("unwritable")
def test_a_read_only_history_refuses_writes(path: Path) -> None:
    """Writing to a history opened read-only raises HistoryError, naming the file."""
    with History.open(path, read_only_fallback=True) as history, pytest.raises(HistoryError, match="read-only"):
        history.record([obs(11, 1)])


@pytest.mark.usefixtures("unwritable")
def test_without_the_fallback_an_unwritable_history_is_an_error(path: Path) -> None:
    """The readings' open (no fallback) still reports the file it cannot write."""
    with pytest.raises(HistoryError, match="unable to open database file"):
        History.open(path)


# --- retention -----------------------------------------------------------------------------------------


def test_prune_deletes_rows_last_seen_before_the_retention(history: History) -> None:
    """prune(now) deletes rows last seen over a year before now, keeping a long run still seen."""
    year = DEFAULT_RETENTION_DAYS * 24 * 60
    history.import_rows([row(1, 0, 0), row(2, 1, year + 2), row(3, 0, 0, key="seven_day")])
    assert (2, [row(2, 1, year + 2)]) == (history.prune(at(year + 1)), history.rows())


def test_retention_is_configurable(path: Path) -> None:
    """retention_days=30 keeps 30 days: a row last seen 30 days and a minute ago goes."""
    with History.open(path, retention_days=30) as history:
        history.import_rows([row(1, 0, 0), row(2, 1, 1)])
        assert (1, [row(2, 1, 1)]) == (history.prune(at(30 * 24 * 60 + 0.5)), history.rows())


def test_record_prunes_at_most_once_a_day(history: History) -> None:
    """Recording prunes against its newest reading, then not again until a day later."""
    ancient = row(1, -400 * 24 * 60, -400 * 24 * 60, key="seven_day")
    history.record([obs(10, 0)])
    history.import_rows([ancient])
    history.record([obs(11, 60)])
    kept = ancient in history.rows()
    history.record([obs(12, 24 * 60)])
    assert (True, False) == (kept, ancient in history.rows())


def test_retention_must_be_positive(path: Path) -> None:
    """retention_days below 1 is a ValueError."""
    with pytest.raises(ValueError, match="retention_days"):
        History.open(path, retention_days=0)


# --- import --------------------------------------------------------------------------------------------

SAMPLE = [
    row(10, 0, 5),
    row(0.1 + 0.2, 1, 1, key="limits.session", resets_at=None),
    row(20, 6, 9, source="statusline"),
    row(3, 2, 2, account="demo", source="demo"),
]


def test_import_twice_adds_nothing(history: History) -> None:
    """The second import of the same rows adds none and changes nothing."""
    added = [history.import_rows(SAMPLE), history.import_rows(SAMPLE)]
    assert ([4, 0], sorted(SAMPLE, key=lambda r: r.observed_at)) == (added, history.rows())


def test_import_of_a_longer_run_extends_last_seen(history: History) -> None:
    """Importing a known row seen for longer moves its last_seen_at; a shorter one changes nothing."""
    history.import_rows([row(10, 0, 5)])
    added = history.import_rows([row(10, 0, 8), row(10, 0, 1)])
    assert (0, [row(10, 0, 8)]) == (added, history.rows())


def test_export_then_import_into_another_history_copies_it(path: Path, tmp_path: Path) -> None:
    """CSV out of one history and into another gives the same rows."""
    with History.open(path) as source:
        source.record([obs(10, 0), obs(10, 1), obs(20, 2), obs(5, 3, key="ключ", resets_at=None)])
        expected = source.rows()
    out = tmp_path / "export.csv"
    with out.open("w", encoding="utf-8", newline="") as f:
        rows_to_csv(expected, f)
    with History.open(tmp_path / "other" / "history.sqlite3") as target, out.open(encoding="utf-8", newline="") as f:
        assert (3, expected) == (target.import_rows(rows_from_csv(f)), target.rows())


# --- formats -------------------------------------------------------------------------------------------

EXPECTED_CSV = """\
account,key,utilization,resets_at,source,observed_at,last_seen_at
a-0123abcd4567ef89,five_hour,10.0,2026-11-24T17:00:00+00:00,api,2026-11-24T12:00:00+00:00,2026-11-24T12:05:00+00:00
a-0123abcd4567ef89,limits.session,0.30000000000000004,,api,2026-11-24T12:01:00+00:00,2026-11-24T12:01:00+00:00
a-0123abcd4567ef89,five_hour,20.0,2026-11-24T17:00:00+00:00,statusline,2026-11-24T12:06:00+00:00,2026-11-24T12:09:00+00:00
demo,five_hour,3.0,2026-11-24T17:00:00+00:00,demo,2026-11-24T12:02:00+00:00,2026-11-24T12:02:00+00:00
"""


def test_csv_export_format(tmp_path: Path) -> None:
    """The documented columns, times ISO with offset, empty resets_at for none, floats as repr."""
    out = io.StringIO(newline="")
    count = rows_to_csv(SAMPLE, out)
    assert (4, EXPECTED_CSV) == (count, out.getvalue())


def test_csv_round_trip_is_exact(tmp_path: Path) -> None:
    """Odd floats, unicode and CSV-special keys, microseconds and None survive a file round trip."""
    rows = [
        *SAMPLE,
        row(1 / 3, 0.001, 0.002, key='限制 "quoted", with\nnewline', resets_at=None),
        row(2.5, 3, 4, key="carriage\rreturn\r\nand crlf"),
        row(5e-324, 7, 7, account="ü-account", resets_at=at(0.0000001)),
    ]
    out = tmp_path / "rows.csv"
    with out.open("w", encoding="utf-8", newline="") as f:
        rows_to_csv(rows, f)
    with out.open(encoding="utf-8", newline="") as f:
        assert rows == list(rows_from_csv(f))


_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=12)


@st.composite
def _rows(draw: st.DrawFn) -> Row:
    first = draw(strategies.aware_datetimes())
    last = first + draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)))
    utilization = draw(st.floats(allow_nan=False, allow_infinity=False))
    resets_at = draw(st.none() | strategies.aware_datetimes())
    return Row(draw(_text), draw(_text), utilization, resets_at, draw(_text), first, last)


@given(st.lists(_rows(), max_size=5))
def test_csv_round_trip_of_any_rows(rows: list[Row]) -> None:
    """Whatever rows are written, reading the CSV back gives them again."""
    out = io.StringIO(newline="")
    rows_to_csv(rows, out)
    assert rows == list(rows_from_csv(io.StringIO(out.getvalue(), newline="")))


def test_csv_import_accepts_z_a_bom_and_blank_lines() -> None:
    """A BOM before the header, `Z` times and blank lines (a spreadsheet's save) read fine."""
    text = "\ufeff" + ",".join(CSV_COLUMNS) + "\n\ndemo,five_hour,1,,demo,2026-11-24T12:00:00Z,2026-11-24T12:00:00Z\n"
    assert [row(1, 0, 0, account="demo", source="demo", resets_at=None)] == list(rows_from_csv(io.StringIO(text)))


GOOD = "demo,five_hour,1.0,,demo,2026-11-24T12:00:00+00:00,2026-11-24T12:00:00+00:00"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("demo,five_hour,lots,,demo,2026-11-24T12:00:00+00:00,2026-11-24T12:00:00+00:00", "not a number"),
        ("demo,five_hour,nan,,demo,2026-11-24T12:00:00+00:00,2026-11-24T12:00:00+00:00", "finite"),
        ("demo,five_hour,1.0,,demo,2026-11-24T12:00:00+00:00", "expected 7 fields, found 6"),
        ("demo,five_hour,1.0,,demo,noon,2026-11-24T12:00:00+00:00", "observed_at"),
        ("demo,five_hour,1.0,soon,demo,2026-11-24T12:00:00+00:00,2026-11-24T12:00:00+00:00", "resets_at"),
        ("demo,five_hour,1.0,,demo,2026-11-24T12:00:00+00:00,", "last_seen_at"),
        ("demo,five_hour,1.0,,demo,2026-11-24T12:00:00+00:00,2026-11-24T11:00:00+00:00", "before observed_at"),
        (",five_hour,1.0,,demo,2026-11-24T12:00:00+00:00,2026-11-24T12:00:00+00:00", "account"),
        ('demo,"five_hour,1.0', "unexpected end of data"),
    ],
    ids=["word", "nan", "short", "bad-time", "bad-reset", "no-last-seen", "backwards", "no-account", "open-quote"],
)
def test_malformed_csv_line_is_named(tmp_path: Path, line: str, problem: str) -> None:
    """A malformed line is a CommandLineError naming the file, the line and what is wrong."""
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{','.join(CSV_COLUMNS)}\n{GOOD}\n{line}\n", encoding="utf-8")
    with bad.open(encoding="utf-8", newline="") as f, pytest.raises(CommandLineError) as caught:
        list(rows_from_csv(f))
    assert (f"{bad}, line 3: ", True) == (str(caught.value)[: len(str(bad)) + 10], problem in str(caught.value))


def test_csv_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    """Latin-1 bytes in a file read as UTF-8 are a CommandLineError, not a UnicodeDecodeError."""
    bad = tmp_path / "latin1.csv"
    bad.write_bytes(f"{','.join(CSV_COLUMNS)}\n{GOOD}\n".replace("demo", "d\xe9mo").encode("latin-1"))
    with bad.open(encoding="utf-8", newline="") as f, pytest.raises(CommandLineError, match="not UTF-8 text"):
        list(rows_from_csv(f))


@pytest.mark.parametrize("text", ["", "account,key,utilization\n", "when,what\n" + GOOD + "\n"])
def test_csv_without_our_header_is_refused(text: str) -> None:
    """An empty file or another header is refused at line 1."""
    with pytest.raises(CommandLineError, match=r"^line 1: .*expected the header account,key,"):
        list(rows_from_csv(io.StringIO(text)))


def test_json_rows() -> None:
    """JSON rows carry the CSV's members, null for no reset, and floats that survive json."""
    expected = [
        {
            "account": ACCOUNT,
            "key": "limits.session",
            "utilization": 0.30000000000000004,
            "resets_at": None,
            "source": "api",
            "observed_at": "2026-11-24T12:01:00+00:00",
            "last_seen_at": "2026-11-24T12:01:00+00:00",
        }
    ]
    assert expected == json.loads(json.dumps(rows_to_json(SAMPLE[1:2])))


# --- many writers --------------------------------------------------------------------------------------


def race(path: Path, keys: list[str], count: int) -> list[tuple[str, str]]:
    """Start a worker per key on `path`, release them together; each one's (stdout, stderr)."""
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(path), key, str(count)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for key in keys
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert "ready\n" == proc.stdout.readline()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        return [proc.communicate(timeout=120) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


def test_four_processes_recording_at_once_lose_nothing(path: Path) -> None:
    """4 processes x 200 readings (each seen twice), released together on a missing file: all 800 rows, no errors."""
    keys = [f"window-{n}" for n in range(4)]
    assert [("done 200 -\n", "")] * 4 == race(path, keys, 200)
    with History.open(path) as history:
        found = history.rows()
    expected = [
        Row(r.account, r.key, r.utilization, r.resets_at, r.source, r.observed_at, r.observed_at + timedelta(seconds=1))
        for key in keys
        for r in (history_worker.reading(key, n) for n in range(200))
    ]
    assert sorted(expected, key=repr) == sorted(found, key=repr)


def test_processes_opening_a_corrupt_file_at_once_move_it_aside_once(path: Path) -> None:
    """Of 4 processes opening a corrupt file together, one moves it aside and reports it; all then record."""
    path.parent.mkdir(parents=True)
    path.write_bytes(b"junk" * 100)
    outputs = sorted(race(path, [f"window-{n}" for n in range(4)], 10))
    asides = [p.name for p in path.parent.iterdir() if ".corrupt-" in p.name]
    with History.open(path) as history:
        count = len(history.rows())
    assert ([("done 10 -\n", "")] * 3 + [("done 10 notice\n", "")], 1, 40) == (outputs, len(asides), count)
