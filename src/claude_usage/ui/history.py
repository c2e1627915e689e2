"""The Rich views of `claude-usage history`: the accounts, the windows running now and past, the weeks.

Windows carry Claude Code's titles (`Current session`, `Current week (all models)`); a window whose reset
is still ahead is shown under "Running now", never among the past ones.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, NamedTuple

from rich.table import Table
from rich.text import Text

from claude_usage.core.fmt import duration
from claude_usage.core.summary import running, summarise, window_title
from claude_usage.insights import samples_from_rows
from claude_usage.ui.widgets import sparkline

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime, tzinfo

    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult

    from claude_usage.adapters.history import Row
    from claude_usage.core.summary import WindowSummary

WEEKLY_KEYS = ("seven_day", "limits.weekly_all")
ROOMY = 80  # from this width one table per section; below it, a title line per window


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
    summaries = summarise(rows)
    names = {line.key: line.name for line in accounts}
    several = len({s.account for s in summaries}) > 1
    sections = (
        ("Running now", sorted((s for s in summaries if running(s, now)), key=_order)),
        ("Past windows", [s for s in summaries if not running(s, now)][-40:]),  # oldest first
    )
    out: list[RenderableType] = []
    for heading, members in sections:
        if not members:
            continue
        if out:
            out.append(Text(""))
        out.append(Text(heading, "bold"))
        if width >= ROOMY:
            out.append(_wide_table(members, tz, names if several else None))
        else:
            out += _narrow_groups(members, tz, names if several else None)
    weeks = [s for s in summaries if s.key in WEEKLY_KEYS and s.resets_at is not None]
    if weeks:
        out += [Text(""), Text("Weeks (all models)", "bold")]
        spark_width = max(8, min(56, width - 24))
        for week in weeks[-8:]:
            assert week.resets_at is not None  # noqa: S101 - filtered above
            start = week.resets_at - timedelta(days=7)
            mine = [r for r in rows if r.key == week.key and r.account == week.account and _same_window(r, week)]
            who = f"{names.get(week.account, week.account)} " if several else ""
            line = Text(f"{who}{_day(start, tz)}–{_day(week.resets_at, tz)} ", "dim")
            end = min(now, week.resets_at)
            line.append(sparkline(samples_from_rows(mine), start, end, spark_width), "cyan")
            line.append(f" {int(week.peak)}%")
            line.no_wrap = True
            line.overflow = "ellipsis"
            out.append(line)
    return out


def _order(summary: WindowSummary) -> tuple[str, int, str]:
    """Per account: the session first, then the week of all models, then the others by title (a stable sort)."""
    rank = {"five_hour": 0, "limits.session": 0, "seven_day": 1, "limits.weekly_all": 1}.get(summary.key, 2)
    return summary.account, rank, window_title(summary.key)


def _cells(summary: WindowSummary, tz: tzinfo) -> tuple[str, str, str]:
    """(reset, peak, time at the limit) as shown: the session's reset with its time, a week's by its day."""
    five_hourly = summary.key in ("five_hour", "limits.session")
    reset = _day(summary.resets_at, tz, clock=five_hourly) if summary.resets_at else "–"
    at_limit = duration(summary.at_limit.total_seconds()) if summary.at_limit else "–"
    return reset, f"{int(summary.peak)}%", at_limit


def _wide_table(summaries: list[WindowSummary], tz: tzinfo, names: dict[str, str] | None) -> Table:
    """One row per window: (account,) title, reset, peak, when it peaked, time at the limit."""
    table = Table(box=None, padding=(0, 1), pad_edge=False, expand=False, show_edge=False)
    if names is not None:
        table.add_column("Account", no_wrap=True, overflow="ellipsis", max_width=20)
    table.add_column("Window", no_wrap=True, overflow="ellipsis", max_width=34)
    table.add_column("Reset", no_wrap=True)
    table.add_column("Peak", justify="right", no_wrap=True)
    table.add_column("Peak at", no_wrap=True)
    table.add_column("At limit", justify="right", no_wrap=True)
    for summary in summaries:
        reset, peak, at_limit = _cells(summary, tz)
        who = [names.get(summary.account, summary.account)] if names is not None else []
        table.add_row(*who, window_title(summary.key), reset, peak, _day(summary.peak_at, tz, clock=True), at_limit)
    return table


def _narrow_groups(summaries: list[WindowSummary], tz: tzinfo, names: dict[str, str] | None) -> list[RenderableType]:
    """Under narrow widths: each window's title on its own line, then its windows' reset, peak, time at limit."""
    groups: dict[tuple[str, str], list[WindowSummary]] = {}
    for summary in sorted(summaries, key=_order):
        groups.setdefault((summary.account, window_title(summary.key)), []).append(summary)
    out: list[RenderableType] = []
    for index, ((account, title), members) in enumerate(groups.items()):
        head = Text(title, no_wrap=True, overflow="ellipsis")
        if names is not None:
            head.append(f" · {names.get(account, account)}", "dim")
        table = Table(box=None, padding=(0, 1), pad_edge=False, expand=False, show_edge=False, show_header=index == 0)
        table.add_column("", width=1)
        table.add_column("Reset", no_wrap=True, min_width=12)
        table.add_column("Peak", justify="right", no_wrap=True, min_width=4)
        table.add_column("At limit", justify="right", no_wrap=True, min_width=8)
        for summary in members:
            table.add_row("", *_cells(summary, tz))
        out += [head, table]
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
