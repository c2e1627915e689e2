"""`claude-usage doctor`: what is wrong with this set-up, and the fix to copy for each.

The checks live in service/doctor.py and service/health.py; this face wires the endpoint as the reading faces
do (the URL, the spacing floor, one HTTP client), runs them and prints one line per check (`--json`: one
document). Exit 0 when nothing failed (warnings allowed), 3 when the login failed a check, 1 for any other
failure. Light at module level: argparse and the service load when the row is chosen and run.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping
    from typing import TextIO

    from claude_usage.service.doctor import Report

DESCRIPTION = (
    "Check the login, the endpoint, the shared budget, the status line, transcripts, the clock, the store, the "
    "history and the config; say what is wrong and the fix to copy. Exit 0 when nothing failed (warnings "
    "allowed), 3 when the login failed a check, 1 for any other failure."
)
NAME_WIDTH = 12  # the longest check name, token_expiry
STATE_WIDTH = 4


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help='print the report as JSON: {"ok": bool, "checks": [{"name", "state", "message", "fix"}]}',
    )
    parser.add_argument(
        "--no-keychain", action="store_true", help="macOS: never read the login Keychain (use the file only)"
    )
    parser.set_defaults(min_spacing=None, interval=None)


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from claude_usage.adapters.api import UsageClient, resolve_base_url, user_agent
    from claude_usage.clock import SystemClock
    from claude_usage.commands import wiring
    from claude_usage.core import budget
    from claude_usage.core.shared import DEFAULT_SPACING_S
    from claude_usage.errors import CommandLineError
    from claude_usage.service.doctor import Endpoint, examine

    clock = SystemClock()
    try:
        base_url, loopback = resolve_base_url(env)
    except CommandLineError as exc:
        refused = Endpoint(None, str(exc), DEFAULT_SPACING_S, budget.MIN_INTERVAL_REMOTE_S)
        return _report(examine(env, refused, clock=clock, use_keychain=not args.no_keychain), args.json)
    floor = budget.min_interval(loopback)
    where = "a loopback endpoint" if loopback else base_url
    spacing_problem = None
    try:
        spacing = wiring.spacing(args, env, floor, where)
    except CommandLineError as exc:
        spacing, spacing_problem = max(DEFAULT_SPACING_S, floor), str(exc)
    with UsageClient(base_url, user_agent=user_agent(env), clock=clock) as client:
        wired = Endpoint(client, None, spacing, floor, spacing_problem)
        report = examine(env, wired, clock=clock, use_keychain=not args.no_keychain)
    return _report(report, args.json)


def _report(report: Report, as_json: bool, out: TextIO | None = None) -> int:
    """Print the report; its exit status."""
    out = out or sys.stdout
    if as_json:
        import json

        out.write(json.dumps(report.as_json(), ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(render(report))
    out.flush()
    return report.exit_code


def render(report: Report) -> str:
    """One line per check (`warn  statusline    not installed …`), its fix under it, and a summary line."""
    lines = []
    indent = " " * (STATE_WIDTH + 2 + NAME_WIDTH + 2)
    for check in report.checks:
        lines.append(f"{check.state:<{STATE_WIDTH}}  {check.name:<{NAME_WIDTH}}  {check.message}")
        if check.fix:
            lines.append(f"{indent}fix: {check.fix}")
    counts = {state: sum(1 for check in report.checks if check.state == state) for state in ("ok", "warn", "fail")}
    summary = f"{counts['ok']} ok, {_plural(counts['warn'], 'warning')}, {_plural(counts['fail'], 'failure')}"
    lines += ["", summary]
    return "\n".join(lines) + "\n"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"
