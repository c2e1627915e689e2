"""`claude-usage history`: window summaries, the weeks chart at 40 and 100 columns, export and import."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from rich.console import Console

from claude_usage.adapters.history import History, Observation, Row, history_path
from claude_usage.commands.history import parse_since
from claude_usage.core.summary import summarise, window_title
from claude_usage.standin import StandIn
from claude_usage.ui.history import HistoryView
from tests.support.cli import run_cli, write_credentials
from tests.support.history_worker import locked

UTC = timezone.utc
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
WEEK_RESET = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def _row(key: str, pct: float, at: datetime, last: datetime | None = None, reset: datetime = WEEK_RESET) -> Row:
    return Row("a-1", key, pct, reset, "api", at, last or at)


def _week(start: datetime, reset: datetime) -> list[Row]:
    """A week climbing to 100 %, held there for two hours."""
    rows = [
        _row("seven_day", pct, start + timedelta(hours=20 * i), reset=reset) for i, pct in enumerate((5, 30, 60, 90))
    ]
    hit = start + timedelta(days=4)
    rows.append(_row("seven_day", 100.0, hit, hit + timedelta(hours=2), reset=reset))
    return rows


def test_summary_peak_when_and_time_at_the_limit() -> None:
    """A window's peak, the first time it was hit, and the time spent at 100 % come from its rows."""
    rows = _week(WEEK_RESET - timedelta(days=7), WEEK_RESET)
    (summary,) = summarise(rows)
    expected = (100.0, WEEK_RESET - timedelta(days=3), timedelta(hours=2), 5)
    assert expected == (summary.peak, summary.peak_at, summary.at_limit, summary.sightings)


def test_summary_splits_windows_by_reset() -> None:
    """Rows of two weeks make two summaries, oldest first."""
    rows = _week(WEEK_RESET - timedelta(days=14), WEEK_RESET - timedelta(days=7)) + _week(
        WEEK_RESET - timedelta(days=7), WEEK_RESET
    )
    assert [WEEK_RESET - timedelta(days=7), WEEK_RESET] == [s.resets_at for s in summarise(rows)]


@pytest.mark.parametrize("width", [40, 100])
def test_history_renders_within_the_width(width: int) -> None:
    """The summary and the weeks chart fit 40 and 100 columns and show the peak."""
    rows = _week(WEEK_RESET - timedelta(days=14), WEEK_RESET - timedelta(days=7)) + _week(
        WEEK_RESET - timedelta(days=7), WEEK_RESET
    )
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(HistoryView(rows, NOW, UTC))
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert width >= max(len(line) for line in out.splitlines())
    assert "Weeks (all models)" in out
    assert "100%" in out
    assert ("Peak at" in out) == (width >= 80)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", NOW - timedelta(days=7)),
        ("12h", NOW - timedelta(hours=12)),
        ("2w", NOW - timedelta(days=14)),
        ("2026-11-01T00:00:00+00:00", datetime(2026, 11, 1, tzinfo=UTC)),
    ],
)
def test_since_takes_a_span_or_a_date(text: str, expected: datetime) -> None:
    """--since reads spans back from now and ISO times."""
    assert expected == parse_since(text, NOW)


def _seed(env_home: Path) -> History:
    history = History.open(history_path({"CLAUDE_USAGE_DATA_DIR": str(env_home)}))
    observations = [
        Observation("a-1", "five_hour", 10.0, NOW + timedelta(hours=3), "api", NOW - timedelta(minutes=30)),
        Observation("a-1", "five_hour", 10.0, NOW + timedelta(hours=3), "api", NOW - timedelta(minutes=20)),
        Observation("a-1", "five_hour", 0.1 + 0.2, NOW + timedelta(hours=3), "statusline", NOW - timedelta(minutes=10)),
        Observation("a-1", "seven_day", 41.0, None, "api", NOW - timedelta(minutes=10)),
    ]
    history.record(observations)
    return history


