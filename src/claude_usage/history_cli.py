"""`claude-usage history`: past windows, a chart of the weeks, and export/import of the raw samples.

    claude-usage history [--account KEY] [--since WHEN]
    claude-usage history export (--csv | --json) [--summary] [--account KEY] [--since WHEN]
    claude-usage history import FILE

WHEN is an ISO date or time (`2026-11-01`, `2026-11-01T09:00+01:00`) or a span back from now (`7d`, `12h`,
`2w`, `30m`). The CSV and JSON formats are documented in docs/history.md and stable.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, NoReturn

from claude_usage.errors import ClaudeUsageError, CommandLineError, ExitCode

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import tzinfo

    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult

    from claude_usage.adapters.history import History, Row
    from claude_usage.core.summary import WindowSummary

PROG = "claude-usage history"
_SPAN = re.compile(r"(\d+(?:\.\d+)?)\s*([mhdw])", re.IGNORECASE)
_UNITS = {"m": 60, "h": 3600, "d": 86_400, "w": 604_800}
WEEKLY_KEYS = ("seven_day", "limits.weekly_all")


def parse_since(text: str, now: datetime) -> datetime:
    """An aware UTC datetime from an ISO date/time or a span back from `now` (`7d`); CommandLineError else."""
    bad = CommandLineError(f"--since {text!r}: expected an ISO date such as 2026-11-01 or a span such as 7d")
    try:
        span = _SPAN.fullmatch(text.strip())
        if span:
            return now - timedelta(seconds=float(span.group(1)) * _UNITS[span.group(2).lower()])
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = when.astimezone()  # a bare date means the user's local midnight
        return when.astimezone(timezone.utc)
    except (ValueError, OverflowError):
        raise bad from None


def _parser() -> argparse.ArgumentParser:
    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> NoReturn:
            self.exit(ExitCode.COMMAND_LINE, f"{self.prog}: {message} (see --help)\n")

    def filters(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--account", metavar="KEY", help="only this account key (see `claude-usage --json`)")
        parser.add_argument("--since", metavar="WHEN", help="only from WHEN: an ISO date or a span such as 7d")

    parser = Parser(prog=PROG, description="Past usage windows: peaks, time at the limit, and the weeks.")
    filters(parser)
    sub = parser.add_subparsers(dest="action")
    export = sub.add_parser("export", help="write the stored samples (or window summaries) to stdout")
    fmt = export.add_mutually_exclusive_group(required=True)
    fmt.add_argument("--csv", action="store_true", help="CSV with a header row")
    fmt.add_argument("--json", action="store_true", help="a JSON array of objects")
    export.add_argument("--summary", action="store_true", help="one row per window instead of the raw samples")
    filters(export)
    imp = sub.add_parser("import", help="read a CSV export back (importing twice adds nothing)")
    imp.add_argument("file", metavar="FILE", help="a CSV written by `history export --csv` (- for stdin)")
    return parser


def main(argv: Sequence[str]) -> int:
    """Run `claude-usage history …`; returns the exit status."""
    try:
        args = _parser().parse_args(list(argv))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else ExitCode.COMMAND_LINE
    try:
        return _run(args)
    except ClaudeUsageError as exc:
        print(f"claude-usage: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        print(f"claude-usage: unexpected error ({type(exc).__name__}) in history", file=sys.stderr)
        return int(ExitCode.UNEXPECTED)


def _open() -> History:
    import os

    from claude_usage.adapters.history import History, history_path, retention_days

    history = History.open(history_path(os.environ), retention_days=retention_days(os.environ))
    if history.notice:
        print(f"claude-usage: {history.notice}", file=sys.stderr)
    return history


def _run(args: argparse.Namespace) -> int:
    now = datetime.now(timezone.utc)
    since = parse_since(args.since, now) if args.since else None
    if args.action == "import":
        return _import(args.file)
    with _open() as history:
        rows = history.rows(account=args.account, since=since)
    if args.action == "export":
        return _export(rows, csv_out=args.csv, summary=args.summary)
    return _show(rows, now)


def _export(rows: list[Row], *, csv_out: bool, summary: bool) -> int:
    from claude_usage.adapters.history import rows_to_csv, rows_to_json
    from claude_usage.core.summary import SUMMARY_COLUMNS, summarise, summary_json

    if not summary:
        if csv_out:
            rows_to_csv(rows, sys.stdout)
        else:
            json.dump(rows_to_json(rows), sys.stdout, indent=2, ensure_ascii=False, allow_nan=False)
            sys.stdout.write("\n")
        return 0
    documents = [summary_json(s) for s in summarise(rows)]
    if csv_out:
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=list(SUMMARY_COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in doc.items()} for doc in documents)
    else:
        json.dump(documents, sys.stdout, indent=2, ensure_ascii=False, allow_nan=False)
        sys.stdout.write("\n")
    return 0


def _import(file: str) -> int:
    from claude_usage.adapters.history import rows_from_csv

    try:
        if file == "-":
            sys.stdin.reconfigure(newline="")  # type: ignore[union-attr]  # quoted newlines must survive
        handle = sys.stdin if file == "-" else open(file, newline="", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise CommandLineError(f"cannot read {file}: {exc.strerror or exc}") from exc
    try:
        with _open() as history:
            added = history.import_rows(rows_from_csv(handle))
    finally:
        if handle is not sys.stdin:
            handle.close()
    print(f"imported {added} new row{'s' if added != 1 else ''} from {file}")
    return 0


def _show(rows: list[Row], now: datetime) -> int:
    from rich.console import Console

    console = Console(highlight=False)
    if console.width < 16:
        console = Console(highlight=False, width=80)
    console.print(HistoryView(rows, now, datetime.now().astimezone().tzinfo or timezone.utc))
    return 0


class HistoryView:
    """The summary table of past windows and the chart of the weeks, laid out for the width given."""

    def __init__(self, rows: list[Row], now: datetime, tz: tzinfo) -> None:
        self.rows = rows
        self.now = now
        self.tz = tz

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from _history_renderables(self.rows, self.now, self.tz, options.max_width)


def _history_renderables(rows: list[Row], now: datetime, tz: tzinfo, width: int) -> list[RenderableType]:
    from rich.table import Table
    from rich.text import Text

    from claude_usage.core.fmt import duration
    from claude_usage.core.summary import summarise
    from claude_usage.insights import samples_from_rows
    from claude_usage.ui.widgets import sparkline

    if not rows:
        return [
            Text("No history for this selection yet: readings are kept from the first time the monitor runs.", "dim")
        ]
    out: list[RenderableType] = [Text("Past windows", "bold")]
    summaries = summarise(rows)
    roomy = width >= 80
    several = len({s.account for s in summaries}) > 1
    table = Table(box=None, padding=(0, 1), expand=False, show_edge=False)
    if several:
        table.add_column("Account", no_wrap=True, overflow="ellipsis", max_width=20 if roomy else 8)
    table.add_column("Window", no_wrap=True, overflow="ellipsis", max_width=28 if roomy else 14)
    table.add_column("Reset", no_wrap=True)
    table.add_column("Peak", justify="right", no_wrap=True)
    if roomy:
        table.add_column("Peak at", no_wrap=True)
    table.add_column("At limit", justify="right", no_wrap=True)
    for summary in summaries[-40:]:
        five_hourly = summary.key in ("five_hour", "limits.session")
        reset = _day(summary.resets_at, tz, clock=five_hourly) if summary.resets_at else "–"
        cells = [*([summary.account] if several else []), summary.key, reset, f"{int(summary.peak)}%"]
        if roomy:
            cells.append(_day(summary.peak_at, tz, clock=True))
        cells.append(duration(summary.at_limit.total_seconds()) if summary.at_limit else "–")
        table.add_row(*cells)
    out.append(table)
    weeks = [s for s in summaries if s.key in WEEKLY_KEYS and s.resets_at is not None]
    if weeks:
        out += [Text(""), Text("Weeks (all models)", "bold")]
        spark_width = max(8, min(56, width - 24))
        for week in weeks[-8:]:
            assert week.resets_at is not None  # noqa: S101 - filtered above
            start = week.resets_at - timedelta(days=7)
            mine = [r for r in rows if r.key == week.key and r.account == week.account and _same_window(r, week)]
            line = Text(f"{_day(start, tz)}–{_day(week.resets_at, tz)} ", "dim")
            end = min(now, week.resets_at)
            line.append(sparkline(samples_from_rows(mine), start, end, spark_width), "cyan")
            line.append(f" {int(week.peak)}%")
            line.no_wrap = True
            line.overflow = "ellipsis"
            out.append(line)
    return out


def _same_window(row: Row, week: WindowSummary) -> bool:
    if row.resets_at is None or week.resets_at is None:
        return False
    return abs((row.resets_at - week.resets_at).total_seconds()) < 60


def _day(when: datetime | None, tz: tzinfo, *, clock: bool = False) -> str:
    if when is None:
        return "–"
    local = when.astimezone(tz)
    return f"{local:%b} {local.day} {local:%H:%M}" if clock else f"{local:%b} {local.day}"
