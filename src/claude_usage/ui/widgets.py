"""Renderables of the dashboard: a frame in, screen rows out, laid out for the width and height given.

From 80 columns a roomy layout in a border (one row per limit: label, bar, percent, reset); below that one
column of compact bars, readable down to 32 columns. Every line is a `Row`, a hashable value (its text
parts, styles and widths) drawing exactly one line of the width given: the live loop (`dashboard.py`)
compares rows and sends only the changed ones through Rich. Long text breaks between ` · `-separated
pieces, else between words, never leaving a separator at a line's end.

When the height runs short, detail goes first (sparklines, insight lines, each number's source, the blank
line, the narrow bars), then rows by priority (notes, the title, limits from the last, the blocking line,
problems); the footer (Updated, the countdowns, the keys) and the border stay. Text from servers reaches
the terminal without control characters. No printing here; `dashboard.py` owns the terminal.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

from rich.cells import cell_len
from rich.segment import Segment
from rich.text import Text

from claude_usage.core import fmt
from claude_usage.core.model import WindowKind
from claude_usage.ui.rows import SEPARATOR, Cell, Part, Row, clean, wrap

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import datetime, tzinfo

    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.style import Style

    from claude_usage.core.apportion import Share, WindowUsage
    from claude_usage.core.model import ExtraUsage, Usage, Window
    from claude_usage.core.pace import Sample
    from claude_usage.insights import Insights

ROOMY_AT = 80
LEVEL_STYLES = {fmt.Level.CALM: "green", fmt.Level.WARNING: "yellow", fmt.Level.ALARM: "bold red"}
KEY_HINTS = "q quit · r refresh now"
BORDER = "bright_black"


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
    request_allowed_at: datetime | None = None  # after `r` within the budget's spacing: when a request may go
    account: str | None = None  # the account's name in the title, when several are shown
    hints: bool = True  # a live frame's key hints (a stack of accounts shows them once, under the last)
    window_usage: WindowUsage | None = None  # the usage panel: the current 5-hour window's local usage


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
        return Text.assemble(*self.parts(width))

    def parts(self, width: int) -> tuple[Part, ...]:
        """The bar `width` cells wide, as parts."""
        return _bar_parts(self.fraction, self.style, self.marker, width)


@lru_cache(maxsize=256)
def _bar_parts(fraction: float, style: str, marker: float | None, width: int) -> tuple[Part, ...]:
    filled = round(fraction * width)
    if fraction > 0 and filled == 0:
        filled = 1  # a used window never looks empty
    full, empty = (style, "█"), (BORDER, "░")
    if marker is None:
        runs = [(full, filled), (empty, width - filled)]
    else:
        at = min(width - 1, max(0, round(marker * width) - 1))
        if at < filled:
            mark = ("bold white on black", "┃")
            runs = [(full, at), (mark, 1), (full, filled - at - 1), (empty, width - filled)]
        else:
            mark = ("bold", "│")
            runs = [(full, filled), (empty, at - filled), (mark, 1), (empty, width - at - 1)]
    return tuple((char * count, style) for (style, char), count in runs if count > 0)


SPARKS = "▁▂▃▄▅▆▇█"
_SAMPLE_TIMES: dict[int, tuple[Sequence[Sample], list[datetime]]] = {}


def _times(samples: Sequence[Sample]) -> list[datetime]:
    """The samples' times, kept while the same trajectory is drawn (a trajectory is never changed)."""
    found = _SAMPLE_TIMES.get(id(samples))
    if found is not None and found[0] is samples:
        return found[1]
    if len(_SAMPLE_TIMES) >= 16:
        _SAMPLE_TIMES.clear()
    times = [sample.at for sample in samples]
    _SAMPLE_TIMES[id(samples)] = (samples, times)
    return times


def sparkline(samples: Sequence[Sample], start: datetime, now: datetime, width: int) -> str:
    """The window's trajectory from its start to now in `width` cells (the value held at each cell's end)."""
    if not samples or width <= 0 or now <= start:
        return ""
    step = (now - start) / width
    times = _times(samples)
    cells = []
    for cell in range(width):
        seen = bisect_right(times, start + step * (cell + 1))
        value = samples[seen - 1].pct if seen else None
        cells.append(" " if value is None else SPARKS[min(7, max(0, int(value / 100 * 8 - 1e-9)))])
    return "".join(cells)