def test_export_csv_has_the_documented_columns(tmp_path: Path) -> None:
    """`history export --csv` writes one line per stored row with the documented header."""
    _seed(tmp_path / "data").close()
    result = run_cli("history", "export", "--csv")
    assert 0 == result.code, result.stderr
    lines = list(csv.reader(io.StringIO(result.stdout)))
    assert ["account", "key", "utilization", "resets_at", "source", "observed_at", "last_seen_at"] == lines[0]
    assert 4 == len(lines)  # the unchanged value is one row


def test_export_import_round_trip_is_idempotent(tmp_path: Path) -> None:
    """Exported rows imported into an empty history come back exactly; importing twice adds nothing."""
    _seed(tmp_path / "data").close()
    exported = run_cli("history", "export", "--csv").stdout
    file = tmp_path / "export.csv"
    file.write_text(exported)
    other = {"CLAUDE_USAGE_DATA_DIR": str(tmp_path / "elsewhere")}
    first = run_cli("history", "import", str(file), env=other)
    second = run_cli("history", "import", str(file), env=other)
    assert (0, 0) == (first.code, second.code)
    assert "imported 3 new rows" in first.stdout
    assert "imported 0 new rows" in second.stdout
    assert exported == run_cli("history", "export", "--csv", env=other).stdout


def test_export_json_summary(tmp_path: Path) -> None:
    """`--json --summary` writes one object per window with its peak."""
    _seed(tmp_path / "data").close()
    result = run_cli("history", "export", "--json", "--summary")
    documents = json.loads(result.stdout)
    assert {("five_hour", 10.0), ("seven_day", 41.0)} == {(d["key"], d["peak"]) for d in documents}


def test_export_since_filters(tmp_path: Path) -> None:
    """--since 15m keeps only rows seen in the last fifteen minutes."""
    history = History.open(history_path({"CLAUDE_USAGE_DATA_DIR": str(tmp_path / "data")}))
    now = datetime.now(UTC)
    history.record([Observation("a-1", "five_hour", 5.0, None, "api", now - timedelta(hours=2))])
    history.record([Observation("a-1", "five_hour", 9.0, None, "api", now - timedelta(minutes=5))])
    history.close()
    documents = json.loads(run_cli("history", "export", "--json", "--since", "15m").stdout)
    assert [9.0] == [d["utilization"] for d in documents]


def test_import_of_a_malformed_file_names_the_line(tmp_path: Path) -> None:
    """A broken CSV is refused with exit 2 and the line number."""
    file = tmp_path / "bad.csv"
    file.write_text("account,key,utilization,resets_at,source,observed_at,last_seen_at\na,b,notanumber,,api,x,y\n")
    result = run_cli("history", "import", str(file))
    assert 2 == result.code
    assert "line 2" in result.stderr


def test_bad_since_is_a_command_line_error() -> None:
    """An unreadable --since exits 2 with one line."""
    result = run_cli("history", "--since", "last tuesday")
    assert 2 == result.code
    assert 1 == len(result.stderr.strip().splitlines())


def test_readings_land_in_the_history(home: Path) -> None:
    """A one-shot reading is recorded: the demo account's windows appear in the export."""
    assert 0 == run_cli("--demo", "--json").code
    keys = {d["key"] for d in json.loads(run_cli("history", "export", "--json", "--account", "demo").stdout)}
    assert {"five_hour", "seven_day", "seven_day_sonnet"} == keys


def test_a_reset_a_fraction_of_a_second_apart_is_the_same_window() -> None:
    """Resets at 14:59:59.94 (the API) and 15:00:00 (the status line) summarise as one window."""
    a = Row("a-1", "five_hour", 40.0, datetime(2026, 11, 27, 14, 59, 59, 943648, UTC), "api", NOW, NOW)
    b = Row("a-1", "five_hour", 41.0, datetime(2026, 11, 27, 15, 0, tzinfo=UTC), "statusline", NOW, NOW)
    assert [41.0] == [s.peak for s in summarise([a, b])]


@pytest.mark.parametrize("since", ["0001-01-01", "99999999999999d"])
def test_an_impossible_since_is_a_command_line_error(since: str) -> None:
    """Dates out of range are refused with exit 2, never a traceback."""
    result = run_cli("history", "--since", since)
    assert 2 == result.code
    assert "Traceback" not in result.stderr


