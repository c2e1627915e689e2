"""What the benchmark scripts share: an isolated home with a credentials file, the usage-API stand-in
serving a fixture, a clean environment, a private tmux server, statistics and the table they print.

Standard library plus `claude_usage.standin`; nothing from `tests/` (the benchmarks run from any
checkout with the package installed). Every request goes to the stand-in on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import FrameType
from typing import Any

from claude_usage import __version__
from claude_usage.standin import Reply, Script, StandIn

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "usage"

# A made-up token in Claude Code's shape; never a real one, and it only ever goes to 127.0.0.1.
BENCH_TOKEN = "sk-ant-oat01-BENCH-not-a-secret-0123456789"  # noqa: S105 - a fake token for the stand-in

# Variables from the caller's shell that would change what the program does (proxies would even
# route 127.0.0.1 elsewhere); the benchmarks run with none of them.
LEAKY_ENV = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "NO_COLOR",
    "FORCE_COLOR",
    "COLUMNS",
    "LINES",
    "TMUX",
    "TMUX_PANE",
    "TERM_PROGRAM",
    "CLAUDE_CONFIG_DIR",
    "CLAUDE_SECURESTORAGE_CONFIG_DIR",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_CODE_OAUTH_SCOPES",
    "CLAUDE_CODE_CUSTOM_OAUTH_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "CLAUDE_USAGE_API_URL",
    "CLAUDE_USAGE_DATA_DIR",
    "CLAUDE_USAGE_USER_AGENT",
    "CLAUDE_CODE_SUBSCRIPTION_TYPE",
    "CLAUDE_CODE_RATE_LIMIT_TIER",
    "CLAUDE_CODE_ENTRYPOINT",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
    "CLAUDE_CODE_USE_FOUNDRY",
    "CLAUDE_CODE_USE_ANTHROPIC_AWS",
    "CLAUDE_CODE_USE_MANTLE",
    "PYTHONSTARTUP",
    "PYTHONPATH",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONPYCACHEPREFIX",
)


def load_fixture(name: str) -> dict[str, Any]:
    """One sample reply from tests/fixtures/usage, by file stem."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def console_script() -> Path:
    """The installed `claude-usage` entry point, next to the running interpreter."""
    folder = Path(sys.executable).parent
    for name in ("claude-usage", "claude-usage.exe"):
        if (folder / name).exists():
            return folder / name
    raise SystemExit(f"no claude-usage console script next to {sys.executable}: install the package first")


def write_credentials(config_dir: Path, *, token: str = BENCH_TOKEN, expires_in_s: float = 5 * 3600) -> Path:
    """A `.credentials.json` as Claude Code writes it (expiresAt in epoch milliseconds), mode 0600,
    replaced atomically (a running dashboard re-reads it)."""
    config_dir.mkdir(parents=True, exist_ok=True)
    path = config_dir / ".credentials.json"
    body = {
        "claudeAiOauth": {
            "accessToken": token,
            "refreshToken": "sk-ant-ort01-BENCH-refresh",
            "expiresAt": int((time.time() + expires_in_s) * 1000),
            "scopes": ["user:inference", "user:profile"],
            "subscriptionType": "max",
            "rateLimitTier": "default_claude_max_5x",
        }
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(body))
    tmp.chmod(0o600)
    os.replace(tmp, path)
    return path


def new_account(home: Path) -> str:
    """Log HOME in with a fresh token, so an account with nothing stored: its first reading asks the API."""
    token = f"sk-ant-oat01-BENCH-{uuid.uuid4().hex}"
    write_credentials(home / ".claude", token=token)
    return token


@contextlib.contextmanager
def bench_home() -> Iterator[Path]:
    """A temporary HOME holding `.claude/.credentials.json`; removed afterwards, whatever happens."""
    root = Path(tempfile.mkdtemp(prefix="claude-usage-bench-"))
    try:
        home = root / "home"
        write_credentials(home / ".claude")
        yield home
    finally:
        shutil.rmtree(root, ignore_errors=True)


def fresh_fixture(name: str, *, first_reset_in: timedelta = timedelta(hours=2, minutes=11)) -> dict[str, Any]:
    """A fixture reply with every `resets_at` moved by one offset, so the first falls `first_reset_in`
    from now (their spacing kept): a window whose reset has passed shows no percentage."""
    reply = load_fixture(name)
    found: list[dict[str, Any]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("resets_at"), str):
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(reply)
    if found:
        times = [datetime.fromisoformat(node["resets_at"].replace("Z", "+00:00")) for node in found]
        shift = datetime.now(timezone.utc) + first_reset_in - min(times)
        for node, at in zip(found, times, strict=True):
            node["resets_at"] = (at + shift).isoformat()
    return reply