class Detail(NamedTuple):
    """What a layout shows beyond the numbers; dropped in this order when the height runs short."""

    sparklines: bool = True
    insights: bool = True
    sources: bool = True
    blank: bool = True  # between the limits and the status
    bars: bool = True  # the narrow layout's bar rows
    panel: bool = True  # the usage panel (the current window's tokens, cost, burn rate, who ate it): first to go


DETAILS = (
    Detail(),
    Detail(panel=False),
    Detail(panel=False, sparklines=False),
    Detail(panel=False, sparklines=False, insights=False),
    Detail(panel=False, sparklines=False, insights=False, sources=False),
    Detail(panel=False, sparklines=False, insights=False, sources=False, blank=False),
    Detail(panel=False, sparklines=False, insights=False, sources=False, blank=False, bars=False),
)

# Row priorities: when even the plainest layout is too tall, the lowest go first (the later of equals first).
NOTE, TITLE, LIMIT, BLOCKING, PROBLEM, KEEP = range(6)
PANEL = NOTE - 1

_LABEL_MAX = 30
_PANEL_CHROME = 4  # border and padding of the panel
_MIN_BAR_ONE_LINE = 12
_SPACE = Cell(((" ", ""),), 1)
_BOX = ("╭", "─", "╮", "│", "╰", "╯")
_ASCII_BOX = ("+", "-", "+", "|", "+", "+")


def _title(frame: Frame) -> tuple[Part, ...]:
    parts: list[Part] = [("Claude usage", "bold")]
    if frame.account:
        parts.append((f" · {clean(frame.account)}", "bold"))
    if frame.plan:
        parts.append((f" · {clean(frame.plan)}", "bold cyan"))
    if frame.demo:
        parts.append((" · DEMO", "bold magenta"))
    return tuple(parts)


def _percent(window: Window) -> Part:
    """The number as received, also when its reset has passed (the server has not rolled the window yet)."""
    text = fmt.percent_text(window.utilization) + ("?" if window.unconfirmed else "")
    return text, _level_style(window)


def _level_style(window: Window) -> str:
    observed, resets = window.observed_at, window.resets_at
    if window.reset_passed and observed is not None and resets is not None and observed < resets:
        return "dim"  # observed before the reset: a number from the window that has ended
    return LEVEL_STYLES[fmt.level(window.utilization)]


def _bar(window: Window, frame: Frame) -> Bar:
    on_pace = frame.insights.pace.get(window.key) if frame.insights and not window.reset_passed else None
    marker = on_pace.elapsed_pct / 100 if on_pace else None
    return Bar(fmt.bar_fraction(window.utilization), _level_style(window), marker=marker)


def _insight(window: Window, frame: Frame, spark_width: int) -> tuple[Part, ...]:
    """`▁▂▃▅▆ 12 points ahead of pace · limit at 16:40 — 1h20m before reset` under a limit, when known."""
    insights = frame.insights
    if insights is None or window.reset_passed:
        return ()
    said: list[str] = []
    on_pace = insights.pace.get(window.key)
    if on_pace is not None:
        said.append(on_pace.text())
    forecast = insights.forecasts.get(window.key)
    told = forecast.text(frame.tz, frame.now) if forecast is not None else None
    if told:
        said.append(told)
    samples = insights.trajectories.get(window.key) or []
    parts: list[Part] = []
    if window.resets_at is not None and window.period is not None and len(samples) > 1 and spark_width > 0:
        # From the window's start, or from the first sample when the history begins later.
        start = max(window.resets_at - window.period, samples[0].at)
        parts += [(sparkline(samples, start, frame.now, spark_width), "cyan"), (" ", "")]
    if not said and not parts:
        return ()
    parts.append((SEPARATOR.join(said), "italic"))
    return tuple(parts)


def _subtext(window: Window, frame: Frame, sources: bool) -> tuple[str, ...]:
    """The pieces under a limit: its reset (or credit amounts), `unconfirmed`, its source and age."""
    parts = ["resetting…" if window.reset_passed else fmt.reset_text(window, frame.now, frame.tz)]
    credit = fmt.credit_text(window) if window.kind == WindowKind.CREDIT else None
    if credit:
        parts.insert(0, credit)
    if window.unconfirmed:
        parts.append("unconfirmed")
    if sources and window.observed_at is not None:
        parts.append(fmt.source_text(window.source, (frame.now - window.observed_at).total_seconds()))
    return tuple(clean(part) for part in parts)


