"""`claude-usage history`: past windows, a chart of the weeks, and export/import of the raw samples.

    claude-usage history [--account KEY|all] [--since WHEN]
    claude-usage history export (--csv | --json) [--summary] [--account KEY|all] [--since WHEN]
    claude-usage history import FILE

`history` shows the account this login reads (resolved as the status line does: cheaply, writing
nothing) and lists every account in the history with its plan and a short key (the demo as DEMO);
`--account all` shows them all. Export writes every account unless told one. KEY is a key, the short key
shown, or any prefix naming one account. WHEN is an ISO date or time (`2026-11-01`,
`2026-11-01T09:00+01:00`) or a span back from now (`7d`, `12h`, `2w`, `30m`). The CSV and JSON formats
are documented in docs/history.md and stable.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from claude_usage.errors import CommandLineError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from claude_usage.adapters.history import History, Row
    from claude_usage.ui.history import AccountLine

ALL = "all"  # --account all: every account
DEMO_LABEL = "DEMO"
_SPAN = re.compile(r"(\d+(?:\.\d+)?)\s*([mhdw])", re.IGNORECASE)
_UNITS = {"m": 60, "h": 3600, "d": 86_400, "w": 604_800}


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


DESCRIPTION = "Past usage windows: peaks, time at the limit, and the weeks."


def configure(parser: argparse.ArgumentParser) -> None:
    def filters(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--account",
            metavar="KEY",
            help="this account (a key, the short key `history` lists, or a prefix; `all`: every account)",
        )
        parser.add_argument("--since", metavar="WHEN", help="only from WHEN: an ISO date or a span such as 7d")

    filters(parser)
    sub = parser.add_subparsers(dest="action", parser_class=type(parser))
    export = sub.add_parser("export", help="write the stored samples (or window summaries) to stdout")
    fmt = export.add_mutually_exclusive_group(required=True)
    fmt.add_argument("--csv", action="store_true", help="CSV with a header row")
    fmt.add_argument("--json", action="store_true", help="a JSON array of objects")
    export.add_argument("--summary", action="store_true", help="one row per window instead of the raw samples")
    filters(export)
    imp = sub.add_parser("import", help="read a CSV export back (importing twice adds nothing)")
    imp.add_argument("file", metavar="FILE", help="a CSV written by `history export --csv` (- for stdin)")


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Run `claude-usage history …`; returns the exit status."""
    now = datetime.now(timezone.utc)
    since = parse_since(args.since, now) if args.since else None
    if args.action == "import":
        return _import(args.file, env)
    with _open(env) as history:
        present = history.accounts()
        if args.account is None:
            chosen = None if args.action == "export" else current_account(env)
        else:
            chosen = None if args.account.strip().lower() == ALL else match_account(args.account, present)
        rows = history.rows(account=chosen, since=since)
    if args.action == "export":
        return _export(rows, csv_out=args.csv, summary=args.summary)
    return _show(rows, now, account_lines(env, present, chosen))


def current_account(env: Mapping[str, str]) -> str:
    """The key this login's readings are filed under, found as the status line finds it (writing nothing)."""
    from claude_usage.adapters import account, paths
    from claude_usage.adapters.store import Store

    return account.current_key(env, Store(paths.data_dir(env)))[0]


def match_account(text: str, present: list[str]) -> str:
    """The stored key `text` names: itself, `demo` in any case, or the one key it is a prefix of.

    A prefix of several keys is a CommandLineError listing them; a text naming none is kept as given
    (nothing is stored for it: an empty selection).
    """
    wanted = text.strip().rstrip("…")
    if wanted in present:
        return wanted
    from claude_usage.adapters.account import DEMO

    if wanted.lower() == DEMO:
        return DEMO
    found = [key for key in present if wanted and key.startswith(wanted)]
    if len(found) > 1:
        raise CommandLineError(f"--account {text!r} names several accounts: {', '.join(found)}")
    return found[0] if found else wanted


def short_key(key: str) -> str:
    """Enough of an account key to tell it apart and pass to --account: `a-6a1e2b3c…`."""
    return key if len(key) <= 12 else key[:10] + "…"


def account_lines(env: Mapping[str, str], present: list[str], shown: str | None) -> list[AccountLine]:
    """One line per account in the history (and the one shown): plan (from the shared store; DEMO), short key."""
    from claude_usage.adapters import paths
    from claude_usage.adapters.account import DEMO
    from claude_usage.adapters.store import Store
    from claude_usage.core.observe import plan
    from claude_usage.errors import ClaudeUsageError
    from claude_usage.ui.history import AccountLine

    store = Store(paths.data_dir(env))
    lines = []
    for key in [*present, *([shown] if shown is not None and shown not in present else [])]:
        label: str | None = DEMO_LABEL if key == DEMO else None
        if label is None:
            try:
                label = plan(store.read(key))
            except (ClaudeUsageError, ValueError):  # an unreadable document, or an imported key it cannot name
                label = None
        name = DEMO_LABEL if key == DEMO else short_key(key)
        lines.append(AccountLine(key, short_key(key), label or "–", shown is None or key == shown, name))
    return lines


def _open(env: Mapping[str, str], *, importing: bool = False) -> History:
    from claude_usage.adapters.history import (
        BUSY_TIMEOUT_S,
        IMPORT_BUSY_TIMEOUT_S,
        History,
        history_path,
        retention_days,
    )

    history = History.open(
        history_path(env),
        retention_days=retention_days(env),
        on_notice=_say,
        busy_timeout_s=IMPORT_BUSY_TIMEOUT_S if importing else BUSY_TIMEOUT_S,
        read_only_fallback=not importing,  # showing and exporting work on a disk remounted read-only
    )
    if history.notice:
        _say(history.notice)
    return history


def _say(notice: str) -> None:
    print(f"claude-usage: {notice}", file=sys.stderr)


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


def _import(file: str, env: Mapping[str, str]) -> int:
    from claude_usage.adapters.history import rows_from_csv

    try:
        if file == "-":
            sys.stdin.reconfigure(newline="")  # type: ignore[union-attr]  # quoted newlines must survive
        handle = sys.stdin if file == "-" else open(file, newline="", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise CommandLineError(f"cannot read {file}: {exc.strerror or exc}") from exc
    try:
        with _open(env, importing=True) as history:
            added = history.import_rows(rows_from_csv(handle))
    finally:
        if handle is not sys.stdin:
            handle.close()
    print(f"imported {added} new row{'s' if added != 1 else ''} from {file}")
    return 0


def _show(rows: list[Row], now: datetime, accounts: list[AccountLine]) -> int:
    from claude_usage.commands.oneshot import console
    from claude_usage.ui.history import HistoryView

    console().print(HistoryView(rows, now, datetime.now().astimezone().tzinfo or timezone.utc, accounts=accounts))
    return 0
