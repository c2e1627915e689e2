"""Builds the accounts' readers from the command line and the environment (shared by the reading faces).

The options every reading face takes (`--max-age`, `--min-spacing`, `--wait`, `--demo`, `--no-keychain`,
`--interval`, `--account`), the spacing and interval floors, the history and the pace tolerance; then one
`Reader` per account, each behind its own HTTP client. An account named with `--account NAME=DIR` (or in the
config file's `[accounts]`) is read exactly as Claude Code reads its login with `CLAUDE_CONFIG_DIR=DIR`
(that dir's credentials file, its own Keychain item); without any, the one login of the environment, named
`default`. Light at module level: argparse, httpx and the service load when called.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING

from claude_usage.errors import CommandLineError

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator, Mapping, Sequence
    from pathlib import Path

    from claude_usage.adapters.config import Account
    from claude_usage.adapters.history import History
    from claude_usage.clock import Clock
    from claude_usage.service.fetch import UsageFetcher
    from claude_usage.service.reader import Reader

PROG = "claude-usage"
DEMO_INTERVAL_S = 10.0
MAX_SECONDS = 86_400.0  # a day: longer intervals, ages or waits are typos


def seconds(text: str) -> float:
    """An argparse type: seconds in (0, a day]."""
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 < value <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"expected seconds between 0 and {MAX_SECONDS:g}, got {text!r}")
    return value


def age(text: str) -> float:
    """Like `seconds`, but 0 is allowed (always ask, within the budget)."""
    return 0.0 if text.strip() in ("0", "0.0") else seconds(text)


def add_polling_options(
    parser: argparse.ArgumentParser,
    *,
    interval: bool = True,
    demo: str = "run against a built-in simulated account (no login needed)",
) -> None:
    """The options of every face that polls or reads: --interval, --min-spacing, --demo, --no-keychain."""
    if interval:
        parser.add_argument(
            "--interval",
            type=seconds,
            metavar="SECONDS",
            help="seconds between readings (default 60; at least 10 against a remote endpoint, 1 against a "
            "loopback one)",
        )
    parser.add_argument(
        "--min-spacing",
        type=seconds,
        metavar="SECONDS",
        help="no two requests for an account, from any process, closer than this (default 30, or "
        "$CLAUDE_USAGE_MIN_SPACING; at least 10 remote, 1 loopback)",
    )
    parser.add_argument("--demo", action="store_true", help=demo)
    parser.add_argument(
        "--no-keychain", action="store_true", help="macOS: never read the login Keychain (use the file only)"
    )


def add_one_shot_options(parser: argparse.ArgumentParser, *, max_age: float = 30.0) -> None:
    """The options of a face that takes one reading: --max-age, --wait."""
    parser.add_argument(
        "--max-age",
        type=age,
        default=max_age,
        metavar="SECONDS",
        help=f"one-shots: use a stored reading younger than this instead of asking (default {max_age:g})",
    )
    parser.add_argument(
        "--wait",
        type=seconds,
        default=30.0,
        metavar="SECONDS",
        help="how long a one-shot may keep retrying transient failures (default 30; at most 4 requests)",
    )


def account(text: str) -> Account:
    """An argparse type: `NAME=CONFIG_DIR` (NAME of letters, digits, `_` and `-`; a leading `~` is the home)."""
    import argparse
    import os

    from claude_usage.adapters.config import ACCOUNT_NAME, Account, expand_home

    name, equals, where = text.partition("=")
    if not equals or not where.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=CONFIG_DIR, got {text!r}")
    if not ACCOUNT_NAME.fullmatch(name):
        raise argparse.ArgumentTypeError(f"an account name may hold only letters, digits, _ and -, got {name!r}")
    return Account(name, expand_home(where, os.environ))


def add_account_option(parser: argparse.ArgumentParser) -> None:
    """`--account NAME=CONFIG_DIR`, repeatable: the accounts to show, in this order (replacing `[accounts]`)."""
    parser.add_argument(
        "--account",
        dest="accounts",
        type=account,
        action="append",
        metavar="NAME=CONFIG_DIR",
        help="show this login too: the one Claude Code uses with CLAUDE_CONFIG_DIR=CONFIG_DIR (repeatable, in "
        "order; replaces the config file's [accounts]; default: the one login, named default)",
    )


def _config_accounts(env: Mapping[str, str], path: Path) -> list[Account]:
    from claude_usage.adapters.config import ConfigError, load

    try:
        return list(load(env, path).accounts)
    except ConfigError:
        return []


def chosen_accounts(args: argparse.Namespace, env: Mapping[str, str]) -> list[Account]:
    """`--account`s, else the config file's `[accounts]`, else none (the environment's one login).

    A malformed config file gives none here (the faces that need it have said so, or stopped already).
    """
    from claude_usage.adapters import paths

    given: list[Account] | None = getattr(args, "accounts", None)
    if getattr(args, "demo", False):
        if given:
            raise CommandLineError("--demo shows the simulated account only; leave out --account")
        found = []
    elif given:
        found = list(given)
    else:
        path = getattr(args, "config", None) or paths.config_file(env)
        found = _config_accounts(env, path) if path.exists() else []  # no file: no TOML machinery to load
    names = [a.name for a in found]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise CommandLineError(f"account {twice[0]!r} is named twice; each account needs its own name")
    return found


def account_env(env: Mapping[str, str], chosen: Account) -> dict[str, str]:
    """The environment Claude Code would run with for this account: `CLAUDE_CONFIG_DIR` set to its dir."""
    return {**env, "CLAUDE_CONFIG_DIR": chosen.config_dir}


def spacing(args: argparse.Namespace, env: Mapping[str, str], floor: float, where: str) -> float:
    """The machine-wide spacing this process honours: option, else environment, else 30 s; never below the floor."""
    import argparse

    from claude_usage.core.shared import DEFAULT_SPACING_S

    value = args.min_spacing
    if value is None and env.get("CLAUDE_USAGE_MIN_SPACING"):
        try:
            value = seconds(env["CLAUDE_USAGE_MIN_SPACING"])
        except argparse.ArgumentTypeError:
            if args.quiet:
                return DEFAULT_SPACING_S
            raise CommandLineError(
                f"CLAUDE_USAGE_MIN_SPACING={env['CLAUDE_USAGE_MIN_SPACING']!r} is not a number of seconds"
            ) from None
    if value is None:
        value = DEFAULT_SPACING_S
    if value < floor:
        if args.quiet:  # a background refresh has nobody to tell: keep to the floor instead
            value = floor
        else:
            raise CommandLineError(f"the minimum spacing must be at least {floor:g} s against {where} (got {value:g})")
    if args.interval is not None and args.interval < value:
        value = max(floor, args.interval)  # an explicit interval lowers it for this process's own requests
    return float(value)


def pace_tolerance(env: Mapping[str, str]) -> float:
    """$CLAUDE_USAGE_PACE_TOLERANCE: how many points off pace still count as on pace (default 5)."""
    from claude_usage.core.pace import ON_PACE_TOLERANCE_PCT

    text = env.get("CLAUDE_USAGE_PACE_TOLERANCE", "").strip()
    if not text:
        return ON_PACE_TOLERANCE_PCT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 100:
        raise CommandLineError(f"CLAUDE_USAGE_PACE_TOLERANCE={text!r}: expected percentage points from 0 to 100")
    return value


def open_history(env: Mapping[str, str], *, quiet: bool = False) -> History | None:
    """The history of every reading, or None when it cannot be opened (said once; readings go on)."""
    from claude_usage.adapters.history import History, history_path, retention_days
    from claude_usage.errors import UnavailableError

    say = None if quiet else (lambda notice: print(f"{PROG}: {notice}", file=sys.stderr))
    try:
        history = History.open(history_path(env), retention_days=retention_days(env), on_notice=say)
    except UnavailableError as exc:
        if not quiet:
            print(f"{PROG}: {exc}; continuing without history", file=sys.stderr)
        return None
    if history.notice and not quiet:
        print(f"{PROG}: {history.notice}", file=sys.stderr)
    return history


class Session:
    """What one run of a reading face works with for one account: its reader (named), its interval and floor."""

    def __init__(self, reader: Reader, *, interval_s: float, floor_s: float, demo: bool) -> None:
        self.reader = reader
        self.interval_s = interval_s
        self.floor_s = floor_s
        self.demo = demo

    @property
    def name(self) -> str:
        """The account's name: NAME of `--account NAME=DIR`, else `default` (`demo` for --demo)."""
        return self.reader.name


