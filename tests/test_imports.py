"""The one-shot path's import cost (issue 8), checked in fresh interpreters so sys.modules is clean.

`dataclasses` (it loads `inspect`, ~10 ms), `email.utils` (~11 ms), `hashlib` (~4 ms) and httpx (~70 ms)
are loaded only when a request is actually made. `enum` is asserted only for `errors`: every other module
here imports `json` or `re`, and `re` itself loads `enum` on Python 3.10 to 3.13.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from claude_usage.standin import StandIn
from tests.support.cli import write_credentials

HEAVY = {"dataclasses", "email.utils", "hashlib", "httpx", "inspect"}


def _loaded(code: str, candidates: set[str]) -> list[str]:
    """Which of `candidates` are in sys.modules after running `code` in a fresh interpreter."""
    probe = f"import sys\n{code}\nprint(' '.join(sorted(set({sorted(candidates)!r}) & set(sys.modules))))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return out.stdout.split()


@pytest.mark.parametrize(
    "module",
    [
        "claude_usage.errors",
        "claude_usage.adapters.account",
        "claude_usage.adapters.api",
        "claude_usage.adapters.credentials",
        "claude_usage.adapters.paths",
        "claude_usage.core.model",
        "claude_usage.core.wire",
        "claude_usage.core.pace",
        "claude_usage.core.binding",
        "claude_usage.core.summary",
        "claude_usage.insights",
        "claude_usage.adapters.history",
        "claude_usage.adapters.store",
        "claude_usage.core.document",
        "claude_usage.core.observe",
        "claude_usage.service.fetch",
        "claude_usage.service.sources",
        "claude_usage.service.reader",
        "claude_usage.commands.oneshot",
        "claude_usage.commands.jsondoc",
        "claude_usage.commands.wiring",
        "claude_usage.commands.dashboard",
    ],
)
def test_one_shot_modules_import_nothing_heavy(module: str) -> None:
    """Importing a module of the one-shot path loads no dataclasses, email.utils, hashlib or httpx."""
    assert [] == _loaded(f"import {module}", HEAVY)


def test_errors_import_no_enum() -> None:
    """The exit codes are plain ints: importing the errors loads no enum."""
    assert [] == _loaded("import claude_usage.errors", {"enum"})


def test_api_module_imports_no_parser() -> None:
    """The HTTP adapter loads the usage model and parser only when a reply comes in."""
    wanted = {"claude_usage.core.wire", "claude_usage.core.model", "subprocess"}
    assert [] == _loaded("import claude_usage.adapters.api", wanted)


def test_credentials_module_imports_no_subprocess() -> None:
    """`subprocess` (for the macOS Keychain only) is loaded where it is used."""
    assert [] == _loaded("import claude_usage.adapters.credentials", {"subprocess", "shutil"})


def test_preparing_a_request_loads_nothing_heavy() -> None:
    """Resolving the URL, the User-Agent and a client that has sent nothing load nothing heavy."""
    code = (
        "from claude_usage.adapters.api import UsageClient, resolve_base_url, user_agent\n"
        "base_url, _ = resolve_base_url({})\n"
        "UsageClient(base_url, user_agent=user_agent({'HOME': '/nonexistent'}, system_npm_roots=())).close()"
    )
    assert [] == _loaded(code, {*HEAVY, "claude_usage.core.wire"})


def test_a_fingerprint_loads_no_hashlib() -> None:
    """Token, profile and keychain-item fingerprints use the built-in sha256, not hashlib."""
    code = (
        "from claude_usage.adapters import account, paths\n"
        "from claude_usage.adapters.credentials import Secret\n"
        "account.fingerprint('token')\n"
        "repr(Secret('token'))\n"
        "paths.keychain_service({'CLAUDE_CONFIG_DIR': '/tmp/profile'})"
    )
    assert [] == _loaded(code, {"hashlib"})


def test_a_retry_after_in_seconds_loads_no_email_utils() -> None:
    """Only an HTTP-date Retry-After needs email.utils."""
    code = (
        "from datetime import datetime, timezone\n"
        "from claude_usage.core.wire import parse_retry_after\n"
        "parse_retry_after('120', datetime.now(timezone.utc))"
    )
    assert [] == _loaded(code, {"email.utils"})


def test_json_from_the_store_loads_nothing_of_the_http_layer(home: Path, standin: StandIn) -> None:
    """`--json` from the store (no request, no config file) loads nothing of HTTP, dataclasses, TOML or threads."""
    write_credentials(home / ".claude")
    env = {**os.environ, "CLAUDE_USAGE_API_URL": standin.url}
    run = [sys.executable, "-X", "importtime", "-m", "claude_usage", "--json", "--max-age", "3600"]
    subprocess.run(run, env=env, capture_output=True, check=True, timeout=60)  # the first one asks
    proc = subprocess.run(run, env=env, capture_output=True, text=True, check=True, timeout=60)
    loaded = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    unwanted = HEAVY | {"ssl", "certifi", "threading", "tomllib", "tomli", "claude_usage.adapters.config"}
    assert (1, set()) == (len(standin.usage_requests()), unwanted & loaded)
