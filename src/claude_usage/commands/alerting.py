"""The alert options of the live faces (`watch`, the dashboard), the config they read, and one evaluator.

`--alert-command`, `--thresholds`, `--no-desktop` and `--config` override the config file's `[alerts]`; the
evaluator gets the channels that are on (desktop, the dashboard's bell, the user's command). With `--demo`,
alerts about the simulated account go to the bell and to a command given with `--alert-command` only. Light at module
level: the config, the channels and the service load when called.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Mapping

    from claude_usage.adapters.config import AlertsConfig, Config
    from claude_usage.service.alerts import Evaluator
    from claude_usage.service.reader import Reader

    Say = Callable[[str, str], None]


def thresholds(text: str) -> tuple[float, ...]:
    """An argparse type: `80,95` -> (80.0, 95.0); each more than 0 and at most 100; "" for none."""
    import argparse

    found = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        try:
            value = float(part)
        except ValueError:
            value = float("nan")
        if not 0 < value <= 100:
            raise argparse.ArgumentTypeError(
                f"expected percentages like 80,95 (each above 0, at most 100), got {text!r}"
            )
        found.append(value)
    return tuple(sorted(set(found)))


def add_alert_options(parser: argparse.ArgumentParser) -> None:
    """The alert options of `watch` and the live dashboard."""
    parser.add_argument(
        "--alert-command",
        metavar="CMD",
        help="run CMD for every alert with the alert as JSON on stdin (split like a shell line, run without a "
        'shell; replaces the config\'s command; "" for none)',
    )
    parser.add_argument(
        "--thresholds",
        type=thresholds,
        metavar="LIST",
        help="alert at these percentages of every limit, e.g. 80,95 (default 80,95; replaces the config's "
        'thresholds, per-limit ones too; "" for none)',
    )
    parser.add_argument("--no-desktop", action="store_true", help="no desktop notifications")
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="read the config from FILE (default: $CLAUDE_USAGE_CONFIG, else `claude-usage config path`)",
    )


def load_config(args: argparse.Namespace, env: Mapping[str, str]) -> Config:
    """The config file (`--config`, else the usual place); ConfigError (exit 2) when it is malformed.

    A file named with `--config` must exist; the usual one may be missing (the defaults).
    """
    from claude_usage.adapters.config import ConfigError, load

    path: Path | None = args.config
    if path is not None and not path.exists():
        raise ConfigError(f"config file {path}: no such file")
    return load(env, path)


def warn_if_malformed(args: argparse.Namespace, env: Mapping[str, str]) -> None:
    """One-shots go on with the defaults when the config is malformed, and say so once on stderr."""
    import sys

    from claude_usage.adapters import paths

    if args.config is None and not paths.config_file(env).exists():
        return  # no file: nothing to warn about, and no TOML machinery to load
    from claude_usage.adapters.config import ConfigError

    try:
        load_config(args, env)
    except ConfigError as exc:
        print(f"claude-usage: {exc}; ignored, using the defaults", file=sys.stderr)


def with_flags(alerts: AlertsConfig, args: argparse.Namespace) -> AlertsConfig:
    """The config's `[alerts]` with the command line's alert options applied."""
    from types import MappingProxyType

    from claude_usage.adapters.config import ConfigError, split_command

    if args.thresholds is not None:
        alerts = alerts._replace(thresholds=args.thresholds, thresholds_by_key=MappingProxyType({}))
    if args.alert_command is not None:
        try:
            alerts = alerts._replace(command=split_command(args.alert_command))
        except ValueError as exc:
            raise ConfigError(f"--alert-command: {exc}") from None
    if args.no_desktop:
        alerts = alerts._replace(desktop=False)
    if args.demo:
        # Simulated numbers must not reach a real desktop or the config's webhook: the bell, and a command
        # given on this command line, only.
        alerts = alerts._replace(desktop=False, command=alerts.command if args.alert_command is not None else None)
    return alerts


def evaluator(
    reader: Reader,
    alerts: AlertsConfig,
    env: Mapping[str, str],
    *,
    say: Say,
    ring: Callable[[], None] | None = None,
) -> Evaluator:
    """The one evaluator of this process, started, with the channels that are on (the bell only with `ring`)."""
    from claude_usage.adapters.account import DEMO
    from claude_usage.adapters.notify import Bell, Channel, Command, Desktop, Dispatcher
    from claude_usage.service.alerts import Evaluator, alert_store

    channels: list[Channel] = []
    if alerts.desktop:
        channels.append(Desktop(env, say))
    if ring is not None and alerts.bell:
        channels.append(Bell(ring))
    if alerts.command:
        channels.append(Command(alerts.command, timeout_s=alerts.command_timeout, env=env))
    return Evaluator(
        alert_store(reader.store.root),
        alerts,
        Dispatcher(channels, say),
        account_name="demo" if reader.fixed_key == DEMO else reader.name,
        clock=reader.clock,
        say=say,
    ).start()


def describe(evaluator: Evaluator) -> str:
    """`thresholds 80,95; channels desktop (notify-send), command (ntfy)`: for the log's start line."""
    alerts = evaluator.config
    shown = ",".join(f"{t:g}" for t in alerts.thresholds) or "none"
    per_key = "".join(
        f"; {key} {','.join(f'{t:g}' for t in ts) or 'none'}" for key, ts in alerts.thresholds_by_key.items()
    )
    channels = ", ".join(c.describe() for c in evaluator.dispatcher.channels.values())
    quiet = f"; quiet {alerts.quiet[0]:%H:%M}-{alerts.quiet[1]:%H:%M}" if alerts.quiet else ""
    return f"thresholds {shown}{per_key}; channels {channels or 'none (log only)'}{quiet}"
