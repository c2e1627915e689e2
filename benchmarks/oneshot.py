"""Wall time of the one-shot commands, `claude-usage --once` and `claude-usage --json`.

Each runs as a fresh process, both as the installed console script (next to this interpreter) and as
`python -m claude_usage`, against the usage-API stand-in on 127.0.0.1 serving the max-typical fixture
(resets moved ahead of now), with a temporary HOME holding a credentials file. Two paths:

- "asks": before each run the credentials file is given a fresh token, a new account with nothing
  stored, so the run makes one request (the first reading of the day, or after `--max-age`);
- "stored": the same account every time with `--max-age 3600`, so the run is served from the shared
  store without a request (a second one-shot within the default 30 s behaves the same way).

Every run is checked: exit 0, the 78% reading in its output, the token nowhere, and exactly the number
of requests its path implies, so a run that took another path is never timed as this one. Beside them,
in the same rounds, the floor: `python -c pass` and `python -c "import rich, httpx"`. Commands are
interleaved round by round so a noisy moment hits them all alike; a warm-up round (which also fills the
bytecode cache) is not counted.

Target (issue 3): `--once` ≤ 0.3 s. Prints median, p95, min, runs and the machine; asserts nothing.

    .venv/bin/python -m benchmarks.oneshot [--runs 30]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks._common import (
    BENCH_TOKEN,
    bench_home,
    clean_env,
    console_script,
    interrupt_on_signals,
    ms,
    new_account,
    print_machine,
    print_table,
    serve_fixture,
    summarize,
    write_credentials,
)
from claude_usage.standin import StandIn

TARGET_ONCE_S = 0.3


def _is_once(out: str) -> bool:
    return "78%" in out and "Current session" in out


def _is_json(out: str) -> bool:
    data = json.loads(out)
    return any(w["key"] == "five_hour" and w["utilization"] == 78.0 for w in data["windows"])


def _anything(out: str) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Case:
    label: str
    argv: list[str]
    check: Callable[[str], bool]
    requests: int = 0  # how many requests a run of this case makes: 1 = a new account each run
    target_s: float | None = None


def cases() -> list[Case]:
    script = str(console_script())
    py = sys.executable
    module = [py, "-m", "claude_usage"]
    stored = ["--max-age", "3600"]
    return [
        Case("python -c pass", [py, "-c", "pass"], _anything),
        Case('python -c "import rich, httpx"', [py, "-c", "import rich, httpx"], _anything),
        Case("claude-usage --once (asks)", [script, "--once"], _is_once, 1, TARGET_ONCE_S),
        Case("claude-usage --json (asks)", [script, "--json"], _is_json, 1),
        Case("python -m claude_usage --once (asks)", [*module, "--once"], _is_once, 1, TARGET_ONCE_S),
        Case("python -m claude_usage --json (asks)", [*module, "--json"], _is_json, 1),
        Case("claude-usage --once (stored)", [script, "--once", *stored], _is_once, 0, TARGET_ONCE_S),
        Case("claude-usage --json (stored)", [script, "--json", *stored], _is_json, 0),
    ]


def run_once(case: Case, env: dict[str, str], home: Path, api: StandIn) -> float:
    """One run's wall time in seconds, from spawn to exit; exits the benchmark if the run went wrong."""
    if case.requests:
        token = new_account(home)
    else:
        token = BENCH_TOKEN
        write_credentials(home / ".claude", token=token)
    before = len(api.usage_requests())
    start = time.perf_counter()
    proc = subprocess.run(
        case.argv,
        env=env,
        cwd=str(home),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    elapsed = time.perf_counter() - start
    made = len(api.usage_requests()) - before
    ok = proc.returncode == 0 and token not in proc.stdout + proc.stderr and made == case.requests
    try:
        ok = ok and case.check(proc.stdout)
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise SystemExit(
            f"{case.label}: unexpected result (exit {proc.returncode}, {made} requests, "
            f"expected {case.requests})\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        )
    return elapsed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=30, help="timed runs of each command (default 30)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be at least 1 and --warmup at least 0")
    interrupt_on_signals()
    all_cases = cases()
    samples: dict[str, list[float]] = {c.label: [] for c in all_cases}
    try:
        with bench_home() as home, serve_fixture("max-typical") as api:
            env = clean_env(home, api.url)
            # The "stored" account's reading, taken once; --max-age 3600 keeps it good for the whole run.
            write_credentials(home / ".claude", token=BENCH_TOKEN)
            subprocess.run([str(console_script()), "--json"], env=env, cwd=str(home), capture_output=True, check=True)
            for round_no in range(args.warmup + args.runs):
                for case in all_cases:
                    elapsed = run_once(case, env, home, api)
                    if round_no >= args.warmup:
                        samples[case.label].append(elapsed)
            requests = len(api.usage_requests())
    except KeyboardInterrupt:
        print("interrupted; cleaned up", file=sys.stderr)
        return 130

    print("claude-usage one-shot wall time (spawn to exit; stand-in on 127.0.0.1, fixture max-typical)")
    print_machine()
    print(f"runs:    {args.runs} per command (+{args.warmup} warm-up), {requests} requests served")
    print("paths:   asks = a new account each run, one request; stored = served from the shared store")
    print()
    rows = []
    for case in all_cases:
        stats = summarize(samples[case.label])
        target = "-"
        if case.target_s is not None:
            verdict = "ok" if stats.median <= case.target_s else "MISSED"
            target = f"≤ {ms(case.target_s)} {verdict}"
        rows.append([case.label, ms(stats.median), ms(stats.p95), ms(stats.min), str(stats.runs), target])
    print_table(["command", "median", "p95", "min", "runs", "target (median)"], rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
