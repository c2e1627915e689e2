"""`claude-usage --once` and `--json`: one reading, drawn once or printed as JSON, then exit.

The reading comes first and is printed before anything is filed in the history (a busy history never
delays the answer). Exit 4 when nothing is stored and the budget forbids asking.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING

from claude_usage.errors import ClaudeUsageError, UnavailableError

if TYPE_CHECKING:
    import argparse

    from rich.console import Console

    from claude_usage.service.reader import Reader, Snapshot

PROG = "claude-usage"


def run(reader: Reader, args: argparse.Namespace) -> int:
    """Take one reading (within the budget), show it, file it; exit status 0."""
    snapshot = reader.read(args.max_age, one_shot=True, wait_s=args.wait)
    try:
        if snapshot.empty:
            raise nothing_stored(reader, snapshot)
        for note in reader.service.notes:
            print(f"{PROG}: note: {note}", file=sys.stderr)
        if args.json:
            _print_json(reader, snapshot, args)
        else:
            _draw(reader, snapshot, args)
    finally:
        reader.file_history(snapshot.account)
    return 0


def refresh(reader: Reader, args: argparse.Namespace) -> int:
    """`claude-usage refresh`: one attempt into the shared store; the history filed in any case."""
    try:
        snapshot = reader.read(args.max_age)
    except ClaudeUsageError:
        reader.file_history(reader.key(None))  # no usable login: still file what the status line saw
        raise
    reader.file_history(snapshot.account)
    return 0


def _print_json(reader: Reader, snapshot: Snapshot, args: argparse.Namespace) -> None:
    from claude_usage.commands.jsondoc import dumps, snapshot_json

    now = reader.clock.now()
    document = snapshot_json(snapshot, now, max_age_s=args.max_age, insights=reader.insights(snapshot))
    sys.stdout.write(dumps(document) + "\n")
    sys.stdout.flush()


def _draw(reader: Reader, snapshot: Snapshot, args: argparse.Namespace) -> None:
    from claude_usage.ui.widgets import Dashboard, Frame

    now = reader.clock.now()
    tz = datetime.now().astimezone().tzinfo
    assert tz is not None  # noqa: S101 - astimezone() always sets one
    oldest = snapshot.oldest()
    stale = oldest is not None and (now - oldest).total_seconds() > args.max_age
    problem = None
    if (stale or snapshot.held_back) and not snapshot.requested:
        allowed = reader.next_allowed(snapshot)
        when = f"; the next request is allowed at {allowed.astimezone(tz):%H:%M:%S}" if allowed else ""
        problem = f"stored reading: no request was sent{when}"
    frame = Frame(
        usage=snapshot.usage,
        now=now,
        tz=tz,
        plan=snapshot.plan,
        demo=args.demo,
        notes=reader.service.notes,
        problem=problem,
        problem_kind="budget" if problem else None,
        updated_at=snapshot.fetched_at,
        cooling_until=snapshot.budget.cooldown_until,
        insights=reader.insights(snapshot),
    )
    console().print(Dashboard(frame))


def console() -> Console:
    """A Rich console; a nonsense width (COLUMNS=0) falls back to 80 columns rather than printing nothing."""
    from rich.console import Console

    found = Console(highlight=False)
    if found.width < 16:
        found = Console(highlight=False, width=80)
    return found


def nothing_stored(reader: Reader, snapshot: Snapshot) -> ClaudeUsageError:
    """Exit 4, saying as a local time and in seconds when a request will be allowed."""
    allowed = reader.next_allowed(snapshot)
    if allowed is None:
        return UnavailableError("no reading is stored for this account yet; another process is asking: try again")
    now = reader.clock.now()
    seconds = max(1, int((allowed - now).total_seconds() + 0.999))
    why = "it is rate limited" if snapshot.budget.cooling_down(now) else "the machine-wide request budget holds"
    return UnavailableError(
        f"no reading is stored for this account yet and {why}: the next request is allowed at "
        f"{allowed.astimezone():%H:%M:%S} (in {seconds} s)"
    )
