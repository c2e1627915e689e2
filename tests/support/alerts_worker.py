"""A process that evaluates alerts against the shared store, for the two-process test in tests/test_alert_service.py.

Run as `python alerts_worker.py ROOT WINDOWS`: prints "ready", waits for a line on stdin (so that the test can
start both at the same moment), then evaluates readings of 50, 82 and 96 % in each of WINDOWS consecutive
session windows, printing every alert it fired as one JSON line `[rule, resets_at, threshold]`, then "done".
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone

from claude_usage.adapters.config import AlertsConfig
from claude_usage.adapters.notify import Dispatcher
from claude_usage.core.model import FIVE_HOURS, Usage, Window
from claude_usage.core.shared import SharedBudget
from claude_usage.service.alerts import Evaluator, alert_store
from claude_usage.service.reader import Snapshot
from tests.support.fakes import ACCOUNT_KEY, FakeClock

FIRST_RESET = datetime(2026, 11, 24, 15, 0, 0, 482311, tzinfo=timezone.utc)


def main(root: str, windows: str) -> None:
    clock = FakeClock()
    evaluator = Evaluator(
        alert_store(root),
        AlertsConfig(),
        Dispatcher([], lambda kind, text: None),
        account_name="default",
        clock=clock,
        say=lambda kind, text: None,
        tz=timezone.utc,
    )
    print("ready", flush=True)
    sys.stdin.readline()
    for index in range(int(windows)):
        resets_at = FIRST_RESET + index * FIVE_HOURS
        clock.wall = resets_at - timedelta(hours=2)
        for value in (50.0, 82.0, 96.0):
            window = Window("five_hour", "Current session", value, resets_at, period=FIVE_HOURS)
            snapshot = Snapshot(account=ACCOUNT_KEY, usage=Usage(windows=(window,)), budget=SharedBudget({}))
            for alert in evaluator.evaluate(snapshot, None):
                print(json.dumps([alert.rule, resets_at.isoformat(), alert.threshold]), flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
