"""Requests made by a busy machine: one dashboard, five status lines, two `--json` loops, one account.

For `--minutes` (default 10) against the stand-in on 127.0.0.1: the live dashboard at its default
interval (60 s) in a private tmux server; five status-line loops each rendering twice a second (the
installed `claude-usage statusline`, fed Claude Code's stdin with the session numbers of the moment);
two `claude-usage --json` loops every 5 s. The stand-in behaves like the real endpoint's rate limit as
far as it is known: a request closer than 25 s to the previous one gets a 429.

Reports the requests the stand-in received and the 429s it sent. Targets (issue 4): requests ≤ the
dashboard's own (minutes + 1), 429s = 0.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from benchmarks._common import (
    Tmux,
    bench_home,
    clean_env,
    console_script,
    interrupt_on_signals,
    load_fixture,
    print_machine,
    print_table,
    program_command,
)
from claude_usage.standin import Reply, Request, StandIn

MIN_GAP_S = 25.0


class RateLimitedAccount:
    """Usage that climbs slowly; a 429 for any request closer than MIN_GAP_S to the one before."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.last: float | None = None
        self.served = 0
        self.refused = 0
        self.lock = threading.Lock()
        now = datetime.now(timezone.utc)
        self.session_reset = now + timedelta(hours=2, minutes=11)
        self.week_reset = now + timedelta(days=3)

    def session_pct(self) -> float:
        return round(40 + (time.monotonic() - self.started) / 60, 1)

    def __call__(self, request: Request) -> Reply:
        with self.lock:
            now = time.monotonic()
            if self.last is not None and now - self.last < MIN_GAP_S:
                self.refused += 1
                self.last = now
                return Reply(429, load_fixture("error-429"), {"Retry-After": "60"})
            self.last = now
            self.served += 1
        reply: dict[str, Any] = load_fixture("max-typical")
        reply["five_hour"] = {"utilization": self.session_pct(), "resets_at": self.session_reset.isoformat()}
        reply["seven_day"]["resets_at"] = self.week_reset.isoformat()
        reply["seven_day_sonnet"]["resets_at"] = self.week_reset.isoformat()
        return Reply(200, reply)


def _loop(stop: threading.Event, every_s: float, run: Any) -> None:
    while not stop.is_set():
        started = time.monotonic()
        run()
        stop.wait(max(0.0, every_s - (time.monotonic() - started)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to run (default 10)")
    args = parser.parse_args()
    interrupt_on_signals()
    script = str(console_script())
    account = RateLimitedAccount()
    renders = {"statusline": 0, "json": 0}
    stop = threading.Event()
    with bench_home() as home, StandIn(account) as api:
        env = clean_env(home, api.url)
        tmux = Tmux(env)
        threads: list[threading.Thread] = []
        try:
            tmux.start(program_command([script], env))

            def statusline() -> None:
                feed = {
                    "session_id": "x",
                    "rate_limits": {
                        "five_hour": {
                            "used_percentage": account.session_pct(),
                            "resets_at": int(account.session_reset.timestamp()),
                        },
                        "seven_day": {"used_percentage": 41.0, "resets_at": int(account.week_reset.timestamp())},
                    },
                }
                subprocess.run(
                    [script, "statusline"], input=json.dumps(feed).encode(), capture_output=True, env=env, check=False
                )
                renders["statusline"] += 1

            def one_shot() -> None:
                subprocess.run([script, "--json"], capture_output=True, env=env, check=False)
                renders["json"] += 1

            time.sleep(2)  # the dashboard's first reading, as when a user opens it before the rest
            threads = [threading.Thread(target=_loop, args=(stop, 0.5, statusline)) for _ in range(5)]
            threads += [threading.Thread(target=_loop, args=(stop, 5.0, one_shot)) for _ in range(2)]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + args.minutes * 60
            while time.monotonic() < deadline:
                time.sleep(1)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
            tmux.kill()
    print_machine()
    print(f"run:     {args.minutes:g} min · stand-in refuses requests closer than {MIN_GAP_S:g} s with a 429")
    print_table(
        ["what", "count", "target"],
        [
            ["requests answered", str(account.served), f"≤ {int(args.minutes) + 1} (the dashboard's own)"],
            ["429s sent", str(account.refused), "0"],
            ["status-line renders", str(renders["statusline"]), ""],
            ["--json runs", str(renders["json"]), ""],
        ],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
