"""The live dashboard in a real terminal (a private tmux server, 100x30): how soon it shows a full
frame, and what it costs while idle.

(a) First full frame: the pane runs `sh -c 'read _; exec claude-usage'`, so the shell and tmux are up
    before the clock starts; the clock starts as Enter is sent and stops when `capture-pane -p`, polled
    every ~10 ms, first shows "78%" (the max-typical reading, not just "Waiting…"). Each launch is a new
    account (a fresh token in the credentials file), so nothing is in the shared store and the reading
    must come from the stand-in, as at a first start; a launch that made no request stops the benchmark.
    Also reported: the first paint (any text at all) and the harness floor (`echo 78%` in its place).
(b) Idle cost at the DEFAULT interval (60 s): the dashboard runs against the stand-in for `--seconds`
    after its first 5 s (start-up excluded); its own process (the Python one: the pane `exec`s it, and
    /proc is walked to make sure) is sampled every few seconds: CPU time from /proc/<pid>/stat
    (utime + stime, all threads) and RSS from /proc/<pid>/status (VmRSS, VmHWM). Linux only.
(c) One second's redraw, in process (`--part tick`, not in `both`): `--ticks` consecutive seconds of the
    idle dashboard at 100x30 (a reading each minute, ages and countdowns ticking), each drawn by the live
    loop's painter (rows rebuilt, only changed rows rendered and written) and, for comparison, rendered whole
    through Rich as the loop did before. Hot caches: the idle figure of (b) is what counts.

Targets (issue 3): first full frame ≤ 0.5 s; idle ≤ 0.2% of one core and ≤ 45 MiB RSS, no growth.
Prints median, p95, runs and the machine; asserts nothing.

    .venv/bin/python -m benchmarks.live [--runs 10] [--seconds 300] [--part frame|idle|both|tick]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from benchmarks._common import (
    Tmux,
    bench_home,
    clean_env,
    console_script,
    fresh_fixture,
    interrupt_on_signals,
    ms,
    new_account,
    print_machine,
    print_table,
    program_command,
    serve_fixture,
    summarize,
)
from claude_usage.standin import StandIn

TARGET_FRAME_S = 0.5
TARGET_CPU_PCT = 0.2
TARGET_RSS_MIB = 45.0
FULL_FRAME_MARK = "78%"
POLL_S = 0.01
# RSS may wobble by a few pages as the allocator settles; more than this from start to end is growth.
GROWTH_NOISE_KIB = 512


def program_argv(module: bool) -> list[str]:
    if module:
        return [sys.executable, "-m", "claude_usage"]
    return [str(console_script())]


def wait_screen(tmux: Tmux, predicate: Callable[[str], bool], timeout_s: float) -> tuple[float, str]:
    """Poll the pane every ~10 ms; the perf_counter time the predicate first held, and that screen."""
    deadline = time.perf_counter() + timeout_s
    screen = ""
    while time.perf_counter() < deadline:
        screen = tmux.screen()
        if predicate(screen):
            return time.perf_counter(), screen
        time.sleep(POLL_S)
    raise SystemExit(f"the screen never matched within {timeout_s:g} s; last screen:\n{screen}")


@dataclass(frozen=True, slots=True)
class FrameTimes:
    first_paint: float
    full_frame: float


@dataclass(frozen=True, slots=True)
class Bench:
    """What every launch shares: the temporary HOME, the environment, the stand-in, the tmux servers up."""

    home: Path
    env: dict[str, str]
    api: StandIn
    started: list[Tmux]


def time_first_frame(bench: Bench, argv: list[str], *, dashboard: bool = True) -> FrameTimes:
    """One launch as a new account (nothing stored, so it must ask the stand-in): seconds from Enter to
    the first text, and to the first full frame."""
    env, started = bench.env, bench.started
    if dashboard:
        new_account(bench.home)
    before = len(bench.api.usage_requests())
    tmux = Tmux(env)
    started.append(tmux)
    tmux.start("read _go; " + program_command(argv, env))
    wait_screen(tmux, lambda s: True, 10)  # the server answers: the pane exists
    start = time.perf_counter()
    tmux.send("Enter")
    painted, _ = wait_screen(tmux, lambda s: bool(s.strip()), 15)
    full, _ = wait_screen(tmux, lambda s: FULL_FRAME_MARK in s, 15)
    tmux.kill()
    started.remove(tmux)
    if dashboard and len(bench.api.usage_requests()) == before:
        raise SystemExit("the dashboard showed a reading without asking the stand-in: not a first launch")
    return FrameTimes(painted - start, full - start)


def bench_first_frame(bench: Bench, argv: list[str], runs: int) -> None:
    floor_argv = ["sh", "-c", f"echo {FULL_FRAME_MARK}; exec sleep 60"]
    time_first_frame(bench, argv)  # warm-up: file cache, .pyc
    floor = [time_first_frame(bench, floor_argv, dashboard=False).full_frame for _ in range(runs)]
    times = [time_first_frame(bench, argv) for _ in range(runs)]
    rows = []
    for label, samples, target in (
        ("harness floor (echo 78%)", floor, None),
        ("first paint (any text)", [t.first_paint for t in times], None),
        ("first full frame (78%)", [t.full_frame for t in times], TARGET_FRAME_S),
    ):
        stats = summarize(samples)
        verdict = "-"
        if target is not None:
            verdict = f"≤ {ms(target)} {'ok' if stats.median <= target else 'MISSED'}"
        rows.append([label, ms(stats.median), ms(stats.p95), ms(stats.min), str(stats.runs), verdict])
    name = " ".join(Path(a).name for a in argv)
    print(f"(a) first frame of `{name}` in tmux 100x30, polled every 10 ms; a new account each launch")
    print_table(["measure", "median", "p95", "min", "runs", "target (median)"], rows)


CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True, slots=True)
class Sample:
    at: float  # monotonic seconds
    cpu_s: float  # utime + stime of all threads
    rss_kib: int
    hwm_kib: int


def sample(pid: int) -> Sample:
    at = time.monotonic()
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # fields from the 3rd (state) on; comm may hold spaces
    cpu_s = (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime: fields 14 and 15
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return Sample(at, cpu_s, int(status["VmRSS"].split()[0]), int(status["VmHWM"].split()[0]))


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def program_pid(root: int) -> int:
    """The Python process running claude-usage: the pane's own process or one of its descendants."""
    queue = [root]
    while queue:
        pid = queue.pop(0)
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            exe = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            continue
        if Path(exe).name.startswith("python") and any(b"claude" in arg for arg in cmdline):
            return pid
        queue.extend(children(pid))
    raise SystemExit(f"no claude-usage Python process under pid {root}")


