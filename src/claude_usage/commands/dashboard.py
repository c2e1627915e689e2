"""`claude-usage` (the default row): the live dashboard; `--once` and `--json` for one reading.

Without a terminal to redraw in (a pipe, CI), the dashboard draws one reading, like `--once`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from claude_usage.commands import wiring

if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping

DESCRIPTION = "Live dashboard of your Claude subscription's usage limits (Pro, Max, Team, Enterprise)."


def configure(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="take one reading, draw it once, exit")
    mode.add_argument("--json", action="store_true", help="take one reading, print it as JSON on stdout, exit")
    parser.add_argument(
        "--interval",
        type=wiring.seconds,
        metavar="SECONDS",
        help="seconds between readings in the live dashboard (default 60; at least 10 against a remote "
        "endpoint, 1 against a loopback one)",
    )
    wiring.add_reading_options(parser)


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from claude_usage.commands import oneshot

    with wiring.session(args, env) as session:
        if args.json or args.once:
            return oneshot.run(session.reader, args)
        console = oneshot.console()
        if not console.is_terminal:
            args.once = True  # no terminal to redraw in place: draw one reading, like --once
            return oneshot.run(session.reader, args)
        from claude_usage.service.poller import Poller
        from claude_usage.ui import dashboard

        poller = Poller(session.reader, interval_s=session.interval_s, floor_s=session.floor_s)
        return dashboard.run(poller, console=console, demo=session.demo)
