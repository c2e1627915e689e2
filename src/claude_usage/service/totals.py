"""Running totals of Claude Code's transcripts per model, kept fresh in the background for `serve`'s metrics.

The transcript index (adapters/transcripts) is brought up to date every few minutes in one worker thread
(one process: the server has threads, so no fork); a scrape reads the last totals and never waits for a
scan. Tokens are the index's de-duplicated sums; cost is at the shipped API price table, in dollars.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, NamedTuple

from claude_usage.errors import ClaudeUsageError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from claude_usage.adapters.transcripts import Roots
    from claude_usage.core.reports import UsageGroup

REFRESH_EVERY_S = 300.0


class ModelSums(NamedTuple):
    """One model's tokens by type, and their cost at API prices in dollars."""

    input: int = 0
    output: int = 0
    cache_write: int = 0
    cache_read: int = 0
    cost_usd: float = 0.0


def sums_by_model(groups: list[UsageGroup]) -> dict[str, ModelSums]:
    """The groups of the index summed per model, priced with the shipped table."""
    from claude_usage.adapters.pricing import load_table
    from claude_usage.core.pricing import usd

    table = load_table()
    units: dict[str, int] = {}
    found: dict[str, ModelSums] = {}
    for group in groups:
        cost = group.cost(table.lookup(group.model))
        units[group.model] = units.get(group.model, 0) + cost
        was = found.get(group.model, ModelSums())
        found[group.model] = ModelSums(
            was.input + group.input_tokens,
            was.output + group.output_tokens,
            was.cache_write + group.cache_write_5m + group.cache_write_1h,
            was.cache_read + group.cache_read,
        )
    return {model: sums._replace(cost_usd=usd(units[model])) for model, sums in found.items()}


class TranscriptTotals:
    """The latest per-model totals of one account's config dirs; `run_forever` keeps them fresh."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        every_s: float = REFRESH_EVERY_S,
        on_notice: Callable[[str], None] | None = None,
    ) -> None:
        self.env = env
        self.every_s = every_s
        self.on_notice = on_notice
        self._totals: dict[str, ModelSums] = {}
        self.ready = threading.Event()  # set once the first scan is done (or failed)

    def by_model(self) -> dict[str, ModelSums]:
        """The totals of the last scan (empty before the first one ends); never waits."""
        return self._totals

    def roots(self) -> Roots:
        from claude_usage.adapters.transcripts import config_roots

        return config_roots(self.env)

    def refresh(self) -> None:
        """Scan what is new in the transcripts into the index, then sum it (errors are said, not raised)."""
        from claude_usage.adapters.transcripts import TranscriptIndex, index_path

        roots = self.roots()
        if not roots.dirs:
            self._totals = {}
            return
        try:
            with TranscriptIndex(index_path(self.env)) as index:
                from claude_usage.adapters.pricing import load_table

                index.update(roots, workers=1, lock_wait_s=5.0)
                groups = index.groups(roots, long_context_threshold=load_table().long_context_threshold)
        except ClaudeUsageError as exc:
            if self.on_notice is not None:
                self.on_notice(f"transcripts not counted this time: {exc}")
            return
        self._totals = sums_by_model(groups)

    def run_forever(self, stop: threading.Event) -> None:
        """Refresh now, then every `every_s` seconds until `stop` is set."""
        while not stop.is_set():
            try:
                self.refresh()
            except Exception as exc:  # noqa: BLE001 - the server never dies of a transcript it cannot read
                if self.on_notice is not None:
                    self.on_notice(f"transcripts not counted this time: unexpected error ({type(exc).__name__})")
            finally:
                self.ready.set()
            stop.wait(self.every_s)