def mib(kib: float) -> str:
    return f"{kib / 1024:.1f} MiB"


def bench_idle(bench: Bench, argv: list[str], seconds: float, every: float, warmup: float) -> None:
    if not Path("/proc/self/stat").exists():
        raise SystemExit("the idle measurement reads /proc: Linux only")
    env, started = bench.env, bench.started
    time_first_frame(bench, argv)  # warm-up: the bytecode cache, as an installed package has it
    new_account(bench.home)
    before = len(bench.api.usage_requests())
    tmux = Tmux(env)
    started.append(tmux)
    launched = time.monotonic()
    tmux.start(program_command(argv, env))
    wait_screen(tmux, lambda s: FULL_FRAME_MARK in s, 15)
    pid = program_pid(tmux.pane_pid())
    time.sleep(max(0.0, launched + warmup - time.monotonic()))
    samples = [sample(pid)]
    end = samples[0].at + seconds
    next_report = samples[0].at + 60
    while (now := time.monotonic()) < end:
        time.sleep(min(every, end - now))
        try:
            samples.append(sample(pid))
        except OSError:
            raise SystemExit(f"the dashboard (pid {pid}) exited; last screen:\n{tmux.screen()}") from None
        if samples[-1].at >= next_report:
            elapsed = samples[-1].at - samples[0].at
            print(f"  … {elapsed:.0f} s of {seconds:g} s", file=sys.stderr, flush=True)
            next_report += 60
    screen = tmux.screen()
    tmux.kill()
    started.remove(tmux)

    first, last = samples[0], samples[-1]
    window = last.at - first.at
    cpu_pct = 100 * (last.cpu_s - first.cpu_s) / window
    rss_max = max(s.rss_kib for s in samples)
    growth = last.rss_kib - first.rss_kib
    grew = growth > GROWTH_NOISE_KIB
    # Least-squares slope of RSS over time, KiB per minute.
    mean_t = sum(s.at for s in samples) / len(samples)
    mean_r = sum(s.rss_kib for s in samples) / len(samples)
    var_t = sum((s.at - mean_t) ** 2 for s in samples)
    slope = 60 * sum((s.at - mean_t) * (s.rss_kib - mean_r) for s in samples) / var_t if var_t else 0.0
    cpu_ok = "ok" if cpu_pct <= TARGET_CPU_PCT else "MISSED"
    rss_ok = "ok" if rss_max / 1024 <= TARGET_RSS_MIB else "MISSED"
    print(
        f"(b) idle at the default interval (60 s): pid {pid}, {window:.0f} s measured after {warmup:g} s "
        f"of start-up, {len(samples)} samples every {every:g} s"
    )
    print_table(
        ["measure", "value", "target"],
        [
            ["CPU, % of one core (average)", f"{cpu_pct:.3f}%", f"≤ {TARGET_CPU_PCT}% {cpu_ok}"],
            ["CPU time used in the window", f"{last.cpu_s - first.cpu_s:.2f} s", "-"],
            ["RSS at start of window", mib(first.rss_kib), "-"],
            ["RSS at end", mib(last.rss_kib), "-"],
            ["RSS max (samples)", mib(rss_max), f"≤ {TARGET_RSS_MIB:g} MiB {rss_ok}"],
            ["RSS peak incl. start-up (VmHWM)", mib(last.hwm_kib), "-"],
            [
                "RSS growth start→end",
                f"{growth:+d} KiB ({slope:+.1f} KiB/min)",
                f"none: {'GREW' if grew else 'ok'} (noise {GROWTH_NOISE_KIB} KiB)",
            ],
        ],
    )
    minutes = [mib(first.rss_kib)]
    for s in samples:
        if s.at - first.at >= 60 * len(minutes):
            minutes.append(mib(s.rss_kib))
    print(f"RSS at each minute: {' · '.join(minutes)}")
    made = len(bench.api.usage_requests()) - before
    print(f"usage requests from launch to end: {made} (one at launch, then one per 60 s)")
    if FULL_FRAME_MARK not in screen:
        print(f"warning: the last screen no longer showed {FULL_FRAME_MARK}:\n{screen}")


