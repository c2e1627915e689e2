"""Who ate this window: an official 5-hour window's rise apportioned to projects and models.

Pure. In: the history's readings of one official window (time, utilization) and the local usage of the
transcripts (`UsageGroup`s by minute, project and model). Out: how many percentage points of the window's
rise each project and model explains, and how many no local log explains ("not in local logs": claude.ai,
other machines, other tools).

The method (docs/transcripts.md, "Who ate this window"):

1. The window runs from `resets_at - 5 h` to `resets_at`; a window starts at 0 %, so its start counts as a
   reading of 0. The readings are taken in time order, each lifted to the highest seen so far (a window's
   use never falls: a lower number is a slower source or rounding), and the window's rise is the last one.
2. Between two consecutive readings the rise is the difference. An interval in which the local logs have no
   usage at all is "not in local logs": nothing here ran while the limit grew.
3. The rest of the rise is split between the projects (and, separately, the models) in proportion to their
   cost at API list prices (core/pricing) in those intervals: the cost weights each token type as Anthropic
   prices it (an output token costs five input tokens, a cache read a tenth), the best public proxy for how
   much of a limit a token uses. Usage after the last reading is not yet in any reading and is left out.

So "not in local logs" is a lower bound: claude.ai used during a minute Claude Code also ran is counted as
the local projects'. It declines to answer (None) when the window has fewer than MIN_READINGS (2) official
readings, or a rise under MIN_RISE (1) percentage point: too little to apportion.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from claude_usage.core.pricing import PriceTable
    from claude_usage.core.reports import UsageGroup

WINDOW_US = 5 * 3600 * 1_000_000
MIN_READINGS = 2
MIN_RISE = 1.0
SAME_WINDOW_US = 10 * 60 * 1_000_000  # resets_at as sources report it may move by seconds; a new window by hours
NOT_LOCAL = "not in local logs"


class Reading(NamedTuple):
    """One official number: the limit's key, its reset (UTC µs, None if unknown), when it was read, the percent."""

    key: str
    resets_us: int | None
    at_us: int
    utilization: float


class OfficialWindow(NamedTuple):
    """One official window from the history: its key, reset time, readings in time order and highest percent."""

    key: str
    resets_us: int
    readings: tuple[tuple[int, float], ...]
    peak: float

    @property
    def start_us(self) -> int:
        return self.resets_us - WINDOW_US


class Share(NamedTuple):
    """A project's or model's part of a window: percentage points, cost (pricing units) and tokens."""

    name: str
    points: float
    cost: int
    tokens: int


class Apportionment(NamedTuple):
    """A window's rise in points, and what explains it; `not_local` is the part no local log explains."""

    key: str
    resets_us: int
    rise: float
    readings: int
    projects: tuple[Share, ...]
    models: tuple[Share, ...]
    not_local: float

    def text(self, limit: int = 3, name: Callable[[str], str] | None = None) -> str:
        """`this window: 46% · api-server 31% · docs 9% · not in local logs 6%` (the top `limit` projects;
        `name` shortens a project's name)."""
        short = name or str
        parts = [f"this window: {self.rise:.0f}%"]
        parts += [f"{short(share.name)} {share.points:.0f}%" for share in self.projects[:limit] if share.points >= 0.5]
        if self.not_local >= 0.5:
            parts.append(f"{NOT_LOCAL} {self.not_local:.0f}%")
        return " · ".join(parts)


def windows(readings: Iterable[Reading], key: str = "five_hour") -> list[OfficialWindow]:
    """The official windows of `key` the readings show, oldest first (readings without a reset are left out)."""
    found: list[tuple[int, list[tuple[int, float]]]] = []
    for reading in sorted((r for r in readings if r.key == key and r.resets_us is not None), key=_by_reset):
        assert reading.resets_us is not None  # noqa: S101 - filtered above
        if found and reading.resets_us - found[-1][0] <= SAME_WINDOW_US:
            found[-1][1].append((reading.at_us, reading.utilization))
        else:
            found.append((reading.resets_us, [(reading.at_us, reading.utilization)]))
    out: list[OfficialWindow] = []
    for resets_us, points in found:
        inside = sorted((at, u) for at, u in points if resets_us - WINDOW_US <= at <= resets_us)
        if inside:
            out.append(OfficialWindow(key, resets_us, tuple(inside), max(u for _, u in inside)))
    return out


def _by_reset(reading: Reading) -> tuple[int, int]:
    return (reading.resets_us or 0, reading.at_us)


