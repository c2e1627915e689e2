"""`claude-usage` (the default row): the live dashboard; `--once` and `--json` for one reading.

Without a terminal to redraw in (a pipe, CI), the dashboard draws one reading, like `--once`. The live
dashboard fires the alerts too (the process's one evaluator; the bell rings in its terminal) and logs them to
`dashboard.log` in the user state dir: its screen is the terminal. A malformed config file stops the live
dashboard (exit 2); a one-shot says so once on stderr and goes on with the defaults.

Several accounts (`--account NAME=DIR`, repeatable, or the config's `[accounts]`) are stacked, one titled
section each; `--json` then prints `{"accounts": [...]}` (commands/oneshot.py's `run_accounts`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from claude_usage.commands import alerting, wiring

if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping

    from claude_usage.service.poller import Poller
    from claude_usage.service.reader import Snapshot
    from claude_usage.service.usage_panel import UsagePanel

DESCRIPTION = "Live dashboard of your Claude subscription's usage limits (Pro, Max, Team, Enterprise)."


def configure(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="take one reading, draw it once, exit")
    mode.add_argument("--json", action="store_true", help="take one reading, print it as JSON on stdout, exit")
    wiring.add_polling_options(parser)
    wiring.add_one_shot_options(parser)
    wiring.add_account_option(parser)
    alerting.add_alert_options(parser)


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from claude_usage.commands import oneshot

    with wiring.sessions(args, env) as sessions:
        console = None if args.json or args.once else oneshot.console()
        if console is None or not console.is_terminal:
            args.once = not args.json  # no terminal to redraw in place: draw one reading, like --once
            alerting.warn_if_malformed(args, env)
            if len(sessions) == 1:
                return oneshot.run(sessions[0].reader, args)
            return oneshot.run_accounts(sessions, args)
        alerts = alerting.with_flags(alerting.load_config(args, env).alerts, args)
        from claude_usage.adapters.eventlog import EventLog, log_path
        from claude_usage.service.poller import Poller
        from claude_usage.ui import dashboard

        pollers = [Poller(s.reader, interval_s=s.interval_s, floor_s=s.floor_s) for s in sessions]
        log = EventLog(log_path(env, "dashboard"))  # the screen is the terminal's: the file only
        evaluators = []
        try:
            for poller in pollers:
                evaluator = alerting.evaluator(poller.reader, alerts, env, say=log.say, ring=console.bell)
                evaluators.append(evaluator)
                poller.subscribe(evaluator.on_change)
            names = [s.name for s in sessions] if len(sessions) > 1 else None
            panels = [] if names is not None or sessions[0].demo else [_panel(pollers[0], env)]
            return dashboard.run_accounts(pollers, names, console=console, demo=sessions[0].demo, panels=panels)
        finally:
            for evaluator in evaluators:
                evaluator.close(1.0)  # a delivery still under way is not worth holding up `q`
            log.close()


def _panel(poller: Poller, env: Mapping[str, str]) -> UsagePanel:
    """The usage panel of the one account shown: its window from the poller's reading, its history."""
    from claude_usage.service.usage_panel import UsagePanel

    def snapshot() -> Snapshot | None:
        return poller.view.snapshot

    return UsagePanel(env, snapshot, poller.reader.history, poller.clock.now)
