"""The live dashboard: on the alternate screen, redrawn in place once a second (changed lines only).

A worker thread polls (the endpoint may take seconds to answer; the countdowns keep ticking meanwhile);
the main thread draws and reads keys: `q` quits, `r` asks for a reading now. Ctrl+C quits cleanly.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import TYPE_CHECKING

from rich.segment import Segment

from claude_usage.ui.keys import KeyReader
from claude_usage.ui.widgets import Dashboard, Frame

if TYPE_CHECKING:
    from datetime import tzinfo
    from types import TracebackType

    from rich.console import Console, ConsoleRenderable

    from claude_usage.service.poller import Poller

# While waiting for a reading, look for it this often so it shows at once.
_FAST_TICK_S = 0.05


def frame_now(poller: Poller, *, tz: tzinfo, demo: bool, live: bool = True) -> Frame:
    """The frame for this instant, from the poller's latest view."""
    view = poller.view
    snapshot = view.snapshot
    return Frame(
        usage=snapshot.usage if snapshot else None,
        now=poller.clock.now(),
        tz=tz,
        plan=view.plan,
        demo=demo,
        live=live,
        problem=view.problem,
        problem_kind=view.problem_kind,
        notes=view.notes,
        next_due=view.next_due,
        cooling_until=snapshot.budget.cooldown_until if snapshot else None,
        refreshing=view.in_flight,
        updated_at=snapshot.fetched_at if snapshot else None,
        insights=view.insights,
    )


class InPlace:
    """Frames drawn on the alternate screen, rewriting only the lines that changed since the last one.

    Rich's `Live` rewrites the whole screen on every refresh; the dashboard refreshes every second so its
    countdowns tick, and usually only a line or two differ, so writing just those keeps it nearly idle.
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self._previous: list[list[Segment]] = []
        self._size: tuple[int, int] | None = None

    def __enter__(self) -> InPlace:
        self.console.set_alt_screen(True)
        self.console.show_cursor(False)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.console.show_cursor(True)
        self.console.set_alt_screen(False)

    def draw(self, renderable: ConsoleRenderable) -> None:
        if not self.console.is_alt_screen:  # a console without one (legacy Windows): clear and print
            self.console.clear(home=True)
            self.console.print(renderable, end="")
            return
        width, height = self.console.size
        if (width, height) != self._size:  # resized: redraw everything
            self._size, self._previous = (width, height), []
            self.console.clear(home=True)
        options = self.console.options.update_dimensions(width, height)
        lines = self.console.render_lines(renderable, options, pad=True)[:height]
        lines += [[Segment(" " * width)]] * (height - len(lines))
        for row, line in enumerate(lines):
            if row >= len(self._previous) or self._previous[row] != line:
                self.console.update_screen_lines([line], 0, row)
        self._previous = lines


def run(poller: Poller, *, console: Console, demo: bool) -> int:
    """Draw until `q` or Ctrl+C; exit status 0. Never dies on a network, server or credentials error."""
    tz = datetime.now().astimezone().tzinfo
    assert tz is not None  # noqa: S101 - astimezone() always sets one
    stop = threading.Event()
    wake = threading.Event()
    worker = threading.Thread(target=poller.run_forever, args=(stop, wake), name="poller", daemon=True)
    worker.start()
    try:
        with KeyReader() as keys, InPlace(console) as screen:
            while True:
                poller.watch_store()
                frame = frame_now(poller, tz=tz, demo=demo)
                screen.draw(Dashboard(frame))
                waiting = (frame.usage is None and frame.problem is None) or frame.refreshing
                tick = _FAST_TICK_S if waiting else 1.0 - frame.now.microsecond / 1_000_000
                key = keys.read(tick)
                if key in ("q", "Q"):
                    break
                if key in ("r", "R"):
                    poller.ask_now()
                    wake.set()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        wake.set()
    return 0
