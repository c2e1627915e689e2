"""`claude-usage watch --install-service`: a systemd user unit (Linux) or a LaunchAgent (macOS), nothing started.

The unit runs this very interpreter (`python -m claude_usage watch`, with the watch options given) so that it
keeps working whichever way the package was installed. It carries the environment that says where our files
and Claude Code's are (config dirs, data dirs), never a token. An existing file is replaced only with --force.
What to run to start it is printed; nothing is started or enabled here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from claude_usage.errors import CommandLineError

if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping, Sequence

UNIT_NAME = "claude-usage-watch.service"
AGENT_LABEL = "com.claude-usage.watch"
# Where the service should look for our files and Claude Code's, as this shell has them. Never a token.
CARRIED_ENV = (
    "CLAUDE_CONFIG_DIR",
    "CLAUDE_SECURESTORAGE_CONFIG_DIR",
    "CLAUDE_USAGE_CONFIG",
    "CLAUDE_USAGE_DATA_DIR",
    "CLAUDE_USAGE_HISTORY_DAYS",
    "CLAUDE_USAGE_MIN_SPACING",
    "CLAUDE_USAGE_API_URL",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
)


def watch_argv(args: argparse.Namespace) -> list[str]:
    """The command line the service runs: this interpreter, `-m claude_usage watch` and the options given."""
    argv = [sys.executable, "-m", "claude_usage", "watch"]
    if args.interval is not None:
        argv += ["--interval", f"{args.interval:g}"]
    if args.min_spacing is not None:
        argv += ["--min-spacing", f"{args.min_spacing:g}"]
    if args.thresholds is not None:
        argv += ["--thresholds", ",".join(f"{t:g}" for t in args.thresholds)]
    if args.alert_command is not None:
        argv += ["--alert-command", args.alert_command]
    if args.config is not None:
        argv += ["--config", os.path.abspath(args.config)]
    argv += [flag for flag, on in (("--no-desktop", args.no_desktop), ("--no-keychain", args.no_keychain)) if on]
    for name, config_dir in getattr(args, "accounts", None) or ():
        argv += ["--account", f"{name}={os.path.abspath(config_dir)}"]
    if args.demo:
        argv.append("--demo")
    return argv


def carried(env: Mapping[str, str]) -> dict[str, str]:
    return {name: env[name] for name in CARRIED_ENV if env.get(name)}


def systemd_quote(word: str) -> str:
    """One word of an ExecStart= or Environment= line, quoted the way systemd reads it back."""
    escaped = word.replace("%", "%%").replace("$", "$$")
    if escaped and not any(c.isspace() or c in "\"'\\;" for c in escaped):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


def systemd_unit(argv: Sequence[str], env: Mapping[str, str]) -> str:
    """The text of the systemd user unit running `argv`."""
    environment = "".join(f"Environment={systemd_quote(f'{k}={v}')}\n" for k, v in carried(env).items())
    return (
        "# Written by `claude-usage watch --install-service`: alerts about your Claude usage limits.\n"
        "[Unit]\n"
        "Description=Claude usage alerts (claude-usage watch)\n"
        "After=network-online.target\n"
        "Wants=network-online.target\n"
        "\n"
        "[Service]\n"
        "Type=simple\n"
        f"ExecStart={' '.join(systemd_quote(word) for word in argv)}\n"
        f"{environment}"
        "Restart=on-failure\n"
        "RestartSec=30\n"
        "# 2: a bad option or a malformed config file; restarting cannot fix it.\n"
        "RestartPreventExitStatus=2\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def launch_agent(argv: Sequence[str], env: Mapping[str, str], stderr_path: str) -> bytes:
    """The LaunchAgent plist running `argv` at login, restarted unless it exits 0."""
    import plistlib

    variables = {"PATH": env.get("PATH") or "/usr/bin:/bin:/usr/sbin:/sbin", **carried(env)}
    agent = {
        "Label": AGENT_LABEL,
        "ProgramArguments": list(argv),
        "EnvironmentVariables": variables,
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "ThrottleInterval": 60,
        "ProcessType": "Background",
        "StandardErrorPath": stderr_path,
    }
    return plistlib.dumps(agent)


def unit_path(env: Mapping[str, str], platform: str) -> Path:
    """Where the unit goes: ~/.config/systemd/user (Linux), ~/Library/LaunchAgents (macOS)."""
    from claude_usage.adapters import paths

    if platform == "darwin":
        return Path(paths.home(env), "Library", "LaunchAgents", f"{AGENT_LABEL}.plist")
    if platform.startswith("linux"):
        xdg = env.get("XDG_CONFIG_HOME") or ""
        base = xdg if xdg.strip() else os.path.join(paths.home(env), ".config")
        return Path(base, "systemd", "user", UNIT_NAME)
    raise CommandLineError(
        f"--install-service: no service manager known on {platform} (systemd on Linux, launchd on macOS)"
    )


def install(args: argparse.Namespace, env: Mapping[str, str], *, platform: str = sys.platform) -> int:
    """Write the unit for this platform (never replacing one without --force) and say how to start it."""
    from claude_usage.adapters.eventlog import log_path, state_dir

    path = unit_path(env, platform)
    argv = watch_argv(args)
    if platform == "darwin":
        data = launch_agent(argv, env, os.path.join(state_dir(env), "watch.stderr.log"))
    else:
        data = systemd_unit(argv, env).encode()
    _write(path, data, force=args.force)
    log = log_path(env, "watch")
    print(f"wrote {path} (nothing was started)")
    if platform == "darwin":
        print(
            "start it now and at every login:\n"
            f"  launchctl bootstrap gui/$(id -u) {path}\n"
            "stop it and keep it from starting:\n"
            f"  launchctl bootout gui/$(id -u) {path}\n"
            f"its log: {log}"
        )
    else:
        print(
            "start it now and at every login:\n"
            "  systemctl --user daemon-reload\n"
            f"  systemctl --user enable --now {UNIT_NAME}\n"
            "stop it and keep it from starting:\n"
            f"  systemctl --user disable --now {UNIT_NAME}\n"
            f"its log: journalctl --user -u {UNIT_NAME} (and {log})"
        )
    if env.get("CLAUDE_CODE_OAUTH_TOKEN"):
        print("note: CLAUDE_CODE_OAUTH_TOKEN is not written into the service: it reads Claude Code's login instead")
    return 0


def _write(path: Path, data: bytes, *, force: bool) -> None:
    if not force and (path.exists() or path.is_symlink()):
        raise CommandLineError(f"{path} exists already; use --force to replace it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not force:  # O_EXCL: a file that appeared meanwhile is never replaced
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644), "wb") as f:
                f.write(data)
            return
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    except FileExistsError:
        raise CommandLineError(f"{path} exists already; use --force to replace it") from None
    except OSError as exc:
        raise CommandLineError(f"cannot write {path}: {exc.strerror or exc}") from exc
