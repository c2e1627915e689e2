"""Renderables of the dashboard: a frame in, Rich renderables out, laid out for the width given.

From 80 columns a roomy layout (one row per limit: label, bar, percent, reset); below that one column
of compact bars, readable down to 32 columns. No printing here; `dashboard.py` owns the terminal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Group
from rich.measure import Measurement
from rich.panel import Panel
from rich.text import Text

from claude_usage.core import fmt
from claude_usage.core.model import WindowKind

if TYPE_CHECKING:
    from datetime import datetime, tzinfo

    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult

    from claude_usage.core.model import ExtraUsage, Usage, Window
    from claude_usage.core.pace import Sample
    from claude_usage.insights import Insights

ROOMY_AT = 80
LEVEL_STYLES = {fmt.Level.CALM: "green", fmt.Level.WARNING: "yellow", fmt.Level.ALARM: "bold red"}
KEY_HINTS = "q quit · r refresh now"


@dataclass(frozen=True, slots=True, kw_only=True)
class Frame:
    """Everything one drawing of the dashboard shows, at one instant."""

    usage: Usage | None
    now: datetime
    tz: tzinfo
    plan: str | None = None
    demo: bool = False
    live: bool = False
    problem: str | None = None
    problem_kind: str | None = None
    notes: tuple[str, ...] = ()
    next_due: datetime | None = None
    cooling_until: datetime | None = None
    refreshing: bool = False
    updated_at: datetime | None = None  # when the freshest whole reading was taken
    insights: Insights | None = None  # pace, forecasts, trajectories, the binding limit
    show_sources: bool = True  # each number's source and age beside it


class Bar:
    """A progress bar of `fraction` (0-1) that fills the width it is given; the style follows the level."""

    def __init__(
        self, fraction: float, style: str, *, marker: float | None = None, min_width: int = 8, max_width: int = 60
    ) -> None:
        self.fraction = fraction
        self.style = style
        self.marker = marker  # where "on pace" would be, 0-1: drawn as a thin line across the bar
        self.min_width = min_width
        self.max_width = max_width

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.text(max(1, min(self.max_width, options.max_width)))

    def text(self, width: int) -> Text:
        """The bar drawn `width` cells wide."""
        filled = round(self.fraction * width)
        if self.fraction > 0 and filled == 0:
            filled = 1  # a used window never looks empty
        text = Text.assemble(("█" * filled, self.style), ("░" * (width - filled), "bright_black"))
        if self.marker is not None:
            at = min(width - 1, max(0, round(self.marker * width) - 1))
            text = (
                text[:at]
                + Text("│" if at >= filled else "┃", "bold white on black" if at < filled else "bold")
                + text[at + 1 :]
            )
        return text

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(self.min_width, self.max_width)


def _title(frame: Frame) -> Text:
    title = Text("Claude usage", style="bold")
    if frame.plan:
        title.append(f" · {frame.plan}", style="bold cyan")
    if frame.demo:
        title.append(" · DEMO", style="bold magenta")
    return title


def _percent(window: Window) -> Text:
    if window.reset_passed:
        return Text("–", "dim")
    text = fmt.percent_text(window.utilization) + ("?" if window.unconfirmed else "")
    return Text(text, style=LEVEL_STYLES[fmt.level(window.utilization)])


def _bar(window: Window, frame: Frame) -> Bar:
    if window.reset_passed:
        return Bar(0.0, "dim")
    on_pace = frame.insights.pace.get(window.key) if frame.insights else None
    marker = on_pace.elapsed_pct / 100 if on_pace else None
    return Bar(fmt.bar_fraction(window.utilization), LEVEL_STYLES[fmt.level(window.utilization)], marker=marker)


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(samples: list[Sample], start: datetime, now: datetime, width: int) -> str:
    """The window's trajectory from its start to now in `width` cells (the value held at each cell's end)."""
    if not samples or width <= 0 or now <= start:
        return ""
    step = (now - start) / width
    cells = []
    index, value = 0, None
    for cell in range(width):
        edge = start + step * (cell + 1)
        while index < len(samples) and samples[index].at <= edge:
            value = samples[index].pct
            index += 1
        cells.append(" " if value is None else SPARKS[min(7, max(0, int(value / 100 * 8 - 1e-9)))])
    return "".join(cells)


def _insight_line(window: Window, frame: Frame, spark_width: int) -> Text | None:
    """`▁▂▃▅▆ 12 points ahead of pace · limit at 16:40 — 1h20m before reset` under a limit, when known."""
    insights = frame.insights
    if insights is None or window.reset_passed:
        return None
    parts: list[str] = []
    on_pace = insights.pace.get(window.key)
    if on_pace is not None:
        parts.append(on_pace.text())
    forecast = insights.forecasts.get(window.key)
    said = forecast.text(frame.tz, frame.now) if forecast is not None else None
    if said:
        parts.append(said)
    samples = insights.trajectories.get(window.key) or []
    line = Text()
    if window.resets_at is not None and window.period is not None and len(samples) > 1 and spark_width > 0:
        # From the window's start, or from the first sample when the history begins later.
        start = max(window.resets_at - window.period, samples[0].at)
        line.append(sparkline(samples, start, frame.now, spark_width), "cyan")
        line.append(" ")
    if not parts and not line:
        return None
    line.append(" · ".join(parts), "italic")
    return line


def _subtext(window: Window, frame: Frame) -> str:
    parts = [fmt.reset_text(window, frame.now, frame.tz)]
    credit = fmt.credit_text(window) if window.kind == WindowKind.CREDIT else None
    if credit:
        parts.insert(0, credit)
    if window.unconfirmed:
        parts.append("unconfirmed")
    if frame.show_sources and window.observed_at is not None:
        parts.append(fmt.source_text(window.source, (frame.now - window.observed_at).total_seconds()))
    return " · ".join(parts)


def _extra_style(extra: ExtraUsage) -> str:
    if extra.is_enabled is False:
        return "bright_black"
    if extra.spend_limit_reached or extra.disabled_reason:
        return LEVEL_STYLES[fmt.Level.ALARM]
    return LEVEL_STYLES[fmt.level(extra.utilization or 0)]


_LABEL_MAX = 30
_PANEL_CHROME = 4  # border and padding of the panel
_MIN_BAR_ONE_LINE = 12


def _rows(usage: Usage, frame: Frame) -> list[tuple[str, Bar | None, Text, Text]]:
    """(label, bar, percent, subtext) per row: the limits, then usage credits."""
    rows: list[tuple[str, Bar | None, Text, Text]] = [
        (w.label, _bar(w, frame), _percent(w), Text(_subtext(w, frame), "dim")) for w in usage.windows
    ]
    extra = usage.extra_usage
    if extra is not None:
        style = _extra_style(extra)
        shown = extra.is_enabled is not False and extra.utilization is not None
        rows.append(
            (
                "Usage credits",
                Bar(fmt.bar_fraction(extra.utilization or 0), style) if shown else None,
                Text(fmt.percent_text(extra.utilization or 0), style) if shown else Text(""),
                Text(fmt.extra_usage_text(extra), style),
            )
        )
    return rows


def _cells(text: Text, width: int, *, right: bool = False) -> Text:
    """`text` cut with an ellipsis or padded to exactly `width` cells (right-aligned if asked)."""
    text = text.copy()
    text.no_wrap = True  # sized here: spares Rich the word-wrapping pass on every redraw
    text.truncate(max(0, width), overflow="ellipsis")
    gap = max(0, width - text.cell_len)
    if right:
        text.pad_left(gap)
    else:
        text.pad_right(gap)
    return text


def _roomy_limits(usage: Usage, frame: Frame, width: int) -> RenderableType:
    """One line per limit when the bar still gets 12 cells, else the reset text goes on a second line.

    Lines are assembled as plain Text (no tables): the dashboard redraws every second, and measuring
    tables costs most of that.
    """
    rows = _rows(usage, frame)
    label_w = min(_LABEL_MAX, max(len(label) for label, *_ in rows))
    sub_w = max(len(sub.plain) for *_, sub in rows)
    inner = width - _PANEL_CHROME
    one_line = inner - label_w - 5 - sub_w - 3 >= _MIN_BAR_ONE_LINE
    bar_w = max(1, inner - label_w - 5 - 2 - (sub_w + 1 if one_line else 0))
    parts: list[RenderableType] = []
    for index, (label, bar, pct, sub) in enumerate(rows):
        line = _cells(Text(label), label_w)
        line.append(" ")
        line.append_text(bar.text(bar_w) if bar is not None else Text(" " * bar_w))
        line.append(" ")
        line.append_text(_cells(pct, 5, right=True))
        if one_line:
            line.append(" ")
            line.append_text(_cells(sub, sub_w))
            parts.append(line)
        else:
            parts += [line, _cells(Text("  ").append_text(sub), inner)]
        if index < len(usage.windows):
            insight = _insight_line(usage.windows[index], frame, min(24, max(0, inner // 5)))
            if insight is not None:
                parts.append(_cells(Text("  ").append_text(insight), inner))
    return Group(*parts)


def _compact_limits(usage: Usage, frame: Frame, width: int) -> RenderableType:
    parts: list[RenderableType] = []
    for index, (label, bar, pct, sub) in enumerate(_rows(usage, frame)):
        head = _cells(Text(label, "bold"), max(1, width - pct.cell_len - 1))
        head.append(" ")
        head.append_text(pct)
        sub.overflow = "fold"
        parts += [head, bar.text(width), sub] if bar is not None else [head, sub]
        if index < len(usage.windows):
            insight = _insight_line(usage.windows[index], frame, 0)
            if insight is not None:
                insight.overflow = "fold"
                parts.append(insight)
    return Group(*parts)


def _blocking_line(frame: Frame) -> Text | None:
    """`Blocking: Current week (Sonnet only) — used up (100%) · frees up Mon 09:00`."""
    found = frame.insights.binding if frame.insights else None
    if found is None:
        return None
    line = Text("Blocking: ", "bold")
    line.append(found.label, "bold red")
    line.append(f" — {found.reason}")
    if found.free_at is not None and found.free_at > frame.now:
        line.append(f" · frees up {fmt.clock_time(found.free_at, frame.now, frame.tz)}")
    return line


def _status_lines(frame: Frame) -> list[Text]:
    lines: list[Text] = []
    now = frame.now
    blocking = _blocking_line(frame)
    if blocking is not None:
        lines.append(blocking)
    fetched = frame.updated_at
    if fetched is not None:
        line = Text(f"Updated {fetched.astimezone(frame.tz):%H:%M:%S}", "dim")
        if frame.problem is not None:
            age = fmt.duration(max(0.0, (now - fetched).total_seconds()))
            line = Text(f"Stale: last reading {fetched.astimezone(frame.tz):%H:%M:%S}, {age} ago", "yellow")
        lines.append(line)
    cooling = frame.cooling_until is not None and frame.cooling_until > now
    if cooling and frame.cooling_until is not None:
        wait = fmt.duration(fmt.seconds_until(frame.cooling_until, now))
        lines.append(Text(f"rate limited · next try in {wait}", "bold yellow"))
    if frame.live and frame.refreshing:
        lines.append(Text("refreshing…", "dim"))
    elif frame.live and frame.next_due is not None:
        wait = fmt.duration(fmt.seconds_until(frame.next_due, now))
        verb = (
            "next check"
            if frame.problem_kind == "auth"
            else "rate limited · next request"
            if cooling
            else "next reading"
        )
        lines.append(Text(f"{verb} in {wait} ({frame.next_due.astimezone(frame.tz):%H:%M:%S})", "dim"))
    if frame.problem and not (cooling and frame.problem_kind == "rate_limited"):
        lines.append(Text(f"⚠ {frame.problem}", "red" if frame.problem_kind == "auth" else "yellow"))
    lines.extend(Text(f"note: {note}", "cyan") for note in frame.notes)
    return lines


class Dashboard:
    """The whole screen for one frame: title, one bar per limit, usage credits, status, key hints."""

    def __init__(self, frame: Frame) -> None:
        self.frame = frame

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        frame = self.frame
        roomy = options.max_width >= ROOMY_AT
        body: list[RenderableType] = []
        usage = frame.usage
        if usage is None or (not usage.windows and usage.extra_usage is None and frame.updated_at is None):
            body.append(Text("Waiting for the first reading…" if frame.problem is None else "No reading yet.", "dim"))
        elif not usage.windows and usage.extra_usage is None:
            body.append(Text("No active limits", "bold"))
        else:
            if not usage.windows:
                body.append(Text("No active limits", "bold"))
            body.append(
                _roomy_limits(usage, frame, options.max_width)
                if roomy
                else _compact_limits(usage, frame, options.max_width)
            )
        status = _status_lines(frame)
        if status:
            body.append(Text(""))
            body.extend(status)
        if roomy:
            yield Panel(Group(*body), title=_title(frame), title_align="left", border_style="bright_black")
        else:
            yield _title(frame)
            yield Group(*body)
        if frame.live:
            yield Text(KEY_HINTS, "dim", overflow="ellipsis", no_wrap=True)
