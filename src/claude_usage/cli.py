"""The command line: one table of commands, `main(argv) -> int`, and the one place errors become exit codes.

Each row of `COMMANDS` names a module of `claude_usage.commands` with `DESCRIPTION`, `configure(parser)` and
`run(args, env) -> int`; a new face is one module and one row. A module is imported only when its row is
chosen. The status line (run by Claude Code on every render) takes its fast path before argparse is even
imported; `--help` and bad arguments never pay for Rich or httpx.
"""

from __future__ import annotations

import os
import sys

from claude_usage import __version__
from claude_usage.errors import ClaudeUsageError, ExitCode

TYPE_CHECKING = False  # not typing's: this module is on the status line's path
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence

PROG = "claude-usage"

# name -> (module under claude_usage.commands, one line for the top-level help). "" is the default row.
COMMANDS: dict[str, tuple[str, str]] = {
    "": ("dashboard", "the live dashboard (--once, --json: one reading)"),
    "statusline": ("statusline", "the line Claude Code's status line shows; `statusline install|uninstall`"),
    "refresh": ("refresh", "take a reading into the shared store within the budget; print nothing"),
    "history": ("history", "past windows: peak, when, time at the limit; export and import"),
    "report": ("report", "token usage and cost from Claude Code's transcripts"),
    "config": ("config", "the alerts' config file: `config path`, `config init`"),
    "serve": ("serve", "poll like the dashboard and serve /metrics (Prometheus), /api/usage and a page"),
    "watch": ("watch", "headless: poll, fire the alerts, log each event; --install-service for systemd/launchd"),
    "doctor": ("doctor", "check the set-up (login, endpoint, budget, status line, store, config); fixes to copy"),
}

EPILOG = """\
commands:
  claude-usage statusline [--format FMT] [--max-age S] [--endpoint-max-age S] [--chain CMD] [--no-refresh]
                         the line Claude Code's status line shows (reads its JSON on stdin)
  claude-usage statusline install [--force] [--chain CMD] [--refresh-interval S] | uninstall
                         add/remove it in Claude Code's settings.json
  claude-usage refresh   take a reading into the shared store within the budget; print nothing
                         (exit 0 ok, 3 no usable login, 4 unavailable or held back by the budget)
  claude-usage history [--account KEY|all] [--since WHEN]
                         past windows: peak, when, time at the limit; a chart of the weeks
  claude-usage history export (--csv | --json) [--summary] [--since WHEN] [--account KEY]
  claude-usage history import FILE
  claude-usage doctor [--json] [--no-keychain]
                         check the set-up; each problem with the fix to copy (exit 0, 3 login, 1 other)
  claude-usage watch [--interval S] [--thresholds 80,95] [--alert-command CMD] [--no-desktop]
                     [--config FILE] [--install-service]
                         poll headless and send the alerts (for a login session or a user service)
  claude-usage config path | init [--force]
                         where the config file is; write a commented default one
  claude-usage report daily|weekly|monthly|session|project|model|blocks [--json | --csv]
                         tokens and cost from Claude Code's transcripts
  claude-usage serve [--listen HOST:PORT] [--token-file PATH]
                         Prometheus metrics, a page and /api/usage for this machine's limits
  Each command has its own --help.

keys (live dashboard): q quit · r refresh now · Ctrl+C quit
exit status: 0 ok · 1 unexpected error · 2 bad command line or a user file we refuse to touch
             3 authentication (no, unreadable or expired credentials; 401/403)
             4 service unavailable (network, timeout, 5xx, 429, unexpected reply, nothing stored
               while the budget forbids a request) · 130 interrupted one-shot
environment: CLAUDE_CONFIG_DIR, CLAUDE_CODE_OAUTH_TOKEN, CLAUDE_CODE_OAUTH_SCOPES, CLAUDE_USAGE_API_URL,
             CLAUDE_USAGE_CONFIG, CLAUDE_USAGE_DATA_DIR, CLAUDE_USAGE_HISTORY_DAYS, CLAUDE_USAGE_PACE_TOLERANCE,
             CLAUDE_USAGE_MIN_SPACING, CLAUDE_USAGE_USER_AGENT, NO_COLOR, HTTPS_PROXY, HTTP_PROXY,
             NO_PROXY, SSL_CERT_FILE (see the README)
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    name = args[0] if args and args[0] in COMMANDS else ""
    rest = args[1:] if name else args
    if name == "statusline" and rest[:1] not in (["install"], ["uninstall"]):
        from claude_usage.commands.statusline import main as render

        return render(rest)  # the fast path: no argparse, always exit 0
    try:
        parsed = build_parser(name).parse_args(rest)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else ExitCode.COMMAND_LINE
    module = _module(name)
    parsed.quiet = getattr(module, "QUIET", False)
    return guarded(lambda: module.run(parsed, os.environ), debug=parsed.debug, quiet=parsed.quiet)


def _module(name: str) -> ModuleType:
    import importlib

    return importlib.import_module(f"claude_usage.commands.{COMMANDS[name][0]}")


def build_parser(name: str = "") -> argparse.ArgumentParser:
    """The parser of one row of the table (the default row: the dashboard and its one-shots)."""
    import argparse

    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> NoReturn:
            """One line, exit 2 (argparse would print the whole usage first)."""
            self.exit(ExitCode.COMMAND_LINE, f"{self.prog}: {message} (see --help)\n")

    module = _module(name)
    parser = Parser(
        prog=f"{PROG} {name}".strip(),
        description=module.DESCRIPTION,
        epilog=EPILOG if not name else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    module.configure(parser)
    parser.add_argument("--debug", action="store_true", help="show a traceback (tokens redacted) on errors")
    if not name:
        parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    return parser


def guarded(run: Callable[[], int], *, debug: bool = False, quiet: bool = False) -> int:
    """`run()`, with every exception turned into one line on stderr and its exit code (the one handler)."""
    try:
        return run()
    except ClaudeUsageError as exc:
        _traceback(debug)
        if not quiet:
            print(f"{PROG}: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _quiet_broken_pipe()
        return 0
    except Exception as exc:  # noqa: BLE001 - the last resort: one line, never a traceback unless --debug
        _traceback(debug)
        if not quiet:
            print(f"{PROG}: unexpected error ({type(exc).__name__}); run with --debug for details", file=sys.stderr)
        return int(ExitCode.UNEXPECTED)


def _traceback(debug: bool) -> None:
    """With --debug, the traceback (chained causes included) with every token redacted."""
    if not debug:
        return
    import traceback

    from claude_usage.adapters.redact import redact

    sys.stderr.write(redact(traceback.format_exc(), os.environ))


def _quiet_broken_pipe() -> None:
    """The reader went away (`| head`): nothing left to say, and nothing more to flush at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        return


if TYPE_CHECKING:
    from types import ModuleType
    from typing import NoReturn