def overlapping(found: Iterable[OfficialWindow], start_us: int, end_us: int) -> OfficialWindow | None:
    """The window sharing the most time with [start_us, end_us), if any does."""
    best: OfficialWindow | None = None
    best_overlap = 0
    for window in found:
        overlap = min(end_us, window.resets_us) - max(start_us, window.start_us)
        if overlap > best_overlap:
            best, best_overlap = window, overlap
    return best


def apportion(window: OfficialWindow, groups: Iterable[UsageGroup], table: PriceTable) -> Apportionment | None:
    """The window's rise apportioned to projects and models (the method in the module's docstring); None with
    fewer than MIN_READINGS readings in the window or a rise under MIN_RISE points."""
    if len(window.readings) < MIN_READINGS:
        return None
    times = [window.start_us]
    levels = [0.0]
    for at_us, utilization in window.readings:
        times.append(at_us)
        levels.append(max(levels[-1], utilization))
    rise = levels[-1]
    if rise < MIN_RISE:
        return None
    rises = [levels[i] - levels[i - 1] for i in range(1, len(levels))]  # interval i: (times[i], times[i + 1]]
    cost_in = [0] * len(rises)
    per: list[tuple[int, str, str, int, int]] = []  # (interval, project, model, cost, tokens)
    from bisect import bisect_left

    for group in groups:
        at = group.first_us
        if at <= times[0] or at > times[-1]:
            continue
        interval = bisect_left(times, at) - 1
        cost = group.cost(table.lookup(group.model))
        tokens = group.tokens
        cost_in[interval] += cost
        per.append((interval, group.project, group.model, cost, tokens))
    not_local = sum(r for r, cost in zip(rises, cost_in, strict=True) if cost <= 0)
    explained = rise - not_local
    total_cost = sum(cost_in)
    projects: dict[str, list[int]] = {}
    models: dict[str, list[int]] = {}
    for _, project, model, cost, tokens in per:
        for sums, name in ((projects, project), (models, model)):
            cell = sums.setdefault(name, [0, 0])
            cell[0] += cost
            cell[1] += tokens

    def shares(sums: dict[str, list[int]]) -> tuple[Share, ...]:
        out = [
            Share(name, explained * cost / total_cost if total_cost else 0.0, cost, tokens)
            for name, (cost, tokens) in sums.items()
        ]
        return tuple(sorted(out, key=lambda s: (-s.points, -s.tokens, s.name)))

    return Apportionment(
        window.key, window.resets_us, rise, len(window.readings), shares(projects), shares(models), not_local
    )


BURN_US = 15 * 60 * 1_000_000


class WindowUsage(NamedTuple):
    """The local usage of one 5-hour window so far: tokens, cost (pricing units), the burn rate over the last
    15 minutes, the projects and models by cost (points 0), and who ate it when the history can tell."""

    start_us: int
    end_us: int
    official: bool  # the API's window (else the last five hours)
    tokens: int
    cost: int
    tokens_per_minute: float
    usd_per_hour: float
    projects: tuple[Share, ...]
    models: tuple[Share, ...]
    apportionment: Apportionment | None
    at_us: int  # when it was computed


def window_usage(
    groups: Iterable[UsageGroup],
    table: PriceTable,
    *,
    start_us: int,
    end_us: int,
    now_us: int,
    official: bool,
    apportionment: Apportionment | None = None,
) -> WindowUsage:
    """The usage of the groups in (start_us, min(end_us, now_us)]; the burn rate over the 15 minutes to now."""
    from claude_usage.core.pricing import usd

    tokens = cost = burn_tokens = burn_cost = 0
    projects: dict[str, list[int]] = {}
    models: dict[str, list[int]] = {}
    for group in groups:
        if not start_us < group.first_us <= min(end_us, now_us):
            continue
        found = group.cost(table.lookup(group.model))
        count = group.tokens
        tokens += count
        cost += found
        if group.first_us > now_us - BURN_US:
            burn_tokens += count
            burn_cost += found
        for sums, name in ((projects, group.project), (models, group.model)):
            cell = sums.setdefault(name, [0, 0])
            cell[0] += found
            cell[1] += count

    def ranked(sums: dict[str, list[int]]) -> tuple[Share, ...]:
        out = [Share(name, 0.0, c, t) for name, (c, t) in sums.items()]
        return tuple(sorted(out, key=lambda s: (-s.cost, -s.tokens, s.name)))

    return WindowUsage(
        start_us,
        end_us,
        official,
        tokens,
        cost,
        burn_tokens / 15,
        usd(burn_cost) * 4,
        ranked(projects),
        ranked(models),
        apportionment,
        now_us,
    )
