"""The alert evaluator of one process: listens to a Poller, decides under the shared store's lock, delivers.

One evaluator per process (the dashboard's or `watch`'s). Its state is a document of its own in the shared store
(`<data dir>/alerts/<account>.json`), read, decided on and written under that document's lock: whichever process
takes the lock first fires an alert and records it, and the next one finds it fired, so two running monitors
never both fire it, and a restart does not fire it again. The rules are core/alerts.py's.

`on_change` (a Poller subscriber: called in the poll or UI thread, inside the poller's lock) only queues the
view; a worker thread of the evaluator evaluates, and the channels deliver in threads of their own
(adapters/notify.py's Dispatcher), so neither the store's lock nor a slow channel ever holds up the poll loop.
Quiet hours hold the desktop alerts in the shared state; the first evaluation after them shows one summary.
"""

from __future__ import annotations

import os
import queue
import threading
from typing import TYPE_CHECKING, Any

from claude_usage.core import alerts as rules
from claude_usage.core.alerts import DESKTOP
from claude_usage.errors import ClaudeUsageError

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import tzinfo

    from claude_usage.adapters.config import AlertsConfig
    from claude_usage.adapters.notify import Dispatcher
    from claude_usage.adapters.store import Store
    from claude_usage.clock import Clock
    from claude_usage.core.alerts import Alert
    from claude_usage.insights import Insights
    from claude_usage.service.poller import Change
    from claude_usage.service.reader import Snapshot

    Say = Callable[[str, str], None]

RECHECK_S = 30.0  # evaluate at least this often while readings come (lose_it and quiet hours move with the clock)
LOCK_WAIT_S = 5.0
STORE_DIR = "alerts"


def alert_store(data_dir: str | os.PathLike[str]) -> Store:
    """The store of alert states, beside the readings: one document per account, with its own lock."""
    from claude_usage.adapters.store import Store

    return Store(os.path.join(os.fspath(data_dir), STORE_DIR))


class Evaluator:
    """Fires each alert once across every process, and hands it to the channels that are on."""

    def __init__(
        self,
        store: Store,
        config: AlertsConfig,
        dispatcher: Dispatcher,
        *,
        account_name: str,
        clock: Clock,
        say: Say,
        tz: tzinfo | None = None,
        lock_wait_s: float = LOCK_WAIT_S,
    ) -> None:
        self.store = store
        self.config = config
        self.dispatcher = dispatcher
        self.account_name = account_name
        self.clock = clock
        self.say = say
        self.tz = tz  # None: the system's local zone at each evaluation (it follows DST)
        self.lock_wait_s = lock_wait_s
        self._queue: queue.Queue[tuple[Snapshot, Insights | None] | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._last = float("-inf")

    # -- listening --------------------------------------------------------------------------------------

    def start(self) -> Evaluator:
        """Start the worker that evaluates what `on_change` queues."""
        self._worker = threading.Thread(target=self._work, name="alerts", daemon=True)
        self._worker.start()
        return self

    def on_change(self, change: Change) -> None:
        """A Poller subscriber: queue each new reading (and, every RECHECK_S, the current one); never blocks."""
        view = change.current
        if view.snapshot is None:
            return
        fresh = view.snapshot is not change.previous.snapshot or view.insights is not change.previous.insights
        now = self.clock.monotonic()
        if not fresh and now - self._last < RECHECK_S:
            return
        self._last = now
        self._queue.put((view.snapshot, view.insights))

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                self.evaluate(*item)
            except Exception as exc:  # noqa: BLE001 - alerts never take the monitor down: log, go on
                self.say("error", f"alerts: unexpected error ({type(exc).__name__}: {exc})")

    def close(self, timeout_s: float = 2.0) -> None:
        """Evaluate what is queued, then stop; each step waits at most `timeout_s` (deliveries under way too)."""
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join(timeout_s)
        self.dispatcher.close(timeout_s)

    # -- deciding ---------------------------------------------------------------------------------------

    def targets(self, alert: Alert) -> list[str]:
        """The channels that are on and that `alert`'s rule uses."""
        return [name for name in self.config.channels_for(alert.rule) if name in self.dispatcher.channels]

    def evaluate(self, snapshot: Snapshot, insights: Insights | None) -> list[Alert]:
        """Fire what this reading fires (recorded in the shared state first), deliver it; the alerts fired."""
        now = self.clock.now()
        local = now.astimezone(self.tz) if self.tz is not None else now.astimezone()
        tz = local.tzinfo
        assert tz is not None  # noqa: S101 - astimezone() always sets one
        quiet = rules.in_quiet(self.config.quiet, local)
        desktop_on = DESKTOP in self.dispatcher.channels
        forecasts = insights.forecasts if insights is not None else {}
        decided: list[tuple[list[Alert], list[dict[str, Any]]]] = []

        def change(doc: dict[str, Any]) -> dict[str, Any] | None:
            fired, state = rules.evaluate(
                doc, snapshot.usage, forecasts, self.config.rules(), now=now, tz=tz, account=self.account_name
            )
            held: list[dict[str, Any]] = []
            if desktop_on and quiet:
                state = rules.hold(state, [alert for alert in fired if DESKTOP in self.targets(alert)])
            elif desktop_on:
                held, state = rules.take_held(state)
            decided[:] = [(fired, held)]
            return state if state != doc else None

        try:
            self.store.update(snapshot.account, change, timeout_s=self.lock_wait_s)
        except ClaudeUsageError as exc:
            self.say("error", f"alerts: not evaluated this time: {exc}")
            return []
        if not decided:
            return []
        fired, held = decided[0]
        for alert in fired:
            self.say(alert.rule, f"{alert.key}: {alert.message}")
            for name in self.targets(alert):
                if name == DESKTOP and quiet:
                    continue  # held in the shared state for the summary
                self.dispatcher.send(name, alert)
        if held:
            text = rules.summary(held, self.config.quiet)
            self.say("summary", text)
            self._show(text)
        return fired

    def _show(self, text: str) -> None:
        """The summary of quiet hours: one desktop notification."""
        from claude_usage.adapters.notify import Desktop

        desktop = self.dispatcher.channels.get(DESKTOP)
        if isinstance(desktop, Desktop):
            self.dispatcher.submit(DESKTOP, lambda: desktop.show(text))