@contextmanager
def session(args: argparse.Namespace, env: Mapping[str, str]) -> Iterator[Session]:
    """The reader of the environment's one login (named `default`), behind one HTTP client (and the demo's stand-in)."""
    with _sessions(args, env, []) as found:
        yield found[0]


@contextmanager
def sessions(args: argparse.Namespace, env: Mapping[str, str]) -> Iterator[list[Session]]:
    """One Session per account this run shows, in the order given (`--account`, else `[accounts]`, else the one
    login named `default`); each with its own credentials, HTTP client, budget and history rows."""
    with _sessions(args, env, chosen_accounts(args, env)) as found:
        yield found


@contextmanager
def _sessions(args: argparse.Namespace, env: Mapping[str, str], chosen: Sequence[Account]) -> Iterator[list[Session]]:
    from contextlib import ExitStack

    from claude_usage.adapters.api import UsageClient, resolve_base_url, user_agent
    from claude_usage.clock import SystemClock
    from claude_usage.core import budget

    clock = SystemClock()
    standin = None
    if args.demo:
        from claude_usage.demo import SimulatedAccount
        from claude_usage.standin import StandIn

        standin = StandIn(SimulatedAccount(clock)).start()
        base_url, loopback = standin.url, True
    else:
        base_url, loopback = resolve_base_url(env)
    try:
        floor = budget.min_interval(loopback)
        where = "a loopback endpoint" if loopback else base_url
        interval = args.interval or (DEMO_INTERVAL_S if args.demo else budget.DEFAULT_INTERVAL_S)
        if interval < floor:
            raise CommandLineError(f"--interval must be at least {floor:g} s against {where} (got {interval:g})")
        every = spacing(args, env, floor, where)
        if args.demo and args.interval is None:
            every = min(every, interval)  # the demo's own account, on loopback: its interval is its budget
        targets: list[tuple[str, Mapping[str, str]]] = [(a.name, account_env(env, a)) for a in chosen]
        with ExitStack() as stack:
            found = []
            history = open_history(env, quiet=args.quiet)  # one file, every account's rows (keyed by account)
            for name, own_env in targets or [("default", env)]:
                client = stack.enter_context(UsageClient(base_url, user_agent=user_agent(env), clock=clock))
                reader = build_reader(args, own_env, client, clock, every, floor, name=name, history=history)
                found.append(Session(reader, interval_s=interval, floor_s=floor, demo=args.demo))
            yield found
    finally:
        if standin is not None:
            standin.close()


