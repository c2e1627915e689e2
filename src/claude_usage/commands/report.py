"""`claude-usage report daily|weekly|monthly|session|project|model|blocks`: tokens and cost from the transcripts.

    claude-usage report [KIND] [--since DATE] [--until DATE] [--timezone ZONE] [--project NAME]
                        [--json | --csv] [--verbose]

Brings the transcript index up to date (adapters/transcripts: only what was appended since the last run
is read), then reports from it (core/reports.py). The formats are documented in docs/transcripts.md.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from claude_usage.errors import CommandLineError

if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping
    from datetime import date, datetime, tzinfo

    from claude_usage.adapters.transcripts import Roots, TranscriptIndex
    from claude_usage.core.apportion import Reading
    from claude_usage.core.pricing import PriceTable
    from claude_usage.core.reports import OfficialJoin, Report

KINDS = ("daily", "weekly", "monthly", "session", "project", "model", "blocks")

DESCRIPTION = """\
Token usage and what it would have cost at API list prices, from Claude Code's transcripts (every config
dir in CLAUDE_CONFIG_DIR, comma-separated; else ~/.claude and ~/.config/claude), by day, week (from
Monday), month, session, project, model or 5-hour block. Each response counts once, however many lines
and files repeat it. Only what was appended since the last run is read: the index lives in the data dir
and keeps the entries of transcripts Claude Code has since deleted."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", nargs="?", default="daily", choices=KINDS, help="how to group (default: daily)")
    parser.add_argument("--since", metavar="DATE", help="from this day on (YYYY-MM-DD or YYYYMMDD, inclusive)")
    parser.add_argument("--until", metavar="DATE", help="up to this day (YYYY-MM-DD or YYYYMMDD, inclusive)")
    parser.add_argument("--timezone", metavar="ZONE", help="cut days in this IANA zone (default: local)")
    parser.add_argument(
        "--project", metavar="NAME", help="only this project: the name the report shows (the leading - may be left out)"
    )
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="a JSON document shaped like ccusage's")
    fmt.add_argument("--csv", action="store_true", help="CSV: a header of the JSON keys, a last row Total")
    parser.add_argument("--verbose", action="store_true", help="say what the scan read and where bad lines are")


def parse_day(text: str, option: str) -> date:
    """A date from YYYY-MM-DD or YYYYMMDD; CommandLineError otherwise."""
    from datetime import date

    value = text.strip()
    if len(value) == 8 and value.isdigit():
        value = f"{value[:4]}-{value[4:6]}-{value[6:]}"
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise CommandLineError(f"{option} {text!r}: expected a day as YYYY-MM-DD or YYYYMMDD") from None


def zone(name: str | None, env: Mapping[str, str]) -> tuple[tzinfo, str]:
    """(the zone, its name) for --timezone, else the local zone ($TZ, /etc/localtime, the C library's)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if name is not None:
        try:
            return ZoneInfo(name), name
        except (ZoneInfoNotFoundError, ValueError):
            raise CommandLineError(f"--timezone {name!r}: not a time zone this system knows") from None
    candidates = [env.get("TZ", "").lstrip(":")]
    try:
        import os

        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    for candidate in candidates:
        if candidate:
            try:
                return ZoneInfo(candidate), candidate
            except (ZoneInfoNotFoundError, ValueError):
                continue
    from datetime import datetime

    local = datetime.now().astimezone().tzinfo
    return (local, "local") if local is not None else (ZoneInfo("UTC"), "UTC")


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Run `claude-usage report …`; returns the exit status."""
    from datetime import datetime, timezone

    from claude_usage.adapters.pricing import load_table
    from claude_usage.adapters.transcripts import TranscriptIndex, config_roots, index_path
    from claude_usage.core.reports import build

    since = parse_day(args.since, "--since") if args.since else None
    until = parse_day(args.until, "--until") if args.until else None
    if since and until and since > until:
        raise CommandLineError(f"--since {args.since} is after --until {args.until}")
    tz, tz_name = zone(args.timezone, env)
    table = load_table()
    roots = config_roots(env)
    plain = args.json or args.csv
    progress = None if plain else _progress()
    with TranscriptIndex(index_path(env)) as index:
        try:
            stats = index.update(roots, progress=progress)
        finally:
            if progress is not None:
                progress.close()
        for note in stats.notes:
            print(f"claude-usage: {note}", file=sys.stderr)
        if not roots.dirs:
            print("claude-usage: no Claude config dir with a projects/ folder found", file=sys.stderr)
        if args.verbose:
            _verbose(index, roots, stats)
        now = datetime.now(timezone.utc)
        now_us = int(now.timestamp() * 1_000_000)

        def report() -> Report:
            groups = index.groups(
                roots,
                minutes=args.kind == "blocks",
                by_file=args.kind in ("session", "project"),
                project=args.project,
                long_context_threshold=table.long_context_threshold,
                days_in=tz,
            )
            return build(args.kind, groups, table=table, tz=tz, now_us=now_us, since=since, until=until)

        join = _official_join(env, index, roots, table) if args.kind == "blocks" and not args.csv else None
        if args.json or args.csv:

            def text() -> str:
                return _json_text(report(), now_us, tz_name, join) if args.json else _csv_text(report())

            if args.kind == "blocks":  # active or not depends on the time: never from the cache
                out = text()
            else:  # a re-run with nothing new prints what the last one printed
                offset = datetime.now(tz).utcoffset()
                key = f"{args.kind}|{args.json}|{tz_name}|{offset}|{since}|{until}|{args.project}|{table.version}"
                out = index.cached(roots, key, text)
            sys.stdout.write(out)
            return 0
        shown = report()
    from claude_usage.commands.oneshot import console
    from claude_usage.ui.report import ReportView

    console().print(ReportView(shown, tz_name, join))
    return 0


