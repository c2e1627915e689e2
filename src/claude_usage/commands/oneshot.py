"""`claude-usage --once` and `--json`: one reading, drawn once or printed as JSON, then exit.

The reading comes first and is printed before anything is filed in the history (a busy history never
delays the answer). Exit 4 when nothing is stored and the budget forbids asking.

Several accounts (`run_accounts`) are read side by side; one that fails is shown with its error and never
hides the others: exit 0 while any answered, else 3 when any failed on its login, else 4.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from claude_usage.errors import AuthError, ClaudeUsageError, ExitCode, RateLimited, UnavailableError

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from datetime import tzinfo

    from rich.console import Console

    from claude_usage.commands.wiring import Session
    from claude_usage.service.reader import Reader, Snapshot
    from claude_usage.ui.widgets import Frame

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
    from claude_usage.service.usage_panel import compute_quietly

    usage = compute_quietly(reader.env, snapshot, reader.history, now)
    document = snapshot_json(
        snapshot, now, max_age_s=args.max_age, insights=reader.insights(snapshot), window_usage=usage
    )
    sys.stdout.write(dumps(document) + "\n")
    sys.stdout.flush()


def _draw(reader: Reader, snapshot: Snapshot, args: argparse.Namespace) -> None:
    from claude_usage.ui.widgets import Dashboard

    console().print(Dashboard(_frame(reader, snapshot, args)))


def _frame(reader: Reader, snapshot: Snapshot, args: argparse.Namespace, *, account: str | None = None) -> Frame:
    from claude_usage.ui.widgets import Frame

    now = reader.clock.now()
    tz = _local_zone()
    oldest = snapshot.oldest()
    stale = oldest is not None and (now - oldest).total_seconds() > args.max_age
    problem = None
    if (stale or snapshot.held_back) and not snapshot.requested:
        allowed = reader.next_allowed(snapshot)
        when = f"; the next request is allowed at {allowed.astimezone(tz):%H:%M:%S}" if allowed else ""
        problem = f"stored reading: no request was sent{when}"
    return Frame(
        usage=snapshot.usage,
        now=now,
        tz=tz,
        plan=snapshot.plan,
        demo=args.demo,
        account=account,
        notes=reader.service.notes,
        problem=problem,
        problem_kind="budget" if problem else None,
        updated_at=snapshot.fetched_at,
        cooling_until=snapshot.budget.cooldown_until,
        insights=reader.insights(snapshot),
    )


def _local_zone() -> tzinfo:
    tz = datetime.now().astimezone().tzinfo
    assert tz is not None  # noqa: S101 - astimezone() always sets one
    return tz


# -- several accounts ---------------------------------------------------------------------------------


class Outcome(NamedTuple):
    """One account's answer: its reading, or the error that stopped it (never both)."""

    session: Session
    snapshot: Snapshot | None = None
    error: BaseException | None = None


def run_accounts(sessions: Sequence[Session], args: argparse.Namespace) -> int:
    """Read every account side by side, show each (or its error) in order, file them; see the module's doc."""
    outcomes = read_all(sessions, args)
    try:
        for outcome in outcomes:
            for note in outcome.session.reader.service.notes:
                print(f"{PROG}: note: {outcome.session.name}: {note}", file=sys.stderr)
        if args.json:
            for outcome in outcomes:
                if outcome.error is not None:
                    print(f"{PROG}: {outcome.session.name}: {error_json(outcome.error)['message']}", file=sys.stderr)
            from claude_usage.commands.jsondoc import dumps

            sys.stdout.write(dumps({"accounts": [_account_json(outcome, args) for outcome in outcomes]}) + "\n")
            sys.stdout.flush()
        else:
            from claude_usage.ui.widgets import Dashboard

            shown = console()
            for outcome in outcomes:
                shown.print(Dashboard(_outcome_frame(outcome, args)))
    finally:
        for outcome in outcomes:
            if outcome.snapshot is not None:
                outcome.session.reader.file_history(outcome.snapshot.account)
    return exit_status(outcomes)


def read_all(sessions: Sequence[Session], args: argparse.Namespace) -> list[Outcome]:
    """Each account's one-shot reading, taken in threads of their own (a slow or failing one holds up no other)."""
    import threading

    found: list[Outcome] = [Outcome(session) for session in sessions]

    def read(index: int) -> None:
        session = sessions[index]
        try:
            snapshot = session.reader.read(args.max_age, one_shot=True, wait_s=args.wait)
            if snapshot.empty:
                raise nothing_stored(session.reader, snapshot)
        except Exception as exc:  # noqa: BLE001 - shown as this account's error; the others go on
            found[index] = Outcome(session, error=exc)
        else:
            found[index] = Outcome(session, snapshot=snapshot)

    threads = [
        threading.Thread(target=read, args=(i,), name=f"read-{s.name}", daemon=True) for i, s in enumerate(sessions)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.1)  # a short join: Ctrl+C still reaches the main thread
    return found


def error_json(error: BaseException) -> dict[str, Any]:
    """`{"type", "message", "exit_code"}`: our exception's class name, its one line, the exit status it stands for."""
    if isinstance(error, ClaudeUsageError):
        return {"type": type(error).__name__, "message": str(error), "exit_code": int(error.exit_code)}
    message = f"unexpected error ({type(error).__name__}); run with --debug for details"
    return {"type": type(error).__name__, "message": message, "exit_code": int(ExitCode.UNEXPECTED)}


def exit_status(outcomes: Sequence[Outcome]) -> int:
    """0 while any account answered; else 3 when any failed on its login, else 4."""
    codes = [error_json(o.error)["exit_code"] for o in outcomes if o.error is not None]
    if len(codes) < len(outcomes):
        return 0
    return int(ExitCode.AUTH) if ExitCode.AUTH in codes else int(ExitCode.UNAVAILABLE)


def _account_json(outcome: Outcome, args: argparse.Namespace) -> dict[str, Any]:
    document: dict[str, Any] = {"name": outcome.session.name}
    reader, snapshot = outcome.session.reader, outcome.snapshot
    if snapshot is None:
        document["error"] = error_json(outcome.error or UnavailableError("no reading"))
        return document
    from claude_usage.commands.jsondoc import snapshot_json

    now = reader.clock.now()
    document.update(snapshot_json(snapshot, now, max_age_s=args.max_age, insights=reader.insights(snapshot)))
    return document


def _outcome_frame(outcome: Outcome, args: argparse.Namespace) -> Frame:
    from claude_usage.ui.widgets import Frame

    reader, name = outcome.session.reader, outcome.session.name
    if outcome.snapshot is not None:
        return _frame(reader, outcome.snapshot, args, account=name)
    error = outcome.error
    kind = "auth" if isinstance(error, AuthError) else "rate_limited" if isinstance(error, RateLimited) else None
    return Frame(
        usage=None,
        now=reader.clock.now(),
        tz=_local_zone(),
        plan=reader.service.plan,
        account=name,
        problem=str(error_json(error or UnavailableError("no reading"))["message"]),
        problem_kind=kind or "unavailable",
        notes=reader.service.notes,
    )


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