@contextlib.contextmanager
def serve_fixture(name: str = "max-typical") -> Iterator[StandIn]:
    """The stand-in on 127.0.0.1 answering one fixture reply (resets moved ahead) forever; shut down after."""
    with StandIn(Script(Reply(200, fresh_fixture(name)))) as api:
        yield api


def clean_env(home: Path, api_url: str) -> dict[str, str]:
    """This process's environment less the leaky variables, with HOME and the API URL set.

    Bytecode is cached (in a temp folder, so the checkout is left alone) even where the shell sets
    PYTHONDONTWRITEBYTECODE: an installed package has its .pyc files, and recompiling every module
    at each start would be measured instead of the program.
    """
    env = {k: v for k, v in os.environ.items() if k not in LEAKY_ENV}
    env.update(
        PYTHONPYCACHEPREFIX=str(home.parent / "pycache"),
        HOME=str(home),
        USERPROFILE=str(home),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        XDG_CONFIG_HOME=str(home / ".config"),
        CLAUDE_USAGE_DATA_DIR=str(home.parent / "data"),
        CLAUDE_USAGE_API_URL=api_url,
    )
    return env


def interrupt_on_signals() -> None:
    """Ctrl+C and SIGTERM raise KeyboardInterrupt, so `finally` blocks clean up the stand-in, tmux
    servers and temp dirs (SIGINT too: a shell starting us in the background leaves it ignored)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, handler)


class Tmux:
    """A private tmux server (`-L <unique> -f /dev/null`) with one fixed-size window; `kill()` ends it."""

    def __init__(self, env: Mapping[str, str]) -> None:
        if shutil.which("tmux") is None:
            raise SystemExit("tmux is not installed")
        self.socket = f"cu-bench-{uuid.uuid4().hex[:10]}"
        self._env = dict(env)
        self.started = False
        self._socket_path: str | None = None

    def tmux(self, *args: str) -> str:
        proc = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
            env=self._env,
        )
        return proc.stdout

    def start(self, shell_command: str, *, width: int = 100, height: int = 30) -> None:
        """A detached session running `sh -c shell_command`, the server inheriting the clean environment."""
        self.started = True
        self.tmux("new-session", "-d", "-x", str(width), "-y", str(height), "-s", "t", "sh", "-c", shell_command)
        self._socket_path = self.tmux("display-message", "-p", "#{socket_path}").strip() or None

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t")

    def send(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "t", *keys)

    def pane_pid(self) -> int:
        return int(self.tmux("display-message", "-p", "-t", "t", "#{pane_pid}").strip())

    def kill(self) -> None:
        """End the server and remove its socket file (tmux leaves it behind)."""
        if self.started:
            self.tmux("kill-server")
            self.started = False
        if self._socket_path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._socket_path)
            self._socket_path = None


def program_command(argv: Sequence[str], env: Mapping[str, str]) -> str:
    """`exec env -u ... K=V ... argv` for `sh -c`: the pane's process becomes the program itself (no
    wrapper), with `env` exactly as far as it differs from this process's environment."""
    unset = [f"-u {shlex.quote(k)}" for k in sorted(os.environ) if k not in env]
    exports = [f"{k}={shlex.quote(v)}" for k, v in env.items() if os.environ.get(k) != v]
    return f"unset COLUMNS LINES; exec env {' '.join([*unset, *exports])} {shlex.join(argv)}"


@dataclass(frozen=True, slots=True)
class Stats:
    """Summary of timings in seconds: p95 is nearest-rank (with 10 runs it is the slowest)."""

    runs: int
    median: float
    p95: float
    min: float
    max: float


def summarize(samples: Sequence[float]) -> Stats:
    ordered = sorted(samples)
    rank = max(1, math.ceil(0.95 * len(ordered)))
    return Stats(len(ordered), statistics.median(ordered), ordered[rank - 1], ordered[0], ordered[-1])


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A plain text table: first column left-aligned, the others right-aligned."""
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(cells)
        ).rstrip()

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                return text.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def print_machine() -> None:
    """The machine the numbers come from: Python, platform, cores, CPU, package version."""
    impl = platform.python_implementation()
    print(f"machine: {impl} {platform.python_version()} · {platform.platform()} · {os.cpu_count()} cores")
    print(f"cpu:     {cpu_model()}")
    print(f"package: claude-usage {__version__} · python {sys.executable}")
    if hasattr(os, "getloadavg"):
        print(f"load:    {os.getloadavg()[0]:.2f} (1-minute average: other work on the machine skews timings)")
