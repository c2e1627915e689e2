"""The dashboard's usage panel: the current 5-hour window's local usage, kept fresh in a background thread.

The transcript index (adapters/transcripts) is brought up to date at most once a minute in one worker
thread (one process: the dashboard has threads, so no fork); a frame reads the last result and never waits
for a scan, so a first scan of a big corpus delays no frame. The window is the API's `five_hour` window of
the account's latest reading, else the last five hours; who ate it comes from the history
(core/apportion.py; docs/transcripts.md, "Who ate this window").
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from claude_usage.errors import ClaudeUsageError

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable, Iterable, Mapping
    from datetime import datetime

    from claude_usage.adapters.history import History, Row
    from claude_usage.core.apportion import Reading, WindowUsage
    from claude_usage.service.reader import Snapshot

REFRESH_EVERY_S = 60.0
KEY = "five_hour"
_WINDOW_US = 5 * 3600 * 1_000_000


def _us(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def readings(rows: Iterable[Row]) -> list[Reading]:
    """History rows as official readings: each row at its first and at its last sighting."""
    from claude_usage.core.apportion import Reading

    found: list[Reading] = []
    for row in rows:
        resets = None if row.resets_at is None else _us(row.resets_at)
        found.append(Reading(row.key, resets, _us(row.observed_at), row.utilization))
        if row.last_seen_at != row.observed_at:
            found.append(Reading(row.key, resets, _us(row.last_seen_at), row.utilization))
    return found


def short_project(name: str, home: str) -> str:
    """A project's dir name without the home dir's prefix: `-home-ana-api-server` -> `api-server`."""
    prefix = "".join("-" if ch in "/." else ch for ch in home.rstrip("/")) + "-"
    if home and name.startswith(prefix) and len(name) > len(prefix):
        return name[len(prefix) :]
    return name


def compute(
    env: Mapping[str, str],
    snapshot: Snapshot | None,
    history: History | None,
    now: datetime,
    *,
    workers: int | None = 1,
    lock_wait_s: float = 5.0,
    update: bool = True,
) -> WindowUsage | None:
    """Scan what is new (unless `update` is false), then the current window's usage.

    None without any config dir with transcripts.
    """
    from claude_usage.adapters.pricing import load_table
    from claude_usage.adapters.transcripts import TranscriptIndex, config_roots, index_path
    from claude_usage.core.apportion import Share, apportion, window_usage, windows

    roots = config_roots(env)
    if not roots.dirs:
        return None
    now_us = _us(now)
    resets_us: int | None = None
    if snapshot is not None:
        for window in snapshot.usage.windows:
            if window.key == KEY and window.resets_at is not None and not window.reset_passed:
                resets_us = _us(window.resets_at)
    official = resets_us is not None
    end_us = resets_us if resets_us is not None else now_us
    start_us = end_us - _WINDOW_US
    table = load_table()
    with TranscriptIndex(index_path(env)) as index:
        if update:
            index.update(roots, workers=workers, lock_wait_s=lock_wait_s)
        groups = index.groups(roots, minutes=True, by_file=True, long_context_threshold=table.long_context_threshold)
    groups = [g for g in groups if start_us < g.first_us <= end_us]
    eaten = None
    if official and history is not None and snapshot is not None:
        from datetime import datetime, timedelta, timezone

        since = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=start_us)
        try:
            rows = history.rows(account=snapshot.account, key=KEY, since=since)
        except ClaudeUsageError:
            rows = []
        found = [w for w in windows(readings(rows)) if abs(w.resets_us - end_us) <= 10 * 60 * 1_000_000]
        if found:
            eaten = apportion(found[-1], groups, table)
    home = env.get("HOME") or os.path.expanduser("~")

    def short(shares: tuple[Share, ...]) -> tuple[Share, ...]:
        return tuple(s._replace(name=short_project(s.name, home)) for s in shares)

    if eaten is not None:
        eaten = eaten._replace(projects=short(eaten.projects))
    usage = window_usage(
        groups, table, start_us=start_us, end_us=end_us, now_us=now_us, official=official, apportionment=eaten
    )
    return usage._replace(projects=short(usage.projects))


class UsagePanel:
    """The latest WindowUsage of one account; `run_forever` refreshes it in the background."""

    def __init__(
        self,
        env: Mapping[str, str],
        snapshot: Callable[[], Snapshot | None],
        history: History | None,
        now: Callable[[], datetime],
        *,
        every_s: float = REFRESH_EVERY_S,
    ) -> None:
        self.env = env
        self.snapshot = snapshot
        self.history = history
        self.now = now
        self.every_s = every_s
        self.latest: WindowUsage | None = None  # None until the first scan ends
        self.problem: str | None = None
        import threading  # the live dashboard's: a one-shot `--json` imports this module without starting one

        self.ready = threading.Event()

    def refresh(self) -> None:
        try:
            self.latest = compute(self.env, self.snapshot(), self.history, self.now())
            self.problem = None
        except ClaudeUsageError as exc:
            self.problem = f"transcripts not counted this time: {exc}"

    def run_forever(self, stop: threading.Event) -> None:
        """Refresh now, then every `every_s` seconds until `stop` is set; never raises."""
        while not stop.is_set():
            try:
                self.refresh()
            except Exception as exc:  # noqa: BLE001 - the dashboard never dies of a transcript it cannot read
                self.problem = f"transcripts not counted this time: unexpected error ({type(exc).__name__})"
            finally:
                self.ready.set()
            stop.wait(self.every_s)


def compute_quietly(
    env: Mapping[str, str], snapshot: Snapshot | None, history: History | None, now: datetime
) -> WindowUsage | None:
    """`compute` for a one-shot `--json`, from the index as it stands: no scan (a scan of a large corpus would
    hold up the answer: `report`, the dashboard and `serve` keep the index current). None (the key null) when
    there is no index yet or the transcripts cannot be read now."""
    from claude_usage.adapters.transcripts import index_path

    if not os.path.exists(index_path(env)):
        return None
    try:
        return compute(env, snapshot, history, now, workers=None, lock_wait_s=2.0, update=False)
    except ClaudeUsageError:
        return None
