"""The layer rules of docs/architecture.md, checked in fresh interpreters so sys.modules is clean."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _loaded(module: str, candidates: set[str]) -> list[str]:
    """Which of `candidates` are in sys.modules after importing `module` in a fresh interpreter."""
    probe = f"import sys, {module}; print(' '.join(sorted(set({sorted(candidates)!r}) & set(sys.modules))))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return out.stdout.split()


@pytest.mark.parametrize(
    "module",
    [
        "claude_usage.core.model",
        "claude_usage.core.wire",
        "claude_usage.core.fmt",
        "claude_usage.core.budget",
        "claude_usage.core.pace",
        "claude_usage.core.observe",
        "claude_usage.core.binding",
        "claude_usage.core.summary",
        "claude_usage.core.alerts",
        "claude_usage.core.pricing",
        "claude_usage.core.reports",
        "claude_usage.core.document",
    ],
)
def test_core_imports_no_io_modules(module: str) -> None:
    """The pure core loads no Rich, httpx, sqlite3 or platformdirs."""
    assert [] == _loaded(module, {"rich", "httpx", "sqlite3", "platformdirs"})


def test_cli_module_is_light() -> None:
    """Importing the CLI (for --help and bad arguments) loads neither Rich nor httpx."""
    assert [] == _loaded("claude_usage.cli", {"rich", "httpx", "sqlite3"})


def test_credentials_and_service_import_no_rich() -> None:
    """The adapters and the service never load Rich."""
    assert [] == _loaded(
        "claude_usage.service.reader, claude_usage.service.poller, claude_usage.adapters.credentials", {"rich"}
    )


@pytest.mark.parametrize(
    "module",
    [
        "claude_usage.core.document",
        "claude_usage.core.feed",
        "claude_usage.core.shared",
        "claude_usage.core.times",
        "claude_usage.core.fmt",
    ],
)
def test_the_status_lines_core_is_light(module: str) -> None:
    """The core modules on the status line's path load neither the model, the wire parser, typing nor dataclasses."""
    heavy = {"typing", "dataclasses", "claude_usage.core.model", "claude_usage.core.wire", "hashlib"}
    assert [] == _loaded(module, heavy)


def test_service_stays_below_the_faces() -> None:
    """The service package imports no Rich, no ui and no command module."""
    modules = "claude_usage.service.fetch, claude_usage.service.sources, claude_usage.service.reader, " + (
        "claude_usage.service.poller"
    )
    assert [] == _loaded(modules, {"rich", "claude_usage.ui", "claude_usage.commands", "claude_usage.cli"})


@pytest.mark.parametrize(
    "name",
    [
        "dashboard",
        "oneshot",
        "refresh",
        "history",
        "statusline",
        "wiring",
        "jsondoc",
        "report",
        "watch",
        "config",
        "doctor",
        "serve",
        "alerting",
    ],
)
def test_command_modules_import_nothing_heavy(name: str) -> None:
    """Importing a face (its row chosen, nothing run yet) loads neither Rich, httpx nor sqlite3."""
    assert [] == _loaded(f"claude_usage.commands.{name}", {"rich", "httpx", "sqlite3"})
