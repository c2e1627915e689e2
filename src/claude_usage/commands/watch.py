"""`claude-usage watch`: headless polling and alerts, for a login session, a systemd user service or launchd.

A poller like the live dashboard's (same budget, same interval floors; it keeps the heartbeat, so the status
lines trust its cadence), the alert rules on every reading, and one line per event on stderr and in a
rotating log file in the user state dir: its start and stop, every alert fired, every failed reading. SIGTERM,
SIGINT and SIGHUP stop it cleanly (exit 0). `--install-service` writes a unit instead (commands/watch_service.py).

Several accounts (`--account NAME=DIR`, or the config's `[accounts]`) get a poller and an evaluator each; their
log lines start with the account's name and their alerts carry `"account": NAME`.
"""

from __future__ import annotations

import signal
import sys
from typing import TYPE_CHECKING, Any

from claude_usage.commands import alerting, wiring

if TYPE_CHECKING:
    import argparse
    import threading
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path
    from types import FrameType

    from claude_usage.adapters.config import AlertsConfig
    from claude_usage.commands.wiring import Session
    from claude_usage.service.poller import Change

    Say = Callable[[str, str], None]

DESCRIPTION = (
    "Watch your usage headless: poll within the shared budget, fire the alerts (desktop, your command) and log "
    "one line per event to stderr and to a log file. For a login session, systemd or launchd."
)
JOIN_S = 2.0  # at the stop: how long to wait for a poll or a delivery under way


def configure(parser: argparse.ArgumentParser) -> None:
    wiring.add_polling_options(parser, demo="watch the built-in simulated account (no login needed)")
    alerting.add_alert_options(parser)
    parser.add_argument(
        "--install-service",
        action="store_true",
        help="write a systemd user unit (Linux) or a LaunchAgent (macOS) running this watch, start nothing, and "
        "print how to start it",
    )
    parser.add_argument("--force", action="store_true", help="with --install-service: replace an existing unit")
    wiring.add_account_option(parser)


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    config = alerting.load_config(args, env)
    alerts = alerting.with_flags(config.alerts, args)
    if args.install_service:
        from claude_usage.commands import watch_service

        return watch_service.install(args, env)
    from claude_usage.adapters.eventlog import EventLog, log_path

    with Stopping() as stop:
        log = EventLog(log_path(env, "watch"), stream=sys.stderr)
        try:
            with wiring.sessions(args, env) as sessions:
                try:
                    _watch(sessions, alerts, env, log.say, stop, source=config.source, log=log.path)
                finally:
                    log.say("stop", f"on {stop.reason}" if stop.reason else "on an error")
        finally:
            log.close()
    return 0


class Stopping:
    """Inside, SIGTERM, SIGINT and SIGHUP set an event (the main thread notices) instead of killing or raising."""

    def __init__(self) -> None:
        import threading

        self.event: threading.Event = threading.Event()
        self.reason: str | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Stopping:
        for name in ("SIGTERM", "SIGINT", "SIGHUP"):
            number = getattr(signal, name, None)
            if number is not None:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.reason is None:
            self.reason = signal.Signals(signum).name
        self.event.set()

    def __exit__(self, *exc: object) -> None:
        for number, action in self._previous.items():
            signal.signal(number, action)


def _watch(
    sessions: Sequence[Session],
    alerts: AlertsConfig,
    env: Mapping[str, str],
    say: Say,
    stop: Stopping,
    *,
    source: Path | None,
    log: Path | None,
) -> None:
    import os
    import threading

    from claude_usage.service.alerts import Evaluator
    from claude_usage.service.poller import Poller

    pollers: list[Poller] = []
    evaluators: list[Evaluator] = []
    several = len(sessions) > 1
    for session in sessions:
        own = _named(say, session.name) if several else say
        poller = Poller(session.reader, interval_s=session.interval_s, floor_s=session.floor_s)
        evaluator = alerting.evaluator(session.reader, alerts, env, say=own)
        poller.subscribe(evaluator.on_change)
        poller.subscribe(Outcomes(own, stop.event))
        pollers.append(poller)
        evaluators.append(evaluator)
    names = ", ".join(session.name for session in sessions)
    say(
        "start",
        f"watching account{'s' if several else ''} {names} every {sessions[0].interval_s:g} s (pid {os.getpid()}); "
        f"{alerting.describe(evaluators[0])}; config {source or 'none (the defaults)'}; log {log or 'stderr only'}",
    )
    wakes = [threading.Event() for _ in pollers]
    workers = [
        threading.Thread(target=poller.run_forever, args=(stop.event, wake), name="poller", daemon=True)
        for poller, wake in zip(pollers, wakes, strict=True)
    ]
    for worker in workers:
        worker.start()
    try:
        while not stop.event.wait(1.0):
            for poller in pollers:
                poller.watch_store()  # numbers other processes wrote (status lines) are readings too
    finally:
        stop.event.set()
        for wake in wakes:
            wake.set()
        for worker in workers:
            worker.join(JOIN_S)
        for evaluator in evaluators:
            evaluator.close(JOIN_S)


def _named(say: Say, name: str) -> Say:
    """`say`, each line starting with the account's name."""

    def said(kind: str, text: str) -> None:
        say(kind, f"{name}: {text}")

    return said


class Outcomes:
    """Logs every failed reading, and the first good one (and the first after failures)."""

    def __init__(self, say: Say, stopped: threading.Event) -> None:
        self.say = say
        self.stopped = stopped
        self.failing = True  # until the first good reading

    def __call__(self, change: Change) -> None:
        previous, current = change.previous, change.current
        if not previous.in_flight or current.in_flight or self.stopped.is_set():
            return  # not the end of a poll, or a poll cut short by the stop
        if current.problem is not None:
            self.say("error", f"reading failed ({current.problem_kind or 'unavailable'}): {current.problem}")
            self.failing = True
        elif self.failing and current.snapshot is not None:
            from claude_usage.core import fmt

            windows = current.snapshot.usage.windows
            shown = ", ".join(f"{w.key} {fmt.percent_text(w.utilization)}" for w in windows) or "no limits"
            self.say("ok", f"reading: {shown}")
            self.failing = False