def build_reader(
    args: argparse.Namespace,
    env: Mapping[str, str],
    client: UsageFetcher,
    clock: Clock,
    spacing_s: float,
    floor_s: float,
    *,
    name: str = "default",
    history: History | bool | None = True,
) -> Reader:
    """One account's reader: its credentials, the shared store, Claude Code's cache, the history.

    `history`: the one the run's accounts share, else None for none, or True to open it here.
    """
    from claude_usage.adapters import paths
    from claude_usage.adapters.account import DEMO
    from claude_usage.adapters.store import Store
    from claude_usage.service.fetch import CredentialSource, UsageService
    from claude_usage.service.reader import Reader

    credentials: CredentialSource
    if args.demo:
        from claude_usage.demo import demo_credentials

        credentials = demo_credentials()
    else:
        from claude_usage.adapters.credentials import CredentialReader

        credentials = CredentialReader(env, clock=clock, use_keychain=not args.no_keychain)
    service = UsageService(client=client, credentials=credentials, clock=clock, source="demo" if args.demo else "api")
    claude_state = None
    if not args.demo:
        from claude_usage.adapters.claude_state import ClaudeState

        claude_state = ClaudeState(env)
    return Reader(
        service,
        Store(paths.data_dir(env)),
        env=env,
        name=name,
        spacing_s=spacing_s,
        spacing_floor_s=floor_s,
        claude_state=claude_state,
        fixed_key=DEMO if args.demo else None,
        history=open_history(env, quiet=args.quiet) if history is True else history or None,
        pace_tolerance_pct=pace_tolerance(env),
    )