def _damaged_history(data: Path) -> Path:
    """A real history of 3000 rows with garbage written over its middle page; its path."""
    path = history_path({"CLAUDE_USAGE_DATA_DIR": str(data)})
    with History.open(path) as history:
        history.record(
            Observation("a-1", f"window-{n % 7}", n % 97, None, "api", NOW + timedelta(minutes=n)) for n in range(3000)
        )
    data_bytes = bytearray(path.read_bytes())
    middle = len(data_bytes) // 4096 // 2 * 4096
    data_bytes[middle : middle + 4096] = b"\xde\xad\xbe\xef" * 1024
    path.write_bytes(bytes(data_bytes))
    return path


def test_a_damaged_history_never_stops_a_reading(home: Path, tmp_path: Path, standin: StandIn) -> None:
    """With damaged pages in the history, --json exits 0, says once that it moved the file aside, and keeps it."""
    write_credentials(home / ".claude")
    path = _damaged_history(tmp_path / "data")
    result = run_cli("--json", env={"CLAUDE_USAGE_API_URL": standin.url})
    asides = [p for p in path.parent.glob("history.sqlite3.corrupt-*") if not p.name.endswith(("-wal", "-shm"))]
    moved = [line for line in result.stderr.splitlines() if "moved it to" in line]
    assert (0, 1, 1) == (result.code, len(moved), len(asides))
    assert 78.0 == json.loads(result.stdout)["windows"][0]["utilization"]


def test_history_shows_after_a_damaged_history(tmp_path: Path) -> None:
    """`claude-usage history` on a damaged history moves it aside, says so and exits 0."""
    _damaged_history(tmp_path / "data")
    result = run_cli("history")
    assert (0, 1) == (result.code, result.stderr.count("moved it to"))


def test_a_locked_history_never_delays_a_reading(home: Path, tmp_path: Path, standin: StandIn) -> None:
    """With another process holding the history's write lock, --json answers within 3 s with the numbers."""
    write_credentials(home / ".claude")
    path = history_path({"CLAUDE_USAGE_DATA_DIR": str(tmp_path / "data")})
    History.open(path).close()
    with locked(path):
        started = time.monotonic()
        result = run_cli("--json", env={"CLAUDE_USAGE_API_URL": standin.url})
        took = time.monotonic() - started
    assert (0, 78.0) == (result.code, json.loads(result.stdout)["windows"][0]["utilization"])
    assert took < 3, f"took {took:.1f} s"


def test_a_reading_missed_under_a_lock_is_filed_by_the_next_run(home: Path, tmp_path: Path, standin: StandIn) -> None:
    """What a run could not file under another process's lock is filed by the next run, at its own time."""
    write_credentials(home / ".claude")
    path = history_path({"CLAUDE_USAGE_DATA_DIR": str(tmp_path / "data")})
    History.open(path).close()
    env = {"CLAUDE_USAGE_API_URL": standin.url}
    with locked(path):
        first = json.loads(run_cli("--json", env=env).stdout)["windows"][0]
    assert 0 == run_cli("--json", env=env).code
    with History.open(path) as history:
        filed = [(r.utilization, r.observed_at) for r in history.rows(key="five_hour")]
    assert [(78.0, datetime.fromisoformat(first["observed_at"]))] == filed


@contextmanager
def read_only_mount(directory: Path) -> Iterator[None]:
    """`directory` is a read-only bind mount of itself for the block, as after the kernel remounts a disk."""
    if sys.platform != "linux" or shutil.which("mount") is None:
        pytest.skip("read-only bind mounts need Linux's mount")
    where = str(directory)
    bind = subprocess.run(["mount", "--bind", where, where], capture_output=True, text=True, check=False)
    if bind.returncode:
        pytest.skip(f"cannot bind-mount here (root or CAP_SYS_ADMIN needed): {bind.stderr.strip()}")
    try:
        ro = subprocess.run(["mount", "-o", "remount,ro,bind", where], capture_output=True, text=True, check=False)
        if ro.returncode:
            pytest.skip(f"cannot remount read-only here: {ro.stderr.strip()}")
        yield
    finally:
        if subprocess.run(["umount", where], capture_output=True, check=False).returncode:
            subprocess.run(["umount", "-l", where], capture_output=True, check=True)