def official_readings(env: Mapping[str, str]) -> list[Reading]:
    """The history's five_hour readings of one account (the one read last), each row's first and last sight;
    none without a history file or when it cannot be read."""
    from claude_usage.adapters.history import History, HistoryError, history_path
    from claude_usage.core.apportion import Reading

    path = history_path(env)
    if not path.is_file():
        return []
    try:
        with History.open(path, read_only_fallback=True) as history:
            rows = history.rows(key="five_hour")
    except HistoryError as exc:
        print(f"claude-usage: official windows not shown: {exc}", file=sys.stderr)
        return []
    if not rows:
        return []
    account = max(rows, key=lambda row: row.last_seen_at).account

    def us(moment: datetime) -> int:
        return int(moment.timestamp()) * 1_000_000 + moment.microsecond

    found: list[Reading] = []
    for row in rows:
        if row.account != account:
            continue
        resets = None if row.resets_at is None else us(row.resets_at)
        found.append(Reading(row.key, resets, us(row.observed_at), row.utilization))
        if row.last_seen_at != row.observed_at:
            found.append(Reading(row.key, resets, us(row.last_seen_at), row.utilization))
    return found


def _official_join(
    env: Mapping[str, str], index: TranscriptIndex, roots: Roots, table: PriceTable
) -> OfficialJoin | None:
    """The history's official windows and the usage by minute, project and model to apportion them."""
    from claude_usage.core.apportion import windows
    from claude_usage.core.reports import OfficialJoin

    found = windows(official_readings(env))
    if not found:
        return None
    groups = index.groups(roots, minutes=True, by_file=True, long_context_threshold=table.long_context_threshold)
    return OfficialJoin(found, groups, table)


def _progress() -> _Progress | None:
    if not sys.stderr.isatty():
        return None
    return _Progress()


class _Progress:
    """A progress bar on stderr, shown only once a scan has taken more than a second."""

    def __init__(self) -> None:
        import time

        self._started = time.monotonic()
        self._bar: object | None = None

    def __call__(self, done: int, total: int) -> None:
        import time

        if self._bar is None and time.monotonic() - self._started < 1.0:
            return
        from claude_usage.ui.report import ScanBar

        if self._bar is None:
            self._bar = ScanBar(total)
        assert isinstance(self._bar, ScanBar)  # noqa: S101 - for the type checker
        self._bar.update(done)

    def close(self) -> None:
        if self._bar is not None:
            from claude_usage.ui.report import ScanBar

            assert isinstance(self._bar, ScanBar)  # noqa: S101 - for the type checker
            self._bar.close()


def _verbose(index: object, roots: object, stats: object) -> None:
    from claude_usage.adapters.transcripts import Roots, TranscriptIndex
    from claude_usage.adapters.transcripts.scan import ScanStats

    assert isinstance(index, TranscriptIndex)  # noqa: S101 - for the type checker
    assert isinstance(roots, Roots)  # noqa: S101
    assert isinstance(stats, ScanStats)  # noqa: S101
    say = sys.stderr.write
    say(f"claude-usage: config dirs: {', '.join(roots.dirs) or 'none'}\n")
    say(
        f"claude-usage: scanned {stats.files} transcripts, read {stats.files_read} ({stats.bytes_read:,} bytes) "
        f"in {stats.seconds:.2f} s: {stats.entries:,} new entries, {stats.bad_lines:,} new bad lines\n"
    )
    total, bad = index.bad_lines(roots)
    if total:
        say(f"claude-usage: {total:,} bad lines skipped (not counted):\n")
        for path, where, reason in bad:
            say(f"  {path}, {where}: {reason}\n")
        if total > len(bad):
            say(f"  … and {total - len(bad):,} more\n")


def _json_text(report: Report, now_us: int, tz_name: str, join: OfficialJoin | None = None) -> str:
    import json

    from claude_usage.core.reports import no_official, report_json

    doc = report_json(
        report,
        now_us=now_us,
        timezone_name=tz_name,
        official=join.official if join is not None else no_official,
        apportioned=join.apportioned if join is not None else no_official,
    )
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _csv_text(report: Report) -> str:
    import csv
    import io

    from claude_usage.core.pricing import usd
    from claude_usage.core.reports import TOKEN_KEYS, Tokens, iso_utc

    extra = ["project", "lastActivity"] if report.kind == "session" else []
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["period", *extra, *TOKEN_KEYS])

    def sums(tokens: Tokens) -> list[object]:
        return [
            tokens.input,
            tokens.output,
            tokens.cache_write,
            tokens.cache_read,
            tokens.total,
            repr(usd(tokens.cost)),
        ]

    for row in report.rows:
        if row.block is not None and row.block.gap:
            continue
        more = [row.project, "" if row.last_us is None else iso_utc(row.last_us)] if extra else []
        writer.writerow([row.period, *more, *sums(row.tokens)])
    writer.writerow(["Total", *([""] * len(extra)), *sums(report.totals)])
    return out.getvalue()
