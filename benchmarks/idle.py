"""Endpoint requests caused by the status line of an idle Claude Code, over (by default) one real hour.

Claude Code with `"refreshInterval"` re-runs our line every few seconds even while nobody types, and its
stdin keeps carrying the same fresh `rate_limits` (the session and the week). This script plays that
Claude Code: the installed `claude-usage statusline` fed a realistic stdin every `--every` seconds (10 by
default), for `--minutes` (60), against the usage-API stand-in on 127.0.0.1, with a temporary HOME holding
a login. It counts the requests the stand-in received. The session and the week come from the feed, so
only what the endpoint alone has (the Sonnet week on the default line) may cause requests: at most one per
`--endpoint-max-age` (900 s by default), i.e. about 4 an hour.

Target (issue 8): ≤ 4 endpoint requests in the hour. Prints renders, requests and when each request came.

    .venv/bin/python -m benchmarks.idle [--minutes 60] [--every 10] [--endpoint-max-age 900]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from datetime import datetime, timezone
from typing import Any

from benchmarks._common import (
    bench_home,
    clean_env,
    console_script,
    fresh_fixture,
    interrupt_on_signals,
    print_machine,
)
from claude_usage.standin import Reply, Script, StandIn

TARGET_PER_HOUR = 4


def feed_stdin(reply: dict[str, Any]) -> bytes:
    """Claude Code's session JSON carrying the session's and the week's numbers of `reply`, as its feed does."""

    def epoch(key: str) -> int:
        return int(datetime.fromisoformat(reply[key]["resets_at"]).timestamp())

    rate_limits = {
        key: {"used_percentage": round(float(reply[key]["utilization"]), 1), "resets_at": epoch(key)}
        for key in ("five_hour", "seven_day")
    }
    return json.dumps(
        {
            "session_id": "0c9d7e52-1a2b-4c3d-9e8f-5a6b7c8d9e0f",
            "cwd": "/home/dev/shop",
            "model": {"id": "claude-opus-4-7", "display_name": "Opus 4.7"},
            "version": "2.1.332",
            "rate_limits": rate_limits,
        }
    ).encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="how long Claude Code idles (default 60)")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between renders (default 10)")
    parser.add_argument(
        "--endpoint-max-age", type=float, default=None, help="passed to the status line (default: its own, 900)"
    )
    args = parser.parse_args()
    interrupt_on_signals()
    script = console_script()
    reply = fresh_fixture("max-typical")
    argv = [str(script), "statusline"]
    if args.endpoint_max_age is not None:
        argv += ["--endpoint-max-age", f"{args.endpoint_max_age:g}"]
    renders = 0
    arrivals: list[float] = []
    with bench_home() as home, StandIn(Script(Reply(200, reply))) as api:
        env = clean_env(home, api.url)
        stdin = feed_stdin(reply)
        started = time.monotonic()
        deadline = started + args.minutes * 60
        lines: list[str] = []
        while time.monotonic() < deadline:
            out = subprocess.run(argv, input=stdin, capture_output=True, env=env, check=False, timeout=30)
            lines.append(out.stdout.decode().strip())
            renders += 1
            seen = len(api.usage_requests())
            while len(arrivals) < seen:
                arrivals.append(time.monotonic() - started)
            time.sleep(max(0.0, min(args.every, deadline - time.monotonic())))
        time.sleep(3)  # a refresh started by the last render may still be on its way
        total = len(api.usage_requests())
        while len(arrivals) < total:
            arrivals.append(time.monotonic() - started)
    print_machine()
    hours = args.minutes / 60
    print(f"idle:     {args.minutes:g} min, a render every {args.every:g} s, {renders} renders")
    print(f"first:    {lines[0] if lines else '-'}")
    print(f"last:     {lines[-1] if lines else '-'}")
    print(f"requests: {total} ({total / hours:.1f} per hour; target ≤ {TARGET_PER_HOUR} per hour)")
    print("at:       " + ", ".join(f"{t / 60:.1f} min" for t in arrivals))
    print(f"finished: {datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S} UTC")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
