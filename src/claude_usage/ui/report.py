"""The Rich views of `claude-usage report`: the table (laid out for the width, with a totals row) and the
scan's progress bar on stderr.

Wide (≥ WIDE columns): every token column in full and the models; medium (≥ MEDIUM): every token column,
compact (`1.2M`); narrow: the period, the total tokens and the cost, which stays readable at 60 columns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from claude_usage.core.pricing import usd

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult

    from claude_usage.core.reports import Block, OfficialJoin, Report, Row, Tokens

WIDE = 120
MEDIUM = 80
TITLES = {
    "daily": "Daily",
    "weekly": "Weekly (from Monday)",
    "monthly": "Monthly",
    "session": "By session",
    "project": "By project",
    "model": "By model",
    "blocks": "5-hour blocks",
}
PERIOD = {
    "daily": "Day",
    "weekly": "Week of",
    "monthly": "Month",
    "session": "Session",
    "project": "Project",
    "model": "Model",
    "blocks": "Block start (UTC)",
}


def compact(count: int) -> str:
    """A token count in at most 6 characters: 950, 12.3k, 4.56M, 1.20B."""
    for scale, unit in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if count >= scale:
            value = count / scale
            return f"{value:.{2 if value < 10 else 1 if value < 100 else 0}f}{unit}"
    return str(count)


def dollars(units: int) -> str:
    """Cost units as dollars with cents: $1,234.56."""
    return f"${usd(units):,.2f}"


class ReportView:
    """A report as a table with a totals row, its title saying the zone, and notes on estimated prices."""

    def __init__(self, report: Report, timezone_name: str, join: OfficialJoin | None = None) -> None:
        self.report = report
        self.timezone_name = timezone_name
        self.join = join  # the history's official windows beside the blocks

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        report = self.report
        width = options.max_width
        zone = "" if report.kind in ("blocks", "session", "project", "model") else f" · {self.timezone_name}"
        title = f"{TITLES[report.kind]}{zone} · API list prices {report.table_version}"
        rows = [row for row in report.rows if row.block is None or not row.block.gap]
        if not rows:
            yield Text(f"{title}\nNo usage found in Claude Code's transcripts.")
            return
        table = Table(title=title, title_justify="left", show_footer=True, expand=False, pad_edge=False)
        short = report.kind in ("session", "blocks")
        first = PERIOD[report.kind]
        if width >= WIDE:
            fmt = _full
            columns = ["Input", "Output", "Cache write", "Cache read", "Total tokens"]
        elif width >= MEDIUM:
            fmt = compact
            columns = ["Input", "Output", "Cache w", "Cache r", "Total"]
        else:
            fmt = compact
            columns = ["Tokens"]
        show_models = width >= WIDE and report.kind not in ("model",)
        table.add_column(first, footer="Total", no_wrap=True, overflow="ellipsis", max_width=24 if short else None)
        if show_models:
            table.add_column("Models", overflow="fold", ratio=1)
        totals = _values(report.totals, fmt, len(columns))
        for name, foot in zip(columns, totals, strict=True):
            table.add_column(name, footer=foot, justify="right", no_wrap=True)
        table.add_column("Cost", footer=dollars(report.totals.cost), justify="right", no_wrap=True)
        join = self.join if report.kind == "blocks" else None
        if join is not None:
            table.add_column("Official", justify="right", no_wrap=True)
        eaten: list[str] = []
        for row in rows:
            cells = [_label(row, report.kind)]
            if show_models:
                cells.append(", ".join(_short_model(m) for m in row.models))
            cells.extend(_values(row.tokens, fmt, len(columns)))
            cells.append(dollars(row.tokens.cost))
            if join is not None and row.block is not None:
                cells.append(_official(join, row.block))
                found = join.apportionment(row.block)
                if found is not None:
                    eaten.append(f"{_label(row, report.kind).rstrip(' ●')}  {found.text()}")
            table.add_row(*cells, style="bold" if row.block is not None and row.block.active else None)
        yield table
        if join is not None:
            yield Text("Official: the API's 5-hour window at the block's time (peak %, reset UTC)", style="dim")
            for line in eaten[-5:]:
                yield Text(line)
        for name, pricing in sorted(report.pricing.items()):
            if pricing.status == "estimated":
                yield Text(f"* {name}: not in the price table; priced as {pricing.priced_as}", style="yellow")
            elif pricing.status == "unpriced":
                yield Text(f"* {name}: no price known; counted at $0", style="yellow")


def _official(join: OfficialJoin, block: Block) -> str:
    """`46% ↺14:00`: the peak of the official window overlapping the block and its reset (UTC); `–` for none."""
    from claude_usage.core.reports import iso_utc

    found = join.window(block)
    if found is None:
        return "–"
    return f"{found.peak:.0f}% ↺{iso_utc(found.resets_us)[11:16]}"


def _full(count: int) -> str:
    return f"{count:,}"


def _values(tokens: Tokens, fmt: object, columns: int) -> list[str]:
    assert callable(fmt)  # noqa: S101 - for the type checker
    if columns == 1:
        return [str(fmt(tokens.total))]
    return [str(fmt(v)) for v in (tokens.input, tokens.output, tokens.cache_write, tokens.cache_read, tokens.total)]


def _label(row: Row, kind: str) -> str:
    if kind == "blocks" and row.block is not None:
        text = row.period[:16].replace("T", " ")
        return f"{text} ●" if row.block.active else text
    if kind == "session":
        return row.period[:8] + "…" if len(row.period) > 12 else row.period
    return row.period


def _short_model(model: str) -> str:
    return model.removeprefix("claude-")


class ScanBar:
    """A transient progress bar on stderr for a long first scan: bytes read of bytes to read."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("reading transcripts"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._task = self._progress.add_task("scan", total=total)
        self._progress.start()

    def update(self, done: int) -> None:
        self._progress.update(self._task, completed=done)

    def close(self) -> None:
        self._progress.stop()
