"""The evaluator (service/alerts.py) over the real shared store: once across restarts and processes, quiet hours."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import datetime, time, timezone
from pathlib import Path
from typing import Any

import pytest

from claude_usage.adapters.config import AlertsConfig
from claude_usage.adapters.notify import Bell, Channel, Command, Desktop, Dispatcher
from claude_usage.adapters.store import Store
from claude_usage.core.model import FIVE_HOURS, Usage, Window
from claude_usage.core.shared import SharedBudget
from claude_usage.service.alerts import Evaluator, alert_store
from claude_usage.service.poller import Poller
from claude_usage.service.reader import Snapshot
from tests.conftest import fresh_fixture
from tests.support.fakes import ACCOUNT_KEY, FakeClock, ScriptedClient, build_reader
from tests.support.recorders import env_with_path, fake_notifier, recorded, stdin_command, wait_for

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "tests" / "support" / "store_worker.py"
RESET = datetime(2026, 11, 24, 15, 0, 0, 482311, tzinfo=timezone.utc)
QUIET = (time(22, 0), time(8, 0))


class Said:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def __call__(self, kind: str, text: str) -> None:
        self.lines.append((kind, text))


def snapshot(value: float, resets_at: datetime = RESET) -> Snapshot:
    window = Window("five_hour", "Current session", value, resets_at, period=FIVE_HOURS)
    return Snapshot(account=ACCOUNT_KEY, usage=Usage(windows=(window,)), budget=SharedBudget({}))


def evaluator(
    root: Path,
    clock: FakeClock,
    *,
    config: AlertsConfig | None = None,
    channels: list[Channel] | None = None,
    said: Said | None = None,
) -> Evaluator:
    return Evaluator(
        alert_store(root),
        config or AlertsConfig(),
        Dispatcher(channels or [], said or Said()),
        account_name="default",
        clock=clock,
        say=said or Said(),
        tz=timezone.utc,
    )


def fired(alerts: list[Any]) -> list[tuple[str, float | None]]:
    return [(a.rule, a.threshold) for a in alerts]


def test_an_alert_fires_once_across_restarts(tmp_path: Path) -> None:
    """A second evaluator over the same store (the monitor restarted) does not fire it again."""
    clock = FakeClock()
    first = evaluator(tmp_path, clock).evaluate(snapshot(82.0), None)
    after_restart = evaluator(tmp_path, clock).evaluate(snapshot(83.0), None)
    assert ([("threshold", 80.0)], []) == (fired(first), fired(after_restart))


def test_it_fires_again_in_the_next_window_after_a_restart(tmp_path: Path) -> None:
    """The state survives the restart: the next window's 80 % fires, with the reset's previous peak."""
    clock = FakeClock()
    evaluator(tmp_path, clock).evaluate(snapshot(82.0), None)
    clock.advance(5 * 3600)
    alerts = evaluator(tmp_path, clock).evaluate(snapshot(81.0, RESET + FIVE_HOURS), None)
    assert [("reset", None, 82.0), ("threshold", 80.0, None)] == [
        (a.rule, a.threshold, a.previous_peak) for a in alerts
    ]


def test_the_state_lives_in_a_document_of_its_own(tmp_path: Path) -> None:
    """The alert state is the store's alerts/<account>.json, not the readings' document."""
    evaluator(tmp_path, FakeClock()).evaluate(snapshot(82.0), None)
    doc = Store(tmp_path / "alerts").read(ACCOUNT_KEY)
    assert ["threshold:80"] == doc["windows"]["five_hour"]["fired"]


def test_two_processes_fire_each_alert_once_in_all(tmp_path: Path) -> None:
    """Two evaluators in two processes, racing through the same readings, fire every alert exactly once."""
    windows = 12
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.support.alerts_worker", str(tmp_path), str(windows)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = []
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert "ready\n" == proc.stdout.readline()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outputs = [proc.communicate(timeout=120)[0] for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    lines = [line for out in outputs for line in out.splitlines() if line != "done"]
    counts = Counter(tuple(json.loads(line)) for line in lines)
    resets = [(RESET + k * FIVE_HOURS).isoformat() for k in range(windows)]
    expected = Counter(
        [("threshold", r, 80.0) for r in resets]
        + [("threshold", r, 95.0) for r in resets]
        + [("reset", r, None) for r in resets[1:]]
    )
    assert (expected, [0, 0]) == (counts, [proc.returncode for proc in procs])


def test_quiet_hours_hold_desktop_alerts(tmp_path: Path) -> None:
    """At 23:00 within quiet hours 22:00-08:00, the alert fires but notify-send is not run."""
    fake_notifier(tmp_path / "bin", "notify-send", tmp_path / "argv.log")
    said = Said()
    desktop = Desktop(env_with_path(tmp_path / "bin"), said)
    clock = FakeClock(datetime(2026, 11, 24, 23, 0, tzinfo=timezone.utc))
    late = evaluator(tmp_path, clock, config=AlertsConfig(quiet=QUIET), channels=[desktop], said=said)
    alerts = late.evaluate(snapshot(82.0, datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)), None)
    late.close()
    assert ([("threshold", 80.0)], []) == (fired(alerts), recorded(tmp_path / "argv.log"))


def test_quiet_hours_hold_only_the_desktop(tmp_path: Path) -> None:
    """The user's command is not held by quiet hours."""
    out = tmp_path / "alerts.json"
    command = Command(stdin_command(tmp_path, out), timeout_s=10, env=dict(os.environ))
    clock = FakeClock(datetime(2026, 11, 24, 23, 0, tzinfo=timezone.utc))
    late = evaluator(tmp_path, clock, config=AlertsConfig(quiet=QUIET), channels=[command])
    late.evaluate(snapshot(82.0, datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)), None)
    late.close(10)
    assert "threshold" == json.loads(out.read_text())["rule"]