def bench_tick(ticks: int) -> None:
    """(c) Per-second redraw cost in process: the row painter against a whole-screen Rich render."""
    from rich.console import Console

    from claude_usage.core.wire import parse_usage
    from claude_usage.ui.dashboard import InPlace
    from claude_usage.ui.widgets import Dashboard, Frame

    start = datetime.now(timezone.utc)
    reply = fresh_fixture("max-typical")
    frames = []
    for second in range(ticks):
        read_at = start + timedelta(seconds=second - second % 60)
        frames.append(
            Frame(
                usage=parse_usage(reply, observed_at=read_at),
                now=start + timedelta(seconds=second),
                tz=timezone.utc,
                plan="Max 5x",
                live=True,
                updated_at=read_at,
                next_due=read_at + timedelta(seconds=60),
            )
        )
    console = Console(
        file=io.StringIO(), width=100, height=30, force_terminal=True, color_system="truecolor", legacy_windows=False
    )
    options = console.options.update_dimensions(100, 30)
    full, painted, written = [], [], []
    with InPlace(console) as screen:
        for frame in frames:
            began = time.perf_counter()
            console.render_lines(Dashboard(frame), options, pad=True)
            full.append(time.perf_counter() - began)
            began = time.perf_counter()
            screen.draw(Dashboard(frame))
            painted.append(time.perf_counter() - began)
            written.append(len(screen.written))
    rows = []
    for label, samples in (("whole screen through Rich (before)", full), ("changed rows only (now)", painted)):
        stats = summarize(samples[1:])  # the first draw renders every row
        rows.append([label, f"{stats.median * 1e6:.0f} µs", f"{stats.p95 * 1e6:.0f} µs", str(stats.runs)])
    print(f"(c) one second's redraw in process, 100x30, {ticks} ticks (a reading each minute)")
    print_table(["measure", "median", "p95", "ticks"], rows)
    print(f"rows written per tick: median {summarize([float(n) for n in written[1:]]).median:g} of 30")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=10, help="launches timed for the first frame (default 10)")
    parser.add_argument("--seconds", type=float, default=300, help="idle window measured, after start-up (default 300)")
    parser.add_argument("--every", type=float, default=5, help="seconds between idle samples (default 5)")
    parser.add_argument(
        "--warmup", type=float, default=5, help="start-up seconds left out of the idle figures (default 5)"
    )
    parser.add_argument("--ticks", type=int, default=600, help="seconds of redraw timed by --part tick (default 600)")
    parser.add_argument("--part", choices=("frame", "idle", "both", "tick"), default="both")
    parser.add_argument(
        "--module", action="store_true", help="run `python -m claude_usage` instead of the console script"
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.seconds <= 0 or args.every <= 0 or args.warmup < 0 or args.ticks < 2:
        parser.error("--runs, --seconds and --every must be positive, --warmup not negative, --ticks at least 2")
    interrupt_on_signals()
    if args.part == "tick":
        print("claude-usage live dashboard (in process, fixture max-typical)")
        print_machine()
        print()
        bench_tick(args.ticks)
        return 0
    program = program_argv(args.module)
    started: list[Tmux] = []
    print("claude-usage live dashboard (stand-in on 127.0.0.1, fixture max-typical)")
    print_machine()
    try:
        with bench_home() as home, serve_fixture("max-typical") as api:
            bench = Bench(home, clean_env(home, api.url), api, started)
            if args.part in ("frame", "both"):
                print()
                bench_first_frame(bench, program, args.runs)
            if args.part in ("idle", "both"):
                print()
                bench_idle(bench, program, args.seconds, args.every, args.warmup)
    except KeyboardInterrupt:
        print("interrupted; cleaned up", file=sys.stderr)
        return 130
    finally:
        for tmux in started:
            tmux.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