@lru_cache(maxsize=16)
def _extra_text(extra: ExtraUsage) -> str:
    return clean(fmt.extra_usage_text(extra))


def _extra_style(extra: ExtraUsage) -> str:
    if extra.is_enabled is False:
        return BORDER
    if extra.spend_limit_reached or extra.disabled_reason:
        return LEVEL_STYLES[fmt.Level.ALARM]
    return LEVEL_STYLES[fmt.level(extra.utilization or 0)]


class _Limit(NamedTuple):
    label: str
    bar: Bar | None
    percent: Part
    sub: tuple[str, ...]  # pieces, kept whole where they fit
    sub_style: str
    insight: tuple[Part, ...]

    @property
    def subtext(self) -> Part:
        return SEPARATOR.join(self.sub), self.sub_style


def _limits(usage: Usage, frame: Frame, detail: Detail, spark_width: int) -> list[_Limit]:
    """One entry per row: the limits, then usage credits."""
    sources = detail.sources and frame.show_sources
    found = [
        _Limit(
            clean(w.label),
            _bar(w, frame),
            _percent(w),
            _subtext(w, frame, sources),
            "dim",
            _insight(w, frame, spark_width if detail.sparklines else 0) if detail.insights else (),
        )
        for w in usage.windows
    ]
    extra = usage.extra_usage
    if extra is not None:
        style = _extra_style(extra)
        shown = extra.is_enabled is not False and extra.utilization is not None
        found.append(
            _Limit(
                "Usage credits",
                Bar(fmt.bar_fraction(extra.utilization or 0), style) if shown else None,
                (fmt.percent_text(extra.utilization or 0), style) if shown else ("", ""),
                (_extra_text(extra),),
                style,
                (),
            )
        )
    return found


Lines = list[tuple[tuple[Cell, ...], int]]  # the cells of each line inside the border, and its priority