def _exported(result_stdout: str) -> list[tuple[str, str]]:
    return [(line["key"], line["utilization"]) for line in csv.DictReader(io.StringIO(result_stdout))]


def test_export_reads_a_history_on_a_read_only_disk(tmp_path: Path) -> None:
    """`history export --csv` prints every row of a history on a read-only mount (no -wal or -shm left)."""
    _seed(tmp_path / "data").close()
    with read_only_mount(tmp_path / "data"):
        result = run_cli("history", "export", "--csv")
    expected = [("five_hour", "10.0"), ("five_hour", "0.30000000000000004"), ("seven_day", "41.0")]
    assert (0, expected) == (result.code, _exported(result.stdout))


def test_export_reads_the_wal_left_on_a_read_only_disk(tmp_path: Path) -> None:
    """Rows still in the -wal of a history open when the disk went read-only are exported too."""
    history = _seed(tmp_path / "data")
    try:
        with read_only_mount(tmp_path / "data"):
            result = run_cli("history", "export", "--csv")
    finally:
        history.close()
    assert (0, 3) == (result.code, len(_exported(result.stdout)))


def test_history_shows_a_history_on_a_read_only_disk(tmp_path: Path) -> None:
    """`claude-usage history` shows a history on a read-only mount and says it reads it read-only."""
    _seed(tmp_path / "data").close()
    with read_only_mount(tmp_path / "data"):
        result = run_cli("history", "--account", "a-1", env={"COLUMNS": "100"})
    assert (0, True, True) == (result.code, "Past windows" in result.stdout, "read-only" in result.stderr)


ACCOUNT_UUID = "6a1e2b3c-0000-4000-8000-000000000001"
ORG_UUID = "b7d40000-0000-4000-8000-000000000002"
ACCOUNT_KEY = f"a-{ACCOUNT_UUID}_{ORG_UUID}"


def _log_in(home: Path) -> None:
    """Claude Code's credentials file for a Max 5x login that names its account and organization."""
    path = write_credentials(home / ".claude")
    body = json.loads(path.read_text())
    body["claudeAiOauth"].update(accountUuid=ACCOUNT_UUID, organizationUuid=ORG_UUID)
    path.write_text(json.dumps(body))


@pytest.fixture
def two_accounts(home: Path, standin: StandIn) -> None:
    """The history holds a reading of this login (the session at 78 %) and one of the demo (at about 57 %)."""
    _log_in(home)
    assert 0 == run_cli("--json", env={"CLAUDE_USAGE_API_URL": standin.url}).code
    assert 0 == run_cli("--demo", "--json").code


def _history(*args: str) -> str:
    result = run_cli("history", *args, env={"COLUMNS": "100"})
    assert 0 == result.code, result.stderr
    return result.stdout


def _peaks(out: str) -> set[str]:
    """The session peaks the table shows (the demo's is 57–59 %)."""
    return {peak for peak in ("78%", "57%", "58%", "59%") if peak in out}


@pytest.mark.usefixtures("two_accounts")
def test_history_shows_the_account_logged_in_by_default() -> None:
    """Without --account, `history` shows this login's windows, not the demo's."""
    assert {"78%"} == _peaks(_history())


@pytest.mark.usefixtures("two_accounts")
def test_history_lists_the_accounts_with_plan_and_short_key() -> None:
    """The accounts are listed with their plan and a short key, the shown one marked, the demo as DEMO."""
    lines = [line.split() for line in _history().splitlines()[:3]]
    assert [["Accounts"], ["▸", "Max", "5x", "a-6a1e2b3c…"], ["DEMO", "demo"]] == lines


@pytest.mark.usefixtures("two_accounts")
def test_history_account_all_shows_every_account() -> None:
    """`--account all` shows both accounts' windows, each named by its short key or DEMO."""
    out = _history("--account", "all")
    assert (True, True, True) == ("78%" in out, len(_peaks(out)) == 2, "DEMO " in out.split("Running now")[1])


