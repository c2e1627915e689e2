"""The command line: `main(argv) -> int`, the one place errors become exit codes.

Each face is imported inside its own branch: `claude-usage statusline` (run by Claude Code on every
render) never loads argparse, Rich or httpx; `--help` and bad arguments never pay for Rich or httpx.
"""

from __future__ import annotations

import os
import sys

from claude_usage import __version__
from claude_usage.errors import ClaudeUsageError, CommandLineError, ExitCode

TYPE_CHECKING = False  # not typing's: this module is on the status line's path
if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping, Sequence
    from typing import NoReturn

    from rich.console import Console

    from claude_usage.adapters.history import History
    from claude_usage.clock import Clock
    from claude_usage.service import SharedReader, Snapshot, UsageFetcher

PROG = "claude-usage"
DEMO_INTERVAL_S = 10.0
MAX_SECONDS = 86_400.0  # a day: longer intervals, ages or waits are typos

EPILOG = """\
commands:
  claude-usage statusline [--format FMT] [--max-age S] [--chain CMD]
                         the line Claude Code's status line shows (reads its JSON on stdin)
  claude-usage statusline install [--force] | uninstall
                         add/remove it in Claude Code's settings.json
  claude-usage refresh   take a reading into the shared store within the budget; print nothing
  claude-usage history [--account KEY] [--since WHEN]
                         past windows: peak, when, time at the limit; a chart of the weeks
  claude-usage history export (--csv | --json) [--summary] [--since WHEN] [--account KEY]
  claude-usage history import FILE

keys (live dashboard): q quit · r refresh now · Ctrl+C quit
exit status: 0 ok · 1 unexpected error · 2 bad command line or a user file we refuse to touch
             3 authentication (no, unreadable or expired credentials; 401/403)
             4 service unavailable (network, timeout, 5xx, 429, unexpected reply, nothing stored
               while the budget forbids a request) · 130 interrupted one-shot
environment: CLAUDE_CONFIG_DIR, CLAUDE_CODE_OAUTH_TOKEN, CLAUDE_USAGE_API_URL, CLAUDE_USAGE_DATA_DIR,
             CLAUDE_USAGE_MIN_SPACING, CLAUDE_USAGE_USER_AGENT, NO_COLOR, HTTPS_PROXY (see the README)
"""


def _seconds(text: str) -> float:
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 < value <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"expected seconds between 0 and {MAX_SECONDS:g}, got {text!r}")
    return value


def _age(text: str) -> float:
    """Like `_seconds`, but 0 is allowed (always ask, within the budget)."""
    return 0.0 if text.strip() in ("0", "0.0") else _seconds(text)


