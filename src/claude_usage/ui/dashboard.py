"""The live dashboard: on the alternate screen, redrawn in place once a second (changed rows only).

Several accounts are stacked (widgets.py's `Stack`), one poller each, polling side by side; `r` asks each.

A worker thread polls (the endpoint may take seconds to answer; the countdowns keep ticking meanwhile);
the main thread draws and reads keys: `q` quits, `r` asks for a reading now, or says when the budget
allows one. Ctrl+C quits cleanly (0); SIGTERM and SIGHUP restore the terminal like `q`, then exit
128 + the signal's number (143, 129).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.control import Control

from claude_usage.ui.keys import KeyReader
from claude_usage.ui.rows import Cells, Row, blank_row
from claude_usage.ui.widgets import Dashboard, Frame, Stack

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from datetime import tzinfo
    from types import FrameType, TracebackType

    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.segment import Segment
    from rich.style import Style

    from claude_usage.core.apportion import WindowUsage
    from claude_usage.service.poller import Poller
    from claude_usage.service.usage_panel import UsagePanel

# While waiting for a reading, look for it this often so it shows at once.
_FAST_TICK_S = 0.05
# The signals that end the dashboard like `q` does (SIGHUP: the terminal or the SSH session went away).
EXIT_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def frame_now(
    poller: Poller,
    *,
    tz: tzinfo,
    demo: bool,
    live: bool = True,
    request_allowed_at: datetime | None = None,
    account: str | None = None,
    hints: bool = True,
    window_usage: WindowUsage | None = None,
) -> Frame:
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
        request_allowed_at=request_allowed_at,
        account=account,
        hints=hints,
        window_usage=window_usage,
    )


class InPlace:
    """Frames drawn on the alternate screen, one row at a time: only the rows that changed are rendered and written.

    Each row is a value (its text parts, styles and widths); a tick rebuilds them as plain strings, and only
    the rows that differ from what the screen shows are rendered and written: on an idle second the
    countdowns and the ages. Rendered segments are kept per row and per cell (a label, a bar, a percent),
    keyed by their value, so only the text that changed goes through Rich.
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self.rows: list[Row] = []
        self.lines: list[list[Segment]] = []  # what the screen shows, row by row
        self.written: list[int] = []  # the rows the last draw wrote
        self._size: tuple[int, int] | None = None
        self._cells = Cells()
        self._styles: dict[str, Style | None] = {}
        self._ascii = False

    def _style(self, name: str) -> Style | None:
        found = self._styles.get(name, False)
        if found is False:
            found = self._styles[name] = self.console.get_style(name) if name else None
        return found  # type: ignore[return-value]

    def __enter__(self) -> InPlace:
        self.console.set_alt_screen(True)
        self.console.show_cursor(False)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        try:
            self.console.show_cursor(True)
            self.console.set_alt_screen(False)
        except OSError:  # the terminal is gone (a dropped SSH session): nothing left to restore
            _silence_stdout()

    def draw(self, dashboard: Dashboard | Stack) -> None:
        console = self.console
        if not console.is_alt_screen:  # a console without one (legacy Windows): clear and print
            console.clear(home=True)
            console.print(dashboard, end="")
            return
        width, height = console.size
        if (width, height) != self._size:  # resized: redraw everything
            self._size, self.rows, self.lines = (width, height), [], []
            self._ascii = console.options.ascii_only
            console.clear(home=True)
        rows = dashboard.rows(width, height, ascii_only=self._ascii)[:height]
        rows += [blank_row(width)] * (height - len(rows))
        known: dict[Row, list[Segment]] | None = None
        lines: list[list[Segment]] = []
        changed: list[tuple[int, list[Segment]]] = []
        for index, row in enumerate(rows):
            if index < len(self.rows) and self.rows[index] == row:
                lines.append(self.lines[index])
                continue
            if known is None:
                known = dict(zip(self.rows, self.lines, strict=True))
            line = known.get(row)
            if line is None:
                line = row.segments(self._style, self._cells)
            changed.append((index, line))
            lines.append(line)
        if changed:
            console.print(_Moves(changed), end="", crop=False)  # one write for the whole tick
        self.written = [index for index, _ in changed]
        self.rows, self.lines = rows, lines