def test_after_quiet_hours_one_summary_is_shown_once(tmp_path: Path) -> None:
    """The alerts held overnight come back as one notification at the first evaluation after 08:00, once."""
    fake_notifier(tmp_path / "bin", "notify-send", tmp_path / "argv.log")
    env = env_with_path(tmp_path / "bin")
    clock = FakeClock(datetime(2026, 11, 24, 23, 0, tzinfo=timezone.utc))
    config = AlertsConfig(quiet=QUIET)
    night = evaluator(tmp_path, clock, config=config, channels=[Desktop(env, Said())])
    night.evaluate(snapshot(82.0, datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)), None)
    clock.advance(2 * 3600)
    night.evaluate(snapshot(3.0, datetime(2026, 11, 25, 6, 0, tzinfo=timezone.utc)), None)
    night.close()
    clock.wall = datetime(2026, 11, 25, 8, 5, tzinfo=timezone.utc)
    morning = [evaluator(tmp_path, clock, config=config, channels=[Desktop(env, Said())]) for _ in range(2)]
    for each in morning:
        each.evaluate(snapshot(3.0, datetime(2026, 11, 25, 6, 0, tzinfo=timezone.utc)), None)
        each.close(10)
    expected = [
        [
            "Claude usage",
            "2 alerts while quiet (22:00–08:00):\n"
            "Current session: 82% used (alert at 80%), resets at 02:00 (in 3h)\n"
            "Current session has reset (it had reached 82%): 3% used, resets at 06:00 (in 5h)",
        ]
    ]
    assert expected == recorded(tmp_path / "argv.log")


def test_channels_per_rule_are_honoured(tmp_path: Path) -> None:
    """With channels.threshold = ["command"], a threshold alert rings no bell."""
    rings: list[int] = []
    out = tmp_path / "alerts.json"
    channels: list[Channel] = [
        Bell(lambda: rings.append(1)),
        Command(stdin_command(tmp_path, out), timeout_s=10, env=dict(os.environ)),
    ]
    config = AlertsConfig(channels={"threshold": ("command",)})
    each = evaluator(tmp_path, FakeClock(), config=config, channels=channels)
    each.evaluate(snapshot(82.0), None)
    each.close(10)
    assert ([], "threshold") == (rings, json.loads(out.read_text())["rule"])


def test_a_busy_store_fires_nothing_and_says_so(tmp_path: Path) -> None:
    """While another process holds the alert state's lock, nothing fires; the next reading fires it."""
    said = Said()
    busy = evaluator(tmp_path, FakeClock(), said=said)
    busy.lock_wait_s = 0.2
    worker = subprocess.Popen(
        [sys.executable, str(WORKER), "hold-update", str(tmp_path / "alerts"), ACCOUNT_KEY],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stdout is not None
        assert "held\n" == worker.stdout.readline()
        during = busy.evaluate(snapshot(82.0), None)
        logged = [kind for kind, _ in said.lines]
    finally:
        worker.communicate("release\n", timeout=30)
    after = busy.evaluate(snapshot(82.0), None)
    assert ([], ["error"], [("threshold", 80.0)]) == (during, logged, fired(after))


def test_the_evaluator_listens_to_a_poller(tmp_path: Path) -> None:
    """Subscribed to a real Poller, a reading at 78 % fires nothing and one at 96 % fires 95 %."""
    clock = FakeClock()
    reply = fresh_fixture("max-typical", clock.now())
    client = ScriptedClient(reply)
    reader = build_reader(Store(tmp_path / "data"), clock, client)
    poller = Poller(reader, interval_s=60, floor_s=10)
    said = Said()
    listening = evaluator(tmp_path / "data", clock, said=said).start()
    poller.subscribe(listening.on_change)
    poller.run_due()
    raised = {**reply, "five_hour": {**reply["five_hour"], "utilization": 96.0}}
    client.outcomes = [raised]
    clock.advance(61)
    poller.run_due()
    wait_for(lambda: any(kind == "threshold" for kind, _ in said.lines))
    listening.close()
    assert ["five_hour"] == [text.split(":")[0] for kind, text in said.lines if kind == "threshold"]


@pytest.fixture(autouse=True)
def _no_real_notifier(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test here may reach a real notify-send: PATH holds only the test's own bin dir."""
    (tmp_path / "bin").mkdir(exist_ok=True)
    monkeypatch.setenv("PATH", str(tmp_path / "bin") + os.pathsep + os.path.dirname(sys.executable))
