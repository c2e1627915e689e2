"""The Rich views of `claude-usage history`: the table of past windows and the chart of the weeks."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, NamedTuple

from rich.table import Table
from rich.text import Text

from claude_usage.core.fmt import duration
from claude_usage.core.summary import summarise
from claude_usage.insights import samples_from_rows
from claude_usage.ui.widgets import sparkline

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime, tzinfo

    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult

    from claude_usage.adapters.history import Row
    from claude_usage.core.summary import WindowSummary

WEEKLY_KEYS = ("seven_day", "limits.weekly_all")


class AccountLine(NamedTuple):
    """One account in the history: its key, short key, plan (or DEMO), whether shown, its name in tables."""

    key: str
    short: str
    plan: str
    shown: bool
    name: str


class HistoryView:
    """The accounts, the summary table of past windows and the chart of the weeks, laid out for the width."""

    def __init__(self, rows: list[Row], now: datetime, tz: tzinfo, *, accounts: Sequence[AccountLine] = ()) -> None:
        self.rows = rows
        self.now = now
        self.tz = tz
        self.accounts = accounts

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from _accounts_renderables(self.accounts)
        yield from _history_renderables(self.rows, self.now, self.tz, options.max_width, self.accounts)


def _accounts_renderables(accounts: Sequence[AccountLine]) -> list[RenderableType]:
    """`▸ Max 5x  a-6a1e2b3c…` per account, the shown ones marked; a hint to see the others."""
    if not accounts:
        return []
    table = Table(box=None, padding=(0, 1), pad_edge=False, show_header=False, show_edge=False, expand=False)
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True, overflow="ellipsis", max_width=16)
    table.add_column(no_wrap=True)
    for line in accounts:
        table.add_row("▸" if line.shown else " ", line.plan, line.short, style=None if line.shown else "dim")
    out: list[RenderableType] = [Text("Accounts", "bold"), table]
    if not all(line.shown for line in accounts):
        out.append(Text("--account KEY or all: see the others", "dim"))
    out.append(Text(""))
    return out


def _history_renderables(
    rows: list[Row], now: datetime, tz: tzinfo, width: int, accounts: Sequence[AccountLine] = ()
) -> list[RenderableType]:
    if not rows:
        return [
            Text("No history for this selection yet: readings are kept from the first time the monitor runs.", "dim")
        ]
    out: list[RenderableType] = [Text("Past windows", "bold")]
    summaries = summarise(rows)
    roomy = width >= 80
    names = {line.key: line.name for line in accounts}
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
        account = names.get(summary.account, summary.account)
        cells = [*([account] if several else []), summary.key, reset, f"{int(summary.peak)}%"]
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
