"""The command line: `main(argv) -> int`, the one place errors become exit codes.

Each face (dashboard, one-shots) is imported inside its own branch, so `--help` and bad arguments
never pay for Rich or httpx.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, NoReturn

from claude_usage import __version__
from claude_usage.errors import ClaudeUsageError, CommandLineError, ExitCode

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from claude_usage.clock import Clock
    from claude_usage.service import UsageFetcher, UsageService

PROG = "claude-usage"
DEMO_INTERVAL_S = 10.0

EPILOG = """\
keys (live dashboard): q quit · r refresh now · Ctrl+C quit
exit status: 0 ok · 1 unexpected error · 2 bad command line · 3 authentication
             (no, unreadable or expired credentials; 401/403) · 4 service unavailable
             (network, timeout, 5xx, 429, unexpected reply) · 130 interrupted one-shot
environment: CLAUDE_CONFIG_DIR, CLAUDE_CODE_OAUTH_TOKEN, CLAUDE_USAGE_API_URL,
             CLAUDE_USAGE_USER_AGENT, NO_COLOR, HTTPS_PROXY (see the README)
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, exit 2 (argparse would print the whole usage first)."""
        self.exit(ExitCode.COMMAND_LINE, f"{self.prog}: {message} (see --help)\n")


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Live dashboard of your Claude subscription's usage limits (Pro, Max, Team).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="take one reading, draw it once, exit")
    mode.add_argument(
        "--json", action="store_true", help="take one reading, print it as JSON on stdout, exit"
    )
    parser.add_argument(
        "--interval",
        type=_positive_seconds,
        metavar="SECONDS",
        help="seconds between readings in the live dashboard (default 60; at least 10 against a remote "
        "endpoint, 1 against a loopback one)",
    )
    parser.add_argument(
        "--wait",
        type=_positive_seconds,
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
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else ExitCode.COMMAND_LINE
    try:
        return _run(args, os.environ)
    except ClaudeUsageError as exc:
        if args.debug:
            import traceback

            traceback.print_exc()
        print(f"{PROG}: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the last resort: one line, never a traceback unless --debug
        if args.debug:
            import traceback

            traceback.print_exc()
        print(
            f"{PROG}: unexpected error ({type(exc).__name__}); run with --debug for details", file=sys.stderr
        )
        return int(ExitCode.UNEXPECTED)


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
    interval = args.interval or (DEMO_INTERVAL_S if args.demo else budget.DEFAULT_INTERVAL_S)
    if interval < floor:
        where = "a loopback endpoint" if loopback else base_url
        raise CommandLineError(f"--interval must be at least {floor:g} s against {where} (got {interval:g})")
    try:
        with UsageClient(base_url, user_agent=user_agent(env), clock=clock) as client:
            service = _service(args, env, client, clock)
            if args.json or args.once:
                return _one_shot(service, args)
            return _live(service, args, interval, floor)
    finally:
        if standin is not None:
            standin.close()


def _service(
    args: argparse.Namespace, env: Mapping[str, str], client: UsageFetcher, clock: Clock
) -> UsageService:
    from claude_usage.adapters.credentials import CredentialReader
    from claude_usage.service import CredentialSource, UsageService

    credentials: CredentialSource
    if args.demo:
        from claude_usage.demo import demo_credentials

        credentials = demo_credentials()
    else:
        credentials = CredentialReader(env, clock=clock, use_keychain=not args.no_keychain)
    source = "demo" if args.demo else "api"
    return UsageService(client=client, credentials=credentials, clock=clock, source=source)


def _one_shot(service: UsageService, args: argparse.Namespace) -> int:
    reading = service.fetch_with_retries(wait_s=args.wait)
    for note in service.notes:
        print(f"{PROG}: note: {note}", file=sys.stderr)
    now = service.clock.now()
    if args.json:
        from claude_usage.report import dumps, reading_json

        sys.stdout.write(dumps(reading_json(reading, now)) + "\n")
        return 0
    from datetime import datetime

    from rich.console import Console

    from claude_usage.ui.widgets import Dashboard, Frame

    tz = datetime.now().astimezone().tzinfo
    assert tz is not None  # noqa: S101 - astimezone() always sets one
    frame = Frame(reading=reading, now=now, tz=tz, plan=reading.plan, demo=args.demo, notes=service.notes)
    Console(highlight=False).print(Dashboard(frame))
    return 0


def _live(service: UsageService, args: argparse.Namespace, interval: float, floor: float) -> int:
    from rich.console import Console

    from claude_usage.service import Poller

    console = Console(highlight=False)
    poller = Poller(service, interval_s=interval, min_spacing_s=max(floor, min(interval, 10.0)))
    if not console.is_terminal:
        args.once = True  # no terminal to redraw in place: draw one reading, like --once
        return _one_shot(service, args)
    from claude_usage.ui import dashboard

    return dashboard.run(poller, console=console, demo=args.demo)
