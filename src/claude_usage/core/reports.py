"""Token and cost reports from grouped usage: daily, weekly, monthly, session, project, model and blocks.

Pure: the index (adapters/transcripts) hands over `UsageGroup`s, sums of de-duplicated entries per
time bucket (a quarter hour, a minute for blocks) and model; this module cuts them into the report's
periods in a time zone, prices them (core/pricing.py, exact integers) and shapes the `--json` document.

Every view sums the same groups, and costs are integer sums, so every view gives the same grand total.
Days, weeks (from Monday) and months are cut in the zone given: a quarter-hour bucket lies in one local
day, since every zone's midnight falls on a quarter hour of UTC. `since`/`until` are inclusive local dates.

Blocks follow ccusage's definition (docs/transcripts.md, "5-hour blocks"): over all entries in time
order, a block starts at an entry's time floored to the UTC hour and lasts five hours; an entry more than
five hours after its block's start, or after the entry before it, starts a new block, and a silence of
more than five hours is listed as a gap. Minute buckets decide this exactly: the buckets are
(k min, k+1 min] so a bucket is wholly inside or after a block's end, and a gap inside a minute is never
five hours. `since`/`until` keep the blocks that start on those dates.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, NamedTuple

from claude_usage.core.pricing import PriceTable, Pricing, cost_units, usd

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from datetime import tzinfo

    from claude_usage.core.apportion import Apportionment, OfficialWindow

    Joined = Callable[["Block"], dict[str, Any] | None]

KINDS = ("daily", "weekly", "monthly", "session", "project", "model", "blocks")
BLOCK_US = 5 * 3600 * 1_000_000
HOUR_US = 3600 * 1_000_000
MINUTE_US = 60 * 1_000_000
QUARTER_US = 15 * MINUTE_US
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class UsageGroup(NamedTuple):
    """Sums of de-duplicated entries sharing a time bucket, a model, a price tier (and a file, when asked).

    Times are microseconds since 1970-01-01 UTC; `first_us`/`last_us` are the group's first and last entry.
    """

    model: str
    long_context: bool
    entries: int
    input_tokens: int
    output_tokens: int
    cache_write_5m: int
    cache_write_1h: int
    cache_read: int
    first_us: int
    last_us: int
    project: str = ""
    session: str = ""

    @property
    def tokens(self) -> int:
        """Every token of the group: input, output, both cache writes and cache reads."""
        return self.input_tokens + self.output_tokens + self.cache_write_5m + self.cache_write_1h + self.cache_read

    def cost(self, prices: Pricing) -> int:
        """What the group would have cost at `prices` (its model's), in pricing's integer units."""
        return cost_units(
            prices,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cache_write_5m=self.cache_write_5m,
            cache_write_1h=self.cache_write_1h,
            cache_read=self.cache_read,
            long_context=self.long_context,
        )


class Tokens(NamedTuple):
    """Token counts (the cache writes split by duration) and their cost in pricing's integer units."""

    input: int = 0
    output: int = 0
    cache_5m: int = 0
    cache_1h: int = 0
    cache_read: int = 0
    cost: int = 0
    entries: int = 0

    @property
    def cache_write(self) -> int:
        return self.cache_5m + self.cache_1h

    @property
    def total(self) -> int:
        """Input + output + cache write + cache read tokens."""
        return self.input + self.output + self.cache_5m + self.cache_1h + self.cache_read

    def plus(self, other: Tokens) -> Tokens:
        return Tokens(
            self.input + other.input,
            self.output + other.output,
            self.cache_5m + other.cache_5m,
            self.cache_1h + other.cache_1h,
            self.cache_read + other.cache_read,
            self.cost + other.cost,
            self.entries + other.entries,
        )


class Block(NamedTuple):
    """A 5-hour block's times (UTC µs) and, for the active one, its burn rate and projection."""

    start_us: int
    end_us: int
    first_us: int | None
    last_us: int | None
    gap: bool
    active: bool


class Row(NamedTuple):
    """One line of a report: its period, the sums, per model, and what its kind adds."""

    period: str
    tokens: Tokens
    models: dict[str, Tokens]
    project: str | None = None
    last_us: int | None = None
    block: Block | None = None


class Report(NamedTuple):
    """A whole report: its rows in order, the grand total, and how each model was priced."""

    kind: str
    rows: list[Row]
    totals: Tokens
    pricing: dict[str, Pricing]
    table_version: str


def total_of(items: Iterable[Tokens]) -> Tokens:
    """The sum of some Tokens."""
    total = Tokens()
    for item in items:
        total = total.plus(item)
    return total


def _tokens(group: UsageGroup, table: PriceTable, pricing: dict[str, Pricing]) -> Tokens:
    found = pricing.get(group.model)
    if found is None:
        found = pricing[group.model] = table.lookup(group.model)
    cost = group.cost(found)
    return Tokens(
        group.input_tokens,
        group.output_tokens,
        group.cache_write_5m,
        group.cache_write_1h,
        group.cache_read,
        cost,
        group.entries,
    )


def local_date(us: int, tz: tzinfo) -> date:
    """The date in `tz` of a time in microseconds since the epoch."""
    return (_EPOCH + timedelta(microseconds=us)).astimezone(tz).date()


def iso_utc(us: int) -> str:
    """ISO-8601 in UTC with milliseconds and `Z`, as Claude Code and ccusage write times."""
    moment = _EPOCH + timedelta(microseconds=us)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _period(kind: str, day: date, group: UsageGroup) -> tuple[object, str]:
    """(sort key, label) of the row a group belongs to."""
    if kind == "daily":
        return day, day.isoformat()
    if kind == "weekly":
        monday = day - timedelta(days=day.weekday())
        return monday, monday.isoformat()
    if kind == "monthly":
        return (day.year, day.month), f"{day.year:04d}-{day.month:02d}"
    if kind == "session":
        return (group.project, group.session), group.session
    if kind == "project":
        return group.project, group.project
    return group.model, group.model


def build(
    kind: str,
    groups: Iterable[UsageGroup],
    *,
    table: PriceTable,
    tz: tzinfo,
    now_us: int,
    since: date | None = None,
    until: date | None = None,
) -> Report:
    """The report of `kind` (one of KINDS) over the groups, periods cut in `tz`."""
    if kind not in KINDS:
        raise ValueError(f"unknown report {kind!r}")
    pricing: dict[str, Pricing] = {}
    if kind == "blocks":
        return _blocks(groups, table, pricing, tz, now_us, since, until)
    # Sum the tokens per row, model and price tier first, price each sum once at the end (cost is linear).
    rows: dict[object, _RowSums] = {}
    days: dict[int, date] = {}
    for group in groups:
        quarter = group.first_us // QUARTER_US
        day = days.get(quarter)
        if day is None:
            day = days[quarter] = local_date(group.first_us, tz)
        if (since is not None and day < since) or (until is not None and day > until):
            continue
        key, label = _period(kind, day, group)
        found = rows.get(key)
        if found is None:
            found = rows[key] = _RowSums(label, group.project, group.last_us)
        elif group.last_us > found.last_us:
            found.last_us = group.last_us
        cell = found.cells.get((group.model, group.long_context))
        if cell is None:
            cell = found.cells[(group.model, group.long_context)] = [0, 0, 0, 0, 0, 0]
        cell[0] += group.input_tokens
        cell[1] += group.output_tokens
        cell[2] += group.cache_write_5m
        cell[3] += group.cache_write_1h
        cell[4] += group.cache_read
        cell[5] += group.entries
    out: list[Row] = []
    for key in _order(kind, rows, table, pricing):
        found = rows[key]
        models = found.priced(table, pricing)
        out.append(
            Row(
                found.label,
                total_of(models.values()),
                _by_cost(models),
                found.project if kind == "session" else None,
                found.last_us if kind == "session" else None,
            )
        )
    return Report(kind, out, total_of(row.tokens for row in out), pricing, table.version)


class _RowSums:
    """A row being summed: its label, project, newest entry, and sums per (model, long context)."""

    __slots__ = ("cells", "label", "last_us", "project")

    def __init__(self, label: str, project: str, last_us: int) -> None:
        self.label, self.project, self.last_us = label, project, last_us
        self.cells: dict[tuple[str, bool], list[int]] = {}

    def priced(self, table: PriceTable, pricing: dict[str, Pricing]) -> dict[str, Tokens]:
        """Tokens and cost per model."""
        models: dict[str, Tokens] = {}
        for (model, long), (i, o, c5, c1, cr, n) in self.cells.items():
            found = pricing.get(model)
            if found is None:
                found = pricing[model] = table.lookup(model)
            cost = cost_units(
                found,
                input_tokens=i,
                output_tokens=o,
                cache_write_5m=c5,
                cache_write_1h=c1,
                cache_read=cr,
                long_context=long,
            )
            tokens = Tokens(i, o, c5, c1, cr, cost, n)
            models[model] = models[model].plus(tokens) if model in models else tokens
        return models


def _order(kind: str, rows: dict[object, _RowSums], table: PriceTable, pricing: dict[str, Pricing]) -> list[Any]:
    if kind == "session":  # by last activity, as ccusage
        return sorted(rows, key=lambda key: (rows[key].last_us, str(key)))
    if kind in ("project", "model"):  # the biggest first
        cost = {key: sum(t.cost for t in row.priced(table, pricing).values()) for key, row in rows.items()}
        return sorted(rows, key=lambda key: (-cost[key], str(key)))
    return sorted(rows, key=lambda key: key)  # dates / (year, month)


def _by_cost(models: dict[str, Tokens]) -> dict[str, Tokens]:
    return dict(sorted(models.items(), key=lambda item: (-item[1].cost, -item[1].total, item[0])))


def _blocks(
    groups: Iterable[UsageGroup],
    table: PriceTable,
    pricing: dict[str, Pricing],
    tz: tzinfo,
    now_us: int,
    since: date | None,
    until: date | None,
) -> Report:
    """ccusage's 5-hour blocks from minute buckets (see the module's docstring)."""
    minutes: dict[int, list[UsageGroup]] = {}
    for group in groups:
        minutes.setdefault((group.first_us - 1) // MINUTE_US, []).append(group)
    rows: list[Row] = []
    start = first = last = -1  # the open block's start, its first and its newest entry (none yet: -1)
    models: dict[str, Tokens] = {}
    for minute in sorted(minutes):
        bucket = minutes[minute]
        lo = min(g.first_us for g in bucket)
        hi = max(g.last_us for g in bucket)
        if start < 0 or lo - start > BLOCK_US or lo - last > BLOCK_US:
            if start >= 0:
                rows.append(_block_row(start, first, last, models, now_us))
                if lo - last > BLOCK_US:
                    gap = Block(last + BLOCK_US, lo, None, None, True, False)
                    rows.append(Row(f"gap-{iso_utc(last + BLOCK_US)}", Tokens(), {}, block=gap))
            start, first, models = lo - lo % HOUR_US, lo, {}
        for group in bucket:
            tokens = _tokens(group, table, pricing)
            models[group.model] = models[group.model].plus(tokens) if group.model in models else tokens
        last = hi  # buckets come in time order: the newest entry so far
    if start >= 0:
        rows.append(_block_row(start, first, last, models, now_us))
    if since is not None or until is not None:
        rows = [
            row
            for row in rows
            if row.block is not None
            and (since is None or local_date(row.block.start_us, tz) >= since)
            and (until is None or local_date(row.block.start_us, tz) <= until)
        ]
    return Report("blocks", rows, total_of(row.tokens for row in rows), pricing, table.version)


def _block_row(start: int, first: int, last: int, models: dict[str, Tokens], now_us: int) -> Row:
    end = start + BLOCK_US
    block = Block(start, end, first, last, False, now_us - last < BLOCK_US and now_us < end)
    return Row(iso_utc(start), total_of(models.values()), _by_cost(models), block=block)


# --- the --json document ------------------------------------------------------------------------------

TOKEN_KEYS = ("inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens", "totalTokens", "totalCost")


def _sums(tokens: Tokens) -> dict[str, Any]:
    return {
        "inputTokens": tokens.input,
        "outputTokens": tokens.output,
        "cacheCreationTokens": tokens.cache_write,
        "cacheReadTokens": tokens.cache_read,
        "totalTokens": tokens.total,
        "totalCost": usd(tokens.cost),
    }


def _row_json(row: Row) -> dict[str, Any]:
    return {
        "period": row.period,
        **_sums(row.tokens),
        "cacheCreation5mTokens": row.tokens.cache_5m,
        "cacheCreation1hTokens": row.tokens.cache_1h,
        "entries": row.tokens.entries,
        "modelsUsed": list(row.models),
        "modelBreakdowns": [
            {
                "modelName": model,
                "inputTokens": t.input,
                "outputTokens": t.output,
                "cacheCreationTokens": t.cache_write,
                "cacheReadTokens": t.cache_read,
                "cost": usd(t.cost),
            }
            for model, t in row.models.items()
        ],
    }


def _block_json(row: Row, now_us: int, official: Joined, apportioned: Joined) -> dict[str, Any]:
    block = row.block
    assert block is not None  # noqa: S101 - _blocks gives every row a block
    doc = _row_json(row)
    burn: dict[str, Any] | None = None
    projection: dict[str, Any] | None = None
    if block.active and block.first_us is not None and block.last_us is not None and block.last_us > block.first_us:
        minutes = (block.last_us - block.first_us) / MINUTE_US
        per_minute = row.tokens.total / minutes
        per_hour = usd(row.tokens.cost) / minutes * 60
        burn = {
            "tokensPerMinute": per_minute,
            "tokensPerMinuteForIndicator": (row.tokens.input + row.tokens.output) / minutes,
            "costPerHour": per_hour,
        }
        remaining = round((block.end_us - now_us) / MINUTE_US)
        projection = {
            "totalTokens": round(row.tokens.total + per_minute * remaining),
            "totalCost": round(usd(row.tokens.cost) + per_hour / 60 * remaining, 2),
            "remainingMinutes": remaining,
        }
    doc.update(
        {
            "id": row.period,
            "startTime": iso_utc(block.start_us),
            "endTime": iso_utc(block.end_us),
            "actualEndTime": None if block.gap or block.last_us is None else iso_utc(block.last_us),
            "isActive": block.active,
            "isGap": block.gap,
            "costUSD": usd(row.tokens.cost),
            "models": list(row.models),
            "burnRate": burn,
            "projection": projection,
            "official": official(block),
            "apportioned": apportioned(block),
        }
    )
    return doc


def no_official(block: Block) -> None:
    """No official window joined (no history): `official` and `apportioned` are null."""
    return None


class OfficialJoin:
    """The history's official windows beside the local blocks: the one overlapping a block most, and who ate it.

    `official(block)` is `{"key", "resets_at", "peak_utilization"}` or None; `apportioned(block)` the
    window's rise split over projects and models (core/apportion.py), None where it declines.
    """

    def __init__(self, found: Sequence[OfficialWindow], groups: Sequence[UsageGroup], table: PriceTable) -> None:
        self.found = list(found)
        self.groups = sorted(groups, key=lambda g: g.first_us)
        self._starts = [g.first_us for g in self.groups]
        self.table = table

    def window(self, block: Block) -> OfficialWindow | None:
        from claude_usage.core.apportion import overlapping

        if block.gap:
            return None
        return overlapping(self.found, block.start_us, block.end_us)

    def official(self, block: Block) -> dict[str, Any] | None:
        found = self.window(block)
        if found is None:
            return None
        return {"key": found.key, "resets_at": iso_utc(found.resets_us), "peak_utilization": found.peak}

    def apportionment(self, block: Block) -> Apportionment | None:
        from bisect import bisect_right

        from claude_usage.core.apportion import apportion

        found = self.window(block)
        if found is None:
            return None
        lo = bisect_right(self._starts, found.start_us)
        hi = bisect_right(self._starts, found.resets_us)
        return apportion(found, self.groups[lo:hi], self.table)

    def apportioned(self, block: Block) -> dict[str, Any] | None:
        found = self.apportionment(block)
        return None if found is None else apportioned_json(found)


def apportioned_json(found: Apportionment) -> dict[str, Any]:
    """An apportionment in the blocks' JSON: points (percentage points of the limit) per project and model."""
    return {
        "key": found.key,
        "resetsAt": iso_utc(found.resets_us),
        "rise": found.rise,
        "readings": found.readings,
        "projects": [
            {"project": s.name, "points": s.points, "cost": usd(s.cost), "tokens": s.tokens} for s in found.projects
        ],
        "models": [
            {"modelName": s.name, "points": s.points, "cost": usd(s.cost), "tokens": s.tokens} for s in found.models
        ],
        "notInLocalLogs": found.not_local,
        "text": found.text(),
    }


def report_json(
    report: Report,
    *,
    now_us: int,
    timezone_name: str,
    official: Joined = no_official,
    apportioned: Joined = no_official,
) -> dict[str, Any]:
    """The `--json` document: a key named after the report holding its rows, "totals" and "pricing"."""
    if report.kind == "blocks":
        rows = [_block_json(row, now_us, official, apportioned) for row in report.rows]
    else:
        rows = []
        for row in report.rows:
            doc = _row_json(row)
            if report.kind == "session":
                doc["project"] = row.project
                doc["lastActivity"] = None if row.last_us is None else iso_utc(row.last_us)
            rows.append(doc)
    flagged = {name: p for name, p in sorted(report.pricing.items()) if p.flagged}
    return {
        report.kind: rows,
        "totals": _sums(report.totals),
        "pricing": {
            "table": report.table_version,
            "estimated": {name: p.priced_as for name, p in flagged.items() if p.status == "estimated"},
            "unpriced": [name for name, p in flagged.items() if p.status == "unpriced"],
        },
        "timezone": timezone_name,
    }
