"""prometheus_client loads only on serve's path: never with the status line, a one-shot or the dashboard."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _loaded(modules: str, candidates: set[str]) -> list[str]:
    """Which of `candidates` are in sys.modules after importing `modules` in a fresh interpreter."""
    probe = f"import sys, {modules}; print(' '.join(sorted(set({sorted(candidates)!r}) & set(sys.modules))))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return out.stdout.split()


@pytest.mark.parametrize(
    "module",
    [
        "claude_usage.cli",
        "claude_usage.commands.statusline",
        "claude_usage.commands.dashboard",
        "claude_usage.commands.oneshot",
        "claude_usage.commands.wiring",
        "claude_usage.commands.jsondoc",
        "claude_usage.service.reader",
        "claude_usage.service.poller",
        "claude_usage.ui.dashboard",
    ],
)
def test_other_faces_never_load_prometheus_client(module: str) -> None:
    """The status line, the one-shots and the dashboard import no prometheus_client."""
    assert [] == _loaded(module, {"prometheus_client"})


def test_the_serve_row_imports_nothing_heavy() -> None:
    """Choosing serve's row (its module, before it runs) loads neither prometheus_client, Rich, httpx nor sqlite3."""
    assert [] == _loaded("claude_usage.commands.serve", {"prometheus_client", "rich", "httpx", "sqlite3"})


def test_serve_help_loads_no_prometheus_client() -> None:
    """`claude-usage serve --help` builds its parser without the metrics library."""
    probe = (
        "import sys, contextlib, io; from claude_usage.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()): main(['serve', '--help'])\n"
        "print('prometheus_client' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "False" == out.stdout.strip()