class _Moves:
    """Rows written in place: the cursor moved to the start of each, then its segments."""

    def __init__(self, changed: list[tuple[int, list[Segment]]]) -> None:
        self.changed = changed

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for row, line in self.changed:
            yield Control.move_to(0, row)
            yield from line


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: unwind like `q`, then exit 128 + `signum`."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class ExitSignals:
    """Inside, SIGTERM and SIGHUP raise `Terminated` in the main thread, once; after `restoring()` begins
    they and Ctrl+C are only noted, so that restoring the terminal is never cut short."""

    def __init__(self) -> None:
        self.received: int | None = None  # the first SIGTERM or SIGHUP
        self._armed = True
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> ExitSignals:
        if threading.current_thread() is threading.main_thread():  # only there can Python handle signals
            for number in EXIT_SIGNALS:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for number, action in self._previous.items():
            signal.signal(number, action)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if signum in EXIT_SIGNALS and self.received is None:
            self.received = signum
        if self._armed:
            self._armed = False
            raise Terminated(signum)

    @contextlib.contextmanager
    def restoring(self) -> Iterator[None]:
        """The last item of the `with` that changes the terminal: when it ends, the clean-up is not interrupted."""
        try:
            yield
        finally:
            self._armed = False
            if self._previous:  # handlers installed: Ctrl+C is only noted too from here on
                self._previous.setdefault(signal.SIGINT, signal.signal(signal.SIGINT, self._handle))


def _silence_stdout() -> None:
    """Point stdout at the null device, so that flushing it at exit cannot fail on a hung-up terminal."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def run(poller: Poller, *, console: Console, demo: bool) -> int:
    """Draw until `q`, Ctrl+C (0), SIGTERM (143) or SIGHUP (129). Never dies on a network, server or login error."""
    return run_accounts([poller], None, console=console, demo=demo)


def run_accounts(
    pollers: Sequence[Poller],
    names: Sequence[str] | None,
    *,
    console: Console,
    demo: bool,
    panels: Sequence[UsagePanel | None] = (),
) -> int:
    """`run` for several accounts stacked (`names` titles their sections; None: one account, untitled).

    `panels` (one per poller, or none) are refreshed in their own background threads: a frame shows the
    last result and never waits for a scan of the transcripts."""
    tz = datetime.now().astimezone().tzinfo
    assert tz is not None  # noqa: S101 - astimezone() always sets one
    stop = threading.Event()
    wakes = [threading.Event() for _ in pollers]
    workers = [
        threading.Thread(target=poller.run_forever, args=(stop, wake), name="poller", daemon=True)
        for poller, wake in zip(pollers, wakes, strict=True)
    ]
    shown = [panel for panel in panels if panel is not None]
    workers += [threading.Thread(target=p.run_forever, args=(stop,), name="usage-panel", daemon=True) for p in shown]
    usage_of = list(panels) + [None] * (len(pollers) - len(panels))
    allowed_at: list[datetime | None] = [None for _ in pollers]  # after `r` while the budget holds requests back
    titles: Sequence[str | None] = names if names is not None else [None for _ in pollers]
    last = len(pollers) - 1
    signals = ExitSignals()
    try:
        with signals:
            for worker in workers:
                worker.start()
            with KeyReader() as keys, InPlace(console) as screen, signals.restoring():
                while True:
                    frames = []
                    for index, poller in enumerate(pollers):
                        poller.watch_store()
                        frames.append(
                            frame_now(
                                poller,
                                tz=tz,
                                demo=demo,
                                request_allowed_at=allowed_at[index],
                                account=titles[index],
                                hints=index == last,
                                window_usage=None if usage_of[index] is None else usage_of[index].latest,  # type: ignore[union-attr]
                            )
                        )
                    screen.draw(Dashboard(frames[0]) if len(frames) == 1 else Stack(frames))
                    waiting = any((f.usage is None and f.problem is None) or f.refreshing for f in frames)
                    tick = _FAST_TICK_S if waiting else 1.0 - frames[0].now.microsecond / 1_000_000
                    key = keys.read(tick)
                    if key in ("q", "Q"):
                        break
                    if key in ("r", "R"):
                        for index, (poller, wake) in enumerate(zip(pollers, wakes, strict=True)):
                            allowed_at[index] = poller.next_allowed()  # said in the footer until then
                            poller.ask_now()  # within the budget: held back (not sent) until allowed
                            wake.set()
    except (KeyboardInterrupt, Terminated):
        pass
    finally:
        stop.set()
        for wake in wakes:
            wake.set()
    return 0 if signals.received is None else 128 + signals.received