def build_parser() -> argparse.ArgumentParser:
    import argparse

    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> NoReturn:
            """One line, exit 2 (argparse would print the whole usage first)."""
            self.exit(ExitCode.COMMAND_LINE, f"{self.prog}: {message} (see --help)\n")

    parser = Parser(
        prog=PROG,
        description="Live dashboard of your Claude subscription's usage limits (Pro, Max, Team).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="take one reading, draw it once, exit")
    mode.add_argument("--json", action="store_true", help="take one reading, print it as JSON on stdout, exit")
    parser.add_argument(
        "--interval",
        type=_seconds,
        metavar="SECONDS",
        help="seconds between readings in the live dashboard (default 60; at least 10 against a remote "
        "endpoint, 1 against a loopback one)",
    )
    parser.add_argument(
        "--max-age",
        type=_age,
        default=30.0,
        metavar="SECONDS",
        help="one-shots: use a stored reading younger than this instead of asking (default 30)",
    )
    parser.add_argument(
        "--min-spacing",
        type=_seconds,
        metavar="SECONDS",
        help="no two requests for an account, from any process, closer than this (default 30, or "
        "$CLAUDE_USAGE_MIN_SPACING; at least 10 remote, 1 loopback)",
    )
    parser.add_argument(
        "--wait",
        type=_seconds,
        default=30.0,
        metavar="SECONDS",
        help="how long a one-shot may keep retrying transient failures (default 30)",
    )
    parser.add_argument(
        "--demo", action="store_true", help="run against a built-in simulated account (no login needed)"
    )
    parser.add_argument(
        "--no-keychain", action="store_true", help="macOS: never read the login Keychain (use the file only)"
    )
    parser.add_argument("--debug", action="store_true", help="show a traceback on unexpected errors")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["statusline"]:
        from claude_usage.statusline import main as statusline_main

        return statusline_main(args_list[1:])
    if args_list[:1] == ["history"]:
        from claude_usage.history_cli import main as history_main

        return history_main(args_list[1:])
    refresh = args_list[:1] == ["refresh"]
    if refresh:
        args_list = ["--json", "--max-age", "60", *args_list[1:]]
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else ExitCode.COMMAND_LINE
    args.quiet = refresh
    return _guarded(args, os.environ)


def _guarded(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    try:
        return _run(args, env)
    except ClaudeUsageError as exc:
        _debug(args)
        if not args.quiet:
            print(f"{PROG}: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _quiet_broken_pipe()
        return 0
    except Exception as exc:  # noqa: BLE001 - the last resort: one line, never a traceback unless --debug
        _debug(args)
        print(f"{PROG}: unexpected error ({type(exc).__name__}); run with --debug for details", file=sys.stderr)
        return int(ExitCode.UNEXPECTED)


def _debug(args: argparse.Namespace) -> None:
    if args.debug:
        import traceback

        traceback.print_exc()


def _quiet_broken_pipe() -> None:
    """The reader went away (`| head`): nothing left to say, and nothing more to flush at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        return


def _spacing(args: argparse.Namespace, env: Mapping[str, str], floor: float, where: str) -> float:
    """The machine-wide spacing this process honours: option, else environment, else 30 s; never below the floor."""
    import argparse

    from claude_usage.core.shared import DEFAULT_SPACING_S

    spacing = args.min_spacing
    if spacing is None and env.get("CLAUDE_USAGE_MIN_SPACING"):
        try:
            spacing = _seconds(env["CLAUDE_USAGE_MIN_SPACING"])
        except argparse.ArgumentTypeError:
            if args.quiet:
                return DEFAULT_SPACING_S
            raise CommandLineError(
                f"CLAUDE_USAGE_MIN_SPACING={env['CLAUDE_USAGE_MIN_SPACING']!r} is not a number of seconds"
            ) from None
    if spacing is None:
        spacing = DEFAULT_SPACING_S
    if spacing < floor:
        if args.quiet:  # a background refresh has nobody to tell: keep to the floor instead
            spacing = floor
        else:
            raise CommandLineError(
                f"the minimum spacing must be at least {floor:g} s against {where} (got {spacing:g})"
            )
    if args.interval is not None and args.interval < spacing:
        spacing = max(floor, args.interval)  # an explicit interval lowers it for this process's own requests
    return float(spacing)


def _run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from claude_usage.adapters.api import UsageClient, resolve_base_url, user_agent
    from claude_usage.clock import SystemClock
    from claude_usage.core import budget

    clock = SystemClock()
    standin = None
    if args.demo:
        from claude_usage.demo import SimulatedAccount
        from claude_usage.standin import StandIn

        standin = StandIn(SimulatedAccount(clock)).start()
        base_url, loopback = standin.url, True
    else:
        base_url, loopback = resolve_base_url(env)
    floor = budget.min_interval(loopback)
    where = "a loopback endpoint" if loopback else base_url
    interval = args.interval or (DEMO_INTERVAL_S if args.demo else budget.DEFAULT_INTERVAL_S)
    if interval < floor:
        raise CommandLineError(f"--interval must be at least {floor:g} s against {where} (got {interval:g})")
    spacing = _spacing(args, env, floor, where)
    if args.demo and args.interval is None:
        spacing = min(spacing, interval)  # the demo's own account, on loopback: its interval is its budget
    try:
        with UsageClient(base_url, user_agent=user_agent(env), clock=clock) as client:
            reader = _reader(args, env, client, clock, spacing, floor)
            if args.json or args.once:
                return _one_shot(reader, args)
            return _live(reader, args, interval)
    finally:
        if standin is not None:
            standin.close()


def _reader(
    args: argparse.Namespace,
    env: Mapping[str, str],
    client: UsageFetcher,
    clock: Clock,
    spacing: float,
    floor: float,
) -> SharedReader:
    from claude_usage.adapters import paths
    from claude_usage.adapters.account import DEMO
    from claude_usage.adapters.credentials import CredentialReader
    from claude_usage.adapters.store import Store
    from claude_usage.service import CredentialSource, SharedReader, UsageService

    credentials: CredentialSource
    if args.demo:
        from claude_usage.demo import demo_credentials

        credentials = demo_credentials()
    else:
        credentials = CredentialReader(env, clock=clock, use_keychain=not args.no_keychain)
    service = UsageService(client=client, credentials=credentials, clock=clock, source="demo" if args.demo else "api")
    claude_state = None
    if not args.demo:
        from claude_usage.adapters.claude_state import ClaudeState

        claude_state = ClaudeState(env)
    store = Store(paths.data_dir(env))
    history = _history(env)
    return SharedReader(
        service,
        store,
        env=env,
        spacing_s=spacing,
        spacing_floor_s=floor,
        claude_state=claude_state,
        fixed_account=DEMO if args.demo else None,
        history=history,
        pace_tolerance_pct=_pace_tolerance(env),
    )


def _pace_tolerance(env: Mapping[str, str]) -> float:
    """$CLAUDE_USAGE_PACE_TOLERANCE: how many points off pace still count as on pace (default 5)."""
    from claude_usage.core.pace import ON_PACE_TOLERANCE_PCT

    text = env.get("CLAUDE_USAGE_PACE_TOLERANCE", "").strip()
    if not text:
        return ON_PACE_TOLERANCE_PCT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 100:
        raise CommandLineError(f"CLAUDE_USAGE_PACE_TOLERANCE={text!r}: expected percentage points from 0 to 100")
    return value


def _history(env: Mapping[str, str]) -> History | None:
    """The history of every reading, or None when it cannot be opened (said once; readings go on)."""
    from claude_usage.adapters.history import History, history_path, retention_days
    from claude_usage.errors import UnavailableError

    try:
        history = History.open(history_path(env), retention_days=retention_days(env))
    except UnavailableError as exc:
        print(f"{PROG}: {exc}; continuing without history", file=sys.stderr)
        return None
    if history.notice:
        print(f"{PROG}: {history.notice}", file=sys.stderr)
    return history


def _one_shot(reader: SharedReader, args: argparse.Namespace) -> int:
    if args.quiet:  # `refresh`, usually started by a status line: one attempt, history filed in any case
        try:
            reader.read(args.max_age)
        except ClaudeUsageError:
            reader.snapshot(reader.account(None))  # no usable login: still file what the status line saw
            raise
        return 0
    snapshot = reader.read(args.max_age, one_shot=True, wait_s=args.wait)
    now = reader.clock.now()
    if snapshot.empty:
        raise _nothing_stored(reader, snapshot)
    if args.quiet:
        return 0
    for note in reader.service.notes:
        print(f"{PROG}: note: {note}", file=sys.stderr)
    if args.json:
        from claude_usage.report import dumps, snapshot_json

        insights = reader.insights(snapshot)
        sys.stdout.write(dumps(snapshot_json(snapshot, now, max_age_s=args.max_age, insights=insights)) + "\n")
        sys.stdout.flush()
        return 0
    from datetime import datetime

    from claude_usage.ui.widgets import Dashboard, Frame

    tz = datetime.now().astimezone().tzinfo
    assert tz is not None  # noqa: S101 - astimezone() always sets one
    oldest = snapshot.oldest()
    stale = oldest is not None and (now - oldest).total_seconds() > args.max_age
    problem = None
    if stale and not snapshot.requested:
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
    _console().print(Dashboard(frame))
    return 0


def _console() -> Console:
    """A Rich console; a nonsense width (COLUMNS=0) falls back to 80 columns rather than printing nothing."""
    from rich.console import Console

    console = Console(highlight=False)
    if console.width < 16:
        console = Console(highlight=False, width=80)
    return console


def _nothing_stored(reader: SharedReader, snapshot: Snapshot) -> ClaudeUsageError:
    """Exit 4, saying as a local time and in seconds when a request will be allowed."""
    from claude_usage.errors import UnavailableError

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


def _live(reader: SharedReader, args: argparse.Namespace, interval: float) -> int:
    from claude_usage.service import Poller

    console = _console()
    if not console.is_terminal:
        args.once = True  # no terminal to redraw in place: draw one reading, like --once
        return _one_shot(reader, args)
    from claude_usage.ui import dashboard

    poller = Poller(reader, interval_s=interval, floor_s=reader.spacing_floor_s)
    return dashboard.run(poller, console=console, demo=args.demo)
