"""`claude-usage statusline install | uninstall`: our entry in Claude Code's settings.json, and nothing else.

Kept apart from commands/statusline.py (whose `configure` and `run` delegate here) so the render path never
loads argparse or the settings adapter. The file work (strict parsing, timestamped backup, re-reading just
before the atomic replace, refusing a malformed file byte-identical) is adapters/settings.py's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from claude_usage.adapters import settings
from claude_usage.errors import CommandLineError

if TYPE_CHECKING:
    from collections.abc import Mapping


def installed_executable() -> str:
    """The absolute path of the `claude-usage` that is running, else the one on PATH, else `python -m`."""
    argv0 = sys.argv[0] if sys.argv else ""
    if os.path.basename(argv0).split(".")[0] == "claude-usage" and os.path.isfile(argv0):
        return os.path.abspath(argv0)
    found = shutil.which("claude-usage")
    if found:
        return os.path.abspath(found)
    return f"{sys.executable} -m claude_usage"


def _seconds(text: str) -> int:
    """A --refresh-interval value: whole seconds, 1 or more, or 0 for none."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of seconds: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 1 or more, or 0 for none: {value}")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, parser_class=type(parser))
    install = sub.add_parser("install", help="add our statusLine to settings.json (backup beside it)")
    install.add_argument("--force", action="store_true", help="replace another tool's status line")
    install.add_argument("--chain", metavar="COMMAND", help="keep another status line command, shown above ours")
    install.add_argument("--format", metavar="FORMAT", help="our line's format (see `claude-usage statusline --help`)")
    install.add_argument(
        "--refresh-interval",
        metavar="SECONDS",
        type=_seconds,
        default=settings.DEFAULT_REFRESH_INTERVAL,
        help="also re-run the line every SECONDS, so countdowns move while Claude Code idles; added only when"
        " the entry has no refreshInterval (default: %(default)s; 0: add none)",
    )
    sub.add_parser("uninstall", help="remove our statusLine (another tool's is left alone)")


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Install or uninstall; 0 on success or nothing to do, 2 for a settings.json we refuse to touch."""
    path = settings.settings_path(env)
    now = datetime.now(timezone.utc)
    try:
        if args.action == "install":
            options: list[str] = []
            if args.format:
                options += ["--format", args.format]
            if args.chain:
                options += ["--chain", args.chain]
            executable = installed_executable()
            if " -m " in executable:
                raise CommandLineError(
                    "cannot find the installed claude-usage command on PATH; install it (pipx install .) first"
                )
            interval = args.refresh_interval or None
            change = settings.install(
                path, executable, force=args.force, now=now, options=options, refresh_interval=interval
            )
        else:
            change = settings.uninstall(path, now=now)
    except OSError as exc:
        raise CommandLineError(f"cannot update {path}: {exc.strerror or exc}") from exc
    print(change.message)
    if args.action == "install":
        print(_interval_note(change.status_line, args.refresh_interval or None))
    return 0


def _interval_note(status_line: object, asked: int | None) -> str:
    """Which refreshInterval the installed entry has, and whether it was already there."""
    entry = status_line if isinstance(status_line, dict) else {}
    if "refreshInterval" not in entry:
        return (
            "refreshInterval: none; Claude Code re-runs the line only on its own updates (--refresh-interval adds one)"
        )
    value = entry["refreshInterval"]
    shown = json.dumps(value, ensure_ascii=False)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= 1:
        return f"refreshInterval: {shown} is the existing entry's and not seconds >= 1, so Claude Code ignores it"
    if value == asked:
        return f"refreshInterval: {shown} seconds, so countdowns move while Claude Code idles"
    return (
        f"refreshInterval: {shown} seconds, kept from the existing entry (edit {settings.SETTINGS_NAME} to change it)"
    )
