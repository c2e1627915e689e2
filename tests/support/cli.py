"""Run the real CLI in a subprocess, and write Claude Code's credentials file the way Claude Code does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

TEST_TOKEN = "sk-ant-oat01-TEST-SECRET-do-not-print-0123456789"


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> Result:
    """`python -m claude_usage ARGS` with the test's environment; the test token must appear nowhere."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "claude_usage", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert TEST_TOKEN not in proc.stdout
    assert TEST_TOKEN not in proc.stderr
    return Result(proc.returncode, proc.stdout, proc.stderr)


def write_credentials(
    config_dir: Path,
    *,
    token: str = TEST_TOKEN,
    expires_in_s: float = 5 * 3600,
    subscription: str | None = "max",
    tier: str | None = "default_claude_max_5x",
) -> Path:
    """A `.credentials.json` as Claude Code writes it (expiresAt in epoch milliseconds), mode 0600."""
    config_dir.mkdir(parents=True, exist_ok=True)
    path = config_dir / ".credentials.json"
    body = {
        "claudeAiOauth": {
            "accessToken": token,
            "refreshToken": "sk-ant-ort01-TEST-refresh",
            "expiresAt": int((time.time() + expires_in_s) * 1000),
            "scopes": ["user:inference", "user:profile"],
            "subscriptionType": subscription,
            "rateLimitTier": tier,
        }
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(body))
    tmp.chmod(0o600)
    os.replace(tmp, path)
    return path
