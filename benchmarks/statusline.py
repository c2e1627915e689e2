"""Wall time of `claude-usage statusline` as Claude Code runs it, beside a bare interpreter start.

The installed console script is fed a realistic stdin document (a Max session with `rate_limits`) with a
warm shared store (a fresh API reading already filed, so no background refresh is started), N times
(default 200), alternating with `python -c pass` so both see the same machine load. Prints p50/p95.

Target (issue 4): p50 ≤ 2× the bare interpreter start-up. Run it from a venv with a regular (non-editable)
install, as users have: `pip install . && python benchmarks/statusline.py`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from benchmarks._common import (
    bench_home,
    clean_env,
    console_script,
    interrupt_on_signals,
    load_fixture,
    ms,
    print_machine,
    print_table,
    summarize,
)

ACCOUNT = "6a1e0c2e-0000-4000-8000-000000000001"
ORG = "b7d4a9f0-0000-4000-8000-000000000002"


def stdin_document(now: datetime) -> bytes:
    """statusline.md §4's example, with resets ahead of now."""
    return json.dumps(
        {
            "session_id": "0c9d7e52-1a2b-4c3d-9e8f-5a6b7c8d9e0f",
            "transcript_path": "/home/dev/.claude/projects/-home-dev-shop/0c9d7e52.jsonl",
            "cwd": "/home/dev/shop/api",
            "model": {"id": "claude-opus-4-7", "display_name": "Opus 4.7"},
            "workspace": {"current_dir": "/home/dev/shop/api", "project_dir": "/home/dev/shop", "added_dirs": []},
            "version": "2.1.332",
            "cost": {"total_cost_usd": 3.81, "total_duration_ms": 2712000, "total_api_duration_ms": 604300},
            "context_window": {"total_input_tokens": 84210, "total_output_tokens": 1530, "used_percentage": 42},
            "rate_limits": {
                "five_hour": {
                    "used_percentage": 37.0,
                    "resets_at": int((now + timedelta(hours=2, minutes=11)).timestamp()),
                },
                "seven_day": {"used_percentage": 14.2, "resets_at": int((now + timedelta(days=3)).timestamp())},
            },
        }
    ).encode()


def warm_store(data_dir: Path, now: datetime) -> None:
    """A fresh API reading filed under the account the credentials name, as a dashboard would leave it."""
    reply = load_fixture("max-typical")
    for name, hours in (("five_hour", 2.2), ("seven_day", 70), ("seven_day_sonnet", 70)):
        reply[name]["resets_at"] = (now + timedelta(hours=hours)).isoformat()
    doc = {
        "schema": 1,
        "sources": {"api": {"observed_at": now.isoformat(), "raw": reply, "plan": "Max 5x"}},
        "budget": {"last_request_at": now.isoformat()},
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / f"a-{ACCOUNT}_{ORG}.json").write_text(json.dumps(doc))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="runs of each command (default 200)")
    args = parser.parse_args()
    interrupt_on_signals()
    script = console_script()
    with bench_home() as home:
        creds = home / ".claude" / ".credentials.json"
        body = json.loads(creds.read_text())
        body["claudeAiOauth"].update(accountUuid=ACCOUNT, organizationUuid=ORG)
        creds.write_text(json.dumps(body))
        env = clean_env(home, "http://127.0.0.1:9")  # nothing listens there: no request may be needed
        now = datetime.now(timezone.utc)
        warm_store(Path(env["CLAUDE_USAGE_DATA_DIR"]), now)
        document = stdin_document(now)
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "claude-usage statusline": [str(script), "statusline"],
        }
        for argv in commands.values():  # warm the bytecode caches and the store
            subprocess.run(argv, input=document, capture_output=True, env=env, check=True)
        out = subprocess.run(
            commands["claude-usage statusline"], input=document, capture_output=True, env=env, check=True
        )
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, argv in commands.items():
                started = time.perf_counter()
                subprocess.run(
                    argv, input=document, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False
                )
                times[name].append(time.perf_counter() - started)
    print_machine()
    print(f"line:    {out.stdout.decode().strip()}")
    stats = {name: summarize(samples) for name, samples in times.items()}
    rows = [[name, str(s.runs), ms(s.median), ms(s.p95), ms(s.min)] for name, s in stats.items()]
    print_table(["command", "runs", "p50", "p95", "min"], rows)
    ratio = stats["claude-usage statusline"].median / stats["python -c pass"].median
    print(f"p50 ratio to a bare interpreter: {ratio:.2f}× (target ≤ 2×)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