@pytest.mark.usefixtures("two_accounts")
def test_history_account_takes_the_short_key_shown() -> None:
    """`--account a-6a1e2b3c…` (as listed) or any prefix of one key picks that account."""
    assert [{"78%"}, {"78%"}] == [_peaks(_history("--account", key)) for key in ("a-6a1e2b3c…", "a-6a")]


def test_an_account_prefix_of_several_keys_is_refused(tmp_path: Path) -> None:
    """A prefix naming two accounts exits 2 and lists them."""
    with History.open(history_path({"CLAUDE_USAGE_DATA_DIR": str(tmp_path / "data")})) as history:
        history.record(Observation(key, "five_hour", 5.0, None, "api", NOW) for key in ("a-11", "a-12"))
    result = run_cli("history", "--account", "a-1")
    assert (2, True) == (result.code, "a-11, a-12" in result.stderr)


@pytest.mark.usefixtures("two_accounts")
def test_export_writes_every_account_by_default() -> None:
    """`history export` is unchanged: without --account it writes every account's rows."""
    rows = json.loads(run_cli("history", "export", "--json").stdout)
    assert {ACCOUNT_KEY, "demo"} == {row["account"] for row in rows}


def test_two_demo_launches_share_their_windows() -> None:
    """Two demo launches file their readings in the same session and week windows."""
    for _ in range(2):
        assert 0 == run_cli("--demo", "--json").code
    summary = json.loads(run_cli("history", "export", "--json", "--summary", "--account", "demo").stdout)
    assert ["five_hour", "seven_day", "seven_day_sonnet"] == sorted(window["key"] for window in summary)


def _session(pct: float, at: datetime, reset: datetime, last: datetime | None = None) -> Row:
    return _row("five_hour", pct, at, last, reset=reset)


def _running_and_past() -> list[Row]:
    """A session that reset at 11:00 (at 100 % for 1h20m), one running until 14:11, and two weeks, one running."""
    return [
        _session(100.0, NOW - timedelta(hours=3), NOW - timedelta(hours=1), NOW - timedelta(hours=1, minutes=40)),
        _session(37.0, NOW - timedelta(minutes=30), NOW + timedelta(hours=2, minutes=11)),
        *_week(WEEK_RESET - timedelta(days=7), WEEK_RESET),
        _row("seven_day", 12.0, NOW - timedelta(hours=2), reset=WEEK_RESET + timedelta(days=7)),
    ]


def _render(rows: list[Row], width: int) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(HistoryView(rows, NOW, UTC))
    out: str = console.file.getvalue()  # type: ignore[attr-defined]
    return out


@pytest.mark.parametrize("width", [40, 100])
def test_running_windows_are_shown_apart_from_past_ones(width: int) -> None:
    """The session resetting at 14:11 is under "Running now", and "Past windows" holds only ended ones."""
    _, _, rest = _render(_running_and_past(), width).partition("Running now")
    running, _, past = rest.partition("Past windows")
    found = ("Nov 27 14:11" in running, "Nov 27 14:11" in past, "Nov 27 11:00" in past, "Dec 4" in running)
    assert (True, False, True, True) == found


@pytest.mark.parametrize("width", [40, 100])
def test_windows_carry_claude_code_titles(width: int) -> None:
    """Windows are titled as Claude Code titles them, never by their API keys, and fit the width."""
    out = _render(_running_and_past(), width)
    found = ("Current session" in out, "Current week (all models)" in out, "five_hour" in out, "seven_day" in out)
    assert (True, True, False, False) == found
    assert width >= max(len(line) for line in out.splitlines())


@pytest.mark.parametrize(
    ("key", "title"),
    [
        ("five_hour", "Current session"),
        ("seven_day", "Current week (all models)"),
        ("seven_day_sonnet", "Current week (Sonnet only)"),
        ("seven_day_cowork", "Current week (Cowork)"),
        ("limits.session", "Current session"),
        ("limits.weekly_all", "Current week (all models)"),
        ("limits.weekly_scoped.claude-opus-4", "Current week (claude-opus-4)"),
        ("cinder_cove", "Claude Code and Cowork credit"),
    ],
)
def test_window_titles_follow_the_parser(key: str, title: str) -> None:
    """A stored key gets the title the parser gives its window."""
    assert title == window_title(key)