def _roomy_limits(usage: Usage, frame: Frame, inner: int, detail: Detail) -> Lines:
    """One line per limit when the bar still gets 12 cells, else the reset text goes on a second line."""
    limits = _limits(usage, frame, detail, min(24, max(0, inner // 5)))
    label_w = min(_LABEL_MAX, max(cell_len(limit.label) for limit in limits))
    sub_w = max(cell_len(limit.subtext[0]) for limit in limits)
    one_line = inner - label_w - 5 - sub_w - 3 >= _MIN_BAR_ONE_LINE
    bar_w = max(1, inner - label_w - 5 - 2 - (sub_w + 1 if one_line else 0))
    lines: Lines = []
    for limit in limits:
        cells = [
            Cell(((limit.label, ""),), label_w),
            _SPACE,
            Cell(limit.bar.parts(bar_w) if limit.bar is not None else (), bar_w),
            _SPACE,
            Cell((limit.percent,), 5, right=True),
        ]
        if one_line:
            lines.append(((*cells, _SPACE, Cell((limit.subtext,), sub_w)), LIMIT))
        else:
            lines.append((tuple(cells), LIMIT))
            lines.append(((Cell((("  ", ""), limit.subtext), inner),), LIMIT))
        if limit.insight:
            lines.append(((Cell((("  ", ""), *limit.insight), inner),), LIMIT))
    return lines


def _narrow_limits(usage: Usage, frame: Frame, width: int, detail: Detail) -> Lines:
    lines: Lines = []
    for limit in _limits(usage, frame, detail, 0):
        pct_w = cell_len(limit.percent[0])
        head = (Cell(((limit.label, "bold"),), max(1, width - pct_w - 1)), _SPACE, Cell((limit.percent,), pct_w))
        lines.append((head, LIMIT))
        if limit.bar is not None and detail.bars:
            lines.append(((Cell(limit.bar.parts(width), width),), LIMIT))
        lines += _wrapped((limit.subtext,), width, LIMIT, pieces=limit.sub)
        if limit.insight:
            lines += _wrapped(limit.insight, width, LIMIT)
    return lines


def _wrapped(parts: Iterable[Part], width: int, priority: int, *, pieces: Sequence[str] = ()) -> Lines:
    return [((Cell(line, width),), priority) for line in wrap(parts, width, pieces=pieces)]


def _blocking(frame: Frame) -> tuple[Part, ...]:
    """`Blocking: Current week (Sonnet only) — used up (100%) · frees up Mon 09:00`."""
    found = frame.insights.binding if frame.insights else None
    if found is None:
        return ()
    parts: list[Part] = [("Blocking: ", "bold"), (clean(found.label), "bold red"), (f" — {clean(found.reason)}", "")]
    if found.free_at is not None and found.free_at > frame.now:
        parts.append((f"{SEPARATOR}frees up {fmt.clock_time(found.free_at, frame.now, frame.tz)}", ""))
    return tuple(parts)


def _status(frame: Frame, width: int) -> Lines:
    """Blocking, Updated or Stale, the countdowns, problems, notes: the footer stays whatever the height."""
    lines: Lines = []
    now = frame.now
    blocking = _blocking(frame)
    if blocking:
        lines += _wrapped(blocking, width, BLOCKING)
    fetched = frame.updated_at
    if fetched is not None:
        said = (f"Updated {fetched.astimezone(frame.tz):%H:%M:%S}", "dim")
        if frame.problem is not None:
            age = fmt.duration(max(0.0, (now - fetched).total_seconds()))
            said = (f"Stale: last reading {fetched.astimezone(frame.tz):%H:%M:%S}, {age} ago", "yellow")
        lines += _wrapped((said,), width, KEEP)
    cooling = frame.cooling_until is not None and frame.cooling_until > now
    if cooling and frame.cooling_until is not None:
        wait = fmt.duration(fmt.seconds_until(frame.cooling_until, now))
        lines += _wrapped(((f"rate limited · next try in {wait}", "bold yellow"),), width, KEEP)
    if frame.live and frame.refreshing:
        lines += _wrapped((("refreshing…", "dim"),), width, KEEP)
    elif frame.live and frame.next_due is not None:
        wait = fmt.duration(fmt.seconds_until(frame.next_due, now))
        verb = (
            "next check"
            if frame.problem_kind == "auth"
            else "rate limited · next request"
            if cooling
            else "next reading"
        )
        said = (f"{verb} in {wait} ({frame.next_due.astimezone(frame.tz):%H:%M:%S})", "dim")
        lines += _wrapped((said,), width, KEEP)
    allowed = frame.request_allowed_at
    if frame.live and allowed is not None and allowed > now and not cooling:  # cooling: said above
        said = (f"next request allowed in {fmt.seconds_until(allowed, now)} s", "yellow")
        lines += _wrapped((said,), width, KEEP)
    if frame.problem and not (cooling and frame.problem_kind == "rate_limited"):
        said = (f"⚠ {frame.problem}", "red" if frame.problem_kind == "auth" else "yellow")
        lines += _wrapped((said,), width, PROBLEM)
    for note in frame.notes:
        lines += _wrapped(((f"note: {note}", "cyan"),), width, NOTE)
    return lines


def _body(frame: Frame, width: int, roomy: bool, detail: Detail) -> Lines:
    usage = frame.usage
    if usage is None or (not usage.windows and usage.extra_usage is None and frame.updated_at is None):
        said = "Waiting for the first reading…" if frame.problem is None else "No reading yet."
        return _wrapped(((said, "dim"),), width, LIMIT)
    lines: Lines = []
    if not usage.windows:
        lines += _wrapped((("No active limits", "bold"),), width, LIMIT)
    if usage.windows or usage.extra_usage is not None:
        limits = _roomy_limits if roomy else _narrow_limits
        lines += limits(usage, frame, width, detail)
    return lines


class _Layout(NamedTuple):
    rows: list[Row]
    priorities: list[int]


def _money(usd: float) -> str:
    return f"${usd:,.2f}"


def _top(shares: Sequence[Share], limit: int = 3) -> str:
    from claude_usage.core.pricing import usd

    return SEPARATOR.join(f"{clean(s.name).removeprefix('claude-')} {_money(usd(s.cost))}" for s in shares[:limit])


def _panel(found: WindowUsage, width: int) -> Lines:
    """`This window: 1.23M tokens · $4.56 · 12.3k tok/min · $3.40/h (15 min)`, the top projects and models,
    and who ate the window when the history can tell."""
    from claude_usage.core.pricing import usd

    scope = "This window" if found.official else "Last 5 h"
    head = [
        f"{_count(found.tokens)} tokens",
        _money(usd(found.cost)),
        f"{_count(round(found.tokens_per_minute))} tok/min · {_money(found.usd_per_hour)}/h (15 min)",
    ]
    lines = _wrapped(((f"{scope}: ", "bold"), (SEPARATOR.join(head), "")), width, PANEL)
    if found.projects:
        lines += _wrapped((("Projects: ", "dim"), (_top(found.projects), "")), width, PANEL)
    if found.models:
        lines += _wrapped((("Models: ", "dim"), (_top(found.models), "")), width, PANEL)
    if found.apportionment is not None:
        lines += _wrapped(((found.apportionment.text(), "cyan"),), width, PANEL)
    return lines


def _count(count: int) -> str:
    for scale, unit in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if count >= scale:
            value = count / scale
            return f"{value:.{2 if value < 10 else 1 if value < 100 else 0}f}{unit}"
    return str(count)


def _layout(frame: Frame, width: int, detail: Detail, ascii_only: bool) -> _Layout:
    roomy = width >= ROOMY_AT
    inner = width - _PANEL_CHROME if roomy else width
    lines = _body(frame, inner, roomy, detail)
    if detail.panel and frame.window_usage is not None and frame.usage is not None:
        lines.append(((), PANEL))
        lines += _panel(frame.window_usage, inner)
    status = _status(frame, inner)
    if status and detail.blank:
        lines.append(((), LIMIT))
    lines += status
    rows: list[Row] = []
    priorities: list[int] = []
    if roomy:
        top_left, top, top_right, side, bottom_left, bottom_right = _ASCII_BOX if ascii_only else _BOX
        title = Cell(((" ", BORDER), *_title(frame), (" ", BORDER)), width - 4, fill=(top, BORDER))
        rows.append(Row((Cell(((top_left + top, BORDER),)), title, Cell(((top + top_right, BORDER),))), width))
        left, right = Cell(((side, BORDER), (" ", ""))), Cell(((" ", ""), (side, BORDER)))
        for cells, _ in lines:
            used = sum(cell.width or 0 for cell in cells)
            rows.append(Row((left, *cells, Cell((), max(0, inner - used)), right), width))
        rows.append(Row((Cell(((bottom_left + top * (width - 2) + bottom_right, BORDER),)),), width))
        priorities += [KEEP, *(priority for _, priority in lines), KEEP]
    else:
        rows.append(Row((Cell(_title(frame), width),), width))
        rows += [Row(cells, width) for cells, _ in lines]
        priorities += [KEEP if frame.account else TITLE, *(priority for _, priority in lines)]
    if frame.live and frame.hints:
        rows.append(Row((Cell(((KEY_HINTS, "dim"),), width),), width))
        priorities.append(KEEP)
    return _Layout(rows, priorities)


def layout(frame: Frame, width: int, height: int | None = None, *, ascii_only: bool = False) -> list[Row]:
    """The rows drawing `frame` at `width` columns, at most `height` of them (None: as many as it takes)."""
    width = max(1, width)
    found = _layout(frame, width, DETAILS[0], ascii_only)
    if height is None or len(found.rows) <= height:
        return found.rows
    for detail in DETAILS[1:]:
        found = _layout(frame, width, detail, ascii_only)
        if len(found.rows) <= height:
            return found.rows
    return _crop(found, max(0, height))


def _crop(found: _Layout, height: int) -> list[Row]:
    """The rows that fit: the lowest priorities dropped first, the later of equals first; the footer kept."""
    excess = len(found.rows) - height
    order = sorted(range(len(found.rows)), key=lambda i: (found.priorities[i], -i))
    dropped: set[int] = set()
    for index in order:
        if excess <= 0 or found.priorities[index] >= KEEP:
            break
        dropped.add(index)
        excess -= 1
    kept = [row for index, row in enumerate(found.rows) if index not in dropped]
    return kept[max(0, len(kept) - height) :] if height else []


def stacked(frames: Sequence[Frame], width: int, height: int | None = None, *, ascii_only: bool = False) -> list[Row]:
    """Several accounts' sections, one under the other, in at most `height` rows (None: as many as they take).

    Detail goes first in every section alike (as `layout` drops it); then each section gets a share of the
    height (the small ones what they need, the rest split evenly) and is cropped by priority; a section whose
    share cannot hold its title, its footer and a limit shrinks to one line (its name, its binding limit, else
    the fullest, and its problem), the later of such sections first. The key hints stay under the last section.
    """
    if len(frames) == 1:
        return layout(frames[0], width, height, ascii_only=ascii_only)
    width = max(1, width)
    hints = [Row((Cell(((KEY_HINTS, "dim"),), width),), width)] if frames[-1].live and frames[-1].hints else []
    frames = [replace(frame, hints=False) for frame in frames]
    room = None if height is None else max(0, height - len(hints))
    found = [_layout(frame, width, DETAILS[0], ascii_only) for frame in frames]
    for detail in DETAILS[1:]:
        if room is None or sum(len(section.rows) for section in found) <= room:
            break
        found = [_layout(frame, width, detail, ascii_only) for frame in frames]
    if room is None or sum(len(section.rows) for section in found) <= room:
        return [row for section in found for row in section.rows] + hints
    essential = [1 + sum(1 for p in section.priorities if p >= KEEP) for section in found]  # and a limit
    summaries: set[int] = set()
    while True:
        full = [i for i in range(len(frames)) if i not in summaries]
        shares = dict(
            zip(full, _shares([len(found[i].rows) for i in full], max(0, room - len(summaries))), strict=True)
        )
        short = [i for i in full if shares[i] < min(essential[i], len(found[i].rows))]
        if not short:
            break
        summaries.add(short[-1])
    rows: list[Row] = []
    for index, (frame, section) in enumerate(zip(frames, found, strict=True)):
        rows += [summary_row(frame, width)] if index in summaries else _crop(section, shares[index])
    return rows[:room] + hints


def _shares(needs: Sequence[int], height: int) -> list[int]:
    """`height` rows split between sections needing `needs`: the smallest take what they need, the rest evenly."""
    shares = [0] * len(needs)
    left = height
    order = sorted(range(len(needs)), key=lambda i: needs[i])
    for done, index in enumerate(order):
        shares[index] = min(needs[index], left // (len(needs) - done))
        left -= shares[index]
    return shares


def summary_row(frame: Frame, width: int) -> Row:
    """One line for an account: `work · Current session 78% · ⚠ problem` (the binding limit, else the fullest)."""
    parts: list[Part] = [(clean(frame.account or "Claude usage"), "bold")]
    usage = frame.usage
    binding = frame.insights.binding if frame.insights else None
    if usage is not None and usage.windows:
        shown = [w for w in usage.windows if binding is not None and w.key == binding.key]
        window = shown[0] if shown else max(usage.windows, key=lambda w: w.utilization)
        parts += [(f"{SEPARATOR}{clean(window.label)} ", ""), _percent(window)]
    if frame.problem:
        parts.append((f"{SEPARATOR}⚠ {frame.problem}", "red" if frame.problem_kind == "auth" else "yellow"))
    return Row((Cell(tuple(parts), width),), width)


class Stack:
    """Several accounts' frames stacked, one titled section each (`stacked`); drawn like a `Dashboard`."""

    def __init__(self, frames: Sequence[Frame], height: int | None = None) -> None:
        self.frames = tuple(frames)
        self.height = height

    def rows(self, width: int, height: int | None = None, *, ascii_only: bool = False) -> list[Row]:
        return stacked(self.frames, width, self.height if self.height is not None else height, ascii_only=ascii_only)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        height = options.height
        if height is None and any(frame.live for frame in self.frames):
            height = options.max_height

        def style_of(name: str) -> Style | None:
            return console.get_style(name) if name else None

        for row in self.rows(options.max_width, height, ascii_only=options.ascii_only):
            yield from row.segments(style_of)
            yield Segment.line()


class Dashboard:
    """The whole screen for one frame: title, one bar per limit, usage credits, status, key hints.

    A live frame fits the height it is given (else the console's); a one-shot frame takes what it needs.
    """

    def __init__(self, frame: Frame, height: int | None = None) -> None:
        self.frame = frame
        self.height = height

    def rows(self, width: int, height: int | None = None, *, ascii_only: bool = False) -> list[Row]:
        """The screen rows at `width` columns and at most `height` rows (this dashboard's own height first)."""
        return layout(self.frame, width, self.height if self.height is not None else height, ascii_only=ascii_only)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        height = options.height
        if height is None and self.frame.live:
            height = options.max_height

        def style_of(name: str) -> Style | None:
            return console.get_style(name) if name else None

        for row in self.rows(options.max_width, height, ascii_only=options.ascii_only):
            yield from row.segments(style_of)
            yield Segment.line()
